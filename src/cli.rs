//! Command-line definitions. The contract (commands, flags, output shapes) is
//! in DESIGN.md; scripts depend on it, so change it only compatibly.
//!
//! The doc comments below are also clap's `--help` text, written for a
//! terminal: `[storage] data_dir` and `guid<TAB>label` are meant literally,
//! so rustdoc's link and HTML checks do not apply to them.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "feedwatch",
    // The version and the git commit it was built from (build.rs).
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("FEEDWATCH_GIT_COMMIT"), ")"),
    about = "Watches news feeds for one topic and republishes the related stories as a feed and a Fediverse account"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "FEEDWATCH_CONFIG",
        default_value = "config.toml"
    )]
    pub config: PathBuf,

    /// Folder for the database and the Fediverse key; overrides [storage] data_dir.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Log format; overrides [log] format.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: the scheduler and the HTTP server (the default).
    Run {
        /// One cycle over every enabled feed, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Validate the configuration and the source list; exit 1 listing every problem.
    Check,
    /// Show each source's health: last fetch, status, errors, next check.
    Feeds {
        /// One JSON document: {"feeds": [...], "summary": {...}}.
        #[arg(long)]
        json: bool,
    },
    /// List the published stories, newest first: id, date, title, outlets, story URL.
    Stories {
        /// How many stories to list.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per story: id, published_at, title, outlets, url.
        #[arg(long)]
        json: bool,
    },
    /// Decision, score and reasons for every item of the given feeds; touches no store.
    Score {
        /// One JSON object per line: id, link, title, score, matched, reasons, explanation…
        #[arg(long)]
        json: bool,
        /// Feed URLs (http, https, file) or file paths.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// Precision and recall of the current rules against labelled items, and
    /// story clustering against labelled pairs.
    Eval {
        /// Labels file: guid<TAB>label per line (0 unrelated, 1 related, 2 core).
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present_any = ["pairs", "stored"]
        )]
        labels: Option<PathBuf>,
        /// Story pairs: guid_a<TAB>guid_b<TAB>1|0 (one story or not); reports
        /// pair recall and false merges with the matcher's reasons.
        #[arg(long, value_name = "FILE")]
        pairs: Option<PathBuf>,
        /// Evaluate every stored item that has a label (`labels import`,
        /// the dashboard's buttons) instead of labels file and sources.
        #[arg(long, conflicts_with_all = ["labels", "pairs", "sources"])]
        stored: bool,
        /// One JSON object: the label figures and "pairs".
        #[arg(long)]
        json: bool,
        #[arg(required_unless_present = "stored", value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// The operator's labels of stored items (2 relevant, 1 related, 0 not relevant).
    Labels {
        #[command(subcommand)]
        action: LabelsAction,
    },
    /// Re-run stored items under the current rules; list what would be added or dropped.
    Replay {
        /// How many of the newest stored items to replay.
        #[arg(long, default_value_t = 100_000)]
        limit: u32,
        /// One JSON object per change (id, title, link, source, before, after,
        /// score, threshold, reasons), then {"replayed", "added", "dropped"}.
        #[arg(long)]
        json: bool,
    },
    /// Remove a published story: drop its feed entry and send a Delete to followers.
    Remove {
        /// The story id, or its story page URL (…/stories/<id>).
        #[arg(value_name = "ID|URL")]
        story_id: String,
    },
    /// Manage the source list.
    Sources {
        #[command(subcommand)]
        action: SourcesAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum LabelsAction {
    /// Store the labels of a guid<TAB>label file for items already stored;
    /// lists the keys no stored item has.
    Import { file: PathBuf },
    /// Print the latest label of every labelled item as guid<TAB>label, as
    /// `eval --labels` reads them.
    Export,
}

#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// Add the feeds of an OPML file to the source list (skipping known ones).
    Import { file: PathBuf },
    /// Print the source list as OPML 2.0.
    Export,
}
