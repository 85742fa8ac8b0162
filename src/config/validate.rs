//! Raw sections → typed [`Config`], one named step per concern.
//!
//! Each step checks every key it owns (so one call reports all of a
//! section's problems) and only then returns `None` if any failed. The steps
//! run in the order the problems have always been reported, which is why a
//! few sections appear in two steps (the bot's identity early, its profile
//! images with the Fediverse actor; the database path early, its retention
//! last).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::diag::{KeyPath, Problem, TomlSource};
use super::{
    AdminConfig, BotConfig, Config, FederationConfig, FetchConfig, LogConfig, LogFormat,
    PostVisibility, PublishConfig, RawAdmin, RawBot, RawConfig, RawFederation, RawFetch, RawLog,
    RawPublish, RawSchedule, RawServer, RawSources, RawStorage, ScheduleConfig, ServerConfig,
    SourcesConfig, StorageConfig, in_data_dir, in_range, parse_base_url, parse_blocked_domain,
    parse_cron, parse_duration, parse_duration_allow_zero, parse_size, profile, sqlite_path,
    valid_username,
};
use crate::matching::{Topic, TopicConfig, TopicError};

const DUR_HINT: &str = "a duration such as \"90s\", \"15m\", \"2h\" or \"1d\"";

/// Validates every section; `None` when any key failed (each failure is in
/// `problems`, located).
pub(super) fn validate(
    src: &TomlSource,
    raw: RawConfig,
    problems: &mut Vec<Problem>,
) -> Option<Config> {
    let base_dir = src.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut v = Validator { src, problems };

    // Every step runs (and reports) before any result is unwrapped.
    let server = server(&mut v, &raw.server);
    let identity = bot_identity(&mut v, &raw.bot);
    let sqlite_path = storage_path(&mut v, &raw.storage, &base_dir);
    let sources = sources(&mut v, &raw.sources, &base_dir);
    let schedule = schedule(&mut v, &raw.schedule);
    let fetch = fetch_limits(&mut v, &raw.fetch);
    let log = log(&mut v, &raw.log);
    let admin = admin(&mut v, &raw.admin);
    let topic = compile_topic(&mut v, &base_dir, &raw.topic);
    let actor = fediverse_actor(&mut v, &raw.federation, &raw.bot, &base_dir);
    let publish = publish(&mut v, &raw.publish, &base_dir);
    let retain = storage_retain(&mut v, &raw.storage);

    let (base_url, username) = identity?;
    let fetch = fetch?.with_user_agent(&raw.fetch, &base_url);
    let (federation, (avatar, header)) = actor?;
    Some(Config {
        file: src.file.clone(),
        server: server?,
        bot: BotConfig {
            base_url,
            username,
            display_name: raw.bot.display_name,
            summary: raw.bot.summary,
            avatar,
            header,
        },
        storage: StorageConfig {
            url: raw.storage.url,
            sqlite_path: sqlite_path?,
            retain: retain?,
        },
        sources: sources?,
        schedule: schedule?,
        fetch,
        federation,
        publish: publish?,
        admin,
        log: log?,
        topic: topic?,
    })
}

/// `[server]`: the listen address.
fn server(v: &mut Validator<'_>, raw: &RawServer) -> Option<ServerConfig> {
    let listen = v.check(
        &["server", "listen"],
        SocketAddr::from_str(raw.listen.trim()).map_err(|e| e.to_string()),
        "an IP address and port, such as \"127.0.0.1:8080\" or \"0.0.0.0:8080\" (port 0 picks a free one)",
    );
    Some(ServerConfig { listen: listen? })
}

/// `[bot] base_url` and `username`: who the bot is.
fn bot_identity(v: &mut Validator<'_>, raw: &RawBot) -> Option<(Url, String)> {
    let base_url = v.check(
        &["bot", "base_url"],
        parse_base_url(&raw.base_url),
        "the public http(s) URL of this bot, such as \"https://watch.example.org\"; its host is the Fediverse domain",
    );
    let username = v.check(
        &["bot", "username"],
        valid_username(&raw.username),
        "letters, digits and underscores, such as \"interpolwatch\"",
    );
    Some((base_url?, username?))
}

/// `[storage] url` and `data_dir`: the SQLite file.
fn storage_path(v: &mut Validator<'_>, raw: &RawStorage, base_dir: &Path) -> Option<PathBuf> {
    let sqlite_path = v.check(
        &["storage", "url"],
        sqlite_path(&raw.url).map(|p| base_dir.join(p)),
        "a SQLite URL such as \"sqlite://data/feedwatch.db\" (relative to the config file's folder)",
    );
    // `data_dir` moves the database (same file name) and the actor key.
    match (sqlite_path, raw.data_dir.trim()) {
        (Some(p), dir) if !dir.is_empty() => Some(in_data_dir(&p, &base_dir.join(dir))),
        (p, _) => p,
    }
}

