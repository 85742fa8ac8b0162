//! Wires the parts together: builds shared state ([`App`]), runs the
//! scheduler and the HTTP server until shutdown (`run`), or one cycle
//! (`run --once`). The command line's entry point is [`crate::commands::main`].

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::config::Config;
use crate::fediverse::{Fediverse, FediverseSettings, MastodonApiSettings};
use crate::pipeline::fetch::Fetcher;
use crate::pipeline::schedule::{CycleReport, Ingest, due_feeds};
use crate::settings::Settings;
use crate::sources::{self, FeedSource};
use crate::store::Store;
use crate::web;

/// Shared state for the pipeline.
pub struct App {
    /// The settings in force, and their one owner (reload, Apply, the
    /// source toggle).
    pub settings: Settings,
    pub store: Store,
    pub ingest: Ingest,
    /// The ActivityPub side, when `[federation] enabled`.
    pub fediverse: Option<Fediverse>,
    /// Admin sign-in sessions (server-side; they end with the process).
    pub admin_sessions: Arc<web::sessions::Sessions>,
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
    // `[bot] avatar` wins; the older `[federation] icon_url` still applies
    // when the avatar is left at the shipped default.
    use crate::config::profile::{ProfileImage, actor_image};
    let (icon_url, icon_media_type) = match (&config.bot.avatar, &config.federation.icon_url) {
        (ProfileImage::Default, Some(url)) => (Some(url.clone()), None),
        (img, _) => actor_image(img, &config.bot.base_url, "avatar")
            .map_or((None, None), |(u, mt)| (Some(u), mt.map(str::to_owned))),
    };
    let (image_url, image_media_type) =
        actor_image(&config.bot.header, &config.bot.base_url, "header")
            .map_or((None, None), |(u, mt)| (Some(u), mt.map(str::to_owned)));
    let settings = FediverseSettings {
        base_url: config.bot.base_url.clone(),
        username: config.bot.username.clone(),
        display_name: config.bot.display_name.clone(),
        summary: config.bot.summary.clone(),
        icon_url,
        icon_media_type,
        image_url,
        image_media_type,
        profile_links: vec![("Feed".to_string(), feed_url.clone())],
        data_dir,
        allow_private_addresses: config.federation.allow_private_addresses,
        delivery_concurrency: config.federation.delivery_concurrency,
        dead_after: config.federation.dead_after,
        feed_url,
        visibility: config.federation.visibility,
    };
    let mastodon = MastodonApiSettings::from_env()
        .context("reading FEEDWATCH_MASTODON_URL/TOKEN")?
        .map(|m| m.with_visibility(config.federation.visibility));
    let fed = Fediverse::new(settings, store.fed(), mastodon)
        .await
        .context("starting the Fediverse actor")?;
    fed.set_blocked_domains(config.federation.blocked_domains.clone())
        .await
        .context("applying [federation] blocked_domains")?;
    Ok(fed)
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
        let allow_private = config.federation.allow_private_addresses;
        let settings = Settings::new(config, fediverse.clone());
        let ingest = Ingest {
            store: store.clone(),
            fetcher,
            settings: settings.clone(),
            allow_private,
            metrics: Arc::new(crate::infra::metrics::Metrics::new()),
            published: Arc::new(tokio::sync::Notify::new()),
            commit_lock: Arc::new(tokio::sync::Mutex::new(())),
            in_flight: Arc::default(),
            health: Arc::default(),
            stories: crate::pipeline::dedupe::index::StoryIndex::new(),
        };
        crate::infra::memory::reclaim_start_up_pages();
        Ok(App {
            settings,
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
            fediverse: self.fediverse.clone(),
            metrics: self.ingest.metrics.clone(),
            settings: self.settings.clone(),
            ingest: self.ingest.clone(),
            store_health: self.ingest.health.clone(),
            cache: Default::default(),
            admin_sessions: self.admin_sessions.clone(),
        }
    }

    /// Writes the feed files to `[publish] output_dir`, if set. One snapshot
    /// of the settings in force decides the folder, the length and the identity.
    pub async fn write_feed_files(&self) -> Result<()> {
        self.web_state().write_feed_files().await
    }

    /// The source list named by the config in force (`[sources] path` reloads).
    /// Reads the file on the calling thread: for synchronous callers; async
    /// code calls [`App::sources`].
    pub fn load_sources(&self) -> Result<Vec<FeedSource>> {
        sources::load(&self.settings.load().config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))
    }

    /// [`App::load_sources`] on the blocking pool, for async code: the file
    /// is read (and an OPML list parsed) off the runtime's threads.
    pub async fn sources(&self) -> Result<Vec<FeedSource>> {
        self.settings.load().sources().await
    }
}

