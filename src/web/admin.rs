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
//!
//! Here: the router, sign-in and sign-out, and the checks every handler
//! makes. The handlers live beside it: `dashboard` (the page),
//! `actions` (the state-changing forms and the reload) and
//! `playground`. Every refusal or failure is a [`AdminError`].

mod actions;
mod dashboard;
mod playground;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::pages;
use super::{AdminError, WebState};

const COOKIE: &str = "feedwatch_admin";
/// How many recent items the dashboard lists and the playground replays by default.
const RECENT_ITEMS: u32 = 200;

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/admin", get(dashboard::dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/reload", post(actions::reload))
        .route("/admin/sources/check", post(actions::check_source))
        .route("/admin/sources/enabled", post(actions::set_source_enabled))
        .route("/admin/items/label", post(actions::label_item))
        .route("/admin/review/publish", post(actions::review_publish))
        .route("/admin/review/dismiss", post(actions::review_dismiss))
        .route("/admin/stories/retract", post(actions::retract))
        .route("/admin/playground", get(playground::playground))
        .route("/admin/playground/preview", post(playground::preview))
        .route("/admin/playground/apply", post(playground::apply))
        .with_state(state)
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn csrf_for(token: &str) -> String {
    hex::encode(&digest(&format!("feedwatch-csrf:{token}"))[..16])
}

/// The configured token, or the answer to give when admin is off.
fn configured_token(state: &WebState) -> Result<String, AdminError> {
    state
        .settings
        .load()
        .config
        .admin
        .token
        .clone()
        .ok_or_else(|| AdminError::Off(Box::new(state.site())))
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
fn authorize(state: &WebState, headers: &HeaderMap) -> Result<String, AdminError> {
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
        Err(AdminError::SignInRequired(Box::new(state.site())))
    }
}

fn check_csrf(state: &WebState, token: &str, given: &str) -> Result<(), AdminError> {
    if bool::from(csrf_for(token).as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(AdminError::FormExpired(Box::new(state.site())))
    }
}

/// [`authorize`] plus the CSRF check every state-changing form needs.
fn authorize_post(state: &WebState, headers: &HeaderMap, csrf: &str) -> Result<String, AdminError> {
    let token = authorize(state, headers)?;
    check_csrf(state, &token, csrf)?;
    Ok(token)
}

