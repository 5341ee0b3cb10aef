-- Placeholders: people without an account, added to a group by name. Their users row has an
-- address in the reserved `.invalid` domain and a hash that verifies nothing. An invite may be
-- a claim code that hands a placeholder's place to whoever accepts it.
ALTER TABLE users ADD COLUMN placeholder BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE invites ADD COLUMN claims UUID;
