//! Parse + normalize throughput over the feed corpus, against raw feed-rs on
//! the same bytes. Run: `cargo bench --bench parse`.
//!
//! Uses `../shared/data/feed-corpus` when present, else the project's fixtures.
//! Only files that raw feed-rs parses without error are used, so both sides do
//! the same work and the ratio is the cost of our encoding decision, panic
//! guard and normalization (HTML → text, canonical links, identity, language).

// Benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedwatch::pipeline::item::normalize;
use feedwatch::pipeline::parse::parse_feed;
use feedwatch::sources::FeedSource;

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../shared/data/feed-corpus");
    let dir = if shared.is_dir() {
        shared
    } else {
        root.join("tests/fixtures")
    };
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn bench(c: &mut Criterion) {
    // Keep caught parser panics from flooding the output while filtering.
    std::panic::set_hook(Box::new(|_| {}));
    let docs: Vec<Vec<u8>> = corpus_files()
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| {
            std::panic::catch_unwind(|| feed_rs::parser::parse(b.as_slice()).is_ok())
                .unwrap_or(false)
        })
        .collect();
    let _ = std::panic::take_hook();
    let source = FeedSource::new(
        url::Url::parse("https://bench.example/feed.xml").expect("url"),
        "bench",
    );
    let now = Utc::now();
    let items: u64 = docs
        .iter()
        .map(|d| parse_feed(d, None, None).map_or(0, |f| f.entries.len() as u64))
        .sum();
    println!("corpus: {} documents, {} items", docs.len(), items);

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Elements(items));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("feed_rs_raw", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for d in &docs {
                if let Ok(f) = feed_rs::parser::parse(d.as_slice()) {
                    n += f.entries.len();
                }
            }
            n
        })
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for d in &docs {
                if let Ok(f) = parse_feed(d, None, Some(source.url.as_str())) {
                    n += f.entries.len();
                }
            }
            n
        })
    });
    group.bench_function("parse_and_normalize", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for d in &docs {
                if let Ok(f) = parse_feed(d, None, Some(source.url.as_str())) {
                    for e in &f.entries {
                        let item = normalize(&f, e, &source, now);
                        n += item.title.len();
                    }
                }
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
