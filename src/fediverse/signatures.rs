//! HTTP glue around `activitypub_federation`: the outgoing client, signing
//! of deliveries, checks on inbound `Signature` headers that the library does
//! not make, remote-URL safety, and Accept-header negotiation.

use std::time::{Duration, SystemTime};

use activitypub_federation::config::Data;
use axum::http::HeaderMap;
use bytes::Bytes;
use reqwest::redirect::Policy;
use reqwest_middleware::ClientWithMiddleware;
use url::Url;

use super::{FedInner, FediverseError};
use std::sync::Arc;

/// Media type of every ActivityPub document we serve and send.
pub const AP_CONTENT_TYPE: &str = "application/activity+json";

/// How far a request's `Date` may be from our clock. The library only checks
/// the past side (one hour); a date far in the future would let a captured
/// request be replayed for longer, so both sides are bounded here.
pub const SIGNATURE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// `host[:port]` of the base URL: the Fediverse domain (WebFinger, `is_local`).
pub fn domain_of(base: &Url) -> Result<String, FediverseError> {
    let host = base
        .host_str()
        .ok_or_else(|| FediverseError::Config(format!("base_url {base} has no host")))?;
    Ok(match base.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// The client for all outgoing requests (fetches and deliveries).
///
/// Redirects: automatic redirects are off (`Policy::none()`), because a
/// redirect could point a checked public URL at an internal address. The
/// library's fetcher follows at most one redirect by hand and re-runs its URL
/// checks on the new location; deliveries never follow redirects (a 3xx from
/// an inbox is a failed delivery). The DNS resolver re-checks every resolved
/// address at connect time, which also closes the DNS-rebinding gap between
/// the check and the connection. IP-literal hosts never reach the resolver:
/// the library's URL check refuses them (it requires a domain).
pub fn http_client(
    allow_private: bool,
    user_agent: &str,
) -> Result<ClientWithMiddleware, FediverseError> {
    http_client_with(
        crate::infra::netguard::GuardedResolver::new(!allow_private),
        user_agent,
    )
}

/// [`http_client`] resolving names through `resolver` (tests give it fixed
/// answers that map a public-looking name to 127.0.0.1).
pub fn http_client_with(
    resolver: crate::infra::netguard::GuardedResolver,
    user_agent: &str,
) -> Result<ClientWithMiddleware, FediverseError> {
    let timeout = Duration::from_secs(10);
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(user_agent)
        // The same guard as article fetches (one table of ranges, one resolver).
        .dns_resolver(Arc::new(resolver))
        .build()?;
    Ok(ClientWithMiddleware::from(client))
}

/// The User-Agent of federation requests: it names the software, the bot's
/// public URL and its actor, as remote admins expect
/// (`feedwatch/0.1.0 (+https://example.org/; bot https://example.org/users/x)`).
pub fn user_agent(base: &Url, actor: &Url) -> String {
    format!(
        "feedwatch/{} (+{base}; bot {actor})",
        env!("CARGO_PKG_VERSION")
    )
}

/// Refuses inbox URLs we must not POST to: non-https (unless local mode) and
/// hosts that resolve to loopback/private ranges (every address is checked
/// by the same guarded resolver the client connects through).
pub async fn check_remote_url(url: &Url, data: &Data<Arc<FedInner>>) -> Result<(), FediverseError> {
    let allow_private = data.settings.allow_private_addresses;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        s => {
            return Err(FediverseError::BadRequest(format!(
                "scheme {s} not allowed"
            )));
        }
    }
    if !allow_private {
        if url.domain().is_none() {
            return Err(FediverseError::BadRequest(
                "IP literal hosts not allowed".into(),
            ));
        }
        let host = url.host_str().unwrap_or_default();
        data.resolver
            .lookup(host, url.port_or_known_default().unwrap_or(443))
            .await
            .map_err(|e| FediverseError::Forbidden(e.to_string()))?;
    }
    Ok(())
}

/// Signs a POST of `body` to `inbox` as our actor (draft-cavage, RSA-SHA256,
/// headers `(request-target) content-type date digest host`) with the
/// library's signer, and returns the request ready to send. The library labels
/// the signature `algorithm="hs2019"`; it is relabelled `rsa-sha256`, what
/// most servers send and some require. The label is not part of the signed
/// string, so the signature stays valid. The RSA signing and the body digest
/// run on tokio's blocking pool (the signer's default spawner), never on the
/// async threads.
pub async fn signed_post(
    data: &Data<Arc<FedInner>>,
    inbox: &Url,
    body: Bytes,
) -> Result<reqwest::Request, FediverseError> {
    let host = domain_of(inbox)?;
    let builder = data
        .client
        .post(inbox.as_str())
        .header("content-type", AP_CONTENT_TYPE)
        .header("accept", AP_CONTENT_TYPE)
        // Host and Date are set explicitly: the signature covers them, and
        // reqwest would only add Host after signing.
        .header("host", host)
        .header("date", httpdate::fmt_http_date(SystemTime::now()));
    let mut req = data.sign_request(builder, body).await?;
    relabel_rsa_sha256(req.headers_mut());
    Ok(req)
}

/// Rewrites `algorithm="hs2019"` to `algorithm="rsa-sha256"` in a draft-cavage
/// `Signature` header (our key is RSA and the hash SHA-256, so both name it).
pub fn relabel_rsa_sha256(headers: &mut reqwest::header::HeaderMap) {
    let Some(sig) = headers.get("signature").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let relabelled = sig.replace(r#"algorithm="hs2019""#, r#"algorithm="rsa-sha256""#);
    if let Ok(v) = reqwest::header::HeaderValue::from_str(&relabelled) {
        headers.insert("signature", v);
    }
}

/// Parsed parameters of a `Signature` header.
#[derive(Debug, Default)]
struct SigParams {
    key_id: Option<String>,
    algorithm: Option<String>,
    headers: Option<String>,
    created: Option<String>,
}

fn parse_signature_header(value: &str) -> SigParams {
    let mut p = SigParams::default();
    for part in value.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "keyid" => p.key_id = Some(v),
            "algorithm" => p.algorithm = Some(v),
            "headers" => p.headers = Some(v),
            "created" => p.created = Some(v),
            _ => {}
        }
    }
    p
}

