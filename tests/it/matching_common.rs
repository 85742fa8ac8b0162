//! Helpers shared by the integration tests: the shipped topic and the
//! labelled fixtures, located from `CARGO_MANIFEST_DIR`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use feedwatch::matching::{Topic, TopicConfig};

#[derive(serde::Deserialize)]
pub struct ConfigFile {
    pub topic: TopicConfig,
}

#[derive(serde::Deserialize)]
pub struct Item {
    pub id: String,
    pub guid: String,
    pub url: String,
    pub source: String,
    pub title: String,
    pub lang: String,
    pub summary: String,
    pub label: u8,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `[topic]` section of `config.toml`.
pub fn shipped_config() -> TopicConfig {
    let file: ConfigFile = toml::from_str(&read(&root().join("config.toml")))
        .unwrap_or_else(|e| panic!("config.toml: {e}"));
    file.topic
}

/// The shipped topic, compiled the way the daemon does it: profile paths
/// are relative to the config file.
pub fn shipped_topic() -> Topic {
    let cfg = shipped_config();
    let texts: Vec<String> = cfg.profile.iter().map(|p| read(&root().join(p))).collect();
    let aliases = feedwatch::matching::AliasTable::load(&root(), cfg.aliases.as_deref())
        .unwrap_or_else(|e| panic!("{e}"));
    Topic::compile_with_aliases(&cfg, &texts, aliases).unwrap_or_else(|e| panic!("{e}"))
}

/// The labelled tuning items, checked against `labels.tsv`.
pub fn items() -> Vec<Item> {
    let dir = root().join("tests/fixtures/relevance-dev");
    let labels: HashMap<String, u8> = read(&dir.join("labels.tsv"))
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(g, l)| (g.to_string(), l.trim().parse().unwrap_or(255)))
        .collect();
    let items: Vec<Item> = read(&dir.join("items.jsonl"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for it in &items {
        assert_eq!(
            labels.get(&it.guid),
            Some(&it.label),
            "label mismatch for {}",
            it.id
        );
    }
    items
}
