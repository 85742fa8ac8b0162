-- Compact record of items that retention removed (issue 9 §4): once an
-- unpublished item is older than [storage] retain, its whole `items` row
-- (guid, link, hashes, index entries: about 450 B) is deleted and only this
-- row (about 30 B with its index entry) remembers its identity, so the item
-- is never new again when it reappears in a feed. `key_hash` is the first
-- 8 bytes of the SHA-256 of `items.id`, big-endian, as a signed integer
-- (store::retention::seen_key). An item is in `items` or here, not both.
-- A row is kept until max(4 x retain, 90 days) after `first_seen`.
CREATE TABLE seen_items (
    key_hash   INTEGER PRIMARY KEY NOT NULL,
    first_seen INTEGER NOT NULL               -- Unix seconds: items.first_seen_at
) WITHOUT ROWID;
CREATE INDEX seen_items_by_first_seen ON seen_items (first_seen);
-- Backfill: the rows earlier versions emptied and kept (pruned_at set) and
-- that retention now deletes go back into the pass's index, so the next
-- maintenance pass moves their identity here and deletes them.
UPDATE items SET pruned_at = NULL
WHERE pruned_at IS NOT NULL AND story_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = items.id)
  AND NOT EXISTS (SELECT 1 FROM publish_queue q WHERE q.story_id = items.id);
