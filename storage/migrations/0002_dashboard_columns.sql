-- Schema version 2: what the dashboard counts without reading every case body.
-- channel: 相談経路 (intake.channel); plan_made_on: the day a plan counts for (plan.made_on, else the
-- 受付日), NULL when the case has no plan; meetings_done: the case's meeting records, NULL when it
-- has none (so counting meetings reads only cases that had one). Existing rows are filled from their
-- bodies here; new saves fill them in the app.

ALTER TABLE cases ADD COLUMN channel text COLLATE "C";
ALTER TABLE cases ADD COLUMN plan_made_on text COLLATE "C";
ALTER TABLE cases ADD COLUMN meetings_done jsonb;

UPDATE cases SET
    channel = CASE WHEN jsonb_typeof(body -> 'intake' -> 'channel') = 'string'
                   THEN body -> 'intake' ->> 'channel' END,
    plan_made_on = CASE WHEN jsonb_typeof(body -> 'plan') = 'object' AND body -> 'plan' <> '{}'::jsonb
                        THEN COALESCE(NULLIF(CASE WHEN jsonb_typeof(body -> 'plan' -> 'made_on') = 'string'
                                                  THEN body -> 'plan' ->> 'made_on' END, ''), received_on) END,
    meetings_done = CASE WHEN jsonb_typeof(body -> 'meetings_done') = 'array' AND body -> 'meetings_done' <> '[]'::jsonb
                         THEN body -> 'meetings_done' END;

CREATE INDEX cases_plan_made_on ON cases (plan_made_on) WHERE plan_made_on IS NOT NULL;
CREATE INDEX cases_meetings_done ON cases (id) WHERE meetings_done IS NOT NULL;
