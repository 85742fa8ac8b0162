//! Composing a story's Fediverse activities as data: the Note, its
//! `Create`/`Update`/`Delete` and the Mastodon API status, as the
//! [`PreparedActivity`] the store writes (the outbox tables) and the
//! delivery worker sends. Pure: no network handle, no store, no clock but
//! the one passed in (or a post's own times). The publisher keeps a
//! [`Composer`] in the settings snapshot; [`super::Fediverse`] keeps one too.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use url::Url;

use super::{FediverseError, FediverseSettings, MastodonApiSettings};
use super::{note, vocab};
use crate::model::{ActivityKind, NoteRow, PreparedActivity, StoryPost};

/// Where the Mastodon API channel posts, and how: no token (that is the
/// delivery worker's business).
#[derive(Debug, Clone)]
struct MastodonTarget {
    /// The instance URL, as queued with each status.
    instance: String,
    visibility: String,
}

/// Builds the activities of a publication from plain values. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Composer {
    settings: Arc<FediverseSettings>,
    actor_id: Url,
    mastodon: Option<MastodonTarget>,
}

impl Composer {
    /// The composer of the actor `actor_id` configured by `settings`; with
    /// `mastodon`, creates also queue a status for that account.
    pub fn new(
        settings: FediverseSettings,
        actor_id: Url,
        mastodon: Option<&MastodonApiSettings>,
    ) -> Composer {
        Composer {
            settings: Arc::new(settings),
            actor_id,
            mastodon: mastodon.map(|m| MastodonTarget {
                instance: m.instance.to_string(),
                visibility: m.visibility.clone(),
            }),
        }
    }

    /// The rows publishing `post` writes, built without touching the store,
    /// so the publisher can commit them with the story in one transaction
    /// (transactional outbox; see `Store::commit_poll`). Call
    /// `Fediverse::wake_worker` after that commit.
    pub fn prepare_create(&self, post: &StoryPost) -> Result<PreparedActivity, FediverseError> {
        let s = &*self.settings;
        let actor_id = &self.actor_id;
        let note_json = note::build_note(s, actor_id, post);
        let note_id = vocab::note_id(&s.base_url, &post.story_id);
        let create_id = vocab::activity_id(&s.base_url, "create", &[&post.story_id]);
        let create = note::create_activity(create_id.as_str(), actor_id, note_json.clone(), true);
        Ok(PreparedActivity {
            kind: ActivityKind::Create,
            activity_id: create_id.to_string(),
            object_id: note_id.to_string(),
            activity_json: serde_json::to_string(&create)?,
            note: NoteRow {
                story_id: post.story_id.clone(),
                note_id: note_id.to_string(),
                create_id: create_id.to_string(),
                json: serde_json::to_string(&note_json)?,
                published_at: post.published,
                updated_at: post.updated,
                deleted_at: None,
            },
            mastodon: self.mastodon_status(post)?,
            create_fallback: None,
        })
    }

    /// An edited story: the replaced Note and its `Update{Note}` with `updated`.
    pub fn prepare_update(&self, post: &StoryPost) -> Result<PreparedActivity, FediverseError> {
        let s = &*self.settings;
        let actor_id = &self.actor_id;
        let updated = post.updated.unwrap_or_else(Utc::now);
        let mut post = post.clone();
        post.updated = Some(updated);
        let note_json = note::build_note(s, actor_id, &post);
        // One id per revision: the time and a digest of the new Note, so two
        // edits stamped the same millisecond (one poll's clock) are still two
        // Updates, while re-applying the very same edit stays idempotent.
        let stamp = format!(
            "{}-{}",
            updated.timestamp_millis(),
            revision_digest(&note_json)
        );
        let update_id = vocab::activity_id(&s.base_url, "update", &[&post.story_id, &stamp]);
        let update = note::update_activity(update_id.as_str(), actor_id, note_json.clone());
        let note_id = vocab::note_id(&s.base_url, &post.story_id);
        let create_id = vocab::activity_id(&s.base_url, "create", &[&post.story_id]);
        let create = note::create_activity(create_id.as_str(), actor_id, note_json.clone(), true);
        Ok(PreparedActivity {
            kind: ActivityKind::Update,
            activity_id: update_id.to_string(),
            object_id: note_id.to_string(),
            activity_json: serde_json::to_string(&update)?,
            note: NoteRow {
                story_id: post.story_id.clone(),
                note_id: note_id.to_string(),
                create_id: vocab::activity_id(&s.base_url, "create", &[&post.story_id]).to_string(),
                json: serde_json::to_string(&note_json)?,
                published_at: post.published,
                updated_at: Some(updated),
                deleted_at: None,
            },
            mastodon: None,
            create_fallback: Some((create_id.to_string(), serde_json::to_string(&create)?)),
        })
    }

    /// A removed story: its `Delete`, to be applied (tombstoning the Note)
    /// in the remover's transaction.
    pub fn prepare_delete(
        &self,
        story_id: &str,
        now: DateTime<Utc>,
    ) -> Result<PreparedActivity, FediverseError> {
        let s = &*self.settings;
        let actor_id = &self.actor_id;
        let note_id = vocab::note_id(&s.base_url, story_id);
        let delete_id = vocab::activity_id(&s.base_url, "delete", &[story_id]);
        let delete = note::delete_activity(delete_id.as_str(), actor_id, note_id.as_str(), now);
        Ok(PreparedActivity {
            kind: ActivityKind::Delete,
            activity_id: delete_id.to_string(),
            object_id: note_id.to_string(),
            activity_json: serde_json::to_string(&delete)?,
            note: NoteRow {
                story_id: story_id.to_string(),
                note_id: note_id.to_string(),
                create_id: vocab::activity_id(&s.base_url, "create", &[story_id]).to_string(),
                json: serde_json::to_string(&note::tombstone(note_id.as_str(), now))?,
                published_at: now,
                updated_at: None,
                deleted_at: Some(now),
            },
            mastodon: None,
            create_fallback: None,
        })
    }

    /// The status the Mastodon API channel posts for `post`, if configured.
    fn mastodon_status(
        &self,
        post: &StoryPost,
    ) -> Result<Option<(String, String)>, FediverseError> {
        let Some(m) = &self.mastodon else {
            return Ok(None);
        };
        let mut status = json!({
            "status": post.text,
            "language": post.language,
            "visibility": m.visibility,
        });
        if let (Some(cw), Some(obj)) = (&post.sensitive_cw, status.as_object_mut()) {
            obj.insert("spoiler_text".into(), json!(cw));
            obj.insert("sensitive".into(), json!(true));
        }
        Ok(Some((m.instance.clone(), serde_json::to_string(&status)?)))
    }
}

/// 12 hex digits of the SHA-256 of a Note: tells revisions apart in ids.
fn revision_digest(note: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(note.to_string().as_bytes());
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