/// Checks the parts of an inbound signature the library leaves open, before
/// any network work: a `Signature` header exists, the algorithm is
/// `rsa-sha256` or `hs2019` (the only ones we verify, both RSA-SHA256), the
/// signed headers cover `(request-target)`, `digest` and `date`/`(created)`,
/// and the `Date` is within [`SIGNATURE_WINDOW`] of now. The library then
/// checks the Digest against the body and the signature against the key.
pub fn precheck_signature(headers: &HeaderMap, now: SystemTime) -> Result<String, FediverseError> {
    let unauthorized = |m: &str| FediverseError::Unauthorized(m.to_string());
    let raw = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing Signature header"))?;
    let p = parse_signature_header(raw);
    let key_id = p
        .key_id
        .ok_or_else(|| unauthorized("signature without keyId"))?;
    match p
        .algorithm
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("rsa-sha256") | Some("hs2019") => {}
        Some(_) => return Err(unauthorized("unsupported signature algorithm")),
    }
    let signed: Vec<String> = p
        .headers
        .as_deref()
        .unwrap_or("date")
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let covers = |h: &str| signed.iter().any(|s| s == h);
    if !covers("(request-target)") || !covers("digest") {
        return Err(unauthorized(
            "signature must cover (request-target) and digest",
        ));
    }
    if covers("date") {
        let date = headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .ok_or_else(|| unauthorized("missing or invalid Date header"))?;
        within_window(date, now)?;
    } else if covers("(created)") {
        let created = p
            .created
            .and_then(|c| c.parse::<u64>().ok())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .ok_or_else(|| unauthorized("invalid (created)"))?;
        within_window(created, now)?;
    } else {
        return Err(unauthorized("signature must cover date or (created)"));
    }
    if headers.get("digest").is_none() {
        return Err(unauthorized("missing Digest header"));
    }
    Ok(key_id)
}

fn within_window(t: SystemTime, now: SystemTime) -> Result<(), FediverseError> {
    let skew = match now.duration_since(t) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > SIGNATURE_WINDOW {
        return Err(FediverseError::Unauthorized(
            "signature date outside the allowed window".into(),
        ));
    }
    Ok(())
}

