//! The dashboard's actions (state-changing forms, each behind
//! [`super::authorize_post`]): "Check now" and a source's enable/disable
//! toggle, an item's label, the Review list's Publish and Dismiss, a
//! story's Retract, and the configuration reload.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{CsrfForm, authorize_post, who};
use crate::web::pages;
use crate::web::{AdminError, WebState};

#[derive(Deserialize)]
pub(super) struct SourceForm {
    csrf: String,
    /// [`pages::source_key`] of the source's URL.
    source: String,
    /// For `enabled`: "true" or "false".
    enabled: Option<String>,
}

/// "Check now": polls one source at once and records it like a scheduled
/// poll; then back to the dashboard.
pub(super) async fn check_source(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<SourceForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
    let sources = state.settings.load().sources().await.unwrap_or_default();
    let Some(feed) = sources
        .into_iter()
        .find(|f| pages::source_key(f.url.as_str()) == form.source)
    else {
        return Err(AdminError::no_such_source(&state));
    };
    tracing::info!(who = %who(&headers), url = %feed.url, "admin action: check now");
    match state.ingest.poll_once(&feed, chrono::Utc::now()).await {
        Ok(r) => {
            tracing::info!(url = %feed.url, outcome = ?r.outcome, "checked on request");
            Ok(Redirect::to("/admin#sources").into_response())
        }
        Err(e) => Err(AdminError::page(
            &state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Check failed",
            format!("The poll could not be recorded: {e}"),
        )),
    }
}

/// Enable or disable a source in `sources.toml` (toml_edit: every other
/// byte of the file stays); the scheduler reads the list each cycle.
pub(super) async fn set_source_enabled(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<SourceForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
    let enabled = form.enabled.as_deref() == Some("true");
    let Some(url) = state
        .settings
        .load()
        .sources()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.url.to_string())
        .find(|u| pages::source_key(u) == form.source)
    else {
        return Err(AdminError::no_such_source(&state));
    };
    let logged = url.clone();
    // The settings' owner writes the file, in turn with reloads and Applies.
    let result = state.settings.set_source_enabled(url, enabled).await;
    match result {
        Ok(true) => {
            tracing::info!(who = %who(&headers), url = %logged, enabled, "admin action: source enabled/disabled");
            Ok(Redirect::to("/admin#sources").into_response())
        }
        Ok(false) => Err(AdminError::no_such_source(&state)),
        Err(e) => Err(AdminError::page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The source list was not changed",
            format!("{e:#}"),
        )),
    }
}

#[derive(Deserialize)]
pub(super) struct LabelForm {
    csrf: String,
    item: String,
    label: u8,
}

/// A dashboard label button: records the operator's label of one stored
/// item (with who and when), then back to the dashboard.
pub(super) async fn label_item(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LabelForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
    if form.label > 2 {
        return Err(AdminError::page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "No such label",
            "A label is 0 (not relevant), 1 (related) or 2 (relevant).",
        ));
    }
    let by = who(&headers);
    match state
        .store
        .set_label(&form.item, form.label, &by, chrono::Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(who = %by, item = %form.item, label = form.label, "admin action: item labelled");
            Ok(Redirect::to("/admin#items").into_response())
        }
        Ok(false) => Err(AdminError::no_such_item(&state)),
        Err(e) => Err(AdminError::store("cannot store a label", e)),
    }
}

/// The log line of an admin action that failed in the store.
const STORE_FAILED: &str = "admin action failed in the store";

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    /// Absent counts as wrong: 403, like a forged value.
    #[serde(default)]
    csrf: String,
    item: String,
}

/// After Publish or Retract: the feed files (`[publish] output_dir`) follow
/// the store now, as after a cycle (the pages and feeds served follow it by
/// the store's generation).
async fn refresh_feed_files(state: &WebState) {
    if let Err(e) = state.write_feed_files().await {
        tracing::error!(error = %format!("{e:#}"), "cannot write the feed files");
    }
}

