#!/usr/bin/env bash
# pgbench running the store's expense transaction (pgbench-expense.sql), alone and with the
# Ledger's two reads in front (pgbench-ledger-reads.sql), with 1 and 8 clients, against a
# scratch database with the store's schema. The physical limit to compare with
# `cargo bench -p splitledger-storage-sqlx --bench pg_storage`.
#
# Usage: storage-sqlx/benches/run-pgbench.sh [seconds per run, default 15]
# Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) for the server.
# BENCH_SYNC_OFF=1 runs with synchronous_commit = off (the CPU limit, not the disk's).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${1:-15}"
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="splitledger_pgbench_$$"
bench_url="${url%/*}/$db"
command -v pgbench >/dev/null || { echo "pgbench not found (apt-get install postgresql-client)" >&2; exit 1; }

psql -q "$url" -c "CREATE DATABASE $db"
trap 'psql -q "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
for f in "$here"/../migrations/postgres/*.sql; do
  case "$f" in *.down.sql) continue ;; esac
  psql -q -v ON_ERROR_STOP=1 "$bench_url" -f "$f"
done

g=00000000-0000-7000-8000-000000000010
u1=00000000-0000-7000-8000-000000000001
u2=00000000-0000-7000-8000-000000000002
u3=00000000-0000-7000-8000-000000000003
u4=00000000-0000-7000-8000-000000000004
psql -q -v ON_ERROR_STOP=1 "$bench_url" <<SQL
INSERT INTO users (id, email, display_name, password_hash, created_at, updated_at)
SELECT u::uuid, n || '@example.com', n, 'x', now(), now()
FROM (VALUES ('$u1', 'ann'), ('$u2', 'bob'), ('$u3', 'cat'), ('$u4', 'dan')) AS t (u, n);
INSERT INTO groups (id, name, name_lower, currency, created_by, created_at, updated_at)
VALUES ('$g', 'Bench', 'bench', 'EUR', '$u1', now(), now());
INSERT INTO members (group_id, user_id, role, joined_at)
SELECT '$g', u::uuid, 'member', now() FROM (VALUES ('$u1'), ('$u2'), ('$u3'), ('$u4')) AS t (u);
SQL

full="$(mktemp)"
trap 'rm -f "$full"; psql -q "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
cat "$here/pgbench-ledger-reads.sql" "$here/pgbench-expense.sql" > "$full"

if [ -n "${BENCH_SYNC_OFF:-}" ]; then
  export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off"
  echo "(synchronous_commit = off)"
fi
vars=(-D "g=$g" -D "u1=$u1" -D "u2=$u2" -D "u3=$u3" -D "u4=$u4")
run() { # label script clients threads
  local tps
  tps="$(pgbench -n -M prepared -T "$secs" -c "$3" -j "$4" "${vars[@]}" -f "$2" "$bench_url" 2>&1 \
        | awk '/^tps/ {print $3; exit}')"
  printf '%-48s %8.0f tps\n' "$1" "$tps"
}
run "store transaction, 1 client" "$here/pgbench-expense.sql" 1 1
run "store transaction, 8 clients" "$here/pgbench-expense.sql" 8 2
run "ledger reads + store transaction, 1 client" "$full" 1 1
run "ledger reads + store transaction, 8 clients" "$full" 8 2
