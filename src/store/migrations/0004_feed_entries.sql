-- The published feed: one entry per story, written in the same transaction
-- as the story and its Fediverse deliveries (transactional outbox).
CREATE TABLE feed_entries (
    story_id     TEXT PRIMARY KEY NOT NULL,
    title        TEXT NOT NULL,
    summary      TEXT NOT NULL,
    link         TEXT NOT NULL,
    lang         TEXT NOT NULL,
    hashtags     TEXT NOT NULL,            -- JSON array, without '#'
    post_html    TEXT NOT NULL,            -- the composed Fediverse post
    post_text    TEXT NOT NULL,
    spoiler_text TEXT,
    published_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX feed_entries_by_published ON feed_entries (published_at DESC);

-- Article pages fetched for summaries: one request per story, cached.
CREATE TABLE article_pages (
    url        TEXT PRIMARY KEY NOT NULL,
    fetched_at TEXT NOT NULL,
    status     INTEGER,
    main_text  TEXT
);
