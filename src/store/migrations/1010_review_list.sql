-- The dashboard's Review list (issue 11 §6): skipped items scoring just
-- below the threshold are read as a range of this index, not by walking
-- every skipped item (held ones come from items_by_decision).
CREATE INDEX items_by_decision_score ON items (decision, score);
