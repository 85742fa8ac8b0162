-- The feed's own categories of an item (JSON array): item hashtags for posts.
ALTER TABLE items ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';

-- Set when the operator removes a published story (its page answers 410).
ALTER TABLE stories ADD COLUMN removed_at TEXT;
