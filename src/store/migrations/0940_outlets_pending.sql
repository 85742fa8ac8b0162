-- Outlets that joined a published story within the hour after its last
-- outlets Update (issue 15): the story remembers, from when, that its Note
-- does not list them yet, and the release tick sends one Update for all of
-- them once the hour has passed. In the store, so a restart loses none.
ALTER TABLE feed_entries ADD COLUMN outlets_pending_since TEXT;
CREATE INDEX feed_entries_outlets_pending ON feed_entries (outlets_pending_since)
    WHERE outlets_pending_since IS NOT NULL;
