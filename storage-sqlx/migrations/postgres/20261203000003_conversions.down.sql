-- Back to no conversions (undo only before any was made: their moves are dropped).
DROP TABLE conversions;
DELETE FROM entry_ids WHERE kind = 'conversion';
ALTER TABLE entry_ids DROP CONSTRAINT entry_ids_kind_check;
ALTER TABLE entry_ids ADD CONSTRAINT entry_ids_kind_check CHECK (kind IN ('expense', 'settlement'));
ALTER TABLE member_totals DROP COLUMN converted;
