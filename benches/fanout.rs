//! Fan-out benchmark: one story to 10,000 followers behind 1,000 shared
//! inboxes on a local sink that only counts, then the cost of RSA-2048
//! signing alone. Run: `cargo bench --bench fanout` (add `--profile dev` to
//! reuse the debug build; the crypto crates are optimised in dev too).

// Benchmark code: a failed unwrap is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use feedwatch::fediverse::{Fediverse, FediverseSettings};
use feedwatch::model::StoryPost;
use feedwatch::store::fed::{FedStore, Follower};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};
use url::Url;

const FOLLOWERS: usize = 10_000;
const INBOXES: usize = 1_000;

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    let sink = axum::Router::new().route(
        "/{n}/inbox",
        axum::routing::post(move || {
            let h = h2.clone();
            async move {
                h.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let sl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sport = sl.local_addr()?.port();
    tokio::spawn(async move { axum::serve(sl, sink).await });

    let dir = tempfile::tempdir()?;
    let bl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = Url::parse(&format!("http://localhost:{}", bl.local_addr()?.port()))?;
    let store = FedStore::open(&dir.path().join("bench.db")).await?;
    let concurrency = 64;
    let settings = FediverseSettings {
        base_url: base.clone(),
        username: "interpolwatch".into(),
        display_name: "bench".into(),
        summary: "bench".into(),
        icon_url: None,
        icon_media_type: None,
        image_url: None,
        image_media_type: None,
        profile_links: vec![],
        data_dir: dir.path().to_path_buf(),
        allow_private_addresses: true,
        delivery_concurrency: concurrency,
        dead_after: Duration::from_secs(86_400),
        feed_url: base.join("/feed.xml")?,
        visibility: feedwatch::config::PostVisibility::Public,
    };
    let fed = Fediverse::new(settings, store.clone(), None).await?;
    let router = feedwatch::web::fediverse::router(fed.clone());
    tokio::spawn(async move { axum::serve(bl, router).await });

    let followers: Vec<Follower> = (0..FOLLOWERS)
        .map(|i| Follower {
            actor_id: format!("http://localhost:{sport}/{}/users/u{i}", i % INBOXES),
            inbox: format!("http://localhost:{sport}/{}/users/u{i}/inbox", i % INBOXES),
            shared_inbox: Some(format!("http://localhost:{sport}/{}/inbox", i % INBOXES)),
            follow_id: None,
        })
        .collect();
    store.insert_followers(&followers, Utc::now()).await?;

    let post = StoryPost {
        story_id: "bench-1".into(),
        page_url: Url::parse("https://news.example/bench-1")?,
        html: "<p>INTERPOL and Taiwan: benchmark story.</p>".into(),
        text: "INTERPOL and Taiwan: benchmark story.".into(),
        language: "en".into(),
        hashtags: vec!["Taiwan".into()],
        sensitive_cw: None,
        published: Utc::now(),
        updated: None,
    };
    let t = Instant::now();
    let queued = fed.enqueue_create(&post).await?;
    let enqueue = t.elapsed();
    let t = Instant::now();
    let report = fed.deliver_once(Utc::now()).await?;
    let deliver = t.elapsed();
    let n = hits.load(Ordering::Relaxed);
    println!(
        "fanout: {FOLLOWERS} followers / {INBOXES} shared inboxes -> {queued} rows queued in {:.1} ms",
        enqueue.as_secs_f64() * 1e3
    );
    println!(
        "fanout: delivered {} ({} at sink) in {:.2} s = {:.0} deliveries/s (concurrency {concurrency})",
        report.delivered,
        n,
        deliver.as_secs_f64(),
        report.delivered as f64 / deliver.as_secs_f64()
    );

    // RSA signing alone, same key size and scheme as a delivery signature.
    let pem = std::fs::read_to_string(dir.path().join("actor-key.pem"))?;
    let key = RsaPrivateKey::from_pkcs8_pem(&pem)?;
    let iters = 500;
    let t = Instant::now();
    for i in 0..iters {
        let msg = format!("(request-target): post /inbox\nhost: example\ndate: {i}");
        let _sig = key.sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(msg.as_bytes()),
        )?;
    }
    let per = t.elapsed() / iters;
    println!(
        "rsa-2048 sign: {:.2} ms/signature = {:.0} signatures/s (one core)",
        per.as_secs_f64() * 1e3,
        1.0 / per.as_secs_f64()
    );
    Ok(())
}
