-- Times stored one way (store::time, see 1200): seen_items.first_seen from
-- Unix seconds to Unix milliseconds, UTC, like every other stored time. The
-- column is INTEGER already, so no rebuild: each value times 1000 (exact;
-- the seconds had no fraction). The index on first_seen keeps its order.
-- A row grows by about 2 B (an integer of 6 bytes instead of 4), in the
-- table and again in the index.
UPDATE seen_items SET first_seen = first_seen * 1000;
