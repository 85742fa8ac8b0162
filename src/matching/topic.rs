//! A compiled topic: rules + profile, and the decision for one candidate.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::aliases::{AliasTable, entry_query};
use super::config::{ExcludeConfig, RuleConfig, TopicConfig, TopicOverride};
use super::explain::{Explanation, Overridden, RuleHit, TermHit, TermPart};
use super::query::{self, Compiler, FieldDoc, Hit, Matcher, Node, ParseError, TermTable, Vocab};
use super::score::{self, Analyzer, Profile, Weights};
use super::text;

/// How many profile terms an explanation lists.
const EXPLAIN_TERMS: usize = 5;

/// A feed item as the matcher sees it. Fields may be empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidate<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub link: &'a str,
    pub source: &'a str,
    pub lang: &'a str,
}

/// The outcome for one candidate.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Decision {
    /// `admitted && score >= threshold`.
    pub publish: bool,
    pub admitted: bool,
    pub score: f64,
    pub threshold: f64,
    pub explanation: Explanation,
}

/// A configuration that does not compile. Names the rule or group, and for
/// query errors carries the [`ParseError`] with its column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TopicError {
    #[error("topic `{topic}`, group @{group}: {error}")]
    Group {
        topic: String,
        group: String,
        error: ParseError,
    },
    #[error("topic `{topic}`, rule `{rule}`: {error}")]
    Rule {
        topic: String,
        rule: String,
        error: ParseError,
    },
    #[error("topic `{topic}`, exclude `{rule}`: {error}")]
    Exclude {
        topic: String,
        rule: String,
        error: ParseError,
    },
    #[error("topic `{topic}`, exclude `{rule}`, unless: {error}")]
    Unless {
        topic: String,
        rule: String,
        error: ParseError,
    },
    #[error("topic `{topic}`, `{key}`: {reason}")]
    Invalid {
        topic: String,
        key: String,
        reason: String,
    },
}

/// What never changes between a topic and its per-feed overrides: the
/// tokenizers (jieba is expensive to build) and the profile.
#[derive(Debug)]
struct Shared {
    analyzer: Analyzer,
    profile: Profile,
    /// Vocabulary with only the profile terms; rules add theirs to a copy.
    vocab: Vocab,
    weights: Weights,
    aliases: AliasTable,
}

#[derive(Debug)]
struct CompiledRule {
    name: String,
    weight: f64,
    admit: bool,
    node: Node,
    /// Exclude rules only: the `unless` query (as written and compiled).
    unless: Option<(String, Node)>,
}

/// A compiled topic. Immutable, `Send + Sync`; share it with `Arc`.
/// [`Topic::with_override`] reuses the tokenizers and profile.
#[derive(Debug)]
pub struct Topic {
    cfg: TopicConfig,
    shared: Arc<Shared>,
    vocab: Vocab,
    table: TermTable,
    rules: Vec<CompiledRule>,
    excludes: Vec<CompiledRule>,
    /// Fields some rule looks at (the others are not analysed).
    fields: u8,
    /// Whether any admitting include rule exists.
    has_admitting_rules: bool,
    /// Alias terms that count towards the similarity as a profile term:
    /// (term, profile weight, profile index).
    alias_sim: Vec<(Node, f64, u32)>,
}

fn invalid(cfg: &TopicConfig, key: &str, reason: impl Into<String>) -> TopicError {
    TopicError::Invalid {
        topic: cfg.name.clone(),
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn check_unit(cfg: &TopicConfig, key: &str, v: f64) -> Result<(), TopicError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(invalid(
            cfg,
            key,
            format!("must be between 0 and 1, got {v}"),
        ))
    }
}

