//! A compiled topic: rules + profile, and the decision for one candidate.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{ExcludeConfig, RuleConfig, TopicConfig, TopicOverride};
use super::explain::{Explanation, RuleHit, TermHit, TermPart};
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
}

#[derive(Debug)]
struct CompiledRule {
    name: String,
    weight: f64,
    admit: bool,
    node: Node,
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
        });
        Self::compile_rules(cfg.clone(), shared)
    }

    fn compile_rules(cfg: TopicConfig, shared: Arc<Shared>) -> Result<Topic, TopicError> {
        validate(&cfg)?;
        let mut vocab = shared.vocab.clone();
        let mut table = TermTable::default();
        let mut compiler = Compiler::new(
            &shared.analyzer.stemmer,
            &mut vocab,
            &mut table,
            &cfg.groups,
        )
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
            excludes.push(CompiledRule {
                name: r.name.clone(),
                weight: 0.0,
                admit: false,
                node,
            });
        }
        let fields = rules
            .iter()
            .chain(&excludes)
            .fold(0, |a, r| a | r.node.fields());
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
        })
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

    /// Decides one candidate and explains the decision.
    pub fn evaluate(&self, c: &Candidate) -> Decision {
        let title = self.analyse(c.title, query::TITLE);
        let summary = self.analyse(c.summary, query::SUMMARY);
        let link = self.analyse(c.link, query::LINK);
        let source = self.analyse(c.source, query::SOURCE);
        // Rules name languages by their primary subtag (`lang:zh`); items
        // keep the full tag (`zh-Hant`) for markup.
        let lang = self.analyse(&crate::item::primary_subtag(c.lang), query::LANG);
        let mut matcher = Matcher::new(&self.table, [&title, &summary, &link, &source, &lang]);
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
        for r in &self.excludes {
            hits.clear();
            if matcher.eval(&r.node, &mut hits) {
                excluded_by.push(self.rule_hit(r, &hits));
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
