-- Times stored one way (store::time, see 1200): the stories' times,
-- converted from RFC 3339 TEXT to INTEGER Unix milliseconds, UTC, with the
-- same exact conversion as 1200 (NULL stays NULL). The table is rebuilt so
-- the columns have INTEGER affinity; nothing references stories and it has
-- no triggers.

CREATE TABLE stories_ms (
    id           TEXT PRIMARY KEY NOT NULL,
    lead_item_id TEXT NOT NULL,
    created_at   INTEGER NOT NULL,      -- Unix ms
    fingerprint  TEXT NOT NULL,
    removed_at   INTEGER,               -- Unix ms: removed by the operator
    posted_at    INTEGER                -- Unix ms: published (the posting cap counts these)
);
INSERT INTO stories_ms (id, lead_item_id, created_at, fingerprint, removed_at, posted_at)
SELECT id, lead_item_id,
       CAST(strftime('%s', substr(created_at, 1, 19) || ltrim(substr(created_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(created_at, 20, 1) = '.'
                THEN CAST(substr(substr(created_at, 21, length(created_at) - 20 - length(ltrim(substr(created_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       fingerprint,
       CAST(strftime('%s', substr(removed_at, 1, 19) || ltrim(substr(removed_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(removed_at, 20, 1) = '.'
                THEN CAST(substr(substr(removed_at, 21, length(removed_at) - 20 - length(ltrim(substr(removed_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       CAST(strftime('%s', substr(posted_at, 1, 19) || ltrim(substr(posted_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(posted_at, 20, 1) = '.'
                THEN CAST(substr(substr(posted_at, 21, length(posted_at) - 20 - length(ltrim(substr(posted_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
FROM stories;
DROP TABLE stories;
ALTER TABLE stories_ms RENAME TO stories;
CREATE INDEX stories_by_created ON stories (created_at DESC);
CREATE INDEX stories_by_posted ON stories (posted_at) WHERE posted_at IS NOT NULL;
