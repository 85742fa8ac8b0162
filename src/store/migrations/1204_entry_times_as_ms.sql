-- Times stored one way (store::time, see 1200): the published feed's
-- entries, converted from RFC 3339 TEXT to INTEGER Unix milliseconds, UTC,
-- with the same exact conversion as 1200 (NULL stays NULL; a value that does
-- not parse fails NOT NULL and stops the migration). The table is rebuilt so
-- the columns have INTEGER affinity; nothing references feed_entries, so
-- only its two indexes and the entry counter's two triggers (1001) are
-- created again. The counter itself is unchanged: the copy holds the same
-- rows, and the triggers are dropped with the old table before its rows go.

CREATE TABLE feed_entries_ms (
    story_id              TEXT PRIMARY KEY NOT NULL,
    title                 TEXT NOT NULL,
    summary               TEXT NOT NULL,
    link                  TEXT NOT NULL,
    lang                  TEXT NOT NULL,
    hashtags              TEXT NOT NULL,            -- JSON array, without '#'
    post_html             TEXT NOT NULL,            -- the composed Fediverse post
    post_text             TEXT NOT NULL,
    spoiler_text          TEXT,
    published_at          INTEGER NOT NULL,         -- Unix ms
    updated_at            INTEGER NOT NULL,         -- Unix ms
    revision              INTEGER NOT NULL DEFAULT 1,
    outlets_updated_at    INTEGER,                  -- Unix ms
    outlets_pending_since INTEGER                   -- Unix ms
);
INSERT INTO feed_entries_ms (story_id, title, summary, link, lang, hashtags, post_html, post_text,
                             spoiler_text, published_at, updated_at, revision,
                             outlets_updated_at, outlets_pending_since)
SELECT story_id, title, summary, link, lang, hashtags, post_html, post_text, spoiler_text,
       CAST(strftime('%s', substr(published_at, 1, 19) || ltrim(substr(published_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(published_at, 20, 1) = '.'
                THEN CAST(substr(substr(published_at, 21, length(published_at) - 20 - length(ltrim(substr(published_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(updated_at, 1, 19) || ltrim(substr(updated_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(updated_at, 20, 1) = '.'
                THEN CAST(substr(substr(updated_at, 21, length(updated_at) - 20 - length(ltrim(substr(updated_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       revision,
       CAST(strftime('%s', substr(outlets_updated_at, 1, 19) || ltrim(substr(outlets_updated_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(outlets_updated_at, 20, 1) = '.'
                THEN CAST(substr(substr(outlets_updated_at, 21, length(outlets_updated_at) - 20 - length(ltrim(substr(outlets_updated_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(outlets_pending_since, 1, 19) || ltrim(substr(outlets_pending_since, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(outlets_pending_since, 20, 1) = '.'
                THEN CAST(substr(substr(outlets_pending_since, 21, length(outlets_pending_since) - 20 - length(ltrim(substr(outlets_pending_since, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
FROM feed_entries;
DROP TRIGGER counters_feed_entries_insert;
DROP TRIGGER counters_feed_entries_delete;
DROP TABLE feed_entries;
ALTER TABLE feed_entries_ms RENAME TO feed_entries;
CREATE INDEX feed_entries_by_published ON feed_entries (published_at DESC);
CREATE INDEX feed_entries_outlets_pending ON feed_entries (outlets_pending_since)
    WHERE outlets_pending_since IS NOT NULL;
CREATE TRIGGER counters_feed_entries_insert AFTER INSERT ON feed_entries
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'feed_entries'; END;
CREATE TRIGGER counters_feed_entries_delete AFTER DELETE ON feed_entries
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'feed_entries'; END;
