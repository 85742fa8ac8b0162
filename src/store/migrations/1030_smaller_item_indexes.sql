-- Bytes per stored item (issue 13: at most 1 KB). Two indexes of `items`
-- that no query reads are dropped: `items_by_feed` (the feed URL repeated
-- once per item, ~90 bytes) and `items_by_decision`; items are read by id,
-- by story or newest first (`items_by_published`), and the admin pages
-- filter the newest items in memory. `items_by_story` keeps only the items
-- that belong to a story: the off-topic majority has none, and every query
-- of it asks for given story ids (`story_id = ?`, `story_id IN (...)`),
-- which SQLite answers from this partial index.
DROP INDEX IF EXISTS items_by_feed;
DROP INDEX IF EXISTS items_by_decision;
DROP INDEX IF EXISTS items_by_story;
CREATE INDEX items_by_story ON items (story_id) WHERE story_id IS NOT NULL;
