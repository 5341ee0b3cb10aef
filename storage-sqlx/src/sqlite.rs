//! The SQLite store (the embedded default).
//!
//! Concurrency: SQLite runs one writer at a time. Every write is a `BEGIN IMMEDIATE`
//! transaction, so it holds the write lock from its first statement: the membership checks,
//! the version checks and the read-modify-write of running totals cannot interleave with
//! another write, and a waiting writer retries within the busy timeout instead of failing
//! with a stale snapshot. SQLite turns an overflowing integer sum into a float, so running
//! totals are computed here with checked arithmetic (`Overflow` rolls everything back).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use splitledger_core::balance::{PairDelta, TotalsDelta};
use splitledger_core::domain::{
    Activity, ActivityCursor, DatedCursor, Email, Expense, ExpenseFilter, ExpenseId, Group,
    GroupId, Invite, LoginFailures, Member, MemberTotals, Membership, Role, Session, Settlement,
    SettlementId, SummaryBy, SummaryRow, TokenDigest, User, UserGroupTotals, UserId, UserRecord,
};
use splitledger_core::storage::{
    ExpenseDelete, ExpenseUpdate, ExpenseWrite, GroupQuery, IdempotencyClaim, Inserted,
    SettlementDelete, SettlementWrite, Storage, StorageError, StorageResult,
};

use crate::common::{
    ActivityRow, ExpenseRow, GroupRoleRow, INSERT_EXPENSE, IdempotencyRow, InviteRow, MemberRow,
    PairRow, ParticipantDbRow, SettlementRow, SummaryDbRow, TotalsRow, UPDATE_EXPENSE, UserRow,
    UserTotalsRow, bind_expense, check_members, generic_error, json_text, member_totals,
    merged_pairs, merged_totals, name_lower, pair_totals, participants, required_members,
    summary_rows, user_totals,
};
use crate::types::{DbDate, DbTime, DbUuid};

/// splitledger's store on SQLite.
#[derive(Clone)]
pub struct SqliteStorage {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStorage")
    }
}

/// Maps a sqlx error. SQLite names no constraint in its errors, only the table and columns
/// (`UNIQUE constraint failed: users.email`): those map to the conflict codes; foreign keys
/// → `NotFound`; integer overflow in a sum → `Overflow`; a busy or locked database →
/// `Unavailable`.
fn sqlite_error(error: sqlx::Error) -> StorageError {
    if let Some(db) = error.as_database_error() {
        let message = db.message();
        match db.kind() {
            ErrorKind::UniqueViolation => {
                return if message.contains("users.email") {
                    StorageError::Conflict("email_taken")
                } else if message.contains("members.group_id, members.user_id") {
                    StorageError::Conflict("already_member")
                } else if message.contains("invites.code") {
                    StorageError::Conflict("invite_code_taken")
                } else {
                    StorageError::Internal(message.to_string())
                };
            }
            ErrorKind::ForeignKeyViolation => return StorageError::NotFound,
            _ => {}
        }
        if message.contains("integer overflow") {
            return StorageError::Overflow;
        }
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another writer held on past the timeout.
        if matches!(primary, Some(5 | 6)) {
            return StorageError::Unavailable(message.to_string());
        }
        return StorageError::Internal(message.to_string());
    }
    generic_error(error)
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

impl SqliteStorage {
    /// Opens `sqlite://path/to/file.db` (the file, and its folder, are created if missing) or
    /// `sqlite::memory:` (one connection, kept open: the database lives as long as the
    /// store). WAL journal, foreign keys on, 5 s busy timeout. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if !url.starts_with("sqlite:") {
            return Err(StorageError::Internal(
                "not a SQLite URL (sqlite://path or sqlite::memory:)".into(),
            ));
        }
        let options: SqliteConnectOptions = url
            .parse()
            .map_err(|e| StorageError::Internal(format!("invalid SQLite URL: {e}")))?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && let Some(dir) = options.get_filename().parent() {
            // A fresh install names a file in a folder that may not exist yet.
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StorageError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(sqlite_error)?;
        Ok(Self { pool })
    }

    /// A store over an existing pool (tests, or a program that shares its pool).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Applies the embedded migrations ([`SQLITE_MIGRATOR`](crate::SQLITE_MIGRATOR)).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        crate::SQLITE_MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(inner) => sqlite_error(inner),
                other => StorageError::Internal(format!("migration failed: {other}")),
            })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin(&self) -> StorageResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(sqlite_error)
    }

    /// A consistent snapshot for reads that take several statements.
    async fn snapshot(&self) -> StorageResult<Transaction<'static, Sqlite>> {
        self.pool.begin().await.map_err(sqlite_error)
    }
}