/// `[storage] retain`: how long delivered and unpublished data is kept.
fn storage_retain(v: &mut Validator<'_>, raw: &RawStorage) -> Option<Duration> {
    v.check(
        &["storage", "retain"],
        parse_duration(&raw.retain).and_then(|d| {
            if d < Duration::from_secs(86_400) {
                Err("is shorter than one day".to_string())
            } else {
                Ok(d)
            }
        }),
        "a duration of at least a day, such as \"30d\" or \"90d\"",
    )
}

/// `[sources]`: where the source list is.
fn sources(v: &mut Validator<'_>, raw: &RawSources, base_dir: &Path) -> Option<SourcesConfig> {
    let path = v.check(
        &["sources", "path"],
        if raw.path.trim().is_empty() {
            Err("is empty".to_string())
        } else {
            Ok(base_dir.join(raw.path.trim()))
        },
        "a path to a .toml source list or an .opml file, such as \"feeds/sources.toml\"",
    );
    Some(SourcesConfig { path: path? })
}

/// `[schedule]`: the cron, the per-feed interval, jitter and backoff.
fn schedule(v: &mut Validator<'_>, raw: &RawSchedule) -> Option<ScheduleConfig> {
    let cron = v.check(
        &["schedule", "cron"],
        parse_cron(&raw.cron),
        "a 5-field crontab such as \"*/15 * * * *\" (minute hour day-of-month month day-of-week); 6 and 7 fields add seconds and year",
    );
    let interval = v.check(
        &["schedule", "interval"],
        parse_duration(&raw.interval),
        DUR_HINT,
    );
    let jitter = v.check(
        &["schedule", "jitter"],
        parse_duration_allow_zero(&raw.jitter),
        DUR_HINT,
    );
    let backoff_base = v.check(
        &["schedule", "backoff_base"],
        parse_duration(&raw.backoff_base),
        DUR_HINT,
    );
    let backoff_max = v.check(
        &["schedule", "backoff_max"],
        parse_duration(&raw.backoff_max),
        DUR_HINT,
    );
    let floor_max = v.check(
        &["schedule", "floor_max"],
        parse_duration(&raw.floor_max),
        DUR_HINT,
    );
    Some(ScheduleConfig {
        cron_text: raw.cron.trim().to_string(),
        cron: cron?,
        interval: interval?,
        jitter: jitter?,
        backoff_base: backoff_base?,
        backoff_max: backoff_max?,
        floor_max: floor_max?,
    })
}

/// `[fetch]` without the user agent, whose default needs the base URL.
struct FetchLimits {
    connect_timeout: Duration,
    read_timeout: Duration,
    timeout: Duration,
    max_body_bytes: u64,
    max_redirects: usize,
    concurrency: usize,
    per_host_concurrency: usize,
}

impl FetchLimits {
    fn with_user_agent(self, raw: &RawFetch, base_url: &Url) -> FetchConfig {
        let user_agent = if raw.user_agent.trim().is_empty() {
            format!(
                "feedwatch/{} (+{})",
                env!("CARGO_PKG_VERSION"),
                base_url.as_str().trim_end_matches('/')
            )
        } else {
            raw.user_agent.trim().to_string()
        };
        FetchConfig {
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            timeout: self.timeout,
            max_body_bytes: self.max_body_bytes,
            max_redirects: self.max_redirects,
            concurrency: self.concurrency,
            per_host_concurrency: self.per_host_concurrency,
            user_agent,
        }
    }
}

/// `[fetch]`: timeouts, sizes and concurrency.
fn fetch_limits(v: &mut Validator<'_>, raw: &RawFetch) -> Option<FetchLimits> {
    let connect_timeout = v.check(
        &["fetch", "connect_timeout"],
        parse_duration(&raw.connect_timeout),
        DUR_HINT,
    );
    let read_timeout = v.check(
        &["fetch", "read_timeout"],
        parse_duration(&raw.read_timeout),
        DUR_HINT,
    );
    let timeout = v.check(
        &["fetch", "timeout"],
        parse_duration(&raw.timeout),
        DUR_HINT,
    );
    let max_body_bytes = v.check(
        &["fetch", "max_body"],
        parse_size(&raw.max_body),
        "a size such as \"15MiB\", \"512KiB\" or a number of bytes",
    );
    let max_redirects = v.check(
        &["fetch", "max_redirects"],
        in_range(raw.max_redirects, 0, 20),
        "a whole number from 0 to 20",
    );
    let concurrency = v.check(
        &["fetch", "concurrency"],
        in_range(raw.concurrency, 1, 256),
        "a whole number from 1 to 256",
    );
    let per_host_concurrency = v.check(
        &["fetch", "per_host_concurrency"],
        in_range(raw.per_host_concurrency, 1, 64),
        "a whole number from 1 to 64",
    );
    Some(FetchLimits {
        connect_timeout: connect_timeout?,
        read_timeout: read_timeout?,
        timeout: timeout?,
        max_body_bytes: max_body_bytes?,
        max_redirects: max_redirects? as usize,
        concurrency: concurrency? as usize,
        per_host_concurrency: per_host_concurrency? as usize,
    })
}

