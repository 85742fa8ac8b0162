//! The `[topic]` TOML shape: the shipped example loads, defaults apply,
//! typos are rejected.

use crate::matching_common as common;

use feedwatch::matching::{TopicConfig, TopicOverride};

#[test]
fn example_loads_with_every_documented_key() {
    let cfg = common::shipped_config();
    assert_eq!(cfg.name, "interpol-taiwan");
    assert_eq!(cfg.profile, ["feeds/topic-interpol-taiwan.md"]);
    assert!(cfg.groups.contains_key("taiwan") && cfg.groups.contains_key("interpol"));
    assert!(cfg.rule.len() >= 3 && !cfg.exclude.is_empty());
    assert!((cfg.threshold - 0.35).abs() < 1e-12);
    assert!(!cfg.hashtags.is_empty());
    // Every key the example sets is documented by a comment above it.
    let text = common::read(&common::root().join("config.toml"));
    let lines: Vec<&str> = text.lines().collect();
    let mut in_topic = false;
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with('[') {
            in_topic = *l == "[topic]";
            continue;
        }
        if in_topic && l.contains(" = ") && !l.starts_with('#') {
            assert!(lines[i - 1].starts_with('#'), "undocumented key: {l}");
        }
    }
}

#[test]
fn defaults_apply_and_unknown_keys_fail() {
    #[derive(serde::Deserialize)]
    struct F {
        topic: TopicConfig,
    }
    let f: F = toml::from_str("[topic]\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.topic, TopicConfig::default());
    let err = toml::from_str::<F>("[topic]\nthreshhold = 0.5\n").err();
    assert!(err.is_some_and(|e| e.to_string().contains("threshhold")));
    let err = toml::from_str::<F>("[topic]\n[[topic.rule]]\nname='a'\nquery='b'\nwieght=1\n").err();
    assert!(err.is_some());
}

#[test]
fn per_feed_override_parses_and_applies() {
    let ov: TopicOverride = toml::from_str(
        "threshold = 0.5\ndisable = ['taiwan-other-crime']\n[[exclude]]\nname = 'sports'\nquery = 'baseball | badminton'\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let topic = common::shipped_topic()
        .with_override(&ov)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!((topic.threshold() - 0.5).abs() < 1e-12);
    assert!(topic.config().exclude.iter().any(|e| e.name == "sports"));
    assert!(
        !topic
            .config()
            .rule
            .iter()
            .any(|r| r.name == "taiwan-other-crime")
    );
}
