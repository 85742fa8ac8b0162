//! `feedwatch remove ID|URL`: retracts a published story everywhere it was
//! published. A second remove of the same story says "already removed",
//! sends nothing and exits 1.

use anyhow::{Context, Result};
use chrono::Utc;

use crate::app::App;
use crate::config::Config;
use crate::pipeline::operator::{Retraction, retract_story};

/// The story id in `arg`: the id itself, or the last path segment of a
/// story page URL (`…/stories/<id>`, with or without a trailing slash).
pub fn story_id(arg: &str) -> String {
    match url::Url::parse(arg) {
        Ok(u) => {
            let path = u.path().trim_end_matches('/');
            path.rsplit_once("/stories/")
                .map_or(path.rsplit('/').next().unwrap_or(path), |(_, id)| id)
                .to_string()
        }
        Err(_) => arg.trim().to_string(),
    }
}

pub async fn run(config: &Config, arg: &str) -> Result<()> {
    let story_id = story_id(arg);
    let app = App::build(config.clone()).await?;
    let now = Utc::now();
    // The same function as the dashboard's Retract.
    match retract_story(
        &app.store,
        app.fediverse
            .as_ref()
            .map(crate::fediverse::Fediverse::composer),
        &story_id,
        now,
    )
    .await?
    {
        Retraction::Removed => {}
        Retraction::AlreadyRemoved => {
            app.store.close().await;
            // An error (exit 1), so a script notices; nothing is sent again.
            anyhow::bail!("story {story_id} was already removed; nothing was sent again");
        }
        Retraction::NotPublished => {
            anyhow::bail!("no published story {story_id} (`feedwatch stories` lists them)")
        }
    }
    app.write_feed_files().await?;
    if let Some(f) = &app.fediverse {
        f.deliver_once(Utc::now())
            .await
            .context("delivering the Delete")?;
    }
    println!("removed story {story_id}; followers are sent a Delete and its page answers 410");
    app.store.close().await;
    Ok(())
}
