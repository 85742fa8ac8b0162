//! Links and hosts: which links from untrusted text any output may carry
//! ([`safe_http_url`]), an article link's canonical form ([`canonical_url`]),
//! and a host's site name ([`site_name`], [`same_site`]).

use url::Url;

/// The URL, normalised by the `url` crate, if it is an absolute `http` or
/// `https` URL with a host; `None` otherwise.
///
/// Normalisation (percent-encoding, punycode, no stray whitespace) means a
/// hostile link cannot smuggle quotes, spaces or control characters into
/// an attribute, and every output shows the same string.
pub fn safe_http_url(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url.into())
}

/// Query parameters that only track the reader and never select the page.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "rb_clickid",
    "s_cid",
    "cmpid",
    "ocid",
    "ncid",
    "sr_share",
    "spm",
    "share",
    "ref_src",
    "ref_url",
    "at_medium",
    "at_campaign",
];

/// Canonical form of an article URL: lower-case scheme and host (the `url`
/// crate does that), no default port, no fragment, no tracking parameters.
pub fn canonical_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !(k.starts_with("utm_")
                || k.starts_with("pk_")
                || TRACKING_PARAMS.contains(&k.as_str()))
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else if kept.len() != u.query_pairs().count() {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u.to_string()
}

/// A host's site name: lower case, without a leading `www.`, `m.`, `amp.`
/// or `mobile.` label (`www.reuters.com` → `reuters.com`).
pub fn site_name(host: &str) -> String {
    let mut h = host.trim_end_matches('.').to_ascii_lowercase();
    for prefix in ["www.", "m.", "amp.", "mobile."] {
        if let Some(rest) = h.strip_prefix(prefix) {
            if rest.contains('.') {
                h = rest.to_string();
            }
            break;
        }
    }
    h
}

/// Whether two hosts are one site: equal site names, or one a subdomain of
/// the other's (`rss.example.com` and `www.example.com`).
pub fn same_site(a: &str, b: &str) -> bool {
    let (a, b) = (site_name(a), site_name(b));
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_parameters_are_dropped() {
        let u = Url::parse("HTTPS://Example.org:443/a/b?utm_source=x&id=7&fbclid=y#top")
            .expect("test input");
        assert_eq!(canonical_url(&u), "https://example.org/a/b?id=7");
        let u = Url::parse("https://example.org/a?utm_medium=rss").expect("test input");
        assert_eq!(canonical_url(&u), "https://example.org/a");
    }
}
