-- Schema version 8: what the impact preview (engine/changes/impact.py) reads, as columns, so it
-- does not read the case bodies (the stored decision's explanations are most of a body):
--   intake: the case's intake as stored (NULL without one);
--   decision_digest: the stored decision's programs', agencies' and meetings' ids, its priority and
--   the rules that fired (storage/case_fields.decision_digest), NULL without a decision.
-- Existing rows are filled here; new saves fill them in the app.

ALTER TABLE cases ADD COLUMN intake jsonb;
ALTER TABLE cases ADD COLUMN decision_digest jsonb;

CREATE FUNCTION pg_temp.id_list(items jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_agg(x ORDER BY n), '[]'::jsonb) FROM (
        SELECT CASE WHEN jsonb_typeof(i) = 'object' AND jsonb_typeof(i -> 'id') = 'string' THEN i -> 'id'
                    WHEN jsonb_typeof(i) = 'string' THEN i END AS x, n
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]'::jsonb END)
             WITH ORDINALITY AS t(i, n)) s
    WHERE x IS NOT NULL
$$;

UPDATE cases SET
    intake = body -> 'intake',
    decision_digest = CASE WHEN jsonb_typeof(body -> 'decision') = 'object' AND body -> 'decision' <> '{}'::jsonb THEN
        jsonb_build_object(
            'programs', pg_temp.id_list(body -> 'decision' -> 'programs'),
            'agencies', pg_temp.id_list(body -> 'decision' -> 'agencies'),
            'meetings', pg_temp.id_list(body -> 'decision' -> 'meetings'),
            'priority', COALESCE(body -> 'decision' -> 'priority', 'null'::jsonb),
            'rules', COALESCE((SELECT jsonb_agg(COALESCE(t -> 'rule', 'null'::jsonb) ORDER BY n)
                               FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body -> 'decision' -> 'trace') = 'array'
                                                              THEN body -> 'decision' -> 'trace' ELSE '[]'::jsonb END)
                                    WITH ORDINALITY AS e(t, n)
                               WHERE jsonb_typeof(t) = 'object'), '[]'::jsonb))
    END;
