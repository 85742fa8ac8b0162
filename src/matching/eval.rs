//! Evaluation of a topic's decisions against labelled items (pure
//! functions; the CLI prints the report).
//!
//! Labels: 2 = core (must be published), 1 = related (should mostly be
//! published), 0 = unrelated but tempting (should not be).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One labelled, decided item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvalRow {
    pub id: String,
    /// 0, 1 or 2; anything above 2 counts as 2.
    pub label: u8,
    pub published: bool,
    /// One-line reasons of the decision, for the misses/false-positive lists.
    pub reasons: String,
}

/// Items and published items with one label.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelCounts {
    pub total: usize,
    pub published: usize,
}

/// Figures of one evaluation run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct EvalReport {
    /// Indexed by label (0, 1, 2).
    pub per_label: [LabelCounts; 3],
    /// Published items labelled 1 or 2 / published items (1.0 when nothing
    /// was published: no false positive was made).
    pub precision: f64,
    /// Published / total for label 2 (1.0 when there are none).
    pub recall_core: f64,
    /// Published / total for label 1 (1.0 when there are none).
    pub recall_related: f64,
    /// Items labelled 1 or 2 that were not published.
    pub misses: Vec<EvalRow>,
    /// Items labelled 0 that were published.
    pub false_positives: Vec<EvalRow>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

/// Computes the report for a set of rows.
pub fn evaluate_rows(rows: &[EvalRow]) -> EvalReport {
    let mut r = EvalReport::default();
    for row in rows {
        let l = usize::from(row.label.min(2));
        r.per_label[l].total += 1;
        if row.published {
            r.per_label[l].published += 1;
            if l == 0 {
                r.false_positives.push(row.clone());
            }
        } else if l > 0 {
            r.misses.push(row.clone());
        }
    }
    let published: usize = r.per_label.iter().map(|c| c.published).sum();
    r.precision = ratio(published - r.per_label[0].published, published);
    r.recall_core = ratio(r.per_label[2].published, r.per_label[2].total);
    r.recall_related = ratio(r.per_label[1].published, r.per_label[1].total);
    r
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (label, c) in self.per_label.iter().enumerate() {
            writeln!(f, "label {label}: {}/{} published", c.published, c.total)?;
        }
        writeln!(
            f,
            "precision {:.3}  recall(2) {:.3}  recall(1) {:.3}",
            self.precision, self.recall_core, self.recall_related
        )?;
        for m in &self.misses {
            writeln!(f, "miss [{}] {}: {}", m.label, m.id, m.reasons)?;
        }
        for m in &self.false_positives {
            writeln!(f, "false positive {}: {}", m.id, m.reasons)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, label: u8, published: bool) -> EvalRow {
        EvalRow {
            id: id.into(),
            label,
            published,
            reasons: String::new(),
        }
    }

    #[test]
    fn figures() {
        let rows = [
            row("a", 2, true),
            row("b", 2, false),
            row("c", 1, true),
            row("d", 1, true),
            row("e", 1, false),
            row("f", 0, true),
            row("g", 0, false),
        ];
        let r = evaluate_rows(&rows);
        assert_eq!(
            r.per_label[2],
            LabelCounts {
                total: 2,
                published: 1
            }
        );
        assert_eq!(
            r.per_label[1],
            LabelCounts {
                total: 3,
                published: 2
            }
        );
        assert_eq!(
            r.per_label[0],
            LabelCounts {
                total: 2,
                published: 1
            }
        );
        assert!((r.precision - 0.75).abs() < 1e-12);
        assert!((r.recall_core - 0.5).abs() < 1e-12);
        assert!((r.recall_related - 2.0 / 3.0).abs() < 1e-12);
        let misses: Vec<&str> = r.misses.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(misses, ["b", "e"]);
        assert_eq!(r.false_positives.len(), 1);
        assert!(r.to_string().contains("precision 0.750"));
    }

    #[test]
    fn empty_is_vacuously_perfect() {
        let r = evaluate_rows(&[]);
        assert_eq!(
            (r.precision, r.recall_core, r.recall_related),
            (1.0, 1.0, 1.0)
        );
    }
}
