-- Per-feed fetch state: conditional GET validators, health and the next check.
CREATE TABLE feeds (
    url             TEXT PRIMARY KEY NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    last_fetch_at   TEXT,
    last_success_at TEXT,
    last_status     INTEGER,            -- HTTP status of the last answer, NULL if none
    last_outcome    TEXT,               -- ok | not_modified | error
    last_error      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,   -- consecutive failures; drives backoff
    total_errors    INTEGER NOT NULL DEFAULT 0,
    total_fetches   INTEGER NOT NULL DEFAULT 0,
    next_check_at   TEXT,
    last_item_count INTEGER
);

-- Every item ever seen, once, by identity.
CREATE TABLE items (
    id            TEXT PRIMARY KEY NOT NULL,
    feed_url      TEXT NOT NULL,
    source        TEXT NOT NULL,
    guid          TEXT,
    link          TEXT,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    content       TEXT NOT NULL,
    lang          TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 1   -- bumped when an edit changes the content
);

CREATE INDEX items_by_published ON items (published_at DESC);
CREATE INDEX items_by_feed ON items (feed_url, published_at DESC);