/// Whether a request wants ActivityPub JSON rather than HTML, from its
/// `Accept` header with q-values: ActivityPub wins when one of its types
/// (`application/activity+json`, `application/ld+json`) has a q greater than
/// zero and at least the q of any HTML match (`text/html`,
/// `application/xhtml+xml`, `text/*`, `*/*`). Wildcards never select JSON:
/// a browser or `curl` gets the HTML page.
pub fn wants_activity_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let (mut ap_q, mut html_q) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut profile: Option<String> = None;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0),
                    "profile" => profile = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        match media.as_str() {
            "application/activity+json" => ap_q = ap_q.max(q),
            "application/ld+json" => {
                // Without a profile or with the ActivityStreams one.
                let ok = profile.as_deref().is_none_or(|p| {
                    p.split_whitespace()
                        .any(|p| p == "https://www.w3.org/ns/activitystreams")
                });
                if ok {
                    ap_q = ap_q.max(q);
                }
            }
            "text/html" | "application/xhtml+xml" | "text/*" | "*/*" => html_q = html_q.max(q),
            _ => {}
        }
    }
    ap_q > 0.0 && ap_q >= html_q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(wants_activity_json(Some("application/activity+json")));
        assert!(wants_activity_json(Some(
            r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
        )));
        assert!(wants_activity_json(Some(
            "application/activity+json, application/ld+json"
        )));
        assert!(!wants_activity_json(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(Some("*/*")));
        assert!(!wants_activity_json(None));
        assert!(!wants_activity_json(Some(
            "application/activity+json;q=0, text/html"
        )));
        assert!(!wants_activity_json(Some(
            "text/html, application/activity+json;q=0.5"
        )));
        assert!(wants_activity_json(Some(
            "text/html;q=0.4, application/activity+json;q=0.5"
        )));
        assert!(!wants_activity_json(Some(
            r#"application/ld+json; profile="https://example.com/other""#
        )));
    }

    #[test]
    fn precheck_rejects_unknown_algorithm_and_old_dates() {
        let now = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert("digest", "SHA-256=x".parse().expect("test input"));
        h.insert(
            "date",
            httpdate::fmt_http_date(now).parse().expect("test input"),
        );
        h.insert(
            "signature",
            r#"keyId="https://a.example/u#k",algorithm="hmac-sha256",headers="(request-target) date digest",signature="x""#
                .parse()
                .expect("test input"),
        );
        assert!(precheck_signature(&h, now).is_err());
        h.insert(
            "signature",
            r#"keyId="https://a.example/u#k",algorithm="rsa-sha256",headers="(request-target) date digest",signature="x""#
                .parse()
                .expect("test input"),
        );
        assert!(precheck_signature(&h, now).is_ok());
        let old = now - Duration::from_secs(3 * 3600);
        h.insert(
            "date",
            httpdate::fmt_http_date(old).parse().expect("test input"),
        );
        assert!(precheck_signature(&h, now).is_err());
    }

    /// Headers of a draft-cavage request signed over `signed` with `extra`
    /// signature parameters, dated `date`.
    fn cavage(signed: &str, extra: &str, date: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("digest", "SHA-256=x".parse().expect("test input"));
        h.insert(
            "date",
            httpdate::fmt_http_date(date).parse().expect("test input"),
        );
        h.insert(
            "signature",
            format!(r#"keyId="https://a.example/u#k",headers="{signed}"{extra},signature="x""#)
                .parse()
                .expect("test input"),
        );
        h
    }

    #[test]
    fn precheck_returns_the_key_id_and_needs_target_digest_and_a_date() {
        // Whole seconds: HTTP dates carry no fractions.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let all = "(request-target) host date digest";
        for alg in ["", r#",algorithm="hs2019""#, r#",algorithm="RSA-SHA256""#] {
            assert_eq!(
                precheck_signature(&cavage(all, alg, now), now).expect("accepted"),
                "https://a.example/u#k",
                "{alg}"
            );
        }
        for signed in [
            "host date digest",
            "(request-target) host date",
            "(request-target) digest",
        ] {
            assert!(
                precheck_signature(&cavage(signed, "", now), now).is_err(),
                "{signed}"
            );
        }
        let mut no_digest = cavage(all, "", now);
        no_digest.remove("digest");
        assert!(precheck_signature(&no_digest, now).is_err());
        let mut no_key = cavage(all, "", now);
        no_key.insert(
            "signature",
            r#"headers="(request-target) date digest""#
                .parse()
                .expect("test input"),
        );
        assert!(precheck_signature(&no_key, now).is_err());
        assert!(precheck_signature(&HeaderMap::new(), now).is_err());

        // `(created)` instead of a Date header.
        let created = |t: u64| format!(",created={t}");
        let signed = "(request-target) (created) digest";
        let mut h = cavage(signed, &created(1_700_000_000), now);
        h.remove("date");
        assert!(precheck_signature(&h, now).is_ok());
        for bad in [
            created(1_700_000_000 - 7200),
            ",created=soon".to_string(),
            String::new(),
        ] {
            let mut h = cavage(signed, &bad, now);
            h.remove("date");
            assert!(precheck_signature(&h, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_date_window_is_inclusive_both_ways() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let second = Duration::from_secs(1);
        for t in [now, now - SIGNATURE_WINDOW, now + SIGNATURE_WINDOW] {
            assert!(within_window(t, now).is_ok());
        }
        for t in [
            now - SIGNATURE_WINDOW - second,
            now + SIGNATURE_WINDOW + second,
        ] {
            assert!(within_window(t, now).is_err());
        }
        let all = "(request-target) date digest";
        assert!(precheck_signature(&cavage(all, "", now - SIGNATURE_WINDOW), now).is_ok());
        assert!(
            precheck_signature(&cavage(all, "", now + SIGNATURE_WINDOW + second), now).is_err()
        );
    }
}
