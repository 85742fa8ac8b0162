//! The settings in force: one immutable snapshot ([`Runtime`]) of the
//! configuration and what is derived from it (the compiled topic, the
//! publisher, the feed identity), and its one owner ([`Settings`]).
//!
//! A poll or a request takes one snapshot with [`Settings::load`] and uses
//! only that, so a reload in the middle never mixes two versions. A reload,
//! a playground Apply and a source's enable/disable toggle are serialised
//! behind [`Settings`]: validate → write (atomic rename) → swap, or refuse and
//! leave the file untouched. The file work and the topic compiling run on the
//! blocking pool, never on the async threads.
//!
//! The snapshot lives in a `tokio::sync::watch` channel: already in the tree
//! (no new crate to build), readers clone an `Arc` without waiting on a
//! writer, and the swap is one atomic `send_replace`.
//!
//! Keys that only take effect at start-up ([`restart_needed`]) keep their
//! start-up values in the snapshot after a reload ([`pin_restart_keys`]): what
//! the snapshot says is what is in force, and the reload's answer names them.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::config::{self, Config, Problems, ScheduleConfig};
use crate::fediverse::{Composer, Fediverse};
use crate::matching::Topic;
use crate::publish::gate::Gate;
use crate::publish::outputs::FeedIdentity;
use crate::publish::story::Publisher;
use crate::sources::FeedSource;
use crate::summary::SummaryOptions;

/// One immutable version of the settings in force.
pub struct Runtime {
    /// The configuration; restart-only keys hold their start-up values.
    pub config: Config,
    /// The compiled topic (the same as `config.topic`).
    pub topic: Arc<Topic>,
    pub schedule: Arc<ScheduleConfig>,
    /// The summarize-and-compose stage's settings.
    pub publisher: Arc<Publisher>,
    /// Title, description and base URL of the feeds and pages.
    pub identity: FeedIdentity,
    /// Fetch article pages of new stories for their summaries.
    pub fetch_articles: bool,
    /// The age gate and the posting cap (`[publish] max_age`, `max_per_hour`).
    pub gate: Gate,
    /// Bumped by every reload (the web cache keys on it).
    pub generation: u64,
}

impl Runtime {
    fn new(config: Config, composer: Option<Composer>, generation: u64) -> Runtime {
        let publisher = Publisher {
            base_url: config.bot.base_url.clone(),
            summary: SummaryOptions {
                max_sentences: config.publish.summary_sentences,
                max_chars: config.publish.summary_chars,
            },
            content_warning: config.publish.content_warning.clone(),
            hashtags: config.topic.hashtags().to_vec(),
            topic_terms: config.topic.topic_terms(),
            composer,
            update_on_new_outlet: config.publish.update_on_new_outlet,
        };
        Runtime {
            topic: config.topic.clone(),
            schedule: Arc::new(config.schedule.clone()),
            publisher: Arc::new(publisher),
            identity: FeedIdentity {
                title: config.bot.display_name.clone(),
                description: config.bot.summary.clone(),
                base_url: config.bot.base_url.clone(),
            },
            fetch_articles: config.publish.fetch_article,
            gate: Gate {
                max_age: config.publish.max_age,
                max_per_hour: config.publish.max_per_hour,
            },
            generation,
            config,
        }
    }

    /// The source list this snapshot names (`[sources] path`), read on the
    /// blocking pool.
    pub async fn sources(&self) -> anyhow::Result<Vec<FeedSource>> {
        let path = self.config.sources.path.clone();
        tokio::task::spawn_blocking(move || {
            crate::sources::load(&path).map_err(|p| anyhow::anyhow!("{p}"))
        })
        .await
        .map_err(|e| anyhow::anyhow!("the task failed: {e}"))?
    }

    /// The story page URL: the feed entry id and the Note's `url`.
    pub fn story_url(&self, story_id: &str) -> String {
        format!(
            "{}/stories/{story_id}",
            self.identity.base_url.as_str().trim_end_matches('/')
        )
    }
}

/// The one owner of the settings in force and of the files they come from.
/// Cheap to clone; every clone is the same owner.
#[derive(Clone)]
pub struct Settings {
    inner: Arc<Inner>,
}

