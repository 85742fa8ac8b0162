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
use crate::matching::{Decision, EvalRow, Topic, evaluate_rows};
use crate::model::Item;
use crate::pipeline::fetch::{FetchOutcome, Fetcher, Validators};
use crate::pipeline::item::{LangGuess, normalize_in};
use crate::pipeline::parse::parse_feed;
use crate::pipeline::schedule::decide;
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
    /// Why a matched item would still not be published (the age gate), e.g.
    /// "older than max_age (2d)"; absent when nothing holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    pub reasons: String,
    pub explanation: crate::matching::Explanation,
}

impl ScoredItem {
    fn new(item: &Item, d: Decision, held: Option<String>) -> ScoredItem {
        let held = held.filter(|_| d.publish);
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
            held,
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
/// The first source that fails fails the whole call (see [`score_each`]).
pub async fn score_sources(config: &Config, sources: &[String]) -> Result<Vec<ScoredItem>> {
    let mut out = Vec::new();
    for (_, result) in score_each(config, sources).await? {
        out.extend(result?);
    }
    Ok(out)
}

/// Like [`score_sources`], one result per source: a failing source does not
/// hide the others.
pub async fn score_each(
    config: &Config,
    sources: &[String],
) -> Result<Vec<(String, Result<Vec<ScoredItem>>)>> {
    score_each_with(config, sources, &indicatif::ProgressBar::hidden()).await
}

/// [`score_each`], advancing `bar` by item (its length grows per source).
async fn score_each_with(
    config: &Config,
    sources: &[String],
    bar: &indicatif::ProgressBar,
) -> Result<Vec<(String, Result<Vec<ScoredItem>>)>> {
    let gate = crate::publish::gate::Gate {
        max_age: config.publish.max_age,
        max_per_hour: config.publish.max_per_hour,
    };
    let now = Utc::now();
    Ok(evaluate_each_with(config, sources, bar)
        .await?
        .into_iter()
        .map(|(source, result)| {
            let scored = result.map(|items| {
                items
                    .into_iter()
                    .map(|(item, d)| {
                        let held = gate.hold_item(&item, now);
                        ScoredItem::new(&item, d, held)
                    })
                    .collect()
            });
            (source, scored)
        })
        .collect())
}

/// The items of each source with their decisions, in feed order; a failing
/// source does not hide the others.
async fn evaluate_each_with(
    config: &Config,
    sources: &[String],
    bar: &indicatif::ProgressBar,
) -> Result<Vec<(String, Result<Vec<(Item, Decision)>>)>> {
    let fetcher = Fetcher::new(&config.fetch).context("building the HTTP client")?;
    let configured = sources::load(&config.sources.path).unwrap_or_default();
    let mut out = Vec::new();
    for arg in sources {
        let result = evaluate_one(config, &fetcher, &configured, arg, bar).await;
        out.push((arg.clone(), result));
    }
    Ok(out)
}

async fn evaluate_one(
    config: &Config,
    fetcher: &Fetcher,
    configured: &[FeedSource],
    arg: &str,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<(Item, Decision)>> {
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
    let mut out = Vec::new();
    bar.inc_length(parsed.entries.len() as u64);
    let mut langs = LangGuess::default();
    for entry in &parsed.entries {
        bar.inc(1);
        let item = normalize_in(&parsed, entry, &feed, now, &mut langs);
        let decision = decide(&topic, &item);
        out.push((item, decision));
    }
    Ok(out)
}

/// Each feed's topic (its rule overrides compiled over `base`), keyed by
/// URL; compiled on the blocking pool.
async fn feed_topics(
    base: &std::sync::Arc<Topic>,
    feeds: &[FeedSource],
) -> Result<HashMap<String, std::sync::Arc<Topic>>> {
    let (base, feeds) = (base.clone(), feeds.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut topics = HashMap::new();
        for f in &feeds {
            topics.insert(f.url.to_string(), topic_for(&base, f)?);
        }
        Ok(topics)
    })
    .await
    .context("the rules task failed")?
}

fn topic_for(base: &std::sync::Arc<Topic>, feed: &FeedSource) -> Result<std::sync::Arc<Topic>> {
    feed.topic(base)
        .with_context(|| format!("rules of feed {}", feed.url))
}

/// `feedwatch score`: the items of every source that worked, then the
/// sources that failed (on stderr); an error (exit 1) if any failed.
pub async fn score(config: &Config, sources: &[String], json: bool) -> Result<()> {
    let results = score_each(config, sources).await?;
    let mut out = std::io::stdout().lock();
    let mut items = Vec::new();
    let mut failed = Vec::new();
    for (source, result) in results {
        match result {
            Ok(scored) => items.extend(scored),
            Err(e) => failed.push((source, e)),
        }
    }
    for s in &items {
        if json {
            writeln!(out, "{}", serde_json::to_string(s)?)?;
        } else {
            let (score, _) = crate::matching::score_and_threshold(s.score, s.threshold);
            writeln!(
                out,
                "{:<7} {score}  {}  <{}>\n        {}",
                s.decision.to_uppercase(),
                s.title,
                s.link.as_deref().unwrap_or("no link"),
                s.reasons
            )?;
            if let Some(h) = &s.held {
                writeln!(out, "        held: {h}, not published")?;
            }
        }
    }
    if !json {
        let published = items
            .iter()
            .filter(|s| s.matched && s.held.is_none())
            .count();
        let held = items.iter().filter(|s| s.held.is_some()).count();
        write!(
            out,
            "{} item(s), {published} would be published",
            items.len()
        )?;
        if held > 0 {
            write!(out, ", {held} held (older than max_age)")?;
        }
        writeln!(out)?;
    }
    drop(out);
    for (source, e) in &failed {
        eprintln!("failed: {source}: {e:#}");
    }
    if !failed.is_empty() {
        bail!("{} of {} source(s) failed", failed.len(), sources.len());
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
                    labels.insert(crate::text::link::canonical_url(&url), l);
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

/// `feedwatch eval`: precision and recall against labelled items and/or
/// story clustering against labelled pairs. `--json` prints one object: the
/// label figures (when `--labels`) and `"pairs"` (when `--pairs`).
pub async fn eval(
    config: &Config,
    labels_path: Option<&Path>,
    pairs_path: Option<&Path>,
    sources: &[String],
    json: bool,
) -> Result<()> {
    if labels_path.is_none() && pairs_path.is_none() {
        bail!("eval needs --labels FILE, --pairs FILE or both");
    }
    let bar = crate::infra::logging::progress(0, "items");
    let mut items = Vec::new();
    for (_, result) in evaluate_each_with(config, sources, &bar).await? {
        items.extend(result?);
    }
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let mut object = serde_json::Map::new();
    if let Some(path) = labels_path {
        let labels = read_labels(path)?;
        let mut rows = Vec::new();
        let mut unlabelled = 0;
        for (item, d) in &items {
            let s = ScoredItem::new(item, d.clone(), None);
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
        if json {
            if let serde_json::Value::Object(m) = serde_json::to_value(&report)? {
                object.extend(m);
            }
        } else {
            writeln!(
                out,
                "{} labelled item(s) evaluated, {unlabelled} without a label",
                rows.len()
            )?;
            writeln!(out, "{report}")?;
        }
    }
    if let Some(path) = pairs_path {
        let pairs = read_pairs(path)?;
        let all: Vec<Item> = items.into_iter().map(|(i, _)| i).collect();
        let report = evaluate_pairs(&all, &pairs);
        if json {
            object.insert("pairs".to_string(), serde_json::to_value(&report)?);
        } else {
            write!(out, "{report}")?;
        }
    }
    if json {
        writeln!(out, "{}", serde_json::Value::Object(object))?;
    }
    Ok(())
}

/// The stored items that have a label, each decided by the current rules
/// (with its feed's overrides), as eval rows keyed like `labels export`.
pub async fn stored_eval_rows(
    store: &Store,
    topic: &std::sync::Arc<Topic>,
    feeds: &[FeedSource],
) -> Result<Vec<EvalRow>> {
    let topics = feed_topics(topic, feeds).await?;
    let labelled = store.labelled_items().await?;
    // Scoring every labelled item is CPU work: on the blocking pool.
    let topic = topic.clone();
    tokio::task::spawn_blocking(move || {
        labelled
            .into_iter()
            .map(|(stored, label)| {
                let t = topics.get(&stored.item.feed_url).unwrap_or(&topic);
                let d = decide(t, &stored.item);
                EvalRow {
                    id: stored
                        .item
                        .guid
                        .clone()
                        .unwrap_or_else(|| stored.item.id.clone()),
                    label: label.label,
                    published: d.publish,
                    reasons: format!("{} — {}", stored.item.title, d.explanation.reasons()),
                }
            })
            .collect()
    })
    .await
    .context("the evaluation task failed")
}

/// `feedwatch eval --stored`: the current rules against every stored item
/// that has a label; the same report (and `--json` object) as `--labels`.
pub async fn eval_stored(config: &Config, json: bool) -> Result<()> {
    let store = Store::open(&config.storage.sqlite_path).await?;
    let feeds = sources::load(&config.sources.path).unwrap_or_default();
    let rows = stored_eval_rows(&store, &config.topic, &feeds).await;
    store.close().await;
    let rows = rows?;
    let report = evaluate_rows(&rows);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_value(&report)?)?;
    } else {
        writeln!(
            out,
            "{} labelled stored item(s) evaluated under the current rules",
            rows.len()
        )?;
        writeln!(out, "{report}")?;
    }
    Ok(())
}

/// One labelled pair: two item guids (or links) and whether they are one story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledPair {
    pub a: String,
    pub b: String,
    pub same: bool,
}

/// Reads `guid_a<TAB>guid_b<TAB>1|0` lines (a header line and blank lines
/// are skipped).
pub fn read_pairs(path: &Path) -> Result<Vec<LabelledPair>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        match cols.as_slice() {
            [a, b, l] if *l == "1" || *l == "0" => out.push(LabelledPair {
                a: a.to_string(),
                b: b.to_string(),
                same: *l == "1",
            }),
            _ if n == 0 => {} // header
            _ => bail!(
                "{}:{}: expected guid_a<TAB>guid_b<TAB>1|0",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

/// A labelled pair the clustering got wrong, with the matcher's reasons.
#[derive(Debug, Clone, Serialize)]
pub struct PairMiss {
    pub guid_a: String,
    pub guid_b: String,
    pub title_a: String,
    pub title_b: String,
    /// The label: one story (a missed join) or not (a false merge).
    pub same: bool,
    pub reasons: String,
}

/// How story clustering did on labelled pairs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairsReport {
    pub items: usize,
    pub stories: usize,
    pub same_pairs: usize,
    pub same_joined: usize,
    /// Same-story pairs joined / same-story pairs (1.0 when there are none).
    pub pair_recall: f64,
    pub different_pairs: usize,
    /// Different-story pairs put in one story.
    pub false_merges: usize,
    /// Stories holding both items of some different-story pair.
    pub mixed_stories: usize,
    /// Pair guids found in no source.
    pub unknown: Vec<String>,
    pub misses: Vec<PairMiss>,
}

impl std::fmt::Display for PairsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "story pairs: {} item(s) in {} stor(ies)\n  same-story pairs joined: {}/{} (pair recall {:.1}%)\n  false merges: {}/{} different-story pairs, {} stor(ies) holding different events",
            self.items,
            self.stories,
            self.same_joined,
            self.same_pairs,
            self.pair_recall * 100.0,
            self.false_merges,
            self.different_pairs,
            self.mixed_stories
        )?;
        for m in &self.misses {
            writeln!(
                f,
                "  {} {}  |  {}\n      {}",
                if m.same {
                    "MISSED JOIN "
                } else {
                    "FALSE MERGE "
                },
                m.title_a,
                m.title_b,
                m.reasons
            )?;
        }
        if !self.unknown.is_empty() {
            writeln!(f, "  not found in the sources: {}", self.unknown.join(", "))?;
        }
        Ok(())
    }
}

