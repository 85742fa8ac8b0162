//! The local `Service` actor, the remote actor type the library fetches and
//! caches, and the actor's collections (outbox, followers, featured).

use std::sync::Arc;

use activitypub_federation::config::Data;
use activitypub_federation::protocol::public_key::PublicKey;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::keys::ActorKeys;
use super::note;
use super::vocab::{context, endpoint, rfc3339};
use super::{FedInner, FediverseError, FediverseSettings};
use crate::store::fed::RemoteActorRow;
use crate::text::escape_html;

/// Outbox page size.
pub const OUTBOX_PAGE_SIZE: i64 = 20;

/// Our own actor. It implements the library's `Actor` so that the library
/// can sign with its key (`signed_fetch_actor`).
#[derive(Debug, Clone)]
pub struct LocalActor {
    pub id: Url,
    pub inbox: Url,
    public_key_pem: String,
    private_key_pem: String,
}

impl LocalActor {
    pub fn new(settings: &FediverseSettings, keys: &ActorKeys) -> Result<Self, FediverseError> {
        let id = endpoint(&settings.base_url, &["users", &settings.username]);
        Ok(Self {
            inbox: endpoint(&id, &["inbox"]),
            id,
            public_key_pem: keys.public_key_pem.clone(),
            private_key_pem: keys.private_key_pem().to_string(),
        })
    }
}

#[async_trait]
impl Object for LocalActor {
    type DataType = Arc<FedInner>;
    type Kind = Value;
    type Error = FediverseError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        id: Url,
        data: &Data<Self::DataType>,
    ) -> Result<Option<Self>, Self::Error> {
        Ok((id == data.actor.id).then(|| data.actor.clone()))
    }

    async fn into_json(self, data: &Data<Self::DataType>) -> Result<Value, Self::Error> {
        Ok(actor_json(data))
    }

    async fn verify(_: &Value, _: &Url, _: &Data<Self::DataType>) -> Result<(), Self::Error> {
        Err(FediverseError::BadRequest(
            "the local actor is never received".into(),
        ))
    }

    async fn from_json(_: Value, _: &Data<Self::DataType>) -> Result<Self, Self::Error> {
        Err(FediverseError::BadRequest(
            "the local actor is never received".into(),
        ))
    }
}

impl Actor for LocalActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }
    fn private_key_pem(&self) -> Option<String> {
        Some(self.private_key_pem.clone())
    }
    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}

/// The actor document (`Service`).
pub fn actor_json(inner: &FedInner) -> Value {
    let s = &inner.settings;
    let id = &inner.actor.id;
    let attachment: Vec<Value> = s
        .profile_links
        .iter()
        .map(|(name, url)| {
            let esc = escape_html(url.as_str());
            json!({
                "type": "PropertyValue",
                "name": name,
                "value": format!(
                    r#"<a href="{esc}" rel="me nofollow noopener noreferrer" target="_blank">{esc}</a>"#
                ),
            })
        })
        .collect();
    let mut doc = json!({
        "@context": context(),
        "id": id,
        "type": "Service",
        "preferredUsername": s.username,
        "name": s.display_name,
        "summary": format!("<p>{}</p>", escape_html(&s.summary)),
        "url": s.base_url,
        "inbox": inner.actor.inbox,
        "outbox": endpoint(id, &["outbox"]),
        "followers": endpoint(id, &["followers"]),
        "following": endpoint(id, &["following"]),
        "featured": endpoint(id, &["collections", "featured"]),
        "endpoints": { "sharedInbox": endpoint(&s.base_url, &["inbox"]) },
        "publicKey": inner.actor.public_key(),
        "attachment": attachment,
        "published": rfc3339(inner.keys.created),
        "manuallyApprovesFollowers": false,
        "discoverable": true,
        "indexable": true,
    });
    // Avatar (`icon`) and header (`image`), as Mastodon reads them.
    let images = [
        ("icon", &s.icon_url, &s.icon_media_type),
        ("image", &s.image_url, &s.image_media_type),
    ];
    for (key, url, media_type) in images {
        if let (Some(url), Some(obj)) = (url, doc.as_object_mut()) {
            let mut img = json!({ "type": "Image", "url": url });
            if let (Some(mt), Some(o)) = (media_type, img.as_object_mut()) {
                o.insert("mediaType".into(), json!(mt));
            }
            obj.insert(key.into(), img);
        }
    }
    doc
}

/// Followers collection: the count only (member lists are private, as on Mastodon).
pub async fn followers_json(inner: &FedInner) -> Result<Value, FediverseError> {
    let total = inner.store.follower_count().await?;
    Ok(json!({
        "@context": context(),
        "id": endpoint(&inner.actor.id, &["followers"]),
        "type": "OrderedCollection",
        "totalItems": total,
    }))
}

/// Following collection: the bot follows nobody.
pub fn following_json(inner: &FedInner) -> Value {
    json!({
        "@context": context(),
        "id": endpoint(&inner.actor.id, &["following"]),
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    })
}

/// Featured (pinned) collection: the "about this bot" note.
pub fn featured_json(inner: &FedInner) -> Value {
    json!({
        "@context": context(),
        "id": endpoint(&inner.actor.id, &["collections", "featured"]),
        "type": "OrderedCollection",
        "totalItems": 1,
        "orderedItems": [note::pinned_note(&inner.settings, &inner.actor.id)],
    })
}

