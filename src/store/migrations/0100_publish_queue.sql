-- Publish only news, at a pace followers accept ([publish] max_age, max_per_hour).

-- A new story waits here until the posting cap lets it out; it is released
-- (feed entry + Create + deliveries, one transaction) or marked stale when its
-- lead item passes max_age. Written in the poll's own transaction, so a crash
-- loses no waiting story and a release cannot happen twice.
CREATE TABLE publish_queue (
    story_id  TEXT PRIMARY KEY NOT NULL,
    lead_date TEXT NOT NULL,              -- the lead item's own date (future dates: first seen)
    queued_at TEXT NOT NULL,
    state     TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'stale')),
    stale_at  TEXT
);
CREATE INDEX publish_queue_by_state ON publish_queue (state, lead_date, queued_at);

-- When the bot published a story (feed entry and Create); the cap counts these.
-- Stories published before this migration count as published when created.
ALTER TABLE stories ADD COLUMN posted_at TEXT;
UPDATE stories SET posted_at = created_at
 WHERE id IN (SELECT story_id FROM feed_entries);
CREATE INDEX stories_by_posted ON stories (posted_at) WHERE posted_at IS NOT NULL;

-- Why a relevant item was not published (decision = 'held'), e.g. "older than max_age (2d)".
ALTER TABLE items ADD COLUMN held TEXT;
