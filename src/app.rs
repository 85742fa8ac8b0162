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
use crate::fediverse::{Fediverse, FediverseSettings, MastodonApiSettings};
use crate::fetch::Fetcher;
use crate::publish::outputs::{self, FeedFormat, FeedIdentity};
use crate::publish::story::Publisher;
use crate::schedule::{CycleReport, Ingest, Live, due_feeds};
use crate::sources::{self, FeedSource};
use crate::store::{FeedState, Store};
use crate::summary::SummaryOptions;
use crate::web;

/// Entry point of the binary.
pub fn main(cli: Cli) -> ExitCode {
    quiet_on_broken_pipe();
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
    let mut some_failed = false;
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Run { once: false }) {
            Command::Run { once: true } => run_once(&config).await.map(|r| {
                some_failed = r.failed > 0 || r.store_errors > 0;
            }),
            Command::Run { once: false } => run_daemon(config, shutdown_signal()).await,
            Command::Feeds => feeds(&config).await,
            Command::Remove { story_id } => remove_story(&config, &story_id).await,
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
    crate::logging::init(format, level);
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
    /// The configuration read at start-up (see [`App::reloader`] for the one in force).
    pub config: Config,
    pub reloader: Reloader,
    pub store: Store,
    pub ingest: Ingest,
    /// The ActivityPub side, when `[federation] enabled`.
    pub fediverse: Option<Fediverse>,
    /// Admin sign-in sessions (server-side; they end with the process).
    pub admin_sessions: Arc<web::sessions::Sessions>,
}

/// Reloads the configuration without a restart (SIGHUP, the dashboard).
/// An invalid file is refused with its problems and the old config stays;
/// keys that only take effect at start-up are named in the answer.
#[derive(Clone)]
pub struct Reloader {
    current: Arc<std::sync::RwLock<Config>>,
    ingest: Ingest,
    fediverse: Option<Fediverse>,
}

impl Reloader {
    /// The configuration in force.
    pub fn config(&self) -> Config {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn reload(&self) -> Result<Vec<String>, crate::config::Problems> {
        let old = self.config();
        let new = config::load(&old.file)?;
        let mut restart_needed = Vec::new();
        let mut note = |changed: bool, key: &str| {
            if changed {
                restart_needed.push(format!("{key} changed; it takes effect after a restart"));
            }
        };
        note(new.server.listen != old.server.listen, "server.listen");
        note(
            new.storage.sqlite_path != old.storage.sqlite_path,
            "storage.url",
        );
        note(new.bot.base_url != old.bot.base_url, "bot.base_url");
        note(new.bot.username != old.bot.username, "bot.username");
        note(
            new.federation.enabled != old.federation.enabled,
            "federation.enabled",
        );
        note(
            new.fetch.user_agent != old.fetch.user_agent
                || new.fetch.max_body_bytes != old.fetch.max_body_bytes,
            "[fetch]",
        );
        self.ingest
            .replace_live(live_settings(&new, self.fediverse.clone()));
        match self.current.write() {
            Ok(mut c) => *c = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        info!(
            restart_needed = restart_needed.len(),
            "configuration reloaded"
        );
        Ok(restart_needed)
    }
}

/// The reloadable settings derived from a config.
fn live_settings(config: &Config, fediverse: Option<Fediverse>) -> Live {
    let publisher = Publisher {
        base_url: config.bot.base_url.clone(),
        summary: SummaryOptions {
            max_sentences: config.publish.summary_sentences,
            max_chars: config.publish.summary_chars,
        },
        content_warning: config.publish.content_warning.clone(),
        hashtags: config.topic.hashtags().to_vec(),
        topic_terms: config.topic.topic_terms(),
        fediverse,
    };
    Live {
        schedule: Arc::new(config.schedule.clone()),
        topic: config.topic.clone(),
        publisher: Arc::new(publisher),
        fetch_articles: config.publish.fetch_article,
    }
}

/// The Fediverse service from the config: keys in the data folder (next to
/// the database), the Mastodon API channel from the environment.
async fn build_fediverse(config: &Config, store: &Store) -> Result<Fediverse> {
    let data_dir = config
        .storage
        .sqlite_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let feed_url = config
        .bot
        .base_url
        .join("feed.xml")
        .context("building the feed URL")?;
    let settings = FediverseSettings {
        base_url: config.bot.base_url.clone(),
        username: config.bot.username.clone(),
        display_name: config.bot.display_name.clone(),
        summary: config.bot.summary.clone(),
        icon_url: config.federation.icon_url.clone(),
        profile_links: vec![("Feed".to_string(), feed_url.clone())],
        data_dir,
        allow_private_addresses: config.federation.allow_private_addresses,
        delivery_concurrency: config.federation.delivery_concurrency,
        dead_after: config.federation.dead_after,
        feed_url,
    };
    let mastodon =
        MastodonApiSettings::from_env().context("reading FEEDWATCH_MASTODON_URL/TOKEN")?;
    Fediverse::new(settings, store.fed(), mastodon)
        .await
        .context("starting the Fediverse actor")
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
        let fediverse = if config.federation.enabled {
            Some(build_fediverse(&config, &store).await?)
        } else {
            None
        };
        let ingest = Ingest {
            store: store.clone(),
            fetcher,
            live: Arc::new(std::sync::RwLock::new(live_settings(
                &config,
                fediverse.clone(),
            ))),
            allow_private: config.federation.allow_private_addresses,
            metrics: Arc::new(crate::metrics::Metrics::new()),
            published: Arc::new(tokio::sync::Notify::new()),
            commit_lock: Arc::new(tokio::sync::Mutex::new(())),
            in_flight: Arc::default(),
            health: Arc::default(),
        };
        let reloader = Reloader {
            current: Arc::new(std::sync::RwLock::new(config.clone())),
            ingest: ingest.clone(),
            fediverse: fediverse.clone(),
        };
        Ok(App {
            config,
            reloader,
            store,
            ingest,
            fediverse,
            admin_sessions: Arc::default(),
        })
    }

    /// What the HTTP routes need.
    pub fn web_state(&self) -> web::WebState {
        web::WebState {
            store: self.store.clone(),
            identity: self.feed_identity(),
            fediverse: self.fediverse.clone(),
            metrics: self.ingest.metrics.clone(),
            reloader: self.reloader.clone(),
            store_health: self.ingest.health.clone(),
            admin_sessions: self.admin_sessions.clone(),
        }
    }

    fn feed_identity(&self) -> FeedIdentity {
        FeedIdentity {
            title: self.config.bot.display_name.clone(),
            description: self.config.bot.summary.clone(),
            base_url: self.config.bot.base_url.clone(),
        }
    }

    /// Writes the feed files to `[publish] output_dir`, if set.
    pub async fn write_feed_files(&self) -> Result<()> {
        let Some(dir) = &self.config.publish.output_dir else {
            return Ok(());
        };
        let entries = self
            .store
            .published_entries(self.reloader.config().publish.feed_items)
            .await?;
        let state = self.web_state();
        let feeds: Vec<_> = FeedFormat::ALL
            .iter()
            .map(|f| {
                (
                    *f,
                    outputs::render(&state.identity, &entries, *f, |id| state.story_url(id)),
                )
            })
            .collect();
        outputs::write_files(dir, &feeds)
            .with_context(|| format!("writing the feeds into {}", dir.display()))
    }

    pub fn load_sources(&self) -> Result<Vec<FeedSource>> {
        sources::load(&self.config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))
    }
}

