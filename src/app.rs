//! Wires the parts together for each command: builds shared state, runs the
//! scheduler and the HTTP server until shutdown, or runs one-shot commands.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::cli::{Cli, Command, LogFormatArg, SourcesAction};
use crate::config::{self, Config, LogFormat};
use crate::fetch::Fetcher;
use crate::schedule::{CycleReport, Ingest, due_feeds};
use crate::sources::{self, FeedSource};
use crate::store::Store;
use crate::web;

/// Entry point of the binary.
pub fn main(cli: Cli) -> ExitCode {
    // `check` reports problems itself and must work without a valid config.
    if matches!(cli.command, Some(Command::Check)) {
        init_logging(cli.log_format.map_or(LogFormat::Text, to_format), "warn");
        return check(&cli.config);
    }
    let config = match config::load(&cli.config) {
        Ok(c) => c,
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
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Run { once: false }) {
            Command::Run { once: true } => run_once(&config).await.map(|_| ()),
            Command::Run { once: false } => run_daemon(config, shutdown_signal()).await,
            Command::Feeds => feeds(&config).await,
            Command::Score { json, sources } => crate::tune::score(&config, &sources, json).await,
            Command::Eval { labels, sources } => crate::tune::eval(&config, &labels, &sources)
                .await
                .map(|_| ()),
            Command::Replay { limit } => crate::tune::replay(&config, limit).await.map(|_| ()),
            Command::Sources { action } => sources_cmd(&config, action),
            Command::Check => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e:#}");
            eprintln!("feedwatch: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn to_format(f: LogFormatArg) -> LogFormat {
    match f {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `feedwatch check`: every problem in the config and the source list.
fn check(path: &std::path::Path) -> ExitCode {
    let mut problems = Vec::new();
    match config::load(path) {
        Ok(cfg) => match sources::load(&cfg.sources.path) {
            Ok(feeds) => {
                if feeds.iter().all(|f| !f.enabled) {
                    println!(
                        "warning: no enabled feeds in {}",
                        cfg.sources.path.display()
                    );
                }
                if problems.is_empty() {
                    println!(
                        "ok: {} is valid; {} feeds ({} enabled) in {}",
                        path.display(),
                        feeds.len(),
                        feeds.iter().filter(|f| f.enabled).count(),
                        cfg.sources.path.display()
                    );
                }
            }
            Err(p) => problems.extend(p.0),
        },
        Err(p) => problems.extend(p.0),
    }
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        println!("{p}");
    }
    println!("{} problem(s) found", problems.len());
    ExitCode::from(1)
}

/// Shared state for the pipeline.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub ingest: Ingest,
}

impl App {
    pub async fn build(config: Config) -> Result<App> {
        let store = Store::open(&config.storage.sqlite_path)
            .await
            .with_context(|| {
                format!(
                    "opening the store at {}",
                    config.storage.sqlite_path.display()
                )
            })?;
        let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
        let ingest = Ingest {
            store: store.clone(),
            fetcher,
            schedule: Arc::new(config.schedule.clone()),
            topic: config.topic.clone(),
            commit_lock: Arc::new(tokio::sync::Mutex::new(())),
        };
        Ok(App {
            config,
            store,
            ingest,
        })
    }

    pub fn load_sources(&self) -> Result<Vec<FeedSource>> {
        sources::load(&self.config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))
    }
}

/// `run --once`: one cycle over every enabled feed.
pub async fn run_once(config: &Config) -> Result<CycleReport> {
    let app = App::build(config.clone()).await?;
    let feeds: Vec<FeedSource> = app
        .load_sources()?
        .into_iter()
        .filter(|f| f.enabled)
        .collect();
    let report = app
        .ingest
        .run_cycle(feeds, false, CancellationToken::new())
        .await
        .context("recording the cycle")?;
    info!(
        polled = report.polled,
        ok = report.ok,
        not_modified = report.not_modified,
        failed = report.failed,
        new_items = report.inserted,
        edited_items = report.updated,
        "cycle done"
    );
    app.store.close().await;
    Ok(report)
}

/// The daemon: HTTP server plus the cron-driven cycle, until `shutdown`.
pub async fn run_daemon(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let app = App::build(config).await?;
    let token = CancellationToken::new();
    {
        let token = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            info!("shutting down: finishing polls in flight");
            token.cancel();
        });
    }
    let addr = listener.local_addr().context("reading the bound address")?;
    info!(%addr, base_url = %app.config.bot.base_url, "listening");
    let server = {
        let token = token.clone();
        let router = web::router(web::WebState {
            store: app.store.clone(),
        });
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
        })
    };
    let result = scheduler_loop(&app, token.clone()).await;
    token.cancel();
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!(error = %e, "HTTP server failed"),
        Err(e) => error!(error = %e, "HTTP server task failed"),
    }
    app.store.close().await;
    info!("stopped");
    result
}

