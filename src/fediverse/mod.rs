//! The bot's Fediverse face: one `Service` actor that Mastodon users follow.
//!
//! Built on `activitypub_federation` for what it does well (HTTP signature
//! creation and verification, remote object fetching with URL and IP checks,
//! WebFinger helpers, protocol types) and bypassing what does not fit:
//! its activity queue is in memory and treats most 4xx as done (logged at
//! debug), so deliveries are rows in SQLite instead (`delivery`), signed with
//! the crate's signer and sent by our worker, which sees every status code.
//!
//! Layout:
//! - `keys`: the RSA key pair in the data dir (0600, generated once, never logged);
//! - `actor`: the local `Service` actor, the remote actor type, collections;
//! - `discovery`: WebFinger and NodeInfo documents;
//! - `note`: Note and activity JSON (Create, Update, Delete, Accept, Tombstone);
//! - `compose`: a publication's activities as data ([`compose::Composer`], pure:
//!   what the publisher holds; the store writes them, the worker sends them);
//! - `inbox`: inbound activity handling (size cap, JSON, signature, dispatch);
//! - `rfc9421`: inbound RFC 9421 HTTP Message Signatures (Content-Digest);
//! - `signatures`: HTTP signature glue (outgoing signing, inbound pre-checks,
//!   remote URL safety), and Accept-header negotiation;
//! - `delivery`: the persistent queue worker and the Mastodon API publisher.
//!
//! No SQL here: everything goes through [`crate::store::fed::FedStore`].

pub mod actor;
pub mod compose;
pub mod delivery;
pub mod discovery;
pub mod inbox;
pub mod interactions;
pub mod keys;
pub mod note;
pub mod rfc9421;
pub mod signatures;
pub mod vocab;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::config::{Data, FederationConfig};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::store::fed::{FedStore, FedStoreError, FinalState};

pub use compose::Composer;
pub use delivery::DeliveryReport;

/// What the operator configures about the account.
#[derive(Debug, Clone)]
pub struct FediverseSettings {
    /// Public URL, e.g. `http://localhost:PORT`; its `host[:port]` is the Fediverse domain.
    pub base_url: Url,
    pub username: String,
    pub display_name: String,
    pub summary: String,
    pub icon_url: Option<Url>,
    /// The avatar's media type, when known (`icon.mediaType`).
    pub icon_media_type: Option<String>,
    /// The profile header (`image`) and its media type.
    pub image_url: Option<Url>,
    pub image_media_type: Option<String>,
    pub profile_links: Vec<(String, Url)>,
    /// The actor key file lives here.
    pub data_dir: PathBuf,
    /// Lets remote actors/inboxes on loopback and private ranges be fetched
    /// and delivered to (tests, local peers). Off in production.
    pub allow_private_addresses: bool,
    pub delivery_concurrency: usize,
    /// A delivery still failing this long after it was queued becomes `dead`.
    pub dead_after: Duration,
    /// The RSS feed, linked from the pinned note.
    pub feed_url: Url,
    /// `[federation] visibility`: how Notes are addressed.
    pub visibility: crate::config::PostVisibility,
}

/// Posting through an existing Mastodon account instead of (or besides) our
/// own actor, for operators without a public server.
#[derive(Clone)]
pub struct MastodonApiSettings {
    pub instance: Url,
    pub token: String,
    /// `public`, `unlisted`, `private` or `direct`.
    pub visibility: String,
}

impl std::fmt::Debug for MastodonApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MastodonApiSettings")
            .field("instance", &self.instance.as_str())
            .field("token", &"<redacted>")
            .field("visibility", &self.visibility)
            .finish()
    }
}

impl MastodonApiSettings {
    /// The same visibility as the Notes (`[federation] visibility`).
    pub fn with_visibility(self, visibility: crate::config::PostVisibility) -> Self {
        Self {
            visibility: visibility.as_str().to_string(),
            ..self
        }
    }