/// Clusters `items` as the daemon would (in order of their own dates, each
/// joining the best matching story or starting one) and scores the pairs.
pub fn evaluate_pairs(items: &[Item], pairs: &[LabelledPair]) -> PairsReport {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].published);
    let mut index = crate::matching::StoryIndex::new();
    let mut story_of: Vec<usize> = vec![0; items.len()];
    let mut story_ids: HashMap<String, usize> = HashMap::new();
    let fps: Vec<_> = items
        .iter()
        .map(crate::pipeline::dedupe::fingerprint_of)
        .collect();
    for &i in &order {
        let s = match index.best(&fps[i]) {
            Some((id, _)) => story_ids.get(&id).copied().unwrap_or(i),
            None => {
                index.insert(items[i].id.clone(), fps[i].clone());
                story_ids.insert(items[i].id.clone(), i);
                i
            }
        };
        story_of[i] = s;
    }
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(g) = &it.guid {
            by_key.insert(g.clone(), i);
        }
        if let Some(l) = &it.link {
            by_key.insert(l.clone(), i);
        }
    }
    let find = |k: &str| {
        by_key.get(k).copied().or_else(|| {
            Url::parse(k)
                .ok()
                .and_then(|u| by_key.get(&crate::text::link::canonical_url(&u)).copied())
        })
    };
    let mut r = PairsReport {
        items: items.len(),
        stories: story_ids.len(),
        ..PairsReport::default()
    };
    let mut mixed = std::collections::BTreeSet::new();
    for p in pairs {
        let (Some(a), Some(b)) = (find(&p.a), find(&p.b)) else {
            for k in [&p.a, &p.b] {
                if find(k).is_none() && !r.unknown.contains(k) {
                    r.unknown.push(k.clone());
                }
            }
            continue;
        };
        let joined = story_of[a] == story_of[b];
        if p.same {
            r.same_pairs += 1;
            r.same_joined += usize::from(joined);
        } else {
            r.different_pairs += 1;
            if joined {
                r.false_merges += 1;
                mixed.insert(story_of[a]);
            }
        }
        if joined != p.same {
            r.misses.push(PairMiss {
                guid_a: p.a.clone(),
                guid_b: p.b.clone(),
                title_a: items[a].title.clone(),
                title_b: items[b].title.clone(),
                same: p.same,
                reasons: crate::matching::story_match(&fps[a], &fps[b]).reasons(),
            });
        }
    }
    r.mixed_stories = mixed.len();
    r.pair_recall = if r.same_pairs == 0 {
        1.0
    } else {
        r.same_joined as f64 / r.same_pairs as f64
    };
    r
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
    replay_changes_with(
        store,
        topic,
        feeds,
        limit,
        &indicatif::ProgressBar::hidden(),
    )
    .await
}

