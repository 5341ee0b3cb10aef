-- Receipts and comments on expenses. An attachment row holds the metadata; the bytes live in
-- an object store under GROUP/EXPENSE/ID. Both tables follow their expense (and so their
-- group) when it is deleted; the files are removed by the Ledger after that commit.
CREATE TABLE attachments (
    group_id     TEXT NOT NULL,
    expense_id   TEXT NOT NULL,
    id           TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size > 0),
    sha256       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    CONSTRAINT attachments_pkey PRIMARY KEY (group_id, id),
    CONSTRAINT attachments_expense_fkey FOREIGN KEY (group_id, expense_id)
        REFERENCES expenses (group_id, id) ON DELETE CASCADE
);
CREATE INDEX attachments_expense_idx ON attachments (group_id, expense_id, created_at, id);

CREATE TABLE comments (
    group_id   TEXT NOT NULL,
    expense_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    author     TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT comments_pkey PRIMARY KEY (group_id, id),
    CONSTRAINT comments_expense_fkey FOREIGN KEY (group_id, expense_id)
        REFERENCES expenses (group_id, id) ON DELETE CASCADE
);
CREATE INDEX comments_expense_idx ON comments (group_id, expense_id, created_at, id);
