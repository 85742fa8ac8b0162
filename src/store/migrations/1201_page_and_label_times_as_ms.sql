-- Times stored one way (store::time, see 1200): article_pages and
-- item_labels, converted from RFC 3339 TEXT to INTEGER Unix milliseconds,
-- UTC, with the same exact conversion as 1200 (whole seconds with the offset
-- applied, plus the first three fraction digits; a value that does not parse
-- fails NOT NULL and stops the migration). Tables rebuilt, so the columns
-- have INTEGER affinity.

CREATE TABLE article_pages_ms (
    url        TEXT PRIMARY KEY NOT NULL,
    fetched_at INTEGER NOT NULL,          -- Unix ms
    status     INTEGER,
    main_text  TEXT
);
INSERT INTO article_pages_ms (url, fetched_at, status, main_text)
SELECT url,
       CAST(strftime('%s', substr(fetched_at, 1, 19) || ltrim(substr(fetched_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(fetched_at, 20, 1) = '.'
                THEN CAST(substr(substr(fetched_at, 21, length(fetched_at) - 20 - length(ltrim(substr(fetched_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END,
       status, main_text
FROM article_pages;
DROP TABLE article_pages;
ALTER TABLE article_pages_ms RENAME TO article_pages;
CREATE INDEX article_pages_by_fetched ON article_pages (fetched_at);

-- item_labels references items (nothing references it): the rows keep their
-- seq, and the AUTOINCREMENT counter carries over, so a seq is never reused.
CREATE TABLE item_labels_ms (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    label       INTEGER NOT NULL CHECK (label IN (0, 1, 2)),
    labelled_by TEXT NOT NULL,
    labelled_at INTEGER NOT NULL          -- Unix ms
);
INSERT INTO item_labels_ms (seq, item_id, label, labelled_by, labelled_at)
SELECT seq, item_id, label, labelled_by,
       CAST(strftime('%s', substr(labelled_at, 1, 19) || ltrim(substr(labelled_at, 20), '.0123456789')) AS INTEGER) * 1000
         + CASE WHEN substr(labelled_at, 20, 1) = '.'
                THEN CAST(substr(substr(labelled_at, 21, length(labelled_at) - 20 - length(ltrim(substr(labelled_at, 21), '0123456789'))) || '000', 1, 3) AS INTEGER)
                ELSE 0 END
FROM item_labels;
DELETE FROM sqlite_sequence WHERE name = 'item_labels_ms';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'item_labels_ms', seq FROM sqlite_sequence WHERE name = 'item_labels';
DROP TABLE item_labels;
ALTER TABLE item_labels_ms RENAME TO item_labels;
CREATE INDEX item_labels_by_item ON item_labels (item_id, seq DESC);
