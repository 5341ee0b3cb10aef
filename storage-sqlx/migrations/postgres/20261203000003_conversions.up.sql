-- Conversions of balances: an entry that moves every member's net in one currency into
-- another. Running totals gain `converted` (bounded like the others); the entry keeps its
-- rows and the debts it settles as JSON text, since its effect is computed from the entry.
ALTER TABLE member_totals ADD COLUMN converted BIGINT NOT NULL DEFAULT 0
    CONSTRAINT member_totals_converted_within_limit
    CHECK (converted BETWEEN -1000000000000000000 AND 1000000000000000000);

ALTER TABLE entry_ids DROP CONSTRAINT entry_ids_kind_check;
ALTER TABLE entry_ids ADD CONSTRAINT entry_ids_kind_check
    CHECK (kind IN ('expense', 'settlement', 'conversion'));

CREATE TABLE conversions (
    group_id      UUID NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id            UUID NOT NULL,
    from_currency TEXT NOT NULL,
    to_currency   TEXT NOT NULL,
    exchange_rate TEXT NOT NULL,
    moves         TEXT NOT NULL,
    debts         TEXT NOT NULL,
    occurred_on   DATE NOT NULL,
    note          TEXT,
    created_by    UUID NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT conversions_pkey PRIMARY KEY (group_id, id)
);
CREATE INDEX conversions_list_idx
    ON conversions (group_id, occurred_on DESC, created_at DESC, id DESC);
