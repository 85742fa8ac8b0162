//! feedwatch watches news feeds for one topic (first: INTERPOL and Taiwan's
//! exclusion from it), keeps the related items and republishes them.
//!
//! # Layout
//!
//! Data flows one way; each module does one job and hands plain values on.
//!
//! | module | job |
//! | --- | --- |
//! | **the command line and wiring** | |
//! | [`cli`] | clap definitions of the command-line contract |
//! | [`commands`] | the command line's entry point (`commands::main`: which command runs) and the operator commands with their own output: `check`, `feeds`, `stories`, `remove`, `labels`, `sources` |
//! | [`app`] | builds shared state; runs the scheduler and HTTP server until shutdown, or one cycle (`run --once`) |
//! | [`config`] | `config.toml` + `FEEDWATCH_*` overrides → validated [`config::Config`] (one step per section, `validate`); located problems |
//! | [`sources`] | the source list (`sources.toml` or OPML), OPML import/export |
//! | [`settings`] | the settings in force: one immutable snapshot (config, topic, publisher, feed identity) swapped on reload; the one owner of reload, Apply and the source toggle |
//! | [`tune`] | operator tools: `score`, `eval` (precision/recall) and `replay` (backtest of rule changes) |
//! | **the pipeline, in order** | |
//! | [`pipeline`] | the ingest stages a poll runs, one module each: |
//! | [`pipeline::schedule`] | the ingest cycle: due feeds, poll (fetch → parse → normalize → store), backoff |
//! | [`pipeline::fetch`] | the only network client for feeds: conditional GET, limits, concurrency |
//! | [`pipeline::parse`] | bytes → parsed feed: encoding decision, feed-rs behind a panic guard |
//! | [`pipeline::parse_pool`] | the threads parsing and scoring run on: one per core, below the writer's priority |
//! | [`pipeline::item`] | normalization into the [`model::Item`]: identity, canonical links, field clean-up (through [`text`]), language |
//! | [`matching`] | the topic: rule language, relevance score, explanations, story fingerprints, eval |
//! | [`pipeline::dedupe`] | new vs edited vs seen; which story (cluster across outlets) a published item joins; the recent stories' index kept in memory (`index`) |
//! | [`pipeline::release`] | releasing waiting stories under the posting cap (the scheduler's tick, `run --once`) |
//! | [`pipeline::operator`] | the operator's Publish (from the Review list) and Retract (the dashboard, `feedwatch remove`) |
//! | [`store`] | the only place with SQL: SQLite (WAL), embedded migrations; `store::fed` for the Fediverse tables |
//! | [`summary`] | extractive 1–3 sentence summaries (en + zh), boilerplate removal, article main text |
//! | [`publish`] | outputs from plain data, no I/O: RSS/Atom/JSON Feed rendering, Fediverse post composition; the age gate and posting cap (`gate`) |
//! | [`fediverse`] | the ActivityPub actor: keys, WebFinger/NodeInfo, Notes, inbox (signatures), persistent delivery; its vocabulary (ids, `@context`, time format) in the leaf `vocab` |
//! | [`web`] | the HTTP face: hyper server with timeouts (`serve`), feeds and `/` from memory (`cache`), pages, admin (sign-in and checks in `admin`; `admin::{dashboard, actions, playground}`; server-side `sessions`), ActivityPub, metrics; one error type per surface (`PublicError`, `AdminError`) |
//! | **shared by every stage** | |
//! | [`model`] | the domain's plain values, no SQL, no I/O: poll records, verdicts and decisions, feed entries, publications, the prepared Fediverse activity, the story's post; an item's outlet (`credit`) and own date (`own_date`) |
//! | [`text`] | leaf text toolkit, no I/O: HTML → text keeping paragraphs, `escape_html`, `is_cjk`, the language-tag normaliser, truncation, links (`safe_http_url`, `canonical_url`, `site_name`) |
//! | [`infra`] | the process's plumbing, importing no stage: |
//! | [`infra::lock`] | one daemon per database: the flock beside the SQLite file |
//! | [`infra::health`] | whether the store fails for the daemon: `/readyz`, the scheduler's backoff |
//! | [`infra::logging`] | log set-up (colour only on a terminal), fetch failures in plain words, the terminal progress bar; imports no stage |
//! | [`infra::memory`] | glibc malloc: two arenas at most, free pages given back after a large drop |
//! | [`infra::metrics`] | Prometheus counters and gauges; `/metrics` |
//! | [`infra::netguard`] | which addresses untrusted URLs may reach; the validating DNS resolver |

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod fediverse;
pub mod infra;
pub mod matching;
pub mod model;
pub mod pipeline;
pub mod publish;
pub mod settings;
pub mod sources;
pub mod store;
pub mod summary;
pub mod text;
pub mod tune;
pub mod web;