fn validate(cfg: &TopicConfig) -> Result<(), TopicError> {
    if cfg.name.trim().is_empty() {
        return Err(invalid(cfg, "name", "must not be empty"));
    }
    check_unit(cfg, "threshold", cfg.threshold)?;
    check_unit(cfg, "similarity_weight", cfg.similarity_weight)?;
    // 0 (list off) always; otherwise strictly under the threshold, so the
    // Review list never reaches down to a score of 0 or below.
    let m = cfg.review_margin;
    if !(m == 0.0 || (m > 0.0 && m < cfg.threshold)) {
        return Err(invalid(
            cfg,
            "review_margin",
            format!(
                "must be 0 or more and below the threshold ({}), got {m}",
                cfg.threshold
            ),
        ));
    }
    if !(cfg.similarity_half > 0.0 && cfg.similarity_half.is_finite()) {
        return Err(invalid(cfg, "similarity_half", "must be a positive number"));
    }
    if !(0.0..=10.0).contains(&cfg.title_weight) {
        return Err(invalid(cfg, "title_weight", "must be between 0 and 10"));
    }
    let mut names = BTreeSet::new();
    for r in &cfg.rule {
        check_unit(cfg, &format!("rule `{}` weight", r.name), r.weight)?;
        if r.name.trim().is_empty() || !names.insert(r.name.as_str()) {
            return Err(invalid(
                cfg,
                "rule.name",
                format!("`{}` is empty or not unique", r.name),
            ));
        }
    }
    for r in &cfg.exclude {
        if r.name.trim().is_empty() || !names.insert(r.name.as_str()) {
            return Err(invalid(
                cfg,
                "exclude.name",
                format!("`{}` is empty or not unique", r.name),
            ));
        }
    }
    for g in cfg.groups.keys() {
        let ok = !g.is_empty()
            && g.trim_start_matches('@')
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(invalid(
                cfg,
                "groups",
                format!("`{g}` is not a valid group name"),
            ));
        }
    }
    Ok(())
}

impl Topic {
    /// Compiles a topic. `profile_texts` are the contents of the files named
    /// in `cfg.profile` (or any reference texts), read by the caller.
    pub fn compile(cfg: &TopicConfig, profile_texts: &[String]) -> Result<Topic, TopicError> {
        Self::compile_with_aliases(cfg, profile_texts, AliasTable::default())
    }

    /// [`Topic::compile`] with a per-language alias table (see
    /// [`super::aliases`]): its concepts are merged into the groups of the
    /// same name and its foreign-language terms count towards the
    /// similarity.
    pub fn compile_with_aliases(
        cfg: &TopicConfig,
        profile_texts: &[String],
        aliases: AliasTable,
    ) -> Result<Topic, TopicError> {
        validate(cfg)?;
        // Every CJK term the operator wrote is also a dictionary word, so the
        // scorer sees it as one token.
        let mut extra: Vec<String> = cfg.words.clone();
        let cjk_runs = |q: &str, out: &mut Vec<String>| {
            let f = text::fold(q);
            text::for_each_cjk_run(&f, |s, e| out.push(f[s..e].to_string()));
        };
        for q in cfg.groups.values().chain(cfg.rule.iter().map(|r| &r.query)) {
            cjk_runs(q, &mut extra);
        }
        for c in aliases.concepts.values() {
            for e in c.terms.values().flatten() {
                cjk_runs(e, &mut extra);
            }
        }
        let analyzer = Analyzer::new(extra.iter().map(String::as_str));
        let mut texts: Vec<&str> = vec![cfg.description.as_str()];
        texts.extend(profile_texts.iter().map(String::as_str));
        let profile = Profile::build(&analyzer, &texts);
        let mut vocab = Vocab::default();
        let weights = Weights::register(&profile, &mut vocab);
        let shared = Arc::new(Shared {
            analyzer,
            profile,
            vocab,
            weights,
            aliases,
        });
        Self::compile_rules(cfg.clone(), shared)
    }

    fn compile_rules(cfg: TopicConfig, shared: Arc<Shared>) -> Result<Topic, TopicError> {
        validate(&cfg)?;
        let mut vocab = shared.vocab.clone();
        let mut table = TermTable::default();
        let groups = merged_groups(&cfg.groups, &shared.aliases);
        let mut compiler = Compiler::new(&shared.analyzer.stemmer, &mut vocab, &mut table, &groups)
            .map_err(|(group, error)| TopicError::Group {
                topic: cfg.name.clone(),
                group,
                error,
            })?;
        let mut rules = Vec::new();
        for r in &cfg.rule {
            let node = compiler
                .compile(&r.query)
                .map_err(|error| TopicError::Rule {
                    topic: cfg.name.clone(),
                    rule: r.name.clone(),
                    error,
                })?;
            rules.push(CompiledRule {
                name: r.name.clone(),
                weight: r.weight,
                admit: r.admit,
                node,
                unless: None,
            });
        }
        let mut excludes = Vec::new();
        for r in &cfg.exclude {
            let node = compiler
                .compile(&r.query)
                .map_err(|error| TopicError::Exclude {
                    topic: cfg.name.clone(),
                    rule: r.name.clone(),
                    error,
                })?;
            let unless = if r.unless.trim().is_empty() {
                None
            } else {
                let n = compiler
                    .compile(&r.unless)
                    .map_err(|error| TopicError::Unless {
                        topic: cfg.name.clone(),
                        rule: r.name.clone(),
                        error,
                    })?;
                Some((r.unless.clone(), n))
            };
            excludes.push(CompiledRule {
                name: r.name.clone(),
                weight: 0.0,
                admit: false,
                node,
                unless,
            });
        }
        let alias_sim = Self::alias_similarity(&shared, &mut compiler);
        let fields = rules.iter().chain(&excludes).fold(0, |a, r| {
            a | r.node.fields() | r.unless.as_ref().map_or(0, |(_, n)| n.fields())
        });
        let has_admitting_rules = rules.iter().any(|r| r.admit);
        Ok(Topic {
            cfg,
            shared,
            vocab,
            table,
            rules,
            excludes,
            fields,
            has_admitting_rules,
            alias_sim,
        })
    }

