-- Back to no conversions (undo only before any was made: their moves are dropped).
DROP TABLE conversions;
CREATE TABLE entry_ids_old (
    id          TEXT CONSTRAINT entry_ids_pkey PRIMARY KEY,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('expense', 'settlement')),
    fingerprint TEXT NOT NULL
);
INSERT INTO entry_ids_old (id, group_id, kind, fingerprint)
    SELECT id, group_id, kind, fingerprint FROM entry_ids WHERE kind <> 'conversion';
DROP TABLE entry_ids;
ALTER TABLE entry_ids_old RENAME TO entry_ids;
CREATE INDEX entry_ids_group_idx ON entry_ids (group_id);
ALTER TABLE member_totals DROP COLUMN converted;
