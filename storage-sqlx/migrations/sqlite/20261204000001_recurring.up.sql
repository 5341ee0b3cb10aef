-- Recurring series: a template expense (JSON text, as the request gave it) and its calendar.
-- `next_index` numbers the first occurrence not yet made; `due_on` is its date while the
-- series is active (NULL when paused or ended), kept by the store on every write so that
-- "is anything due in this group?" is one indexed lookup before every read of the group.
CREATE TABLE recurring_series (
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    template   TEXT NOT NULL,
    unit       TEXT NOT NULL CHECK (unit IN ('day', 'week', 'month', 'year')),
    step       BIGINT NOT NULL CHECK (step >= 1),
    starts_on  TEXT NOT NULL,
    ends_on    TEXT,
    count      BIGINT CHECK (count >= 1),
    paused     BOOLEAN NOT NULL,
    next_index BIGINT NOT NULL CHECK (next_index >= 0),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    BIGINT NOT NULL,
    due_on     TEXT,
    CONSTRAINT recurring_series_pkey PRIMARY KEY (group_id, id)
);
CREATE INDEX recurring_series_due_idx ON recurring_series (group_id, due_on)
    WHERE due_on IS NOT NULL;
-- The servers' timer looks across groups, earliest due first.
CREATE INDEX recurring_series_due_anywhere_idx ON recurring_series (due_on, id)
    WHERE due_on IS NOT NULL;

-- An expense a series made names the series and the occurrence's date: unique, so no
-- number of processes can make one occurrence twice.
ALTER TABLE expenses ADD COLUMN series_id TEXT;
ALTER TABLE expenses ADD COLUMN occurrence_on TEXT;
CREATE UNIQUE INDEX expenses_occurrence_key ON expenses (group_id, series_id, occurrence_on)
    WHERE series_id IS NOT NULL;
