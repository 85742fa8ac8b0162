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

use super::pages::{
    self, AdminView, FeedHealthView, FollowerView, ItemView, PlaygroundView, PreviewRow, QueueView,
};
use super::{AdminError, WebState};
use crate::config;

const COOKIE: &str = "feedwatch_admin";
/// How many recent items the dashboard lists and the playground replays by default.
const RECENT_ITEMS: u32 = 200;
/// How many stored items a filtered dashboard view reads at most.
const FILTER_SCAN: u32 = 100_000;

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/reload", post(reload))
        .route("/admin/sources/check", post(check_source))
        .route("/admin/sources/enabled", post(set_source_enabled))
        .route("/admin/items/label", post(label_item))
        .route("/admin/review/publish", post(review_publish))
        .route("/admin/review/dismiss", post(review_dismiss))
        .route("/admin/stories/retract", post(retract))
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

#[derive(Deserialize, Default)]
struct DashboardQuery {
    decision: Option<String>,
    source: Option<String>,
    /// Items page, from 0.
    page: Option<u32>,
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

#[derive(Deserialize)]
struct SourceForm {
    csrf: String,
    /// [`pages::source_key`] of the source's URL.
    source: String,
    /// For `enabled`: "true" or "false".
    enabled: Option<String>,
}

/// "Check now": polls one source at once and records it like a scheduled
/// poll; then back to the dashboard.
async fn check_source(
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
async fn set_source_enabled(
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
struct LabelForm {
    csrf: String,
    item: String,
    label: u8,
}

/// A dashboard label button: records the operator's label of one stored
/// item (with who and when), then back to the dashboard.
async fn label_item(
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

/// How many items the Review list shows at most.
const REVIEW_ITEMS: u32 = 50;

#[derive(Deserialize)]
struct ReviewForm {
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
async fn review_publish(
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
async fn review_dismiss(
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
struct RetractForm {
    /// Absent counts as wrong: 403, like a forged value.
    #[serde(default)]
    csrf: String,
    story: String,
}

/// "Retract" on a published story: what `feedwatch remove` does, by the
/// same function (entry gone, page 410, Delete to followers).
async fn retract(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<RetractForm>,
) -> Result<Response, AdminError> {
    use crate::pipeline::operator::{Retraction, retract_story};
    authorize_post(&state, &headers, &form.csrf)?;
    let by = who(&headers);
    let story_id = crate::commands::remove::story_id(&form.story);
    let now = chrono::Utc::now();
    match retract_story(&state.store, state.fediverse.as_ref(), &story_id, now).await {
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

async fn dashboard(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, AdminError> {
    let token = authorize(&state, &headers)?;
    match dashboard_view(&state, &token, q).await {
        Ok(view) => Ok(Html(pages::admin_page(&state.site(), &view)).into_response()),
        Err(e) => Err(AdminError::store(
            "cannot build the dashboard",
            format!("{e:#}"),
        )),
    }
}

async fn dashboard_view(
    state: &WebState,
    token: &str,
    q: DashboardQuery,
) -> anyhow::Result<AdminView> {
    let sources = state.settings.load().sources().await.unwrap_or_default();
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
    // Pages of RECENT_ITEMS, newest first. Filters apply in memory, so a
    // filtered view reads up to FILTER_SCAN stored items (said on the page
    // by "older" disappearing); unfiltered reads only what the page needs.
    let page = q.page.unwrap_or(0);
    let skip = page as usize * RECENT_ITEMS as usize;
    let read = if decision_filter.is_none() && source_filter.is_none() {
        u32::try_from(skip)
            .unwrap_or(u32::MAX)
            .saturating_add(RECENT_ITEMS + 1)
    } else {
        FILTER_SCAN
    };
    let mut matching: Vec<_> = state
        .store
        .items_with_decisions(read)
        .await?
        .into_iter()
        .filter(|(_, d)| {
            decision_filter.is_none_or(|want| d.as_ref().is_some_and(|d| d.publish == want))
        })
        .filter(|(i, _)| source_filter.as_ref().is_none_or(|s| &i.item.source == s))
        .skip(skip)
        .take(RECENT_ITEMS as usize + 1)
        .collect();
    let more = matching.len() > RECENT_ITEMS as usize;
    matching.truncate(RECENT_ITEMS as usize);
    let ids: Vec<&str> = matching.iter().map(|(i, _)| i.item.id.as_str()).collect();
    let labels = state
        .store
        .labels_of(&ids)
        .await?
        .into_iter()
        .map(|(id, l)| (id, l.label))
        .collect();
    let items = matching
        .into_iter()
        .map(|(i, d)| ItemView {
            id: i.item.id.clone(),
            title: i.item.title.clone(),
            link: i.item.link.clone(),
            source: i.item.source.clone(),
            published: i.item.published,
            lang: i.item.lang.clone(),
            decision: d.as_ref().map(|d| d.publish),
            score: d.as_ref().map(|d| d.score),
            story: d
                .as_ref()
                .and_then(|d| match (&d.story_id, &d.story_reasons) {
                    (Some(s), Some(r)) if *s != i.item.id => Some((s.clone(), r.clone())),
                    _ => None,
                }),
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
    let publish_queue = publish_queue_view(&state.store).await?;
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
        publish_queue,
        csrf: csrf_for(token),
        labels,
        page,
        more,
        fediverse: fediverse_view(state).await?,
        review: review_view(state, &state.settings.load().config).await?,
    })
}

/// The Review list under the topic in force.
async fn review_view(
    state: &WebState,
    cfg: &config::Config,
) -> Result<pages::ReviewView, crate::store::StoreError> {
    let (threshold, margin) = (cfg.topic.threshold(), cfg.topic.review_margin());
    let items = state
        .store
        .review_items(threshold, margin, REVIEW_ITEMS)
        .await?
        .into_iter()
        .map(|i| pages::ReviewItemView {
            id: i.id,
            title: i.title,
            outlet: i.outlet,
            link: i.link,
            lang: i.lang,
            published: i.published,
            score: i.score,
            held: i.held,
        })
        .collect();
    Ok(pages::ReviewView {
        items,
        threshold,
        margin,
    })
}

/// Mentions (newest 50) and the reactions of the newest 20 published stories.
async fn fediverse_view(
    state: &WebState,
) -> Result<crate::web::pages::FediverseActivityView, crate::store::StoreError> {
    use crate::web::pages::{FediverseActivityView, MentionView, ReactedStoryView};
    let fed = state.store.fed();
    let entries = state.store.published_entries(20).await?;
    let ids: Vec<String> = entries.iter().map(|e| e.entry.story_id.clone()).collect();
    let reactions = fed.reactions_of(&ids).await?;
    let mut mentions = Vec::new();
    for m in fed.recent_mentions(50).await? {
        let story = match &m.story_id {
            Some(id) => Some((
                id.clone(),
                state
                    .store
                    .published_entry(id)
                    .await?
                    .map_or_else(|| id.clone(), |e| e.entry.title),
            )),
            None => None,
        };
        mentions.push(MentionView {
            actor: m.actor_id,
            received: m.received_at,
            url: m.url,
            content_html: m.content_html,
            story,
        });
    }
    Ok(FediverseActivityView {
        mentions,
        stories: entries
            .into_iter()
            .map(|e| {
                let r = reactions
                    .get(&e.entry.story_id)
                    .copied()
                    .unwrap_or_default();
                ReactedStoryView {
                    id: e.entry.story_id,
                    title: e.entry.title,
                    likes: r.likes,
                    announces: r.announces,
                }
            })
            .collect(),
    })
}

/// The stories waiting for the posting cap and the ones dropped as stale.
async fn publish_queue_view(
    store: &crate::store::Store,
) -> Result<crate::web::pages::PublishQueueView, crate::store::StoreError> {
    use crate::store::queue::{QueueState, QueuedStory};
    let view = |q: QueuedStory| crate::web::pages::QueuedStoryView {
        title: q.title,
        link: q.link,
        source: q.source,
        lead_date: q.lead_date,
        queued_at: q.queued_at,
        stale_at: q.stale_at,
    };
    let (waiting_count, stale_count) = store.queue_counts().await?;
    Ok(crate::web::pages::PublishQueueView {
        waiting_count,
        stale_count,
        waiting: store
            .queued(QueueState::Waiting, 50)
            .await?
            .into_iter()
            .map(view)
            .collect(),
        stale: store
            .queued(QueueState::Stale, 50)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    })
}

async fn reload(
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

async fn playground(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let token = authorize(&state, &headers)?;
    let rt = state.settings.load();
    let view = PlaygroundView {
        topic_toml: state
            .settings
            .topic_text()
            .await
            .unwrap_or_else(|e| format!("# {e}")),
        threshold: rt.topic.threshold(),
        last_n: RECENT_ITEMS,
        preview: None,
        unchanged: 0,
        error: None,
        applied: false,
        csrf: csrf_for(&token),
        warnings: Vec::new(),
        labelled: None,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}

#[derive(Deserialize)]
struct PlaygroundForm {
    topic: String,
    threshold: f64,
    n: u32,
    csrf: String,
}

/// A preview: the changed rows, how many are unchanged, and the figures on
/// the labelled items before and after the edit.
type Preview = (
    Vec<PreviewRow>,
    usize,
    (crate::matching::EvalReport, crate::matching::EvalReport),
);

/// The items whose decision the edited topic would change, as view rows.
async fn preview_rows(state: &WebState, form: &PlaygroundForm) -> Result<Preview, String> {
    let rt = state.settings.load();
    if !(0.0..=1.0).contains(&form.threshold) {
        return Err(format!("threshold {} is outside 0..1", form.threshold));
    }
    // Compiled by the settings' owner, on the blocking pool; not put in force.
    let topic = state
        .settings
        .compile_topic(form.topic.clone(), form.threshold)
        .await?;
    let feeds = rt.sources().await.unwrap_or_default();
    let n = form.n.clamp(1, 5000);
    let topic = std::sync::Arc::new(topic);
    let (total, changes) = crate::tune::replay_changes(&state.store, &topic, &feeds, n)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let mut figures = Vec::new();
    for t in [&rt.topic, &topic] {
        let rows = crate::tune::stored_eval_rows(&state.store, t, &feeds)
            .await
            .map_err(|e| format!("{e:#}"))?;
        figures.push(crate::matching::evaluate_rows(&rows));
    }
    let after = figures.pop().unwrap_or_default();
    let before = figures.pop().unwrap_or_default();
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
                lang: c.lang,
                decision: c.before,
                score: None,
                reasons: String::new(),
                story: None,
            },
            before: c.before,
            after: c.after,
            after_score: c.score,
            after_reasons: c.reasons,
        })
        .collect();
    Ok((rows, unchanged, (before, after)))
}

async fn preview(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Result<Response, AdminError> {
    let token = authorize_post(&state, &headers, &form.csrf)?;
    let (preview, unchanged, labelled, error) = match preview_rows(&state, &form).await {
        Ok((rows, unchanged, figures)) => (Some(rows), unchanged, Some(figures), None),
        Err(e) => (None, 0, None, Some(e)),
    };
    let view = PlaygroundView {
        warnings: config::topic_text_warnings(&form.topic),
        topic_toml: form.topic,
        threshold: form.threshold,
        last_n: form.n,
        preview,
        unchanged,
        error,
        applied: false,
        csrf: csrf_for(&token),
        labelled,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}

/// Persists the previewed topic into the config file and reloads; if the
/// reload refuses the result, the file is restored.
async fn apply(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Result<Response, AdminError> {
    let token = authorize_post(&state, &headers, &form.csrf)?;
    // The settings' owner reads, compiles and writes on the blocking pool.
    let result = state
        .settings
        .apply_topic(form.topic.clone(), form.threshold)
        .await
        .map(|_| ());
    if result.is_ok() {
        tracing::info!(
            who = %who(&headers),
            threshold = form.threshold,
            "admin action: topic changed from the playground"
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
        warnings: Vec::new(),
        labelled: None,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

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
