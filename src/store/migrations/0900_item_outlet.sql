-- The outlet credited for an item (its own <source>, else its link's site,
-- else the feed's name on the feed's own site), decided at ingest.
-- NULL on rows stored before this migration: readers derive it from the
-- link and the feed (item::credit without the entry's <source>).
ALTER TABLE items ADD COLUMN outlet TEXT;
