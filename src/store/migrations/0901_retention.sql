-- Retention ([storage] retain): unpublished items older than retain lose
-- their text; `pruned_at` marks them so the pass never looks at them again,
-- and the partial index keeps the pass from scanning the whole table.
ALTER TABLE items ADD COLUMN pruned_at TEXT;
CREATE INDEX items_unpruned_by_seen ON items (first_seen_at) WHERE pruned_at IS NULL;
-- Cached article pages expire by age.
CREATE INDEX article_pages_by_fetched ON article_pages (fetched_at);
-- Finished deliveries (delivered, refused, dead) pruned by age; the worker's index covers only pending.
CREATE INDEX fed_deliveries_finished ON fed_deliveries (created_at) WHERE status IN ('delivered', 'failed', 'dead');
-- Counts by status (/metrics, the dashboard) read this index, not the rows.
CREATE INDEX fed_deliveries_by_status ON fed_deliveries (status);
