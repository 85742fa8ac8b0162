//! The operator dashboard: source health, recent decisions, followers, the
//! delivery queue, configuration reload, and the filter playground.
//!
//! Access needs `[admin] token` (no token: everything here is off). The
//! token is given once to `/admin/login`, which opens a server-side session
//! (see [`super::sessions`]: a random id that expires; the cookie holds the
//! id, never the token) kept in an HttpOnly, SameSite=Strict cookie scoped to
//! `/admin`, `Secure` when `base_url` is https; failed sign-ins are
//! rate-limited. `Authorization: Bearer` works for scripts. Tokens are compared in constant time (over their SHA-256, so
//! length does not leak either). Every state-changing form carries a CSRF
//! value derived from the token.

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebState;
use super::pages::{
    self, AdminView, FeedHealthView, FollowerView, ItemView, PlaygroundView, PreviewRow, QueueView,
};
use crate::config;

const COOKIE: &str = "feedwatch_admin";
/// How many recent items the dashboard lists and the playground replays by default.
const RECENT_ITEMS: u32 = 200;

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/reload", post(reload))
        .route("/admin/playground", get(playground))
        .route("/admin/playground/preview", post(preview))
        .route("/admin/playground/apply", post(apply))
        .with_state(state)
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn csrf_for(token: &str) -> String {
    hex::encode(&digest(&format!("feedwatch-csrf:{token}"))[..16])
}

/// The configured token, or the answer to give when admin is off.
fn configured_token(state: &WebState) -> Result<String, Box<Response>> {
    state.reloader.config().admin.token.ok_or_else(|| {
        Box::new(
            (
                StatusCode::NOT_FOUND,
                Html(pages::message_page(
                    &state.site(),
                    404,
                    "Admin pages are off",
                    "Set [admin] token in config.toml (or FEEDWATCH_ADMIN__TOKEN) to turn them on.",
                )),
            )
                .into_response(),
        )
    })
}

fn presented_bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|b| b.trim().to_string())
}

/// The session id in the request's cookie.
fn presented_session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn token_matches(given: &str, expected: &str) -> bool {
    bool::from(digest(given).ct_eq(&digest(expected)))
}

/// The token if the request is authorized, else the refusal (401).
fn authorize(state: &WebState, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let expected = configured_token(state)?;
    let ok = match presented_bearer(headers) {
        Some(given) => token_matches(&given, &expected),
        None => {
            presented_session(headers).is_some_and(|id| state.admin_sessions.valid(&id, &expected))
        }
    };
    if ok {
        Ok(expected)
    } else {
        Err(Box::new(
            (
                StatusCode::UNAUTHORIZED,
                Html(pages::message_page(
                    &state.site(),
                    401,
                    "Sign in required",
                    "The dashboard needs the admin token.",
                )),
            )
                .into_response(),
        ))
    }
}

fn check_csrf(state: &WebState, token: &str, given: &str) -> Result<(), Box<Response>> {
    if bool::from(csrf_for(token).as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(Box::new(
            (
                StatusCode::FORBIDDEN,
                Html(pages::message_page(
                    &state.site(),
                    403,
                    "Form expired",
                    "Reload the page and try again.",
                )),
            )
                .into_response(),
        ))
    }
}

