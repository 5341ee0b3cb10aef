-- An expense is money spent or money received (income): its effect is the same with every
-- sign reversed. Existing rows are expenses.
ALTER TABLE expenses ADD COLUMN kind TEXT NOT NULL DEFAULT 'expense'
    CONSTRAINT expenses_kind_check CHECK (kind IN ('expense', 'income'));
