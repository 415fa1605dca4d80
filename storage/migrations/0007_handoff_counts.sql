-- Schema version 7: what the dashboard's つなぎ counts and the overrides (推薦を変えた回数) read
-- (storage/case_fields.pending_referrals, confirmed_latest), so only cases that can count are read:
--   pending_referrals: how many referrals wait for an answer;
--   confirmed_latest: the latest day, as written, of the confirmed routing and its changes ("~" for
--   a day that is not text, NULL without a confirmed routing).
-- Existing rows are filled here; new saves fill them in the app.

ALTER TABLE cases ADD COLUMN pending_referrals integer NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN confirmed_latest text COLLATE "C";

UPDATE cases SET pending_referrals = (
    SELECT count(*) FROM jsonb_array_elements(body -> 'referrals') r
     WHERE jsonb_typeof(r) = 'object' AND r -> 'state' = '"pending"'::jsonb)
WHERE jsonb_typeof(body -> 'referrals') = 'array';

UPDATE cases SET confirmed_latest = (
    SELECT COALESCE(max(CASE WHEN jsonb_typeof(d) = 'string' THEN (d #>> '{}') COLLATE "C"
                             WHEN d IS NULL OR d IN ('null', 'false', '0', '""', '[]', '{}') THEN ''
                             ELSE '~' END), '')
    FROM (SELECT body -> 'confirmed' -> 'on' AS d
          UNION ALL
          SELECT c -> 'on' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body -> 'confirmed' -> 'changes') = 'array'
                                                          THEN body -> 'confirmed' -> 'changes' ELSE '[]'::jsonb END) c
           WHERE jsonb_typeof(c) = 'object') days)
WHERE jsonb_typeof(body -> 'confirmed') = 'object' AND body -> 'confirmed' <> '{}'::jsonb;

CREATE INDEX cases_pending_referrals ON cases (id) WHERE pending_referrals > 0;
CREATE INDEX cases_confirmed_latest ON cases (confirmed_latest) WHERE confirmed_latest IS NOT NULL;
