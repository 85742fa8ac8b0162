//! Thin axum routes for the Fediverse: each handler negotiates the
//! representation and calls into [`crate::fediverse`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::fediverse::signatures::{AP_CONTENT_TYPE, wants_activity_json};
use crate::fediverse::{Fediverse, FediverseError};

/// Mounts the Fediverse routes; merge into the application router.
pub fn router(fed: Fediverse) -> Router {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/nodeinfo/{version}", get(nodeinfo))
        .route("/users/{name}", get(actor))
        .route("/users/{name}/inbox", post(inbox))
        .route("/inbox", post(shared_inbox))
        .route("/users/{name}/outbox", get(outbox))
        .route("/users/{name}/followers", get(followers))
        .route("/users/{name}/following", get(following))
        .route("/users/{name}/collections/featured", get(featured))
        .route("/notes/{story_id}", get(note))
        .route("/pinned/about", get(pinned))
        .with_state(fed)
}

fn ap_json(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AP_CONTENT_TYPE),
    );
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

fn wants_ap(headers: &HeaderMap) -> bool {
    wants_activity_json(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

fn check_user(fed: &Fediverse, name: &str) -> Result<(), FediverseError> {
    if name == fed.settings().username {
        Ok(())
    } else {
        Err(FediverseError::NotFound)
    }
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: String,
}

async fn webfinger(
    State(fed): State<Fediverse>,
    Query(q): Query<WebfingerQuery>,
) -> Result<Response, FediverseError> {
    let wf = fed.webfinger_json(&q.resource)?;
    let mut r = (StatusCode::OK, wf.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(r)
}

async fn nodeinfo_links(State(fed): State<Fediverse>) -> Response {
    axum::Json(fed.nodeinfo_links()).into_response()
}

async fn nodeinfo(
    State(fed): State<Fediverse>,
    Path(version): Path<String>,
) -> Result<Response, FediverseError> {
    let v = fed.nodeinfo(&version).await?;
    let mut r = axum::Json(v).into_response();
    let ctype = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    if let Ok(h) = HeaderValue::from_str(&ctype) {
        r.headers_mut().insert(header::CONTENT_TYPE, h);
    }
    Ok(r)
}

async fn host_meta(State(fed): State<Fediverse>) -> Response {
    let mut r = (StatusCode::OK, fed.host_meta()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xrd+xml; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

async fn actor(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, FediverseError> {
    check_user(&fed, &name)?;
    if wants_ap(&headers) {
        Ok(ap_json(StatusCode::OK, &fed.actor_json()))
    } else {
        Ok(Redirect::to(fed.settings().base_url.as_str()).into_response())
    }
}

async fn inbox(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
    req: Request<Body>,
) -> Result<StatusCode, FediverseError> {
    check_user(&fed, &name)?;
    fed.handle_inbox(req).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn shared_inbox(
    State(fed): State<Fediverse>,
    req: Request<Body>,
) -> Result<StatusCode, FediverseError> {
    fed.handle_inbox(req).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

async fn outbox(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, FediverseError> {
    check_user(&fed, &name)?;
    Ok(ap_json(StatusCode::OK, &fed.outbox_json(q.page).await?))
}

async fn followers(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
) -> Result<Response, FediverseError> {
    check_user(&fed, &name)?;
    Ok(ap_json(StatusCode::OK, &fed.followers_json().await?))
}

async fn following(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
) -> Result<Response, FediverseError> {
    check_user(&fed, &name)?;
    Ok(ap_json(StatusCode::OK, &fed.following_json()))
}

async fn featured(
    State(fed): State<Fediverse>,
    Path(name): Path<String>,
) -> Result<Response, FediverseError> {
    check_user(&fed, &name)?;
    Ok(ap_json(StatusCode::OK, &fed.featured_json()))
}

async fn note(
    State(fed): State<Fediverse>,
    Path(story_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, FediverseError> {
    let view = fed.note_view(&story_id).await?;
    Ok(match view {
        crate::fediverse::NoteView::Gone(tombstone) => {
            if wants_ap(&headers) {
                ap_json(StatusCode::GONE, &tombstone)
            } else {
                (StatusCode::GONE, "This post was removed.").into_response()
            }
        }
        crate::fediverse::NoteView::Live { json, page_url } => {
            if wants_ap(&headers) {
                ap_json(StatusCode::OK, &json)
            } else {
                // The real HTML page belongs to the web module; send browsers there.
                let mut r = Redirect::to(page_url.as_str()).into_response();
                r.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Accept"));
                r
            }
        }
    })
}

async fn pinned(State(fed): State<Fediverse>, headers: HeaderMap) -> Response {
    if wants_ap(&headers) {
        ap_json(StatusCode::OK, &fed.pinned_json())
    } else {
        Redirect::to(fed.settings().feed_url.as_str()).into_response()
    }
}
