//! [`SqlStore`]: splitledger's store on any SQL database with a [`Dialect`].
//!
//! Every write is one transaction that takes its locks in one global order: the entry id
//! registry, then member rows (`{share}`, in id order), then the entry's own row, and the
//! group's running totals last, in the key order [`Effect`] gives, so they are held as
//! briefly as possible and concurrent writers never deadlock. On PostgreSQL (READ
//! COMMITTED) those are row locks; SQLite's writes begin `IMMEDIATE` and hold the database
//! write lock instead. Running totals are bounded by CHECK constraints, so a write that
//! would take one past ±10^18 fails in the database and rolls back as `Overflow`.

mod accounts;
mod entries;
mod files;
mod groups;
mod imports;
mod recurring;
mod reports;

use std::marker::PhantomData;

use sqlx::pool::PoolConnection;
use sqlx::{Pool, Transaction};
use uuid::Uuid;

use splitledger_core::domain::{Activity, Expense, GroupId, UserId};
use splitledger_core::entry::Effect;
use splitledger_core::split::Portion;
use splitledger_core::storage::{StorageError, StorageResult};

use crate::dialect::{Arg, Conn, Dialect, Ids, all, exec, exec_rows, one, render};
use crate::rows::{AttachmentRow, FromCols, Participant};
use crate::sql;
use crate::writer::{Turn, Write};

/// splitledger's store on the SQL database of dialect `D` ([`PgStorage`](crate::PgStorage),
/// [`SqliteStorage`](crate::SqliteStorage)).
pub struct SqlStore<D: Dialect> {
    pub(crate) pool: Pool<D::Db>,
    turn: Turn,
    dialect: PhantomData<D>,
}

// By hand: a derive would ask `D::Db: Clone` of the pool's database type too.
impl<D: Dialect> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        // Clones share the writers' turn: they are one store.
        Self {
            pool: self.pool.clone(),
            turn: self.turn.clone(),
            dialect: PhantomData,
        }
    }
}

impl<D: Dialect> std::fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(D::NAME)
    }
}

impl<D: Dialect> SqlStore<D> {
    /// A store over an existing pool (tests, or a program that shares its pool). Does not
    /// migrate.
    pub fn from_pool(pool: Pool<D::Db>) -> Self {
        Self {
            pool,
            turn: Turn::new::<D>(),
            dialect: PhantomData,
        }
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool<D::Db> {
        &self.pool
    }

    /// Applies the embedded migrations ([`POSTGRES_MIGRATOR`](crate::POSTGRES_MIGRATOR),
    /// [`SQLITE_MIGRATOR`](crate::SQLITE_MIGRATOR)). A failed statement is the database's
    /// own error; a changed or missing migration is `Internal`.
    pub async fn migrate(&self) -> StorageResult<()> {
        D::MIGRATOR
            .run(&self.pool)
            .await
            .map_err(crate::migrations::migrate_error::<D>)
    }

    /// Every statement this store can run, by name, as its database receives it (multi-row
    /// inserts shown with two rows): for audits, such as the test that every group-scoped
    /// statement is bounded by `group_id`.
    pub fn statements() -> Vec<(&'static str, String)> {
        let one = sql::ALL
            .iter()
            .map(|(name, text)| (*name, render::<D>(text)));
        let rows = sql::ALL_ROWS
            .iter()
            .map(|(name, rows)| (*name, rows.sql(2)));
        one.chain(rows).collect()
    }

    /// A write transaction, once it is this writer's turn (see [`Write`]).
    pub(crate) async fn write(&self) -> StorageResult<Write<D>> {
        let turn = self.turn.take().await?;
        let tx = self
            .pool
            .begin_with(D::BEGIN_WRITE)
            .await
            .map_err(D::error)?;
        Ok(Write::new(tx, turn))
    }

    /// One snapshot for a read of several statements.
    pub(crate) async fn snapshot(&self) -> StorageResult<Transaction<'static, D::Db>> {
        self.pool.begin_with(D::BEGIN_READ).await.map_err(D::error)
    }

    /// A connection for a read of one statement (plus, when it finds nothing, the check that
    /// the group exists: either answer is a valid moment, no snapshot needed).
    pub(crate) async fn conn(&self) -> StorageResult<PoolConnection<D::Db>> {
        self.pool.acquire().await.map_err(D::error)
    }
}

/// The last steps of a write: its activity record, the running totals its effect changes
/// (last, in lock order), the commit.
pub(crate) async fn finish<D: Dialect>(
    mut tx: Write<D>,
    activity: &Activity,
    effect: Option<(GroupId, &Effect)>,
) -> StorageResult<()> {
    exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
    if let Some((group, effect)) = effect {
        apply::<D>(&mut tx, group, effect).await?;
    }
    tx.commit().await
}

