//! The Fediverse vocabulary: how our ids and URLs are built, the JSON-LD
//! `@context` of everything we serve, and the time format of documents.
//!
//! A leaf: it imports nothing from the rest of `fediverse`, so the actor,
//! the Note builder, discovery and delivery all depend on it and not on each
//! other.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use url::Url;

/// Builds `{base}/{segments...}` with each segment percent-encoded.
pub fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    url
}

/// Id of a story's Note: `{base_url}/notes/{story_id}`.
pub fn note_id(base: &Url, story_id: &str) -> Url {
    endpoint(base, &["notes", story_id])
}

/// Id of an activity: `{base_url}/activities/{kind}/{parts...}`.
pub fn activity_id(base: &Url, kind: &str, parts: &[&str]) -> Url {
    let mut segs = vec!["activities", kind];
    segs.extend_from_slice(parts);
    endpoint(base, &segs)
}

/// The `@context` of everything we serve: ActivityStreams, the security
/// vocabulary (without it JSON-LD peers drop `publicKey` and reject every
/// signature), and the Mastodon/schema.org terms we use, inline so peers
/// never need to fetch an extra context document.
pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value"
        }
    ])
}

/// Times in documents: RFC 3339, whole seconds, `Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_percent_encoded_paths_under_the_base() {
        let base = Url::parse("https://news.example/fw/?q=1#x").expect("test url");
        assert_eq!(
            note_id(&base, "a b/c").as_str(),
            "https://news.example/fw/notes/a%20b%2Fc"
        );
        assert_eq!(
            activity_id(&base, "update", &["s1", "2025-01-01T00:00:00Z"]).as_str(),
            "https://news.example/fw/activities/update/s1/2025-01-01T00:00:00Z"
        );
        assert_eq!(endpoint(&base, &[]).as_str(), "https://news.example/fw");
    }

    #[test]
    fn times_are_whole_seconds_in_utc() {
        let t = DateTime::parse_from_rfc3339("2025-03-04T05:06:07.891+08:00")
            .expect("test time")
            .with_timezone(&Utc);
        assert_eq!(rfc3339(t), "2025-03-03T21:06:07Z");
    }

    #[test]
    fn context_carries_the_security_vocabulary() {
        let c = context();
        assert_eq!(c[1], "https://w3id.org/security/v1");
        assert_eq!(c[2]["Hashtag"], "as:Hashtag");
    }
}
