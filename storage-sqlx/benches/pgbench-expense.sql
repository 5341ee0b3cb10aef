-- One expense, as PgStorage::insert_entry writes it: 4 members, equal split, one payer.
-- Same statements, same order, same locks as the store (see src/store/entries.rs). Variables
-- from run-pgbench.sh: g (group), u1 < u2 < u3 < u4 (members; u1 pays).
\set r1 random(1, 9223372036854775806)
\set r2 random(1, 9223372036854775806)
\set r3 random(1, 9223372036854775806)
\set amt random(100, 999999)
BEGIN;
INSERT INTO entry_ids (id, group_id, kind, fingerprint)
  VALUES ((lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
    :g::uuid, 'expense', 'fp') ON CONFLICT DO NOTHING;
SELECT user_id FROM members WHERE group_id = :g::uuid
  AND user_id = ANY(ARRAY[:u1, :u2, :u3, :u4]::uuid[]) ORDER BY user_id FOR KEY SHARE;
INSERT INTO expenses (id, group_id, description, amount, currency, split, category,
    payment_method, occurred_on, notes, metadata, created_by, created_at, updated_at, version)
  VALUES ((lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
    :g::uuid, 'Dinner', :amt::int8, 'EUR', '{"type":"equal","members":["' || :u1 || '"]}',
    NULL, NULL, current_date, NULL, NULL, :u1::uuid, now(), now(), 1);
INSERT INTO expense_participants (group_id, expense_id, user_id, paid, owed, payer, sharer)
  VALUES (:g::uuid, (lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
      :u1::uuid, :amt::int8, :amt::int8 - 3 * (:amt::int8 / 4), true, true),
    (:g::uuid, (lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
      :u2::uuid, 0, :amt::int8 / 4, false, true),
    (:g::uuid, (lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
      :u3::uuid, 0, :amt::int8 / 4, false, true),
    (:g::uuid, (lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
      :u4::uuid, 0, :amt::int8 / 4, false, true);
INSERT INTO activity (id, group_id, actor, action, entity, entity_id, at, details)
  VALUES ((lpad(to_hex(:r3::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid,
    :g::uuid, :u1::uuid, 'expense.created', 'expense',
    (lpad(to_hex(:r1::int8), 16, '0') || lpad(to_hex(:r2::int8), 16, '0'))::uuid, now(),
    repeat('x', 700));
INSERT INTO member_totals (group_id, user_id, currency, paid, owed, sent, received)
  VALUES (:g::uuid, :u1::uuid, 'EUR', :amt::int8, :amt::int8 - 3 * (:amt::int8 / 4), 0, 0),
    (:g::uuid, :u2::uuid, 'EUR', 0, :amt::int8 / 4, 0, 0),
    (:g::uuid, :u3::uuid, 'EUR', 0, :amt::int8 / 4, 0, 0),
    (:g::uuid, :u4::uuid, 'EUR', 0, :amt::int8 / 4, 0, 0)
  ON CONFLICT (group_id, user_id, currency) DO UPDATE SET
    paid = member_totals.paid + excluded.paid, owed = member_totals.owed + excluded.owed,
    sent = member_totals.sent + excluded.sent, received = member_totals.received + excluded.received;
INSERT INTO pair_totals (group_id, currency, a, b, amount)
  VALUES (:g::uuid, 'EUR', :u1::uuid, :u2::uuid, -(:amt::int8 / 4)),
    (:g::uuid, 'EUR', :u1::uuid, :u3::uuid, -(:amt::int8 / 4)),
    (:g::uuid, 'EUR', :u1::uuid, :u4::uuid, -(:amt::int8 / 4))
  ON CONFLICT (group_id, currency, a, b) DO UPDATE SET amount = pair_totals.amount + excluded.amount;
COMMIT;
