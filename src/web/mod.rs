//! The HTTP face. Routes stay thin: they read from the store and render.

pub mod fediverse;

use axum::Router;
use axum::routing::get;

use crate::store::Store;

/// State shared by the routes.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn readyz(
    axum::extract::State(state): axum::extract::State<WebState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.store.item_count().await {
        Ok(_) => (axum::http::StatusCode::OK, "ready"),
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "store unreachable",
        ),
    }
}
