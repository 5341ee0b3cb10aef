-- Back to expenses only (income rows become expenses: undo only before any was written).
ALTER TABLE expenses DROP COLUMN kind;
