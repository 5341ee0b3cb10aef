-- Distribution key, bounded totals and the entry id registry.
--
-- Every group-scoped table gets a primary key that starts with group_id (a distributed
-- PostgreSQL such as Citus shards by it and refuses a primary key without it), and the
-- foreign keys that name those rows become composite. Running totals gain CHECK bounds of
-- ±10^18 minor units (the store maps a violation to `Overflow`; the constraints are named
-- `*_within_limit` for that). Entry ids become global: clients may choose them, and the
-- registry tells a replay (same group) from a reuse (another group).

ALTER TABLE expense_participants
    DROP CONSTRAINT expense_participants_group_id_expense_id_fkey;
ALTER TABLE expenses DROP CONSTRAINT expenses_group_id_key;
ALTER TABLE expenses DROP CONSTRAINT expenses_pkey;
ALTER TABLE expenses ADD CONSTRAINT expenses_pkey PRIMARY KEY (group_id, id);
ALTER TABLE expense_participants
    ADD CONSTRAINT expense_participants_expense_fkey FOREIGN KEY (group_id, expense_id)
    REFERENCES expenses (group_id, id) ON DELETE CASCADE;

ALTER TABLE settlements DROP CONSTRAINT settlements_pkey;
ALTER TABLE settlements ADD CONSTRAINT settlements_pkey PRIMARY KEY (group_id, id);

ALTER TABLE activity DROP CONSTRAINT activity_pkey;
ALTER TABLE activity ADD CONSTRAINT activity_pkey PRIMARY KEY (group_id, id);

ALTER TABLE member_totals ADD CONSTRAINT member_totals_within_limit CHECK (
    paid BETWEEN -1000000000000000000 AND 1000000000000000000
    AND owed BETWEEN -1000000000000000000 AND 1000000000000000000
    AND sent BETWEEN -1000000000000000000 AND 1000000000000000000
    AND received BETWEEN -1000000000000000000 AND 1000000000000000000
);
ALTER TABLE pair_totals ADD CONSTRAINT pair_totals_within_limit CHECK (
    amount BETWEEN -1000000000000000000 AND 1000000000000000000
);

-- Every entry id ever created, with its group, kind and the fingerprint of the request that
-- created it (empty for entries older than this table). Global by design: an id is unique
-- across groups.
CREATE TABLE entry_ids (
    id          UUID CONSTRAINT entry_ids_pkey PRIMARY KEY,
    group_id    UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('expense', 'settlement')),
    fingerprint TEXT NOT NULL
);
CREATE INDEX entry_ids_group_idx ON entry_ids (group_id);

INSERT INTO entry_ids (id, group_id, kind, fingerprint)
    SELECT id, group_id, 'expense', '' FROM expenses;
INSERT INTO entry_ids (id, group_id, kind, fingerprint)
    SELECT id, group_id, 'settlement', '' FROM settlements;
