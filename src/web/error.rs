//! How a request fails, one type per HTTP surface, each with one
//! `IntoResponse`, so every handler of a surface answers a refusal, a
//! missing page or a failing store the same way:
//! - [`PublicError`]: the front page, story pages, the feeds, the hashtag pages;
//! - [`AdminError`]: the admin pages (`/admin/…`): sign-in, CSRF, the
//!   dashboard's actions, the playground.
//!
//! (The ActivityPub routes and the inbox answer with
//! [`crate::fediverse::FediverseError`].)

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

/// Why an admin request is refused or fails.
#[derive(Debug)]
pub enum AdminError {
    /// No `[admin] token`: every admin route is off (404 page).
    Off(Box<pages::SiteInfo>),
    /// No valid bearer token or session (401 page).
    SignInRequired(Box<pages::SiteInfo>),
    /// A state-changing form without the right CSRF value (403 page).
    FormExpired(Box<pages::SiteInfo>),
    /// Too many failed sign-ins in the last minute: the sign-in form again,
    /// 429 with `Retry-After: 60`.
    TooManySignIns(Box<pages::SiteInfo>),
    /// A sign-in with a wrong token: the sign-in form again, 401.
    WrongToken(Box<pages::SiteInfo>),
    /// A styled message page with `status` (404, 422, 503, …).
    Page {
        status: StatusCode,
        site: Box<pages::SiteInfo>,
        title: &'static str,
        text: String,
    },
    /// The store failed: logged as `what`, answered 503 "store unavailable"
    /// (plain text).
    Store { what: &'static str, error: String },
}

impl AdminError {
    /// A message page with `status`.
    pub fn page(
        state: &WebState,
        status: StatusCode,
        title: &'static str,
        text: impl Into<String>,
    ) -> Self {
        AdminError::Page {
            status,
            site: Box::new(state.site()),
            title,
            text: text.into(),
        }
    }

    /// The item the form names is not stored (any more): 404.
    pub fn no_such_item(state: &WebState) -> Self {
        Self::page(
            state,
            StatusCode::NOT_FOUND,
            "No such item",
            "That item is not stored (any more).",
        )
    }

    /// The source the form names is not in the source list (any more): 404.
    pub fn no_such_source(state: &WebState) -> Self {
        Self::page(
            state,
            StatusCode::NOT_FOUND,
            "No such source",
            "That source is not in the source list (any more).",
        )
    }

    /// The store failed while doing `what` (for the log line).
    pub fn store(what: &'static str, error: impl std::fmt::Display) -> Self {
        AdminError::Store {
            what,
            error: error.to_string(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let page = |status: StatusCode, site: &pages::SiteInfo, title: &str, text: &str| {
            (
                status,
                Html(pages::message_page(site, status.as_u16(), title, text)),
            )
                .into_response()
        };
        match self {
            AdminError::Off(site) => page(
                StatusCode::NOT_FOUND,
                &site,
                "Admin pages are off",
                "Set [admin] token in config.toml (or FEEDWATCH_ADMIN__TOKEN) to turn them on.",
            ),
            AdminError::SignInRequired(site) => page(
                StatusCode::UNAUTHORIZED,
                &site,
                "Sign in required",
                "The dashboard needs the admin token.",
            ),
            AdminError::FormExpired(site) => page(
                StatusCode::FORBIDDEN,
                &site,
                "Form expired",
                "Reload the page and try again.",
            ),
            AdminError::TooManySignIns(site) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "60")],
                Html(pages::login_page(
                    &site,
                    Some("Too many failed sign-ins; wait a minute and try again."),
                )),
            )
                .into_response(),
            AdminError::WrongToken(site) => (
                StatusCode::UNAUTHORIZED,
                Html(pages::login_page(&site, Some("That token is not right."))),
            )
                .into_response(),
            AdminError::Page {
                status,
                site,
                title,
                text,
            } => page(status, &site, title, &text),
            AdminError::Store { what, error } => {
                tracing::error!(error = %error, "{what}");
                (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
            }
        }
    }
}
