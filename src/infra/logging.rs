//! Logs an operator can read: no colour codes in files and pipes, and a
//! failing feed's root cause in plain words.

use std::io::IsTerminal;

use crate::config::LogFormat;

/// Whether log lines may carry ANSI colour: only on a terminal, and never
/// when `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
pub fn use_colour(no_color: Option<&std::ffi::OsStr>, is_terminal: bool) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber on stderr.
pub fn init(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = use_colour(
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stderr().is_terminal(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The plain-words cause of a failure as stored on the feed (the text of a
/// `schedule::PollError`): what the log line said when it happened, for
/// `feedwatch feeds`.
pub fn stored_failure_cause(stored: &str) -> String {
    if let Some(fetch) = stored.strip_prefix("fetch: ") {
        if let Some(status) = fetch
            .strip_prefix("HTTP ")
            .and_then(|s| s.parse::<u16>().ok())
        {
            return format!("HTTP {status}");
        }
        // "timed out after 20 s"; a failure stored by an older feedwatch
        // says "timed out" without the time.
        if fetch.starts_with("timed out") {
            return fetch.to_string();
        }
        if let Some(cap) = fetch.strip_prefix("body larger than the ") {
            return format!("larger than the {cap}");
        }
        if let Some(m) = fetch.strip_prefix("too many redirects or a redirect loop: ") {
            return format!("redirects: {}", last_part(m));
        }
        if let Some(m) = fetch.strip_prefix("cannot read the file: ") {
            return m.to_string();
        }
        let chain = fetch
            .strip_prefix("cannot connect: ")
            .or_else(|| fetch.strip_prefix("request failed: "))
            .unwrap_or(fetch);
        return network_cause(chain);
    }
    if let Some(p) = stored.strip_prefix("parse: ") {
        return format!("not a feed: {p}");
    }
    if let Some(r) = stored.strip_prefix("this feed's rules do not compile: ") {
        return format!("the feed's rules do not compile: {r}");
    }
    stored.to_string()
}

/// The plain-words cause inside a network error chain.
pub fn network_cause(chain: &str) -> String {
    let lower = chain.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if has(&["non-public address", "is not a public address"]) {
        return last_part(chain);
    }
    if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
        "nodename nor servname",
        "name resolution",
    ]) {
        return "DNS: name not found".to_string();
    }
    if has(&["connection refused"]) {
        return "connection refused".to_string();
    }
    if has(&["connection reset"]) {
        return "connection reset".to_string();
    }
    if has(&["timed out", "deadline has elapsed"]) {
        return "timed out".to_string();
    }
    if has(&["certificate", "tls", "handshake"]) {
        return format!("TLS: {}", last_part(chain));
    }
    if has(&["network is unreachable", "no route to host"]) {
        return "network unreachable".to_string();
    }
    last_part(chain)
}

/// The innermost cause of a `a: b: c` chain, without "(os error N)".
pub fn last_part(chain: &str) -> String {
    let last = chain.rsplit(": ").next().unwrap_or(chain).trim();
    let last = match last.find(" (os error") {
        Some(i) => &last[..i],
        None => last,
    };
    last.chars().take(160).collect()
}

/// A progress bar on stderr for `len` units of `what`, drawn only when stderr
/// is a terminal; elsewhere (pipes, logs, tests) it prints nothing.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:30}} {{pos}}/{{len}} {what} {{elapsed}}"
    )) {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::fetch::FetchError;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(None, true));
        assert!(!use_colour(None, false));
        assert!(!use_colour(Some("1".as_ref()), true));
        assert!(use_colour(Some("".as_ref()), true));
    }

    #[test]
    fn stored_failures_in_the_same_plain_words() {
        // Stored texts are PollError's Display; each maps like the live error.
        for (e, words) in [
            (
                FetchError::Status {
                    status: 503,
                    retry_after: None,
                },
                "HTTP 503",
            ),
            (
                FetchError::Timeout { after_secs: 20 },
                "timed out after 20 s",
            ),
            (
                FetchError::Connect("error sending request for url (http://127.0.0.1:9/): client error (Connect): tcp connect error: Connection refused (os error 111)".into()),
                "connection refused",
            ),
            (FetchError::TooLarge { limit: 10 }, "larger than the 10-byte cap"),
        ] {
            let stored = format!("fetch: {e}");
            assert_eq!(stored_failure_cause(&stored), words, "{stored}");
            assert_eq!(e.plain_cause(), words);
        }
        // An older feedwatch stored a timeout without its time.
        assert_eq!(stored_failure_cause("fetch: timed out"), "timed out");
        assert_eq!(
            stored_failure_cause("this feed's rules do not compile: bad"),
            "the feed's rules do not compile: bad"
        );
        assert_eq!(stored_failure_cause("something else"), "something else");
    }

    #[test]
    fn causes_in_plain_words() {
        let cause = |e: FetchError| e.plain_cause();
        assert_eq!(
            cause(FetchError::Status {
                status: 503,
                retry_after: None
            }),
            "HTTP 503"
        );
        assert_eq!(
            cause(FetchError::Timeout { after_secs: 20 }),
            "timed out after 20 s"
        );
        assert_eq!(
            cause(FetchError::Connect("error sending request for url (http://127.0.0.1:9/): client error (Connect): tcp connect error: Connection refused (os error 111)".into())),
            "connection refused"
        );
        assert_eq!(
            cause(FetchError::Connect("error sending request for url (http://nowhere.invalid/): client error (Connect): dns error: failed to lookup address information: Name or service not known".into())),
            "DNS: name not found"
        );
    }
}
