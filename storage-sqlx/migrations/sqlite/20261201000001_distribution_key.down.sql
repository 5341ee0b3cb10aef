-- Back to the initial schema (ids unique on their own again: the registry guaranteed it),
-- with the same rebuild order as the up migration.

DROP TABLE entry_ids;

CREATE TABLE expenses_old (
    id             TEXT PRIMARY KEY,
    group_id       TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
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
    CONSTRAINT expenses_group_id_key UNIQUE (group_id, id)
);
INSERT INTO expenses_old (id, group_id, description, amount, currency, split, category,
        payment_method, occurred_on, notes, metadata, created_by, created_at, updated_at,
        version)
    SELECT id, group_id, description, amount, currency, split, category, payment_method,
        occurred_on, notes, metadata, created_by, created_at, updated_at, version
    FROM expenses;
CREATE TABLE expense_participants_old (
    group_id   TEXT NOT NULL,
    expense_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    paid       BIGINT NOT NULL CHECK (paid >= 0),
    owed       BIGINT NOT NULL CHECK (owed >= 0),
    payer      INTEGER NOT NULL,
    sharer     INTEGER NOT NULL,
    CONSTRAINT expense_participants_pkey PRIMARY KEY (group_id, expense_id, user_id),
    FOREIGN KEY (group_id, expense_id) REFERENCES expenses_old (group_id, id) ON DELETE CASCADE
);
INSERT INTO expense_participants_old
    SELECT group_id, expense_id, user_id, paid, owed, payer, sharer FROM expense_participants;
DROP TABLE expense_participants;
DROP TABLE expenses;
ALTER TABLE expenses_old RENAME TO expenses;
ALTER TABLE expense_participants_old RENAME TO expense_participants;
CREATE INDEX expenses_list_idx
    ON expenses (group_id, occurred_on DESC, created_at DESC, id DESC);
CREATE INDEX expense_participants_user_idx
    ON expense_participants (group_id, user_id, expense_id);

CREATE TABLE settlements_old (
    id          TEXT PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    from_user   TEXT NOT NULL,
    to_user     TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    note        TEXT,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
INSERT INTO settlements_old (id, group_id, from_user, to_user, amount, currency,
        occurred_on, note, created_by, created_at)
    SELECT id, group_id, from_user, to_user, amount, currency, occurred_on, note, created_by,
        created_at
    FROM settlements;
DROP TABLE settlements;
ALTER TABLE settlements_old RENAME TO settlements;
CREATE INDEX settlements_list_idx
    ON settlements (group_id, occurred_on DESC, created_at DESC, id DESC);

CREATE TABLE activity_old (
    id        TEXT PRIMARY KEY,
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at        INTEGER NOT NULL,
    details   TEXT NOT NULL
);
INSERT INTO activity_old (id, group_id, actor, action, entity, entity_id, at, details)
    SELECT id, group_id, actor, action, entity, entity_id, at, details FROM activity;
DROP TABLE activity;
ALTER TABLE activity_old RENAME TO activity;
CREATE INDEX activity_list_idx ON activity (group_id, at DESC, id DESC);

CREATE TABLE member_totals_old (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    currency TEXT NOT NULL,
    paid     BIGINT NOT NULL,
    owed     BIGINT NOT NULL,
    sent     BIGINT NOT NULL,
    received BIGINT NOT NULL,
    CONSTRAINT member_totals_pkey PRIMARY KEY (group_id, user_id, currency)
);
INSERT INTO member_totals_old SELECT group_id, user_id, currency, paid, owed, sent, received
    FROM member_totals;
DROP TABLE member_totals;
ALTER TABLE member_totals_old RENAME TO member_totals;
CREATE INDEX member_totals_user_idx ON member_totals (user_id);

CREATE TABLE pair_totals_old (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    CONSTRAINT pair_totals_pkey PRIMARY KEY (group_id, currency, a, b)
);
INSERT INTO pair_totals_old SELECT group_id, currency, a, b, amount FROM pair_totals;
DROP TABLE pair_totals;
ALTER TABLE pair_totals_old RENAME TO pair_totals;
