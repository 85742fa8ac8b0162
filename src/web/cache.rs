//! Rendered feeds and pages kept in memory with their validators.
//!
//! Each route's bytes are kept with the ETag and Last-Modified they were
//! served with and the generations they were rendered at: the store's (bumped
//! by every commit that changes what is published) and the configuration's
//! (bumped by every reload). A request whose generations match is answered
//! from memory, and a conditional request with matching validators gets its
//! 304 without touching the database.
//!
//! Another process can change the database too (`feedwatch remove` next to a
//! running daemon); so that such a change shows, an entry is also re-rendered
//! once it is older than [`REVALIDATE_AFTER`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

/// How long a cached rendering is trusted without re-reading the store.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(30);

/// The generations a rendering is valid for: (store, configuration).
pub type Generation = (u64, u64);

/// One rendered response body with its validators.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub content_type: &'static str,
    /// A quoted strong ETag.
    pub etag: String,
    pub last_modified: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Entry {
    generation: Generation,
    at: Instant,
    rendered: Arc<Rendered>,
    /// Precomputed header values (one allocation per rendering, not per request).
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
}

/// Rendered responses by route; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct PageCache {
    routes: Arc<RwLock<HashMap<&'static str, Arc<Entry>>>>,
}

/// What the cache holds for a route at a generation.
#[derive(Debug, Clone)]
pub struct Hit(Arc<Entry>);

impl PageCache {
    /// The cached rendering of `route`, if it was made at `generation` and
    /// recently enough.
    pub fn get(&self, route: &'static str, generation: Generation) -> Option<Hit> {
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        routes
            .get(route)
            .filter(|e| e.generation == generation && e.at.elapsed() < REVALIDATE_AFTER)
            .map(|e| Hit(e.clone()))
    }

    /// Stores a rendering of `route` made at `generation` (validators come
    /// from the bytes, so a re-rendering of the same content keeps them).
    pub fn put(&self, route: &'static str, generation: Generation, rendered: Rendered) -> Hit {
        let entry = Arc::new(Entry {
            generation,
            at: Instant::now(),
            etag: HeaderValue::from_str(&rendered.etag).ok(),
            last_modified: rendered
                .last_modified
                .and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t.into())).ok()),
            rendered: Arc::new(rendered),
        });
        let mut routes = self
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        routes.insert(route, entry.clone());
        Hit(entry)
    }
}

impl Hit {
    /// A rendering that is not kept (e.g. one of the unbounded `/tags/<tag>`
    /// feeds), answered with the same validators and 304s as a cached one.
    pub fn uncached(rendered: Rendered) -> Self {
        Hit(Arc::new(Entry {
            generation: (0, 0),
            at: Instant::now(),
            etag: HeaderValue::from_str(&rendered.etag).ok(),
            last_modified: rendered
                .last_modified
                .and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t.into())).ok()),
            rendered: Arc::new(rendered),
        }))
    }

    pub fn rendered(&self) -> &Rendered {
        &self.0.rendered
    }

    /// The response to a request with these headers: 304 when its
    /// validators match, else the cached bytes.
    pub fn respond(&self, headers: &HeaderMap, cache_control: Option<&'static str>) -> Response {
        let e = &self.0;
        let mut response = if not_modified(headers, &e.rendered.etag, e.rendered.last_modified) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            (StatusCode::OK, e.rendered.body.clone()).into_response()
        };
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(e.rendered.content_type),
        );
        if let Some(v) = &e.etag {
            h.insert(header::ETAG, v.clone());
        }
        if let Some(v) = &e.last_modified {
            h.insert(header::LAST_MODIFIED, v.clone());
        }
        if let Some(cc) = cache_control {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
        }
        response
    }
}

/// Whether a conditional request is satisfied by these validators.
/// If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak
/// comparison for If-None-Match.
pub fn not_modified(headers: &HeaderMap, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm
            .split(',')
            .any(|t| t.trim() == "*" || bare(t) == bare(etag)),
        None => match (
            last_modified,
            headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok()),
        ) {
            (Some(lm), Some(since)) => DateTime::<Utc>::from(since).timestamp() >= lm.timestamp(),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(body: &str) -> Rendered {
        Rendered {
            body: Bytes::from(body.to_string()),
            content_type: "text/plain",
            etag: format!("\"{}\"", body.len()),
            last_modified: DateTime::from_timestamp(1_700_000_000, 0),
        }
    }

    #[test]
    fn an_entry_is_valid_only_at_its_generation() {
        let cache = PageCache::default();
        assert!(cache.get("/feed.xml", (1, 0)).is_none());
        cache.put("/feed.xml", (1, 0), rendered("abc"));
        assert!(cache.get("/feed.xml", (1, 0)).is_some());
        assert!(cache.get("/feed.xml", (2, 0)).is_none(), "a commit");
        assert!(cache.get("/feed.xml", (1, 1)).is_none(), "a reload");
        assert!(cache.get("/feed.atom", (1, 0)).is_none(), "another route");
    }

    #[test]
    fn conditional_requests() {
        let lm = DateTime::from_timestamp(1_700_000_000, 0);
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, "\"a\"", lm));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"b\", W/\"a\""),
        );
        assert!(not_modified(&h, "\"a\"", lm));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"stale\""));
        assert!(!not_modified(&h, "\"a\"", lm));
        // If-None-Match wins over a matching If-Modified-Since.
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Tue, 14 Nov 2023 22:13:20 GMT"),
        );
        assert!(!not_modified(&h, "\"a\"", lm));
        h.remove(header::IF_NONE_MATCH);
        assert!(not_modified(&h, "\"a\"", lm));
        h.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Tue, 14 Nov 2023 22:13:19 GMT"),
        );
        assert!(!not_modified(&h, "\"a\"", lm));
        assert!(!not_modified(&h, "\"a\"", None));
    }
}
