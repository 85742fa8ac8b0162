//! How a request to the public surface fails (the front page, story pages,
//! the feeds, the hashtag pages): one type with one `IntoResponse`, so every
//! handler there answers a missing page or a failing store the same way.
//! (The admin pages, the ActivityPub routes and the inbox have their own
//! answers; see `admin` and `fediverse`.)

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{CACHE_INDEX, WebState, pages};
use crate::store::StoreError;

/// Why a public page or feed is not served.
pub enum PublicError {
    /// A styled page with `status` (404, 410), and a `Cache-Control` when
    /// given (else the router's default for the status).
    Page {
        status: StatusCode,
        site: pages::SiteInfo,
        title: &'static str,
        text: &'static str,
        cache: Option<&'static str>,
    },
    /// The store failed: logged as `what`, answered 503 "store unavailable".
    Store {
        what: &'static str,
        error: StoreError,
    },
}

impl PublicError {
    /// A 404 page cached like the front page.
    pub fn not_found(state: &WebState, title: &'static str, text: &'static str) -> Self {
        PublicError::Page {
            status: StatusCode::NOT_FOUND,
            site: state.site(),
            title,
            text,
            cache: Some(CACHE_INDEX),
        }
    }

    /// A page with `status` and the router's default `Cache-Control`.
    pub fn page(
        state: &WebState,
        status: StatusCode,
        title: &'static str,
        text: &'static str,
    ) -> Self {
        PublicError::Page {
            status,
            site: state.site(),
            title,
            text,
            cache: None,
        }
    }

    /// The store failed while reading `what` (for the log line).
    pub fn store(what: &'static str, error: StoreError) -> Self {
        PublicError::Store { what, error }
    }
}

impl IntoResponse for PublicError {
    fn into_response(self) -> Response {
        match self {
            PublicError::Page {
                status,
                site,
                title,
                text,
                cache,
            } => {
                let html = Html(pages::message_page(&site, status.as_u16(), title, text));
                match cache {
                    Some(c) => (status, [(header::CACHE_CONTROL, c)], html).into_response(),
                    None => (status, html).into_response(),
                }
            }
            PublicError::Store { what, error } => {
                tracing::error!(error = %error, "{what}");
                (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
            }
        }
    }
}
