-- Off-topic items keep a compact decision (decision, score, reasons); the full
-- explanation JSON is kept for published items only and rebuilt on demand
-- (`feedwatch score`, the dashboard's playground) for the others.
UPDATE items SET explanation = NULL WHERE decision = 'skip';