async fn scheduler_loop(app: &App, token: CancellationToken) -> Result<()> {
    let schedule = app.config.schedule.cron.clone();
    info!(cron = %app.config.schedule.cron_text, "scheduler started");
    loop {
        // Re-read the list each cycle so edits to sources.toml apply without a restart.
        match app.load_sources() {
            Ok(feeds) => {
                let states = app.store.feed_states().await?;
                let due = due_feeds(&feeds, &states, Utc::now());
                if !due.is_empty() {
                    let report = app.ingest.run_cycle(due, true, token.clone()).await?;
                    info!(
                        polled = report.polled,
                        failed = report.failed,
                        new_items = report.inserted,
                        "cycle done"
                    );
                }
            }
            Err(e) => error!(error = %e, "cannot load the source list; keeping the schedule"),
        }
        let Some(next) = schedule.upcoming(Utc).next() else {
            info!("the cron schedule has no future run; stopping");
            return Ok(());
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = token.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// `feedwatch feeds`: one line per source with its health.
async fn feeds(config: &Config) -> Result<()> {
    let app = App::build(config.clone()).await?;
    let feeds = app.load_sources()?;
    let states = app.store.feed_states().await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<28} {:<8} {:<14} {:<20} {:>6} {:>6} {:<20} URL",
        "NAME", "ENABLED", "STATUS", "LAST FETCH", "ERRS", "TOTAL", "NEXT CHECK"
    )?;
    let fmt_time = |t: Option<chrono::DateTime<Utc>>| {
        t.map_or_else(
            || "never".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
    };
    for f in &feeds {
        let s = states.iter().find(|s| s.url == f.url.as_str());
        let status = match s {
            None => "not fetched".to_string(),
            Some(s) => match (s.last_outcome.as_deref(), s.last_status) {
                (Some("error"), Some(code)) if code != 200 => format!("error {code}"),
                (Some(o), _) => o.to_string(),
                (None, _) => "not fetched".to_string(),
            },
        };
        let name: String = f.name.chars().take(28).collect();
        writeln!(
            out,
            "{:<28} {:<8} {:<14} {:<20} {:>6} {:>6} {:<20} {}",
            name,
            if f.enabled { "yes" } else { "no" },
            status,
            fmt_time(s.and_then(|s| s.last_fetch_at)),
            s.map_or(0, |s| s.error_count),
            s.map_or(0, |s| s.total_errors),
            if f.enabled {
                fmt_time(s.and_then(|s| s.next_check_at)).replace("never", "due now")
            } else {
                "-".to_string()
            },
            f.url
        )?;
        if let Some(err) = s
            .and_then(|s| s.last_error.as_deref())
            .filter(|_| s.is_some_and(|s| s.error_count > 0))
        {
            writeln!(out, "    last error: {err}")?;
        }
    }
    app.store.close().await;
    Ok(())
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
                "imported {} new feed(s) into {} ({} already listed)",
                report.added.len(),
                target.display(),
                report.already_present
            );
            for url in report.added {
                println!("  + {url}");
            }
        }
    }
    Ok(())
}
