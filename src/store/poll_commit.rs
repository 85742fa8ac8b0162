//! The named steps of one poll's commit ([`Store::commit_poll_on`]), each on
//! the poll's transaction (or savepoint): the feed's fetch state, then per
//! item its lookup, text, author, story and verdict, then the publications.
//! The fault points ([`super::fault`]) mark the same places as before the
//! split, in the same order.
//!
//! [`Store::commit_poll_on`]: super::Store

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use super::time::to_ms;
use super::{
    ItemRecord, PollOutcome, PollRecord, Publication, SEEN_ID_REFRESH_SECS, StoreError,
    StoryAssignment, UpsertCounts, Verdict, fault, fed, insert_new_entry_tx, queue, retention,
};
use crate::model::Item;

type Tx<'c> = Transaction<'c, Sqlite>;

/// What the store held for an item before this poll: its content hash and
/// story (`None`: no row).
type StoredRow = Option<(String, Option<String>)>;

/// The feed's new fetch state: validators (kept when the poll brought none),
/// outcome, error count, next check and totals.
pub(super) async fn write_feed_state(
    tx: &mut Tx<'_>,
    feed_url: &str,
    record: &PollRecord,
) -> Result<(), StoreError> {
    let failed = i64::from(record.outcome == PollOutcome::Error);
    let succeeded = record.outcome != PollOutcome::Error;
    sqlx::query(
        "INSERT INTO feeds (url, etag, last_modified, last_fetch_at, last_success_at, last_status,
                            last_outcome, last_error, error_count, total_errors, total_fetches,
                            next_check_at, last_item_count)
         VALUES (?1, ?2, ?3, ?4, CASE WHEN ?5 THEN ?4 END, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12)
         ON CONFLICT (url) DO UPDATE SET
            etag            = COALESCE(?2, etag),
            last_modified   = COALESCE(?3, last_modified),
            last_fetch_at   = ?4,
            last_success_at = CASE WHEN ?5 THEN ?4 ELSE last_success_at END,
            last_status     = ?6,
            last_outcome    = ?7,
            last_error      = ?8,
            error_count     = ?9,
            total_errors    = total_errors + ?10,
            total_fetches   = total_fetches + 1,
            next_check_at   = ?11,
            last_item_count = COALESCE(?12, last_item_count)",
    )
    .bind(feed_url)
    .bind(&record.etag)
    .bind(&record.last_modified)
    .bind(to_ms(record.at))
    .bind(succeeded)
    .bind(record.status.map(i64::from))
    .bind(record.outcome.as_str())
    .bind(&record.error)
    .bind(i64::from(record.error_count))
    .bind(failed)
    .bind(to_ms(record.next_check_at))
    .bind(record.item_count.map(i64::from))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One item of the poll: looked up, its text inserted or updated (counted in
/// `counts`), and when it changed, its author, story and verdict written.
pub(super) async fn record_item(
    tx: &mut Tx<'_>,
    record: &PollRecord,
    record_item: &ItemRecord,
    counts: &mut UpsertCounts,
) -> Result<(), StoreError> {
    let item = &record_item.item;
    let existing = look_up_item(tx, &item.id).await?;
    fault::point("poll: item looked up");
    let forgotten = existing.is_none() && is_forgotten(tx, &item.id).await?;
    if forgotten {
        refresh_seen_id(tx, &item.id, record.at).await?;
    }
    let changed = match &existing {
        None if forgotten => {
            counts.unchanged += 1;
            false
        }
        None => {
            insert_item(tx, item, record.at).await?;
            fault::point("poll: item inserted");
            counts.inserted += 1;
            true
        }
        Some((hash, _)) if *hash != item.content_hash => {
            update_item_text(tx, item, record.at).await?;
            fault::point("poll: item updated");
            counts.updated += 1;
            true
        }
        Some(_) => {
            counts.unchanged += 1;
            false
        }
    };
    if changed {
        write_author(tx, item).await?;
    }
    if let (true, Some(v)) = (changed, record_item.verdict.as_ref()) {
        let current_story = existing.as_ref().and_then(|(_, s)| s.clone());
        let story_id = assign_story(tx, item, v, current_story, record.at).await?;
        write_verdict(tx, item, v, story_id).await?;
        fault::point("poll: verdict written");
    }
    Ok(())
}

/// The stored content hash and story of an item, if it has a row.
async fn look_up_item(tx: &mut Tx<'_>, id: &str) -> Result<StoredRow, StoreError> {
    Ok(
        sqlx::query_as("SELECT content_hash, story_id FROM items WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// An old unpublished item whose row retention deleted: only its identity
/// is left (`seen_items`), and it is never new again.
async fn is_forgotten(tx: &mut Tx<'_>, id: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM seen_items WHERE key_hash = ?")
        .bind(retention::seen_key(id))
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// A feed that still carries a forgotten item keeps its seen id alive: the
/// horizon counts from the last poll that met it (moved at most once a day),
/// so an item a feed carries for months, such as an undated evergreen page,
/// never comes back as new.
async fn refresh_seen_id(tx: &mut Tx<'_>, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    let met = to_ms(at);
    sqlx::query("UPDATE seen_items SET first_seen = ? WHERE key_hash = ? AND first_seen < ?")
        .bind(met)
        .bind(retention::seen_key(id))
        .bind(met - SEEN_ID_REFRESH_SECS * 1000)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new item's row, first seen `at`.
async fn insert_item(tx: &mut Tx<'_>, item: &Item, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO items (id, feed_url, source, outlet, guid, link, title, summary, content, lang,
                            published_at, updated_at, first_seen_at, content_hash, categories)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&item.id)
    .bind(&item.feed_url)
    .bind(&item.source)
    .bind(Some(item.outlet.as_str()).filter(|o| !o.is_empty()))
    .bind(&item.guid)
    .bind(&item.link)
    .bind(&item.title)
    .bind(&item.summary)
    .bind(&item.content)
    .bind(&item.lang)
    .bind(to_ms(item.published))
    .bind(to_ms(item.updated))
    .bind(to_ms(at))
    .bind(&item.content_hash)
    .bind(categories_json(item))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An edit: same identity, new text. The original publication date stays;
/// the revision tells publishers to send an update.
async fn update_item_text(
    tx: &mut Tx<'_>,
    item: &Item,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE items SET title = ?, summary = ?, content = ?, link = COALESCE(?, link),
                          lang = ?, updated_at = ?, content_hash = ?, categories = ?,
                          revision = revision + 1
         WHERE id = ?",
    )
    .bind(&item.title)
    .bind(&item.summary)
    .bind(&item.content)
    .bind(&item.link)
    .bind(&item.lang)
    .bind(to_ms(item.updated.max(at)))
    .bind(&item.content_hash)
    .bind(categories_json(item))
    .bind(&item.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn categories_json(item: &Item) -> String {
    serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".to_string())
}

/// A changed item's author: its own statement, so the insert and the update
/// keep their shape.
async fn write_author(tx: &mut Tx<'_>, item: &Item) -> Result<(), StoreError> {
    sqlx::query("UPDATE items SET author = ? WHERE id = ?")
        .bind(&item.author)
        .bind(&item.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The story a changed item belongs to. An item keeps the story it was
/// published in; the first item of a new story creates it and queues it for
/// the posting cap (store::queue).
async fn assign_story(
    tx: &mut Tx<'_>,
    item: &Item,
    v: &Verdict,
    current_story: Option<String>,
    at: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    Ok(match (current_story, &v.story) {
        (Some(s), _) => Some(s),
        (None, StoryAssignment::New) => {
            sqlx::query(
                "INSERT INTO stories (id, lead_item_id, created_at, fingerprint) VALUES (?, ?, ?, ?)",
            )
            .bind(&item.id)
            .bind(&item.id)
            .bind(to_ms(at))
            .bind(v.fingerprint.as_deref().unwrap_or("{}"))
            .execute(&mut **tx)
            .await?;
            fault::point("poll: story inserted");
            queue::enqueue_tx(tx, item, at).await?;
            fault::point("poll: story queued");
            Some(item.id.clone())
        }
        (None, StoryAssignment::Join(s)) => Some(s.clone()),
        (None, StoryAssignment::None) => None,
    })
}

/// The verdict stored with the item: decision, score, explanation, reasons,
/// fingerprint, story and why it was held.
async fn write_verdict(
    tx: &mut Tx<'_>,
    item: &Item,
    v: &Verdict,
    story_id: Option<String>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE items SET decision = ?, score = ?, explanation = ?, reasons = ?,
                          fingerprint = ?, story_id = ?,
                          story_reasons = COALESCE(?, story_reasons), held = ?
         WHERE id = ?",
    )
    .bind(v.decision_label())
    .bind(v.score)
    .bind(Some(v.explanation.as_str()).filter(|e| !e.is_empty()))
    .bind(&v.reasons)
    .bind(&v.fingerprint)
    .bind(story_id)
    .bind(&v.story_reasons)
    .bind(&v.held)
    .bind(&item.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The poll's new feed entries (with their `Create`) and edited entries
/// (with their `Update`). Outlets updates are left to
/// [`apply_outlets_updates`].
pub(super) async fn write_entries_and_edits(
    tx: &mut Tx<'_>,
    publications: &[Publication],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for p in publications {
        match p {
            Publication::New { entry, activity } => {
                insert_new_entry_tx(tx, entry, activity.as_ref(), at).await?;
                fault::point("poll: entry inserted");
            }
            Publication::Outlets { .. } => {}
            Publication::Edit { entry, activity } => {
                let updated = sqlx::query(
                    "UPDATE feed_entries SET title = ?, summary = ?, link = ?, lang = ?, hashtags = ?,
                            post_html = ?, post_text = ?, spoiler_text = ?, updated_at = ?,
                            revision = revision + 1
                     WHERE story_id = ?",
                )
                .bind(&entry.title)
                .bind(&entry.summary)
                .bind(&entry.link)
                .bind(&entry.lang)
                .bind(serde_json::to_string(&entry.hashtags).unwrap_or_else(|_| "[]".to_string()))
                .bind(&entry.post_html)
                .bind(&entry.post_text)
                .bind(&entry.spoiler_text)
                .bind(to_ms(entry.updated_at))
                .bind(&entry.story_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                fault::point("poll: entry edited");
                if let (1, Some(a)) = (updated, activity) {
                    fed::FedStore::apply_prepared_tx(tx, a, at)
                        .await
                        .map_err(StoreError::from)?;
                    fault::point("poll: update queued");
                }
            }
        }
    }
    Ok(())
}

/// The poll's outlets updates, after every item of the poll is written:
/// applied, or within the hour after the last one remembered as pending and
/// sent by the release tick (store::queue).
pub(super) async fn apply_outlets_updates(
    tx: &mut Tx<'_>,
    publications: &[Publication],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for p in publications {
        if let Publication::Outlets {
            entry,
            activity,
            not_since,
        } = p
        {
            queue::apply_outlets_tx(tx, entry, activity.as_ref(), *not_since, at).await?;
            fault::point("poll: outlets written");
        }
    }
    Ok(())
}
