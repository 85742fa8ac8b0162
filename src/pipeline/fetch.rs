//! HTTP(S) and file fetching of feeds: conditional GET, compression, timeouts,
//! a streaming body cap, a redirect limit and polite concurrency.
//!
//! reqwest has no cache of its own, so the caller passes the validators it
//! stored (ETag, Last-Modified) and gets back the new ones. Server hints that
//! should delay the next check (Retry-After, Cache-Control max-age) are
//! returned as values; the scheduler decides what to do with them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::FetchConfig;
use crate::infra::netguard::GuardedResolver;
use crate::sources::file_url_path;

/// Validators saved from the previous answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A fetched body with what the response said about it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    /// `charset` parameter of Content-Type, for the parser's encoding decision.
    pub charset: Option<String>,
    pub validators: Validators,
    /// Cache-Control max-age: a floor on the next check.
    pub max_age: Option<Duration>,
    /// After redirects; relative links resolve against it.
    pub final_url: Url,
}

#[derive(Debug, Clone)]
pub enum FetchOutcome {
    Body(Fetched),
    /// 304: nothing changed since the validators were issued.
    NotModified {
        max_age: Option<Duration>,
    },
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// After how long the fetch gave up: reqwest's connect, read and total
    /// timeouts all report alike, so the time is measured, not assumed.
    #[error("timed out after {after_secs} s")]
    Timeout { after_secs: u64 },
    #[error("body larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    #[error("too many redirects or a redirect loop: {0}")]
    Redirect(String),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("cannot read the file: {0}")]
    File(String),
    #[error("request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// The root cause, short: "DNS: name not found", "connection refused",
    /// "HTTP 503", "timed out after 20 s". (A poll's, which may also fail to
    /// parse, is `schedule::PollError::plain_cause`.)
    pub fn plain_cause(&self) -> String {
        use crate::infra::logging::{last_part, network_cause};
        match self {
            FetchError::Status { status, .. } => format!("HTTP {status}"),
            FetchError::Timeout { after_secs } => format!("timed out after {after_secs} s"),
            FetchError::TooLarge { limit } => format!("larger than the {limit}-byte cap"),
            FetchError::File(m) => m.clone(),
            FetchError::Redirect(m) => format!("redirects: {}", last_part(m)),
            FetchError::Connect(m) | FetchError::Other(m) => network_cause(m),
        }
    }
}

impl FetchError {
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Status { .. } => "http_status",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Redirect(_) => "redirect",
            FetchError::Connect(_) => "connect",
            FetchError::File(_) => "file",
            FetchError::Other(_) => "other",
        }
    }
}

/// The shared fetcher: one client, one global limit, one limit per host.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For untrusted addresses: redirects are followed by hand, re-checked.
    no_redirect_client: reqwest::Client,
    /// The same, resolving through the address guard (the default state).
    guarded_client: reqwest::Client,
    max_body: u64,
    total_timeout: Duration,
    /// `[fetch] concurrency`: the permits of `global`.
    concurrency: usize,
    global: Arc<Semaphore>,
    per_host_limit: usize,
    per_host: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

impl Fetcher {
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, reqwest::Error> {
        Fetcher::with_resolver(cfg, GuardedResolver::new(true))
    }