/// `run --once`: one cycle over every enabled feed.
pub async fn run_once(config: &Config) -> Result<CycleReport> {
    let _lock = crate::lock::acquire(&config.storage.sqlite_path)?;
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
    app.write_feed_files().await?;
    if let Some(f) = &app.fediverse {
        let d = f
            .deliver_once(Utc::now())
            .await
            .context("delivering to followers")?;
        info!(
            delivered = d.delivered,
            retried = d.retried,
            failed = d.failed,
            dead = d.dead,
            "deliveries drained once"
        );
    }
    log_cycle(&report);
    app.store.close().await;
    Ok(report)
}

/// The daemon: HTTP server plus the cron-driven cycle, until `shutdown`.
pub async fn run_daemon(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let _lock = crate::lock::acquire(&config.storage.sqlite_path)?;
    let listener = bind(config.server.listen).await?;
    let app = Arc::new(App::build(config).await?);
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
    let server = {
        let token = token.clone();
        let router = web::router(app.web_state());
        tokio::spawn(web::serve::serve(
            listener,
            router,
            web::serve::Limits::default(),
            token,
        ))
    };
    #[cfg(unix)]
    {
        let reloader = app.reloader.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    _ = hup.recv() => match reloader.reload() {
                        Ok(notes) => {
                            for n in notes {
                                tracing::warn!("{n}");
                            }
                        }
                        Err(problems) => error!("configuration reload refused; the old one stays in force:\n{problems}"),
                    },
                }
            }
        });
    }
    let worker = app.fediverse.clone().map(|f| {
        let token = token.clone();
        tokio::spawn(async move {
            f.run_delivery_worker(async move { token.cancelled().await })
                .await
        })
    });
    // Logged once the signal handlers are in place (tests send SIGHUP after it).
    let sources = app
        .load_sources()
        .map_or(0, |f| f.iter().filter(|f| f.enabled).count());
    info!(
        url = %app.config.bot.base_url,
        %addr,
        sources,
        schedule = %app.config.schedule.cron_text,
        "scheduler started: the page is {} (listening on {addr}), {sources} enabled sources, schedule \"{}\"",
        app.config.bot.base_url,
        app.config.schedule.cron_text
    );
    let result = scheduler_loop(app.clone(), token.clone()).await;
    token.cancel();
    if let Some(w) = worker {
        if let Err(e) = w.await {
            error!(error = %e, "delivery worker task failed");
        }
    }
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => error!(error = %e, "HTTP server failed"),
        Err(e) => error!(error = %e, "HTTP server task failed"),
    }
    app.store.close().await;
    info!("stopped");
    result
}

