//! Score + explain throughput of the shipped topic over the relevance-dev
//! items (repeated for volume), on one core.
//!
//! Run: `cargo bench --bench score`. Criterion reports the time per batch
//! and, through `Throughput::Elements`, items per second.

// Benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedwatch::matching::{Candidate, Topic, TopicConfig};

#[derive(serde::Deserialize)]
struct ConfigFile {
    topic: TopicConfig,
}

#[derive(serde::Deserialize)]
struct Item {
    url: String,
    source: String,
    title: String,
    lang: String,
    summary: String,
}

/// How many times the 57 items are repeated per measured batch.
const REPEAT: usize = 20;

fn setup() -> (Topic, Vec<Item>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read =
        |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let cfg: ConfigFile =
        toml::from_str(&read(root.join("config.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let texts: Vec<String> = cfg
        .topic
        .profile
        .iter()
        .map(|p| read(root.join(p)))
        .collect();
    let aliases = feedwatch::matching::AliasTable::load(&root, cfg.topic.aliases.as_deref())
        .unwrap_or_else(|e| panic!("{e}"));
    let topic =
        Topic::compile_with_aliases(&cfg.topic, &texts, aliases).unwrap_or_else(|e| panic!("{e}"));
    let items: Vec<Item> = read(root.join("tests/fixtures/relevance-dev/items.jsonl"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut all = Vec::with_capacity(items.len() * REPEAT);
    for _ in 0..REPEAT {
        for it in &items {
            all.push(Item {
                url: it.url.clone(),
                source: it.source.clone(),
                title: it.title.clone(),
                lang: it.lang.clone(),
                summary: it.summary.clone(),
            });
        }
    }
    (topic, all)
}

fn bench(c: &mut Criterion) {
    let (topic, items) = setup();
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("evaluate+reasons", |b| {
        b.iter(|| {
            let mut published = 0usize;
            for it in &items {
                let d = topic.evaluate(&Candidate {
                    title: &it.title,
                    summary: &it.summary,
                    link: &it.url,
                    source: &it.source,
                    lang: &it.lang,
                });
                published += usize::from(d.publish);
                black_box(d.explanation.reasons());
            }
            black_box(published)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