/// `[log]`: format and level filter.
fn log(v: &mut Validator<'_>, raw: &RawLog) -> Option<LogConfig> {
    let format = v.check(
        &["log", "format"],
        match raw.format.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format \"{other}\"")),
        },
        "\"text\" or \"json\"",
    );
    let level = v.check(
        &["log", "level"],
        tracing_subscriber::EnvFilter::try_new(raw.level.trim())
            .map(|_| raw.level.trim().to_string())
            .map_err(|e| e.to_string()),
        "a level such as \"info\" or \"debug\", or a filter such as \"info,feedwatch=debug\"",
    );
    Some(LogConfig {
        format: format?,
        level: level?,
    })
}

/// `[admin]`: the token (a short one is reported; the rest still loads).
fn admin(v: &mut Validator<'_>, raw: &RawAdmin) -> AdminConfig {
    let token = raw.token.trim().to_string();
    if !token.is_empty() && token.len() < 16 {
        v.fail(
            &["admin", "token"],
            "is shorter than 16 characters",
            "a long random string (for example the output of `openssl rand -hex 32`), or \"\" to turn the admin pages off",
        );
    }
    AdminConfig {
        token: (!token.is_empty()).then_some(token),
    }
}

/// The Fediverse actor: `[federation]` and the `[bot]` profile images
/// (`avatar`, `header`).
fn fediverse_actor(
    v: &mut Validator<'_>,
    raw: &RawFederation,
    bot: &RawBot,
    base_dir: &Path,
) -> Option<(
    FederationConfig,
    (profile::ProfileImage, profile::ProfileImage),
)> {
    let delivery_concurrency = v.check(
        &["federation", "delivery_concurrency"],
        in_range(raw.delivery_concurrency, 1, 256),
        "a whole number from 1 to 256",
    );
    let dead_after = v.check(
        &["federation", "dead_after"],
        parse_duration(&raw.dead_after),
        DUR_HINT,
    );
    let icon_url = if raw.icon_url.trim().is_empty() {
        Some(None)
    } else {
        v.check(
            &["federation", "icon_url"],
            parse_base_url(&raw.icon_url).map(Some),
            "an http(s) URL of a square image, or \"\" for none",
        )
    };
    let image_hint = "\"\" for the shipped image, \"none\", an https URL, or the path (from the config's folder) of a PNG, JPEG, GIF or WebP file";
    let avatar = v.check(
        &["bot", "avatar"],
        profile::parse_profile_image(&bot.avatar, base_dir),
        image_hint,
    );
    let header = v.check(
        &["bot", "header"],
        profile::parse_profile_image(&bot.header, base_dir),
        image_hint,
    );
    let blocked_domains = v.check(
        &["federation", "blocked_domains"],
        raw.blocked_domains
            .iter()
            .map(|d| parse_blocked_domain(d))
            .collect::<Result<Vec<_>, _>>(),
        "a list of domain names such as [\"spam.example\"] (subdomains are blocked too)",
    );
    let visibility = v.check(
        &["federation", "visibility"],
        PostVisibility::parse(&raw.visibility),
        "\"public\" or \"unlisted\"",
    );
    let federation = FederationConfig {
        enabled: raw.enabled,
        allow_private_addresses: raw.allow_private_addresses,
        delivery_concurrency: delivery_concurrency? as usize,
        dead_after: dead_after?,
        icon_url: icon_url?,
        blocked_domains: blocked_domains?,
        visibility: visibility?,
    };
    Some((federation, (avatar?, header?)))
}

/// `[publish]`: the feed's length, summaries, the age gate and the cap.
fn publish(v: &mut Validator<'_>, raw: &RawPublish, base_dir: &Path) -> Option<PublishConfig> {
    let feed_items = v.check(
        &["publish", "feed_items"],
        in_range(raw.feed_items, 1, 1000),
        "a whole number from 1 to 1000",
    );
    let summary_sentences = v.check(
        &["publish", "summary_sentences"],
        in_range(raw.summary_sentences, 1, 3),
        "1, 2 or 3",
    );
    let summary_chars = v.check(
        &["publish", "summary_chars"],
        in_range(raw.summary_chars, 80, 2000),
        "a whole number from 80 to 2000",
    );
    let max_age = v.check(
        &["publish", "max_age"],
        match raw.max_age.trim() {
            "off" => Ok(None),
            other => parse_duration(other).map(Some),
        },
        "a duration such as \"2d\" or \"36h\", or \"off\" to publish items of any age",
    );
    let max_per_hour = v.check(
        &["publish", "max_per_hour"],
        in_range(raw.max_per_hour, 0, 1000),
        "a whole number from 0 to 1000 (0: no cap)",
    );
    Some(PublishConfig {
        feed_items: feed_items?,
        fetch_article: raw.fetch_article,
        update_on_new_outlet: raw.update_on_new_outlet,
        summary_sentences: summary_sentences? as usize,
        summary_chars: summary_chars? as usize,
        content_warning: Some(raw.content_warning.trim().to_string()).filter(|c| !c.is_empty()),
        output_dir: Some(raw.output_dir.trim())
            .filter(|d| !d.is_empty())
            .map(|d| base_dir.join(d)),
        max_age: max_age?,
        max_per_hour: max_per_hour?,
    })
}

