//! WebFinger (how `@interpolwatch@domain` becomes an actor URL) and NodeInfo
//! (how instance directories learn what software this is).

use activitypub_federation::fetch::webfinger::{Webfinger, build_webfinger_response};
use serde_json::{Value, json};

use super::actor::endpoint;
use super::signatures::domain_of;
use super::{FedInner, FediverseError};

/// WebFinger for `acct:<username>@<domain>` (domain = host[:port] of
/// base_url), also accepting the actor URL itself as the resource.
pub fn webfinger(inner: &FedInner, resource: &str) -> Result<Webfinger, FediverseError> {
    let s = &inner.settings;
    let domain = domain_of(&s.base_url)?;
    let acct = format!("acct:{}@{}", s.username, domain);
    let matches = resource.eq_ignore_ascii_case(&acct)
        || resource == inner.actor.id.as_str()
        || resource.eq_ignore_ascii_case(&format!("{}@{}", s.username, domain));
    if !matches {
        return Err(FediverseError::NotFound);
    }
    let mut wf = build_webfinger_response(acct, inner.actor.id.clone());
    wf.aliases = vec![inner.actor.id.clone()];
    Ok(wf)
}

/// `/.well-known/nodeinfo`: where the NodeInfo document is.
pub fn nodeinfo_links(inner: &FedInner) -> Value {
    json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": endpoint(&inner.settings.base_url, &["nodeinfo", "2.1"]),
        }]
    })
}

/// `/nodeinfo/2.1`.
pub async fn nodeinfo(inner: &FedInner) -> Result<Value, FediverseError> {
    let posts = inner.store.outbox_count().await?;
    Ok(json!({
        "version": "2.1",
        "software": {
            "name": "feedwatch",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": ["rss2.0", "atom1.0"] },
        "openRegistrations": false,
        "usage": {
            "users": { "total": 1, "activeMonth": 1, "activeHalfyear": 1 },
            "localPosts": posts,
        },
        "metadata": { "nodeName": inner.settings.display_name },
    }))
}