/// Outbox: the collection (no `page`) or one page (1-based) of Create activities.
pub async fn outbox_json(inner: &FedInner, page: Option<u32>) -> Result<Value, FediverseError> {
    let outbox = endpoint(&inner.actor.id, &["outbox"]);
    let total = inner.store.outbox_count().await?;
    let page_url = |n: i64| {
        let mut u = outbox.clone();
        u.set_query(Some(&format!("page={n}")));
        u
    };
    let Some(page) = page else {
        return Ok(json!({
            "@context": context(),
            "id": outbox,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": page_url(1),
            "last": page_url(((total + OUTBOX_PAGE_SIZE - 1) / OUTBOX_PAGE_SIZE).max(1)),
        }));
    };
    let page = i64::from(page.max(1));
    let rows = inner
        .store
        .outbox_page(OUTBOX_PAGE_SIZE, (page - 1) * OUTBOX_PAGE_SIZE)
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let note: Value = serde_json::from_str(&r.json)?;
        items.push(note::create_activity(
            &r.create_id,
            &inner.actor.id,
            note,
            false,
        ));
    }
    let mut doc = json!({
        "@context": context(),
        "id": page_url(page),
        "type": "OrderedCollectionPage",
        "partOf": outbox,
        "totalItems": total,
        "orderedItems": items,
    });
    if let Some(obj) = doc.as_object_mut() {
        if page * OUTBOX_PAGE_SIZE < total {
            obj.insert("next".into(), json!(page_url(page + 1)));
        }
        if page > 1 {
            obj.insert("prev".into(), json!(page_url(page - 1)));
        }
    }
    Ok(doc)
}

/// A remote actor, as far as we need it: where to deliver and how to verify.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: Url,
    pub inbox: Url,
    pub shared_inbox: Option<Url>,
    pub public_key_pem: String,
    pub fetched_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RemoteEndpoints {
    #[serde(
        rename = "sharedInbox",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub shared_inbox: Option<Url>,
}

/// The fields we read from a fetched actor document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteActorJson {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub inbox: Url,
    #[serde(default)]
    pub endpoints: Option<RemoteEndpoints>,
    pub public_key: PublicKey,
}

impl RemoteActor {
    fn from_row(r: RemoteActorRow) -> Option<Self> {
        Some(Self {
            id: r.id.parse().ok()?,
            inbox: r.inbox.parse().ok()?,
            shared_inbox: r.shared_inbox.and_then(|s| s.parse().ok()),
            public_key_pem: r.public_key_pem,
            fetched_at: r.fetched_at,
        })
    }
}

#[async_trait]
impl Object for RemoteActor {
    type DataType = Arc<FedInner>;
    type Kind = RemoteActorJson;
    type Error = FediverseError;

    fn id(&self) -> &Url {
        &self.id
    }

    /// Lets the library refetch stale cache entries (it falls back to the
    /// cached copy when the refetch fails).
    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.fetched_at)
    }

    async fn read_from_id(
        id: Url,
        data: &Data<Self::DataType>,
    ) -> Result<Option<Self>, Self::Error> {
        Ok(data
            .store
            .get_remote_actor(id.as_str())
            .await?
            .and_then(RemoteActor::from_row))
    }

    /// Called by the library when a refetch answers 410: the actor is gone.
    async fn delete(&self, data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        data.store.remove_follower(self.id.as_str()).await?;
        data.store.delete_remote_actor(self.id.as_str()).await?;
        Ok(())
    }

    async fn into_json(self, _: &Data<Self::DataType>) -> Result<RemoteActorJson, Self::Error> {
        Ok(RemoteActorJson {
            id: self.id.clone(),
            kind: "Person".into(),
            inbox: self.inbox.clone(),
            endpoints: Some(RemoteEndpoints {
                shared_inbox: self.shared_inbox.clone(),
            }),
            public_key: self.public_key(),
        })
    }

    /// The document must come from the actor's own domain, and so must its key.
    async fn verify(
        json: &RemoteActorJson,
        expected_domain: &Url,
        _: &Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        verify_domains_match(&json.id, expected_domain)?;
        verify_domains_match(&json.public_key.owner, &json.id)?;
        if json.public_key.owner != json.id {
            return Err(FediverseError::Unauthorized(
                "publicKey.owner is not the actor".into(),
            ));
        }
        Ok(())
    }

    async fn from_json(
        json: RemoteActorJson,
        data: &Data<Self::DataType>,
    ) -> Result<Self, Self::Error> {
        let actor = RemoteActor {
            id: json.id,
            inbox: json.inbox,
            shared_inbox: json.endpoints.and_then(|e| e.shared_inbox),
            public_key_pem: json.public_key.public_key_pem,
            fetched_at: Utc::now(),
        };
        data.store
            .upsert_remote_actor(&RemoteActorRow {
                id: actor.id.to_string(),
                inbox: actor.inbox.to_string(),
                shared_inbox: actor.shared_inbox.as_ref().map(Url::to_string),
                public_key_pem: actor.public_key_pem.clone(),
                fetched_at: actor.fetched_at,
            })
            .await?;
        Ok(actor)
    }
}

impl Actor for RemoteActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }
    fn private_key_pem(&self) -> Option<String> {
        None
    }
    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
    fn shared_inbox(&self) -> Option<Url> {
        self.shared_inbox.clone()
    }
}