/// [`authorize`] plus the CSRF check every state-changing form needs.
fn authorize_post(
    state: &WebState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<String, Box<Response>> {
    let token = authorize(state, headers)?;
    check_csrf(state, &token, csrf)?;
    Ok(token)
}

async fn login_form(State(state): State<WebState>) -> Response {
    if let Err(r) = configured_token(&state) {
        return *r;
    }
    Html(pages::login_page(&state.site(), None)).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(state): State<WebState>, Form(form): Form<LoginForm>) -> Response {
    let expected = match configured_token(&state) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    if !state.admin_sessions.may_try_login() {
        tracing::warn!("admin sign-in refused: too many failed attempts in the last minute");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            Html(pages::login_page(
                &state.site(),
                Some("Too many failed sign-ins; wait a minute and try again."),
            )),
        )
            .into_response();
    }
    if !token_matches(form.token.trim(), &expected) {
        state.admin_sessions.login_failed();
        tracing::warn!("admin sign-in with a wrong token");
        return (
            StatusCode::UNAUTHORIZED,
            Html(pages::login_page(
                &state.site(),
                Some("That token is not right."),
            )),
        )
            .into_response();
    }
    let mut r = Redirect::to("/admin").into_response();
    let session = state.admin_sessions.open(&expected);
    let secure = if state.identity.base_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={session}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        super::sessions::SESSION_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = authorize_post(&state, &headers, &form.csrf) {
        return *r;
    }
    if let Some(id) = presented_session(&headers) {
        state.admin_sessions.close(&id);
    }
    let mut r = Redirect::to("/admin/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "feedwatch_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

#[derive(Deserialize, Default)]
struct DashboardQuery {
    decision: Option<String>,
    source: Option<String>,
}

async fn dashboard(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<DashboardQuery>,
) -> Response {
    let token = match authorize(&state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    match dashboard_view(&state, &token, q).await {
        Ok(view) => Html(pages::admin_page(&state.site(), &view)).into_response(),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "cannot build the dashboard");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}

async fn dashboard_view(
    state: &WebState,
    token: &str,
    q: DashboardQuery,
) -> anyhow::Result<AdminView> {
    let cfg = state.reloader.config();
    let sources = crate::sources::load(&cfg.sources.path).unwrap_or_default();
    let states = state.store.feed_states().await?;
    let feeds = sources
        .iter()
        .map(|f| {
            let s = states.iter().find(|s| s.url == f.url.as_str());
            FeedHealthView {
                name: f.name.clone(),
                url: f.url.to_string(),
                enabled: f.enabled,
                status: s.map_or_else(
                    || "not fetched".to_string(),
                    crate::store::FeedState::status_label,
                ),
                last_fetch: s.and_then(|s| s.last_fetch_at),
                errors: s.map_or(0, |s| s.error_count),
                total_errors: s.map_or(0, |s| s.total_errors),
                next_check: s.and_then(|s| s.next_check_at),
                last_error: s
                    .filter(|s| s.error_count > 0)
                    .and_then(|s| s.last_error.clone()),
            }
        })
        .collect();
    let decision_filter = match q.decision.as_deref() {
        Some("publish") => Some(true),
        Some("skip") => Some(false),
        _ => None,
    };
    let source_filter = q.source.filter(|s| !s.is_empty());
    let items = state
        .store
        .items_with_decisions(RECENT_ITEMS * 5)
        .await?
        .into_iter()
        .filter(|(_, d)| {
            decision_filter.is_none_or(|want| d.as_ref().is_some_and(|d| d.publish == want))
        })
        .filter(|(i, _)| source_filter.as_ref().is_none_or(|s| &i.item.source == s))
        .take(RECENT_ITEMS as usize)
        .map(|(i, d)| ItemView {
            id: i.item.id.clone(),
            title: i.item.title.clone(),
            link: i.item.link.clone(),
            source: i.item.source.clone(),
            published: i.item.published,
            decision: d.as_ref().map(|d| d.publish),
            score: d.as_ref().map(|d| d.score),
            reasons: d.map(|d| d.reasons).unwrap_or_default(),
        })
        .collect();
    let fed = state.store.fed();
    let followers = fed
        .followers(200)
        .await?
        .into_iter()
        .map(|f| FollowerView {
            inbox: f.shared_inbox.unwrap_or(f.inbox),
            actor: f.actor_id,
        })
        .collect();
    let counts = fed.delivery_counts().await?;
    let count = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    Ok(AdminView {
        feeds,
        items,
        decision_filter,
        source_filter,
        sources: sources.iter().map(|f| f.name.clone()).collect(),
        followers,
        queue: QueueView {
            pending: count("pending"),
            delivered: count("delivered"),
            failed: count("failed"),
            dead: count("dead"),
        },
        csrf: csrf_for(token),
    })
}

async fn reload(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = authorize_post(&state, &headers, &form.csrf) {
        return *r;
    }
    match state.reloader.reload() {
        Ok(notes) => {
            let text = if notes.is_empty() {
                "The configuration was reloaded and is in force.".to_string()
            } else {
                format!("The configuration was reloaded. {}", notes.join("; "))
            };
            Html(pages::message_page(&state.site(), 200, "Reloaded", &text)).into_response()
        }
        Err(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::message_page(
                &state.site(),
                422,
                "Reload refused; the old configuration stays in force",
                &problems.to_string(),
            )),
        )
            .into_response(),
    }
}

async fn playground(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let token = match authorize(&state, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let cfg = state.reloader.config();
    let view = PlaygroundView {
        topic_toml: config::topic_section_text(&cfg.file).unwrap_or_else(|e| format!("# {e}")),
        threshold: cfg.topic.threshold(),
        last_n: RECENT_ITEMS,
        preview: None,
        unchanged: 0,
        error: None,
        applied: false,
        csrf: csrf_for(&token),
    };
    Html(pages::playground_page(&state.site(), &view)).into_response()
}

#[derive(Deserialize)]
struct PlaygroundForm {
    topic: String,
    threshold: f64,
    n: u32,
    csrf: String,
}

/// The items whose decision the edited topic would change, as view rows.
async fn preview_rows(
    state: &WebState,
    form: &PlaygroundForm,
) -> Result<(Vec<PreviewRow>, usize), String> {
    let cfg = state.reloader.config();
    if !(0.0..=1.0).contains(&form.threshold) {
        return Err(format!("threshold {} is outside 0..1", form.threshold));
    }
    let topic = config::compile_topic_text(&cfg.file, &form.topic, Some(form.threshold))?;
    let feeds = crate::sources::load(&cfg.sources.path).unwrap_or_default();
    let n = form.n.clamp(1, 5000);
    let (total, changes) =
        crate::tune::replay_changes(&state.store, &std::sync::Arc::new(topic), &feeds, n)
            .await
            .map_err(|e| format!("{e:#}"))?;
    let unchanged = total - changes.len();
    let rows = changes
        .into_iter()
        .map(|c| PreviewRow {
            item: ItemView {
                id: c.id,
                title: c.title,
                link: c.link,
                source: c.source,
                published: c.published,
                decision: c.before,
                score: None,
                reasons: String::new(),
            },
            before: c.before,
            after: c.after,
            after_score: c.score,
            after_reasons: c.reasons,
        })
        .collect();
    Ok((rows, unchanged))
}

async fn preview(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Response {
    let token = match authorize_post(&state, &headers, &form.csrf) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let (preview, unchanged, error) = match preview_rows(&state, &form).await {
        Ok((rows, unchanged)) => (Some(rows), unchanged, None),
        Err(e) => (None, 0, Some(e)),
    };
    let view = PlaygroundView {
        topic_toml: form.topic,
        threshold: form.threshold,
        last_n: form.n,
        preview,
        unchanged,
        error,
        applied: false,
        csrf: csrf_for(&token),
    };
    Html(pages::playground_page(&state.site(), &view)).into_response()
}

/// Persists the previewed topic into the config file and reloads; if the
/// reload refuses the result, the file is restored.
async fn apply(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Response {
    let token = match authorize_post(&state, &headers, &form.csrf) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let cfg = state.reloader.config();
    let result = match config::compile_topic_text(&cfg.file, &form.topic, Some(form.threshold)) {
        Err(e) => Err(e),
        Ok(_) => match config::write_topic_section(&cfg.file, &form.topic, form.threshold) {
            Err(e) => Err(e),
            Ok(old) => match state.reloader.reload() {
                Ok(_) => Ok(()),
                Err(problems) => {
                    let restored = std::fs::write(&cfg.file, old);
                    Err(format!(
                        "{problems}{}",
                        if restored.is_err() {
                            " (and the old file could not be restored)"
                        } else {
                            ""
                        }
                    ))
                }
            },
        },
    };
    if result.is_ok() {
        tracing::info!(
            threshold = form.threshold,
            "topic changed from the playground"
        );
    }
    let view = PlaygroundView {
        topic_toml: form.topic,
        threshold: form.threshold,
        last_n: form.n,
        preview: None,
        unchanged: 0,
        applied: result.is_ok(),
        error: result.err(),
        csrf: csrf_for(&token),
    };
    Html(pages::playground_page(&state.site(), &view)).into_response()
}
