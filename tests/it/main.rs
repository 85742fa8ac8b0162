//! Integration tests: one binary, real parts (SQLite files, HTTP servers on
//! 127.0.0.1:0, real feeds, the real `feedwatch` executable).

mod helpers;

mod config_errors;
mod corpus;
mod daemon;
mod fed_bad_requests;
mod fed_delivery_faults;
mod fed_e2e_fedify;
mod fed_helpers;
mod fed_mastodon_api;
mod fetching;
mod matching_common;
mod matching_config;
mod matching_properties;
mod matching_relevance;
mod publish_feeds;
mod publish_pipeline;
mod publish_posts;
mod publish_summary;
mod relevance_cli;
mod restart;
mod sources_cli;
mod web_admin;
mod web_browser;
mod web_metrics;
mod web_pages;
mod web_site;
