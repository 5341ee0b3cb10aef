-- Distribution key, bounded totals and the entry id registry (see the PostgreSQL migration
-- of the same name for why).
--
-- SQLite cannot change a primary key or add a CHECK constraint in place, so the tables are
-- rebuilt: create the new table, copy, drop the old one, rename, recreate its indexes.
-- Foreign keys stay on (the migration runs in a transaction, where they cannot be turned
-- off), so the order matters: a new child table references the new parent table under its
-- temporary name before any old table is dropped (dropping a parent deletes its rows, which
-- would cascade into any child still naming it), and renaming the parent rewrites the
-- child's reference to the final name.

CREATE TABLE expenses_new (
    group_id       TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    description    TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    split          TEXT NOT NULL,
    category       TEXT,
    payment_method TEXT,
    occurred_on    TEXT NOT NULL,
    notes          TEXT,
    metadata       TEXT,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        BIGINT NOT NULL,
    CONSTRAINT expenses_pkey PRIMARY KEY (group_id, id)
);
INSERT INTO expenses_new (group_id, id, description, amount, currency, split, category,
        payment_method, occurred_on, notes, metadata, created_by, created_at, updated_at,
        version)
    SELECT group_id, id, description, amount, currency, split, category, payment_method,
        occurred_on, notes, metadata, created_by, created_at, updated_at, version
    FROM expenses;

CREATE TABLE expense_participants_new (
    group_id   TEXT NOT NULL,
    expense_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    paid       BIGINT NOT NULL CHECK (paid >= 0),
    owed       BIGINT NOT NULL CHECK (owed >= 0),
    payer      INTEGER NOT NULL,
    sharer     INTEGER NOT NULL,
    CONSTRAINT expense_participants_pkey PRIMARY KEY (group_id, expense_id, user_id),
    CONSTRAINT expense_participants_expense_fkey FOREIGN KEY (group_id, expense_id)
        REFERENCES expenses_new (group_id, id) ON DELETE CASCADE
);
INSERT INTO expense_participants_new
    SELECT group_id, expense_id, user_id, paid, owed, payer, sharer FROM expense_participants;

DROP TABLE expense_participants;
DROP TABLE expenses;
ALTER TABLE expenses_new RENAME TO expenses;
ALTER TABLE expense_participants_new RENAME TO expense_participants;
CREATE INDEX expenses_list_idx
    ON expenses (group_id, occurred_on DESC, created_at DESC, id DESC);
CREATE INDEX expense_participants_user_idx
    ON expense_participants (group_id, user_id, expense_id);

CREATE TABLE settlements_new (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    from_user   TEXT NOT NULL,
    to_user     TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    note        TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT settlements_pkey PRIMARY KEY (group_id, id)
);
INSERT INTO settlements_new (group_id, id, from_user, to_user, amount, currency,
        occurred_on, note, created_by, created_at)
    SELECT group_id, id, from_user, to_user, amount, currency, occurred_on, note, created_by,
        created_at
    FROM settlements;
DROP TABLE settlements;
ALTER TABLE settlements_new RENAME TO settlements;
CREATE INDEX settlements_list_idx
    ON settlements (group_id, occurred_on DESC, created_at DESC, id DESC);

CREATE TABLE activity_new (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at        INTEGER NOT NULL,
    details   TEXT NOT NULL,
    CONSTRAINT activity_pkey PRIMARY KEY (group_id, id)
);
INSERT INTO activity_new (group_id, id, actor, action, entity, entity_id, at, details)
    SELECT group_id, id, actor, action, entity, entity_id, at, details FROM activity;
DROP TABLE activity;
ALTER TABLE activity_new RENAME TO activity;
CREATE INDEX activity_list_idx ON activity (group_id, at DESC, id DESC);

CREATE TABLE member_totals_new (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    currency TEXT NOT NULL,
    paid     BIGINT NOT NULL,
    owed     BIGINT NOT NULL,
    sent     BIGINT NOT NULL,
    received BIGINT NOT NULL,
    CONSTRAINT member_totals_pkey PRIMARY KEY (group_id, user_id, currency),
    CONSTRAINT member_totals_within_limit CHECK (
        paid BETWEEN -1000000000000000000 AND 1000000000000000000
        AND owed BETWEEN -1000000000000000000 AND 1000000000000000000
        AND sent BETWEEN -1000000000000000000 AND 1000000000000000000
        AND received BETWEEN -1000000000000000000 AND 1000000000000000000
    )
);
INSERT INTO member_totals_new (group_id, user_id, currency, paid, owed, sent, received)
    SELECT group_id, user_id, currency, paid, owed, sent, received FROM member_totals;
DROP TABLE member_totals;
ALTER TABLE member_totals_new RENAME TO member_totals;
CREATE INDEX member_totals_user_idx ON member_totals (user_id);

CREATE TABLE pair_totals_new (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    CONSTRAINT pair_totals_pkey PRIMARY KEY (group_id, currency, a, b),
    CONSTRAINT pair_totals_within_limit CHECK (
        amount BETWEEN -1000000000000000000 AND 1000000000000000000
    )
);
INSERT INTO pair_totals_new (group_id, currency, a, b, amount)
    SELECT group_id, currency, a, b, amount FROM pair_totals;
DROP TABLE pair_totals;
ALTER TABLE pair_totals_new RENAME TO pair_totals;

CREATE TABLE entry_ids (
    id          TEXT CONSTRAINT entry_ids_pkey PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('expense', 'settlement')),
    fingerprint TEXT NOT NULL
);
CREATE INDEX entry_ids_group_idx ON entry_ids (group_id);

INSERT INTO entry_ids (id, group_id, kind, fingerprint)
    SELECT id, group_id, 'expense', '' FROM expenses;
INSERT INTO entry_ids (id, group_id, kind, fingerprint)
    SELECT id, group_id, 'settlement', '' FROM settlements;
