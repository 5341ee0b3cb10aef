-- splitledger schema (PostgreSQL).
-- Ids are UUIDs, amounts BIGINT minor units, currencies 3-letter codes, JSON as TEXT (so a
-- value round-trips byte for byte, "\u0000" included, which JSONB refuses).
-- Every group-scoped table carries group_id (the shard key) and cascades from groups.
-- Unique constraints are named: the store maps them to conflict codes by name.

CREATE TABLE users (
    id               UUID PRIMARY KEY,
    email            TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    display_name     TEXT NOT NULL,
    default_currency TEXT,
    password_hash    TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    digest     BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE login_failures (
    email   TEXT PRIMARY KEY,
    count   BIGINT NOT NULL,
    last_at TIMESTAMPTZ
);

CREATE TABLE groups (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    -- Lower-cased by the store (Rust's Unicode rules), for the name filter.
    name_lower  TEXT NOT NULL,
    description TEXT,
    currency    TEXT NOT NULL,
    created_by  UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE members (
    group_id  UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id   UUID NOT NULL REFERENCES users (id),
    role      TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT members_pkey PRIMARY KEY (group_id, user_id)
);
-- list_groups and user_totals: a user's memberships.
CREATE INDEX members_user_idx ON members (user_id, group_id);

CREATE TABLE invites (
    code       TEXT CONSTRAINT invites_pkey PRIMARY KEY,
    group_id   UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX invites_group_idx ON invites (group_id);

CREATE TABLE expenses (
    id             UUID PRIMARY KEY,
    group_id       UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    description    TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL,
    split          TEXT NOT NULL,
    category       TEXT,
    payment_method TEXT,
    occurred_on    DATE NOT NULL,
    notes          TEXT,
    metadata       TEXT,
    created_by     UUID NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
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
    group_id   UUID NOT NULL,
    expense_id UUID NOT NULL,
    user_id    UUID NOT NULL,
    paid       BIGINT NOT NULL CHECK (paid >= 0),
    owed       BIGINT NOT NULL CHECK (owed >= 0),
    payer      BOOLEAN NOT NULL,
    sharer     BOOLEAN NOT NULL,
    CONSTRAINT expense_participants_pkey PRIMARY KEY (group_id, expense_id, user_id),
    FOREIGN KEY (group_id, expense_id) REFERENCES expenses (group_id, id) ON DELETE CASCADE
);
-- The paid_by filter and the per-member summary.
CREATE INDEX expense_participants_user_idx
    ON expense_participants (group_id, user_id, expense_id);

CREATE TABLE settlements (
    id          UUID PRIMARY KEY,
    group_id    UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    from_user   UUID NOT NULL,
    to_user     UUID NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    note        TEXT,
    created_by  UUID NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX settlements_list_idx
    ON settlements (group_id, occurred_on DESC, created_at DESC, id DESC);

-- Running totals: one row per (group, member, currency), updated with every write.
CREATE TABLE member_totals (
    group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  UUID NOT NULL,
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
    group_id UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    a        UUID NOT NULL,
    b        UUID NOT NULL,
    amount   BIGINT NOT NULL,
    CONSTRAINT pair_totals_pkey PRIMARY KEY (group_id, currency, a, b)
);

CREATE TABLE activity (
    id        UUID PRIMARY KEY,
    group_id  UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    actor     UUID NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id UUID NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    details   TEXT NOT NULL
);
CREATE INDEX activity_list_idx ON activity (group_id, at DESC, id DESC);

-- Idempotency records of creates: the request's fingerprint and the id it created.
CREATE TABLE idempotency (
    group_id    UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     UUID NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_id   UUID NOT NULL,
    CONSTRAINT idempotency_pkey PRIMARY KEY (group_id, user_id, key)
);