async fn commit(tx: Transaction<'static, Sqlite>) -> StorageResult<()> {
    tx.commit().await.map_err(sqlite_error)
}

/// `NotFound` unless the group exists (the write lock keeps it until commit).
async fn lock_group(conn: &mut SqliteConnection, group: GroupId) -> StorageResult<()> {
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM groups WHERE id = $1")
        .bind(DbUuid(group.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlite_error)?
        .map(|_| ())
        .ok_or(StorageError::NotFound)
}

/// `NotFound` unless the group exists (reads).
async fn group_exists(conn: &mut SqliteConnection, group: GroupId) -> StorageResult<()> {
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM groups WHERE id = $1")
        .bind(DbUuid(group.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlite_error)?
        .map(|_| ())
        .ok_or(StorageError::NotFound)
}

/// `NotMember` for the first of `users` who is not a member (the write lock keeps them).
async fn lock_members(
    conn: &mut SqliteConnection,
    group: GroupId,
    users: &[UserId],
) -> StorageResult<()> {
    let ids = id_list(users.iter().map(|u| u.0));
    let found: Vec<DbUuid> = sqlx::query_scalar(
        "SELECT user_id FROM members WHERE group_id = $1 AND user_id IN (SELECT value FROM json_each($2)) \
         ORDER BY user_id",
    )
    .bind(DbUuid(group.0))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    check_members(users, &found)
}

/// Claims an idempotency key for `id`; the earlier record if the key was used.
async fn claim(
    conn: &mut SqliteConnection,
    group: GroupId,
    claim: &IdempotencyClaim,
    id: Uuid,
) -> StorageResult<Option<Inserted>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (group_id, user_id, key, fingerprint, result_id) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(DbUuid(group.0))
    .bind(DbUuid(claim.user_id.0))
    .bind(&claim.key)
    .bind(&claim.fingerprint)
    .bind(DbUuid(id))
    .execute(&mut *conn)
    .await
    .map_err(sqlite_error)?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row: IdempotencyRow = sqlx::query_as(
        "SELECT fingerprint, result_id FROM idempotency \
         WHERE group_id = $1 AND user_id = $2 AND key = $3",
    )
    .bind(DbUuid(group.0))
    .bind(DbUuid(claim.user_id.0))
    .bind(&claim.key)
    .fetch_one(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    Ok(Some(Inserted::Existing {
        fingerprint: row.fingerprint,
        id: row.result_id.0,
    }))
}

/// Adds deltas to the running totals and pair totals, with checked arithmetic.
async fn apply(
    conn: &mut SqliteConnection,
    group: GroupId,
    totals: &[TotalsDelta<UserId>],
    pairs: &[PairDelta<UserId>],
) -> StorageResult<()> {
    for (user, currency, delta) in merged_totals(totals)? {
        let current: Option<TotalsRow> = sqlx::query_as(
            "SELECT user_id, currency, paid, owed, sent, received FROM member_totals \
             WHERE group_id = $1 AND user_id = $2 AND currency = $3",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(user.0))
        .bind(currency.code())
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlite_error)?;
        let mut next = current.map(|r| r.totals()).unwrap_or_default();
        next.add(&delta).map_err(|_| StorageError::Overflow)?;
        sqlx::query(
            "INSERT INTO member_totals (group_id, user_id, currency, paid, owed, sent, received) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (group_id, user_id, currency) DO UPDATE SET paid = excluded.paid, \
                owed = excluded.owed, sent = excluded.sent, received = excluded.received",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(user.0))
        .bind(currency.code())
        .bind(next.paid)
        .bind(next.owed)
        .bind(next.sent)
        .bind(next.received)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_error)?;
    }
    for pair in merged_pairs(pairs)? {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT amount FROM pair_totals \
             WHERE group_id = $1 AND currency = $2 AND a = $3 AND b = $4",
        )
        .bind(DbUuid(group.0))
        .bind(pair.currency.code())
        .bind(DbUuid(pair.a.0))
        .bind(DbUuid(pair.b.0))
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlite_error)?;
        let next = current
            .unwrap_or(0)
            .checked_add(pair.amount)
            .ok_or(StorageError::Overflow)?;
        sqlx::query(
            "INSERT INTO pair_totals (group_id, currency, a, b, amount) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (group_id, currency, a, b) DO UPDATE SET amount = excluded.amount",
        )
        .bind(DbUuid(group.0))
        .bind(pair.currency.code())
        .bind(DbUuid(pair.a.0))
        .bind(DbUuid(pair.b.0))
        .bind(next)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_error)?;
    }
    Ok(())
}

