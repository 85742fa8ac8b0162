//! The HTTP face. Routes stay thin: they read from the store and render.

pub mod fediverse;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::fediverse::Fediverse;
use crate::publish::escape_html;
use crate::publish::outputs::{FeedFormat, FeedIdentity, render};
use crate::store::Store;

/// State shared by the routes.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub identity: FeedIdentity,
    pub feed_items: u32,
    pub fediverse: Option<Fediverse>,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl WebState {
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
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/feed.xml", get(|s, h| feed(s, h, FeedFormat::Rss)))
        .route("/feed.atom", get(|s, h| feed(s, h, FeedFormat::Atom)))
        .route("/feed.json", get(|s, h| feed(s, h, FeedFormat::Json)))
        .route("/stories/{id}", get(story_page))
        .with_state(state.clone());
    if let Some(f) = state.fediverse {
        router = router.merge(fediverse::router(f));
    }
    router
}

async fn readyz(State(state): State<WebState>) -> (StatusCode, &'static str) {
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
    let entries = match state.store.published_entries(state.feed_items).await {
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

/// A story's own page (the Note's `url`): title, summary, every outlet.
async fn story_page(State(state): State<WebState>, Path(id): Path<String>) -> Response {
    let entry = match state.store.published_entry(&id).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return match state.store.story_removed(&id).await {
                Ok(true) => (StatusCode::GONE, "this story was removed").into_response(),
                _ => (StatusCode::NOT_FOUND, "no such story").into_response(),
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a story");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response();
        }
    };
    let e = &entry.entry;
    let sources: String = entry
        .sources
        .iter()
        .filter(|(_, url)| url.starts_with("http://") || url.starts_with("https://"))
        .map(|(name, url)| {
            format!(
                "<li><a href=\"{}\" rel=\"nofollow noopener\">{}</a></li>",
                escape_html(url),
                escape_html(name)
            )
        })
        .collect();
    let page = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed.xml\"></head>\
         <body><main><article><h1>{title}</h1><p><time datetime=\"{iso}\">{date}</time></p><p>{summary}</p>\
         <h2>Reported by</h2><ul>{sources}</ul></article><p><a href=\"/\">{site}</a></p></main></body></html>",
        lang = escape_html(&e.lang),
        title = escape_html(&e.title),
        iso = e.published_at.to_rfc3339(),
        date = e.published_at.format("%Y-%m-%d %H:%M UTC"),
        summary = escape_html(&e.summary),
        site = escape_html(&state.identity.title),
    );
    Html(page).into_response()
}