    /// A fetcher whose untrusted fetches resolve names through `resolver`
    /// (tests give it fixed answers; it must validate).
    pub fn with_resolver(
        cfg: &FetchConfig,
        resolver: GuardedResolver,
    ) -> Result<Fetcher, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(cfg.user_agent.clone())
                .connect_timeout(cfg.connect_timeout)
                .read_timeout(cfg.read_timeout)
                .timeout(cfg.timeout)
                .gzip(true)
                .brotli(true)
                .deflate(true)
        };
        let client = builder()
            .redirect(reqwest::redirect::Policy::limited(cfg.max_redirects))
            .build()?;
        let no_redirect_client = builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let guarded_client = builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver))
            .build()?;
        Ok(Fetcher {
            client,
            no_redirect_client,
            guarded_client,
            max_body: cfg.max_body_bytes,
            total_timeout: cfg.timeout,
            concurrency: cfg.concurrency,
            global: Arc::new(Semaphore::new(cfg.concurrency)),
            per_host_limit: cfg.per_host_concurrency,
            per_host: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The whole-fetch timeout (`[fetch] timeout`).
    pub fn timeout(&self) -> Duration {
        self.total_timeout
    }

    /// How many fetches run at once, at most (`[fetch] concurrency`).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Fetches `url`, sending the validators as a conditional GET.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        if url.scheme() == "file" {
            return self.fetch_file(url).await;
        }
        let _permits = self.permits(url).await?;
        let started = tokio::time::Instant::now();
        // reqwest's own timeout covers the body too; this guards the whole call
        // (a server trickling bytes under the read timeout) with a little slack.
        let fetched = tokio::time::timeout(
            self.total_timeout + Duration::from_secs(1),
            self.fetch_http(url, validators),
        )
        .await
        .unwrap_or(Err(FetchError::Timeout { after_secs: 0 }));
        timed(fetched, started)
    }

    /// A slot for `url`'s host and a global one. Host first, then global:
    /// waiting on a busy host must not hold a global slot that another host
    /// could use.
    async fn permits(
        &self,
        url: &Url,
    ) -> Result<
        (
            tokio::sync::OwnedSemaphorePermit,
            tokio::sync::OwnedSemaphorePermit,
        ),
        FetchError,
    > {
        let host_key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0)
        );
        let host = self
            .host_semaphore(&host_key)
            .acquire_owned()
            .await
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| FetchError::Other(e.to_string()))?;
        Ok((host, global))
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut map = match self.per_host.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host_limit)))
            .clone()
    }

    async fn fetch_http(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut req = self.client.get(url.clone()).header(header::ACCEPT, ACCEPT);
        if let Some(etag) = &validators.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(classify)?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified {
                max_age: cache_max_age(resp.headers()),
            });
        }
        self.read_body(resp).await.map(FetchOutcome::Body)
    }

    /// Fetches a page whose address came from a feed (untrusted): only
    /// http(s), and never a loopback, private or link-local address unless
    /// `allow_private` (local tests). Names are checked by the resolver at
    /// connect time (no DNS-rebinding window), IP literals here; a redirect
    /// is not followed blindly but re-checked the same way. Each hop waits
    /// for the fetcher's global and per-host limits; the whole fetch, every
    /// hop included, ends at the fetch timeout.
    pub async fn fetch_untrusted(
        &self,
        url: &Url,
        allow_private: bool,
    ) -> Result<Fetched, FetchError> {
        let deadline = tokio::time::Instant::now() + self.total_timeout;
        self.fetch_untrusted_until(url, allow_private, deadline)
            .await
    }

    /// [`Fetcher::fetch_untrusted`] with one deadline over every hop, the
    /// waits for a slot included.
    pub async fn fetch_untrusted_until(
        &self,
        url: &Url,
        allow_private: bool,
        deadline: tokio::time::Instant,
    ) -> Result<Fetched, FetchError> {
        let started = tokio::time::Instant::now();
        let fetched = tokio::time::timeout_at(deadline, self.untrusted_hops(url, allow_private))
            .await
            .unwrap_or(Err(FetchError::Timeout { after_secs: 0 }));
        timed(fetched, started)
    }

    async fn untrusted_hops(&self, url: &Url, allow_private: bool) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        for _ in 0..=3 {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(FetchError::Other(format!(
                    "refusing {} URL",
                    current.scheme()
                )));
            }
            if !allow_private {
                ensure_public_literal(&current)?;
            }
            let _permits = self.permits(&current).await?;
            let client = if allow_private {
                &self.no_redirect_client
            } else {
                &self.guarded_client
            };
            let resp = client
                .get(current.clone())
                .header(
                    header::ACCEPT,
                    "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                )
                .send()
                .await
                .map_err(classify)?;
            if resp.status().is_redirection() {
                let Some(next) = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                else {
                    return Err(FetchError::Redirect(
                        "redirect without a usable Location".to_string(),
                    ));
                };
                current = next;
                continue;
            }
            return self.read_body(resp).await;
        }
        Err(FetchError::Redirect("more than 3 redirects".to_string()))
    }

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Fetched, FetchError> {
        let status = resp.status();
        let headers = resp.headers().clone();
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(&headers, Utc::now()),
            });
        }
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let final_url = resp.url().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status: status.as_u16(),
            body,
            charset: charset(&headers),
            validators: Validators {
                etag: header_string(&headers, header::ETAG),
                last_modified: header_string(&headers, header::LAST_MODIFIED),
            },
            max_age: cache_max_age(&headers),
            final_url,
        })
    }

    /// A `file://` feed: a regular file only, under the body cap. FIFOs,
    /// devices, sockets and the kernel's pseudo-files (/proc, /sys, /dev)
    /// are refused; the file is opened non-blocking, so even a FIFO swapped
    /// in after the check cannot hang the poll.
    async fn fetch_file(&self, url: &Url) -> Result<FetchOutcome, FetchError> {
        let path = file_url_path(url);
        let max_body = self.max_body;
        let body = tokio::task::spawn_blocking(move || read_regular_file(&path, max_body))
            .await
            .map_err(|e| FetchError::File(e.to_string()))??;
        Ok(FetchOutcome::Body(Fetched {
            status: 200,
            body,
            charset: None,
            validators: Validators::default(),
            max_age: None,
            final_url: url.clone(),
        }))
    }
}

