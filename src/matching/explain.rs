//! Why an item was or was not published: a serialisable record stored with
//! the item, and a one-line rendering for logs and the CLI.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// A term that matched, and where.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TermHit {
    /// `title`, `summary`, `link`, `source` or `lang`.
    pub field: String,
    /// The term as the operator wrote it.
    pub term: String,
}

/// A rule that matched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RuleHit {
    pub rule: String,
    /// Score contribution (0 for exclude rules).
    pub weight: f64,
    /// Whether this rule admits items on its own.
    pub admits: bool,
    /// The terms that made it match.
    pub hits: Vec<TermHit>,
}

/// An exclude rule that matched but did not veto, because its `unless`
/// query matched too.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Overridden {
    /// The exclude rule and the terms that made it match.
    pub exclude: RuleHit,
    /// The `unless` query as written.
    pub unless: String,
    /// The terms that made `unless` match.
    pub by: Vec<TermHit>,
}

/// A profile term's share of the similarity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TermPart {
    pub term: String,
    /// Share of `similarity` (the shares of all terms add up to it).
    pub part: f64,
}

/// Full account of one decision.
///
/// `score = clamp(rules_part + similarity_part, 0, 1)` where
/// `rules_part` is the sum of the matched include rules' weights and
/// `similarity_part = similarity_weight × similarity`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Explanation {
    pub topic: String,
    pub publish: bool,
    /// An admitting include rule matched (or the topic has none) and no
    /// exclude rule did.
    pub admitted: bool,
    pub score: f64,
    pub threshold: f64,
    /// Include rules that matched.
    pub rules: Vec<RuleHit>,
    /// Exclude rules that matched.
    pub excluded_by: Vec<RuleHit>,
    /// Exclude rules that matched but were overridden by their `unless`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<Overridden>,
    pub rules_part: f64,
    /// Profile similarity in [0, 1).
    pub similarity: f64,
    pub similarity_weight: f64,
    pub similarity_part: f64,
    /// Largest contributions to `similarity`.
    pub similarity_terms: Vec<TermPart>,
}

fn rule_label(out: &mut String, r: &RuleHit) {
    out.push_str(&r.rule);
    out.push('[');
    for (i, h) in r.hits.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}:{}", h.field, h.term);
    }
    out.push(']');
}

impl Explanation {
    /// Compact one-line rendering, e.g.
    /// `publish 0.83: rule core[title:interpol,summary:taiwan] +0.50; similarity 0.62×0.40 = +0.25 (interpol 0.12, taiwan 0.08, …); threshold 0.35`.
    pub fn reasons(&self) -> String {
        let mut out = String::new();
        let verdict = if self.publish {
            "publish"
        } else if !self.admitted {
            "reject"
        } else {
            "below threshold"
        };
        let (score, threshold) = score_and_threshold(self.score, self.threshold);
        let _ = write!(out, "{verdict} {score}: ");
        for r in &self.excluded_by {
            out.push_str("excluded by ");
            rule_label(&mut out, r);
            out.push_str("; ");
        }
        for o in &self.overridden {
            out.push_str("exclusion ");
            rule_label(&mut out, &o.exclude);
            out.push_str(" overridden by unless[");
            for (i, h) in o.by.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:{}", h.field, h.term);
            }
            out.push_str("]; ");
        }
        if self.rules.is_empty() {
            out.push_str("no rule matched; ");
        }
        for r in &self.rules {
            out.push_str("rule ");
            rule_label(&mut out, r);
            let _ = write!(out, " +{:.2}", r.weight);
            if !r.admits {
                out.push_str(" (boost only)");
            }
            out.push_str("; ");
        }
        let _ = write!(
            out,
            "similarity {:.2}\u{d7}{:.2} = +{:.2}",
            self.similarity, self.similarity_weight, self.similarity_part
        );
        if !self.similarity_terms.is_empty() {
            out.push_str(" (");
            for (i, t) in self.similarity_terms.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{} {:.2}", t.term, t.part);
            }
            let shown: f64 = self.similarity_terms.iter().map(|t| t.part).sum();
            if shown + 1e-9 < self.similarity {
                out.push_str(", \u{2026}");
            }
            out.push(')');
        }
        let _ = write!(out, "; threshold {threshold}");
        out
    }
}

/// A score and its threshold as text, with as many decimals (2 to 6) as it
/// takes for two different numbers to read differently: never "0.50 below
/// threshold 0.50".
pub fn score_and_threshold(score: f64, threshold: f64) -> (String, String) {
    let mut digits = 2;
    loop {
        let (s, t) = (format!("{score:.digits$}"), format!("{threshold:.digits$}"));
        if s != t || score == threshold || digits >= 6 {
            return (s, t);
        }
        digits += 1;
    }
}

#[cfg(test)]
mod rounding_tests {
    use super::score_and_threshold;

    #[test]
    fn a_score_below_the_threshold_never_reads_equal() {
        assert_eq!(
            score_and_threshold(0.4999, 0.5),
            ("0.4999".to_string(), "0.5000".to_string())
        );
        assert_eq!(
            score_and_threshold(0.83, 0.35),
            ("0.83".to_string(), "0.35".to_string())
        );
        assert_eq!(
            score_and_threshold(0.5, 0.5),
            ("0.50".to_string(), "0.50".to_string())
        );
    }
}
