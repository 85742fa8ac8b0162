-- Times stored one way: INTEGER Unix milliseconds, UTC (store::time), as the
-- fed_* tables always did. This migration converts publish_queue.
--
-- The old values are RFC 3339 TEXT as sqlx wrote a DateTime<Utc>
-- ('2026-11-30T01:22:23.123456+00:00'; 'Z' also read), converted exactly to
-- the millisecond: whole seconds from strftime('%s') on the text without its
-- fraction (the offset kept), plus the first three fraction digits
-- (sub-millisecond digits dropped, as the Rust codec drops them). A value
-- that does not parse becomes NULL and fails NOT NULL: the migration stops
-- rather than inventing a time.
--
-- A column keeps the affinity it was declared with (TEXT would turn an
-- integer back into text), so the table is rebuilt: new table, copy with
-- conversion, drop, rename, indexes again. publish_queue has no foreign keys
-- and no triggers.

CREATE TABLE publish_queue_ms (
    story_id  TEXT PRIMARY KEY NOT NULL,
    lead_date INTEGER NOT NULL,           -- Unix ms: the lead item's own date (future dates: first seen)
    queued_at INTEGER NOT NULL,           -- Unix ms
    state     TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'stale')),
    stale_at  INTEGER                     -- Unix ms
);

INSERT INTO publish_queue_ms (story_id, lead_date, queued_at, state, stale_at)
SELECT story_id,
       CAST(strftime('%s', substr(lead_date, 1, 19) || ltrim(substr(lead_date, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(lead_date, 20, 1) = '.'
                THEN CAST(substr(substr(lead_date, 21, length(lead_date) - 20 - length(ltrim(substr(lead_date, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(queued_at, 1, 19) || ltrim(substr(queued_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(queued_at, 20, 1) = '.'
                THEN CAST(substr(substr(queued_at, 21, length(queued_at) - 20 - length(ltrim(substr(queued_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       state,
       CASE WHEN stale_at IS NULL THEN NULL ELSE
       CAST(strftime('%s', substr(stale_at, 1, 19) || ltrim(substr(stale_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(stale_at, 20, 1) = '.'
                THEN CAST(substr(substr(stale_at, 21, length(stale_at) - 20 - length(ltrim(substr(stale_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
       END
FROM publish_queue;

DROP TABLE publish_queue;
ALTER TABLE publish_queue_ms RENAME TO publish_queue;
CREATE INDEX publish_queue_by_state ON publish_queue (state, lead_date, queued_at);
