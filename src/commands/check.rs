//! What `feedwatch check` adds to the config's own validation, so that it is
//! the whole gate: settings read only from the environment (refused here as
//! `run` would refuse them), and warnings that do not fail the check.

use std::path::Path;

use crate::config::{Config, Origin, Problem};
use crate::fediverse::MastodonApiSettings;
use crate::sources::FeedSource;

/// Problems `run` would refuse that the config file cannot show.
pub fn env_problems(cfg: &Config, file: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    if cfg.federation.enabled {
        if let Err(e) = MastodonApiSettings::from_env() {
            out.push(Problem {
                file: file.to_path_buf(),
                origin: Origin::Env("FEEDWATCH_MASTODON_URL".to_string()),
                key: "FEEDWATCH_MASTODON_URL".to_string(),
                message: e.to_string(),
                hint: Some(
                    "the instance's https URL, such as \"https://mastodon.example\"".to_string(),
                ),
            });
        }
    }
    out
}

/// Things that work but are probably not what the operator wants.
pub fn warnings(cfg: &Config, feeds: &[FeedSource]) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.federation.enabled {
        let url = &cfg.bot.base_url;
        let local = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_private(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => true,
        };
        if local {
            out.push(format!(
                "[bot] base_url {url} is a local address with federation on: other servers cannot reach it"
            ));
        }
        if url.scheme() == "http" {
            out.push(format!(
                "[bot] base_url {url} is http with federation on: Mastodon and most servers only talk to https"
            ));
        }
        let (u, t) = (
            std::env::var_os("FEEDWATCH_MASTODON_URL").is_some(),
            std::env::var_os("FEEDWATCH_MASTODON_TOKEN").is_some(),
        );
        if u != t {
            out.push(
                "only one of FEEDWATCH_MASTODON_URL and FEEDWATCH_MASTODON_TOKEN is set: the Mastodon API channel stays off"
                    .to_string(),
            );
        }
    }
    if cfg.admin.token.is_some() && std::env::var_os("FEEDWATCH_ADMIN__TOKEN").is_none() {
        out.push(
            "[admin] token is set in the config file: prefer the FEEDWATCH_ADMIN__TOKEN environment variable, so the secret stays out of the file"
                .to_string(),
        );
    }
    for f in feeds {
        if let Some(lang) = &f.lang {
            if !known_language_tag(lang) {
                out.push(format!(
                    "feed {:?}: lang {lang:?} is not a BCP 47 language tag (such as \"en\", \"zh-TW\")",
                    f.name
                ));
            }
        }
    }
    out
}

/// Well-formed BCP 47 with a 2- or 3-letter primary language (the 5-8
/// letter form is reserved and has no registered values: "english" is not a
/// tag), or a private-use tag.
pub fn known_language_tag(tag: &str) -> bool {
    match oxilangtag::LanguageTag::parse(tag) {
        Ok(t) => {
            tag.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"))
                || (2..=3).contains(&t.primary_language().len())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::known_language_tag;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "zh-TW",
            "zh-Hant-TW",
            "yue",
            "en-GB-oxendict",
            "x-private",
        ] {
            assert!(known_language_tag(ok), "{ok}");
        }
        for bad in ["english", "", "zh_TW", "e", "en--GB"] {
            assert!(!known_language_tag(bad), "{bad}");
        }
    }
}
