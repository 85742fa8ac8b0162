-- The entry's author(s) as the feed names them (`author:` in rules).
ALTER TABLE items ADD COLUMN author TEXT NOT NULL DEFAULT '';

-- The operator's labels of items: 2 relevant (core), 1 related, 0 not
-- relevant. Every labelling is kept with who and when; the latest per item
-- counts (`feedwatch labels export`, `eval --stored`).
CREATE TABLE item_labels (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id    TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    label      INTEGER NOT NULL CHECK (label IN (0, 1, 2)),
    labelled_by TEXT NOT NULL,
    labelled_at TEXT NOT NULL
);

CREATE INDEX item_labels_by_item ON item_labels (item_id, seq DESC);
