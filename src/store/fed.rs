//! Every SQL statement the Fediverse code needs. It lives apart from
//! `fediverse/` so that it can be merged into the crate's `store` module, the
//! only module allowed to hold SQL.
//!
//! The delivery queue is a table, not memory: a publication writes its
//! activity and one row per target inbox in the caller's transaction (a
//! transactional outbox), and the worker claims due rows with a lease, so
//! neither a crash nor a restart loses or re-sends a delivery that has been
//! acknowledged.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::time::to_ms;
use crate::model::{ActivityKind, NoteRow, PreparedActivity};

/// Errors at the store boundary.
#[derive(Debug, thiserror::Error)]
pub enum FedStoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

type Result<T> = std::result::Result<T, FedStoreError>;

/// Handle to the Fediverse tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct FedStore {
    pool: SqlitePool,
}

/// A remote actor following the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct Follower {
    pub actor_id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub follow_id: Option<String>,
}

/// A cached remote actor (for its key and inboxes).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteActorRow {
    pub id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub public_key_pem: String,
    pub fetched_at: DateTime<Utc>,
}

/// Which way a queued delivery leaves the building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Signed POST of the activity to an ActivityPub inbox.
    ActivityPub,
    /// `POST /api/v1/statuses` on a Mastodon instance with a bearer token.
    MastodonApi,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::ActivityPub => "activitypub",
            Channel::MastodonApi => "mastodon_api",
        }
    }
    fn parse(s: &str) -> Channel {
        if s == "mastodon_api" {
            Channel::MastodonApi
        } else {
            Channel::ActivityPub
        }
    }
}

/// A claimed delivery row, with the body to send.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub activity_id: String,
    pub channel: Channel,
    pub target: String,
    /// Activity JSON (ActivityPub) or status JSON (Mastodon API).
    pub body: String,
    /// Attempts including the one being made now.
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// Status of one queue row, for tests and the admin view.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryStatus {
    pub id: i64,
    pub activity_id: String,
    pub target: String,
    pub status: DeliveryState,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// Where a delivery row stands (`fed_deliveries.status`). The words are
/// stored; this is the one place that spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The peer accepted it (2xx).
    Delivered,
    /// The peer refused it for good (4xx, blocked domain, unsafe URL).
    Failed,
    /// Retried past `dead_after`.
    Dead,
}

impl DeliveryState {
    /// Every state, in the order `delivery_counts` lists them.
    pub const ALL: [DeliveryState; 4] = [Self::Dead, Self::Delivered, Self::Failed, Self::Pending];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }

    /// The state a stored word names, if any.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DeliveryState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How a delivery row ends without being delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalState {
    Failed,
    Dead,
}

impl From<FinalState> for DeliveryState {
    fn from(s: FinalState) -> Self {
        match s {
            FinalState::Failed => Self::Failed,
            FinalState::Dead => Self::Dead,
        }
    }
}

/// A stored status word that no [`DeliveryState`] spells.
fn bad_state(word: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown delivery status {word:?}").into())
}
pub(crate) const LIVE_NOTE_COUNT_SQL: &str = "SELECT value FROM counters WHERE name = 'live_notes'";
pub(crate) const MENTION_COUNT_SQL: &str = "SELECT value FROM counters WHERE name = 'mentions'";
pub(crate) const DELIVERY_COUNT_SQL: &str = "SELECT COUNT(*) FROM fed_deliveries WHERE status = ?";

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

