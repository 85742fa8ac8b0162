//! The filter playground (`/admin/playground`): edit the topic, preview
//! which stored items it would decide differently (and the figures on the
//! labelled items), and Apply it through the settings' owner.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{RECENT_ITEMS, authorize, authorize_post, csrf_for, who};
use crate::config;
use crate::web::pages::{self, ItemView, PlaygroundView, PreviewRow};
use crate::web::{AdminError, WebState};

pub(super) async fn playground(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let token = authorize(&state, &headers)?;
    let rt = state.settings.load();
    let view = PlaygroundView {
        topic_toml: state
            .settings
            .topic_text()
            .await
            .unwrap_or_else(|e| format!("# {e}")),
        threshold: rt.topic.threshold(),
        last_n: RECENT_ITEMS,
        preview: None,
        unchanged: 0,
        error: None,
        applied: false,
        csrf: csrf_for(&token),
        warnings: Vec::new(),
        labelled: None,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}

#[derive(Deserialize)]
pub(super) struct PlaygroundForm {
    topic: String,
    threshold: f64,
    n: u32,
    csrf: String,
}

/// A preview: the changed rows, how many are unchanged, and the figures on
/// the labelled items before and after the edit.
type Preview = (
    Vec<PreviewRow>,
    usize,
    (crate::matching::EvalReport, crate::matching::EvalReport),
);

/// The items whose decision the edited topic would change, as view rows.
async fn preview_rows(state: &WebState, form: &PlaygroundForm) -> Result<Preview, String> {
    let rt = state.settings.load();
    if !(0.0..=1.0).contains(&form.threshold) {
        return Err(format!("threshold {} is outside 0..1", form.threshold));
    }
    // Compiled by the settings' owner, on the blocking pool; not put in force.
    let topic = state
        .settings
        .compile_topic(form.topic.clone(), form.threshold)
        .await?;
    let feeds = rt.sources().await.unwrap_or_default();
    let n = form.n.clamp(1, 5000);
    let topic = std::sync::Arc::new(topic);
    let (total, changes) = crate::tune::replay_changes(&state.store, &topic, &feeds, n)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let mut figures = Vec::new();
    for t in [&rt.topic, &topic] {
        let rows = crate::tune::stored_eval_rows(&state.store, t, &feeds)
            .await
            .map_err(|e| format!("{e:#}"))?;
        figures.push(crate::matching::evaluate_rows(&rows));
    }
    let after = figures.pop().unwrap_or_default();
    let before = figures.pop().unwrap_or_default();
    let unchanged = total - changes.len();
    let rows = changes
        .into_iter()
        .map(|c| PreviewRow {
            item: ItemView {
                id: c.id,
                title: c.title,
                link: c.link,
                source: c.source,
                published: c.published,
                lang: c.lang,
                decision: c.before,
                score: None,
                reasons: String::new(),
                story: None,
            },
            before: c.before,
            after: c.after,
            after_score: c.score,
            after_reasons: c.reasons,
        })
        .collect();
    Ok((rows, unchanged, (before, after)))
}

pub(super) async fn preview(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Result<Response, AdminError> {
    let token = authorize_post(&state, &headers, &form.csrf)?;
    let (preview, unchanged, labelled, error) = match preview_rows(&state, &form).await {
        Ok((rows, unchanged, figures)) => (Some(rows), unchanged, Some(figures), None),
        Err(e) => (None, 0, None, Some(e)),
    };
    let view = PlaygroundView {
        warnings: config::topic_text_warnings(&form.topic),
        topic_toml: form.topic,
        threshold: form.threshold,
        last_n: form.n,
        preview,
        unchanged,
        error,
        applied: false,
        csrf: csrf_for(&token),
        labelled,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}

/// Persists the previewed topic into the config file and reloads; if the
/// reload refuses the result, the file is restored.
pub(super) async fn apply(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<PlaygroundForm>,
) -> Result<Response, AdminError> {
    let token = authorize_post(&state, &headers, &form.csrf)?;
    // The settings' owner reads, compiles and writes on the blocking pool.
    let result = state
        .settings
        .apply_topic(form.topic.clone(), form.threshold)
        .await
        .map(|_| ());
    if result.is_ok() {
        tracing::info!(
            who = %who(&headers),
            threshold = form.threshold,
            "admin action: topic changed from the playground"
        );
    }
    let view = PlaygroundView {
        topic_toml: form.topic,
        threshold: form.threshold,
        last_n: form.n,
        preview: None,
        unchanged: 0,
        applied: result.is_ok(),
        error: result.err(),
        csrf: csrf_for(&token),
        warnings: Vec::new(),
        labelled: None,
    };
    Ok(Html(pages::playground_page(&state.site(), &view)).into_response())
}
