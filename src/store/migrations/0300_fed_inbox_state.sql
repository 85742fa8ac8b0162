-- Inbound Fediverse state (engineer range 0300-0399).

-- Activity ids the inbox has already handled: a replayed or re-delivered
-- activity is acknowledged (202) and not acted on again. The library checks
-- that an activity id is on its actor's domain, so one sender cannot claim
-- another's ids. received_at is Unix milliseconds (UTC).
CREATE TABLE fed_inbox_seen (
    activity_id TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX fed_inbox_seen_age ON fed_inbox_seen (received_at);

-- Every Follow id a follower has sent us: an Undo may name any of them, not
-- only the latest (fed_followers.follow_id).
CREATE TABLE fed_follows (
    follow_id  TEXT PRIMARY KEY NOT NULL,
    actor_id   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX fed_follows_actor ON fed_follows (actor_id);
