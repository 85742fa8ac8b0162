//! Operator tools for tuning the filters: `score` (decisions for any feed,
//! without touching the store), `eval` (precision and recall against
//! labelled items) and `replay` (the stored items re-run under the current
//! rules: the backtest before a rule change goes live).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde::Serialize;
use url::Url;

use crate::config::Config;
use crate::fetch::{FetchOutcome, Fetcher, Validators};
use crate::item::{Item, normalize};
use crate::matching::{Decision, EvalRow, Topic, evaluate_rows};
use crate::parse::parse_feed;
use crate::schedule::candidate;
use crate::sources::{self, FeedSource};
use crate::store::Store;

/// One scored item, as `score --json` prints it (one object per line).
#[derive(Debug, Serialize)]
pub struct ScoredItem {
    pub id: String,
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: String,
    pub source: String,
    pub lang: String,
    pub score: f64,
    pub threshold: f64,
    /// Whether the item would be published (admitted and over the threshold).
    pub matched: bool,
    /// Whether the rules admit it, whatever the score.
    pub admitted: bool,
    pub decision: &'static str,
    pub reasons: String,
    pub explanation: crate::matching::Explanation,
}

impl ScoredItem {
    fn new(item: &Item, d: Decision) -> ScoredItem {
        ScoredItem {
            id: item.id.clone(),
            guid: item.guid.clone(),
            link: item.link.clone(),
            title: item.title.clone(),
            source: item.source.clone(),
            lang: item.lang.clone(),
            score: d.score,
            threshold: d.threshold,
            matched: d.publish,
            admitted: d.admitted,
            decision: if d.publish { "publish" } else { "skip" },
            reasons: d.explanation.reasons(),
            explanation: d.explanation,
        }
    }
}

/// A SOURCE argument: a feed URL (http, https, file) or a path.
pub fn source_url(arg: &str) -> Result<Url> {
    if let Ok(url) = Url::parse(arg) {
        if matches!(url.scheme(), "http" | "https" | "file") {
            return Ok(url);
        }
    }
    let path = Path::new(arg);
    let abs = path
        .canonicalize()
        .with_context(|| format!("{arg} is neither a feed URL nor a readable file"))?;
    Url::from_file_path(&abs)
        .map_err(|()| anyhow::anyhow!("cannot turn {} into a file URL", abs.display()))
}

/// Fetches, parses and scores every item of `sources` under the topic (with
/// the overrides of a configured feed of the same URL). Touches no store.
pub async fn score_sources(config: &Config, sources: &[String]) -> Result<Vec<ScoredItem>> {
    let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
    let configured = sources::load(&config.sources.path).unwrap_or_default();
    let mut out = Vec::new();
    for arg in sources {
        let url = source_url(arg)?;
        let feed = configured
            .iter()
            .find(|f| f.url == url)
            .cloned()
            .unwrap_or_else(|| {
                FeedSource::new(url.clone(), url.host_str().unwrap_or("file").to_string())
            });
        let topic = topic_for(&config.topic, &feed)?;
        let fetched = match fetcher
            .fetch(&url, &Validators::default())
            .await
            .with_context(|| format!("fetching {url}"))?
        {
            FetchOutcome::Body(f) => f,
            FetchOutcome::NotModified { .. } => {
                bail!("{url} answered 304 to an unconditional request")
            }
        };
        let parsed = parse_feed(
            &fetched.body,
            fetched.charset.as_deref(),
            Some(fetched.final_url.as_str()),
        )
        .with_context(|| format!("parsing {url}"))?;
        let now = Utc::now();
        for entry in &parsed.entries {
            let item = normalize(&parsed, entry, &feed, now);
            let decision = topic.evaluate(&candidate(&item));
            out.push(ScoredItem::new(&item, decision));
        }
    }
    Ok(out)
}

fn topic_for(base: &std::sync::Arc<Topic>, feed: &FeedSource) -> Result<std::sync::Arc<Topic>> {
    feed.topic(base)
        .with_context(|| format!("rules of feed {}", feed.url))
}

/// `feedwatch score`.
pub async fn score(config: &Config, sources: &[String], json: bool) -> Result<()> {
    let items = score_sources(config, sources).await?;
    let mut out = std::io::stdout().lock();
    for s in &items {
        if json {
            writeln!(out, "{}", serde_json::to_string(s)?)?;
        } else {
            writeln!(
                out,
                "{:<7} {:.2}  {}  <{}>\n        {}",
                s.decision.to_uppercase(),
                s.score,
                s.title,
                s.link.as_deref().unwrap_or("no link"),
                s.reasons
            )?;
        }
    }
    if !json {
        let published = items.iter().filter(|s| s.matched).count();
        writeln!(
            out,
            "{} item(s), {published} would be published",
            items.len()
        )?;
    }
    Ok(())
}

