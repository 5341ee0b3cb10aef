-- splitledger schema (SQLite).
-- Ids are lower-case hyphenated UUID text (byte order = UUID order, for keyset cursors);
-- timestamps are INTEGER unix microseconds (exact round trip, numeric order); dates are
-- 'YYYY-MM-DD' text; amounts are 64-bit INTEGER minor units; currencies 3-letter codes;
-- JSON is TEXT. Every group-scoped table carries group_id and cascades from groups (the
-- store turns foreign keys on). SQLite reports unique violations by table and column, not
-- by constraint name: the store maps those (users.email, members.*, invites.code).

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    email            TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    display_name     TEXT NOT NULL,
    default_currency TEXT,
    password_hash    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE sessions (
    digest     BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE login_failures (
    email   TEXT PRIMARY KEY,
    count   BIGINT NOT NULL,
    last_at INTEGER
);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Lower-cased by the store (Rust's Unicode rules), for the name filter.
    name_lower  TEXT NOT NULL,
    description TEXT,
    currency    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL REFERENCES users (id),
    role      TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at INTEGER NOT NULL,
    CONSTRAINT members_pkey PRIMARY KEY (group_id, user_id)
);
-- list_groups and user_totals: a user's memberships.
CREATE INDEX members_user_idx ON members (user_id, group_id);

CREATE TABLE invites (
    code       TEXT CONSTRAINT invites_pkey PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX invites_group_idx ON invites (group_id);

CREATE TABLE expenses (
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
    -- Lets participant rows reference (group_id, id), so a row can never sit in another group.
    CONSTRAINT expenses_group_id_key UNIQUE (group_id, id)
);
-- Keyset order of the expense list (filters scan it within the group).
CREATE INDEX expenses_list_idx
    ON expenses (group_id, occurred_on DESC, created_at DESC, id DESC);

-- One row per participant: paid and owed minor units. `payer`/`sharer` say whether the
-- member is listed among the payers/shares (so the lists round-trip exactly).
CREATE TABLE expense_participants (
    group_id   TEXT NOT NULL,
    expense_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    paid       BIGINT NOT NULL CHECK (paid >= 0),
    owed       BIGINT NOT NULL CHECK (owed >= 0),
    payer      INTEGER NOT NULL,
    sharer     INTEGER NOT NULL,
    CONSTRAINT expense_participants_pkey PRIMARY KEY (group_id, expense_id, user_id),
    FOREIGN KEY (group_id, expense_id) REFERENCES expenses (group_id, id) ON DELETE CASCADE
);
-- The paid_by filter and the per-member summary.
CREATE INDEX expense_participants_user_idx
    ON expense_participants (group_id, user_id, expense_id);

CREATE TABLE settlements (
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
CREATE INDEX settlements_list_idx
    ON settlements (group_id, occurred_on DESC, created_at DESC, id DESC);

-- Running totals: one row per (group, member, currency), updated with every write.
CREATE TABLE member_totals (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL,
    currency TEXT NOT NULL,
    paid     BIGINT NOT NULL,
    owed     BIGINT NOT NULL,
    sent     BIGINT NOT NULL,
    received BIGINT NOT NULL,
    CONSTRAINT member_totals_pkey PRIMARY KEY (group_id, user_id, currency)
);
-- user_totals: one user's rows across groups.
CREATE INDEX member_totals_user_idx ON member_totals (user_id);

-- Pairwise debts: one row per (group, currency, a, b) with a < b.
CREATE TABLE pair_totals (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    a        TEXT NOT NULL,
    b        TEXT NOT NULL,
    amount   BIGINT NOT NULL,
    CONSTRAINT pair_totals_pkey PRIMARY KEY (group_id, currency, a, b)
);

CREATE TABLE activity (
    id        TEXT PRIMARY KEY,
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at        INTEGER NOT NULL,
    details   TEXT NOT NULL
);
CREATE INDEX activity_list_idx ON activity (group_id, at DESC, id DESC);

-- Idempotency records of creates: the request's fingerprint and the id it created.
CREATE TABLE idempotency (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_id   TEXT NOT NULL,
    CONSTRAINT idempotency_pkey PRIMARY KEY (group_id, user_id, key)
);
