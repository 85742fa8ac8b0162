//! The account's profile images (issue 10 §5) over real HTTP, from a real
//! `App`: the actor's `icon` and `image` carry type, mediaType and url; the
//! bot serves the shipped images (and `[bot] avatar` files) with their
//! Content-Type and caching; the avatar decodes as a PNG of at least
//! 400×400. `check`'s config loading names a missing or non-image file.

use std::io::Cursor;

use feedwatch::app::App;
use serde_json::Value;

use crate::helpers::TestEnv;

/// Serves the whole app on 127.0.0.1 with `base_url` naming that port,
/// after adding `bot_extra` lines to `[bot]`.
async fn start(env: &TestEnv, bot_extra: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "[bot]\nbase_url = \"http://localhost:8080\"\n",
        &format!("[bot]\nbase_url = \"{base}\"\n{bot_extra}\n"),
    );
    std::fs::write(&env.config_path, text).unwrap();
    let app = App::build(env.config()).await.unwrap();
    let router = feedwatch::web::router(app.web_state());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

async fn actor(base: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/users/interpolwatch"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GETs an image: (Content-Type, Cache-Control, bytes).
async fn image(url: &str) -> (String, String, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    let h = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (ct, cc) = (h("content-type"), h("cache-control"));
    (ct, cc, r.bytes().await.unwrap().to_vec())
}

/// Decodes a whole PNG (every row), returning (width, height).
fn decode_png(bytes: &[u8]) -> (u32, u32) {
    let mut reader = png::Decoder::new(Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG image data");
    (info.width, info.height)
}

#[tokio::test]
async fn the_shipped_avatar_and_header_are_served_and_decode() {
    let env = TestEnv::new(&[]);
    let base = start(&env, "").await;
    let doc = actor(&base).await;
    assert_eq!(doc["icon"]["type"], "Image");
    assert_eq!(doc["icon"]["mediaType"], "image/png");
    assert_eq!(doc["icon"]["url"], format!("{base}/avatar.png"));
    assert_eq!(doc["image"]["type"], "Image");
    assert_eq!(doc["image"]["mediaType"], "image/png");
    assert_eq!(doc["image"]["url"], format!("{base}/header.png"));

    let (ct, cc, bytes) = image(doc["icon"]["url"].as_str().unwrap()).await;
    assert_eq!(ct, "image/png");
    assert!(cc.contains("max-age=86400"), "{cc}");
    let (w, h) = decode_png(&bytes);
    assert!(w >= 400 && h >= 400, "avatar is {w}x{h}");
    assert_eq!(w, h, "a square avatar");

    let (ct, _, bytes) = image(doc["image"]["url"].as_str().unwrap()).await;
    assert_eq!(ct, "image/png");
    let (w, h) = decode_png(&bytes);
    assert!(w > h && w >= 1000, "header is {w}x{h}");

    // Revalidation: the ETag gives a 304.
    let r = reqwest::get(format!("{base}/avatar.png")).await.unwrap();
    let etag = r.headers()["etag"].clone();
    let r = reqwest::Client::new()
        .get(format!("{base}/avatar.png"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
}

#[tokio::test]
async fn a_configured_file_and_a_remote_url() {
    let env = TestEnv::new(&[]);
    // A real PNG of our own as the avatar file (the shipped header, 1500×500),
    // in a folder under the config's, named without an extension: the type
    // is read from the bytes.
    std::fs::create_dir_all(env.path().join("pics")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("assets/header.png"), env.path().join("pics/me")).unwrap();
    let base = start(
        &env,
        "avatar = \"pics/me\"\nheader = \"https://cdn.example/banner.JPG\"",
    )
    .await;
    let doc = actor(&base).await;
    assert_eq!(doc["icon"]["url"], format!("{base}/avatar.png"));
    assert_eq!(doc["icon"]["mediaType"], "image/png");
    assert_eq!(doc["image"]["url"], "https://cdn.example/banner.JPG");
    assert_eq!(doc["image"]["mediaType"], "image/jpeg");
    let (ct, _, bytes) = image(&format!("{base}/avatar.png")).await;
    assert_eq!(ct, "image/png");
    assert_eq!(decode_png(&bytes), (1500, 500), "the configured file");
    // The bot does not serve a header it does not host.
    let r = reqwest::get(format!("{base}/header.png")).await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[test]
fn check_names_a_missing_or_non_image_file() {
    let env = TestEnv::new(&[]);
    std::fs::write(env.path().join("notes.txt"), "not an image").unwrap();
    let text = std::fs::read_to_string(&env.config_path).unwrap().replace(
        "[bot]\n",
        "[bot]\navatar = \"missing.png\"\nheader = \"notes.txt\"\n",
    );
    std::fs::write(&env.config_path, text).unwrap();
    let err = feedwatch::config::load_with_env(&env.config_path, Vec::new())
        .expect_err("bad image paths are refused")
        .to_string();
    assert!(
        err.contains("avatar") && err.contains("missing.png"),
        "{err}"
    );
    assert!(
        err.contains("header") && err.contains("not a PNG, JPEG, GIF or WebP"),
        "{err}"
    );
}