struct Inner {
    current: watch::Sender<Arc<Runtime>>,
    /// Held for validate → write → swap; two of them never interleave.
    owner: Mutex<()>,
    fediverse: Option<Fediverse>,
}

impl Settings {
    /// The settings of the configuration read at start-up.
    pub fn new(config: Config, fediverse: Option<Fediverse>) -> Settings {
        let runtime = Runtime::new(config, fediverse.as_ref().map(composer_of), 0);
        Settings {
            inner: Arc::new(Inner {
                current: watch::Sender::new(Arc::new(runtime)),
                owner: Mutex::new(()),
                fediverse,
            }),
        }
    }

    /// The Fediverse service when federating: the delivery side (its worker
    /// is woken after a commit queued activities). The snapshot holds none:
    /// its publisher composes activities as data ([`Composer`]).
    pub fn fediverse(&self) -> Option<&Fediverse> {
        self.inner.fediverse.as_ref()
    }

    /// One snapshot of the settings in force.
    pub fn load(&self) -> Arc<Runtime> {
        Arc::clone(&self.inner.current.borrow())
    }

    fn own(&self) -> MutexGuard<'_, ()> {
        self.inner
            .owner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the config file and puts it in force (on the blocking pool).
    /// The answer names the changed keys that need a restart; an invalid
    /// file is refused with its problems and the old settings stay.
    pub async fn reload(&self) -> Result<Vec<String>, Problems> {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.reload_blocking()).await {
            Ok(r) => r,
            Err(e) => Err(Problems(vec![config::Problem {
                file: self.load().config.file.clone(),
                origin: config::Origin::FileNoPosition,
                key: String::new(),
                message: format!("the reload task failed: {e}"),
                hint: None,
            }])),
        }
    }

    /// [`Settings::reload`] on the calling thread (it reads the file).
    pub fn reload_blocking(&self) -> Result<Vec<String>, Problems> {
        let _owner = self.own();
        let new = config::load(&self.load().config.file)?;
        Ok(self.swap(new))
    }

    /// Writes the playground's `[topic]` text into the config file (only
    /// the tables that changed; see [`config::edit_topic_section`]) and puts
    /// it in force. Refused, with the file untouched, unless the whole new
    /// file is valid.
    pub async fn apply_topic(
        &self,
        topic_text: String,
        threshold: f64,
    ) -> Result<Vec<String>, String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.apply_topic_blocking(&topic_text, threshold))
            .await
            .unwrap_or_else(|e| Err(format!("the apply task failed: {e}")))
    }

    fn apply_topic_blocking(
        &self,
        topic_text: &str,
        threshold: f64,
    ) -> Result<Vec<String>, String> {
        let _owner = self.own();
        let file = self.load().config.file.clone();
        let old = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let edited = config::edit_topic_section(&old, topic_text, threshold)?;
        let new = config::parse_with_env(&file, edited.clone(), std::env::vars())
            .map_err(|p| p.to_string())?;
        write_atomically(&file, &edited)?;
        Ok(self.swap(new))
    }

    /// Enables or disables a source in the source list (`sources.toml`),
    /// in turn with reloads and Applies. `Ok(false)`: no such source.
    pub async fn set_source_enabled(&self, url: String, enabled: bool) -> anyhow::Result<bool> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _owner = this.own();
            let path = this.load().config.sources.path.clone();
            crate::sources::set_enabled(&path, &url, enabled)
        })
        .await
        .map_err(|e| anyhow::anyhow!("the task failed: {e}"))?
    }

    /// The `[topic]` section of the config file as text, for the playground.
    pub async fn topic_text(&self) -> Result<String, String> {
        let file = self.load().config.file.clone();
        tokio::task::spawn_blocking(move || config::topic_section_text(&file))
            .await
            .unwrap_or_else(|e| Err(format!("the task failed: {e}")))
    }

    /// Compiles a `[topic]` section given as text (the playground's) on the
    /// blocking pool; nothing is put in force.
    pub async fn compile_topic(&self, text: String, threshold: f64) -> Result<Topic, String> {
        let file = self.load().config.file.clone();
        tokio::task::spawn_blocking(move || {
            config::compile_topic_text(&file, &text, Some(threshold))
        })
        .await
        .unwrap_or_else(|e| Err(format!("the task failed: {e}")))
    }

    /// Puts `new` in force (restart-only keys kept); names the changed keys
    /// that need a restart. The caller holds the owner.
    fn swap(&self, mut new: Config) -> Vec<String> {
        let old = self.load();
        let federating = self.inner.fediverse.is_some();
        let notes = restart_needed(&old.config, &new, federating);
        pin_restart_keys(&mut new, &old.config);
        // Applied on every reload (idempotent): followers that arrived from
        // a blocked domain since are removed too.
        if let Some(f) = &self.inner.fediverse {
            apply_blocked_domains(f.clone(), new.federation.blocked_domains.clone());
        }
        let composer = self.inner.fediverse.as_ref().map(composer_of);
        let runtime = Runtime::new(new, composer, old.generation + 1);
        self.inner.current.send_replace(Arc::new(runtime));
        tracing::info!(
            restart_needed = notes.len(),
            "configuration reloaded{}",
            if notes.is_empty() {
                String::new()
            } else {
                format!("; not in force until a restart: {}", notes.join("; "))
            }
        );
        notes
    }
}

