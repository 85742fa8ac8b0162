//! Links from untrusted text: which of them any output may carry.

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