/// `run --once`: one cycle over every enabled feed.
pub async fn run_once(config: &Config) -> Result<CycleReport> {
    let _lock = crate::infra::lock::acquire(&config.storage.sqlite_path)?;
    let app = App::build(config.clone()).await?;
    let feeds: Vec<FeedSource> = app
        .sources()
        .await?
        .into_iter()
        .filter(|f| f.enabled)
        .collect();
    let bar = crate::infra::logging::progress(feeds.len() as u64, "feeds");
    let report = app
        .ingest
        .run_cycle_with(feeds, false, CancellationToken::new(), || bar.inc(1))
        .await
        .context("recording the cycle")?;
    bar.finish_and_clear();
    // Waiting stories go out as the posting cap allows, even with no feed due.
    app.ingest
        .release(Utc::now())
        .await
        .context("releasing waiting stories")?;
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
    let _lock = crate::infra::lock::acquire(&config.storage.sqlite_path)?;
    let listener = bind(config.server.listen).await?;
    // A database from before incremental auto-vacuum: converted once, here,
    // while this daemon holds the lock and before it opens its pool.
    if let Err(e) =
        crate::store::Store::convert_to_incremental_vacuum(&config.storage.sqlite_path).await
    {
        tracing::warn!(error = %e, "cannot convert the database to auto_vacuum = INCREMENTAL now (is another feedwatch command using it?); tried again at the next start");
    }
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
        let settings = app.settings.clone();
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
                    _ = hup.recv() => match settings.reload().await {
                        // The reload's own log line names the keys that need a restart.
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
        .sources()
        .await
        .map_or(0, |f| f.iter().filter(|f| f.enabled).count());
    let rt = app.settings.load();
    info!(
        url = %rt.config.bot.base_url,
        %addr,
        sources,
        schedule = %rt.config.schedule.cron_text,
        "scheduler started: the page is {} (listening on {addr}), {sources} enabled sources, schedule \"{}\"",
        rt.config.bot.base_url,
        rt.config.schedule.cron_text
    );
    drop(rt);
    // systemd (Type=notify): listening and scheduling; a no-op elsewhere.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    let result = scheduler_loop(app.clone(), token.clone()).await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
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
    let mut last_maintenance: Option<chrono::DateTime<Utc>> = None;
    let mut last_full_vacuum = Utc::now();
    loop {
        while let Some(done) = cycles.try_join_next() {
            if let Err(e) = done {
                error!(error = %e, "cycle task failed");
            }
        }
        let now = Utc::now();
        if app.ingest.health.may_try(now) {
            // Re-read the list each tick so edits to sources.toml apply without a restart.
            match app.sources().await {
                Ok(feeds) => {
                    sources_failing = false;
                    match app.store.feed_states().await {
                        Ok(states) => {
                            let due = due_feeds(&feeds, &states, now);
                            // Waiting stories go out as the posting cap allows, every tick.
                            match app.ingest.release(now).await {
                                Ok(r) if (r.released > 0 || r.updated > 0) && due.is_empty() => {
                                    if let Err(e) = app.write_feed_files().await {
                                        error!(error = %format!("{e:#}"), "cannot write the feed files");
                                    }
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    error!(error = %e, "cannot release waiting stories; retried next tick");
                                }
                            }
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
        // Retention and SQLite maintenance: at most once an hour, on a tick.
        let now = Utc::now();
        if app.ingest.health.may_try(now)
            && last_maintenance.is_none_or(|t| now - t >= MAINTENANCE_EVERY)
        {
            last_maintenance = Some(now);
            let full = now - last_full_vacuum >= FULL_VACUUM_EVERY;
            if full {
                last_full_vacuum = now;
            }
            let retain = app.settings.load().config.storage.retain;
            maintain(&app.store, now, retain, full).await;
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

/// How often the daemon prunes what `[storage] retain` no longer keeps and
/// runs SQLite's maintenance (the first tick after start, then hourly).
pub const MAINTENANCE_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// How often (counted from the daemon's start) maintenance runs a full
/// `VACUUM` instead of the incremental step, to repack the pages emptied
/// items leave half-filled.
pub const FULL_VACUUM_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// One retention + maintenance pass; a failure is logged and tried again at
/// the next pass (the store may be busy or failing: the daemon goes on).
pub async fn maintain(
    store: &crate::store::Store,
    now: chrono::DateTime<Utc>,
    retain: std::time::Duration,
    full_vacuum: bool,
) {
    let started = std::time::Instant::now();
    match store.maintain(now, retain, full_vacuum).await {
        Ok(r) if r == crate::store::retention::PruneReport::default() => {
            tracing::debug!(
                took_ms = started.elapsed().as_millis() as u64,
                "store maintenance done: nothing to prune"
            );
        }
        Ok(r) => info!(
            deliveries = r.deliveries,
            activities = r.activities,
            items_emptied = r.items_emptied,
            items_forgotten = r.items_forgotten,
            seen_expired = r.seen_expired,
            article_pages = r.article_pages,
            inbox_seen = r.inbox_seen,
            stale_queue = r.stale_queue,
            pages_freed = r.pages_freed,
            full_vacuum,
            took_ms = started.elapsed().as_millis() as u64,
            "store maintenance done"
        ),
        Err(e) => error!(error = %e, "store maintenance failed; tried again in an hour"),
    }
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
