//! Mentions, Likes and Announces the inbox receives (migration 0910): kept
//! for the operator's dashboard and `/metrics`, never answered.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;

use super::fed::{FedStore, FedStoreError};
use super::time::to_ms;

type Result<T> = std::result::Result<T, FedStoreError>;

/// A remote post that mentions or replies to the bot, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub activity_id: String,
    pub object_id: String,
    pub actor_id: String,
    /// The original post for people (its `url`, else its id).
    pub url: Option<String>,
    /// Sanitised before it was stored.
    pub content_html: String,
    pub in_reply_to: Option<String>,
    /// Our story it replies to.
    pub story_id: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// Likes and Announces of one story: distinct actors per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reactions {
    pub likes: u64,
    pub announces: u64,
}

/// The two reactions we count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReactionKind {
    Like,
    Announce,
}

impl ReactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::Like => "Like",
            ReactionKind::Announce => "Announce",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Like" => Some(ReactionKind::Like),
            "Announce" => Some(ReactionKind::Announce),
            _ => None,
        }
    }
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

impl FedStore {
    /// The story whose Note has this id (deleted Notes included).
    pub async fn story_of_note(&self, note_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT story_id FROM fed_notes WHERE note_id = ?")
                .bind(note_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Stores a mention once (a repeated activity id is ignored).
    pub async fn insert_mention(&self, m: &Mention) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO fed_mentions (activity_id, object_id, actor_id, url,
               content_html, in_reply_to, story_id, published_at, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.activity_id)
        .bind(&m.object_id)
        .bind(&m.actor_id)
        .bind(&m.url)
        .bind(&m.content_html)
        .bind(&m.in_reply_to)
        .bind(&m.story_id)
        .bind(m.published_at.map(to_ms))
        .bind(to_ms(m.received_at))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The newest `limit` mentions.
    pub async fn recent_mentions(&self, limit: u32) -> Result<Vec<Mention>> {
        let rows = sqlx::query(
            "SELECT activity_id, object_id, actor_id, url, content_html, in_reply_to,
                    story_id, published_at, received_at
             FROM fed_mentions ORDER BY received_at DESC, activity_id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Mention {
                    activity_id: r.try_get("activity_id")?,
                    object_id: r.try_get("object_id")?,
                    actor_id: r.try_get("actor_id")?,
                    url: r.try_get("url")?,
                    content_html: r.try_get("content_html")?,
                    in_reply_to: r.try_get("in_reply_to")?,
                    story_id: r.try_get("story_id")?,
                    published_at: r.try_get::<Option<i64>, _>("published_at")?.map(from_ms),
                    received_at: from_ms(r.try_get("received_at")?),
                })
            })
            .collect()
    }

    /// Records a Like or Announce of a story (a repeated id is ignored).
    pub async fn insert_reaction(
        &self,
        activity_id: &str,
        kind: ReactionKind,
        actor_id: &str,
        story_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO fed_reactions (activity_id, kind, actor_id, story_id, received_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(activity_id)
        .bind(kind.as_str())
        .bind(actor_id)
        .bind(story_id)
        .bind(to_ms(at))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Undo of a reaction: by the reaction's id when given, else every
    /// reaction of that kind by `actor_id` on `story_id`. Only the sender's
    /// own rows are touched. Returns the rows removed.
    pub async fn remove_reaction(
        &self,
        actor_id: &str,
        kind: Option<ReactionKind>,
        activity_id: Option<&str>,
        story_id: Option<&str>,
    ) -> Result<u64> {
        let done =
            match (activity_id, kind, story_id) {
                (Some(id), _, _) => {
                    sqlx::query("DELETE FROM fed_reactions WHERE activity_id = ? AND actor_id = ?")
                        .bind(id)
                        .bind(actor_id)
                        .execute(self.pool())
                        .await?
                }
                (None, Some(kind), Some(story)) => sqlx::query(
                    "DELETE FROM fed_reactions WHERE actor_id = ? AND kind = ? AND story_id = ?",
                )
                .bind(actor_id)
                .bind(kind.as_str())
                .bind(story)
                .execute(self.pool())
                .await?,
                _ => return Ok(0),
            };
        Ok(done.rows_affected())
    }

    /// Likes and Announces per story, for the given stories.
    pub async fn reactions_of(
        &self,
        story_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Reactions>> {
        let mut out = std::collections::HashMap::new();
        for chunk in story_ids.chunks(500) {
            if chunk.is_empty() {
                continue;
            }
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT story_id, kind, COUNT(DISTINCT actor_id) AS n FROM fed_reactions
                 WHERE story_id IN ({marks}) GROUP BY story_id, kind"
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(self.pool()).await? {
                let story: String = r.try_get("story_id")?;
                let kind: String = r.try_get("kind")?;
                let n = u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0);
                let e: &mut Reactions = out.entry(story).or_default();
                match ReactionKind::parse(&kind) {
                    Some(ReactionKind::Like) => e.likes = n,
                    Some(ReactionKind::Announce) => e.announces = n,
                    None => {}
                }
            }
        }
        Ok(out)
    }

    /// Totals for `/metrics`: (mentions, likes, announces), reactions
    /// counted as in [`FedStore::reactions_of`].
    pub async fn interaction_totals(&self) -> Result<(u64, u64, u64)> {
        // Kept by triggers (migration 1001); the reactions below are counted
        // per distinct actor, which no trigger can keep cheaply.
        let mentions: i64 = sqlx::query_scalar(super::fed::MENTION_COUNT_SQL)
            .fetch_one(self.pool())
            .await?;
        let count = |kind: &'static str| async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT DISTINCT story_id, actor_id FROM fed_reactions WHERE kind = ?)",
            )
            .bind(kind)
            .fetch_one(self.pool())
            .await
        };
        let likes = count("Like").await?;
        let announces = count("Announce").await?;
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok((u(mentions), u(likes), u(announces)))
    }
}
