-- The whole Ledger::create_expense request as the database sees it: the Ledger's two reads
-- (the caller's membership; the member list for an equal split), as PgStorage runs them;
-- run-pgbench.sh prepends them to pgbench-expense.sql.
SELECT g.id, g.name, g.description, g.currency, g.created_by, g.created_at, g.updated_at, m.role
  FROM members m JOIN groups g ON g.id = m.group_id WHERE m.group_id = :g::uuid AND m.user_id = :u1::uuid;
SELECT m.user_id, u.display_name, u.email, m.role, m.joined_at FROM members m
  JOIN users u ON u.id = m.user_id WHERE m.group_id = :g::uuid ORDER BY m.joined_at, m.user_id;
