DROP INDEX expenses_occurrence_key;
ALTER TABLE expenses DROP COLUMN occurrence_on;
ALTER TABLE expenses DROP COLUMN series_id;
DROP TABLE recurring_series;