/// Reads `path` if it is a regular file of at most `max_body` bytes.
fn read_regular_file(path: &std::path::Path, max_body: u64) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| FetchError::File(format!("{}: {e}", path.display()));
    let not_regular = |what: &str| {
        FetchError::File(format!(
            "{}: {what}, not a regular file; a file:// feed must be a regular file",
            path.display()
        ))
    };
    let real = std::fs::canonicalize(path).map_err(err)?;
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|p| real.starts_with(p))
    {
        return Err(not_regular("a kernel or device file"));
    }
    let meta = std::fs::metadata(&real).map_err(err)?;
    check_regular(&meta).map_err(not_regular)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&real)
        .map_err(err)?;
    // The thing opened is the thing checked.
    let meta = file.metadata().map_err(err)?;
    check_regular(&meta).map_err(not_regular)?;
    if meta.len() > max_body {
        return Err(FetchError::TooLarge { limit: max_body });
    }
    let mut body = Vec::new();
    file.take(max_body + 1)
        .read_to_end(&mut body)
        .map_err(err)?;
    if body.len() as u64 > max_body {
        return Err(FetchError::TooLarge { limit: max_body });
    }
    Ok(body)
}

fn check_regular(meta: &std::fs::Metadata) -> Result<(), &'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        Ok(())
    } else if t.is_fifo() {
        Err("a FIFO")
    } else if t.is_char_device() || t.is_block_device() {
        Err("a device")
    } else if t.is_socket() {
        Err("a socket")
    } else if t.is_dir() {
        Err("a directory")
    } else {
        Err("a special file")
    }
}

/// Refuses URLs whose host is a non-public IP literal (names are checked by
/// the guarded resolver when the connection is made).
fn ensure_public_literal(url: &Url) -> Result<(), FetchError> {
    let ip: std::net::IpAddr = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.into(),
        Some(url::Host::Ipv6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    if is_public(&ip) {
        Ok(())
    } else {
        Err(FetchError::Other(format!(
            "refusing {url}: {ip} is not a public address"
        )))
    }
}

/// Whether an address is routable on the public Internet (see
/// [`crate::infra::netguard`] for the ranges and their sources).
pub fn is_public(ip: &std::net::IpAddr) -> bool {
    crate::infra::netguard::is_public(ip)
}

/// A fetch's result with its timeout, if any, saying how long it had run
/// since `started`, to the nearest second.
fn timed<T>(
    fetched: Result<T, FetchError>,
    started: tokio::time::Instant,
) -> Result<T, FetchError> {
    fetched.map_err(|e| match e {
        FetchError::Timeout { .. } => FetchError::Timeout {
            after_secs: u64::try_from(started.elapsed().as_millis().saturating_add(500) / 1000)
                .unwrap_or(u64::MAX),
        },
        e => e,
    })
}

/// A timeout's time is filled in by [`timed`], where the fetch began.
fn classify(e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout { after_secs: 0 }
    } else if e.is_redirect() {
        FetchError::Redirect(e.to_string())
    } else if e.is_connect() {
        FetchError::Connect(source_chain(&e))
    } else {
        FetchError::Other(source_chain(&e))
    }
}

/// reqwest's top-level message is generic; the cause says what happened.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        cur = s.source();
    }
    msg
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn charset(headers: &HeaderMap) -> Option<String> {
    let ct = header_string(headers, header::CONTENT_TYPE)?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// `Cache-Control: max-age=N` (no-store and no-cache give no floor).
pub fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let cc = header_string(headers, header::CACHE_CONTROL)?;
    cc.split(',').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = header_string(headers, header::RETRY_AFTER)?;
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(&v).ok()?.with_timezone(&Utc);
    (when - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .expect("test input")
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Sat, 28 Nov 2026 12:10:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(600)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn max_age_and_charset() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=1800"),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/rss+xml; charset=\"Big5\""),
        );
        assert_eq!(cache_max_age(&h), Some(Duration::from_secs(1800)));
        assert_eq!(charset(&h).as_deref(), Some("Big5"));
    }
}
