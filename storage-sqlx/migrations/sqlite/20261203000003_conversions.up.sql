-- Conversions of balances: an entry that moves every member's net in one currency into
-- another. Running totals gain `converted` (bounded like the others); the entry keeps its
-- rows and the debts it settles as JSON text, since its effect is computed from the entry.
ALTER TABLE member_totals ADD COLUMN converted BIGINT NOT NULL DEFAULT 0
    CONSTRAINT member_totals_converted_within_limit
    CHECK (converted BETWEEN -1000000000000000000 AND 1000000000000000000);

-- SQLite changes a CHECK by rebuilding the table.
CREATE TABLE entry_ids_new (
    id          TEXT CONSTRAINT entry_ids_pkey PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('expense', 'settlement', 'conversion')),
    fingerprint TEXT NOT NULL
);
INSERT INTO entry_ids_new (id, group_id, kind, fingerprint)
    SELECT id, group_id, kind, fingerprint FROM entry_ids;
DROP TABLE entry_ids;
ALTER TABLE entry_ids_new RENAME TO entry_ids;
CREATE INDEX entry_ids_group_idx ON entry_ids (group_id);

CREATE TABLE conversions (
    group_id      TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    from_currency TEXT NOT NULL,
    to_currency   TEXT NOT NULL,
    exchange_rate TEXT NOT NULL,
    moves         TEXT NOT NULL,
    debts         TEXT NOT NULL,
    occurred_on   TEXT NOT NULL,
    note          TEXT,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    CONSTRAINT conversions_pkey PRIMARY KEY (group_id, id)
);
CREATE INDEX conversions_list_idx
    ON conversions (group_id, occurred_on DESC, created_at DESC, id DESC);
