ALTER TABLE expenses DROP COLUMN original;
