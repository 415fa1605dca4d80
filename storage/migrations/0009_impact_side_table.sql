-- Schema version 9: the impact preview's inputs (migration 0008's intake and decision_digest)
-- move out of cases into a side table, one row per case, written in the same transaction as the
-- case (storage/postgres_store.impact_row). Inline they doubled the cases table (68 → 143 MB at
-- 100,000 cases), and the dashboard's and the case list's scans read every page of it; only the
-- impact preview reads them, by joining on the id.
-- Existing rows are moved here, and cases is rewritten (CLUSTER, which a transaction allows) so
-- the dropped columns' space is given back at once rather than row by row as cases are saved; in
-- the case list's order (newest 受付日 first), close to the order cases were taken in.

CREATE TABLE case_impact (
    id              text COLLATE "C" PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    intake          jsonb,
    decision_digest jsonb
);

INSERT INTO case_impact (id, intake, decision_digest) SELECT id, intake, decision_digest FROM cases;

ALTER TABLE cases DROP COLUMN intake, DROP COLUMN decision_digest;
CLUSTER cases USING cases_received;
