-- Schema version 3: the hand-over (engine/casework/handoff.py) and login sessions.
--
-- programs, agencies, meetings now hold the routing that counts: the one a person confirmed
-- (body.confirmed), else the recommendation (body.decision), as the case list and the dashboard
-- read it. Two columns decide visibility (engine/casework/access.py) in SQL:
--   routed_meetings: meetings recommended or confirmed (a confidential one stays confidential);
--   seen_by: the routing's agencies, every referral's agency and the 主担当's agency.
-- Existing rows are filled from their bodies here; new saves fill them in the app
-- (storage/postgres_store.columns).
--
-- sessions: storage/sessions.py in the database (id = SHA-256 of the token), so a session
-- started on one app instance is known to another and disabling an account ends it everywhere.

ALTER TABLE cases ADD COLUMN routed_meetings text[] COLLATE "C" NOT NULL DEFAULT '{}';
ALTER TABLE cases ADD COLUMN seen_by text[] COLLATE "C" NOT NULL DEFAULT '{}';

CREATE FUNCTION pg_temp.ids(items jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(array_agg(x ORDER BY n), '{}') FROM (
        SELECT CASE WHEN jsonb_typeof(i) = 'object' AND jsonb_typeof(i -> 'id') = 'string' THEN i ->> 'id'
                    WHEN jsonb_typeof(i) = 'string' THEN i #>> '{}' END AS x, n
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]'::jsonb END)
             WITH ORDINALITY AS t(i, n)) s
    WHERE x IS NOT NULL
$$;

UPDATE cases SET
    programs = pg_temp.ids(routing -> 'programs'),
    agencies = pg_temp.ids(routing -> 'agencies'),
    meetings = pg_temp.ids(routing -> 'meetings'),
    routed_meetings = ARRAY(SELECT DISTINCT m FROM unnest(pg_temp.ids(body -> 'decision' -> 'meetings')
                                                          || pg_temp.ids(body -> 'confirmed' -> 'meetings')) m ORDER BY 1),
    seen_by = ARRAY(SELECT DISTINCT a FROM unnest(
        pg_temp.ids(routing -> 'agencies')
        || ARRAY(SELECT r ->> 'agency' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body -> 'referrals') = 'array'
                                                                    THEN body -> 'referrals' ELSE '[]'::jsonb END) r
                 WHERE jsonb_typeof(r -> 'agency') = 'string')
        || CASE WHEN jsonb_typeof(body -> 'owner' -> 'agency') = 'string' AND body -> 'owner' ->> 'agency' <> ''
                THEN ARRAY[body -> 'owner' ->> 'agency'] ELSE '{}'::text[] END) a ORDER BY 1)
FROM (SELECT id AS rid, CASE WHEN jsonb_typeof(body -> 'confirmed') = 'object' THEN body -> 'confirmed'
                             ELSE body -> 'decision' END AS routing FROM cases) r
WHERE cases.id = r.rid;

CREATE INDEX cases_routed_meetings ON cases USING gin (routed_meetings);
CREATE INDEX cases_seen_by ON cases USING gin (seen_by);

CREATE TABLE sessions (
    id   text PRIMARY KEY,
    body jsonb NOT NULL
);
