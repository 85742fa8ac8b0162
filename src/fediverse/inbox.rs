//! Inbound activities on `/users/<name>/inbox` and the shared `/inbox`.
//!
//! Order of checks, cheapest first and before any network work: body size
//! (413), JSON syntax (400), signature header shape and Date window (401).
//! Then the library's `receive_activity` checks the Digest against the body,
//! fetches (or reads from cache) the sender's actor and verifies the
//! signature against its published key (401 on any failure). Only then is
//! the activity acted on.

use std::sync::Arc;
use std::time::SystemTime;

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::Activity;
use async_trait::async_trait;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use chrono::Utc;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use super::actor::RemoteActor;
// Defined beside what reads it (`interactions`), so that module needs
// nothing from this one; re-exported at its old path.
use super::interactions;
use super::interactions::IncomingActivity;
use super::note;
use super::rfc9421;
use super::signatures::precheck_signature;
use super::{FedInner, Fediverse, FediverseError};
use crate::store::fed::{Channel, FedStore, Follower};
use crate::store::fed_interactions::ReactionKind;

/// Largest inbox body we read; Mastodon activities are a few KiB.
pub const MAX_INBOX_BODY: usize = 256 * 1024;

/// What an inbound request led to (all are answered 202 Accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    Followed,
    /// The activity id was already handled: acknowledged, not acted on again.
    Replayed,
    /// The sender's cached actor (key, inboxes) was refreshed from its id.
    ActorUpdated,
    Unfollowed,
    ActorDeleted,
    /// A mention or reply to the bot, stored for the operator.
    Mentioned,
    /// A Like or Announce of one of our Notes, counted.
    Reacted,
    /// An Undo of a Like or Announce.
    Unreacted,
    Ignored,
}

/// Actor types whose `Update` refreshes our cached copy of the sender.
const ACTOR_TYPES: [&str; 5] = ["Person", "Service", "Application", "Group", "Organization"];

/// A signature that fails against a cached key triggers at most one re-fetch
/// of that actor per this interval, so a forger cannot make us fetch in a loop.
pub const KEY_REFETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

fn object_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("id").and_then(Value::as_str),
        _ => None,
    }
}

#[async_trait]
impl Activity for IncomingActivity {
    type DataType = Arc<FedInner>;
    type Error = FediverseError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        self.actor.inner()
    }

    async fn verify(&self, _: &Data<Self::DataType>) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(self, data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        // The outcome is reported through the tracing span; `receive` must return ().
        let outcome = handle_verified(self, data).await?;
        tracing::debug!(?outcome, "inbox activity handled");
        Ok(())
    }
}

/// Claims the activity id, acts on it once, and releases the claim if acting
/// failed (so the sender's retry is handled).
async fn handle_verified(
    activity: IncomingActivity,
    data: &Data<Arc<FedInner>>,
) -> Result<InboxOutcome, FediverseError> {
    let id = activity.id.to_string();
    let fresh = data
        .store
        .claim_inbox_activity(
            &id,
            &activity.kind,
            activity.actor.inner().as_str(),
            Utc::now(),
        )
        .await?;
    if !fresh {
        tracing::debug!("activity already handled; acknowledged again");
        return Ok(InboxOutcome::Replayed);
    }
    match act_on(activity, data).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            if let Err(release) = data.store.release_inbox_activity(&id).await {
                tracing::warn!(error = %release, "could not release an inbox claim");
            }
            Err(e)
        }
    }
}