/// Binds the HTTP listener; a port in use names the key to change.
async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "cannot listen on {addr}: the address is already in use by another program; \
             choose another address with [server] listen in the config or FEEDWATCH_SERVER__LISTEN"
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot listen on {addr} (set by [server] listen or FEEDWATCH_SERVER__LISTEN)"
        ))),
    }
}

/// The one summary line of a cycle.
fn log_cycle(report: &CycleReport) {
    if report.polled == 0 && report.store_errors == 0 {
        tracing::debug!(skipped = report.skipped, "cycle done: nothing polled");
        return;
    }
    info!(
        polled = report.polled,
        ok = report.ok,
        not_modified = report.not_modified,
        failed = report.failed,
        new_items = report.inserted,
        edited_items = report.updated,
        skipped = report.skipped,
        store_errors = report.store_errors,
        "cycle done"
    );
}

/// Each cron tick starts the polls of the feeds due then, without waiting
/// for earlier ticks' polls: a slow feed delays neither the next tick nor
/// another feed. A feed still in flight is skipped (see
/// [`Ingest::run_cycle`]). Store errors never end the loop: they are logged
/// and the store is tried again on a later tick, with backoff.
async fn scheduler_loop(app: Arc<App>, token: CancellationToken) -> Result<()> {
    let mut cycles = tokio::task::JoinSet::new();
    let mut sources_failing = false;
    loop {
        while let Some(done) = cycles.try_join_next() {
            if let Err(e) = done {
                error!(error = %e, "cycle task failed");
            }
        }
        let now = Utc::now();
        if app.ingest.health.may_try(now) {
            // Re-read the list each tick so edits to sources.toml apply without a restart.
            match app.load_sources() {
                Ok(feeds) => {
                    sources_failing = false;
                    match app.store.feed_states().await {
                        Ok(states) => {
                            let due = due_feeds(&feeds, &states, now);
                            if !due.is_empty() {
                                let app = app.clone();
                                let token = token.clone();
                                cycles.spawn(async move { cycle(&app, due, token).await });
                            }
                        }
                        Err(e) => {
                            let f = app.ingest.health.failed(&e.to_string(), now);
                            if f.repeated {
                                tracing::debug!(error = %e, failures = f.failures, "the store still fails");
                            } else {
                                error!(error = %e, failures = f.failures, retry_in_secs = f.retry_in.as_secs(), "cannot read the feeds' state; the store is retried with backoff");
                            }
                        }
                    }
                }
                Err(e) if sources_failing => {
                    tracing::debug!(error = %e, "cannot load the source list");
                }
                Err(e) => {
                    sources_failing = true;
                    error!(error = %e, "cannot load the source list; keeping the schedule");
                }
            }
        }
        // The schedule in force now: a reload may have changed it.
        let schedule = app.ingest.live().schedule.cron.clone();
        let Some(next) = schedule.upcoming(Utc).next() else {
            info!("the cron schedule has no future run; stopping");
            break;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            () = token.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    // Polls in flight finish and commit; feeds not started yet stay due.
    while let Some(done) = cycles.join_next().await {
        if let Err(e) = done {
            error!(error = %e, "cycle task failed");
        }
    }
    Ok(())
}

/// One tick's polls, then the feed files and the summary line.
async fn cycle(app: &App, due: Vec<FeedSource>, token: CancellationToken) {
    match app.ingest.run_cycle(due, true, token).await {
        Ok(report) => {
            if let Err(e) = app.write_feed_files().await {
                error!(error = %format!("{e:#}"), "cannot write the feed files");
            }
            log_cycle(&report);
        }
        // Already logged per poll and recorded in the store's health.
        Err(e) => tracing::debug!(error = %e, "no poll of this tick could be recorded"),
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

/// `feedwatch remove`: retracts a published story everywhere it was published.
async fn remove_story(config: &Config, story_id: &str) -> Result<()> {
    let app = App::build(config.clone()).await?;
    let now = Utc::now();
    let delete = match &app.fediverse {
        Some(f) => Some(
            f.prepare_delete(story_id, now)
                .context("preparing the Delete")?,
        ),
        None => None,
    };
    let removed = app
        .store
        .remove_story(story_id, delete.as_ref(), now)
        .await?;
    anyhow::ensure!(
        removed,
        "no published story {story_id} (see the ids in /feed.json)"
    );
    app.write_feed_files().await?;
    if let Some(f) = &app.fediverse {
        f.deliver_once(Utc::now())
            .await
            .context("delivering the Delete")?;
    }
    println!("removed story {story_id}; followers are sent a Delete and its page answers 410");
    app.store.close().await;
    Ok(())
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
        let status = s.map_or_else(|| "not fetched".to_string(), FeedState::status_label);
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
