//! Robustness over the shared feed corpus: every file parses to items or to
//! an error, with no panic and no hang, and encodings come out as Unicode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;
use feedwatch::model::Item;
use feedwatch::pipeline::item::normalize;
use feedwatch::pipeline::parse::parse_feed;
use feedwatch::sources::FeedSource;

use crate::helpers::shared_data;

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("xml" | "rss" | "atom" | "rdf" | "json")
            ) {
                // gofeed keeps expected outputs as .json beside each input; skip those.
                let is_expected_output = p.extension().is_some_and(|e| e == "json")
                    && (p.with_extension("xml").exists()
                        || p.file_stem()
                            .is_some_and(|s| s.to_string_lossy().ends_with("_expected")));
                if !is_expected_output {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// feedparser's test files describe the HTTP response in a comment header.
fn http_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_string();
    let line = head.lines().find(|l| {
        l.trim_start().starts_with("Header:") && l.to_ascii_lowercase().contains("content-type")
    })?;
    let lower = line.to_ascii_lowercase();
    let at = lower.find("charset=")?;
    Some(line[at + 8..].trim().trim_matches('"').trim().to_string())
}

enum Outcome {
    Items(Vec<Item>),
    Error(String),
}

fn parse_with_deadline(path: &Path) -> Outcome {
    let bytes = std::fs::read(path).unwrap();
    let (tx, rx) = mpsc::channel();
    let source = FeedSource::new(
        url::Url::parse("https://corpus.example/feed.xml").unwrap(),
        "corpus",
    );
    std::thread::spawn(move || {
        let charset = http_charset(&bytes);
        let result = match parse_feed(&bytes, charset.as_deref(), Some(source.url.as_str())) {
            Ok(feed) => Outcome::Items(
                feed.entries
                    .iter()
                    .map(|e| normalize(&feed, e, &source, Utc::now()))
                    .collect(),
            ),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let _ = tx.send(result);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(o) => o,
        Err(_) => panic!("parsing {} hung for 20s", path.display()),
    }
}

#[test]
fn whole_corpus_parses_without_panic_or_hang() {
    let Some(data) = shared_data() else {
        eprintln!(
            "SKIPPED: ../shared/data is absent; the corpus test needs ../shared/data/feed-corpus"
        );
        return;
    };
    let corpus = data.join("feed-corpus");
    let files = files_under(&corpus);
    assert!(
        files.len() > 1000,
        "expected the full corpus, found {} files",
        files.len()
    );
    let mut per_dir: BTreeMap<String, (usize, usize, usize, usize)> = BTreeMap::new();
    let mut panicked = Vec::new();
    for f in &files {
        let group = f
            .strip_prefix(&corpus)
            .unwrap()
            .iter()
            .take(2)
            .map(|s| s.to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join("/");
        let e = per_dir.entry(group).or_default();
        e.0 += 1;
        match parse_with_deadline(f) {
            Outcome::Items(items) => {
                e.1 += 1;
                e.3 += items.len();
            }
            Outcome::Error(msg) => {
                e.2 += 1;
                if msg.contains("crashed") {
                    panicked.push(format!("{}: {msg}", f.display()));
                }
            }
        }
    }
    println!(
        "{:<28} {:>6} {:>8} {:>7} {:>7}",
        "corpus folder", "files", "parsed", "errors", "items"
    );
    for (group, (n, ok, err, items)) in &per_dir {
        println!("{group:<28} {n:>6} {ok:>8} {err:>7} {items:>7}");
    }
    // A panic inside feed-rs is caught and reported as an error; list them so
    // they are visible, but they are not failures of ours.
    println!("parser panics caught: {}", panicked.len());
    for p in &panicked {
        println!("  {p}");
    }
    let total_ok: usize = per_dir.values().map(|v| v.1).sum();
    assert!(
        total_ok * 10 > files.len() * 8,
        "most of the corpus must parse: {total_ok}/{}",
        files.len()
    );
}

fn items_of(path: &Path) -> Vec<Item> {
    match parse_with_deadline(path) {
        Outcome::Items(items) => items,
        Outcome::Error(e) => panic!("{}: {e}", path.display()),
    }
}

#[test]
fn encoding_files_come_out_as_correct_unicode() {
    let Some(data) = shared_data() else {
        eprintln!("SKIPPED: ../shared/data is absent");
        return;
    };
    let enc = data.join("feed-corpus/feedparser/encoding");
    let summary = |f: &str| {
        items_of(&enc.join(f))
            .first()
            .map(|i| i.summary.clone())
            .unwrap_or_default()
    };
    assert_eq!(summary("euc-kr-item.xml"), "\u{b144}");
    assert_eq!(summary("demoronize-1.xml"), "don\u{2019}t");
    assert_eq!(summary("demoronize-2.xml"), "don\u{2019}t");
    // The HTTP charset (windows-1252) overrides the declaration.
    assert_eq!(
        summary("http_text_xml_charset_2.xml"),
        "This is a \u{a3}\u{201c}test.\u{201d}"
    );
    assert_eq!(
        summary("http_text_xml_charset_overrides_encoding_2.xml"),
        "This is a \u{a3}\u{201c}test.\u{201d}"
    );
    assert_eq!(summary("double-encoded-html.xml"), "\u{2026}");

    let bytes = std::fs::read(enc.join("euc-kr.xml")).unwrap();
    let feed = parse_feed(&bytes, None, None).unwrap();
    assert_eq!(feed.title.unwrap().content, "\u{b144}");

    // No replacement characters anywhere in the well-formed encoding files,
    // and every UTF-16/UTF-32 variant parses.
    let mut checked = 0;
    for f in files_under(&enc) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("bozo_") {
            continue;
        }
        match parse_with_deadline(&f) {
            Outcome::Items(items) => {
                checked += 1;
                for i in items {
                    assert!(
                        !format!("{}{}", i.title, i.summary).contains('\u{fffd}'),
                        "{name}: {i:?}"
                    );
                }
            }
            Outcome::Error(_) if name.starts_with("utf") || name.starts_with("u16") => {
                // These hold an empty <rss/> (no channel, so no feed); what
                // matters is that every UTF-16/32 variant decodes to the text.
                let bytes = std::fs::read(&f).unwrap();
                let (text, _) = feedwatch::pipeline::parse::to_utf8(&bytes, None);
                assert!(
                    text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
                    "{name}: {text:?}"
                );
                assert!(
                    text.contains("Description:") && text.contains("<rss>"),
                    "{name}: {text:?}"
                );
                checked += 1;
            }
            Outcome::Error(_) => {}
        }
    }
    assert!(checked >= 50, "only {checked} encoding files checked");
}
