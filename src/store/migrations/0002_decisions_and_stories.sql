-- The relevance decision of each item, with its explanation, and the story
-- (cluster of items from several outlets) each published item belongs to.
ALTER TABLE items ADD COLUMN decision TEXT;          -- 'publish' | 'skip'; NULL: not evaluated
ALTER TABLE items ADD COLUMN score REAL;
ALTER TABLE items ADD COLUMN explanation TEXT;       -- JSON (matching::Explanation)
ALTER TABLE items ADD COLUMN reasons TEXT;           -- the explanation on one line
ALTER TABLE items ADD COLUMN story_id TEXT;
ALTER TABLE items ADD COLUMN fingerprint TEXT;       -- JSON (matching::StoryFingerprint)

-- One row per story; its lead item is the first published item of the story.
CREATE TABLE stories (
    id           TEXT PRIMARY KEY NOT NULL,
    lead_item_id TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL
);

CREATE INDEX stories_by_created ON stories (created_at DESC);
CREATE INDEX items_by_story ON items (story_id);
CREATE INDEX items_by_decision ON items (decision, published_at DESC);
