-- Imports: the digest of every file imported into a group, so the same file is imported once
-- (409 `already_imported`). Group-scoped: `group_id` first in the key.
CREATE TABLE imports (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    sha256      TEXT NOT NULL,
    format      TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    CONSTRAINT imports_pkey PRIMARY KEY (group_id, sha256)
);
