//! The HTTP face. Routes stay thin: they read from the store and render.

pub mod admin;
pub mod fediverse;
pub mod pages;
pub mod serve;
pub mod sessions;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::fediverse::Fediverse;
use crate::publish::outputs::{FeedFormat, FeedIdentity, render};
use crate::store::Store;

/// State shared by the routes.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub identity: FeedIdentity,
    pub fediverse: Option<Fediverse>,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The configuration in force, and how to reload it.
    pub reloader: crate::app::Reloader,
    /// Store failures seen by the scheduler: `/readyz` is 503 while it fails.
    pub store_health: std::sync::Arc<crate::health::StoreHealth>,
    /// Admin sign-in sessions and failed sign-ins.
    pub admin_sessions: std::sync::Arc<sessions::Sessions>,
}

impl WebState {
    /// What every page says about the bot.
    pub fn site(&self) -> pages::SiteInfo {
        let cfg = self.reloader.config();
        let base = self
            .identity
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        pages::SiteInfo {
            title: self.identity.title.clone(),
            description: self.identity.description.clone(),
            handle: format!("@{}@{}", cfg.bot.username, cfg.bot.domain()),
            actor_url: format!("{base}/users/{}", cfg.bot.username),
            base_url: base,
            hashtags: cfg.topic.hashtags().to_vec(),
        }
    }

    /// The story page URL: the feed entry id and the Note's `url`.
    pub fn story_url(&self, story_id: &str) -> String {
        format!(
            "{}/stories/{story_id}",
            self.identity.base_url.as_str().trim_end_matches('/')
        )
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
        .with_state(state.clone());
    router = router.merge(admin::router(state.clone()));
    if let Some(f) = state.fediverse {
        router = router.merge(fediverse::router(f));
    }
    router
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
                    .get_or_create(&crate::metrics::StatusLabel {
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
    let entries = match state
        .store
        .published_entries(state.reloader.config().publish.feed_items)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the feed entries");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
        }
    };
    let rendered = render(&state.identity, &entries, format, |id| state.story_url(id));
    let last_modified = httpdate::fmt_http_date(rendered.last_modified.into());
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        // If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
        Some(inm) => inm
            .split(',')
            .any(|t| t.trim() == rendered.etag || t.trim() == "*"),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| {
                chrono::DateTime::<chrono::Utc>::from(since).timestamp()
                    >= rendered.last_modified.timestamp()
            }),
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, rendered.body).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&rendered.etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

fn story_view(state: &WebState, p: &crate::store::PublishedEntry) -> pages::StoryView {
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
    }
}

/// The public page: what the bot watches, how to follow it, the latest stories.
async fn index(State(state): State<WebState>) -> Response {
    match state
        .store
        .published_entries(state.reloader.config().publish.feed_items)
        .await
    {
        Ok(entries) => {
            let stories: Vec<pages::StoryView> =
                entries.iter().map(|p| story_view(&state, p)).collect();
            Html(pages::index_page(&state.site(), &stories)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the stories");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

/// A story's own page (the Note's `url`): title, summary, every outlet.
async fn story_page(State(state): State<WebState>, Path(id): Path<String>) -> Response {
    let site = state.site();
    match state.store.published_entry(&id).await {
        Ok(Some(entry)) => {
            Html(pages::story_page(&site, &story_view(&state, &entry))).into_response()
        }
        Ok(None) => match state.store.story_removed(&id).await {
            Ok(true) => (
                StatusCode::GONE,
                Html(pages::message_page(
                    &site,
                    410,
                    "Story removed",
                    "This story was removed by the operator.",
                )),
            )
                .into_response(),
            _ => (
                StatusCode::NOT_FOUND,
                Html(pages::message_page(
                    &site,
                    404,
                    "No such story",
                    "It may have been published elsewhere.",
                )),
            )
                .into_response(),
        },
        Err(e) => {
            tracing::error!(error = %e, "cannot read a story");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}
