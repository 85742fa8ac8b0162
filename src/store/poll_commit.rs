//! The named steps of one poll's commit ([`Store::commit_poll_on`]), each on
//! the poll's transaction (or savepoint): the feed's fetch state, one lookup
//! of all of the poll's item ids, then per changed item its new story (row
//! and queue entry) and its row with text, author and verdict: an edit in
//! one UPDATE, new rows in multi-row INSERTs of up to 64, then the
//! publications. With sqlx every statement is a round trip to the
//! connection's worker thread; a new item used to cost five statements.
//! The fault points ([`super::fault`]) mark the statement boundaries.
//!
//! [`Store::commit_poll_on`]: super::Store

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use super::time::to_ms;
use super::{
    ItemRecord, LOOKUP_CHUNK, PollOutcome, PollRecord, Publication, SEEN_ID_REFRESH_SECS,
    StoreError, StoryAssignment, UpsertCounts, Verdict, fault, fed, insert_new_entry_tx, padded,
    placeholders, queue, retention,
};
use crate::model::Item;

type Tx<'c> = Transaction<'c, Sqlite>;

/// The feed's new fetch state: validators (kept when the poll brought none),
/// outcome, error count, next check and totals.
pub(super) async fn write_feed_state(
    conn: &mut sqlx::SqliteConnection,
    feed_url: &str,
    record: &PollRecord,
) -> Result<(), StoreError> {
    write_feed_states(conn, &[(feed_url, record)]).await
}

/// Feeds' new fetch states in ONE statement (one row each, atomic as a
/// whole): a writer's batch of 304s costs one round trip to the
/// connection's thread instead of one per poll. Each row's values come in
/// as `excluded`, so the same text serves one row or many.
pub(super) async fn write_feed_states(
    conn: &mut sqlx::SqliteConnection,
    states: &[(&str, &PollRecord)],
) -> Result<(), StoreError> {
    if states.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO feeds (url, etag, last_modified, last_fetch_at, last_success_at, last_status,
                            last_outcome, last_error, error_count, total_errors, total_fetches,
                            next_check_at, last_item_count)
         VALUES {}
         ON CONFLICT (url) DO UPDATE SET
            etag            = COALESCE(excluded.etag, etag),
            last_modified   = COALESCE(excluded.last_modified, last_modified),
            last_fetch_at   = excluded.last_fetch_at,
            last_success_at = COALESCE(excluded.last_success_at, last_success_at),
            last_status     = excluded.last_status,
            last_outcome    = excluded.last_outcome,
            last_error      = excluded.last_error,
            error_count     = excluded.error_count,
            total_errors    = total_errors + excluded.total_errors,
            total_fetches   = total_fetches + 1,
            next_check_at   = excluded.next_check_at,
            last_item_count = COALESCE(excluded.last_item_count, last_item_count)",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"; states.len()].join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (feed_url, record) in states {
        let failed = record.outcome == PollOutcome::Error;
        query = query
            .bind(*feed_url)
            .bind(&record.etag)
            .bind(&record.last_modified)
            .bind(to_ms(record.at))
            .bind((!failed).then(|| to_ms(record.at)))
            .bind(record.status.map(i64::from))
            .bind(record.outcome.as_str())
            .bind(&record.error)
            .bind(i64::from(record.error_count))
            .bind(i64::from(failed))
            .bind(to_ms(record.next_check_at))
            .bind(record.item_count.map(i64::from));
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// What the store held for one of the poll's item ids, read once per poll
/// ([`look_up_items`]) and kept current as the poll writes its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Known {
    /// A row, with its content hash and story.
    Row { hash: String, story: Option<String> },
    /// No row, but a seen id (`seen_items`): an old unpublished item that
    /// retention forgot, never new again.
    Forgotten,
}

/// The poll's item ids that the store knows (ids absent: new items).
pub(super) type KnownItems = HashMap<String, Known>;

