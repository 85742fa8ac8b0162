//! Prometheus metrics. Counters and the latency histogram are updated by the
//! pipeline as it runs; gauges that describe stored state (queue depth,
//! followers) are read from the store when `/metrics` is scraped, so they can
//! never drift from the truth.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

/// The process's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Feed polls by outcome: ok, not_modified, or the error kind.
    pub fetches: Family<OutcomeLabel, Counter>,
    pub fetch_seconds: Histogram,
    /// Polls the ingest writer committed per store transaction.
    pub commit_polls: Histogram,
    /// Items in fetched feeds (every poll that returned a body).
    pub items_seen: Counter,
    /// New or edited items the topic decided to publish.
    pub items_matched: Counter,
    /// Stories published or updated in the feed.
    pub items_published: Counter,
    pub deliveries: Family<StatusLabel, Gauge>,
    pub followers: Gauge,
    /// Stored mentions, and Likes and Announces of our Notes (distinct
    /// actor per story), by kind: mention, like, announce.
    pub interactions: Family<KindLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("feedwatch");
        let fetches = Family::<OutcomeLabel, Counter>::default();
        registry.register("fetches", "Feed polls by outcome", fetches.clone());
        // 50 ms to ~100 s: local files to slow servers at the timeout.
        let fetch_seconds =
            Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]);
        registry.register(
            "fetch_duration_seconds",
            "Time to fetch and parse one feed",
            fetch_seconds.clone(),
        );
        // One poll alone (a scheduler tick) up to a full batch (WRITE_BATCH).
        let commit_polls = Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        registry.register(
            "commit_polls",
            "Polls the ingest writer committed per store transaction",
            commit_polls.clone(),
        );
        let items_seen = Counter::default();
        registry.register("items_seen", "Items in fetched feeds", items_seen.clone());
        let items_matched = Counter::default();
        registry.register(
            "items_matched",
            "New or edited items the topic decided to publish",
            items_matched.clone(),
        );
        let items_published = Counter::default();
        registry.register(
            "items_published",
            "Stories published or updated in the feed",
            items_published.clone(),
        );
        let deliveries = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "deliveries",
            "Fediverse deliveries in the queue by status",
            deliveries.clone(),
        );
        let followers = Gauge::default();
        registry.register("followers", "Fediverse followers", followers.clone());
        let interactions = Family::<KindLabel, Gauge>::default();
        registry.register(
            "fediverse_interactions",
            "Mentions of the bot, and Likes and Announces of its Notes, stored",
            interactions.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            fetches,
            fetch_seconds,
            commit_polls,
            items_seen,
            items_matched,
            items_published,
            deliveries,
            followers,
            interactions,
        }
    }

    pub fn fetch(&self, outcome: &str) {
        self.fetches
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = match self.registry.lock() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
