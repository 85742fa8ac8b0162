//! Inbound RFC 9421 HTTP Message Signatures (the standard that Mastodon 4.4+
//! verifies and Fedify-based servers try first), for `rsa-v1_5-sha256` keys,
//! with the body bound by RFC 9530 `Content-Digest`.
//!
//! No well-kept crate fitted: the candidates were 0.0.x/0.1 releases or
//! pulled in a second crypto stack, while verification needs only a parser
//! for the small subset of Structured Fields that `Signature-Input` and
//! `Signature` use, the signature base of RFC 9421 §2.5, and the `rsa` and
//! `sha2` crates we already build. Signing stays draft-cavage (what every
//! server accepts).
//!
//! Checks, all before any network work: a `Signature-Input` member with a
//! matching `Signature` member; covered components include `@method`, the
//! target (`@target-uri`, or `@path`/`@request-target`) and `content-digest`;
//! `created` within [`super::signatures::SIGNATURE_WINDOW`] and `expires` not
//! passed; `alg` absent or `rsa-v1_5-sha256`; and a `Content-Digest` whose
//! sha-256/sha-512 values match the body. The key check then runs against the
//! activity actor's published key, as for draft-cavage.

use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256, Sha512};

use super::FediverseError;
use super::signatures::SIGNATURE_WINDOW;

/// One signature of a request, ready to be checked against a key.
#[derive(Debug, Clone)]
pub struct Rfc9421Signature {
    pub key_id: String,
    /// The exact bytes that were signed (RFC 9421 §2.5).
    pub base: String,
    pub signature: Vec<u8>,
}

fn unauthorized(m: impl Into<String>) -> FediverseError {
    FediverseError::Unauthorized(m.into())
}

/// Whether the request carries an RFC 9421 signature (rather than draft-cavage).
pub fn is_rfc9421(headers: &HeaderMap) -> bool {
    headers.contains_key("signature-input")
}

/// Splits a Structured Field list/dictionary at top-level commas (outside
/// strings, inner lists and byte sequences).
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut in_str, mut in_bytes, mut esc) =
        (Vec::new(), 0, 0i32, false, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if esc => esc = false,
                '\\' => esc = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            ':' => in_bytes = !in_bytes,
            '(' if !in_bytes => depth += 1,
            ')' if !in_bytes => depth -= 1,
            ',' if depth == 0 && !in_bytes => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.into_iter().filter(|m| !m.is_empty()).collect()
}

/// A parsed `Signature-Input` member.
#[derive(Debug, Default)]
struct Input {
    label: String,
    components: Vec<String>,
    /// The member's value as sent: `("@method" ...);created=...;keyid="..."`.
    params_raw: String,
    created: Option<u64>,
    expires: Option<u64>,
    key_id: Option<String>,
    alg: Option<String>,
}

fn parse_input_member(member: &str) -> Result<Input, FediverseError> {
    let (label, value) = member
        .split_once('=')
        .ok_or_else(|| unauthorized("malformed Signature-Input"))?;
    let value = value.trim();
    let open = value
        .strip_prefix('(')
        .ok_or_else(|| unauthorized("Signature-Input member is not an inner list"))?;
    let close = open
        .find(')')
        .ok_or_else(|| unauthorized("unterminated inner list"))?;
    let mut components = Vec::new();
    for item in open[..close].split_whitespace() {
        let name = item
            .strip_prefix('"')
            .and_then(|i| i.strip_suffix('"'))
            .ok_or_else(|| {
                // Component parameters (`;sf`, `;key=`, `;req`) are not supported.
                unauthorized(format!("unsupported component {item}"))
            })?;
        if name.is_empty() || name.chars().any(|c| c.is_ascii_uppercase() || c == '"') {
            return Err(unauthorized(format!("invalid component {item}")));
        }
        components.push(name.to_string());
    }
    let mut input = Input {
        label: label.trim().to_string(),
        components,
        params_raw: value.to_string(),
        ..Input::default()
    };
    for param in open[close + 1..]
        .split(';')
        .filter(|p| !p.trim().is_empty())
    {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        let v = v.trim();
        let unquoted = v.trim_matches('"').to_string();
        match k.trim() {
            "created" => input.created = v.parse().ok(),
            "expires" => input.expires = v.parse().ok(),
            "keyid" => input.key_id = Some(unquoted),
            "alg" => input.alg = Some(unquoted),
            _ => {}
        }
    }
    Ok(input)
}