/// The stored rows of all of the poll's item ids, and for the ids without
/// a row, their seen ids: one query per 500 ids instead of two per item.
/// Read on the poll's transaction (or savepoint), so an item that an
/// earlier poll of the writer's batch inserted is found as existing.
pub(super) async fn look_up_items(
    tx: &mut Tx<'_>,
    items: &[ItemRecord],
) -> Result<KnownItems, StoreError> {
    let mut ids: Vec<&str> = items.iter().map(|r| r.item.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut known = KnownItems::with_capacity(ids.len());
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let sql = format!(
            "SELECT id, content_hash, story_id FROM items WHERE id IN ({})",
            placeholders(chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, String, Option<String>)>(&sql);
        for id in padded(chunk) {
            query = query.bind(id);
        }
        for (id, hash, story) in query.fetch_all(&mut **tx).await? {
            known.insert(id, Known::Row { hash, story });
        }
    }
    let unstored: Vec<(i64, &str)> = ids
        .iter()
        .filter(|id| !known.contains_key(**id))
        .map(|id| (retention::seen_key(id), *id))
        .collect();
    for chunk in unstored.chunks(LOOKUP_CHUNK) {
        let sql = format!(
            "SELECT key_hash FROM seen_items WHERE key_hash IN ({})",
            placeholders(chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for (key, _) in padded(chunk) {
            query = query.bind(key);
        }
        let seen: HashSet<i64> = query.fetch_all(&mut **tx).await?.into_iter().collect();
        for (key, id) in chunk {
            if seen.contains(key) {
                known.insert((*id).to_string(), Known::Forgotten);
            }
        }
    }
    Ok(known)
}

/// One item of the poll, against what the store holds for its id (`known`,
/// updated here after each write, so a feed that carries an id twice has
/// the second compared with the first): inserted, updated or unchanged
/// (counted in `counts`). A new item's row, with its author and verdict,
/// joins `new_rows`, written [`INSERT_ROWS`] at a time by one multi-row
/// INSERT ([`insert_new_rows`]; the caller writes the rest after the last
/// item); an edit is one UPDATE, after the buffered rows; a new story's row
/// and queue entry are written at once.
pub(super) async fn record_item<'a>(
    tx: &mut Tx<'_>,
    record: &PollRecord,
    record_item: &'a ItemRecord,
    known: &mut KnownItems,
    new_rows: &mut Vec<NewRow<'a>>,
    counts: &mut UpsertCounts,
) -> Result<(), StoreError> {
    let item = &record_item.item;
    let verdict = record_item.verdict.as_ref();
    let current_story = match known.get(&item.id) {
        Some(Known::Forgotten) => {
            refresh_seen_id(tx, &item.id, record.at).await?;
            counts.unchanged += 1;
            return Ok(());
        }
        Some(Known::Row { hash, .. }) if *hash == item.content_hash => {
            counts.unchanged += 1;
            return Ok(());
        }
        Some(Known::Row { story, .. }) => Some(story.clone()),
        None => None,
    };
    let story = match (verdict, &current_story) {
        (Some(v), _) => {
            assign_story(tx, item, v, current_story.clone().flatten(), record.at).await?
        }
        (None, Some(story)) => story.clone(),
        (None, None) => None,
    };
    if current_story.is_some() {
        // The buffered rows first: this may be one of them, met again.
        insert_new_rows(tx, new_rows, record.at).await?;
        update_item(tx, item, verdict.map(|v| (v, story.as_deref())), record.at).await?;
        fault::point("poll: item updated");
        counts.updated += 1;
    } else {
        new_rows.push(NewRow {
            item,
            verdict: verdict.map(|v| (v, story.clone())),
        });
        if new_rows.len() >= INSERT_ROWS {
            insert_new_rows(tx, new_rows, record.at).await?;
        }
        counts.inserted += 1;
    }
    known.insert(
        item.id.clone(),
        Known::Row {
            hash: item.content_hash.clone(),
            story,
        },
    );
    Ok(())
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

/// A new item's row waiting for [`insert_new_rows`]: the item and, when it
/// has one, its verdict and story.
pub(super) struct NewRow<'a> {
    item: &'a Item,
    verdict: Option<(&'a Verdict, Option<String>)>,
}

/// New rows per INSERT at most: 24 variables a row, far under SQLite's
/// 32766. A batch is written in power-of-two slices (64, 32, ... 1 rows),
/// so sqlx prepares and caches seven statement shapes, not one per size.
const INSERT_ROWS: usize = 64;

const ITEM_COLUMNS: &str =
    "INSERT INTO items (id, feed_url, source, outlet, guid, link, title, summary, content, lang,
                            published_at, updated_at, first_seen_at, content_hash, categories,
                            author, decision, score, explanation, reasons, fingerprint, story_id,
                            story_reasons, held)
         VALUES ";
const ITEM_VALUES: &str =
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Writes the buffered new rows, first seen `at`, and empties the buffer:
/// each row with its author and, when it has one, its verdict and story
/// (the columns stay NULL without a verdict), as one INSERT per slice.
pub(super) async fn insert_new_rows(
    tx: &mut Tx<'_>,
    rows: &mut Vec<NewRow<'_>>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut rest = &rows[..];
    while !rest.is_empty() {
        let n = 1usize << rest.len().min(INSERT_ROWS).ilog2();
        let (slice, tail) = rest.split_at(n);
        let sql = format!("{ITEM_COLUMNS}{}", vec![ITEM_VALUES; n].join(", "));
        let mut query = sqlx::query(&sql);
        for NewRow { item, verdict } in slice {
            let v = verdict.as_ref().map(|(v, _)| *v);
            query = query
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
                .bind(&item.author)
                .bind(v.map(Verdict::decision_label))
                .bind(v.map(|v| v.score))
                .bind(v.and_then(stored_explanation))
                .bind(v.map(|v| v.reasons.as_str()))
                .bind(v.and_then(|v| v.fingerprint.as_deref()))
                .bind(verdict.as_ref().and_then(|(_, story)| story.as_deref()))
                .bind(v.and_then(|v| v.story_reasons.as_deref()))
                .bind(v.and_then(|v| v.held.as_deref()));
        }
        query.execute(&mut **tx).await?;
        fault::point("poll: item inserted");
        rest = tail;
    }
    rows.clear();
    Ok(())
}

/// An edit: same identity, new text and author. The original publication
/// date stays; the revision tells publishers to send an update. With a
/// verdict, its columns and story are written in the same statement.
async fn update_item(
    tx: &mut Tx<'_>,
    item: &Item,
    verdict: Option<(&Verdict, Option<&str>)>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const TEXT: &str =
        "UPDATE items SET title = ?, summary = ?, content = ?, link = COALESCE(?, link),
                          lang = ?, updated_at = ?, content_hash = ?, categories = ?,
                          revision = revision + 1, author = ?
         WHERE id = ?";
    const TEXT_AND_VERDICT: &str =
        "UPDATE items SET title = ?, summary = ?, content = ?, link = COALESCE(?, link),
                          lang = ?, updated_at = ?, content_hash = ?, categories = ?,
                          revision = revision + 1, author = ?,
                          decision = ?, score = ?, explanation = ?, reasons = ?,
                          fingerprint = ?, story_id = ?,
                          story_reasons = COALESCE(?, story_reasons), held = ?
         WHERE id = ?";
    let query = sqlx::query(if verdict.is_some() {
        TEXT_AND_VERDICT
    } else {
        TEXT
    })
    .bind(&item.title)
    .bind(&item.summary)
    .bind(&item.content)
    .bind(&item.link)
    .bind(&item.lang)
    .bind(to_ms(item.updated.max(at)))
    .bind(&item.content_hash)
    .bind(categories_json(item))
    .bind(&item.author);
    let query = match verdict {
        Some((v, story)) => query
            .bind(v.decision_label())
            .bind(v.score)
            .bind(stored_explanation(v))
            .bind(&v.reasons)
            .bind(&v.fingerprint)
            .bind(story)
            .bind(&v.story_reasons)
            .bind(&v.held),
        None => query,
    };
    query.bind(&item.id).execute(&mut **tx).await?;
    Ok(())
}

fn categories_json(item: &Item) -> String {
    serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".to_string())
}

/// The explanation as stored: NULL for a compact decision (empty).
fn stored_explanation(v: &Verdict) -> Option<&str> {
    Some(v.explanation.as_str()).filter(|e| !e.is_empty())
}

/// The story a changed item belongs to. An item keeps the story it was
/// published in; the first item of a new story creates it and queues it for
/// the posting cap (store::queue), before the item's own row is written
/// (nothing references items from stories or the queue).
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
            Publication::Outlets { .. } | Publication::OutletsPending { .. } => {}
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
        match p {
            Publication::Outlets {
                entry,
                activity,
                not_since,
            } => {
                queue::apply_outlets_tx(tx, entry, activity.as_ref(), *not_since, at).await?;
                fault::point("poll: outlets written");
            }
            Publication::OutletsPending { story_id } => {
                queue::mark_outlets_pending_tx(tx, story_id, at).await?;
                fault::point("poll: outlets written");
            }
            Publication::New { .. } | Publication::Edit { .. } => {}
        }
    }
    Ok(())
}
