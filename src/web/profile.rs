//! `/avatar.<ext>` and `/header.<ext>`: the profile images the bot serves
//! itself (the shipped ones, or `[bot] avatar`/`header` files), with their
//! media type, an ETag and a day of caching. The paths are fixed at start-up
//! from the configuration (the actor's `icon`/`image` name them); the bytes
//! are read on each request, so a replaced file shows without a restart.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{CACHE_STATIC, WebState};
use crate::config::profile::{
    DEFAULT_AVATAR, DEFAULT_HEADER, MAX_IMAGE_BYTES, ProfileImage, sniff_image,
};

#[derive(Clone, Copy)]
enum Which {
    Avatar,
    Header,
}

/// The routes for the images the configuration in force at start-up serves.
pub(super) fn router(state: WebState) -> Router {
    let rt = state.settings.load();
    let cfg = &rt.config;
    let mut router = Router::new();
    if let Some(ext) = cfg.bot.avatar.served_extension() {
        router = router.route(
            &format!("/avatar.{ext}"),
            get(|s, h| image(s, h, Which::Avatar)),
        );
    }
    if let Some(ext) = cfg.bot.header.served_extension() {
        router = router.route(
            &format!("/header.{ext}"),
            get(|s, h| image(s, h, Which::Header)),
        );
    }
    router.with_state(state)
}

async fn image(State(state): State<WebState>, headers: HeaderMap, which: Which) -> Response {
    let rt = state.settings.load();
    let cfg = &rt.config;
    let (img, shipped) = match which {
        Which::Avatar => (&cfg.bot.avatar, DEFAULT_AVATAR),
        Which::Header => (&cfg.bot.header, DEFAULT_HEADER),
    };
    let bytes: Vec<u8> = match img {
        ProfileImage::File { path, .. } => {
            let read = match tokio::fs::metadata(path).await {
                Ok(m) if m.len() <= MAX_IMAGE_BYTES => tokio::fs::read(path).await,
                Ok(_) => Err(std::io::Error::other("over the size limit")),
                Err(e) => Err(e),
            };
            match read {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot serve a profile image");
                    return StatusCode::NOT_FOUND.into_response();
                }
            }
        }
        ProfileImage::Default => shipped.to_vec(),
        // Reloaded to a remote image or to none since start-up.
        ProfileImage::Url { url, .. } => {
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, url.as_str().to_owned())],
            )
                .into_response();
        }
        ProfileImage::None => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(media_type) = sniff_image(&bytes) else {
        tracing::warn!("a profile image file is no longer a PNG, JPEG, GIF or WebP image");
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = crate::publish::feed::etag_for(&bytes);
    let mut response = if super::cache::not_modified(&headers, &etag, None) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_STATIC),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