/// The value of one covered component (RFC 9421 §2.1 and §2.2).
fn component_value(
    name: &str,
    parts: &Parts,
    scheme: &str,
    authority: &str,
) -> Result<String, FediverseError> {
    let path = match parts.uri.path() {
        "" => "/",
        p => p,
    };
    let query = parts.uri.query();
    Ok(match name {
        "@method" => parts.method.as_str().to_string(),
        "@authority" => authority.to_ascii_lowercase(),
        "@scheme" => scheme.to_string(),
        "@path" => path.to_string(),
        "@query" => format!("?{}", query.unwrap_or("")),
        "@request-target" => match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        },
        "@target-uri" => match query {
            Some(q) => format!("{scheme}://{}{path}?{q}", authority.to_ascii_lowercase()),
            None => format!("{scheme}://{}{path}", authority.to_ascii_lowercase()),
        },
        n if n.starts_with('@') => {
            return Err(unauthorized(format!("unsupported component {n}")));
        }
        header => {
            let values: Vec<String> = parts
                .headers
                .get_all(header)
                .iter()
                .map(|v| {
                    v.to_str()
                        .map(|s| s.trim().to_string())
                        .map_err(|_| unauthorized(format!("non-text header {header}")))
                })
                .collect::<Result<_, _>>()?;
            if values.is_empty() {
                return Err(unauthorized(format!("signed header {header} is missing")));
            }
            values.join(", ")
        }
    })
}

/// Checks `Content-Digest` against the body: at least one of sha-256 and
/// sha-512, and every one of those present must match.
pub fn check_content_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), FediverseError> {
    let raw = headers
        .get("content-digest")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing Content-Digest header"))?;
    let mut checked = 0;
    for member in split_top(raw) {
        let Some((alg, value)) = member.split_once('=') else {
            continue;
        };
        let Some(b64) = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
        else {
            return Err(unauthorized("malformed Content-Digest"));
        };
        let got = B64
            .decode(b64)
            .map_err(|_| unauthorized("malformed Content-Digest"))?;
        let want = match alg.trim() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        if got != want {
            return Err(unauthorized("Content-Digest does not match the body"));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(unauthorized("Content-Digest without sha-256 or sha-512"));
    }
    Ok(())
}

/// Parses and pre-checks the request's RFC 9421 signature (no network, no
/// key yet) and builds the signature base. `scheme` and `authority` are our
/// public URL's, used when the request does not carry a Host header.
pub fn precheck(
    parts: &Parts,
    body: &[u8],
    scheme: &str,
    default_authority: &str,
    now: SystemTime,
) -> Result<Rfc9421Signature, FediverseError> {
    let headers = &parts.headers;
    let input_raw = headers
        .get("signature-input")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing Signature-Input header"))?;
    let sig_raw = headers
        .get("signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing Signature header"))?;
    // The first signature; a request may carry several, one is enough.
    let first = split_top(input_raw)
        .into_iter()
        .next()
        .ok_or_else(|| unauthorized("empty Signature-Input"))?;
    let input = parse_input_member(first)?;
    let signature = split_top(sig_raw)
        .into_iter()
        .filter_map(|m| m.split_once('='))
        .find(|(l, _)| l.trim() == input.label)
        .and_then(|(_, v)| v.trim().strip_prefix(':')?.strip_suffix(':'))
        .and_then(|b| B64.decode(b).ok())
        .ok_or_else(|| unauthorized("no Signature for the Signature-Input label"))?;

    match input.alg.as_deref() {
        None | Some("rsa-v1_5-sha256") => {}
        Some(a) => return Err(unauthorized(format!("unsupported algorithm {a}"))),
    }
    let key_id = input
        .key_id
        .clone()
        .ok_or_else(|| unauthorized("signature without keyid"))?;
    let covers = |c: &str| input.components.iter().any(|x| x == c);
    if !covers("@method")
        || !(covers("@target-uri") || covers("@path") || covers("@request-target"))
    {
        return Err(unauthorized("signature must cover @method and the target"));
    }
    if !covers("content-digest") {
        return Err(unauthorized("signature must cover content-digest"));
    }
    let created = input
        .created
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        .ok_or_else(|| unauthorized("signature without created"))?;
    let skew = match now.duration_since(created) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > SIGNATURE_WINDOW {
        return Err(unauthorized("signature date outside the allowed window"));
    }
    if let Some(exp) = input.expires {
        if SystemTime::UNIX_EPOCH + Duration::from_secs(exp) < now {
            return Err(unauthorized("signature expired"));
        }
    }
    check_content_digest(headers, body)?;

    let authority = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(default_authority)
        .to_string();
    let mut base = String::new();
    for c in &input.components {
        let v = component_value(c, parts, scheme, &authority)?;
        base.push_str(&format!("\"{c}\": {v}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {}", input.params_raw));
    Ok(Rfc9421Signature {
        key_id,
        base,
        signature,
    })
}

/// Verifies the signature with an RSA public key (PEM, SPKI).
pub fn verify(sig: &Rfc9421Signature, public_key_pem: &str) -> Result<(), FediverseError> {
    let key = RsaPublicKey::from_public_key_pem(public_key_pem)
        .map_err(|_| unauthorized("actor key is not an RSA public key"))?;
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(sig.base.as_bytes()),
        &sig.signature,
    )
    .map_err(|_| unauthorized("RFC 9421 signature does not verify"))
}

