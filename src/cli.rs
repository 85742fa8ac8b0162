//! Command-line definitions. The contract (commands, flags, output shapes) is
//! in DESIGN.md; scripts depend on it, so change it only compatibly.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "feedwatch",
    version,
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
    Feeds,
    /// Manage the source list.
    Sources {
        #[command(subcommand)]
        action: SourcesAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// Add the feeds of an OPML file to the source list (skipping known ones).
    Import { file: PathBuf },
    /// Print the source list as OPML 2.0.
    Export,
}
