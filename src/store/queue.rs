//! The publication queue: new stories wait here for the posting cap
//! (`[publish] max_per_hour`) and leave in one transaction each, with their
//! feed entry, their `Create` and its deliveries (transactional outbox).
//!
//! A story enters the queue in the transaction of the poll that created it,
//! and leaves it in the transaction that publishes it (the queue row is
//! deleted only if it was still waiting), so a crash at any point neither
//! loses a story nor publishes one twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use super::time::{from_ms, from_ms_opt, to_ms};
use super::{
    FeedEntryRow, LOOKUP_CHUNK, Publication, Store, StoreError, StoredItem, fed,
    insert_new_entry_tx, padded, placeholders,
};
use crate::model::Item;

/// A story in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedStory {
    pub story_id: String,
    /// The lead item's own date (dates in the future: when first seen).
    pub lead_date: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    /// Set when the story was dropped as stale.
    pub stale_at: Option<DateTime<Utc>>,
    /// The lead item's title, for listings.
    pub title: String,
    pub source: String,
    pub link: Option<String>,
}

/// The state of a queued story (`publish_queue.state`), also which part of
/// the queue to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// Waiting for the posting cap to let it out.
    Waiting,
    /// Dropped: its lead item passed `max_age` while it waited.
    Stale,
}

impl QueueState {
    /// Every state.
    pub const ALL: [QueueState; 2] = [Self::Waiting, Self::Stale];

    /// The stored word (the migration's `CHECK` lists the same words).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Waiting => "waiting",
            QueueState::Stale => "stale",
        }
    }

    /// The state a stored word names, if any.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Decodes a stored word; an unknown one is a decode error.
    fn decode(word: &str) -> Result<Self, sqlx::Error> {
        Self::parse(word).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown publish queue state {word:?}").into())
        })
    }
}

/// (waiting, stale) counts; binds [`QueueState::Waiting`], then
/// [`QueueState::Stale`] (the plan test in `index_tests` reads this).
pub(crate) const QUEUE_COUNTS_SQL: &str =
    "SELECT (SELECT COUNT(*) FROM publish_queue WHERE state = ?),
                    (SELECT COUNT(*) FROM publish_queue WHERE state = ?)";