/// [`verify`] on the blocking pool: the RSA work (key parsing and the
/// signature check) never runs on the async threads that serve requests.
pub async fn verify_off_thread(
    sig: &Rfc9421Signature,
    public_key_pem: &str,
) -> Result<(), FediverseError> {
    let (sig, pem) = (sig.clone(), public_key_pem.to_string());
    tokio::task::spawn_blocking(move || verify(&sig, &pem))
        .await
        .unwrap_or_else(|e| Err(unauthorized(format!("signature check did not finish: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dictionary_members_outside_strings_and_lists() {
        let s = r#"sig1=("@method" "@target-uri");keyid="a,b", sig2=("x")"#;
        assert_eq!(
            split_top(s),
            vec![
                r#"sig1=("@method" "@target-uri");keyid="a,b""#,
                r#"sig2=("x")"#
            ]
        );
        assert_eq!(split_top("sha-256=:YQ==:, sha-512=:Yg==:").len(), 2);
    }

    #[test]
    fn parses_an_input_member() {
        let i = parse_input_member(
            r#"sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid="https://a.example/u#k";alg="rsa-v1_5-sha256""#,
        )
        .expect("valid member");
        assert_eq!(i.label, "sig1");
        assert_eq!(i.components, ["@method", "@target-uri", "content-digest"]);
        assert_eq!(i.created, Some(1_700_000_000));
        assert_eq!(i.key_id.as_deref(), Some("https://a.example/u#k"));
        assert!(i.params_raw.starts_with("(\"@method\""));
        assert!(parse_input_member(r#"sig1=("@query-param";name="a")"#).is_err());
    }

    #[test]
    fn content_digest_must_match() {
        let body = b"{}";
        let mut h = HeaderMap::new();
        let good = format!("sha-256=:{}:", B64.encode(Sha256::digest(body)));
        h.insert("content-digest", good.parse().expect("header"));
        assert!(check_content_digest(&h, body).is_ok());
        assert!(check_content_digest(&h, b"{ }").is_err());
        h.insert("content-digest", "md5=:AAAA:".parse().expect("header"));
        assert!(check_content_digest(&h, body).is_err());
        // sha-512 alone is enough; every digest present must match.
        let sha512 = format!("sha-512=:{}:", B64.encode(Sha512::digest(body)));
        h.insert("content-digest", sha512.parse().expect("header"));
        assert!(check_content_digest(&h, body).is_ok());
        assert!(check_content_digest(&h, b"{ }").is_err());
        let mixed = format!("{good}, sha-512=:{}:", B64.encode(Sha512::digest(b"x")));
        h.insert("content-digest", mixed.parse().expect("header"));
        assert!(check_content_digest(&h, body).is_err());
    }

    const NOW: u64 = 1_700_000_000;
    const KEY: &str = "https://a.example/u#k";
    const BODY: &[u8] = br#"{"type":"Create"}"#;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A POST to our inbox carrying `input` as its `Signature-Input` and
    /// `signature` as its `Signature`, with a Content-Digest of [`BODY`].
    fn request(input: &str, signature: &str) -> Parts {
        let digest = format!("sha-256=:{}:", B64.encode(Sha256::digest(BODY)));
        axum::http::Request::builder()
            .method("POST")
            .uri("/inbox?page=1")
            .header("host", "Feeds.Example")
            .header("content-digest", digest)
            .header("signature-input", input)
            .header("signature", signature)
            .body(())
            .expect("test request")
            .into_parts()
            .0
    }

    /// The `Signature-Input` member `sig1` over `components` with `params`.
    fn input(components: &str, params: &str) -> String {
        format!("sig1=({components}){params}")
    }

    const ALL: &str = r#""@method" "@target-uri" "content-digest""#;

    fn params(created: u64) -> String {
        format!(r#";created={created};keyid="{KEY}";alg="rsa-v1_5-sha256""#)
    }

    fn check(input: &str) -> Result<Rfc9421Signature, FediverseError> {
        precheck(
            &request(input, "sig1=:AQID:"),
            BODY,
            "https",
            "unused.example",
            at(NOW),
        )
    }

    #[test]
    fn precheck_builds_the_signature_base_of_the_matching_label() {
        let i = input(ALL, &params(NOW));
        let sig = precheck(
            &request(&i, "sig0=:AAAA:, sig1=:AQID:"),
            BODY,
            "https",
            "unused.example",
            at(NOW),
        )
        .expect("a complete signature passes");
        assert_eq!(sig.key_id, KEY);
        assert_eq!(sig.signature, [1, 2, 3], "the member labelled sig1");
        let digest = format!("sha-256=:{}:", B64.encode(Sha256::digest(BODY)));
        assert_eq!(
            sig.base,
            format!(
                "\"@method\": POST\n\"@target-uri\": https://feeds.example/inbox?page=1\n\
                 \"content-digest\": {digest}\n\"@signature-params\": ({ALL}){}",
                params(NOW)
            )
        );
        // No Signature member for the input's label.
        assert!(
            precheck(
                &request(&i, "sig2=:AQID:"),
                BODY,
                "https",
                "unused.example",
                at(NOW)
            )
            .is_err()
        );
        // The body must match the Content-Digest.
        assert!(
            precheck(
                &request(&i, "sig1=:AQID:"),
                b"{}",
                "https",
                "unused.example",
                at(NOW)
            )
            .is_err()
        );
    }

    #[test]
    fn precheck_requires_method_target_and_digest_components() {
        let p = params(NOW);
        for ok in [
            ALL,
            r#""@method" "@path" "content-digest""#,
            r#""@method" "@request-target" "content-digest""#,
        ] {
            assert!(check(&input(ok, &p)).is_ok(), "{ok}");
        }
        for bad in [
            r#""@target-uri" "content-digest""#,
            r#""@method" "content-digest""#,
            r#""@method" "@target-uri""#,
            r#""@method" "@path" "host""#,
        ] {
            assert!(check(&input(bad, &p)).is_err(), "{bad}");
        }
    }

    #[test]
    fn precheck_checks_algorithm_key_id_and_time() {
        assert!(check(&input(ALL, &format!(r#";created={NOW};keyid="{KEY}""#))).is_ok());
        let hmac = format!(r#";created={NOW};keyid="{KEY}";alg="hmac-sha256""#);
        assert!(check(&input(ALL, &hmac)).is_err(), "unsupported alg");
        assert!(
            check(&input(ALL, &format!(";created={NOW}"))).is_err(),
            "no keyid"
        );
        assert!(
            check(&input(ALL, &format!(r#";keyid="{KEY}""#))).is_err(),
            "no created"
        );
        let window = SIGNATURE_WINDOW.as_secs();
        for created in [NOW - window, NOW + window] {
            assert!(check(&input(ALL, &params(created))).is_ok(), "{created}");
        }
        for created in [NOW - window - 1, NOW + window + 1] {
            assert!(check(&input(ALL, &params(created))).is_err(), "{created}");
        }
        let expires = |e: u64| format!("{};expires={e}", params(NOW));
        assert!(check(&input(ALL, &expires(NOW + 60))).is_ok());
        assert!(check(&input(ALL, &expires(NOW))).is_ok(), "expires now");
        assert!(check(&input(ALL, &expires(NOW - 1))).is_err(), "expired");
    }

    #[test]
    fn verify_accepts_only_the_keys_signature_over_the_base() {
        use rsa::RsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pair =
            activitypub_federation::http_signatures::generate_actor_keypair().expect("test key");
        let key = RsaPrivateKey::from_pkcs8_pem(&pair.private_key).expect("test key");
        let mut sig = check(&input(ALL, &params(NOW))).expect("precheck");
        sig.signature = key
            .sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(sig.base.as_bytes()),
            )
            .expect("sign");
        assert!(verify(&sig, &pair.public_key).is_ok());
        let mut tampered = sig.clone();
        tampered.base = tampered.base.replace("POST", "GET");
        assert!(verify(&tampered, &pair.public_key).is_err());
        assert!(verify(&sig, "not a key").is_err());
    }
}
