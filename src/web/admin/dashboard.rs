//! The dashboard page (`GET /admin`): source health, recent items with
//! their decisions (filtered and paged), the Review list, the Fediverse
//! account's followers, deliveries, mentions and reactions, and the
//! publish queue.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{RECENT_ITEMS, authorize, csrf_for};
use crate::config;
use crate::web::pages::{self, AdminView, FeedHealthView, FollowerView, ItemView, QueueView};
use crate::web::{AdminError, WebState};

/// How many stored items a filtered dashboard view reads at most.
const FILTER_SCAN: u32 = 100_000;

/// How many items the Review list shows at most.
const REVIEW_ITEMS: u32 = 50;

#[derive(Deserialize, Default)]
pub(super) struct DashboardQuery {
    decision: Option<String>,
    source: Option<String>,
    /// Items page, from 0.
    page: Option<u32>,
}

pub(super) async fn dashboard(
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
