//! The HTTP face. Routes stay thin: they read from the store and render.

pub mod admin;
pub mod cache;
mod error;
pub mod fediverse;
pub mod pages;
mod profile;
pub mod serve;
pub mod sessions;
mod tags;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::fediverse::Fediverse;
use crate::publish::outputs::{FeedFormat, render};
use crate::store::Store;
pub use error::{AdminError, PublicError};

/// State shared by the routes.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub fediverse: Option<Fediverse>,
    pub metrics: std::sync::Arc<crate::infra::metrics::Metrics>,
    /// The settings in force (a request takes one snapshot with
    /// `settings.load()`), and their owner: reload, Apply, the source toggle.
    pub settings: crate::settings::Settings,
    /// The ingest the daemon runs (the dashboard's "check now" polls with it).
    pub ingest: crate::pipeline::schedule::Ingest,
    /// Store failures seen by the scheduler: `/readyz` is 503 while it fails.
    pub store_health: std::sync::Arc<crate::infra::health::StoreHealth>,
    /// Rendered feeds and `/`, served from memory until a commit or reload.
    pub cache: cache::PageCache,
    /// Admin sign-in sessions and failed sign-ins.
    pub admin_sessions: std::sync::Arc<sessions::Sessions>,
}

impl WebState {
    /// What every page says about the bot.
    pub fn site(&self) -> pages::SiteInfo {
        site_of(&self.settings.load())
    }

    /// What cached renderings are valid for: the store's and the settings' generation.
    pub fn generation(&self) -> cache::Generation {
        (self.store.generation(), self.settings.load().generation)
    }

    /// Writes the feed files to `[publish] output_dir`, if set. One snapshot
    /// of the config in force decides the folder, the length and the identity.
    /// (The daemon after a cycle, `remove`, and the dashboard's Publish and
    /// Retract.)
    pub async fn write_feed_files(&self) -> anyhow::Result<()> {
        use anyhow::Context;
        let rt = self.settings.load();
        let Some(dir) = rt.config.publish.output_dir.clone() else {
            return Ok(());
        };
        let entries = self
            .store
            .published_entries(rt.config.publish.feed_items)
            .await?;
        let feeds: Vec<_> = FeedFormat::ALL
            .iter()
            .map(|f| {
                (
                    *f,
                    render(&rt.identity, &entries, *f, |id| rt.story_url(id)),
                )
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            crate::publish::outputs::write_files(&dir, &feeds)
                .with_context(|| format!("writing the feeds into {}", dir.display()))
        })
        .await
        .context("the feed-writing task failed")?
    }

    /// The story page URL: the feed entry id and the Note's `url`.
    pub fn story_url(&self, story_id: &str) -> String {
        self.settings.load().story_url(story_id)
    }
}

/// What every page says about the bot, under one snapshot of the settings.
pub fn site_of(rt: &crate::settings::Runtime) -> pages::SiteInfo {
    let cfg = &rt.config;
    let base = rt
        .identity
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_string();
    pages::SiteInfo {
        title: rt.identity.title.clone(),
        description: rt.identity.description.clone(),
        handle: format!("@{}@{}", cfg.bot.username, cfg.bot.domain()),
        actor_url: format!("{base}/users/{}", cfg.bot.username),
        base_url: base,
        hashtags: cfg.topic.hashtags().to_vec(),
    }
}

pub fn router(state: WebState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(index))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/feed.xml", get(|s, h| feed(s, h, FeedFormat::Rss)))
        .route("/feed.atom", get(|s, h| feed(s, h, FeedFormat::Atom)))
        .route("/feed.json", get(|s, h| feed(s, h, FeedFormat::Json)))
        .route("/stories/{id}", get(story_page))
        .route("/feed.xsl", get(feed_stylesheet))
        .route("/tags/{tag}", get(tags::tag_page))
        .route("/tags/{tag}/feed.xml", get(tags::tag_feed))
        .route("/tags/{tag}/feed.xsl", get(feed_stylesheet))
        .with_state(state.clone());
    router = router.merge(admin::router(state.clone()));
    router = router.merge(profile::router(state.clone()));
    if let Some(f) = state.fediverse.clone() {
        router = router.merge(fediverse::router(f));
    }
    let fallback_state = state.clone();
    router
        .fallback(move || not_found(fallback_state.clone()))
        .layer(axum::middleware::map_response(default_cache_control))
        // gzip or brotli when the client accepts it: pages, feeds, JSON and
        // ActivityPub alike (the default predicate skips bodies under 32
        // bytes, images and event streams; 304s have no body to compress).
        .layer(tower_http::compression::CompressionLayer::new())
}

