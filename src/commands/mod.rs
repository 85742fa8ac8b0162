//! One-shot operator commands whose bodies outgrew `app.rs`: `feeds`,
//! `stories` and `remove`.

pub mod check;
pub mod feeds;
pub mod labels;
pub mod remove;
pub mod stories;

use chrono::{DateTime, Utc};

/// A time for listings, or `none`.
pub(crate) fn fmt_time(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(
        || none.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A table without borders: columns two spaces apart, aligned by display
/// width (a CJK character counts 2), cells never cut.
pub(crate) fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    t
}

/// Pads every column on the right only, so lines start with the first cell.
pub(crate) fn tidy(t: &mut comfy_table::Table, right_aligned: &[usize]) {
    for (i, c) in t.column_iter_mut().enumerate() {
        c.set_padding((0, 2));
        if right_aligned.contains(&i) {
            c.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
}

/// A progress bar on stderr for `len` units of `what`, drawn only when stderr
/// is a terminal; elsewhere (pipes, logs, tests) it prints nothing.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:30}} {{pos}}/{{len}} {what} {{elapsed}}"
    )) {
        bar.set_style(style);
    }
    bar
}