/// `NotFound` unless statement `sql` finds (or locks) a row for `args`.
pub(crate) async fn exists<D: Dialect>(
    c: &mut Conn<D>,
    sql: &'static str,
    args: impl Arg<D>,
) -> StorageResult<()> {
    let found: Option<Uuid> = one::<D, _>(c, sql, args).await?;
    found.map(drop).ok_or(StorageError::NotFound)
}

/// The rows of a group-scoped read (`$1` is the group, `rest` the placeholders after it);
/// `NotFound` when there are none because the group does not exist.
pub(crate) async fn group_rows<D: Dialect, O: FromCols>(
    c: &mut Conn<D>,
    sql: &'static str,
    group: GroupId,
    rest: impl Arg<D>,
) -> StorageResult<Vec<O>> {
    let rows = all::<D, O>(c, sql, (group, rest)).await?;
    if rows.is_empty() {
        exists::<D>(c, sql::GROUP_EXISTS, group).await?;
    }
    Ok(rows)
}

/// Locks the member rows of `users` (sorted) until commit, so a removal waits for this
/// write or makes it fail; `NotFound` if the group does not exist, else `NotMember` for the
/// first one missing.
pub(crate) async fn lock_members<D: Dialect>(
    c: &mut Conn<D>,
    group: GroupId,
    users: &[UserId],
) -> StorageResult<()> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
    let found: Vec<Uuid> = all::<D, _>(c, sql::LOCK_MEMBERS, (group, Ids(&ids))).await?;
    if found.len() < users.len() {
        exists::<D>(c, sql::GROUP_EXISTS, group).await?;
    }
    match users.iter().find(|u| !found.contains(&u.0)) {
        Some(missing) => Err(StorageError::NotMember(*missing)),
        None => Ok(()),
    }
}

/// Expenses with their participant rows, read in the same snapshot.
pub(crate) async fn with_participants<D: Dialect>(
    c: &mut Conn<D>,
    group: GroupId,
    mut expenses: Vec<Expense>,
) -> StorageResult<Vec<Expense>> {
    if expenses.is_empty() {
        return Ok(expenses);
    }
    let ids: Vec<Uuid> = expenses.iter().map(|e| e.id.0).collect();
    let mut parts: Vec<Participant> = all::<D, _>(c, sql::PARTICIPANTS, (group, Ids(&ids))).await?;
    parts.sort_by_key(|p| p.user);
    for e in &mut expenses {
        for p in parts.iter().filter(|p| p.expense == e.id.0) {
            let portion = |amount| Portion {
                user_id: p.user,
                amount,
            };
            e.payers.extend(p.payer.then(|| portion(p.paid)));
            e.shares.extend(p.sharer.then(|| portion(p.owed)));
        }
    }
    // Their receipts, in the same snapshot (oldest first).
    let refs: Vec<AttachmentRow> = all::<D, _>(c, sql::ATTACHMENT_REFS, (group, Ids(&ids))).await?;
    for r in refs {
        if let Some(e) = expenses.iter_mut().find(|e| e.id == r.expense) {
            e.attachments.push(r.summary);
        }
    }
    Ok(expenses)
}

/// An expense's participant rows, one statement: paid and owed per member, and whether the
/// member is listed among payers and shares (so the lists round-trip exactly).
pub(crate) async fn insert_participants<D: Dialect>(
    c: &mut Conn<D>,
    e: &Expense,
) -> StorageResult<()> {
    let rows = e.rows().map_err(|_| StorageError::Overflow)?;
    let rows: Vec<_> = (rows.iter())
        .map(|r| {
            let sharer = e.shares.iter().any(|s| s.user_id == r.user_id);
            (r.user_id, r.paid, r.owed, e.is_payer(r.user_id), sharer)
        })
        .collect();
    exec_rows::<D, _>(c, &sql::INSERT_PARTICIPANTS, (e.group_id, e.id.0), rows).await
}

/// Adds an effect to the group's running totals and pair totals: one statement each, rows in
/// the effect's key order. A total past its bound fails the statement (`Overflow`).
pub(crate) async fn apply<D: Dialect>(
    c: &mut Conn<D>,
    group: GroupId,
    effect: &Effect,
) -> StorageResult<()> {
    let totals = effect
        .totals
        .iter()
        .map(|t| (t.user_id, t.currency, t.delta));
    exec_rows::<D, _>(c, &sql::ADD_TOTALS, group, totals.collect()).await?;
    let pairs = effect
        .pairs
        .iter()
        .map(|p| (p.currency, p.a, p.b, p.amount));
    exec_rows::<D, _>(c, &sql::ADD_PAIRS, group, pairs.collect()).await
}

/// `NotFound` when a statement that names one row by its key changed none.
pub(crate) fn found(changed: u64) -> StorageResult<()> {
    if changed == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}