/// The publisher's composer: the service's own (start-up settings, which a
/// reload does not change: the Fediverse keys are restart-only).
fn composer_of(fediverse: &Fediverse) -> Composer {
    fediverse.composer().clone()
}

/// `text` into `file` through a temporary file and a rename: a reader sees
/// the old file or the new one, never half of it.
fn write_atomically(file: &Path, text: &str) -> Result<(), String> {
    let tmp = file.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    if let Err(e) = std::fs::rename(&tmp, file) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot replace {}: {e}", file.display()));
    }
    Ok(())
}

/// Applies a reloaded `[federation] blocked_domains` (removes followers and
/// queued deliveries on those domains) without blocking the reload.
fn apply_blocked_domains(fed: Fediverse, domains: Vec<String>) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            if let Err(e) = fed.set_blocked_domains(domains).await {
                tracing::error!(error = %e, "applying [federation] blocked_domains failed");
            }
        });
    }
}

/// The changed keys that only take effect at start-up (README, "Reloading
/// the configuration"). [`pin_restart_keys`] keeps the same list.
pub fn restart_needed(old: &Config, new: &Config, federating: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |changed: bool, key: &str| {
        if changed {
            out.push(format!("{key} changed; it takes effect after a restart"));
        }
    };
    note(new.server.listen != old.server.listen, "server.listen");
    note(
        new.storage.sqlite_path != old.storage.sqlite_path,
        "storage.url",
    );
    note(new.bot.base_url != old.bot.base_url, "bot.base_url");
    note(new.bot.username != old.bot.username, "bot.username");
    note(
        federating
            && (new.bot.display_name != old.bot.display_name || new.bot.summary != old.bot.summary),
        "the Fediverse profile (bot.display_name, bot.summary; the feeds and pages use them now)",
    );
    // The actor's icon/image and the /avatar.<ext>, /header.<ext> routes
    // are set at start-up (new bytes in the same file are served at once).
    note(new.bot.avatar != old.bot.avatar, "bot.avatar");
    note(new.bot.header != old.bot.header, "bot.header");
    note(
        new.federation.enabled != old.federation.enabled,
        "federation.enabled",
    );
    // `blocked_domains` reloads; every other `[federation]` key is read at start-up.
    note(
        federation_restart_part(new) != federation_restart_part(old)
            && new.federation.enabled == old.federation.enabled,
        "[federation]",
    );
    note(
        format!("{:?}", new.fetch) != format!("{:?}", old.fetch),
        "[fetch]",
    );
    note(
        new.log.level != old.log.level || new.log.format != old.log.format,
        "[log]",
    );
    out
}

/// `[federation]` without the reloadable `blocked_domains`, for comparing.
fn federation_restart_part(c: &Config) -> String {
    let mut f = c.federation.clone();
    f.blocked_domains.clear();
    format!("{f:?}")
}