async fn act_on(
    activity: IncomingActivity,
    data: &Data<Arc<FedInner>>,
) -> Result<InboxOutcome, FediverseError> {
    let store = &data.store;
    let actor_url = activity.actor.inner().clone();
    match activity.kind.as_str() {
        "Follow" => {
            if object_id(&activity.object) != Some(data.actor.id.as_str()) {
                return Ok(InboxOutcome::Ignored);
            }
            // Already dereferenced (and cached) by the signature check.
            let remote = activity.actor.dereference(data).await?;
            let follower = Follower {
                actor_id: remote.id.to_string(),
                inbox: remote.inbox.to_string(),
                shared_inbox: remote.shared_inbox.as_ref().map(Url::to_string),
                follow_id: Some(activity.id.to_string()),
            };
            let now = Utc::now();
            // Stored once per actor (a duplicate Follow refreshes the row),
            // while every Follow id is remembered for a later Undo.
            store.upsert_follower(&follower, now).await?;
            store
                .record_follow(activity.id.as_str(), remote.id.as_str(), now)
                .await?;
            let accept_id = super::vocab::activity_id(
                &data.settings.base_url,
                "accept",
                &[&format!("{:032x}", rand::random::<u128>())],
            );
            let follow_json = serde_json::to_value(&activity)?;
            let accept =
                note::accept_activity(accept_id.as_str(), &data.actor.id, &remote.id, follow_json);
            // The Accept goes through the persistent queue like every delivery,
            // to the follower's personal inbox (it is addressed to them only).
            let mut tx = store.pool().begin().await?;
            FedStore::insert_activity_tx(
                &mut tx,
                accept_id.as_str(),
                "Accept",
                Some(activity.id.as_str()),
                &serde_json::to_string(&accept)?,
                now,
            )
            .await?;
            FedStore::enqueue_delivery_tx(
                &mut tx,
                accept_id.as_str(),
                Channel::ActivityPub,
                remote.inbox.as_str(),
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            data.wake.notify_one();
            tracing::info!(follower = %remote.id, "new follower");
            Ok(InboxOutcome::Followed)
        }
        "Undo" => {
            let inner_type = activity.object.get("type").and_then(Value::as_str);
            let removed = match (inner_type, &activity.object) {
                (Some("Follow"), obj) => {
                    // The embedded Follow must be the sender's own (its actor
                    // may be an id or an object, or left out: the Undo is signed
                    // by the sender and can only end the sender's own follow).
                    let inner_actor = obj.get("actor").map(|a| object_id(a));
                    if inner_actor.is_some_and(|a| a != Some(actor_url.as_str())) {
                        return Ok(InboxOutcome::Ignored);
                    }
                    store.remove_follower(actor_url.as_str()).await?
                }
                (Some(kind @ ("Like" | "Announce")), obj) => {
                    return undo_reaction(data, &actor_url, Some(kind), obj).await;
                }
                (None, Value::String(follow_id)) => {
                    let n = store
                        .remove_follower_by_follow(actor_url.as_str(), follow_id)
                        .await?;
                    // An Undo naming only an id may end a Like or Announce.
                    if n == 0 {
                        let undone =
                            undo_reaction(data, &actor_url, None, &activity.object).await?;
                        if undone == InboxOutcome::Unreacted {
                            return Ok(undone);
                        }
                    }
                    n
                }
                _ => return Ok(InboxOutcome::Ignored),
            };
            if removed > 0 {
                tracing::info!(follower = %actor_url, "unfollowed");
            }
            Ok(InboxOutcome::Unfollowed)
        }
        "Delete" if object_id(&activity.object) == Some(actor_url.as_str()) => {
            store.remove_follower(actor_url.as_str()).await?;
            store.delete_remote_actor(actor_url.as_str()).await?;
            Ok(InboxOutcome::ActorDeleted)
        }
        "Update"
            if object_id(&activity.object) == Some(actor_url.as_str())
                && activity
                    .object
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| ACTOR_TYPES.contains(&t)) =>
        {
            // The embedded profile is not trusted: the actor is fetched from
            // its id (unless the signature check has just done so).
            let remote = if data.refetched_within(actor_url.as_str(), KEY_REFRESHED_FOR_UPDATE) {
                activity.actor.dereference(data).await?
            } else {
                activity.actor.dereference_forced(data).await?
            };
            store
                .update_follower_inboxes(
                    remote.id.as_str(),
                    remote.inbox.as_str(),
                    remote.shared_inbox.as_ref().map(Url::as_str),
                )
                .await?;
            tracing::info!(actor = %remote.id, "remote actor updated");
            Ok(InboxOutcome::ActorUpdated)
        }
        "Create" => {
            let now = Utc::now();
            let Some(mut mention) =
                interactions::mention_of(&activity, &data.actor.id, &data.settings.base_url, now)
            else {
                return Ok(InboxOutcome::Ignored);
            };
            if let Some(note) = &mention.in_reply_to {
                mention.story_id = store.story_of_note(note).await?;
            }
            store.insert_mention(&mention).await?;
            // Logged for the operator; never answered.
            tracing::info!(from = %actor_url, post = %mention.object_id, story = ?mention.story_id, "mentioned");
            Ok(InboxOutcome::Mentioned)
        }
        "Like" | "Announce" => {
            let Some((kind, note)) = interactions::reaction_of(&activity, &data.settings.base_url)
            else {
                return Ok(InboxOutcome::Ignored);
            };
            let Some(story) = store.story_of_note(&note).await? else {
                return Ok(InboxOutcome::Ignored);
            };
            store
                .insert_reaction(
                    activity.id.as_str(),
                    kind,
                    actor_url.as_str(),
                    &story,
                    Utc::now(),
                )
                .await?;
            tracing::info!(from = %actor_url, kind = kind.as_str(), story = %story, "reaction");
            Ok(InboxOutcome::Reacted)
        }
        _ => Ok(InboxOutcome::Ignored),
    }
}