    /// Compiles the alias terms of languages outside the profile that map
    /// to a profile term. A term also listed under a profile language (the
    /// same word in English and Indonesian, 台湾 in Chinese and Japanese)
    /// is left out: the profile already scores it.
    fn alias_similarity(shared: &Shared, compiler: &mut Compiler) -> Vec<(Node, f64, u32)> {
        let a = &shared.aliases;
        let mut out = Vec::new();
        for c in a.concepts.values() {
            let Some(word) = &c.profile else { continue };
            let stems = shared.analyzer.stemmer.stems(word);
            let Some((w, idx)) = stems
                .first()
                .and_then(|k| shared.vocab.get(k))
                .and_then(|id| shared.weights.get(id))
            else {
                continue;
            };
            let mut native = Vec::new();
            for (lang, entries) in &c.terms {
                if !a.adds_similarity(lang) {
                    for e in entries {
                        if let Ok(Node::Leaf { term, .. }) = compiler.compile(&entry_query(e)) {
                            native.push(term);
                        }
                    }
                }
            }
            let mut seen = Vec::new();
            for (lang, entries) in &c.terms {
                if !a.adds_similarity(lang) {
                    continue;
                }
                for e in entries {
                    if let Ok(node) = compiler.compile(&entry_query(e)) {
                        if let Node::Leaf { term, .. } = &node {
                            if native.contains(term) || seen.contains(term) {
                                continue;
                            }
                            seen.push(*term);
                        }
                        out.push((node, w, idx));
                    }
                }
            }
        }
        out
    }

    /// A per-feed variant: overrides thresholds, adds/replaces groups and
    /// rules, disables rules by name. Shares the tokenizers and the profile
    /// with `self` (cheap: no dictionary is rebuilt), so Chinese words that
    /// only the override uses still match as rule substrings but are not
    /// added to the segmenter's dictionary.
    pub fn with_override(&self, ov: &TopicOverride) -> Result<Topic, TopicError> {
        let mut cfg = self.cfg.clone();
        if let Some(t) = ov.threshold {
            cfg.threshold = t;
            // The Review list reads the shared threshold and margin; a
            // feed's lower threshold must not make the shared margin invalid.
            if cfg.review_margin >= t {
                cfg.review_margin = 0.0;
            }
        }
        if let Some(w) = ov.similarity_weight {
            cfg.similarity_weight = w;
        }
        for (k, v) in &ov.groups {
            cfg.groups.insert(k.clone(), v.clone());
        }
        for name in &ov.disable {
            let before = cfg.rule.len() + cfg.exclude.len();
            cfg.rule.retain(|r| &r.name != name);
            cfg.exclude.retain(|r| &r.name != name);
            if cfg.rule.len() + cfg.exclude.len() == before {
                return Err(invalid(&cfg, "disable", format!("no rule named `{name}`")));
            }
        }
        for r in &ov.rule {
            upsert(&mut cfg.rule, r.clone(), |x: &RuleConfig| &x.name);
        }
        for r in &ov.exclude {
            upsert(&mut cfg.exclude, r.clone(), |x: &ExcludeConfig| &x.name);
        }
        Self::compile_rules(cfg, Arc::clone(&self.shared))
    }

    /// Warnings about queries that compile but probably do not mean what
    /// they say (lower-case `and`/`or`/`not` between terms), one line each,
    /// naming the group or rule: for `feedwatch check` and the playground.
    pub fn warnings(&self) -> Vec<String> {
        config_warnings(&self.cfg)
    }