/// A JSON array of ids, for `IN (SELECT value FROM json_each(..))` (SQLite has no arrays).
fn id_list(ids: impl Iterator<Item = Uuid>) -> String {
    let list: Vec<String> = ids.map(|id| id.hyphenated().to_string()).collect();
    serde_json::Value::from(list).to_string()
}

async fn insert_activity(conn: &mut SqliteConnection, a: &Activity) -> StorageResult<()> {
    sqlx::query(
        "INSERT INTO activity (id, group_id, actor, action, entity, entity_id, at, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(DbUuid(a.id.0))
    .bind(DbUuid(a.group_id.0))
    .bind(DbUuid(a.actor.0))
    .bind(&a.action)
    .bind(&a.entity)
    .bind(DbUuid(a.entity_id))
    .bind(DbTime(a.at))
    .bind(json_text(&a.details)?)
    .execute(&mut *conn)
    .await
    .map_err(sqlite_error)?;
    Ok(())
}

async fn insert_participants(conn: &mut SqliteConnection, e: &Expense) -> StorageResult<()> {
    for row in participants(e)? {
        sqlx::query(
            "INSERT INTO expense_participants \
             (group_id, expense_id, user_id, paid, owed, payer, sharer) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(DbUuid(e.group_id.0))
        .bind(DbUuid(e.id.0))
        .bind(DbUuid(row.user_id.0))
        .bind(row.paid)
        .bind(row.owed)
        .bind(row.payer)
        .bind(row.sharer)
        .execute(&mut *conn)
        .await
        .map_err(sqlite_error)?;
    }
    Ok(())
}

async fn participants_of(
    conn: &mut SqliteConnection,
    group: GroupId,
    ids: &[Uuid],
) -> StorageResult<Vec<ParticipantDbRow>> {
    sqlx::query_as(
        "SELECT expense_id, user_id, paid, owed, payer, sharer FROM expense_participants \
         WHERE group_id = $1 AND expense_id IN (SELECT value FROM json_each($2))",
    )
    .bind(DbUuid(group.0))
    .bind(id_list(ids.iter().copied()))
    .fetch_all(&mut *conn)
    .await
    .map_err(sqlite_error)
}

async fn expenses_with_rows(
    conn: &mut SqliteConnection,
    group: GroupId,
    rows: Vec<ExpenseRow>,
) -> StorageResult<Vec<Expense>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id.0).collect();
    let parts = participants_of(conn, group, &ids).await?;
    rows.into_iter().map(|r| r.into_expense(&parts)).collect()
}

