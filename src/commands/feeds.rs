//! `feedwatch feeds`: each source's health as a table (or `--json`), and a
//! summary line: how many ok, failing, disabled.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{fmt_time, table, tidy};
use crate::app::App;
use crate::config::Config;
use crate::store::FeedState;

/// One source as `feeds --json` prints it.
#[derive(Debug, Serialize)]
struct FeedRow {
    name: String,
    url: String,
    enabled: bool,
    /// "ok", "not_modified", "error 503", "not fetched"…
    status: String,
    /// "ok", "failing", "disabled" or "not fetched": what the summary counts.
    health: &'static str,
    last_fetch_at: Option<chrono::DateTime<chrono::Utc>>,
    error_count: u32,
    total_errors: u64,
    next_check_at: Option<chrono::DateTime<chrono::Utc>>,
    last_error: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    total: usize,
    ok: usize,
    failing: usize,
    disabled: usize,
    not_fetched: usize,
}

pub async fn run(config: &Config, json: bool) -> Result<()> {
    let app = App::build(config.clone()).await?;
    let feeds = app.sources().await?;
    let states = app.store.feed_states().await?;
    app.store.close().await;
    let mut rows = Vec::new();
    let mut summary = Summary {
        total: feeds.len(),
        ..Summary::default()
    };
    for f in &feeds {
        let s = states.iter().find(|s| s.url == f.url.as_str());
        let failing = s.is_some_and(|s| s.error_count > 0);
        let health = match (f.enabled, s) {
            (false, _) => "disabled",
            (true, None) => "not fetched",
            (true, Some(_)) if failing => "failing",
            (true, Some(_)) => "ok",
        };
        match health {
            "disabled" => summary.disabled += 1,
            "not fetched" => summary.not_fetched += 1,
            "failing" => summary.failing += 1,
            _ => summary.ok += 1,
        }
        rows.push(FeedRow {
            name: f.name.clone(),
            url: f.url.to_string(),
            enabled: f.enabled,
            status: s.map_or_else(|| "not fetched".to_string(), FeedState::status_label),
            health,
            last_fetch_at: s.and_then(|s| s.last_fetch_at),
            error_count: s.map_or(0, |s| s.error_count),
            total_errors: s.map_or(0, |s| s.total_errors),
            next_check_at: s.and_then(|s| s.next_check_at),
            last_error: s
                .filter(|s| s.error_count > 0)
                .and_then(|s| s.last_error.clone()),
        });
    }
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({ "feeds": rows, "summary": summary });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(());
    }
    let mut t = table(&[
        "NAME",
        "ENABLED",
        "STATUS",
        "LAST FETCH",
        "ERRS",
        "TOTAL",
        "NEXT CHECK",
        "URL",
    ]);
    for r in &rows {
        t.add_row(vec![
            r.name.clone(),
            if r.enabled { "yes" } else { "no" }.to_string(),
            r.status.clone(),
            fmt_time(r.last_fetch_at, "never"),
            r.error_count.to_string(),
            r.total_errors.to_string(),
            if r.enabled {
                fmt_time(r.next_check_at, "due now")
            } else {
                "-".to_string()
            },
            r.url.clone(),
        ]);
    }
    tidy(&mut t, &[4, 5]);
    for line in t.lines() {
        writeln!(out, "{}", line.trim_end())?;
    }
    for r in rows.iter().filter(|r| r.last_error.is_some()) {
        let last = r.last_error.as_deref().unwrap_or_default();
        // First the cause in the words the logs use, then the stored chain.
        writeln!(
            out,
            "{}: cause: {}",
            r.name,
            crate::infra::logging::stored_failure_cause(last)
        )?;
        writeln!(out, "{}: last error: {last}", r.name)?;
    }
    writeln!(
        out,
        "{} source(s): {} ok, {} failing, {} disabled, {} not fetched yet",
        summary.total, summary.ok, summary.failing, summary.disabled, summary.not_fetched
    )?;
    Ok(())
}