/// Review list "Publish": the operator publishes an item the filter or the
/// age gate kept back, through the automatic path (see
/// [`crate::pipeline::schedule::Ingest::publish_reviewed`]), labelled relevant.
/// A second Publish of the same item changes nothing.
pub(super) async fn review_publish(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<ReviewForm>,
) -> Result<Response, AdminError> {
    use crate::pipeline::operator::ReviewPublish;
    authorize_post(&state, &headers, &form.csrf)?;
    let by = who(&headers);
    let ingest = state.ingest.clone();
    match ingest
        .publish_reviewed(&form.item, &by, chrono::Utc::now())
        .await
    {
        Ok(ReviewPublish::Published { story_id } | ReviewPublish::Joined { story_id }) => {
            tracing::info!(who = %by, item = %form.item, story = %story_id, "admin action: item published from the review list");
            refresh_feed_files(&state).await;
            Ok(Redirect::to("/admin#review").into_response())
        }
        Ok(ReviewPublish::AlreadyPublished) => {
            tracing::info!(who = %by, item = %form.item, "admin action: publish of an item already published; nothing sent again");
            Ok(Redirect::to("/admin#review").into_response())
        }
        Ok(ReviewPublish::NoSuchItem) => Err(AdminError::no_such_item(&state)),
        Ok(ReviewPublish::NotComposable) => Err(AdminError::page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not published",
            "No post can be made of that item (it has no usable link or title).",
        )),
        Err(e) => Err(AdminError::store(STORE_FAILED, e)),
    }
}

/// Review list "Dismiss": labels the item not relevant (0), which takes it
/// off the list.
pub(super) async fn review_dismiss(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<ReviewForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
    let by = who(&headers);
    match state
        .store
        .set_label(&form.item, 0, &by, chrono::Utc::now())
        .await
    {
        Ok(true) => {
            tracing::info!(who = %by, item = %form.item, "admin action: item dismissed from the review list (label 0)");
            Ok(Redirect::to("/admin#review").into_response())
        }
        Ok(false) => Err(AdminError::no_such_item(&state)),
        Err(e) => Err(AdminError::store(STORE_FAILED, e)),
    }
}

#[derive(Deserialize)]
pub(super) struct RetractForm {
    /// Absent counts as wrong: 403, like a forged value.
    #[serde(default)]
    csrf: String,
    story: String,
}

/// "Retract" on a published story: what `feedwatch remove` does, by the
/// same function (entry gone, page 410, Delete to followers).
pub(super) async fn retract(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<RetractForm>,
) -> Result<Response, AdminError> {
    use crate::pipeline::operator::{Retraction, retract_story};
    authorize_post(&state, &headers, &form.csrf)?;
    let by = who(&headers);
    let story_id = crate::commands::remove::story_id(&form.story);
    let now = chrono::Utc::now();
    match retract_story(
        &state.store,
        state
            .fediverse
            .as_ref()
            .map(crate::fediverse::Fediverse::composer),
        &story_id,
        now,
    )
    .await
    {
        Ok(Retraction::Removed) => {
            tracing::info!(who = %by, story = %story_id, "admin action: story retracted");
            refresh_feed_files(&state).await;
            if let Some(f) = &state.fediverse {
                f.wake_worker();
            }
            Ok(Redirect::to("/admin#recent-stories").into_response())
        }
        Ok(Retraction::AlreadyRemoved) => {
            tracing::info!(who = %by, story = %story_id, "admin action: retract of a story already removed; nothing sent again");
            Ok(Redirect::to("/admin#recent-stories").into_response())
        }
        Ok(Retraction::NotPublished) => Err(AdminError::page(
            &state,
            StatusCode::NOT_FOUND,
            "No such story",
            "No published story has that id.",
        )),
        Err(e) => Err(AdminError::store(STORE_FAILED, format!("{e:#}"))),
    }
}

pub(super) async fn reload(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AdminError> {
    authorize_post(&state, &headers, &form.csrf)?;
    tracing::info!(who = %who(&headers), "admin action: reload");
    match state.settings.reload().await {
        Ok(notes) => {
            let text = if notes.is_empty() {
                "The configuration was reloaded and is in force.".to_string()
            } else {
                format!("The configuration was reloaded. {}", notes.join("; "))
            };
            Ok(Html(pages::message_page(&state.site(), 200, "Reloaded", &text)).into_response())
        }
        Err(problems) => Err(AdminError::page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Reload refused; the old configuration stays in force",
            problems.to_string(),
        )),
    }
}