/// How long a shared cache may keep a page: the front page changes with
/// every published story, a story page rarely, the stylesheet only with a
/// new version.
const CACHE_INDEX: &str = "public, max-age=60";
const CACHE_STORY: &str = "public, max-age=300";
const CACHE_STATIC: &str = "public, max-age=86400";

/// `Cache-Control` for responses whose handler set none: the operator's
/// pages (a session and a CSRF value), answers to POSTs and the health and
/// metrics probes are never stored; other GETs (ActivityPub documents,
/// WebFinger, error pages) may be reused for a minute.
async fn default_cache_control(
    method: axum::http::Method,
    uri: axum::http::Uri,
    mut response: Response,
) -> Response {
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        let path = uri.path();
        let live = matches!(path, "/healthz" | "/readyz" | "/metrics");
        let safe = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
        let value = if path == "/admin" || path.starts_with("/admin/") || live || !safe {
            "no-store"
        } else if response.status().is_server_error() {
            "no-cache"
        } else {
            "public, max-age=60"
        };
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static(value),
        );
    }
    response
}

/// A styled 404 for any path no route knows.
async fn not_found(state: WebState) -> PublicError {
    PublicError::not_found(
        &state,
        "Page not found",
        "There is nothing at this address. The stories are listed on the front page.",
    )
}

/// The XSLT that turns `/feed.xml` and `/feed.atom` into a readable page.
async fn feed_stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, crate::publish::feed::CONTENT_TYPE_XSL),
            (header::CACHE_CONTROL, CACHE_STATIC),
        ],
        crate::publish::feed::STYLESHEET,
    )
        .into_response()
}

async fn readyz(State(state): State<WebState>) -> (StatusCode, &'static str) {
    if state.store_health.is_failing() {
        return (StatusCode::SERVICE_UNAVAILABLE, "store failing");
    }
    match state.store.item_count().await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unreachable"),
    }
}

