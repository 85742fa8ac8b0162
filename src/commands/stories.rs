//! `feedwatch stories`: the published stories, newest first: id, date,
//! title, outlets and story URL (the URL `remove` accepts).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{fmt_time, table, tidy};
use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Serialize)]
struct StoryRow {
    id: String,
    published_at: chrono::DateTime<chrono::Utc>,
    title: String,
    outlets: Vec<String>,
    url: String,
}

/// The story page URL under `base`.
pub fn story_url(config: &Config, id: &str) -> String {
    format!(
        "{}/stories/{id}",
        config.bot.base_url.as_str().trim_end_matches('/')
    )
}

pub async fn run(config: &Config, limit: u32, json: bool) -> Result<()> {
    let store = Store::open(&config.storage.sqlite_path).await?;
    let entries = store.published_entries(limit).await?;
    store.close().await;
    let rows: Vec<StoryRow> = entries
        .into_iter()
        .map(|p| {
            let mut outlets: Vec<String> = Vec::new();
            for (name, _) in p.sources {
                if !outlets.contains(&name) {
                    outlets.push(name);
                }
            }
            StoryRow {
                url: story_url(config, &p.entry.story_id),
                id: p.entry.story_id,
                published_at: p.entry.published_at,
                title: p.entry.title,
                outlets,
            }
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if json {
        for r in &rows {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        }
        return Ok(());
    }
    let mut t = table(&["ID", "PUBLISHED", "TITLE", "OUTLETS", "URL"]);
    for r in &rows {
        t.add_row(vec![
            r.id.clone(),
            fmt_time(Some(r.published_at), ""),
            r.title.clone(),
            r.outlets.join(", "),
            r.url.clone(),
        ]);
    }
    tidy(&mut t, &[]);
    for line in t.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out, "{} published story(ies)", rows.len())?;
    Ok(())
}
