//! The command line's entry point ([`main`]: which command runs) and the
//! one-shot operator commands with their own output: `check`, `feeds`,
//! `stories`, `remove`, `labels`, `sources`. The daemon and `run --once` are
//! [`crate::app`]'s; this module sits above it (app never imports commands).

pub mod check;
pub mod feeds;
pub mod labels;
pub mod remove;
pub mod stories;

use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::app;
use crate::cli::{Cli, Command, LogFormatArg, SourcesAction};
use crate::config::{self, Config, LogFormat};
use crate::sources;

/// Entry point of the binary.
pub fn main(cli: Cli) -> ExitCode {
    quiet_on_broken_pipe();
    // `check` reports problems itself and must work without a valid config.
    if matches!(cli.command, Some(Command::Check)) {
        init_logging(cli.log_format.map_or(LogFormat::Text, to_format), "warn");
        return check::run(&cli.config, cli.data_dir.as_deref());
    }
    let config = match config::load(&cli.config) {
        Ok(c) => match &cli.data_dir {
            Some(dir) => c.with_data_dir(dir),
            None => c,
        },
        Err(problems) => {
            eprintln!("{problems}");
            eprintln!(
                "feedwatch: the configuration has {} problem(s); nothing was started",
                problems.0.len()
            );
            return ExitCode::from(1);
        }
    };
    let format = cli.log_format.map_or(config.log.format, to_format);
    init_logging(format, &config.log.level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("feedwatch: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let mut some_failed = false;
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run { once: false }) {
            Command::Run { once: true } => app::run_once(&config).await.map(|r| {
                some_failed = r.failed > 0 || r.store_errors > 0;
            }),
            Command::Run { once: false } => app::run_daemon(config, app::shutdown_signal()).await,
            Command::Feeds { json } => feeds::run(&config, json).await,
            Command::Stories { limit, json } => stories::run(&config, limit, json).await,
            Command::Remove { story_id } => remove::run(&config, &story_id).await,
            Command::Score { json, sources } => crate::tune::score(&config, &sources, json).await,
            Command::Eval {
                stored: true, json, ..
            } => crate::tune::eval_stored(&config, json).await,
            Command::Labels { action } => labels::run(&config, action).await,
            Command::Eval {
                labels,
                pairs,
                json,
                sources,
                ..
            } => {
                crate::tune::eval(&config, labels.as_deref(), pairs.as_deref(), &sources, json)
                    .await
            }
            Command::Replay { limit, json } => {
                crate::tune::replay(&config, limit, json).await.map(|_| ())
            }
            Command::Sources { action } => sources_cmd(&config, action),
            Command::Check => Ok(()),
        }
    });
    match result {
        // `run --once`: some feeds failed, the rest were committed.
        Ok(()) if some_failed => ExitCode::from(3),
        Ok(()) => ExitCode::SUCCESS,
        // `feeds | head -1`: the reader left; nothing is wrong.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Printed once, as a message (not also as a log line).
            eprintln!("feedwatch: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!` panics when stdout is a closed pipe; that ends the command
/// quietly with status 0 instead of a panic message.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn to_format(f: LogFormatArg) -> LogFormat {
    match f {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    }
}

fn init_logging(format: LogFormat, level: &str) {
    crate::infra::logging::init(format, level);
}

fn sources_cmd(config: &Config, action: SourcesAction) -> Result<()> {
    match action {
        SourcesAction::Export => {
            let feeds = sources::load(&config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))?;
            let xml = sources::to_opml(&feeds).context("rendering OPML")?;
            println!("{xml}");
        }
        SourcesAction::Import { file } => {
            let target = &config.sources.path;
            anyhow::ensure!(
                target.extension().is_some_and(|e| e == "toml"),
                "[sources] path is {}, not a .toml list; import writes into a sources.toml",
                target.display()
            );
            let report = sources::import_opml(target, &file)?;
            println!(
                "imported {} new feed(s) into {} ({} already listed, {} skipped)",
                report.added.len(),
                target.display(),
                report.already_present,
                report.skipped.len()
            );
            for url in report.added {
                println!("  + {url}");
            }
            for (url, name) in report.already_listed {
                println!("  = {url} (already listed as \"{name}\")");
            }
            for s in report.skipped {
                println!("  - skipped \"{}\": {}", s.outline, s.why);
            }
        }
    }
    Ok(())
}

/// A time for listings, or `none`.
pub(crate) fn fmt_time(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(
        || none.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A table without borders: columns two spaces apart, aligned by display
/// width (a CJK character counts 2), cells never cut.
pub(crate) fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Pads every column on the right only, so lines start with the first cell.
pub(crate) fn tidy(t: &mut comfy_table::Table, right_aligned: &[usize]) {
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, 2));
        if right_aligned.contains(&i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
}
