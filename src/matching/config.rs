//! Serde shapes of the `[topic]` configuration section and of per-feed
//! overrides. Parsing only: [`super::Topic::compile`] validates and compiles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn default_name() -> String {
    "topic".to_string()
}
fn default_threshold() -> f64 {
    0.35
}
/// The dashboard's Review list shows items scoring this far below the threshold.
fn default_review_margin() -> f64 {
    0.1
}
fn default_similarity_weight() -> f64 {
    0.4
}
fn default_similarity_half() -> f64 {
    4.0
}
fn default_title_weight() -> f64 {
    2.0
}
fn default_top_terms() -> usize {
    12
}
fn default_rule_weight() -> f64 {
    0.3
}
fn default_true() -> bool {
    true
}

/// One topic: what to look for and how strict to be.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Short identifier, shown in explanations.
    #[serde(default = "default_name")]
    pub name: String,
    /// One-paragraph description. Also part of the scoring profile.
    #[serde(default)]
    pub description: String,
    /// Profile documents (paths resolved and read by the caller, whose
    /// texts are passed to [`super::Topic::compile`]).
    #[serde(default)]
    pub profile: Vec<String>,
    /// Per-language alias table (path relative to the config file, read by
    /// the caller, see [`super::AliasTable::load`]): unset = the shipped
    /// table, `""` = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<String>,
    /// Named term groups, `name = "query"`, used in rules as `@name`.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Include rules (`[[topic.rule]]`): an item is admitted when one of
    /// them matches; each adds its weight to the score.
    #[serde(default)]
    pub rule: Vec<RuleConfig>,
    /// Exclude rules (`[[topic.exclude]]`): a match vetoes publication.
    #[serde(default)]
    pub exclude: Vec<ExcludeConfig>,
    /// Publish when admitted and score >= threshold. In [0, 1].
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// The dashboard's Review list shows items scoring within this margin
    /// below `threshold` (threshold - margin <= score < threshold). In
    /// [0, threshold); 0 turns the list's near-threshold part off.
    #[serde(default = "default_review_margin")]
    pub review_margin: f64,
    /// Multiplier of the profile similarity in the score. In [0, 1].
    #[serde(default = "default_similarity_weight")]
    pub similarity_weight: f64,
    /// Raw similarity mass at which the similarity reaches 0.5 (> 0).
    #[serde(default = "default_similarity_half")]
    pub similarity_half: f64,
    /// How many times a title occurrence counts compared to the summary.
    #[serde(default = "default_title_weight")]
    pub title_weight: f64,
    /// Extra words for the Chinese segmenter's dictionary (CJK terms of the
    /// groups and rules are added automatically).
    #[serde(default)]
    pub words: Vec<String>,
    /// Hashtags for posts about this topic (without '#').
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// How many profile terms [`super::Topic::topic_terms`] returns.
    #[serde(default = "default_top_terms")]
    pub top_terms: usize,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            name: default_name(),
            description: String::new(),
            profile: Vec::new(),
            aliases: None,
            groups: BTreeMap::new(),
            rule: Vec::new(),
            exclude: Vec::new(),
            threshold: default_threshold(),
            review_margin: default_review_margin(),
            similarity_weight: default_similarity_weight(),
            similarity_half: default_similarity_half(),
            title_weight: default_title_weight(),
            words: Vec::new(),
            hashtags: Vec::new(),
            top_terms: default_top_terms(),
        }
    }
}

/// An include rule.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Unique name, shown in explanations.
    pub name: String,
    /// Query in the rule language.
    pub query: String,
    /// Added to the score when the rule matches. In [0, 1].
    #[serde(default = "default_rule_weight")]
    pub weight: f64,
    /// Whether a match admits the item (false: the rule only adds weight).
    #[serde(default = "default_true")]
    pub admit: bool,
}

/// An exclude rule.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExcludeConfig {
    /// Unique name, shown in explanations.
    pub name: String,
    /// Query in the rule language.
    pub query: String,
    /// When this query also matches, the exclusion does not apply (the
    /// explanation says it was overridden, and by which terms). Empty: the
    /// exclusion always applies.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unless: String,
}

/// Per-feed adjustments of a topic.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopicOverride {
    /// Replaces the topic threshold for this feed.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Replaces the similarity weight for this feed.
    #[serde(default)]
    pub similarity_weight: Option<f64>,
    /// Adds (or replaces, by name) groups.
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    /// Adds include rules; a rule with an existing name replaces it.
    #[serde(default)]
    pub rule: Vec<RuleConfig>,
    /// Adds exclude rules; one with an existing name replaces it.
    #[serde(default)]
    pub exclude: Vec<ExcludeConfig>,
    /// Names of include or exclude rules switched off for this feed.
    #[serde(default)]
    pub disable: Vec<String>,
}