/// Reads `guid<TAB>label` lines (a header line and blank lines are skipped).
pub fn read_labels(path: &Path) -> Result<HashMap<String, u8>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut labels = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let Some((guid, label)) = line.split_once('\t') else {
            continue;
        };
        match label.trim().parse::<u8>() {
            Ok(l @ 0..=2) => {
                let guid = guid.trim();
                // Items carry canonical links (tracking parameters dropped), so
                // URL labels are also keyed by their canonical form.
                if let Ok(url) = Url::parse(guid) {
                    labels.insert(crate::item::canonical_url(&url), l);
                }
                labels.insert(guid.to_string(), l);
            }
            _ if n == 0 => {} // header
            _ => bail!(
                "{}:{}: label must be 0, 1 or 2, found {label:?}",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(labels)
}

/// `feedwatch eval`: precision and recall against labelled items.
pub async fn eval(
    config: &Config,
    labels_path: &Path,
    sources: &[String],
) -> Result<crate::matching::EvalReport> {
    let labels = read_labels(labels_path)?;
    let items = score_sources(config, sources).await?;
    let mut rows = Vec::new();
    let mut unlabelled = 0;
    for s in &items {
        let label = s
            .guid
            .as_ref()
            .and_then(|g| labels.get(g))
            .or_else(|| s.link.as_ref().and_then(|l| labels.get(l)));
        match label {
            Some(l) => rows.push(EvalRow {
                id: s.guid.clone().unwrap_or_else(|| s.id.clone()),
                label: *l,
                published: s.matched,
                reasons: format!("{} — {}", s.title, s.reasons),
            }),
            None => unlabelled += 1,
        }
    }
    let report = evaluate_rows(&rows);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} labelled item(s) evaluated, {unlabelled} without a label",
        rows.len()
    )?;
    writeln!(out, "{report}")?;
    Ok(report)
}

/// The newest `limit` stored items re-evaluated under `topic` (with each
/// feed's overrides): how many were replayed, and those whose decision
/// would change. Reads the store, changes nothing.
pub async fn replay_changes(
    store: &Store,
    topic: &std::sync::Arc<Topic>,
    feeds: &[FeedSource],
    limit: u32,
) -> Result<(usize, Vec<ReplayChange>)> {
    let mut topics: HashMap<String, std::sync::Arc<Topic>> = HashMap::new();
    for f in feeds {
        topics.insert(f.url.to_string(), topic_for(topic, f)?);
    }
    let rows = store.items_with_decisions(limit).await?;
    let total = rows.len();
    let mut changes = Vec::new();
    for (stored, before) in rows {
        let t = topics.get(&stored.item.feed_url).unwrap_or(topic);
        let d = t.evaluate(&candidate(&stored.item));
        let was = before.as_ref().map(|b| b.publish);
        if was != Some(d.publish) && (d.publish || was == Some(true)) {
            changes.push(ReplayChange {
                id: stored.item.id.clone(),
                title: stored.item.title.clone(),
                link: stored.item.link.clone(),
                source: stored.item.source.clone(),
                published: stored.item.published,
                before: was,
                after: d.publish,
                score: d.score,
                reasons: d.explanation.reasons(),
                lang: stored.item.lang.clone(),
            });
        }
    }
    Ok((total, changes))
}

/// One change `replay` found.
#[derive(Debug, Serialize)]
pub struct ReplayChange {
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub source: String,
    pub published: chrono::DateTime<Utc>,
    pub before: Option<bool>,
    pub after: bool,
    pub score: f64,
    pub reasons: String,
    /// The item's BCP 47 tag (the playground marks the title with it).
    pub lang: String,
}

/// `feedwatch replay`: re-evaluates stored items under the current rules and
/// lists what would be added or dropped. Changes nothing.
pub async fn replay(config: &Config, limit: u32) -> Result<Vec<ReplayChange>> {
    let store = Store::open(&config.storage.sqlite_path).await?;
    let feeds = sources::load(&config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))?;
    let (total, changes) = replay_changes(&store, &config.topic, &feeds, limit).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    let added = changes.iter().filter(|c| c.after).count();
    for c in &changes {
        writeln!(
            out,
            "{} {:.2}  {}  <{}>\n    {}",
            if c.after { "+ added  " } else { "- dropped" },
            c.score,
            c.title,
            c.link.as_deref().unwrap_or("no link"),
            c.reasons
        )?;
    }
    writeln!(
        out,
        "{total} stored item(s) replayed: {added} would be added, {} dropped",
        changes.len() - added
    )?;
    Ok(changes)
}
