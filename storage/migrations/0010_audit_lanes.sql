-- Schema version 10: the audit chain in lanes (storage/pg_audit.py).
-- One head row serialised every change of every app instance: the head stays locked until the
-- change commits, so staff saving at once queued on it even though their changes touch different
-- cases. Now there are 16 heads (lanes), each the head of its own chain; an append takes the
-- lowest lane no one else holds (FOR UPDATE SKIP LOCKED), so a quiet office still writes one chain
-- (lane 0) and a busy one writes several side by side. Every lane is checked like the one chain
-- was (each entry's MAC covers its lane, its number in the lane and the MAC before it; each lane's
-- head catches a cut tail). pos keeps the order entries were written in, across lanes, for the
-- 監査ログ page and the backup.
-- Existing entries and the existing head become lane 0, unchanged: their MACs stay valid. Giving
-- them their pos rewrites each audit row once, at this upgrade only.

ALTER TABLE audit_head DROP CONSTRAINT audit_head_pkey;
ALTER TABLE audit_head DROP COLUMN one;
ALTER TABLE audit_head ADD COLUMN lane smallint NOT NULL DEFAULT 0 PRIMARY KEY;
INSERT INTO audit_head (lane, seq, hash) SELECT n, 0, repeat('0', 64) FROM generate_series(0, 15) AS n
    ON CONFLICT (lane) DO NOTHING;
ALTER TABLE audit_head ALTER COLUMN lane DROP DEFAULT;

ALTER TABLE audit DROP CONSTRAINT audit_pkey;
ALTER TABLE audit ADD COLUMN lane smallint NOT NULL DEFAULT 0;
ALTER TABLE audit ADD PRIMARY KEY (lane, seq);
ALTER TABLE audit ADD COLUMN pos bigint;
UPDATE audit SET pos = seq;
CREATE SEQUENCE audit_pos_seq OWNED BY audit.pos;
SELECT setval('audit_pos_seq', COALESCE(MAX(pos), 0) + 1, false) FROM audit;
ALTER TABLE audit ALTER COLUMN pos SET DEFAULT nextval('audit_pos_seq'), ALTER COLUMN pos SET NOT NULL;
CREATE UNIQUE INDEX audit_pos ON audit (pos);
