-- Times stored one way (store::time, see 1200): the feeds' fetch times,
-- converted from RFC 3339 TEXT to INTEGER Unix milliseconds, UTC, with the
-- same exact conversion as 1200. The table is rebuilt so the columns have
-- INTEGER affinity; nothing references feeds and it has no triggers.

CREATE TABLE feeds_ms (
    url             TEXT PRIMARY KEY NOT NULL,
    etag            TEXT,
    last_modified   TEXT,               -- the server's validator, kept verbatim
    last_fetch_at   INTEGER,            -- Unix ms
    last_success_at INTEGER,            -- Unix ms
    last_status     INTEGER,            -- HTTP status of the last answer, NULL if none
    last_outcome    TEXT,               -- ok | not_modified | error
    last_error      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,   -- consecutive failures; drives backoff
    total_errors    INTEGER NOT NULL DEFAULT 0,
    total_fetches   INTEGER NOT NULL DEFAULT 0,
    next_check_at   INTEGER,            -- Unix ms
    last_item_count INTEGER
);
INSERT INTO feeds_ms (url, etag, last_modified, last_fetch_at, last_success_at, last_status,
                      last_outcome, last_error, error_count, total_errors, total_fetches,
                      next_check_at, last_item_count)
SELECT url, etag, last_modified,
       CASE WHEN last_fetch_at IS NULL THEN NULL ELSE
       CAST(strftime('%s', substr(last_fetch_at, 1, 19) || ltrim(substr(last_fetch_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(last_fetch_at, 20, 1) = '.'
                THEN CAST(substr(substr(last_fetch_at, 21, length(last_fetch_at) - 20 - length(ltrim(substr(last_fetch_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
       END,
       CASE WHEN last_success_at IS NULL THEN NULL ELSE
       CAST(strftime('%s', substr(last_success_at, 1, 19) || ltrim(substr(last_success_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(last_success_at, 20, 1) = '.'
                THEN CAST(substr(substr(last_success_at, 21, length(last_success_at) - 20 - length(ltrim(substr(last_success_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
       END,
       last_status, last_outcome, last_error, error_count, total_errors, total_fetches,
       CASE WHEN next_check_at IS NULL THEN NULL ELSE
       CAST(strftime('%s', substr(next_check_at, 1, 19) || ltrim(substr(next_check_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(next_check_at, 20, 1) = '.'
                THEN CAST(substr(substr(next_check_at, 21, length(next_check_at) - 20 - length(ltrim(substr(next_check_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
       END,
       last_item_count
FROM feeds;
DROP TABLE feeds;
ALTER TABLE feeds_ms RENAME TO feeds;
