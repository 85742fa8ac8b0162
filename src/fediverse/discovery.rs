//! WebFinger (how `@interpolwatch@domain` becomes an actor URL) and NodeInfo
//! (how instance directories learn what software this is).

use activitypub_federation::fetch::webfinger::{Webfinger, build_webfinger_response};
use serde_json::{Value, json};

use super::signatures::domain_of;
use super::vocab::endpoint;
use super::{FedInner, FediverseError};

/// WebFinger for `acct:<username>@<domain>` (domain = `host[:port]` of
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

/// Drops `null` members (the library's WebFinger links carry
/// `"template": null`, which strict parsers reject), recursively.
pub fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// `/.well-known/host-meta`: XRD with the WebFinger (lrdd) template, for
/// servers that discover WebFinger through it.
pub fn host_meta(inner: &FedInner) -> String {
    let wf = endpoint(&inner.settings.base_url, &[".well-known", "webfinger"]);
    let template = crate::text::escape_html(&format!("{wf}?resource={{uri}}"));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" type=\"application/jrd+json\" template=\"{template}\"/>\n\
         </XRD>\n"
    )
}

/// NodeInfo schema versions we serve (older crawlers only know 2.0).
pub const NODEINFO_VERSIONS: [&str; 2] = ["2.1", "2.0"];

/// `/.well-known/nodeinfo`: where the NodeInfo documents are (2.0 and 2.1).
pub fn nodeinfo_links(inner: &FedInner) -> Value {
    let links: Vec<Value> = NODEINFO_VERSIONS
        .iter()
        .map(|v| {
            json!({
                "rel": format!("http://nodeinfo.diaspora.software/ns/schema/{v}"),
                "href": endpoint(&inner.settings.base_url, &["nodeinfo", v]),
            })
        })
        .collect();
    json!({ "links": links })
}

/// `/nodeinfo/2.0` and `/nodeinfo/2.1` (the same fields are valid in both).
pub async fn nodeinfo(inner: &FedInner, version: &str) -> Result<Value, FediverseError> {
    if !NODEINFO_VERSIONS.contains(&version) {
        return Err(FediverseError::NotFound);
    }
    let posts = inner.store.outbox_count().await?;
    Ok(json!({
        "version": version,
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