/// Reads the profile files and compiles the topic, mapping each error to the
/// key that caused it.
fn compile_topic(v: &mut Validator<'_>, base_dir: &Path, cfg: &TopicConfig) -> Option<Arc<Topic>> {
    let mut texts = Vec::new();
    let mut ok = true;
    for (i, p) in cfg.profile.iter().enumerate() {
        let path = base_dir.join(p);
        match std::fs::read_to_string(&path) {
            Ok(t) => texts.push(t),
            Err(e) => {
                ok = false;
                v.check_at::<()>(
                    &KeyPath::key(&["topic", "profile"]).index(i),
                    Err(format!("cannot read {}: {e}", path.display())),
                    "a path to a text or Markdown file, relative to the config file",
                );
            }
        }
    }
    let aliases = v.check(
        &["topic", "aliases"],
        crate::matching::AliasTable::load(base_dir, cfg.aliases.as_deref()),
        "a path to a per-language alias table (TOML), relative to the config file",
    );
    let (true, Some(aliases)) = (ok, aliases) else {
        return None;
    };
    match Topic::compile_with_aliases(cfg, &texts, aliases.clone()) {
        Ok(t) => Some(Arc::new(t)),
        Err(first) => {
            // Every query error at once, not just the first.
            let mut all = crate::matching::config_errors(cfg, &aliases);
            if all.is_empty() {
                all.push(first);
            }
            for e in &all {
                report_topic_error(v, cfg, e);
            }
            None
        }
    }
}

/// Adds one topic compile error to the problems, at the key that caused it.
fn report_topic_error(v: &mut Validator<'_>, cfg: &TopicConfig, e: &TopicError) {
    let topic = KeyPath::key(&["topic"]);
    let position = |list: &str, name: &str, names: Vec<&String>| {
        let at = names.iter().position(|n| *n == name).unwrap_or(0);
        topic.child(list).index(at).child("query")
    };
    let (path, hint) = match e {
        TopicError::Group { group, .. } => (
            topic.child("groups").child(group),
            "a query such as 'taiwan | taipei | \"chinese taipei\"'",
        ),
        TopicError::Rule { rule, .. } => (
            position("rule", rule, cfg.rule.iter().map(|r| &r.name).collect()),
            "a query such as '@taiwan AND @interpol'",
        ),
        TopicError::Exclude { rule, .. } => (
            position(
                "exclude",
                rule,
                cfg.exclude.iter().map(|r| &r.name).collect(),
            ),
            "a query such as 'interpol AND (band | album | concert)'",
        ),
        TopicError::Unless { rule, .. } => {
            let names: Vec<&String> = cfg.exclude.iter().map(|r| &r.name).collect();
            let at = names.iter().position(|n| *n == rule).unwrap_or(0);
            (
                topic.child("exclude").index(at).child("unless"),
                "a query such as '@taiwan AND @interpol'",
            )
        }
        TopicError::Invalid { key, .. } => (topic.child(key), "a value in the documented range"),
    };
    v.check_at::<()>(&path, Err(e.to_string()), hint);
}

/// Collects problems while turning raw values into typed ones.
pub(crate) struct Validator<'a> {
    pub src: &'a TomlSource,
    pub problems: &'a mut Vec<Problem>,
}

impl Validator<'_> {
    pub fn check<T>(&mut self, key: &[&str], result: Result<T, String>, hint: &str) -> Option<T> {
        self.check_at(&KeyPath::key(key), result, hint)
    }

    pub fn check_at<T>(
        &mut self,
        path: &KeyPath,
        result: Result<T, String>,
        hint: &str,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.problems.push(
                    self.src
                        .problem(path, message, Some(format!("write {hint}"))),
                );
                None
            }
        }
    }

    pub fn fail(&mut self, key: &[&str], message: &str, hint: &str) {
        let path = KeyPath::key(key);
        self.problems.push(
            self.src
                .problem(&path, message, Some(format!("write {hint}"))),
        );
    }
}
