//! `feedwatch labels import FILE.tsv | export`: the operator's labels of
//! stored items, in the `guid<TAB>label` form `eval --labels` reads. Takes
//! no daemon lock: it works while the daemon runs (SQLite WAL).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;

use crate::cli::LabelsAction;
use crate::config::Config;
use crate::store::Store;
use crate::store::labels::label_key;

/// Who `labels import` records as the labeller.
pub const IMPORT_WHO: &str = "labels import";

pub async fn run(config: &Config, action: LabelsAction) -> Result<()> {
    let store = Store::open(&config.storage.sqlite_path).await?;
    let result = match action {
        LabelsAction::Import { file } => import(&store, &file).await,
        LabelsAction::Export => export(&store).await,
    };
    store.close().await;
    result
}

/// One `key<TAB>label` line of a labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelLine {
    pub key: String,
    pub label: u8,
}

/// Parses a labels file: `key<TAB>label` (label 0, 1 or 2); blank lines, a
/// header line and lines without a tab are skipped, as `eval --labels` does.
pub fn parse_labels(text: &str, path: &Path) -> Result<Vec<LabelLine>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some((key, label)) = line.split_once('\t') else {
            continue;
        };
        match label.trim().parse::<u8>() {
            Ok(l @ 0..=2) => out.push(LabelLine {
                key: key.trim().to_string(),
                label: l,
            }),
            _ if n == 0 => {} // header
            _ => bail!(
                "{}:{}: label must be 0, 1 or 2, found {label:?}",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

async fn import(store: &Store, path: &Path) -> Result<()> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    let lines = parse_labels(&text, path)?;
    let now = Utc::now();
    let mut stored = 0usize;
    let mut unknown = Vec::new();
    for l in &lines {
        match store.item_id_for_key(&l.key).await? {
            Some(id) if store.set_label(&id, l.label, IMPORT_WHO, now).await? => stored += 1,
            _ => unknown.push(l.key.as_str()),
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{stored} label(s) stored, {} unknown (no stored item has that guid or link)",
        unknown.len()
    )?;
    for k in &unknown {
        writeln!(out, "unknown: {k}")?;
    }
    Ok(())
}

async fn export(store: &Store) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for (item, label) in store.labelled_items().await? {
        writeln!(out, "{}\t{}", label_key(&item.item), label.label)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_eval_reads() {
        let p = Path::new("l.tsv");
        let got = parse_labels("guid\tlabel\n\na\t2\nb\t 0\nno tab\n", p).unwrap();
        assert_eq!(
            got,
            [
                LabelLine {
                    key: "a".into(),
                    label: 2
                },
                LabelLine {
                    key: "b".into(),
                    label: 0
                }
            ]
        );
        let e = parse_labels("a\t2\nb\t3\n", p).unwrap_err().to_string();
        assert_eq!(e, "l.tsv:2: label must be 0, 1 or 2, found \"3\"");
    }
}