    /// Reads `FEEDWATCH_MASTODON_URL` and `FEEDWATCH_MASTODON_TOKEN`; `None`
    /// unless both are set.
    pub fn from_env() -> Result<Option<Self>, FediverseError> {
        let (Ok(url), Ok(token)) = (
            std::env::var("FEEDWATCH_MASTODON_URL"),
            std::env::var("FEEDWATCH_MASTODON_TOKEN"),
        ) else {
            return Ok(None);
        };
        let instance = Url::parse(&url)
            .map_err(|e| FediverseError::Config(format!("FEEDWATCH_MASTODON_URL: {e}")))?;
        Ok(Some(Self {
            instance,
            token,
            visibility: "public".into(),
        }))
    }
}

/// Errors at the module boundary; [`IntoResponse`] is the one HTTP mapping.
#[derive(Debug, thiserror::Error)]
pub enum FediverseError {
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("malformed activity: {0}")]
    BadRequest(String),
    #[error("signature rejected: {0}")]
    Unauthorized(String),
    #[error("refused: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("configuration: {0}")]
    Config(String),
    #[error("key file: {0}")]
    Keys(String),
    #[error(transparent)]
    Store(#[from] FedStoreError),
    #[error("federation: {0}")]
    Federation(#[from] activitypub_federation::error::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
}

impl From<sqlx::Error> for FediverseError {
    fn from(e: sqlx::Error) -> Self {
        FediverseError::Store(FedStoreError::Sqlx(e))
    }
}

impl FediverseError {
    fn status(&self) -> StatusCode {
        use activitypub_federation::error::Error as E;
        match self {
            FediverseError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            FediverseError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FediverseError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            FediverseError::NotFound => StatusCode::NOT_FOUND,
            FediverseError::Forbidden(_) => StatusCode::FORBIDDEN,
            FediverseError::Federation(e) => match e {
                E::ParseReceivedActivity { .. } => StatusCode::BAD_REQUEST,
                // Anything that stops us from obtaining the sender's key, or a
                // key that does not verify, means the request is not authenticated.
                E::ActivitySignatureInvalid
                | E::ActivityBodyDigestInvalid
                | E::UrlVerificationError(_)
                | E::DomainResolveError(_)
                | E::ResolveInternalIpError(..)
                | E::ObjectDeleted(_)
                | E::NotFound
                | E::FetchInvalidContentType(_)
                | E::FetchWrongId(_)
                | E::ParseFetchedObject(..)
                | E::Reqwest(_)
                | E::ReqwestMiddleware(_)
                | E::RequestLimit
                | E::ResponseBodyLimit
                | E::Other(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for FediverseError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Logged once, here, where the error is turned into an answer.
        if status.is_server_error() {
            tracing::error!(error = %self, "fediverse request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "fediverse request refused");
        }
        let msg = match status {
            StatusCode::INTERNAL_SERVER_ERROR => "internal error".to_string(),
            _ => self.to_string(),
        };
        (status, msg).into_response()
    }
}

/// State shared by handlers, the library callbacks and the worker.
pub struct FedInner {
    pub settings: FediverseSettings,
    pub store: FedStore,
    pub(crate) keys: keys::ActorKeys,
    pub(crate) actor: actor::LocalActor,
    pub(crate) client: reqwest_middleware::ClientWithMiddleware,
    pub(crate) mastodon: Option<MastodonApiSettings>,
    /// Composes activities as data (no I/O); shared with the publisher.
    pub(crate) composer: compose::Composer,
    /// Wakes the delivery worker when rows are queued.
    pub(crate) wake: tokio::sync::Notify,
    /// When each remote actor's key was last re-fetched after a failed
    /// signature (rate limit, see `inbox::KEY_REFETCH_INTERVAL`).
    pub(crate) key_refetches:
        std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// `[federation] blocked_domains`, swapped on reload.
    pub(crate) blocked_domains: std::sync::RwLock<Vec<String>>,
    /// The address guard of `client`, also asked before each delivery.
    pub(crate) resolver: crate::infra::netguard::GuardedResolver,
}

impl FedInner {
    /// Whether `host` is a blocked domain or a subdomain of one.
    pub(crate) fn is_blocked_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.blocked_domains.read().is_ok_and(|list| {
            list.iter().any(|d| {
                host == *d
                    || host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
        })
    }

    /// Whether the URL's host is blocked (unparsable URLs count as blocked).
    pub(crate) fn is_blocked_url(&self, url: &str) -> bool {
        match Url::parse(url).ok().as_ref().and_then(Url::host_str) {
            Some(h) => self.is_blocked_host(h),
            None => true,
        }
    }
}

/// The Fediverse service: cheap to clone.
#[derive(Clone)]
pub struct Fediverse {
    pub(crate) inner: Arc<FedInner>,
    pub(crate) config: FederationConfig<Arc<FedInner>>,
    pub(crate) delivery_timeout: Duration,
}

impl Fediverse {
    /// Loads (or creates, first run) the key pair and wires the federation
    /// library to our HTTP client and store. The store must be migrated.
    pub async fn new(
        settings: FediverseSettings,
        store: FedStore,
        mastodon: Option<MastodonApiSettings>,
    ) -> Result<Self, FediverseError> {
        let resolver =
            crate::infra::netguard::GuardedResolver::new(!settings.allow_private_addresses);
        Self::with_resolver(settings, store, mastodon, resolver).await
    }

    /// [`Fediverse::new`] with the address guard given: deliveries and actor
    /// fetches resolve names through `resolver` (tests map a public-looking
    /// name to 127.0.0.1 with it; it must validate unless
    /// `allow_private_addresses`).
    pub async fn with_resolver(
        settings: FediverseSettings,
        store: FedStore,
        mastodon: Option<MastodonApiSettings>,
        resolver: crate::infra::netguard::GuardedResolver,
    ) -> Result<Self, FediverseError> {
        let dir = settings.data_dir.clone();
        let keys = tokio::task::spawn_blocking(move || keys::load_or_create(&dir))
            .await
            .map_err(|e| FediverseError::Keys(e.to_string()))??;
        let domain = signatures::domain_of(&settings.base_url)?;
        let actor = actor::LocalActor::new(&settings, &keys)?;
        let user_agent = signatures::user_agent(&settings.base_url, &actor.id);
        let client = signatures::http_client_with(resolver.clone(), &user_agent)?;
        let composer =
            compose::Composer::new(settings.clone(), actor.id.clone(), mastodon.as_ref());
        let inner = Arc::new(FedInner {
            composer,
            settings,
            store,
            keys,
            actor: actor.clone(),
            client: client.clone(),
            mastodon,
            wake: tokio::sync::Notify::new(),
            key_refetches: Default::default(),
            blocked_domains: Default::default(),
            resolver,
        });
        let allow_private = inner.settings.allow_private_addresses;
        let config = FederationConfig::builder()
            .domain(domain)
            .app_data(inner.clone())
            .client(client)
            // `debug` is the library's switch for http://, explicit ports and
            // loopback/private addresses; it is exactly our test/local mode.
            // (Its other effect, synchronous sending, concerns the queue we bypass.)
            .debug(allow_private)
            .allow_http_urls(allow_private)
            .request_timeout(Duration::from_secs(10))
            // Draft-cavage signatures with a Date header: what Mastodon and
            // most servers verify. Also signs our fetches (secure mode).
            .http_signature_compat(true)
            .signed_fetch_actor(&actor)
            .build()
            .await
            .map_err(|e| FediverseError::Config(e.to_string()))?;
        Ok(Self {
            inner,
            config,
            delivery_timeout: delivery::DELIVERY_TIMEOUT,
        })
    }

    /// Sets `[federation] blocked_domains` (lowercase host names; each
    /// blocks its subdomains too), then removes followers on those domains
    /// and drops deliveries queued for them. Called at start-up and on reload.
    /// Returns (followers removed, deliveries dropped).
    pub async fn set_blocked_domains(
        &self,
        domains: Vec<String>,
    ) -> Result<(u64, u64), FediverseError> {
        if let Ok(mut list) = self.inner.blocked_domains.write() {
            *list = domains;
        }
        let store = &self.inner.store;
        let mut removed = 0;
        for f in store.followers(i64::MAX).await? {
            if self.inner.is_blocked_url(&f.actor_id)
                || self.inner.is_blocked_url(&f.inbox)
                || f.shared_inbox
                    .as_deref()
                    .is_some_and(|s| self.inner.is_blocked_url(s))
            {
                removed += store.remove_follower(&f.actor_id).await?;
            }
        }
        let mut dropped = 0;
        for (id, target) in store.pending_activitypub_targets().await? {
            if self.inner.is_blocked_url(&target) {
                store
                    .mark_final(id, FinalState::Failed, None, "domain blocked")
                    .await?;
                dropped += 1;
            }
        }
        if removed + dropped > 0 {
            tracing::info!(
                removed_followers = removed,
                dropped_deliveries = dropped,
                "blocked domains applied"
            );
        }
        Ok((removed, dropped))
    }

    /// Whether `host` is blocked by `[federation] blocked_domains`.
    pub fn is_blocked_host(&self, host: &str) -> bool {
        self.inner.is_blocked_host(host)
    }

    /// Overrides the per-delivery timeout (default 10 s); tests use a short one.
    pub fn with_delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    pub fn settings(&self) -> &FediverseSettings {
        &self.inner.settings
    }

    pub fn store(&self) -> &FedStore {
        &self.inner.store
    }

    /// The actor's id, `{base_url}/users/{username}`.
    pub fn actor_id(&self) -> &Url {
        &self.inner.actor.id
    }

    /// The federation library's request context.
    pub fn data(&self) -> Data<Arc<FedInner>> {
        self.config.to_request_data()
    }
}

/// What a Note URL shows.
#[derive(Debug, Clone)]
pub enum NoteView {
    /// The Note (with `@context`) and the story's HTML page.
    Live {
        json: serde_json::Value,
        page_url: Url,
    },
    /// A `Tombstone`, served with 410 Gone.
    Gone(serde_json::Value),
}

/// Documents served by the web routes.
impl Fediverse {
    pub fn webfinger(
        &self,
        resource: &str,
    ) -> Result<activitypub_federation::fetch::webfinger::Webfinger, FediverseError> {
        discovery::webfinger(&self.inner, resource)
    }

    pub fn nodeinfo_links(&self) -> serde_json::Value {
        discovery::nodeinfo_links(&self.inner)
    }

    /// The NodeInfo document in schema `version` ("2.0" or "2.1").
    pub async fn nodeinfo(&self, version: &str) -> Result<serde_json::Value, FediverseError> {
        discovery::nodeinfo(&self.inner, version).await
    }

    /// WebFinger as JSON without `null` members.
    pub fn webfinger_json(&self, resource: &str) -> Result<serde_json::Value, FediverseError> {
        let wf = discovery::webfinger(&self.inner, resource)?;
        Ok(discovery::without_nulls(serde_json::to_value(wf)?))
    }

    /// `/.well-known/host-meta` (XRD).
    pub fn host_meta(&self) -> String {
        discovery::host_meta(&self.inner)
    }

    pub fn actor_json(&self) -> serde_json::Value {
        actor::actor_json(&self.inner)
    }

    pub async fn outbox_json(
        &self,
        page: Option<u32>,
    ) -> Result<serde_json::Value, FediverseError> {
        actor::outbox_json(&self.inner, page).await
    }

    pub async fn followers_json(&self) -> Result<serde_json::Value, FediverseError> {
        actor::followers_json(&self.inner).await
    }

    pub fn following_json(&self) -> serde_json::Value {
        actor::following_json(&self.inner)
    }

    pub fn featured_json(&self) -> serde_json::Value {
        actor::featured_json(&self.inner)
    }

    pub fn pinned_json(&self) -> serde_json::Value {
        let mut v = note::pinned_note(&self.inner.settings, &self.inner.actor.id);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("@context".into(), vocab::context());
        }
        v
    }

    /// The Note for `story_id`, its Tombstone if deleted, or `NotFound`.
    pub async fn note_view(&self, story_id: &str) -> Result<NoteView, FediverseError> {
        let row = self
            .inner
            .store
            .get_note(story_id)
            .await?
            .ok_or(FediverseError::NotFound)?;
        if let Some(deleted) = row.deleted_at {
            return Ok(NoteView::Gone(note::tombstone(&row.note_id, deleted)));
        }
        let mut json: serde_json::Value = serde_json::from_str(&row.json)?;
        let page_url = json
            .get("url")
            .and_then(serde_json::Value::as_str)
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| self.inner.settings.base_url.clone());
        if let Some(obj) = json.as_object_mut() {
            obj.insert("@context".into(), vocab::context());
        }
        Ok(NoteView::Live { json, page_url })
    }
}