/// [`replay_changes`], advancing `bar` by item.
async fn replay_changes_with(
    store: &Store,
    topic: &std::sync::Arc<Topic>,
    feeds: &[FeedSource],
    limit: u32,
    bar: &indicatif::ProgressBar,
) -> Result<(usize, Vec<ReplayChange>)> {
    let topics = feed_topics(topic, feeds).await?;
    let rows = store.items_with_decisions(limit).await?;
    let total = rows.len();
    bar.set_length(total as u64);
    // Up to 5,000 items scored (the playground's preview): on the blocking
    // pool, not on a runtime thread.
    let (topic, bar) = (topic.clone(), bar.clone());
    let changes = tokio::task::spawn_blocking(move || {
        let mut changes = Vec::new();
        for (stored, before) in rows {
            bar.inc(1);
            let t = topics.get(&stored.item.feed_url).unwrap_or(&topic);
            let d = decide(t, &stored.item);
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
                    threshold: d.threshold,
                    reasons: d.explanation.reasons(),
                    lang: stored.item.lang.clone(),
                });
            }
        }
        changes
    })
    .await
    .context("the replay task failed")?;
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
    pub threshold: f64,
    pub reasons: String,
    /// The item's BCP 47 tag (the playground marks the title with it).
    pub lang: String,
}

