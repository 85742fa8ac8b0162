-- Why an item joined its story: the matcher's shared entities, numbers and
-- similarity, as one line (issue 15). NULL for items that started a story.
ALTER TABLE items ADD COLUMN story_reasons TEXT;
-- When followers last got an Update adding outlets to the story's Note
-- (at most one per story per hour).
ALTER TABLE feed_entries ADD COLUMN outlets_updated_at TEXT;
