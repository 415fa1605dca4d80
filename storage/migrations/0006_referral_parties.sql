-- Schema version 6: who a case's referrals concern (storage/case_fields.referral_parties), so
-- 今日やること reads only the cases that can have something for the user: "to:<agency>" of each
-- pending referral, "by:<user>" and "from:<agency>" of every one. Existing rows are filled here.

ALTER TABLE cases ADD COLUMN referral_parties text[] COLLATE "C" NOT NULL DEFAULT '{}';

UPDATE cases SET referral_parties = ARRAY(
    SELECT DISTINCT p COLLATE "C" FROM (
        SELECT 'to:' || (r ->> 'agency') AS p FROM jsonb_array_elements(body -> 'referrals') r
         WHERE jsonb_typeof(r) = 'object' AND r -> 'state' = '"pending"'::jsonb
           AND jsonb_typeof(r -> 'agency') = 'string' AND r ->> 'agency' <> ''
        UNION ALL
        SELECT 'by:' || (r ->> 'sent_by') FROM jsonb_array_elements(body -> 'referrals') r
         WHERE jsonb_typeof(r) = 'object' AND jsonb_typeof(r -> 'sent_by') = 'string' AND r ->> 'sent_by' <> ''
        UNION ALL
        SELECT 'from:' || (r ->> 'from_agency') FROM jsonb_array_elements(body -> 'referrals') r
         WHERE jsonb_typeof(r) = 'object' AND jsonb_typeof(r -> 'from_agency') = 'string' AND r ->> 'from_agency' <> ''
    ) parties ORDER BY 1)
WHERE jsonb_typeof(body -> 'referrals') = 'array';

CREATE INDEX cases_referral_parties ON cases USING gin (referral_parties);
