-- Back to the initial schema: ids unique on their own again (the registry guaranteed it).

DROP TABLE entry_ids;

ALTER TABLE pair_totals DROP CONSTRAINT pair_totals_within_limit;
ALTER TABLE member_totals DROP CONSTRAINT member_totals_within_limit;

ALTER TABLE activity DROP CONSTRAINT activity_pkey;
ALTER TABLE activity ADD CONSTRAINT activity_pkey PRIMARY KEY (id);

ALTER TABLE settlements DROP CONSTRAINT settlements_pkey;
ALTER TABLE settlements ADD CONSTRAINT settlements_pkey PRIMARY KEY (id);

ALTER TABLE expense_participants DROP CONSTRAINT expense_participants_expense_fkey;
ALTER TABLE expenses DROP CONSTRAINT expenses_pkey;
ALTER TABLE expenses ADD CONSTRAINT expenses_pkey PRIMARY KEY (id);
ALTER TABLE expenses ADD CONSTRAINT expenses_group_id_key UNIQUE (group_id, id);
ALTER TABLE expense_participants
    ADD CONSTRAINT expense_participants_group_id_expense_id_fkey FOREIGN KEY (group_id, expense_id)
    REFERENCES expenses (group_id, id) ON DELETE CASCADE;