/// After a versioned UPDATE/DELETE touched nothing: `NotFound` or `StaleVersion`.
async fn version_miss(conn: &mut SqliteConnection, group: GroupId, id: ExpenseId) -> StorageError {
    let found = sqlx::query_scalar::<_, i64>(
        "SELECT version FROM expenses WHERE group_id = $1 AND id = $2",
    )
    .bind(DbUuid(group.0))
    .bind(DbUuid(id.0))
    .fetch_optional(&mut *conn)
    .await;
    match found {
        Ok(Some(_)) => StorageError::StaleVersion,
        Ok(None) => StorageError::NotFound,
        Err(e) => sqlite_error(e),
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(sqlite_error)?;
        Ok(())
    }

    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()> {
        let u = &user.user;
        sqlx::query(
            "INSERT INTO users (id, email, display_name, default_currency, password_hash, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(DbUuid(u.id.0))
        .bind(u.email.as_str())
        .bind(&u.display_name)
        .bind(u.default_currency.map(|c| c.code()))
        .bind(&user.password_hash)
        .bind(DbTime(u.created_at))
        .bind(DbTime(u.updated_at))
        .execute(&self.pool)
        .await
        .map_err(sqlite_error)?;
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlite_error)?
            .map(UserRow::into_record)
            .transpose()
    }

    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE id = $1")
            .bind(DbUuid(id.0))
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlite_error)?
            .map(UserRow::into_user)
            .transpose()
    }

    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let raw = id_list(ids.iter().map(|u| u.0));
        let rows: Vec<UserRow> =
            sqlx::query_as("SELECT * FROM users WHERE id IN (SELECT value FROM json_each($1))")
                .bind(&raw)
                .fetch_all(&self.pool)
                .await
                .map_err(sqlite_error)?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(ids
            .iter()
            .filter_map(|id| users.iter().find(|u| u.id == *id).cloned())
            .collect())
    }

    async fn update_user(&self, user: &User) -> StorageResult<()> {
        let done = sqlx::query(
            "UPDATE users SET email = $2, display_name = $3, default_currency = $4, \
             created_at = $5, updated_at = $6 WHERE id = $1",
        )
        .bind(DbUuid(user.id.0))
        .bind(user.email.as_str())
        .bind(&user.display_name)
        .bind(user.default_currency.map(|c| c.code()))
        .bind(DbTime(user.created_at))
        .bind(DbTime(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(DbUuid(user.0))
                .bind(password_hash)
                .bind(DbTime(updated_at))
                .execute(&mut *tx)
                .await
                .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR digest <> $2)")
            .bind(DbUuid(user.0))
            .bind(keep.map(|k| k.0.to_vec()))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        commit(tx).await
    }

    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO sessions (digest, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO UPDATE SET \
             user_id = excluded.user_id, created_at = excluded.created_at, \
             expires_at = excluded.expires_at",
        )
        .bind(session.digest.0.to_vec())
        .bind(DbUuid(session.user_id.0))
        .bind(DbTime(session.created_at))
        .bind(DbTime(session.expires_at))
        .execute(&self.pool)
        .await
        .map_err(sqlite_error)?;
        Ok(())
    }

    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        sqlx::query_as::<_, UserRow>(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.digest = $1 AND s.expires_at > $2",
        )
        .bind(digest.0.to_vec())
        .bind(DbTime(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(sqlite_error)?
        .map(UserRow::into_user)
        .transpose()
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE digest = $1")
            .bind(digest.0.to_vec())
            .execute(&self.pool)
            .await
            .map_err(sqlite_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        let row: Option<(i64, Option<DbTime>)> =
            sqlx::query_as("SELECT count, last_at FROM login_failures WHERE email = $1")
                .bind(email.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(sqlite_error)?;
        Ok(match row {
            None => LoginFailures::default(),
            Some((count, last_at)) => LoginFailures {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                last_at: last_at.map(|t| t.0),
            },
        })
    }

    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        if failures.count == 0 {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(email.as_str())
                .execute(&self.pool)
                .await
                .map_err(sqlite_error)?;
        } else {
            sqlx::query(
                "INSERT INTO login_failures (email, count, last_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (email) DO UPDATE SET count = excluded.count, \
                 last_at = excluded.last_at",
            )
            .bind(email.as_str())
            .bind(i64::from(failures.count))
            .bind(failures.last_at.map(DbTime))
            .execute(&self.pool)
            .await
            .map_err(sqlite_error)?;
        }
        Ok(())
    }

    async fn insert_group(
        &self,
        group: &Group,
        owner: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO groups (id, name, name_lower, description, currency, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(DbUuid(group.id.0))
        .bind(&group.name)
        .bind(name_lower(&group.name))
        .bind(&group.description)
        .bind(group.currency.code())
        .bind(DbUuid(group.created_by.0))
        .bind(DbTime(group.created_at))
        .bind(DbTime(group.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        sqlx::query(
            "INSERT INTO members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(DbUuid(group.id.0))
        .bind(DbUuid(owner.user_id.0))
        .bind(owner.role.as_str())
        .bind(DbTime(owner.joined_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn membership(
        &self,
        group: GroupId,
        user: UserId,
    ) -> StorageResult<Option<(Group, Role)>> {
        sqlx::query_as::<_, GroupRoleRow>(
            "SELECT g.id, g.name, g.description, g.currency, g.created_by, g.created_at, \
             g.updated_at, m.role FROM members m JOIN groups g ON g.id = m.group_id \
             WHERE m.group_id = $1 AND m.user_id = $2",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(user.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(sqlite_error)?
        .map(GroupRoleRow::into_pair)
        .transpose()
    }

    async fn list_groups(
        &self,
        user: UserId,
        query: &GroupQuery,
    ) -> StorageResult<Vec<(Group, Role)>> {
        let rows: Vec<GroupRoleRow> = sqlx::query_as(
            "SELECT g.id, g.name, g.description, g.currency, g.created_by, g.created_at, \
             g.updated_at, m.role FROM members m JOIN groups g ON g.id = m.group_id \
             WHERE m.user_id = $1 AND ($2 IS NULL OR m.group_id < $2) \
               AND ($3 IS NULL OR instr(g.name_lower, $3) > 0) \
             ORDER BY m.group_id DESC LIMIT $4",
        )
        .bind(DbUuid(user.0))
        .bind(query.before.map(|g| DbUuid(g.0)))
        .bind(&query.name_contains)
        .bind(limit(query.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(sqlite_error)?;
        rows.into_iter().map(GroupRoleRow::into_pair).collect()
    }

    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE groups SET name = $2, name_lower = $3, description = $4, currency = $5, \
             created_by = $6, created_at = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(DbUuid(group.id.0))
        .bind(&group.name)
        .bind(name_lower(&group.name))
        .bind(&group.description)
        .bind(group.currency.code())
        .bind(DbUuid(group.created_by.0))
        .bind(DbTime(group.created_at))
        .bind(DbTime(group.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn delete_group(&self, group: GroupId) -> StorageResult<()> {
        let done = sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(DbUuid(group.0))
            .execute(&self.pool)
            .await
            .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn members(&self, group: GroupId) -> StorageResult<Vec<Member>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT m.user_id, u.display_name, u.email, m.role, m.joined_at \
             FROM members m JOIN users u ON u.id = m.user_id \
             WHERE m.group_id = $1 ORDER BY m.joined_at, m.user_id",
        )
        .bind(DbUuid(group.0))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        rows.into_iter().map(MemberRow::into_member).collect()
    }

    async fn insert_member(
        &self,
        group: GroupId,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(member.user_id.0))
        .bind(member.role.as_str())
        .bind(DbTime(member.joined_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn set_roles(
        &self,
        group: GroupId,
        changes: &[(UserId, Role)],
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        lock_group(&mut tx, group).await?;
        for (user, role) in changes {
            let done =
                sqlx::query("UPDATE members SET role = $3 WHERE group_id = $1 AND user_id = $2")
                    .bind(DbUuid(group.0))
                    .bind(DbUuid(user.0))
                    .bind(role.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(sqlite_error)?;
            if done.rows_affected() == 0 {
                return Err(StorageError::NotFound);
            }
        }
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query_scalar::<_, i32>("SELECT 1 FROM members WHERE group_id = $1 AND user_id = $2")
            .bind(DbUuid(group.0))
            .bind(DbUuid(user.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(sqlite_error)?
            .ok_or(StorageError::NotFound)?;
        let totals: Vec<TotalsRow> = sqlx::query_as(
            "SELECT user_id, currency, paid, owed, sent, received FROM member_totals \
             WHERE group_id = $1 AND user_id = $2",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(user.0))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if totals.iter().any(|t| t.totals().net() != Ok(0)) {
            return Err(StorageError::BalanceNotZero);
        }
        sqlx::query("DELETE FROM members WHERE group_id = $1 AND user_id = $2")
            .bind(DbUuid(group.0))
            .bind(DbUuid(user.0))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO invites (code, group_id, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&invite.code)
        .bind(DbUuid(invite.group_id.0))
        .bind(DbUuid(invite.created_by.0))
        .bind(DbTime(invite.created_at))
        .bind(DbTime(invite.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        insert_activity(&mut tx, activity).await?;
        commit(tx).await
    }

    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>> {
        Ok(sqlx::query_as::<_, InviteRow>(
            "SELECT code, group_id, created_by, created_at, expires_at FROM invites WHERE code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(sqlite_error)?
        .map(InviteRow::into_invite))
    }

    async fn insert_expense(&self, write: &ExpenseWrite) -> StorageResult<Inserted> {
        let e = &write.expense;
        let mut tx = self.begin().await?;
        lock_group(&mut tx, e.group_id).await?;
        if let Some(c) = &write.idempotency
            && let Some(existing) = claim(&mut tx, e.group_id, c, e.id.0).await?
        {
            return Ok(existing);
        }
        lock_members(&mut tx, e.group_id, &required_members(e)).await?;
        bind_expense(sqlx::query(INSERT_EXPENSE), e)?
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        insert_participants(&mut tx, e).await?;
        insert_activity(&mut tx, &write.activity).await?;
        apply(&mut tx, e.group_id, &write.totals, &write.pairs).await?;
        commit(tx).await?;
        Ok(Inserted::Created)
    }

    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>> {
        let mut tx = self.snapshot().await?;
        let row: Option<ExpenseRow> = sqlx::query_as(
            "SELECT id, group_id, description, amount, currency, split, category, \
             payment_method, occurred_on, notes, metadata, created_by, created_at, updated_at, \
             version FROM expenses WHERE group_id = $1 AND id = $2",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        let Some(row) = row else { return Ok(None) };
        let mut list = expenses_with_rows(&mut tx, group, vec![row]).await?;
        Ok(list.pop())
    }

    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<ExpenseRow> = sqlx::query_as(
            "SELECT e.id, e.group_id, e.description, e.amount, e.currency, e.split, e.category, \
             e.payment_method, e.occurred_on, e.notes, e.metadata, e.created_by, e.created_at, \
             e.updated_at, e.version FROM expenses e \
             WHERE e.group_id = $1 \
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM expense_participants p \
                    WHERE p.group_id = e.group_id AND p.expense_id = e.id \
                      AND p.user_id = $2 AND p.payer)) \
               AND ($3 IS NULL OR e.category = $3) \
               AND ($4 IS NULL OR e.occurred_on >= $4) \
               AND ($5 IS NULL OR e.occurred_on <= $5) \
               AND ($6 IS NULL OR (e.occurred_on, e.created_at, e.id) < ($6, $7, $8)) \
             ORDER BY e.occurred_on DESC, e.created_at DESC, e.id DESC LIMIT $9",
        )
        .bind(DbUuid(group.0))
        .bind(filter.paid_by.map(|u| DbUuid(u.0)))
        .bind(&filter.category)
        .bind(filter.from.map(DbDate))
        .bind(filter.to.map(DbDate))
        .bind(after.map(|c| DbDate(c.occurred_on)))
        .bind(after.map(|c| DbTime(c.created_at)))
        .bind(after.map(|c| DbUuid(c.id)))
        .bind(self::limit(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
            return Ok(Vec::new());
        }
        expenses_with_rows(&mut tx, group, rows).await
    }

    async fn update_expense(&self, update: &ExpenseUpdate) -> StorageResult<()> {
        let e = &update.expense;
        let mut tx = self.begin().await?;
        let done = bind_expense(sqlx::query(UPDATE_EXPENSE), e)?
            .bind(update.expected_version)
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(version_miss(&mut tx, e.group_id, e.id).await);
        }
        let old = participants_of(&mut tx, e.group_id, &[e.id.0]).await?;
        let new = participants(e)?;
        let mut old_rows: Vec<(Uuid, i64, i64)> =
            old.iter().map(|p| (p.user_id.0, p.paid, p.owed)).collect();
        old_rows.sort();
        let new_rows: Vec<(Uuid, i64, i64)> =
            new.iter().map(|p| (p.user_id.0, p.paid, p.owed)).collect();
        if old_rows != new_rows {
            lock_members(&mut tx, e.group_id, &required_members(e)).await?;
        }
        sqlx::query("DELETE FROM expense_participants WHERE group_id = $1 AND expense_id = $2")
            .bind(DbUuid(e.group_id.0))
            .bind(DbUuid(e.id.0))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        insert_participants(&mut tx, e).await?;
        insert_activity(&mut tx, &update.activity).await?;
        apply(&mut tx, e.group_id, &update.totals, &update.pairs).await?;
        commit(tx).await
    }

    async fn delete_expense(&self, delete: &ExpenseDelete) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        let done =
            sqlx::query("DELETE FROM expenses WHERE id = $1 AND group_id = $2 AND version = $3")
                .bind(DbUuid(delete.id.0))
                .bind(DbUuid(delete.group_id.0))
                .bind(delete.expected_version)
                .execute(&mut *tx)
                .await
                .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(version_miss(&mut tx, delete.group_id, delete.id).await);
        }
        insert_activity(&mut tx, &delete.activity).await?;
        apply(&mut tx, delete.group_id, &delete.totals, &delete.pairs).await?;
        commit(tx).await
    }

    async fn insert_settlement(&self, write: &SettlementWrite) -> StorageResult<Inserted> {
        let s = &write.settlement;
        let mut tx = self.begin().await?;
        lock_group(&mut tx, s.group_id).await?;
        if let Some(c) = &write.idempotency
            && let Some(existing) = claim(&mut tx, s.group_id, c, s.id.0).await?
        {
            return Ok(existing);
        }
        lock_members(&mut tx, s.group_id, &[s.from_user, s.to_user]).await?;
        sqlx::query(
            "INSERT INTO settlements (id, group_id, from_user, to_user, amount, currency, \
             occurred_on, note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(DbUuid(s.id.0))
        .bind(DbUuid(s.group_id.0))
        .bind(DbUuid(s.from_user.0))
        .bind(DbUuid(s.to_user.0))
        .bind(s.amount)
        .bind(s.currency.code())
        .bind(DbDate(s.occurred_on))
        .bind(&s.note)
        .bind(DbUuid(s.created_by.0))
        .bind(DbTime(s.created_at))
        .execute(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        insert_activity(&mut tx, &write.activity).await?;
        apply(&mut tx, s.group_id, &write.totals, &write.pairs).await?;
        commit(tx).await?;
        Ok(Inserted::Created)
    }

    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>> {
        sqlx::query_as::<_, SettlementRow>(
            "SELECT id, group_id, from_user, to_user, amount, currency, occurred_on, note, \
             created_by, created_at FROM settlements WHERE group_id = $1 AND id = $2",
        )
        .bind(DbUuid(group.0))
        .bind(DbUuid(id.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(sqlite_error)?
        .map(SettlementRow::into_settlement)
        .transpose()
    }

    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<SettlementRow> = sqlx::query_as(
            "SELECT id, group_id, from_user, to_user, amount, currency, occurred_on, note, \
             created_by, created_at FROM settlements \
             WHERE group_id = $1 \
               AND ($2 IS NULL OR (occurred_on, created_at, id) < ($2, $3, $4)) \
             ORDER BY occurred_on DESC, created_at DESC, id DESC LIMIT $5",
        )
        .bind(DbUuid(group.0))
        .bind(after.map(|c| DbDate(c.occurred_on)))
        .bind(after.map(|c| DbTime(c.created_at)))
        .bind(after.map(|c| DbUuid(c.id)))
        .bind(self::limit(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        rows.into_iter()
            .map(SettlementRow::into_settlement)
            .collect()
    }

    async fn delete_settlement(&self, delete: &SettlementDelete) -> StorageResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM settlements WHERE id = $1 AND group_id = $2")
            .bind(DbUuid(delete.id.0))
            .bind(DbUuid(delete.group_id.0))
            .execute(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        insert_activity(&mut tx, &delete.activity).await?;
        apply(&mut tx, delete.group_id, &delete.totals, &delete.pairs).await?;
        commit(tx).await
    }

    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<TotalsRow> = sqlx::query_as(
            "SELECT user_id, currency, paid, owed, sent, received FROM member_totals \
             WHERE group_id = $1",
        )
        .bind(DbUuid(group.0))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        member_totals(rows)
    }

    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<PairRow> =
            sqlx::query_as("SELECT currency, a, b, amount FROM pair_totals WHERE group_id = $1")
                .bind(DbUuid(group.0))
                .fetch_all(&mut *tx)
                .await
                .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        pair_totals(rows)
    }

    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>> {
        let rows: Vec<UserTotalsRow> = sqlx::query_as(
            "SELECT t.group_id, g.name AS group_name, t.currency, t.paid, t.owed, t.sent, \
             t.received FROM member_totals t \
             JOIN members m ON m.group_id = t.group_id AND m.user_id = t.user_id \
             JOIN groups g ON g.id = t.group_id \
             WHERE t.user_id = $1 ORDER BY t.group_id, t.currency",
        )
        .bind(DbUuid(user.0))
        .fetch_all(&self.pool)
        .await
        .map_err(sqlite_error)?;
        user_totals(rows)
    }

    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>> {
        let sql = match by {
            SummaryBy::Category => {
                "SELECT category AS key, currency, SUM(amount) AS amount, COUNT(*) AS count \
                 FROM expenses WHERE group_id = $1 \
                   AND ($2 IS NULL OR occurred_on >= $2) \
                   AND ($3 IS NULL OR occurred_on <= $3) \
                 GROUP BY category, currency"
            }
            SummaryBy::Month => {
                "SELECT substr(occurred_on, 1, 7) AS key, currency, \
                   SUM(amount) AS amount, COUNT(*) AS count \
                 FROM expenses WHERE group_id = $1 \
                   AND ($2 IS NULL OR occurred_on >= $2) \
                   AND ($3 IS NULL OR occurred_on <= $3) \
                 GROUP BY 1, currency"
            }
            SummaryBy::Member => {
                "SELECT p.user_id AS key, e.currency, SUM(p.owed) AS amount, \
                   COUNT(*) AS count \
                 FROM expense_participants p \
                 JOIN expenses e ON e.group_id = p.group_id AND e.id = p.expense_id \
                 WHERE p.group_id = $1 AND p.sharer \
                   AND ($2 IS NULL OR e.occurred_on >= $2) \
                   AND ($3 IS NULL OR e.occurred_on <= $3) \
                 GROUP BY p.user_id, e.currency"
            }
        };
        let mut tx = self.snapshot().await?;
        let rows: Vec<SummaryDbRow> = sqlx::query_as(sql)
            .bind(DbUuid(group.0))
            .bind(from.map(DbDate))
            .bind(to.map(DbDate))
            .fetch_all(&mut *tx)
            .await
            .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        summary_rows(rows)
    }

    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>> {
        let mut tx = self.snapshot().await?;
        let rows: Vec<ActivityRow> = sqlx::query_as(
            "SELECT id, group_id, actor, action, entity, entity_id, at, details FROM activity \
             WHERE group_id = $1 AND ($2 IS NULL OR (at, id) < ($2, $3)) \
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(DbUuid(group.0))
        .bind(after.map(|c| DbTime(c.at)))
        .bind(after.map(|c| DbUuid(c.id.0)))
        .bind(self::limit(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(sqlite_error)?;
        if rows.is_empty() {
            group_exists(&mut tx, group).await?;
        }
        rows.into_iter().map(ActivityRow::into_activity).collect()
    }
}
