//! Integration tests: one binary, real parts (SQLite files, HTTP servers on
//! 127.0.0.1:0, real feeds, the real `feedwatch` executable).

// Test code: a failed unwrap is a failed test (clippy.toml allows them in
// #[test] functions; this covers the helpers too).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod cli_feeds_cause;
mod config_errors;
mod corpus;
mod daemon;
mod fed_bad_requests;
mod fed_delivery_faults;
mod fed_discovery;
mod fed_e2e_fedify;
mod fed_edits;
mod fed_helpers;
mod fed_inbox_behaviours;
mod fed_interactions;
mod fed_mastodon_api;
mod fed_profile;
mod fed_script_peer;
mod fed_ssrf;
mod fed_tags;
mod fed_worker_fedify;
mod fetching;
mod matching_common;
mod matching_config;
mod matching_properties;
mod matching_relevance;
mod operator_cli;
mod operator_dashboard;
mod operator_deploy;
mod operator_labels;
mod operator_reload;
mod operator_review;
mod perf;
mod perf_batch_items;
mod perf_cycle_states;
mod perf_pipeline;
mod perf_story_batches;
mod publish_feeds;
mod publish_gate;
mod publish_pipeline;
mod publish_posts;
mod publish_readback;
mod publish_summary;
mod relevance_cli;
mod resilience;
mod restart;
mod settings_reload;
mod sources_cli;
mod stop_and_crash;
mod stories;
mod stories_updates;
mod unattended_credit;
mod unattended_delivery_store;
mod unattended_seen;
mod unattended_soak;
mod web_admin;
mod web_browser;
mod web_metrics;
mod web_pages;
mod web_site;