/// `feedwatch replay`: re-evaluates stored items under the current rules and
/// lists what would be added or dropped. Changes nothing.
/// With `json`, one object per line for each change, then a summary object.
pub async fn replay(config: &Config, limit: u32, json: bool) -> Result<Vec<ReplayChange>> {
    let store = Store::open(&config.storage.sqlite_path).await?;
    let feeds = sources::load(&config.sources.path).map_err(|p| anyhow::anyhow!("{p}"))?;
    let bar = crate::infra::logging::progress(0, "items");
    let (total, changes) = replay_changes_with(&store, &config.topic, &feeds, limit, &bar).await?;
    bar.finish_and_clear();
    store.close().await;
    let mut out = std::io::stdout().lock();
    let added = changes.iter().filter(|c| c.after).count();
    if json {
        for c in &changes {
            writeln!(out, "{}", serde_json::to_string(c)?)?;
        }
        writeln!(
            out,
            "{}",
            serde_json::json!({
                "replayed": total,
                "added": added,
                "dropped": changes.len() - added,
            })
        )?;
        return Ok(changes);
    }
    for c in &changes {
        let (score, _) = crate::matching::score_and_threshold(c.score, c.threshold);
        writeln!(
            out,
            "{} {score}  {}  <{}>\n    {}",
            if c.after { "+ added  " } else { "- dropped" },
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