async fn login_form(State(state): State<WebState>) -> Result<Response, AdminError> {
    configured_token(&state)?;
    Ok(Html(pages::login_page(&state.site(), None)).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(
    State(state): State<WebState>,
    Form(form): Form<LoginForm>,
) -> Result<Response, AdminError> {
    let expected = configured_token(&state)?;
    if !state.admin_sessions.may_try_login() {
        tracing::warn!("admin sign-in refused: too many failed attempts in the last minute");
        return Err(AdminError::TooManySignIns(Box::new(state.site())));
    }
    if !token_matches(form.token.trim(), &expected) {
        state.admin_sessions.login_failed();
        tracing::warn!("admin sign-in with a wrong token");
        return Err(AdminError::WrongToken(Box::new(state.site())));
    }
    let mut r = Redirect::to("/admin").into_response();
    let session = state.admin_sessions.open(&expected);
    let secure = if state.settings.load().identity.base_url.scheme() == "https" {
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
    Ok(r)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
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
    Ok(r)
}

/// Who did an admin action, for the log: the way the token came (one token,
/// so one operator identity) and the client's User-Agent.
fn who(headers: &HeaderMap) -> String {
    let via = if headers.contains_key(header::AUTHORIZATION) {
        "admin (bearer token)"
    } else {
        "admin (session)"
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    format!("{via}, user-agent {agent:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use axum::http::StatusCode;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    #[test]
    fn the_bearer_and_the_session_cookie_are_read_exactly() {
        let bearer = |v: &str| presented_bearer(&headers(&[(header::AUTHORIZATION, v)]));
        assert_eq!(bearer("Bearer s3cret ").as_deref(), Some("s3cret"));
        assert_eq!(bearer("Basic s3cret"), None);
        assert_eq!(presented_bearer(&HeaderMap::new()), None);

        let session = |vs: &[&str]| {
            let pairs: Vec<_> = vs.iter().map(|v| (header::COOKIE, *v)).collect();
            presented_session(&headers(&pairs))
        };
        assert_eq!(
            session(&["theme=dark; feedwatch_admin=abc123"]).as_deref(),
            Some("abc123")
        );
        assert_eq!(
            session(&["theme=dark", "feedwatch_admin=def"]).as_deref(),
            Some("def")
        );
        assert_eq!(session(&["theme=dark; feedwatch_admin_x=1"]), None);
        assert_eq!(session(&[]), None);
    }

    #[test]
    fn tokens_and_csrf_values_compare_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("", "s3cret"));
        let csrf = csrf_for("s3cret");
        assert_eq!(csrf.len(), 32);
        assert!(csrf.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(csrf, csrf_for("s3cret"), "stable for one token");
        assert_ne!(csrf, csrf_for("rotated"));
        assert!(!csrf.contains("s3cret"));
    }

    const TOKEN: &str = "unit-admin-token-0123456789";

    /// The admin routes served over real HTTP on 127.0.0.1:0, with the
    /// daemon's own state on a real SQLite file in `dir`.
    async fn serve_admin(dir: &std::path::Path, token: &str, base_url: &str) -> String {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[bot]\nbase_url = \"{base_url}\"\n\
             [storage]\nurl = \"sqlite://data/admin.db\"\n[federation]\nenabled = false\n\
             [admin]\ntoken = \"{token}\"\n"
        );
        let config = config::parse_with_env(&dir.join("config.toml"), text, Vec::new())
            .expect("a valid config")
            .with_data_dir(dir);
        let state = crate::app::App::build(config)
            .await
            .expect("the app")
            .web_state();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let app = router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    fn csrf_in(html: &str) -> String {
        let mark = "name=\"csrf\" value=\"";
        let at = html.find(mark).expect("a csrf field") + mark.len();
        html[at..at + 32].to_string()
    }

    fn header_of(r: &reqwest::Response, name: header::HeaderName) -> String {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// Without a token every admin route answers 404, sign-in included.
    #[tokio::test]
    async fn without_a_token_the_admin_routes_are_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = serve_admin(dir.path(), "", "http://localhost:8080").await;
        let c = client();
        for r in [
            c.get(format!("{base}/admin")).send().await,
            c.get(format!("{base}/admin/login")).send().await,
            c.post(format!("{base}/admin/login"))
                .form(&[("token", "")])
                .send()
                .await,
            c.get(format!("{base}/admin")).bearer_auth("").send().await,
        ] {
            assert_eq!(r.expect("answer").status(), StatusCode::NOT_FOUND);
        }
    }

    /// The handlers' own checks, each through the route that relies on it:
    /// bearer and session sign-in, the sign-in form, wrong tokens, CSRF on a
    /// POST (sign-out), and sign-out ending the session.
    #[tokio::test]
    async fn bearer_sign_in_csrf_and_sign_out_over_http() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = serve_admin(dir.path(), TOKEN, "http://localhost:8080").await;
        let c = client();
        let admin = format!("{base}/admin");

        let r = c.get(&admin).send().await.expect("answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no credentials");
        let r = c
            .get(&admin)
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await;
        assert_eq!(r.expect("answer").status(), StatusCode::UNAUTHORIZED);
        let r = c
            .get(&admin)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::OK, "the right bearer");
        let csrf = csrf_in(&r.text().await.expect("body"));

        let r = c.get(format!("{base}/admin/login")).send().await;
        let r = r.expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.expect("body").contains("name=\"token\""));

        let login = format!("{base}/admin/login");
        let r = c.post(&login).form(&[("token", "wrong")]).send().await;
        let r = r.expect("answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong token");
        assert_eq!(header_of(&r, header::SET_COOKIE), "");
        let r = c.post(&login).form(&[("token", TOKEN)]).send().await;
        let r = r.expect("answer");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the right token");
        assert_eq!(header_of(&r, header::LOCATION), "/admin");
        let set = header_of(&r, header::SET_COOKIE);
        assert!(set.starts_with("feedwatch_admin="), "{set}");
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(!set.contains("Secure"), "plain http base_url: {set}");
        let cookie = set.split(';').next().expect("cookie").to_string();

        let r = c.get(&admin).header(header::COOKIE, &cookie).send().await;
        let r = r.expect("answer");
        assert_eq!(r.status(), StatusCode::OK, "the session cookie");
        assert_eq!(csrf_in(&r.text().await.expect("body")), csrf);
        let r = c
            .get(&admin)
            .header(header::COOKIE, "feedwatch_admin=forged")
            .send()
            .await;
        assert_eq!(r.expect("answer").status(), StatusCode::UNAUTHORIZED);

        let logout = format!("{base}/admin/logout");
        let r = c
            .post(&logout)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await;
        assert_eq!(
            r.expect("answer").status(),
            StatusCode::UNAUTHORIZED,
            "no session"
        );
        let r = c
            .post(&logout)
            .header(header::COOKIE, &cookie)
            .form(&[("csrf", "0".repeat(32).as_str())])
            .send()
            .await;
        assert_eq!(
            r.expect("answer").status(),
            StatusCode::FORBIDDEN,
            "a wrong csrf"
        );
        let r = c
            .post(&logout)
            .bearer_auth(TOKEN)
            .form(&[("csrf", "")])
            .send()
            .await;
        assert_eq!(
            r.expect("answer").status(),
            StatusCode::FORBIDDEN,
            "bearer, no csrf"
        );
        let r = c.get(&admin).header(header::COOKIE, &cookie).send().await;
        assert_eq!(
            r.expect("answer").status(),
            StatusCode::OK,
            "still signed in"
        );

        let r = c
            .post(&logout)
            .header(header::COOKIE, &cookie)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-out");
        assert_eq!(header_of(&r, header::LOCATION), "/admin/login");
        assert!(header_of(&r, header::SET_COOKIE).contains("Max-Age=0"));
        let r = c.get(&admin).header(header::COOKIE, &cookie).send().await;
        assert_eq!(
            r.expect("answer").status(),
            StatusCode::UNAUTHORIZED,
            "session ended"
        );

        // One wrong token above; the rest of the allowance here.
        for _ in 1..super::super::sessions::MAX_FAILURES {
            let r = c.post(&login).form(&[("token", "wrong")]).send().await;
            assert_eq!(r.expect("answer").status(), StatusCode::UNAUTHORIZED);
        }
        let r = c.post(&login).form(&[("token", TOKEN)]).send().await;
        let r = r.expect("answer");
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "too many failures"
        );
        assert_eq!(header_of(&r, header::RETRY_AFTER), "60");
    }

    /// With an https `base_url` the session cookie is `Secure`.
    #[tokio::test]
    async fn the_session_cookie_is_secure_behind_https() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = serve_admin(dir.path(), TOKEN, "https://bot.example").await;
        let r = client()
            .post(format!("{base}/admin/login"))
            .form(&[("token", TOKEN)])
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(header_of(&r, header::SET_COOKIE).contains("; Secure"));
    }
}