/// `Undo{Like}` / `Undo{Announce}` (embedded, or named by id): removes the
/// sender's own reaction, by its id, or by (kind, our Note) when the
/// embedded activity has no id.
async fn undo_reaction(
    data: &Data<Arc<FedInner>>,
    actor_url: &Url,
    kind: Option<&str>,
    obj: &Value,
) -> Result<InboxOutcome, FediverseError> {
    let kind = kind.and_then(ReactionKind::parse);
    let id = object_id(obj);
    let story = match obj.get("object").and_then(|o| object_id(o)) {
        Some(note) => data.store.story_of_note(note).await?,
        None => None,
    };
    let mut removed = data
        .store
        .remove_reaction(actor_url.as_str(), kind, id, story.as_deref())
        .await?;
    if removed == 0 && id.is_some() {
        // An embedded Like whose id we never saw: match it by what it liked.
        removed = data
            .store
            .remove_reaction(actor_url.as_str(), kind, None, story.as_deref())
            .await?;
    }
    Ok(if removed > 0 {
        InboxOutcome::Unreacted
    } else {
        InboxOutcome::Ignored
    })
}

impl Fediverse {
    /// Handles one inbox POST; `Ok` means answer 202.
    pub async fn handle_inbox(&self, req: Request<Body>) -> Result<(), FediverseError> {
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_INBOX_BODY) {
            return Err(FediverseError::BodyTooLarge(MAX_INBOX_BODY));
        }
        let bytes = axum::body::to_bytes(body, MAX_INBOX_BODY)
            .await
            .map_err(|_| FediverseError::BodyTooLarge(MAX_INBOX_BODY))?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| FediverseError::BadRequest(format!("invalid JSON: {e}")))?;
        let (Some(kind), Some(actor), Some(id)) = (
            json.get("type").and_then(Value::as_str),
            json.get("actor").and_then(|a| object_id(a)),
            json.get("id").and_then(Value::as_str),
        ) else {
            return Err(FediverseError::BadRequest(
                "activity needs id, type and actor".into(),
            ));
        };
        // A blocked domain is refused before any signature work or key fetch.
        if self.inner.is_blocked_url(actor) || self.inner.is_blocked_url(id) {
            return Err(FediverseError::Forbidden("domain blocked".into()));
        }
        let span = tracing::info_span!("inbox", inbox = %parts.uri.path(), activity.id = %id, activity.kind = %kind);
        let (kind, actor) = (kind.to_string(), actor.to_string());
        self.receive_checked(parts, bytes, &json, &kind, &actor)
            .instrument(span)
            .await
    }

    async fn receive_checked(
        &self,
        parts: axum::http::request::Parts,
        bytes: bytes::Bytes,
        json: &Value,
        kind: &str,
        actor: &str,
    ) -> Result<(), FediverseError> {
        // Cheap checks of the signature's shape, date and (RFC 9421) digest,
        // before any network work.
        let rfc9421_sig = if rfc9421::is_rfc9421(&parts.headers) {
            let base = &self.inner.settings.base_url;
            let domain = super::signatures::domain_of(base)?;
            Some(rfc9421::precheck(
                &parts,
                &bytes,
                base.scheme(),
                &domain,
                SystemTime::now(),
            )?)
        } else {
            precheck_signature(&parts.headers, SystemTime::now())?;
            None
        };

        // Delete of an actor we never stored: nothing to remove, and fetching
        // it would only hit a 410. Answer 2xx without any request (this is
        // the bulk of inbox traffic when a big instance deletes accounts).
        if kind == "Delete" && json.get("object").and_then(object_id) == Some(actor) {
            let known = self.inner.store.get_remote_actor(actor).await?.is_some()
                || self.inner.store.is_follower(actor).await?;
            if !known {
                tracing::debug!("delete of an unknown actor ignored");
                return Ok(());
            }
        }

        let data = self.data();
        let cached_before = self.inner.store.get_remote_actor(actor).await?;
        if let Some(sig) = rfc9421_sig {
            return self
                .receive_rfc9421(&sig, &bytes, actor, cached_before, &data)
                .await;
        }
        let first = receive_once(&parts, &bytes, &data).await;
        match first {
            Err(FediverseError::Federation(
                activitypub_federation::error::Error::ActivitySignatureInvalid,
            )) => {}
            other => return other,
        }
        // The signature failed against the key we hold. The sender may have
        // rotated its key: re-fetch once and, if the key changed, verify again.
        match self.rotated_key(actor, cached_before, &data).await? {
            Some(_) => receive_once(&parts, &bytes, &data).await,
            None => first,
        }
    }

    /// After a signature failed: re-fetches the actor (rate-limited per
    /// actor) and returns it if its key changed. Only a key that came from
    /// the cache can be stale: an actor that this request fetched (new, or
    /// refreshed as too old) has nothing newer.
    async fn rotated_key(
        &self,
        actor: &str,
        cached_before: Option<crate::store::fed::RemoteActorRow>,
        data: &Data<Arc<FedInner>>,
    ) -> Result<Option<RemoteActor>, FediverseError> {
        let Some(before) = self.inner.store.get_remote_actor(actor).await? else {
            return Ok(None);
        };
        if cached_before.is_none_or(|c| c.fetched_at != before.fetched_at) {
            return Ok(None);
        }
        if !self.inner.may_refetch(actor) {
            tracing::debug!(actor, "signature failed; key re-fetch rate-limited");
            return Ok(None);
        }
        let Ok(actor_url) = Url::parse(actor) else {
            return Ok(None);
        };
        match ObjectId::<RemoteActor>::from(actor_url)
            .dereference_forced(data)
            .await
        {
            Ok(now) if now.public_key_pem != before.public_key_pem => {
                tracing::info!(actor, "remote actor key changed; verifying again");
                Ok(Some(now))
            }
            _ => Ok(None),
        }
    }

    /// RFC 9421 path: the same checks as the library makes for draft-cavage
    /// (activity id on the actor's domain and not ours, actor fetched or read
    /// from cache by its id, signature against its key), then [`handle_verified`].
    async fn receive_rfc9421(
        &self,
        sig: &rfc9421::Rfc9421Signature,
        bytes: &[u8],
        actor: &str,
        cached_before: Option<crate::store::fed::RemoteActorRow>,
        data: &Data<Arc<FedInner>>,
    ) -> Result<(), FediverseError> {
        let activity: IncomingActivity = serde_json::from_slice(bytes)
            .map_err(|e| FediverseError::BadRequest(format!("malformed activity: {e}")))?;
        activitypub_federation::protocol::verification::verify_domains_match(
            &activity.id,
            activity.actor.inner(),
        )?;
        let ours = super::signatures::domain_of(&self.inner.settings.base_url)?;
        if super::signatures::domain_of(&activity.id).is_ok_and(|d| d == ours) {
            return Err(FediverseError::Unauthorized(
                "activity claims to come from this server".into(),
            ));
        }
        let remote = activity.actor.dereference(data).await?;
        if let Err(e) = rfc9421::verify_off_thread(sig, &remote.public_key_pem).await {
            match self.rotated_key(actor, cached_before, data).await? {
                Some(fresh) => rfc9421::verify_off_thread(sig, &fresh.public_key_pem).await?,
                None => return Err(e),
            }
        }
        tracing::debug!(key_id = %sig.key_id, "RFC 9421 signature verified");
        let outcome = handle_verified(activity, data).await?;
        tracing::debug!(?outcome, "inbox activity handled");
        Ok(())
    }
}