impl FedStore {
    /// Wraps an existing pool (the real crate shares one pool with `store`).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Opens (creating and migrating) the SQLite file, like [`super::Store::open`].
    pub async fn open(path: &Path) -> Result<Self> {
        let store = super::Store::open(path).await.map_err(|e| match e {
            super::StoreError::Sqlx(e) => FedStoreError::from(e),
            super::StoreError::Migrate(e) => FedStoreError::from(e),
            super::StoreError::CreateDir { source, .. } => {
                FedStoreError::from(sqlx::Error::Io(source))
            }
            super::StoreError::Fed(msg) => FedStoreError::from(sqlx::Error::Protocol(msg)),
        })?;
        Ok(store.fed())
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool (tests use this to simulate a restart).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// [`Self::apply_prepared_tx`] in a transaction of its own.
    pub async fn apply_prepared(&self, p: &PreparedActivity, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let n = Self::apply_prepared_tx(&mut tx, p, now).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Stores the activity and its Note and queues one delivery per distinct
    /// follower inbox (plus the Mastodon API row). Idempotent: an activity id
    /// already stored queues nothing. Returns the number of rows queued.
    pub async fn apply_prepared_tx(
        tx: &mut Transaction<'_, Sqlite>,
        p: &PreparedActivity,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let kind = match p.kind {
            ActivityKind::Create => "Create",
            ActivityKind::Update => "Update",
            ActivityKind::Delete => "Delete",
        };
        if p.kind == ActivityKind::Delete
            && !Self::tombstone_note_tx(tx, &p.note.story_id, now).await?
        {
            // Never federated, or already deleted: nothing to tell followers.
            return Ok(0);
        }
        // An Update needs a live Note; without one it becomes the Note's
        // Create (never federated), or nothing (deleted), said in the log.
        let mut sent = (p.activity_id.as_str(), kind, p.activity_json.as_str());
        if p.kind == ActivityKind::Update {
            let updated = p.note.updated_at.unwrap_or(now);
            if !Self::update_note_tx(tx, &p.note.story_id, &p.note.json, updated).await? {
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT 1 FROM fed_notes WHERE story_id = ?")
                        .bind(&p.note.story_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                match (&p.create_fallback, exists) {
                    (Some((create_id, create_json)), None) => {
                        tracing::info!(story.id = %p.note.story_id, "edited story had no Note: sending its Create");
                        Self::upsert_note_tx(tx, &p.note).await?;
                        sent = (create_id.as_str(), "Create", create_json.as_str());
                    }
                    _ => {
                        tracing::info!(story.id = %p.note.story_id, "edit not federated: the story's Note was deleted");
                        return Ok(0);
                    }
                }
            }
        }
        if !Self::insert_activity_tx(tx, sent.0, sent.1, Some(&p.object_id), sent.2, now).await? {
            return Ok(0);
        }
        super::fault::point("activity: recorded");
        if p.kind == ActivityKind::Create {
            Self::upsert_note_tx(tx, &p.note).await?;
        }
        super::fault::point("activity: note written");
        let activity_id = sent.0;
        let mut n = Self::enqueue_fanout_tx(tx, activity_id, now).await?;
        super::fault::point("activity: deliveries queued");
        if let Some((target, payload)) = &p.mastodon {
            n += Self::enqueue_delivery_tx(
                tx,
                activity_id,
                Channel::MastodonApi,
                target,
                Some(payload),
                now,
            )
            .await?;
        }
        Ok(n)
    }

    // ---- followers -------------------------------------------------------

    /// Inserts or refreshes a follower (a repeated Follow updates the inboxes).
    pub async fn upsert_follower(&self, f: &Follower, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO fed_followers (actor_id, inbox, shared_inbox, follow_id, created_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (actor_id) DO UPDATE SET inbox = excluded.inbox,
                 shared_inbox = excluded.shared_inbox, follow_id = excluded.follow_id",
        )
        .bind(&f.actor_id)
        .bind(&f.inbox)
        .bind(&f.shared_inbox)
        .bind(&f.follow_id)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Inserts many followers in one transaction (imports, benchmarks).
    pub async fn insert_followers(&self, followers: &[Follower], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for f in followers {
            sqlx::query(
                "INSERT OR REPLACE INTO fed_followers
                 (actor_id, inbox, shared_inbox, follow_id, created_at) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&f.actor_id)
            .bind(&f.inbox)
            .bind(&f.shared_inbox)
            .bind(&f.follow_id)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a follower; returns how many rows went.
    pub async fn remove_follower(&self, actor_id: &str) -> Result<u64> {
        let r = sqlx::query("DELETE FROM fed_followers WHERE actor_id = ?")
            .bind(actor_id)
            .execute(&self.pool)
            .await?;
        self.forget_follows(actor_id).await?;
        Ok(r.rows_affected())
    }

    /// Points an existing follower at new inboxes (its actor sent an Update);
    /// does nothing for an actor that does not follow.
    pub async fn update_follower_inboxes(
        &self,
        actor_id: &str,
        inbox: &str,
        shared_inbox: Option<&str>,
    ) -> Result<u64> {
        let r =
            sqlx::query("UPDATE fed_followers SET inbox = ?, shared_inbox = ? WHERE actor_id = ?")
                .bind(inbox)
                .bind(shared_inbox)
                .bind(actor_id)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected())
    }

    /// Removes a follower only if the Undo names a Follow this follower sent
    /// us: the latest one (`fed_followers.follow_id`) or any earlier one
    /// recorded in `fed_follows` (someone who followed twice may Undo the first).
    pub async fn remove_follower_by_follow(&self, actor_id: &str, follow_id: &str) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM fed_followers WHERE actor_id = ?1 AND (follow_id = ?2 OR EXISTS
                 (SELECT 1 FROM fed_follows WHERE follow_id = ?2 AND actor_id = ?1))",
        )
        .bind(actor_id)
        .bind(follow_id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() > 0 {
            self.forget_follows(actor_id).await?;
        }
        Ok(r.rows_affected())
    }

    /// Records a Follow id a follower sent (an Undo may name any of them).
    pub async fn record_follow(
        &self,
        follow_id: &str,
        actor_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO fed_follows (follow_id, actor_id, created_at) VALUES (?, ?, ?)
             ON CONFLICT (follow_id) DO NOTHING",
        )
        .bind(follow_id)
        .bind(actor_id)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the Follow ids of an actor that no longer follows.
    pub async fn forget_follows(&self, actor_id: &str) -> Result<u64> {
        let r = sqlx::query("DELETE FROM fed_follows WHERE actor_id = ?")
            .bind(actor_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    // ---- idempotent inbox ------------------------------------------------

    /// Claims an inbound activity id for handling: `true` the first time,
    /// `false` when it was already handled (or is being handled right now),
    /// so a replay is acknowledged and not acted on twice.
    pub async fn claim_inbox_activity(
        &self,
        activity_id: &str,
        kind: &str,
        actor_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO fed_inbox_seen (activity_id, kind, actor_id, received_at)
             VALUES (?, ?, ?, ?) ON CONFLICT (activity_id) DO NOTHING",
        )
        .bind(activity_id)
        .bind(kind)
        .bind(actor_id)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Releases a claim whose handling failed, so a retry is handled again.
    pub async fn release_inbox_activity(&self, activity_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM fed_inbox_seen WHERE activity_id = ?")
            .bind(activity_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// (id, target) of every pending ActivityPub delivery (domain blocks).
    pub async fn pending_activitypub_targets(&self) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, target FROM fed_deliveries
             WHERE status = 'pending' AND channel = 'activitypub'",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many inbound activities of `kind` were handled (tests, metrics).
    pub async fn inbox_seen_count(&self, kind: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM fed_inbox_seen WHERE kind = ?")
                .bind(kind)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Removes every follower reached through `inbox` (an inbox answered 410 Gone).
    pub async fn remove_followers_by_inbox(&self, inbox: &str) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM fed_followers WHERE COALESCE(shared_inbox, inbox) = ? OR inbox = ?",
        )
        .bind(inbox)
        .bind(inbox)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn is_follower(&self, actor_id: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fed_followers WHERE actor_id = ?")
            .bind(actor_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Followers, newest first (for the dashboard).
    pub async fn followers(&self, limit: i64) -> Result<Vec<Follower>> {
        let rows: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT actor_id, inbox, shared_inbox, follow_id FROM fed_followers ORDER BY created_at DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(actor_id, inbox, shared_inbox, follow_id)| Follower {
                actor_id,
                inbox,
                shared_inbox,
                follow_id,
            })
            .collect())
    }

    pub async fn follower_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM fed_followers")
            .fetch_one(&self.pool)
            .await?)
    }

    // ---- remote actor cache ---------------------------------------------

    pub async fn get_remote_actor(&self, id: &str) -> Result<Option<RemoteActorRow>> {
        let row = sqlx::query(
            "SELECT id, inbox, shared_inbox, public_key_pem, fetched_at
             FROM fed_remote_actors WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<RemoteActorRow> {
            Ok(RemoteActorRow {
                id: r.try_get(0)?,
                inbox: r.try_get(1)?,
                shared_inbox: r.try_get(2)?,
                public_key_pem: r.try_get(3)?,
                fetched_at: from_ms(r.try_get(4)?),
            })
        })
        .transpose()
    }

    pub async fn upsert_remote_actor(&self, a: &RemoteActorRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO fed_remote_actors (id, inbox, shared_inbox, public_key_pem, fetched_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox,
                 shared_inbox = excluded.shared_inbox, public_key_pem = excluded.public_key_pem,
                 fetched_at = excluded.fetched_at",
        )
        .bind(&a.id)
        .bind(&a.inbox)
        .bind(&a.shared_inbox)
        .bind(&a.public_key_pem)
        .bind(to_ms(a.fetched_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_remote_actor(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM fed_remote_actors WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- notes and activities -------------------------------------------

    /// Records a new Note (or replaces a re-published one) inside the caller's transaction.
    pub async fn upsert_note_tx(tx: &mut Transaction<'_, Sqlite>, n: &NoteRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO fed_notes
               (story_id, note_id, create_id, json, published_at, updated_at, deleted_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (story_id) DO UPDATE SET json = excluded.json,
                 create_id = excluded.create_id, updated_at = excluded.updated_at,
                 deleted_at = excluded.deleted_at",
        )
        .bind(&n.story_id)
        .bind(&n.note_id)
        .bind(&n.create_id)
        .bind(&n.json)
        .bind(to_ms(n.published_at))
        .bind(n.updated_at.map(to_ms))
        .bind(n.deleted_at.map(to_ms))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Replaces a Note's JSON after an edit; false if the story was never published.
    pub async fn update_note_tx(
        tx: &mut Transaction<'_, Sqlite>,
        story_id: &str,
        json: &str,
        updated_at: DateTime<Utc>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE fed_notes SET json = ?, updated_at = ? WHERE story_id = ? AND deleted_at IS NULL",
        )
        .bind(json)
        .bind(to_ms(updated_at))
        .bind(story_id)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Marks a Note deleted (its URL then answers 410 with a Tombstone).
    pub async fn tombstone_note_tx(
        tx: &mut Transaction<'_, Sqlite>,
        story_id: &str,
        deleted_at: DateTime<Utc>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE fed_notes SET deleted_at = ? WHERE story_id = ? AND deleted_at IS NULL",
        )
        .bind(to_ms(deleted_at))
        .bind(story_id)
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn get_note(&self, story_id: &str) -> Result<Option<NoteRow>> {
        let row = sqlx::query(
            "SELECT story_id, note_id, create_id, json, published_at, updated_at, deleted_at
             FROM fed_notes WHERE story_id = ?",
        )
        .bind(story_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(note_from_row).transpose()
    }

    /// Number of live Notes (the outbox's totalItems).
    pub async fn outbox_count(&self) -> Result<i64> {
        Ok(
            // Kept by triggers (migration 1001): no walk over the Notes.
            sqlx::query_scalar(LIVE_NOTE_COUNT_SQL)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Live Notes, newest first.
    pub async fn outbox_page(&self, limit: i64, offset: i64) -> Result<Vec<NoteRow>> {
        let rows = sqlx::query(
            "SELECT story_id, note_id, create_id, json, published_at, updated_at, deleted_at
             FROM fed_notes WHERE deleted_at IS NULL
             ORDER BY published_at DESC, story_id DESC LIMIT ? OFFSET ?",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(note_from_row).collect()
    }

    /// Stores an outgoing activity; a repeated id is ignored (idempotent publishing).
    /// Returns false when the activity already existed.
    pub async fn insert_activity_tx(
        tx: &mut Transaction<'_, Sqlite>,
        id: &str,
        kind: &str,
        object_id: Option<&str>,
        json: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO fed_activities (id, kind, object_id, json, created_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(kind)
        .bind(object_id)
        .bind(json)
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    // ---- delivery queue --------------------------------------------------

    /// Queues `activity_id` once per distinct follower inbox (shared inbox
    /// when the follower has one). One statement, so 10,000 followers cost one
    /// round trip. Returns the number of rows queued.
    pub async fn enqueue_fanout_tx(
        tx: &mut Transaction<'_, Sqlite>,
        activity_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let r = sqlx::query(
            "INSERT INTO fed_deliveries (activity_id, channel, target, next_attempt_at, created_at)
             SELECT DISTINCT ?, 'activitypub', COALESCE(shared_inbox, inbox), ?, ?
             FROM fed_followers WHERE true
             ON CONFLICT (activity_id, channel, target) DO NOTHING",
        )
        .bind(activity_id)
        .bind(to_ms(now))
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected())
    }

    /// Queues one delivery (an Accept to one inbox, a Mastodon API status).
    pub async fn enqueue_delivery_tx(
        tx: &mut Transaction<'_, Sqlite>,
        activity_id: &str,
        channel: Channel,
        target: &str,
        payload: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let r = sqlx::query(
            "INSERT INTO fed_deliveries
               (activity_id, channel, target, payload, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (activity_id, channel, target) DO NOTHING",
        )
        .bind(activity_id)
        .bind(channel.as_str())
        .bind(target)
        .bind(payload)
        .bind(to_ms(now))
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected())
    }

    /// Claims up to `limit` due rows: pushes their next attempt to `now +
    /// lease` and counts the attempt, so a crash mid-send retries them after
    /// the lease instead of losing them, and a second worker skips them.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<DeliveryRow>> {
        let lease_until = to_ms(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE fed_deliveries SET next_attempt_at = ?, attempts = attempts + 1
             WHERE id IN (SELECT id FROM fed_deliveries
                          WHERE status = 'pending' AND next_attempt_at <= ?
                          ORDER BY next_attempt_at, id LIMIT ?)
             RETURNING id, activity_id, channel, target, payload, attempts, created_at",
        )
        .bind(lease_until)
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut bodies: std::collections::HashMap<String, String> = Default::default();
        for r in rows {
            let activity_id: String = r.try_get(1)?;
            let payload: Option<String> = r.try_get(4)?;
            let body = match payload {
                Some(p) => p,
                None => match bodies.get(&activity_id) {
                    Some(b) => b.clone(),
                    None => {
                        let b: String =
                            sqlx::query_scalar("SELECT json FROM fed_activities WHERE id = ?")
                                .bind(&activity_id)
                                .fetch_one(&mut *tx)
                                .await?;
                        bodies.insert(activity_id.clone(), b.clone());
                        b
                    }
                },
            };
            out.push(DeliveryRow {
                id: r.try_get(0)?,
                activity_id,
                channel: Channel::parse(r.try_get::<String, _>(2)?.as_str()),
                target: r.try_get(3)?,
                body,
                attempts: r.try_get(5)?,
                created_at: from_ms(r.try_get(6)?),
            });
        }
        tx.commit().await?;
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    /// The earliest next attempt among pending rows (the worker sleeps until then).
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM fed_deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(v.map(from_ms))
    }

    pub async fn mark_delivered(&self, id: i64, status: u16, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE fed_deliveries SET status = 'delivered', delivered_at = ?, last_status = ?,
                 last_error = NULL WHERE id = ?",
        )
        .bind(to_ms(now))
        .bind(i64::from(status))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Schedules another attempt at `next_at`.
    pub async fn mark_retry(
        &self,
        id: i64,
        next_at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE fed_deliveries SET status = 'pending', next_attempt_at = ?, last_status = ?,
                 last_error = ? WHERE id = ?",
        )
        .bind(to_ms(next_at))
        .bind(status.map(i64::from))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a row: `failed` (the peer refused it) or `dead` (retried past `dead_after`).
    pub async fn mark_final(
        &self,
        id: i64,
        final_status: FinalState,
        status: Option<u16>,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE fed_deliveries SET status = ?, last_status = ?, last_error = ? WHERE id = ?",
        )
        .bind(DeliveryState::from(final_status).as_str())
        .bind(status.map(i64::from))
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// All queue rows for one activity (tests, admin).
    pub async fn deliveries_for(&self, activity_id: &str) -> Result<Vec<DeliveryStatus>> {
        let rows = sqlx::query(
            "SELECT id, activity_id, target, status, attempts, next_attempt_at, last_status,
                    last_error FROM fed_deliveries WHERE activity_id = ? ORDER BY id",
        )
        .bind(activity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DeliveryStatus {
                    id: r.try_get(0)?,
                    activity_id: r.try_get(1)?,
                    target: r.try_get(2)?,
                    status: {
                        let word: String = r.try_get(3)?;
                        DeliveryState::parse(&word).ok_or_else(|| bad_state(&word))?
                    },
                    attempts: r.try_get(4)?,
                    next_attempt_at: from_ms(r.try_get(5)?),
                    last_status: r.try_get(6)?,
                    last_error: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Row counts per status (metrics, tests).
    /// One indexed count per status (`fed_deliveries_by_status`), so the
    /// counters never walk the rows; statuses with no row are left out.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut out = Vec::new();
        for status in DeliveryState::ALL {
            let n: i64 = sqlx::query_scalar(DELIVERY_COUNT_SQL)
                .bind(status.as_str())
                .fetch_one(&self.pool)
                .await?;
            if n > 0 {
                out.push((status.as_str().to_string(), n));
            }
        }
        Ok(out)
    }
}

/// Decodes a `fed_notes` row; a column that does not decode is an error,
/// not a panic.
fn note_from_row(r: sqlx::sqlite::SqliteRow) -> Result<NoteRow> {
    Ok(NoteRow {
        story_id: r.try_get(0)?,
        note_id: r.try_get(1)?,
        create_id: r.try_get(2)?,
        json: r.try_get(3)?,
        published_at: from_ms(r.try_get(4)?),
        updated_at: r.try_get::<Option<i64>, _>(5)?.map(from_ms),
        deleted_at: r.try_get::<Option<i64>, _>(6)?.map(from_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_states_round_trip_their_stored_words() {
        for s in DeliveryState::ALL {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        // The words the migrations and the SQL literals use.
        let words: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words, ["dead", "delivered", "failed", "pending"]);
        assert_eq!(DeliveryState::parse("Pending"), None);
        assert_eq!(DeliveryState::from(FinalState::Dead), DeliveryState::Dead);
        assert_eq!(DeliveryState::from(FinalState::Failed), "failed");
    }

    use chrono::TimeDelta;

    fn follower(actor: &str, inbox: &str, shared: Option<&str>) -> Follower {
        Follower {
            actor_id: actor.to_string(),
            inbox: inbox.to_string(),
            shared_inbox: shared.map(str::to_string),
            follow_id: None,
        }
    }

    /// The queue's promises on a real SQLite file: one row per distinct
    /// inbox, queued once; claims honour due time and limit and lease the
    /// rows they take; delivered/retry/final record what happened.
    #[tokio::test]
    async fn the_delivery_queue_claims_leases_retries_and_ends_rows() -> Result<()> {
        let dir = tempfile::tempdir().map_err(sqlx::Error::Io)?;
        let fed = FedStore::open(&dir.path().join("q.db")).await?;
        let t0 = from_ms(1_700_000_000_000);
        let shared = "https://a.example/inbox";
        let b_inbox = "https://b.example/u/3/inbox";
        fed.insert_followers(
            &[
                follower(
                    "https://a.example/u/1",
                    "https://a.example/u/1/in",
                    Some(shared),
                ),
                follower(
                    "https://a.example/u/2",
                    "https://a.example/u/2/in",
                    Some(shared),
                ),
                follower("https://b.example/u/3", b_inbox, None),
            ],
            t0,
        )
        .await?;
        let activity = r#"{"id":"https://feeds.example/a/1","type":"Create"}"#;
        let status = r#"{"status":"hello"}"#;
        let mut tx = fed.pool.begin().await?;
        FedStore::insert_activity_tx(&mut tx, "act-1", "Create", None, activity, t0).await?;
        assert_eq!(FedStore::enqueue_fanout_tx(&mut tx, "act-1", t0).await?, 2);
        assert_eq!(FedStore::enqueue_fanout_tx(&mut tx, "act-1", t0).await?, 0);
        for queued in [1, 0] {
            let n = FedStore::enqueue_delivery_tx(
                &mut tx,
                "act-1",
                Channel::MastodonApi,
                "https://m.example",
                Some(status),
                t0 + TimeDelta::seconds(1),
            )
            .await?;
            assert_eq!(n, queued, "queued once");
        }
        tx.commit().await?;
        assert_eq!(fed.next_due_at().await?, Some(t0));

        let lease = Duration::from_secs(300);
        let lease_delta = TimeDelta::seconds(300);
        let ms1 = TimeDelta::milliseconds(1);
        assert!(
            fed.claim_due(t0 - ms1, 10, lease).await?.is_empty(),
            "not due yet"
        );
        let first = fed.claim_due(t0, 10, lease).await?;
        assert_eq!(first.len(), 2, "the API row is due a second later");
        let mut targets: Vec<_> = first.iter().map(|d| d.target.as_str()).collect();
        targets.sort_unstable();
        assert_eq!(targets, [shared, b_inbox]);
        for d in &first {
            assert_eq!(
                (d.channel, d.body.as_str()),
                (Channel::ActivityPub, activity)
            );
            assert_eq!((d.attempts, d.created_at), (1, t0));
        }
        let api_row = fed.claim_due(t0 + TimeDelta::seconds(1), 1, lease).await?;
        assert_eq!(api_row.len(), 1);
        assert_eq!(
            (api_row[0].channel, api_row[0].body.as_str()),
            (Channel::MastodonApi, status)
        );
        // Claimed rows are leased: nobody takes them again before the lease ends.
        assert_eq!(fed.next_due_at().await?, Some(t0 + lease_delta));
        assert!(
            fed.claim_due(t0 + lease_delta - ms1, 10, lease)
                .await?
                .is_empty()
        );

        let (a, b, m) = (first[0].id, first[1].id, api_row[0].id);
        fed.mark_delivered(a, 202, t0).await?;
        fed.mark_retry(b, t0 + TimeDelta::seconds(60), Some(503), "busy")
            .await?;
        fed.mark_final(m, FinalState::Failed, Some(403), "refused")
            .await?;
        let rows = fed.deliveries_for("act-1").await?;
        let by_id = |id: i64| rows.iter().find(|r| r.id == id).expect("row");
        assert_eq!(
            (
                by_id(a).status.as_str(),
                by_id(a).last_status,
                by_id(a).last_error.as_deref()
            ),
            ("delivered", Some(202), None)
        );
        assert_eq!(
            (
                by_id(b).status.as_str(),
                by_id(b).last_status,
                by_id(b).last_error.as_deref()
            ),
            ("pending", Some(503), Some("busy"))
        );
        assert_eq!(by_id(b).next_attempt_at, t0 + TimeDelta::seconds(60));
        assert_eq!(
            (
                by_id(m).status.as_str(),
                by_id(m).last_status,
                by_id(m).last_error.as_deref()
            ),
            ("failed", Some(403), Some("refused"))
        );
        // Only the retried row is left, due at its retry time, on its second attempt.
        assert_eq!(fed.next_due_at().await?, Some(t0 + TimeDelta::seconds(60)));
        let again = fed
            .claim_due(t0 + TimeDelta::seconds(60), 10, lease)
            .await?;
        assert_eq!(
            again.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
            [(b, 2)]
        );
        Ok(())
    }
}
