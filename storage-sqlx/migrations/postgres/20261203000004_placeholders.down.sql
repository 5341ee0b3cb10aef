ALTER TABLE invites DROP COLUMN claims;
ALTER TABLE users DROP COLUMN placeholder;