/// Prometheus scrape: state gauges are read from the store now.
async fn metrics(State(state): State<WebState>) -> Response {
    let fed = state.store.fed();
    match fed.delivery_counts().await {
        Ok(counts) => {
            for status in ["pending", "delivered", "failed", "dead"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                state
                    .metrics
                    .deliveries
                    .get_or_create(&crate::infra::metrics::StatusLabel {
                        status: status.to_string(),
                    })
                    .set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the delivery queue for /metrics"),
    }
    match fed.follower_count().await {
        Ok(n) => {
            state.metrics.followers.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "cannot count followers for /metrics"),
    }
    match fed.interaction_totals().await {
        Ok((mentions, likes, announces)) => {
            for (kind, n) in [
                ("mention", mentions),
                ("like", likes),
                ("announce", announces),
            ] {
                state
                    .metrics
                    .interactions
                    .get_or_create(&crate::infra::metrics::KindLabel {
                        kind: kind.to_string(),
                    })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot count mentions and reactions for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn feed(State(state): State<WebState>, headers: HeaderMap, format: FeedFormat) -> Response {
    let mut response = feed_body(&state, &headers, format)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    // A person who clicks "RSS" gets the XML labelled as plain XML, the type
    // browsers run the feed's stylesheet for (they show `application/rss+xml`
    // as raw text or offer it as a download); feed readers, which do not ask
    // for HTML, keep the feed's own type.
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && matches!(format, FeedFormat::Rss | FeedFormat::Atom) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/xml; charset=utf-8"),
        );
    }
    response
        .headers_mut()
        .append(header::VARY, axum::http::HeaderValue::from_static("Accept"));
    response
}

async fn feed_body(
    state: &WebState,
    headers: &HeaderMap,
    format: FeedFormat,
) -> Result<Response, PublicError> {
    let route = format.file_name();
    // The generations are read before the store, so a commit landing during
    // the rendering leaves an entry that the next request replaces.
    let generation = state.generation();
    if let Some(hit) = state.cache.get(route, generation) {
        return Ok(hit.respond(headers, Some(FEED_CACHE_CONTROL)));
    }
    let rt = state.settings.load();
    let entries = state
        .store
        .published_entries(rt.config.publish.feed_items)
        .await
        .map_err(|e| PublicError::store("cannot read the feed entries", e))?;
    let rendered = render(&rt.identity, &entries, format, |id| rt.story_url(id));
    Ok(state
        .cache
        .put(
            route,
            generation,
            cache::Rendered {
                body: rendered.body.into(),
                content_type: rendered.content_type,
                etag: rendered.etag,
                last_modified: Some(rendered.last_modified),
            },
        )
        .respond(headers, Some(FEED_CACHE_CONTROL)))
}

const FEED_CACHE_CONTROL: &str = "public, max-age=300";

fn story_view(state: &WebState, p: &crate::model::PublishedEntry) -> pages::StoryView {
    pages::StoryView {
        id: p.entry.story_id.clone(),
        page_url: state.story_url(&p.entry.story_id),
        title: p.entry.title.clone(),
        summary: p.entry.summary.clone(),
        link: p.entry.link.clone(),
        sources: p.sources.clone(),
        hashtags: p.entry.hashtags.clone(),
        language: p.entry.lang.clone(),
        published: p.entry.published_at,
        posted: None,
    }
}

/// `/?page=N`: which page of the front page (1 = newest).
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// The public page: what the bot watches, how to follow it, the latest
/// stories, [`pages::STORIES_PER_PAGE`] a page with older/newer links.
async fn index(
    State(state): State<WebState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Result<Response, PublicError> {
    let site = state.site();
    let not_found = || {
        PublicError::not_found(
            &state,
            "No such page",
            "The stories are listed from the front page.",
        )
    };
    let page = match q.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => match p.parse::<u64>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(not_found()),
        },
    };
    // The first page is what nearly every visitor asks for: it is served
    // from memory until a commit or a reload changes it.
    let generation = state.generation();
    if page == 1 {
        if let Some(hit) = state.cache.get("/", generation) {
            return Ok(hit.respond(&headers, Some(CACHE_INDEX)));
        }
    }
    let per_page = pages::STORIES_PER_PAGE;
    let (total, entries) = async {
        let total = state.store.published_entry_count().await?;
        let entries = state
            .store
            .published_entries_page(per_page, (page - 1).saturating_mul(u64::from(per_page)))
            .await?;
        Ok::<_, crate::store::StoreError>((total, entries))
    }
    .await
    .map_err(|e| PublicError::store("cannot read the stories", e))?;
    let pages_total = total.div_ceil(u64::from(per_page)).max(1);
    if page > pages_total {
        return Err(not_found());
    }
    let stories: Vec<pages::StoryView> = entries.iter().map(|p| story_view(&state, p)).collect();
    let paging = pages::Paging {
        page,
        pages: pages_total,
    };
    let html = pages::index_page_paged(&site, &stories, &paging);
    if page != 1 {
        return Ok(([(header::CACHE_CONTROL, CACHE_INDEX)], Html(html)).into_response());
    }
    Ok(state
        .cache
        .put(
            "/",
            generation,
            cache::Rendered {
                etag: crate::publish::feed::etag_for(html.as_bytes()),
                body: html.into(),
                content_type: "text/html; charset=utf-8",
                last_modified: entries.iter().map(|e| e.entry.updated_at).max(),
            },
        )
        .respond(&headers, Some(CACHE_INDEX)))
}

/// A story's own page (the Note's `url`): title, summary, every outlet.
async fn story_page(
    State(state): State<WebState>,
    Path(id): Path<String>,
) -> Result<Response, PublicError> {
    let site = state.site();
    match state
        .store
        .published_entry(&id)
        .await
        .map_err(|e| PublicError::store("cannot read a story", e))?
    {
        Some(entry) => {
            let mut view = story_view(&state, &entry);
            view.posted = state.store.story_posted_at(&id).await.ok().flatten();
            Ok((
                [(header::CACHE_CONTROL, CACHE_STORY)],
                Html(pages::story_page(&site, &view)),
            )
                .into_response())
        }
        None => Err(match state.store.story_removed(&id).await {
            Ok(true) => PublicError::page(
                &state,
                StatusCode::GONE,
                "Story removed",
                "This story was removed by the operator.",
            ),
            _ => PublicError::page(
                &state,
                StatusCode::NOT_FOUND,
                "No such story",
                "It may have been published elsewhere.",
            ),
        }),
    }
}