    /// The configuration this topic was compiled from (after overrides).
    pub fn config(&self) -> &TopicConfig {
        &self.cfg
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn threshold(&self) -> f64 {
        self.cfg.threshold
    }

    /// `[topic] review_margin`: how far below the threshold the dashboard's
    /// Review list reaches (0: not at all).
    pub fn review_margin(&self) -> f64 {
        self.cfg.review_margin
    }

    pub fn hashtags(&self) -> &[String] {
        &self.cfg.hashtags
    }

    /// The profile's heaviest terms (surface forms, distinct), for the
    /// summariser and hashtags.
    pub fn topic_terms(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.shared
            .profile
            .terms
            .iter()
            .filter(|t| seen.insert(t.surface.clone()))
            .take(self.cfg.top_terms)
            .map(|t| t.surface.clone())
            .collect()
    }

    fn analyse(&self, raw: &str, bit: u8) -> FieldDoc {
        if self.fields & bit == 0 && bit != query::TITLE && bit != query::SUMMARY {
            return FieldDoc::default();
        }
        FieldDoc::analyse(raw, &self.shared.analyzer.stemmer, &self.vocab)
    }

    /// Decides one candidate and explains the decision. `tags:` and
    /// `author:` terms see nothing (see [`Topic::evaluate_with`]).
    pub fn evaluate(&self, c: &Candidate) -> Decision {
        self.evaluate_with(c, &[], "")
    }

    /// [`Topic::evaluate`] with the item's categories (`tags:`) and author
    /// (`author:`). Kept apart from [`Candidate`] so that its many literal
    /// constructions stay valid.
    pub fn evaluate_with(&self, c: &Candidate, tags: &[String], author: &str) -> Decision {
        let title = self.analyse(c.title, query::TITLE);
        let summary = self.analyse(c.summary, query::SUMMARY);
        let link = self.analyse(c.link, query::LINK);
        let source = self.analyse(c.source, query::SOURCE);
        // Rules name languages by their primary subtag (`lang:zh`); items
        // keep the full tag (`zh-Hant`) for markup.
        let lang = self.analyse(&crate::text::primary_subtag(c.lang), query::LANG);
        // One tag per line (a quoted phrase could still run from the end of
        // one tag into the next; tags are short, so that is rare).
        let tags = self.analyse(&tags.join("\n"), query::TAGS);
        let author = self.analyse(author, query::AUTHOR);
        let mut matcher = Matcher::new(
            &self.table,
            [&title, &summary, &link, &source, &lang, &tags, &author],
        );
        let mut hits = Vec::new();
        let mut rule_hits = Vec::new();
        let mut admitted_by_rule = false;
        let mut rules_part = 0.0;
        for r in &self.rules {
            hits.clear();
            if matcher.eval(&r.node, &mut hits) {
                admitted_by_rule |= r.admit;
                rules_part += r.weight;
                rule_hits.push(self.rule_hit(r, &hits));
            }
        }
        let mut excluded_by = Vec::new();
        let mut overridden = Vec::new();
        for r in &self.excludes {
            hits.clear();
            if matcher.eval(&r.node, &mut hits) {
                let hit = self.rule_hit(r, &hits);
                hits.clear();
                match &r.unless {
                    Some((src, node)) if matcher.eval(node, &mut hits) => {
                        overridden.push(Overridden {
                            exclude: hit,
                            unless: src.clone(),
                            by: self.rule_hit(r, &hits).hits,
                        });
                    }
                    _ => excluded_by.push(hit),
                }
            }
        }
        let mut extra = Vec::new();
        for (node, w, idx) in &self.alias_sim {
            hits.clear();
            if matcher.eval(node, &mut hits) {
                let mut tf = 0.0;
                if hits.iter().any(|h| h.field == query::TITLE) {
                    tf += self.cfg.title_weight;
                }
                if hits.iter().any(|h| h.field == query::SUMMARY) {
                    tf += 1.0;
                }
                if tf > 0.0 {
                    extra.push((*w, *idx, tf));
                }
            }
        }
        let sim = score::similarity(
            &self.shared.analyzer,
            &self.vocab,
            &self.shared.weights,
            &title,
            &summary,
            self.cfg.title_weight,
            self.cfg.similarity_half,
            &extra,
        );
        let similarity_part = self.cfg.similarity_weight * sim.value;
        let score = (rules_part + similarity_part).clamp(0.0, 1.0);
        let admitted = (admitted_by_rule || !self.has_admitting_rules) && excluded_by.is_empty();
        let threshold = self.cfg.threshold;
        let publish = admitted && score >= threshold;
        let similarity_terms = sim
            .parts
            .iter()
            .take(EXPLAIN_TERMS)
            .filter_map(|(idx, part)| {
                self.shared
                    .profile
                    .terms
                    .get(*idx as usize)
                    .map(|t| TermPart {
                        term: t.surface.clone(),
                        part: *part,
                    })
            })
            .collect();
        let explanation = Explanation {
            topic: self.cfg.name.clone(),
            publish,
            admitted,
            score,
            threshold,
            rules: rule_hits,
            excluded_by,
            overridden,
            rules_part,
            similarity: sim.value,
            similarity_weight: self.cfg.similarity_weight,
            similarity_part,
            similarity_terms,
        };
        Decision {
            publish,
            admitted,
            score,
            threshold,
            explanation,
        }
    }

    fn rule_hit(&self, r: &CompiledRule, hits: &[Hit]) -> RuleHit {
        let mut seen: Vec<Hit> = Vec::with_capacity(hits.len());
        let mut out = Vec::new();
        for h in hits {
            if seen.contains(h) {
                continue;
            }
            seen.push(*h);
            if let Some(t) = self.table.terms.get(h.term as usize) {
                out.push(TermHit {
                    field: query::field_name(h.field).to_string(),
                    term: t.display.clone(),
                });
            }
        }
        RuleHit {
            rule: r.name.clone(),
            weight: r.weight,
            admits: r.admit,
            hits: out,
        }
    }
}

/// The topic's groups with the alias table's concepts merged in: a concept
/// extends the group of the same name (`(group) | aliases`) or defines it.
fn merged_groups(
    groups: &BTreeMap<String, String>,
    aliases: &AliasTable,
) -> BTreeMap<String, String> {
    let mut groups = groups.clone();
    for name in aliases.concepts.keys() {
        if let Some(q) = aliases.group_query(name) {
            let key = groups
                .keys()
                .find(|k| k.trim_start_matches('@') == name)
                .cloned();
            match key {
                Some(k) => {
                    if let Some(v) = groups.get_mut(&k) {
                        *v = format!("({v}) | {q}");
                    }
                }
                None => {
                    groups.insert(name.clone(), q);
                }
            }
        }
    }
    groups
}

/// Every query error of a configuration at once (groups, rules, excludes
/// and their `unless`), where [`Topic::compile`] stops at the first. A
/// broken group is reported once; the rules using it are then checked as
/// if it were valid, so they are not reported for its sake.
pub fn config_errors(cfg: &TopicConfig, aliases: &AliasTable) -> Vec<TopicError> {
    let mut errs = Vec::new();
    if let Err(e) = validate(cfg) {
        errs.push(e);
    }
    let mut groups = merged_groups(&cfg.groups, aliases);
    let stemmer = text::WordStemmer::default();
    // Each round either compiles every group or retires one broken group.
    for _ in 0..=groups.len() {
        let mut vocab = Vocab::default();
        let mut table = TermTable::default();
        match Compiler::new(&stemmer, &mut vocab, &mut table, &groups) {
            Ok(mut c) => {
                let topic = || cfg.name.clone();
                for r in &cfg.rule {
                    if let Err(error) = c.compile(&r.query) {
                        errs.push(TopicError::Rule {
                            topic: topic(),
                            rule: r.name.clone(),
                            error,
                        });
                    }
                }
                for r in &cfg.exclude {
                    if let Err(error) = c.compile(&r.query) {
                        errs.push(TopicError::Exclude {
                            topic: topic(),
                            rule: r.name.clone(),
                            error,
                        });
                    }
                    if !r.unless.trim().is_empty()
                        && let Err(error) = c.compile(&r.unless)
                    {
                        errs.push(TopicError::Unless {
                            topic: topic(),
                            rule: r.name.clone(),
                            error,
                        });
                    }
                }
                break;
            }
            Err((group, error)) => {
                errs.push(TopicError::Group {
                    topic: cfg.name.clone(),
                    group: group.clone(),
                    error,
                });
                let key = groups
                    .keys()
                    .find(|k| k.trim_start_matches('@') == group)
                    .cloned()
                    .unwrap_or(group);
                // A stand-in that parses and never matches.
                groups.insert(key, "\"feedwatch broken group\"".to_string());
            }
        }
    }
    errs
}

/// [`Topic::warnings`] for a configuration (compiled or not).
pub fn config_warnings(cfg: &TopicConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |what: String, q: &str| {
        for w in query::lowercase_operator_warnings(q) {
            out.push(format!("topic `{}`, {what}: {w}", cfg.name));
        }
    };
    for (g, q) in &cfg.groups {
        add(format!("group @{g}"), q);
    }
    for r in &cfg.rule {
        add(format!("rule `{}`", r.name), &r.query);
    }
    for r in &cfg.exclude {
        add(format!("exclude `{}`", r.name), &r.query);
        add(format!("exclude `{}`, unless", r.name), &r.unless);
    }
    out
}

fn upsert<T>(list: &mut Vec<T>, item: T, name: impl Fn(&T) -> &String) {
    if let Some(slot) = list.iter_mut().find(|x| name(x) == name(&item)) {
        *slot = item;
    } else {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn cfg() -> TopicConfig {
        let mut groups = BTreeMap::new();
        groups.insert("taiwan".into(), "taiwan | taipei | 台灣".into());
        groups.insert("interpol".into(), "interpol | 國際刑警組織".into());
        groups.insert("crime".into(), "scam | fraud | \"money laundering\"".into());
        TopicConfig {
            name: "t".into(),
            description: "Taiwan and INTERPOL; scams, fraud and money laundering.".into(),
            groups,
            rule: vec![
                RuleConfig {
                    name: "core".into(),
                    query: "@taiwan @interpol".into(),
                    weight: 0.6,
                    admit: true,
                },
                RuleConfig {
                    name: "crime".into(),
                    query: "@taiwan @crime".into(),
                    weight: 0.2,
                    admit: true,
                },
                RuleConfig {
                    name: "assembly".into(),
                    query: "\"general assembly\"".into(),
                    weight: 0.1,
                    admit: false,
                },
            ],
            exclude: vec![ExcludeConfig {
                name: "band".into(),
                query: "@interpol album".into(),
                unless: String::new(),
            }],
            ..TopicConfig::default()
        }
    }

    fn topic() -> Topic {
        Topic::compile(
            &cfg(),
            &["Taiwan is kept out of INTERPOL. 台灣 國際刑警組織".into()],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn eval(t: &Topic, title: &str, summary: &str) -> Decision {
        t.evaluate(&Candidate {
            title,
            summary,
            ..Candidate::default()
        })
    }

    #[test]
    fn topic_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Topic>();
        check::<Arc<Topic>>();
    }

    #[test]
    fn decisions_follow_rules_score_and_threshold() {
        let t = topic();
        let d = eval(&t, "Taiwan and Interpol", "");
        assert!(d.publish && d.admitted);
        assert_eq!(d.explanation.rules[0].rule, "core");
        // boost-only rule does not admit on its own
        let d = eval(&t, "General Assembly opens", "");
        assert!(!d.admitted && !d.publish);
        assert!((d.explanation.rules_part - 0.1).abs() < 1e-12);
        // exclusion vetoes
        let d = eval(&t, "Interpol new album", "Taiwan tour");
        assert!(!d.admitted && !d.publish);
        assert_eq!(d.explanation.excluded_by[0].rule, "band");
        // score parts add up
        let d = eval(&t, "Taiwan scam", "");
        let e = &d.explanation;
        assert!((e.score - (e.rules_part + e.similarity_part).min(1.0)).abs() < 1e-12);
        assert!((e.similarity_part - e.similarity * e.similarity_weight).abs() < 1e-12);
        let shares: f64 = e.similarity_terms.iter().map(|p| p.part).sum();
        assert!(shares <= e.similarity + 1e-9);
        assert_eq!(d.publish, d.admitted && d.score >= d.threshold);
        let r = e.reasons();
        assert!(r.contains("crime[title:taiwan,title:scam] +0.20"), "{r}");
        assert!(r.ends_with("threshold 0.35"), "{r}");
    }

    #[test]
    fn unless_overrides_an_exclusion_and_says_so() {
        let mut c = cfg();
        c.exclude.push(ExcludeConfig {
            name: "notices".into(),
            query: "\"red notice\" | 紅色通緝".into(),
            unless: "@taiwan @interpol".into(),
        });
        let t = Topic::compile(&c, &[]).unwrap_or_else(|e| panic!("{e}"));
        // Vetoed when only the notice is there.
        let d = eval(&t, "Interpol red notice for a banker", "");
        assert!(!d.admitted);
        assert_eq!(d.explanation.excluded_by[0].rule, "notices");
        // Not vetoed when Taiwan and INTERPOL are both named.
        let d = eval(&t, "北京揚言對台灣立委發紅色通緝", "國際刑警組織");
        assert!(d.admitted && d.publish, "{}", d.explanation.reasons());
        assert!(d.explanation.excluded_by.is_empty());
        let o = &d.explanation.overridden[0];
        assert_eq!(o.exclude.rule, "notices");
        assert_eq!(o.unless, "@taiwan @interpol");
        let r = d.explanation.reasons();
        assert!(
            r.contains("exclusion notices[title:紅色通緝] overridden by unless[title:台灣,summary:國際刑警組織]"),
            "{r}"
        );
        // A bad unless query is reported against its rule.
        c.exclude[1].unless = "(@taiwan".into();
        assert!(matches!(
            Topic::compile(&c, &[]),
            Err(TopicError::Unless { .. })
        ));
    }

    #[test]
    fn aliases_extend_groups_and_give_similarity() {
        let aliases = AliasTable::parse(
            "profile_languages = [\"en\", \"zh\"]\n[taiwan]\nprofile = \"taiwan\"\nth = [\"ไต้หวัน\"]\nko = [\"대만\"]\n\
             [interpol]\nprofile = \"interpol\"\nth = [\"อินเตอร์โพล\"]\nko = [\"인터폴\"]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let texts = ["Taiwan is kept out of INTERPOL. 台灣 國際刑警組織".to_string()];
        let t =
            Topic::compile_with_aliases(&cfg(), &texts, aliases).unwrap_or_else(|e| panic!("{e}"));
        let d = eval(&t, "ตำรวจไต้หวันขอเข้าร่วมอินเตอร์โพล", "");
        assert!(d.publish, "{}", d.explanation.reasons());
        assert!(
            d.explanation.similarity > 0.2,
            "{}",
            d.explanation.reasons()
        );
        // อินเตอร์โพล is not in the Thai dictionary: it matches as a substring.
        let d = eval(&t, "ไต้หวันขอเข้าร่วมสมัชชาใหญ่อินเตอร์โพลอีกครั้ง", "");
        assert!(d.publish, "{}", d.explanation.reasons());
        let d = eval(&t, "대만의 인터폴 총회 참가 무산", "");
        assert!(d.publish, "{}", d.explanation.reasons());
        assert!(
            d.explanation.similarity > 0.2,
            "{}",
            d.explanation.reasons()
        );
        // Without the table, neither is recognised.
        assert!(!eval(&topic(), "ตำรวจไต้หวันขอเข้าร่วมอินเตอร์โพล", "").admitted);
    }

    #[test]
    fn explanation_round_trips_as_json() {
        let d = eval(&topic(), "台灣與國際刑警組織", "Taiwan");
        let json = serde_json::to_string(&d).unwrap_or_default();
        let back: Decision = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        // (serde_json may round the last bit of an f64)
        assert_eq!(back.explanation.reasons(), d.explanation.reasons());
        assert_eq!(back.explanation.rules, d.explanation.rules);
        assert!((back.score - d.score).abs() < 1e-12);
        assert!(json.contains("\"field\":\"title\""), "{json}");
    }

    #[test]
    fn compile_errors_name_rule_group_and_column() {
        let mut c = cfg();
        c.rule[1].query = "@taiwan (@crime".into();
        match Topic::compile(&c, &[]) {
            Err(TopicError::Rule { rule, error, .. }) => {
                assert_eq!(rule, "crime");
                assert_eq!(error.column, 16);
                assert_eq!(error.expected, "')'");
            }
            other => panic!("{other:?}"),
        }
        let mut c = cfg();
        c.groups.insert("crime".into(), "scam | | fraud".into());
        match Topic::compile(&c, &[]) {
            Err(e @ TopicError::Group { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "topic `t`, group @crime: column 8: expected a term but found '|'"
                );
            }
            other => panic!("{other:?}"),
        }
        let mut c = cfg();
        c.exclude[0].query = "@nope".into();
        assert!(matches!(
            Topic::compile(&c, &[]),
            Err(TopicError::Exclude { .. })
        ));
        let mut c = cfg();
        c.threshold = 1.5;
        assert!(matches!(
            Topic::compile(&c, &[]),
            Err(TopicError::Invalid { .. })
        ));
        let mut c = cfg();
        c.rule[1].name = "core".into();
        assert!(matches!(
            Topic::compile(&c, &[]),
            Err(TopicError::Invalid { .. })
        ));
    }

    #[test]
    fn every_query_error_is_reported_at_once() {
        let mut c = cfg();
        c.groups.insert("crime".into(), "scam | | fraud".into());
        c.rule[0].query = "@taiwan (@interpol".into();
        c.rule[2].query = "@nope".into();
        c.exclude[0].unless = "NOT".into();
        let errs = config_errors(&c, &AliasTable::default());
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 4, "{text:#?}");
        assert!(matches!(&errs[0], TopicError::Group { group, .. } if group == "crime"));
        assert!(matches!(&errs[1], TopicError::Rule { rule, .. } if rule == "core"));
        assert!(matches!(&errs[2], TopicError::Rule { rule, .. } if rule == "assembly"));
        assert!(matches!(&errs[3], TopicError::Unless { rule, .. } if rule == "band"));
        // The rule using the broken group is not reported for its sake.
        assert!(!text.iter().any(|t| t.contains("`crime`")), "{text:#?}");
        assert!(config_errors(&cfg(), &AliasTable::default()).is_empty());
        // and lower-case operators are warnings, named by rule
        c.rule[1].query = "@taiwan or @crime".into();
        let w = config_warnings(&c);
        assert_eq!(
            w,
            vec!["topic `t`, rule `crime`: column 9: `or` is matched as a word here; write OR"]
        );
    }

    #[test]
    fn overrides_change_threshold_and_rules() {
        let t = topic();
        assert!(eval(&t, "Taiwan Interpol", "").publish);
        assert!(
            !eval(&t, "Taiwan scam", "").publish,
            "0.2 + small similarity"
        );
        let strict = t
            .with_override(&TopicOverride {
                threshold: Some(0.95),
                ..TopicOverride::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!eval(&strict, "Taiwan Interpol", "").publish);
        let lax = t
            .with_override(&TopicOverride {
                threshold: Some(0.2),
                ..TopicOverride::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(eval(&lax, "Taiwan scam", "").publish);
        let no_crime = lax
            .with_override(&TopicOverride {
                disable: vec!["crime".into()],
                exclude: vec![ExcludeConfig {
                    name: "typhoon".into(),
                    query: "typhoon".into(),
                    unless: String::new(),
                }],
                ..TopicOverride::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!eval(&no_crime, "Taiwan scam", "").publish);
        assert!(!eval(&no_crime, "Taiwan Interpol typhoon", "").publish);
        assert!(eval(&no_crime, "Taiwan Interpol", "").publish);
        let replaced = t
            .with_override(&TopicOverride {
                rule: vec![RuleConfig {
                    name: "crime".into(),
                    query: "@taiwan @crime".into(),
                    weight: 0.5,
                    admit: true,
                }],
                ..TopicOverride::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replaced.config().rule.len(), 3);
        assert!(eval(&replaced, "Taiwan scam", "").publish);
        let bad = t.with_override(&TopicOverride {
            disable: vec!["missing".into()],
            ..TopicOverride::default()
        });
        assert!(matches!(bad, Err(TopicError::Invalid { .. })));
        // the original is untouched
        assert!(!eval(&t, "Taiwan scam", "").publish);
    }

    #[test]
    fn topic_without_rules_admits_by_score() {
        let c = TopicConfig {
            threshold: 0.2,
            ..TopicConfig::default()
        };
        let t = Topic::compile(&c, &["Taiwan INTERPOL exclusion".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(eval(&t, "Taiwan INTERPOL exclusion", "").publish);
        assert!(!eval(&t, "Typhoon", "").publish);
        assert_eq!(t.topic_terms().len(), 3);
    }

    /// xorshift64*: deterministic pseudo-random numbers for generated items.
    pub(crate) struct Rng(pub u64);
    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        pub fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
            v[(self.next() % v.len() as u64) as usize]
        }
    }

    #[test]
    fn adding_a_topic_term_never_lowers_the_score() {
        let t = topic();
        let terms = t.topic_terms();
        assert!(!terms.is_empty());
        let words = [
            "taiwan",
            "interpol",
            "scam",
            "fraud",
            "money",
            "laundering",
            "general",
            "assembly",
            "typhoon",
            "rain",
            "police",
            "台灣",
            "臺灣",
            "國際刑警組織",
            "詐騙",
            "the",
            "of",
            "election",
            "chips",
            "album",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..400 {
            let mut title: Vec<&str> = Vec::new();
            let mut summary: Vec<&str> = Vec::new();
            for _ in 0..rng.next() % 8 {
                title.push(rng.pick(&words));
            }
            for _ in 0..rng.next() % 20 {
                summary.push(rng.pick(&words));
            }
            let (title, summary) = (title.join(" "), summary.join(" "));
            let before = eval(&t, &title, &summary).score;
            let term = &terms[(rng.next() % terms.len() as u64) as usize];
            let (t2, s2) = if rng.next().is_multiple_of(2) {
                (format!("{title} {term}"), summary.clone())
            } else {
                (title.clone(), format!("{summary} {term}"))
            };
            let after = eval(&t, &t2, &s2).score;
            assert!(
                after >= before - 1e-12,
                "adding {term:?} lowered {before} to {after}: {title:?} / {summary:?}"
            );
        }
    }
}
