-- Schema version 4: who consented, as a small column (storage/case_fields.consent_marks), so the
-- visibility check of a case routed to a confidential meeting reads no case body (reading the
-- JSONB body made the ケース一覧 and the dashboard 40 times slower). Existing rows are filled here.

ALTER TABLE cases ADD COLUMN consents jsonb NOT NULL DEFAULT '{}';

UPDATE cases SET consents = jsonb_build_object('top', body -> 'intake' -> 'consent')
    || COALESCE((SELECT jsonb_object_agg('g:' || k, v -> 'consent')
                 FROM jsonb_each(CASE WHEN jsonb_typeof(body -> 'intake') = 'object' THEN body -> 'intake' ELSE '{}'::jsonb END) AS e(k, v)
                 WHERE jsonb_typeof(v) = 'object' AND v ? 'consent'), '{}'::jsonb)
    || COALESCE((SELECT jsonb_object_agg('l:' || k, NOT EXISTS (
                     SELECT 1 FROM jsonb_array_elements(v) AS r
                     WHERE jsonb_typeof(r) = 'object'
                       AND COALESCE(r -> 'concerns', 'null'::jsonb) NOT IN ('null', 'false', '[]', '{}', '""', '0')
                       AND r -> 'consent' IS DISTINCT FROM '"yes"'::jsonb))
                 FROM jsonb_each(CASE WHEN jsonb_typeof(body -> 'intake') = 'object' THEN body -> 'intake' ELSE '{}'::jsonb END) AS e(k, v)
                 WHERE jsonb_typeof(v) = 'array'), '{}'::jsonb);
