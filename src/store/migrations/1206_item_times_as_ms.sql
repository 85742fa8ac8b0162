-- Times stored one way (store::time, see 1200), the last table: items'
-- published_at, updated_at, first_seen_at and pruned_at, converted from
-- RFC 3339 TEXT to INTEGER Unix milliseconds, UTC, with the same exact
-- conversion as 1200 (whole seconds with the offset applied, plus the first
-- three fraction digits; NULL stays NULL; a value that does not parse fails
-- NOT NULL and stops the migration). The table is rebuilt so the columns
-- have INTEGER affinity, with its columns in the same order.
--
-- item_labels references items ON DELETE CASCADE, and Store::open turns
-- foreign keys on (a migration runs inside a transaction, where that pragma
-- cannot be changed): dropping items would delete every label. So the
-- labels are set aside first and put back after the rebuild, with their
-- seq; item_labels' AUTOINCREMENT counter (sqlite_sequence) is not lowered
-- by a delete, so a seq is still never reused. Nothing else references
-- items.
--
-- The item counter's triggers (1001) are dropped before the old table's
-- rows go, so the counter stays exact (the copy holds the same rows); the
-- four indexes are created again as they were (1010, 1030, 0901, 0001).

CREATE TABLE item_labels_kept AS SELECT seq, item_id, label, labelled_by, labelled_at FROM item_labels;
DELETE FROM item_labels;

CREATE TABLE items_ms (
    id            TEXT PRIMARY KEY NOT NULL,
    feed_url      TEXT NOT NULL,
    source        TEXT NOT NULL,
    guid          TEXT,
    link          TEXT,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    content       TEXT NOT NULL,
    lang          TEXT NOT NULL,
    published_at  INTEGER NOT NULL,           -- Unix ms
    updated_at    INTEGER NOT NULL,           -- Unix ms
    first_seen_at INTEGER NOT NULL,           -- Unix ms
    content_hash  TEXT NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 1, -- bumped when an edit changes the content
    decision      TEXT,                       -- 'publish' | 'skip' | 'held'; NULL: not evaluated
    score         REAL,
    explanation   TEXT,                       -- JSON (matching::Explanation)
    reasons       TEXT,                       -- the explanation on one line
    story_id      TEXT,
    fingerprint   TEXT,                       -- JSON (matching::StoryFingerprint)
    categories    TEXT NOT NULL DEFAULT '[]',
    held          TEXT,
    story_reasons TEXT,
    outlet        TEXT,
    pruned_at     INTEGER,                    -- Unix ms
    author        TEXT NOT NULL DEFAULT ''
);
INSERT INTO items_ms (id, feed_url, source, guid, link, title, summary, content, lang, published_at, updated_at, first_seen_at,
                      content_hash, revision, decision, score, explanation, reasons, story_id, fingerprint, categories, held, story_reasons, outlet, pruned_at, author)
SELECT id, feed_url, source, guid, link, title, summary, content, lang,
       CAST(strftime('%s', substr(published_at, 1, 19) || ltrim(substr(published_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(published_at, 20, 1) = '.'
                THEN CAST(substr(substr(published_at, 21, length(published_at) - 20 - length(ltrim(substr(published_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(updated_at, 1, 19) || ltrim(substr(updated_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(updated_at, 20, 1) = '.'
                THEN CAST(substr(substr(updated_at, 21, length(updated_at) - 20 - length(ltrim(substr(updated_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(first_seen_at, 1, 19) || ltrim(substr(first_seen_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(first_seen_at, 20, 1) = '.'
                THEN CAST(substr(substr(first_seen_at, 21, length(first_seen_at) - 20 - length(ltrim(substr(first_seen_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       content_hash, revision, decision, score, explanation, reasons, story_id, fingerprint, categories, held, story_reasons, outlet,
       CAST(strftime('%s', substr(pruned_at, 1, 19) || ltrim(substr(pruned_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(pruned_at, 20, 1) = '.'
                THEN CAST(substr(substr(pruned_at, 21, length(pruned_at) - 20 - length(ltrim(substr(pruned_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       author
FROM items;
DROP TRIGGER counters_items_insert;
DROP TRIGGER counters_items_delete;
DROP TABLE items;
ALTER TABLE items_ms RENAME TO items;
CREATE INDEX items_by_published ON items (published_at DESC);
CREATE INDEX items_unpruned_by_seen ON items (first_seen_at) WHERE pruned_at IS NULL;
CREATE INDEX items_by_decision_score ON items (decision, score);
CREATE INDEX items_by_story ON items (story_id) WHERE story_id IS NOT NULL;
CREATE TRIGGER counters_items_insert AFTER INSERT ON items
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'items'; END;
CREATE TRIGGER counters_items_delete AFTER DELETE ON items
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'items'; END;

INSERT INTO item_labels (seq, item_id, label, labelled_by, labelled_at)
SELECT seq, item_id, label, labelled_by, labelled_at FROM item_labels_kept ORDER BY seq;
DROP TABLE item_labels_kept;
