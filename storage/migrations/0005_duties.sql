-- Schema version 5: what the case list's 期限 and 「自分」 filters and 今日やること read
-- (engine/casework/duties.py), as small columns, so they are asked in SQL:
--   status_since: the day the case entered its status (its 受付日 for an old record), a date or NULL;
--   referral_due: the earliest due day, as written, of its referrals still pending, or NULL;
--   owner_worker, owner_agency: the 主担当.
-- Existing rows are filled from their bodies here (a status start that is not a YYYY-MM-DD day is
-- left NULL, as Python reads no limit from it); new saves fill them in the app.

ALTER TABLE cases ADD COLUMN status_since date;
ALTER TABLE cases ADD COLUMN referral_due text COLLATE "C";
ALTER TABLE cases ADD COLUMN owner_worker text COLLATE "C";
ALTER TABLE cases ADD COLUMN owner_agency text COLLATE "C";

CREATE FUNCTION pg_temp.day(text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN $1 ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN to_date($1, 'YYYY-MM-DD') END;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

UPDATE cases SET
    status_since = pg_temp.day(left(COALESCE(NULLIF(CASE WHEN jsonb_typeof(body -> 'status_since') = 'string'
                                                         THEN body ->> 'status_since' END, ''), received_on), 10)),
    referral_due = (SELECT min((r ->> 'due') COLLATE "C") FROM jsonb_array_elements(CASE WHEN jsonb_typeof(body -> 'referrals') = 'array'
                                                                           THEN body -> 'referrals' ELSE '[]'::jsonb END) r
                    WHERE jsonb_typeof(r) = 'object' AND r -> 'state' = '"pending"'::jsonb
                      AND jsonb_typeof(r -> 'due') = 'string' AND r ->> 'due' <> ''),
    owner_worker = CASE WHEN jsonb_typeof(body -> 'owner' -> 'worker') = 'string' THEN body -> 'owner' ->> 'worker' END,
    owner_agency = CASE WHEN jsonb_typeof(body -> 'owner' -> 'agency') = 'string' THEN body -> 'owner' ->> 'agency' END;

CREATE INDEX cases_status_since ON cases (status, status_since);
CREATE INDEX cases_referral_due ON cases (referral_due) WHERE referral_due IS NOT NULL;
CREATE INDEX cases_owner_worker ON cases (owner_worker);
CREATE INDEX cases_owner_agency ON cases (owner_agency);