/// Keeps in `new` the start-up values (from `running`) of the keys that
/// [`restart_needed`] names, so the snapshot shows what is in force.
pub fn pin_restart_keys(new: &mut Config, running: &Config) {
    new.server.listen = running.server.listen;
    new.storage.url.clone_from(&running.storage.url);
    new.storage
        .sqlite_path
        .clone_from(&running.storage.sqlite_path);
    new.bot.base_url.clone_from(&running.bot.base_url);
    new.bot.username.clone_from(&running.bot.username);
    new.bot.avatar.clone_from(&running.bot.avatar);
    new.bot.header.clone_from(&running.bot.header);
    let blocked = std::mem::take(&mut new.federation.blocked_domains);
    new.federation.clone_from(&running.federation);
    new.federation.blocked_domains = blocked;
    new.fetch.clone_from(&running.fetch);
    new.log.clone_from(&running.log);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        config::parse_with_env(Path::new("config.toml"), text.to_string(), Vec::new())
            .expect("a valid config")
    }

    const RUNNING: &str = r#"
[server]
listen = "127.0.0.1:8080"
[bot]
base_url = "http://localhost:8080"
display_name = "Old title"
[storage]
url = "sqlite://data/a.db"
[schedule]
cron = "*/5 * * * *"
"#;

    const EDITED: &str = r#"
[server]
listen = "127.0.0.1:9090"
[bot]
base_url = "http://localhost:9090"
username = "other"
display_name = "New title"
[storage]
url = "sqlite://data/b.db"
[schedule]
cron = "*/7 * * * *"
[federation]
enabled = false
blocked_domains = ["spam.example"]
[fetch]
concurrency = 2
[log]
level = "debug"
"#;

    /// Every key the answer names keeps its start-up value in the snapshot,
    /// and every other key is taken from the new file.
    #[test]
    fn pinned_keys_are_the_ones_the_answer_names() {
        let running = parse(RUNNING);
        let mut new = parse(EDITED);
        let notes = restart_needed(&running, &new, false);
        for key in [
            "server.listen",
            "storage.url",
            "bot.base_url",
            "bot.username",
            "federation.enabled",
            "[fetch]",
            "[log]",
        ] {
            assert!(
                notes
                    .iter()
                    .any(|n| n.starts_with(&format!("{key} changed"))),
                "{key} not in {notes:?}"
            );
        }
        assert_eq!(notes.len(), 7, "{notes:?}");
        pin_restart_keys(&mut new, &running);
        assert_eq!(restart_needed(&running, &new, false), Vec::<String>::new());
        assert_eq!(new.server.listen, running.server.listen);
        assert_eq!(new.storage.sqlite_path, running.storage.sqlite_path);
        assert!(new.federation.enabled);
        // What reloads comes from the new file.
        assert_eq!(new.bot.display_name, "New title");
        assert_eq!(new.schedule.cron_text, "*/7 * * * *");
        assert_eq!(new.federation.blocked_domains, vec!["spam.example"]);
    }

    /// Only `blocked_domains` changed: it reloads, nothing needs a restart.
    #[test]
    fn blocked_domains_reload_without_a_restart() {
        let running = parse(RUNNING);
        let new = parse(&format!(
            "{RUNNING}[federation]\nblocked_domains = [\"spam.example\"]\n"
        ));
        assert_eq!(restart_needed(&running, &new, true), Vec::<String>::new());
    }

    /// A swap bumps the generation and the snapshot carries the new
    /// identity; a snapshot taken before keeps the old one.
    #[tokio::test]
    async fn a_snapshot_is_immutable_and_a_swap_replaces_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("config.toml");
        std::fs::write(&file, RUNNING).expect("write");
        let settings = Settings::new(
            config::load_with_env(&file, Vec::new()).expect("valid"),
            None,
        );
        let before = settings.load();
        std::fs::write(&file, RUNNING.replace("Old title", "New title")).expect("write");
        let notes = settings.reload().await.expect("reloaded");
        assert!(notes.is_empty(), "{notes:?}");
        let after = settings.load();
        assert_eq!(before.identity.title, "Old title");
        assert_eq!(after.identity.title, "New title");
        assert_eq!(after.generation, before.generation + 1);
        // A broken file is refused; the snapshot in force stays.
        std::fs::write(&file, "[server]\nlisten = 3\n").expect("write");
        assert!(settings.reload().await.is_err());
        assert_eq!(settings.load().generation, after.generation);
    }
}