/// One pass of the library's checks (Digest, actor fetch or cache, signature)
/// and, when they pass, [`handle_verified`].
async fn receive_once(
    parts: &axum::http::request::Parts,
    bytes: &bytes::Bytes,
    data: &Data<Arc<FedInner>>,
) -> Result<(), FediverseError> {
    let mut req = Request::new(Body::from(bytes.clone()));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.headers_mut() = parts.headers.clone();
    let activity_data = ActivityData::from_request(req, &())
        .await
        .map_err(|_| FediverseError::BadRequest("unreadable body".into()))?;
    receive_activity::<IncomingActivity, RemoteActor, Arc<FedInner>>(activity_data, data).await
}

/// An `Update` of an actor whose key was re-fetched this recently (by the
/// signature retry for this very request) is not fetched a second time.
const KEY_REFRESHED_FOR_UPDATE: std::time::Duration = std::time::Duration::from_secs(5);

impl FedInner {
    /// Whether the signature retry re-fetched this actor within `d`.
    pub(crate) fn refetched_within(&self, actor: &str, d: std::time::Duration) -> bool {
        self.key_refetches
            .lock()
            .ok()
            .and_then(|m| m.get(actor).map(|t| t.elapsed() < d))
            .unwrap_or(false)
    }

    /// Whether the actor's key may be re-fetched now (at most once per
    /// [`KEY_REFETCH_INTERVAL`]); records the attempt when it may.
    pub(crate) fn may_refetch(&self, actor: &str) -> bool {
        let now = std::time::Instant::now();
        let Ok(mut map) = self.key_refetches.lock() else {
            return false;
        };
        if map.len() > 10_000 {
            map.retain(|_, t| now.duration_since(*t) < KEY_REFETCH_INTERVAL);
        }
        match map.get(actor) {
            Some(t) if now.duration_since(*t) < KEY_REFETCH_INTERVAL => false,
            _ => {
                map.insert(actor.to_string(), now);
                true
            }
        }
    }
}
