//! Configuration: one serde struct per section, validated into typed values.
//!
//! Loading is "parse, don't validate": [`load`] turns `config.toml` plus
//! `FEEDWATCH_<SECTION>__<KEY>` environment overrides into a [`Config`] whose
//! fields are already URLs, cron schedules, durations and paths, or it returns
//! every problem it found, each with file, line, column, key and a fix.

pub mod diag;
pub mod profile;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::matching::{Topic, TopicConfig};

pub use diag::{KeyPath, Origin, Problem, Problems};
use diag::{TomlSource, schema_of};
pub(crate) use validate::Validator;
use validate::validate;

/// Environment variable prefix for key overrides.
pub const ENV_PREFIX: &str = "FEEDWATCH_";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RawConfig {
    server: RawServer,
    bot: RawBot,
    storage: RawStorage,
    sources: RawSources,
    schedule: RawSchedule,
    fetch: RawFetch,
    federation: RawFederation,
    admin: RawAdmin,
    log: RawLog,
    publish: RawPublish,
    topic: TopicConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawServer {
    listen: String,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawBot {
    base_url: String,
    username: String,
    display_name: String,
    summary: String,
    avatar: String,
    header: String,
}

impl Default for RawBot {
    fn default() -> Self {
        RawBot {
            base_url: "http://localhost:8080".to_string(),
            username: "interpolwatch".to_string(),
            display_name: "INTERPOL × Taiwan watch".to_string(),
            summary: "News about Taiwan's exclusion from INTERPOL and the transnational crime it lets through, summarised from many outlets.".to_string(),
            avatar: String::new(),
            header: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawStorage {
    url: String,
    data_dir: String,
    retain: String,
}

impl Default for RawStorage {
    fn default() -> Self {
        RawStorage {
            url: "sqlite://data/feedwatch.db".to_string(),
            data_dir: String::new(),
            retain: "30d".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawSources {
    path: String,
}

impl Default for RawSources {
    fn default() -> Self {
        RawSources {
            path: "feeds/sources.toml".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawSchedule {
    cron: String,
    interval: String,
    jitter: String,
    backoff_base: String,
    backoff_max: String,
    floor_max: String,
}

impl Default for RawSchedule {
    fn default() -> Self {
        RawSchedule {
            cron: "*/5 * * * *".to_string(),
            interval: "15m".to_string(),
            jitter: "30s".to_string(),
            backoff_base: "5m".to_string(),
            backoff_max: "6h".to_string(),
            floor_max: "24h".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawFetch {
    connect_timeout: String,
    read_timeout: String,
    timeout: String,
    max_body: String,
    max_redirects: u32,
    concurrency: u32,
    per_host_concurrency: u32,
    user_agent: String,
}

impl Default for RawFetch {
    fn default() -> Self {
        RawFetch {
            connect_timeout: "10s".to_string(),
            read_timeout: "20s".to_string(),
            timeout: "60s".to_string(),
            max_body: "15MiB".to_string(),
            max_redirects: 5,
            concurrency: 8,
            per_host_concurrency: 2,
            user_agent: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawFederation {
    enabled: bool,
    allow_private_addresses: bool,
    delivery_concurrency: u32,
    dead_after: String,
    icon_url: String,
    blocked_domains: Vec<String>,
    visibility: String,
}

impl Default for RawFederation {
    fn default() -> Self {
        RawFederation {
            enabled: true,
            allow_private_addresses: false,
            delivery_concurrency: 8,
            dead_after: "3d".to_string(),
            icon_url: String::new(),
            blocked_domains: Vec::new(),
            visibility: "public".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawPublish {
    feed_items: u32,
    fetch_article: bool,
    update_on_new_outlet: bool,
    summary_sentences: u32,
    summary_chars: u32,
    content_warning: String,
    output_dir: String,
    max_age: String,
    max_per_hour: u32,
}

impl Default for RawPublish {
    fn default() -> Self {
        RawPublish {
            feed_items: 50,
            fetch_article: true,
            update_on_new_outlet: true,
            summary_sentences: 3,
            summary_chars: 300,
            content_warning: String::new(),
            output_dir: String::new(),
            max_age: "2d".to_string(),
            max_per_hour: 6,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct RawAdmin {
    token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
struct RawLog {
    format: String,
    level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".to_string(),
            level: "info".to_string(),
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from; relative paths in it resolve against its folder.
    pub file: PathBuf,
    pub server: ServerConfig,
    pub bot: BotConfig,
    pub storage: StorageConfig,
    pub sources: SourcesConfig,
    pub schedule: ScheduleConfig,
    pub fetch: FetchConfig,
    pub federation: FederationConfig,
    pub publish: PublishConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    /// The compiled topic: rules, profile, threshold.
    pub topic: Arc<Topic>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct BotConfig {
    pub base_url: Url,
    pub username: String,
    pub display_name: String,
    pub summary: String,
    /// `[bot] avatar`: the actor's `icon`.
    pub avatar: profile::ProfileImage,
    /// `[bot] header`: the actor's `image`.
    pub header: profile::ProfileImage,
}

impl BotConfig {
    /// The Fediverse domain: the base URL's host, with its port if not default.
    pub fn domain(&self) -> String {
        let host = self.base_url.host_str().unwrap_or("localhost");
        match self.base_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The URL as written, for messages.
    pub url: String,
    /// The SQLite file it names, resolved against the config folder.
    pub sqlite_path: PathBuf,
    /// Delivered deliveries, unpublished items' text and cached article
    /// pages older than this are pruned.
    pub retain: Duration,
}

#[derive(Debug, Clone)]
pub struct SourcesConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub cron_text: String,
    pub cron: cron::Schedule,
    /// Default minimum time between two checks of one feed.
    pub interval: Duration,
    /// Each due feed starts after a random delay up to this, so a cycle does not
    /// hit every server in the same second.
    pub jitter: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Cap on server-imposed floors (Retry-After, max-age, ttl): a hostile or
    /// confused server cannot switch a feed off for longer than this.
    pub floor_max: Duration,
}

#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    pub concurrency: usize,
    pub per_host_concurrency: usize,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// Serve the ActivityPub actor and deliver posts to followers.
    pub enabled: bool,
    pub allow_private_addresses: bool,
    pub delivery_concurrency: usize,
    /// A delivery still failing this long after it was queued is dead-lettered.
    pub dead_after: Duration,
    pub icon_url: Option<Url>,
    /// Domains (and their subdomains) refused in the inbox, never delivered
    /// to, and removed from the followers; lowercase host names.
    pub blocked_domains: Vec<String>,
    /// Who the posts are addressed to.
    pub visibility: PostVisibility,
}

/// How posts are addressed on the Fediverse (`[federation] visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostVisibility {
    /// `to: [Public]`, `cc: [followers]`: on the public timelines too.
    #[default]
    Public,
    /// `to: [followers]`, `cc: [Public]`: visible to anyone who looks, but
    /// kept off the local and federated timelines (what many instances ask
    /// of bots).
    Unlisted,
}

impl PostVisibility {
    /// The word in the config and in Mastodon's API.
    pub fn as_str(self) -> &'static str {
        match self {
            PostVisibility::Public => "public",
            PostVisibility::Unlisted => "unlisted",
        }
    }

    fn parse(text: &str) -> Result<PostVisibility, String> {
        match text.trim() {
            "public" => Ok(PostVisibility::Public),
            "unlisted" => Ok(PostVisibility::Unlisted),
            other => Err(format!("unknown visibility {other:?}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Entries in the published feed, newest first.
    pub feed_items: u32,
    /// Fetch the article page of each published story for its summary.
    pub fetch_article: bool,
    /// When another outlet's report joins a published story, send followers
    /// an `Update` listing the outlets (at most one per story per hour).
    pub update_on_new_outlet: bool,
    pub summary_sentences: usize,
    pub summary_chars: usize,
    /// Content warning on every post of the topic (Mastodon spoiler text).
    pub content_warning: Option<String>,
    /// Also write feed.xml, feed.atom and feed.json here (atomically).
    pub output_dir: Option<PathBuf>,
    /// Items whose own date is older than this when first seen are stored
    /// and scored but never published; `None` ("off") publishes any age.
    pub max_age: Option<Duration>,
    /// New stories published per rolling hour; 0 = no cap.
    pub max_per_hour: u32,
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `None` turns the admin pages off.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

/// Loads `file` with overrides from the process environment.
pub fn load(file: &Path) -> Result<Config, Problems> {
    load_with_env(file, std::env::vars())
}

/// Loads `file` with overrides from `vars` (tests pass their own).
pub fn load_with_env(
    file: &Path,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, Problems> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Problems(vec![Problem {
            file: file.to_path_buf(),
            origin: Origin::FileNoPosition,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
            hint: Some(
                "pass --config PATH or set FEEDWATCH_CONFIG; the shipped config.toml is in the repository root"
                    .to_string(),
            ),
        }])
    })?;
    parse_with_env(file, text, vars)
}

/// Where `key` (such as `["server", "listen"]`) is set: the file's line or
/// the environment variable that overrides it; `None` when it is not set (its
/// default is in force). For problems found after loading, such as a port
/// that cannot be bound.
pub fn key_origin(file: &Path, key: &[&str]) -> Option<Origin> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut src = TomlSource::parse(file, text).ok()?;
    let schema = schema_of(&RawConfig::default());
    src.apply_env(ENV_PREFIX, std::env::vars(), &schema, &mut Vec::new());
    let mut value = Some(&src.value);
    let (last, tables) = key.split_last()?;
    for table in tables {
        value = value.and_then(|t| t.get(*table)).and_then(|v| v.as_table());
    }
    value.and_then(|t| t.get(*last))?;
    Some(src.origin(&KeyPath::key(key)))
}

/// Parses configuration text; `file` is used for messages and relative paths.
pub fn parse_with_env(
    file: &Path,
    text: String,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, Problems> {
    let schema = schema_of(&RawConfig::default());
    let mut src = TomlSource::parse(file, text)?;
    let mut problems = Vec::new();
    src.apply_env(ENV_PREFIX, vars, &schema, &mut problems);
    // Section by section, so a type error in one does not hide the others; a
    // section that fails keeps its (valid) defaults and adds no false alarms.
    let mut raw = RawConfig::default();
    for (name, value) in src.value.clone() {
        let at = KeyPath::key(&[&name]);
        macro_rules! section {
            ($field:ident) => {
                if let Some(v) = src.deserialize_at(&at, value, &schema, &mut problems) {
                    raw.$field = v;
                }
            };
        }
        match name.as_str() {
            "server" => section!(server),
            "bot" => section!(bot),
            "storage" => section!(storage),
            "sources" => section!(sources),
            "schedule" => section!(schedule),
            "fetch" => section!(fetch),
            "federation" => section!(federation),
            "admin" => section!(admin),
            "log" => section!(log),
            "publish" => section!(publish),
            "topic" => section!(topic),
            _ => problems.push(src.unknown_key(&at, &schema)),
        }
    }
    let config = validate(&src, raw, &mut problems);
    match config {
        Some(c) if problems.is_empty() => Ok(c),
        _ => Err(Problems(problems)),
    }
}

/// The `[topic]` section of the config file as text, for the playground.
pub fn topic_section_text(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let mut only = toml_edit::DocumentMut::new();
    if let Some(topic) = doc.get("topic") {
        only.insert("topic", topic.clone());
    }
    Ok(only.to_string())
}

/// Compiles a `[topic]` section given as TOML text (the playground's), with
/// profile paths resolved against the config file's folder.
pub fn compile_topic_text(
    config_file: &Path,
    text: &str,
    threshold: Option<f64>,
) -> Result<Topic, String> {
    #[derive(Deserialize)]
    struct OnlyTopic {
        topic: TopicConfig,
    }
    let mut parsed: OnlyTopic = toml::from_str(text).map_err(|e| e.to_string())?;
    if let Some(t) = threshold {
        parsed.topic.threshold = t;
    }
    let base = config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let texts = parsed
        .topic
        .profile
        .iter()
        .map(|p| {
            let path = inside_folder(&base, p)?;
            std::fs::read_to_string(path).map_err(|e| format!("profile {p}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let aliases = crate::matching::AliasTable::load(&base, parsed.topic.aliases.as_deref())
        .map_err(|e| format!("aliases: {e}"))?;
    Topic::compile_with_aliases(&parsed.topic, &texts, aliases).map_err(|e| e.to_string())
}

/// The lower-case `and`/`or`/`not` warnings of a `[topic]` section's text
/// (the playground shows them as `check` does); none when it does not parse.
pub fn topic_text_warnings(text: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct OnlyTopic {
        topic: TopicConfig,
    }
    toml::from_str::<OnlyTopic>(text)
        .map(|t| crate::matching::config_warnings(&t.topic))
        .unwrap_or_default()
}

/// `rel` resolved against `base`, refused unless the file it names (links
/// followed) lies inside `base`: text from the web must not read other files.
fn inside_folder(base: &Path, rel: &str) -> Result<std::path::PathBuf, String> {
    let refuse = || format!("profile {rel}: must be a file inside the config file's folder");
    let root = std::fs::canonicalize(if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    })
    .map_err(|e| format!("profile {rel}: {e}"))?;
    let path = std::fs::canonicalize(root.join(rel)).map_err(|e| format!("profile {rel}: {e}"))?;
    if path.starts_with(&root) {
        Ok(path)
    } else {
        Err(refuse())
    }
}

/// The config file text with its `[topic]` section edited to match `text`
/// (the playground's, its threshold set to `threshold`). Only the keys and
/// tables that differ are touched (toml_edit keeps every other byte: comments,
/// order, blank lines); line endings follow the file's own, so a browser's
/// CRLF never lands in an LF file.
pub fn edit_topic_section(old: &str, text: &str, threshold: f64) -> Result<String, String> {
    let crlf = old.contains("\r\n");
    let mut doc: toml_edit::DocumentMut = old.parse().map_err(|e| format!("the file: {e}"))?;
    let text = text.replace("\r\n", "\n");
    let mut new: toml_edit::DocumentMut =
        text.parse().map_err(|e| format!("the topic text: {e}"))?;
    let Some(new_topic) = new.get_mut("topic").and_then(toml_edit::Item::as_table_mut) else {
        return Err("the text has no [topic] table".to_string());
    };
    new_topic["threshold"] = toml_edit::value(threshold);
    match doc.get_mut("topic") {
        Some(toml_edit::Item::Table(old_topic)) => merge_table(old_topic, new_topic),
        _ => {
            doc.insert("topic", toml_edit::Item::Table(new_topic.clone()));
        }
    }
    let out = doc.to_string();
    Ok(if crlf {
        out.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        out
    })
}

/// Makes `old` hold what `new` holds, touching only what differs.
fn merge_table(old: &mut toml_edit::Table, new: &toml_edit::Table) {
    use toml_edit::{Item, Table};
    let gone: Vec<String> = old
        .iter()
        .filter(|(k, _)| !new.contains_key(k))
        .map(|(k, _)| k.to_string())
        .collect();
    for k in gone {
        old.remove(&k);
    }
    let here = old.position();
    for (key, new_item) in new.iter() {
        match (old.get_mut(key), new_item) {
            (Some(Item::Table(o)), Item::Table(n)) => merge_table(o, n),
            (Some(Item::ArrayOfTables(o)), Item::ArrayOfTables(n)) => {
                while o.len() > n.len() {
                    o.remove(o.len() - 1);
                }
                for (i, nt) in n.iter().enumerate() {
                    match o.get_mut(i) {
                        Some(ot) => merge_table(ot, nt),
                        None => {
                            // At its predecessor's position: toml_edit's stable
                            // sort then writes it right after that one.
                            let at = o.iter().filter_map(last_position).max();
                            let mut t = Item::Table(nt.clone());
                            place(&mut t, at.or(here));
                            if let Item::Table(t) = t {
                                o.push(t);
                            }
                        }
                    }
                }
            }
            (Some(Item::Value(o)), Item::Value(n)) => {
                if undecorated(o) != undecorated(n) {
                    let decor = o.decor().clone();
                    *o = n.clone();
                    *o.decor_mut() = decor;
                }
            }
            (Some(o), n) => {
                let at = match &*o {
                    Item::Table(t) => t.position(),
                    Item::ArrayOfTables(a) => a.iter().filter_map(Table::position).min(),
                    _ => None,
                };
                let mut n = n.clone();
                place(&mut n, at.or(here));
                *o = n;
            }
            (None, n) => {
                let mut n = n.clone();
                place(&mut n, here);
                old.insert(key, n);
            }
        }
    }
}

fn undecorated(v: &toml_edit::Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

/// The last document position of a table or any table inside it.
fn last_position(t: &toml_edit::Table) -> Option<isize> {
    let inner = t.iter().filter_map(|(_, i)| match i {
        toml_edit::Item::Table(t) => last_position(t),
        toml_edit::Item::ArrayOfTables(a) => a.iter().filter_map(last_position).max(),
        _ => None,
    });
    inner.chain(t.position()).max()
}

/// Moves an item from the playground's text (positions of that text) to
/// position `at` of the file, every table inside it too.
fn place(item: &mut toml_edit::Item, at: Option<isize>) {
    let Some(at) = at else { return };
    let tables: Vec<&mut toml_edit::Table> = match item {
        toml_edit::Item::Table(t) => vec![t],
        toml_edit::Item::ArrayOfTables(a) => a.iter_mut().collect(),
        _ => return,
    };
    for t in tables {
        t.set_position(at);
        for (_, child) in t.iter_mut() {
            place(child, Some(at));
        }
    }
}

/// A blocked domain: a host name (no scheme, port or path), lowercased.
fn parse_blocked_domain(text: &str) -> Result<String, String> {
    let d = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.is_empty() || d.len() > 253 || !d.split('.').all(label_ok) {
        return Err(format!("\"{text}\" is not a domain name"));
    }
    Ok(d)
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("\"{text}\" is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme \"{}\" is not http or https", url.scheme()));
    }
    if url.host_str().is_none() {
        return Err("has no host".to_string());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".to_string());
    }
    Ok(url)
}

fn valid_username(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("\"{name}\" is not a valid Fediverse username"));
    }
    Ok(name.to_string())
}

fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            format!("\"{url}\" is not a sqlite: URL (only SQLite is supported for now)")
        })?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(
            "names no file; feedwatch needs a file to keep its state across restarts".to_string(),
        );
    }
    Ok(PathBuf::from(path))
}

/// The database file moved into `dir`, keeping its file name.
fn in_data_dir(db: &Path, dir: &Path) -> PathBuf {
    dir.join(
        db.file_name()
            .unwrap_or(std::ffi::OsStr::new("feedwatch.db")),
    )
}

impl Config {
    /// `--data-dir`: the database and the actor key live in `dir`.
    pub fn with_data_dir(mut self, dir: &Path) -> Config {
        self.storage.sqlite_path = in_data_dir(&self.storage.sqlite_path, dir);
        self
    }
}

/// Parses a crontab. Five fields are the crontab users know; six add a leading
/// seconds field and seven a trailing year. Day-of-week numbers follow crontab
/// (0 or 7 = Sunday) in every form; the `cron` crate counts 1 = Sunday, so they
/// are rewritten as names before it sees them.
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let (sec, rest, year) = match fields.len() {
        5 => ("0", &fields[..], "*"),
        6 => (fields[0], &fields[1..], "*"),
        7 => (fields[0], &fields[1..6], fields[6]),
        n => {
            return Err(format!(
                "\"{text}\" has {n} fields; a crontab has 5 (minute hour day-of-month month day-of-week)"
            ));
        }
    };
    // The crate's own range messages are off by one ("Minutes must be less
    // than 59 ('61')"); check the numbers first and quote the real ranges.
    let fields_ranges = [
        (sec, "seconds", 0, 59),
        (rest[0], "minute", 0, 59),
        (rest[1], "hour", 0, 23),
        (rest[2], "day of month", 1, 31),
        (rest[3], "month", 1, 12),
        (rest[4], "day of week", 0, 7),
    ];
    for (field, name, lo, hi) in fields_ranges {
        cron_field_in_range(field, name, lo, hi)
            .map_err(|e| format!("\"{text}\" is not a valid schedule: {e}"))?;
    }
    let dow = crontab_dow_to_names(rest[4])?;
    let expr = format!(
        "{sec} {} {} {} {} {dow} {year}",
        rest[0], rest[1], rest[2], rest[3]
    );
    cron::Schedule::from_str(&expr).map_err(|e| {
        // The crate's message repeats the expression with a caret; keep its reason.
        let msg = e.to_string();
        let reason = msg
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(&msg)
            .trim()
            .to_string();
        format!("\"{text}\" is not a valid schedule: {reason}")
    })
}

/// Every number of a crontab field (lists, ranges, steps) within `lo..=hi`.
fn cron_field_in_range(field: &str, name: &str, lo: u32, hi: u32) -> Result<(), String> {
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        for n in range.split('-') {
            if let Ok(v) = n.parse::<u32>() {
                if v < lo || v > hi {
                    return Err(format!("the {name} must be {lo}-{hi} ('{n}')"));
                }
            }
        }
        if let Some(Ok(0)) = step.map(str::parse::<u32>) {
            return Err(format!("the {name} step must be at least 1 ('{part}')"));
        }
    }
    Ok(())
}

const DOW_NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

fn crontab_dow_to_names(field: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let name = |n: &str| -> Result<String, String> {
            match n.parse::<usize>() {
                Ok(i) if i <= 7 => Ok(DOW_NAMES[i].to_string()),
                Ok(i) => Err(format!("day of week {i} is out of range 0-7")),
                Err(_) => Ok(n.to_string()),
            }
        };
        let mapped = match range.split_once('-') {
            Some((a, b)) => {
                let (a_name, b_name) = (name(a)?, name(b)?);
                // "5-7" would become FRI-SUN, which wraps; crontab means FRI,SAT,SUN.
                if b == "7" && a != "0" && step.is_none() {
                    format!("{a_name}-SAT,SUN")
                } else {
                    format!("{a_name}-{b_name}")
                }
            }
            None => name(range)?,
        };
        parts.push(match step {
            Some(s) => format!("{mapped}/{s}"),
            None => mapped,
        });
    }
    Ok(parts.join(","))
}

/// Durations such as "90s", "15m", "2h 30m", "1d".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = parse_duration_allow_zero(text)?;
    if d.is_zero() {
        return Err("must be longer than zero".to_string());
    }
    Ok(d)
}

fn parse_duration_allow_zero(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(t).map_err(|e| format!("\"{text}\" is not a duration: {e}"))
}

/// Sizes such as "15MiB", "512 KiB", "2MB" or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("\"{text}\" does not start with a number"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" | "k" => 1024.0,
        "mb" => 1e6,
        "mib" | "m" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit \"{other}\"")),
    };
    let bytes = (num * mult).round();
    if bytes < 1.0 {
        return Err("must be at least one byte".to_string());
    }
    Ok(bytes as u64)
}

fn in_range(v: u32, lo: u32, hi: u32) -> Result<u32, String> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside {lo}..={hi}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Utc};

    fn next_after(expr: &str, y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
        let s = parse_cron(expr).expect("test input");
        s.after(
            &Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
                .single()
                .expect("test input"),
        )
        .next()
        .expect("test input")
    }

    #[test]
    fn cron_errors_quote_the_real_ranges() {
        let err = |e: &str| parse_cron(e).expect_err("invalid on purpose");
        assert!(err("61 * * * *").contains("the minute must be 0-59 ('61')"));
        assert!(err("*/5 24 * * *").contains("the hour must be 0-23 ('24')"));
        assert!(err("0 0 0 * *").contains("the day of month must be 1-31 ('0')"));
        assert!(err("0 0 1 1-13 *").contains("the month must be 1-12 ('13')"));
        assert!(err("0 0 * * 8").contains("the day of week must be 0-7 ('8')"));
        assert!(err("*/0 * * * *").contains("step must be at least 1"));
        assert!(parse_cron("59 23 31 12 7").is_ok(), "the edges are valid");
    }

    #[test]
    fn crontab_sunday_is_zero_and_seven() {
        // 2026-11-28 is a Saturday; the next Sunday is the 29th.
        assert_eq!(next_after("0 9 * * 0", 2026, 11, 28).day(), 29);
        assert_eq!(next_after("0 9 * * 7", 2026, 11, 28).day(), 29);
        // 1-5 is Monday to Friday: from Saturday the next is Monday the 30th.
        assert_eq!(next_after("0 9 * * 1-5", 2026, 11, 28).day(), 30);
        assert_eq!(next_after("0 9 * * 5-7", 2026, 11, 28).day(), 28);
    }

    #[test]
    fn six_and_seven_fields_are_accepted() {
        assert!(parse_cron("30 */5 * * * *").is_ok());
        assert!(parse_cron("0 0 12 * * MON 2027").is_ok());
        assert!(parse_cron("* * *").is_err());
        assert!(parse_cron("61 * * * *").is_err());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(
            parse_duration("15m").expect("test input"),
            Duration::from_secs(900)
        );
        assert_eq!(
            parse_duration("1d").expect("test input"),
            Duration::from_secs(86400)
        );
        assert!(parse_duration("fifteen").is_err());
        assert!(parse_duration("0").is_err());
        assert_eq!(parse_size("15MiB").expect("test input"), 15 * 1024 * 1024);
        assert_eq!(parse_size("512 KiB").expect("test input"), 512 * 1024);
        assert_eq!(parse_size("1000").expect("test input"), 1000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }
}
