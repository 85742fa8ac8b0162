-- The feed's own categories of an item (JSON array): item hashtags for posts.
ALTER TABLE items ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';
