-- What the Fediverse says to the bot (engineer range 0910-0919): mentions
-- and replies kept for the operator, and Likes and Announces of our Notes.
-- Nothing here is ever answered automatically. Times are Unix milliseconds.

-- A remote post that mentions the bot, is addressed to it, or replies to one
-- of our Notes. content_html is sanitised before it is stored.
CREATE TABLE fed_mentions (
    activity_id  TEXT PRIMARY KEY NOT NULL,  -- the Create
    object_id    TEXT NOT NULL,              -- the remote Note
    actor_id     TEXT NOT NULL,
    url          TEXT,                       -- the original, for people
    content_html TEXT NOT NULL,
    in_reply_to  TEXT,                       -- our Note's id, when a reply
    story_id     TEXT,                       -- our story it replies to
    published_at INTEGER,
    received_at  INTEGER NOT NULL
);
CREATE INDEX fed_mentions_recent ON fed_mentions (received_at DESC);

-- One row per Like or Announce activity; an Undo deletes its row. A story's
-- count is its distinct actors per kind.
CREATE TABLE fed_reactions (
    activity_id TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('Like', 'Announce')),
    actor_id    TEXT NOT NULL,
    story_id    TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX fed_reactions_story ON fed_reactions (story_id, kind);
CREATE INDEX fed_reactions_actor ON fed_reactions (actor_id, kind, story_id);
