-- Exact counts that are cheap to read (issue 9 §4 "Cheap counters"):
-- COUNT(*) walks a whole index, and /readyz, /metrics and the front page
-- ask often. Triggers keep them in the same transaction as the change.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES
    ('items', (SELECT COUNT(*) FROM items)),
    ('feed_entries', (SELECT COUNT(*) FROM feed_entries));
CREATE TRIGGER counters_items_insert AFTER INSERT ON items
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'items'; END;
CREATE TRIGGER counters_items_delete AFTER DELETE ON items
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'items'; END;
CREATE TRIGGER counters_feed_entries_insert AFTER INSERT ON feed_entries
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'feed_entries'; END;
CREATE TRIGGER counters_feed_entries_delete AFTER DELETE ON feed_entries
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'feed_entries'; END;
-- The outbox's totalItems (live Notes) and /metrics' mentions.
INSERT INTO counters (name, value) VALUES
    ('live_notes', (SELECT COUNT(*) FROM fed_notes WHERE deleted_at IS NULL)),
    ('mentions', (SELECT COUNT(*) FROM fed_mentions));
CREATE TRIGGER counters_notes_insert AFTER INSERT ON fed_notes
BEGIN UPDATE counters SET value = value + (NEW.deleted_at IS NULL) WHERE name = 'live_notes'; END;
CREATE TRIGGER counters_notes_update AFTER UPDATE OF deleted_at ON fed_notes
BEGIN
    UPDATE counters SET value = value + (NEW.deleted_at IS NULL) - (OLD.deleted_at IS NULL)
    WHERE name = 'live_notes';
END;
CREATE TRIGGER counters_notes_delete AFTER DELETE ON fed_notes
BEGIN UPDATE counters SET value = value - (OLD.deleted_at IS NULL) WHERE name = 'live_notes'; END;
CREATE TRIGGER counters_mentions_insert AFTER INSERT ON fed_mentions
BEGIN UPDATE counters SET value = value + 1 WHERE name = 'mentions'; END;
CREATE TRIGGER counters_mentions_delete AFTER DELETE ON fed_mentions
BEGIN UPDATE counters SET value = value - 1 WHERE name = 'mentions'; END;
