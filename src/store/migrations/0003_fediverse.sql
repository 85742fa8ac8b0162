-- Fediverse state. Times are Unix milliseconds (UTC) so due-row scans are integer compares.

-- Remote actors that follow the bot. Deliveries go to COALESCE(shared_inbox, inbox).
CREATE TABLE fed_followers (
    actor_id     TEXT PRIMARY KEY NOT NULL,
    inbox        TEXT NOT NULL,
    shared_inbox TEXT,
    follow_id    TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX fed_followers_target ON fed_followers (COALESCE(shared_inbox, inbox));

-- Cache of fetched remote actors (their keys verify inbox signatures without a fetch per request).
CREATE TABLE fed_remote_actors (
    id             TEXT PRIMARY KEY NOT NULL,
    inbox          TEXT NOT NULL,
    shared_inbox   TEXT,
    public_key_pem TEXT NOT NULL,
    fetched_at     INTEGER NOT NULL
);

-- Current state of each published Note; deleted_at set = served as a 410 Tombstone.
CREATE TABLE fed_notes (
    story_id     TEXT PRIMARY KEY NOT NULL,
    note_id      TEXT NOT NULL UNIQUE,
    create_id    TEXT NOT NULL,
    json         TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    updated_at   INTEGER,
    deleted_at   INTEGER
);
CREATE INDEX fed_notes_outbox ON fed_notes (published_at DESC) WHERE deleted_at IS NULL;

-- Every activity the bot sent (Create, Update, Delete, Accept), exactly as delivered.
CREATE TABLE fed_activities (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    object_id  TEXT,
    json       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The persistent delivery queue: one row per (activity, channel, target).
-- channel 'activitypub': target = inbox URL, body = the activity JSON (signed at send time).
-- channel 'mastodon_api': target = instance URL, payload = the status JSON.
CREATE TABLE fed_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id     TEXT NOT NULL REFERENCES fed_activities (id),
    channel         TEXT NOT NULL CHECK (channel IN ('activitypub', 'mastodon_api')),
    target          TEXT NOT NULL,
    payload         TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    UNIQUE (activity_id, channel, target)
);
CREATE INDEX fed_deliveries_due ON fed_deliveries (next_attempt_at) WHERE status = 'pending';