/// A queue row joined with its lead item: id, state, lead date, queued,
/// stale, title, source, link.
type QueueRow = (
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Queues the new story led by `item`, inside the poll's transaction.
pub(crate) async fn enqueue_tx(
    tx: &mut Transaction<'_, Sqlite>,
    item: &Item,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let lead_date = crate::model::own_date(item, at);
    sqlx::query(
        "INSERT INTO publish_queue (story_id, lead_date, queued_at) VALUES (?, ?, ?)
         ON CONFLICT (story_id) DO NOTHING",
    )
    .bind(&item.id)
    .bind(to_ms(lead_date))
    .bind(to_ms(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies an outlets `Update` of a published story inside `tx`: the entry
/// re-composed, the activity queued, and nothing pending, when the story's
/// outlets were not updated after `not_since` (one such Update per story per
/// hour). Otherwise the story is marked as having outlets pending (from `at`,
/// or earlier if it already had), for [`Store::outlets_pending_due`]. True
/// when applied.
pub(crate) async fn apply_outlets_tx(
    tx: &mut Transaction<'_, Sqlite>,
    entry: &FeedEntryRow,
    activity: Option<&crate::model::PreparedActivity>,
    not_since: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE feed_entries SET post_html = ?, post_text = ?, updated_at = ?,
                revision = revision + 1, outlets_updated_at = ?, outlets_pending_since = NULL
         WHERE story_id = ? AND (outlets_updated_at IS NULL OR outlets_updated_at <= ?)",
    )
    .bind(&entry.post_html)
    .bind(&entry.post_text)
    .bind(to_ms(entry.updated_at))
    .bind(to_ms(at))
    .bind(&entry.story_id)
    .bind(to_ms(not_since))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        if let Some(a) = activity {
            fed::FedStore::apply_prepared_tx(tx, a, at)
                .await
                .map_err(StoreError::from)?;
        }
        return Ok(true);
    }
    mark_outlets_pending_tx(tx, &entry.story_id, at).await?;
    Ok(false)
}

/// Marks a published story as having outlets pending from `at`, or from
/// earlier if it already had (see [`Store::outlets_pending_due`]).
pub(crate) async fn mark_outlets_pending_tx(
    tx: &mut Transaction<'_, Sqlite>,
    story_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE feed_entries SET outlets_pending_since = COALESCE(outlets_pending_since, ?)
         WHERE story_id = ?",
    )
    .bind(to_ms(at))
    .bind(story_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Published stories with outlets their Note does not list yet whose
    /// last outlets Update was at or before `due` (an hour before now):
    /// the ones the release tick updates now, longest pending first.
    pub async fn outlets_pending_due(
        &self,
        due: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT story_id FROM feed_entries
             WHERE outlets_pending_since IS NOT NULL
               AND (outlets_updated_at IS NULL OR outlets_updated_at <= ?)
             ORDER BY outlets_pending_since, story_id LIMIT ?",
        )
        .bind(to_ms(due))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sends a deferred outlets `Update` ([`Publication::Outlets`]) in one
    /// transaction; false (only marked pending) when its hour has not passed.
    pub async fn apply_outlets_update(
        &self,
        publication: &Publication,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Publication::Outlets {
            entry,
            activity,
            not_since,
        } = publication
        else {
            return Ok(false);
        };
        let mut tx = self.pool.begin().await?;
        let applied = apply_outlets_tx(&mut tx, entry, activity.as_ref(), *not_since, now).await?;
        tx.commit().await?;
        if applied {
            self.bump_generation();
        }
        Ok(applied)
    }

    /// The outlets state of each of `story_ids` that is published (has a
    /// feed entry): whether outlets are pending for it (joined within the
    /// hour after its last outlets `Update`, waiting for the release tick).
    /// A story absent from the map is not published. One query per 500
    /// stories, for all the stories a poll's reports join.
    pub async fn outlets_pending_of(
        &self,
        story_ids: &[&str],
    ) -> Result<HashMap<String, bool>, StoreError> {
        let mut states = HashMap::with_capacity(story_ids.len());
        for chunk in story_ids.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT story_id, outlets_pending_since IS NOT NULL FROM feed_entries
                 WHERE story_id IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query_as::<_, (String, bool)>(&sql);
            for id in padded(chunk) {
                query = query.bind(id);
            }
            states.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(states)
    }

    /// Forgets that a story has outlets pending (its post cannot be
    /// re-composed, or updates are off).
    pub async fn clear_outlets_pending(&self, story_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE feed_entries SET outlets_pending_since = NULL WHERE story_id = ?")
            .bind(story_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The names of the outlets whose items are in a story, published or
    /// still waiting, the lead item's first, each once.
    pub async fn story_outlets(&self, story_id: &str) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self
            .sources_of(std::iter::once(story_id))
            .await?
            .remove(story_id)
            .unwrap_or_default()
        {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// Stories published (feed entry written) after `since`: what the
    /// posting cap counts. Uses the `stories_by_posted` index.
    pub async fn stories_posted_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stories WHERE posted_at > ?")
            .bind(to_ms(since))
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Marks waiting stories whose lead item is dated before `older_than` as
    /// stale; they are never published. Returns how many.
    pub async fn mark_stale(
        &self,
        older_than: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE publish_queue SET state = ?, stale_at = ?
             WHERE state = ? AND lead_date < ?",
        )
        .bind(QueueState::Stale.as_str())
        .bind(to_ms(now))
        .bind(QueueState::Waiting.as_str())
        .bind(to_ms(older_than))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Stories in `state`, oldest lead date first (the release order);
    /// stale ones most recently dropped first.
    pub async fn queued(
        &self,
        state: QueueState,
        limit: u32,
    ) -> Result<Vec<QueuedStory>, StoreError> {
        let order = match state {
            QueueState::Waiting => "q.lead_date, q.queued_at, q.story_id",
            QueueState::Stale => "q.stale_at DESC, q.story_id",
        };
        let rows: Vec<QueueRow> = sqlx::query_as(&format!(
            "SELECT q.story_id, q.state, q.lead_date, q.queued_at, q.stale_at, i.title, COALESCE(i.outlet, i.source), i.link
             FROM publish_queue q LEFT JOIN items i ON i.id = q.story_id
             WHERE q.state = ? ORDER BY {order} LIMIT ?"
        ))
        .bind(state.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(story_id, stored, lead_date, queued_at, stale_at, title, source, link)| {
                    // The row was selected by its state; decoding it still
                    // refuses a word no version of feedwatch wrote.
                    QueueState::decode(&stored)?;
                    Ok(QueuedStory {
                        story_id,
                        lead_date: from_ms(lead_date)?,
                        queued_at: from_ms(queued_at)?,
                        stale_at: from_ms_opt(stale_at)?,
                        title: title.unwrap_or_default(),
                        source: source.unwrap_or_default(),
                        link,
                    })
                },
            )
            .collect()
    }

    /// (waiting, stale) story counts, from the queue's state index.
    pub async fn queue_counts(&self) -> Result<(u64, u64), StoreError> {
        let (w, s): (i64, i64) = sqlx::query_as(QUEUE_COUNTS_SQL)
            .bind(QueueState::Waiting.as_str())
            .bind(QueueState::Stale.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok((u64::try_from(w).unwrap_or(0), u64::try_from(s).unwrap_or(0)))
    }

    /// Publishes a waiting story: removes it from the queue and writes its
    /// feed entry, `Create` and deliveries, all in one transaction. False
    /// (nothing written) when the story was no longer waiting.
    pub async fn release_story(
        &self,
        story_id: &str,
        publication: &Publication,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Publication::New { entry, activity } = publication else {
            return Ok(false);
        };
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query("DELETE FROM publish_queue WHERE story_id = ? AND state = ?")
            .bind(story_id)
            .bind(QueueState::Waiting.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        super::fault::point("release: dequeued");
        if taken != 1 {
            return Ok(false);
        }
        let written = insert_new_entry_tx(&mut tx, entry, activity.as_ref(), now).await?;
        super::fault::point("release: entry, Create and deliveries written");
        tx.commit().await?;
        super::fault::point("release: committed");
        Ok(written)
    }

    /// Takes a waiting story out of the queue without publishing it (its
    /// post cannot be composed, or its lead item is gone).
    pub async fn drop_queued(&self, story_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM publish_queue WHERE story_id = ? AND state = ?")
            .bind(story_id)
            .bind(QueueState::Waiting.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One stored item by id.
    pub async fn stored_item(&self, id: &str) -> Result<Option<StoredItem>, StoreError> {
        let row = sqlx::query(
            "SELECT id, feed_url, source, outlet, guid, link, title, summary, content, lang, published_at,
                    updated_at, first_seen_at, content_hash, categories, revision, author
             FROM items WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(super::stored_item_from_row).transpose()?)
    }

    /// When the bot published a story (`None`: not published, or before
    /// this was recorded).
    pub async fn story_posted_at(
        &self,
        story_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT posted_at FROM stories WHERE id = ?")
                .bind(story_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(from_ms_opt(row.and_then(|(p,)| p))?)
    }
}

#[cfg(test)]
mod state_tests {
    use super::QueueState;

    #[test]
    fn queue_states_round_trip_their_stored_words() {
        for s in QueueState::ALL {
            assert_eq!(QueueState::parse(s.as_str()), Some(s));
        }
        // The words migration 0100's CHECK allows.
        let words: Vec<&str> = QueueState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, ["waiting", "stale"]);
        assert_eq!(QueueState::parse("Waiting"), None);
        assert!(QueueState::decode("published").is_err());
    }
}
