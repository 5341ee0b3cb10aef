//! The seam between the one SQL store and each database.
//!
//! Store code never names PostgreSQL or SQLite. It runs statements through `Stmt`, which
//! binds, runs and decodes through the [`Bind`], [`Run`] and [`Get`] glue: blanket impls
//! whose bounds are checked once, where a dialect names its database, instead of on every
//! impl block of the store. What truly differs (locking clauses, binding a list of ids, the month
//! key, how a write transaction begins, error codes) is a [`Dialect`] item; statements name
//! those places with `{share}`, `{update}`, `{month}` and `{ids $N}`, filled in by
//! `render`.

use std::future::Future;
use std::marker::PhantomData;

use sqlx::error::DatabaseError;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, SqlSafeStr,
    Type,
};
use uuid::Uuid;

use splitledger_core::Cause;
use splitledger_core::money::Money;
use splitledger_core::storage::{StorageError, StorageResult};
use time::{Date, OffsetDateTime};

use crate::rows::{Cols, FromCols, corrupt, json_text};

/// A statement of database `DB` with its arguments.
pub(crate) type Query<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;
/// A connection of the dialect's database.
pub(crate) type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// The database can bind a `T`.
pub trait Bind<T>: Database {
    /// Appends `value` to the statement's arguments.
    fn bind_value(query: Query<Self>, value: T) -> Query<Self>;
}

impl<DB: Database, T: for<'t> Encode<'t, DB> + Type<DB>> Bind<T> for DB {
    fn bind_value(query: Query<Self>, value: T) -> Query<Self> {
        query.bind(value)
    }
}

/// The database can decode a `T` from a column.
pub trait Get<T>: Database {
    /// Column `index` of `row`.
    fn get(row: &Self::Row, index: usize) -> Result<T, sqlx::Error>;
}

impl<DB: Database, T: for<'r> Decode<'r, DB> + Type<DB>> Get<T> for DB
where
    usize: ColumnIndex<DB::Row>,
{
    fn get(row: &DB::Row, index: usize) -> Result<T, sqlx::Error> {
        row.try_get(index)
    }
}

/// The database runs statements on its connections.
pub trait Run: Database {
    /// Runs a statement; what it changed.
    fn execute(
        conn: &mut Self::Connection,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Self::QueryResult, sqlx::Error>> + Send + '_;
    /// Every row a statement returns.
    fn rows(
        conn: &mut Self::Connection,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + '_;
}

impl<DB> Run for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    fn execute(
        conn: &mut DB::Connection,
        query: Query<DB>,
    ) -> impl Future<Output = Result<DB::QueryResult, sqlx::Error>> + Send + '_ {
        query.execute(conn)
    }

    fn rows(
        conn: &mut DB::Connection,
        query: Query<DB>,
    ) -> impl Future<Output = Result<Vec<DB::Row>, sqlx::Error>> + Send + '_ {
        query.fetch_all(conn)
    }
}

/// Everything the store binds and decodes, as one bound: the supertraits are implied
/// wherever `D::Db: SqlDb` is known, so the store's impls need no where-clauses.
pub trait SqlDb:
    Run + Column<Date> + Column<i64> + Column<bool> + Column<String> + Column<Vec<u8>>
{
}

/// The database binds and decodes `T`, and NULL as `None`.
pub trait Column<T>: Bind<T> + Bind<Option<T>> + Get<T> + Get<Option<T>> {}

impl<T, DB: Bind<T> + Bind<Option<T>> + Get<T> + Get<Option<T>>> Column<T> for DB {}

/// What one database does differently.
pub trait Dialect: Send + Sync + 'static + Sized {
    /// The sqlx database.
    type Db: SqlDb
        + Bind<Self::Ids>
        + Column<Self::Uuid>
        + Column<Self::Time>
        + Database<Connection: Migrate>;
    /// A UUID as the database stores it.
    type Uuid: From<Uuid> + Into<Uuid> + Send;
    /// A timestamp (microseconds) as the database stores it.
    type Time: Send;
    /// How a list of ids is bound (an array, or JSON text).
    type Ids: Send;
    /// The store's name in `Debug` output (never the pool's options: they hold passwords).
    const NAME: &'static str;
    /// The schema migrations.
    const MIGRATOR: &'static Migrator;
    /// How a write transaction begins.
    const BEGIN_WRITE: &'static str;
    /// One transaction writes at a time, so writers queue in the store for their turn
    /// rather than in the database's busy handler (see `writer.rs`).
    const ONE_WRITER: bool;
    /// How a read of several statements begins, so they see one snapshot.
    const BEGIN_READ: &'static str;
    /// `{ids $N}`: the text before and after `$N`, a membership test in a bound list.
    const IN_IDS: (&'static str, &'static str);
    /// `{share}`: locks rows against removal, not against other sharers.
    const LOCK_SHARE: &'static str;
    /// `{update}`: locks rows for writing.
    const LOCK_UPDATE: &'static str;
    /// `{month}`: the `YYYY-MM` of `e.occurred_on`.
    const MONTH: &'static str;

    /// `time` as stored.
    fn time(time: OffsetDateTime) -> Self::Time;
    /// A stored timestamp.
    fn from_time(stored: Self::Time) -> Result<OffsetDateTime, time::error::ComponentRange>;
    /// The ids as bound for `{ids $N}`.
    fn ids(ids: &[Uuid]) -> Self::Ids;
    /// How many rows a statement changed.
    fn affected(result: &<Self::Db as Database>::QueryResult) -> u64;
    /// What a database error means, when it means something to core.
    fn classify(error: &dyn DatabaseError) -> Option<Meaning>;

    /// A sqlx error as core sees it, with its chain kept.
    fn error(error: sqlx::Error) -> StorageError {
        let meaning = match &error {
            sqlx::Error::Database(db) => Self::classify(db.as_ref()),
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Some(Meaning::Unavailable),
            _ => None,
        };
        match meaning {
            Some(Meaning::Conflict(code)) => StorageError::Conflict(code),
            Some(Meaning::NotFound) => StorageError::NotFound,
            Some(Meaning::Overflow) => StorageError::Overflow,
            Some(Meaning::Unavailable) => StorageError::Unavailable(Cause::new(error)),
            None => StorageError::Internal(Cause::new(error)),
        }
    }
}

/// What a database error means to core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A uniqueness rule with a conflict code.
    Conflict(&'static str),
    /// A foreign key: the row named does not exist.
    NotFound,
    /// A running total left its bound (or 64 bits).
    Overflow,
    /// The database cannot serve now; retrying later may work.
    Unavailable,
}

/// Uniqueness rules with a conflict code: PostgreSQL names the constraint, SQLite the
/// columns.
pub(crate) const CONFLICTS: &[(&str, &str, &str)] = &[
    ("users_email_key", "users.email", "email_taken"),
    (
        "members_pkey",
        "members.group_id, members.user_id",
        "already_member",
    ),
    ("invites_pkey", "invites.code", "invite_code_taken"),
    (
        "expenses_occurrence_key",
        "expenses.group_id, expenses.series_id, expenses.occurrence_on",
        "occurrence_made",
    ),
    (
        "identities_pkey",
        "identities.issuer, identities.subject",
        "identity_taken",
    ),
    (
        "imports_pkey",
        "imports.group_id, imports.sha256",
        "already_imported",
    ),
];

/// The CHECK constraints that bound running totals (named `<table>_within_limit`).
pub(crate) fn is_total_bound(constraint: &str) -> bool {
    constraint.ends_with("_within_limit")
}

/// The statement text for dialect `D`: placeholders filled in, everything else as written
/// (a brace that is no placeholder stays; statements have none, the audit test checks).
pub(crate) fn render<D: Dialect>(sql: &str) -> String {
    let sql = (sql.replace("{share}", D::LOCK_SHARE))
        .replace("{update}", D::LOCK_UPDATE)
        .replace("{month}", D::MONTH);
    let mut parts = sql.split("{ids ");
    let mut out = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        let (param, rest) = part.split_once('}').unwrap_or((part, ""));
        out.extend([D::IN_IDS.0, param, D::IN_IDS.1, rest]);
    }
    out
}

/// A statement on its way to the database: bound values are checked against the dialect's
/// database at compile time, errors come back as core's. A value that cannot be bound (JSON
/// that does not serialise) is kept as the statement's error, returned when it runs.
pub(crate) struct Stmt<D: Dialect>(StorageResult<Query<D::Db>>, PhantomData<D>);

impl<D: Dialect> Stmt<D> {
    /// A statement of the store (placeholders filled in only when it has some, so the hot
    /// statements cost no allocation).
    pub fn new(sql: &'static str) -> Self {
        if sql.contains('{') {
            Self::dynamic(render::<D>(sql))
        } else {
            Self(Ok(sqlx::query(sql)), PhantomData)
        }
    }

    /// A statement built at run time (multi-row VALUES lists; see [`Rows`]).
    pub fn dynamic(sql: String) -> Self {
        Self(
            Ok(sqlx::query(AssertSqlSafe(sql).into_sql_str())),
            PhantomData,
        )
    }

    pub fn bind<T>(self, value: T) -> Self
    where
        D::Db: Bind<T>,
    {
        Self(self.0.map(|q| D::Db::bind_value(q, value)), PhantomData)
    }

    /// Binds `value` as JSON text.
    pub fn bind_json(self, value: &impl serde::Serialize) -> Self {
        match json_text(value) {
            Ok(text) => self.bind(text),
            Err(error) => Self(Err(error), PhantomData),
        }
    }

    /// Binds `args` (one value, or a tuple of them in placeholder order).
    pub fn args(self, args: impl Arg<D>) -> Self {
        args.put(self)
    }

    /// Runs it; how many rows it changed.
    pub async fn execute(self, conn: &mut Conn<D>) -> StorageResult<u64> {
        let done = <D::Db as Run>::execute(conn, self.0?)
            .await
            .map_err(D::error)?;
        Ok(D::affected(&done))
    }

    pub async fn all<O: FromCols>(self, conn: &mut Conn<D>) -> StorageResult<Vec<O>> {
        let rows = <D::Db as Run>::rows(conn, self.0?)
            .await
            .map_err(D::error)?;
        rows.iter()
            .map(|row| O::read(&mut Cols::<D>::new(row)))
            .collect()
    }
}

/// Runs statement `sql` with `args`; how many rows it changed.
pub(crate) async fn exec<D: Dialect>(
    c: &mut Conn<D>,
    sql: &'static str,
    args: impl Arg<D>,
) -> StorageResult<u64> {
    Stmt::<D>::new(sql).args(args).execute(c).await
}

/// Every row statement `sql` returns for `args`.
pub(crate) async fn all<D: Dialect, O: FromCols>(
    c: &mut Conn<D>,
    sql: &'static str,
    args: impl Arg<D>,
) -> StorageResult<Vec<O>> {
    Stmt::<D>::new(sql).args(args).all(c).await
}

/// The row statement `sql` returns for `args` (it names one row by its key).
pub(crate) async fn one<D: Dialect, O: FromCols>(
    c: &mut Conn<D>,
    sql: &'static str,
    args: impl Arg<D>,
) -> StorageResult<Option<O>> {
    Ok(all::<D, O>(c, sql, args).await?.into_iter().next())
}

/// A domain value as its column holds it (ids as UUIDs, times as timestamps, codes as text).
pub(crate) trait Col {
    /// What is bound (a [`Physical`] value the dialect may store its own way).
    type Raw: Physical;
    /// The value to bind.
    fn raw(&self) -> Self::Raw;
}

/// A column value as dialect `D` binds and decodes it: UUIDs and timestamps as
/// [`Dialect::Uuid`] and [`Dialect::Time`], everything else as it is.
pub(crate) trait Physical: Sized {
    type In<D: Dialect>;
    fn to_db<D: Dialect>(self) -> Self::In<D>;
    fn from_db<D: Dialect>(stored: Self::In<D>) -> StorageResult<Self>;
}

macro_rules! physical {
    ($($t:ty => $in:ty, |$v:ident| $to:expr, |$s:ident| $from:expr;)*) => {$(
        impl Physical for $t {
            type In<D: Dialect> = $in;
            fn to_db<D: Dialect>(self) -> $in {
                let $v = self;
                $to
            }
            fn from_db<D: Dialect>($s: $in) -> StorageResult<Self> {
                $from
            }
        }
    )*};
}

physical! {
    Uuid => D::Uuid, |v| v.into(), |s| Ok(s.into());
    OffsetDateTime => D::Time, |v| D::time(v), |s| D::from_time(s).map_err(corrupt);
    Date => Date, |v| v, |s| Ok(s);
    i64 => i64, |v| v, |s| Ok(s);
    bool => bool, |v| v, |s| Ok(s);
    String => String, |v| v, |s| Ok(s);
    Vec<u8> => Vec<u8>, |v| v, |s| Ok(s);
}

/// The type dialect `D` binds for `T`.
type Bound<T, D> = <<T as Col>::Raw as Physical>::In<D>;

impl<T: Col + ?Sized> Col for &T {
    type Raw = T::Raw;
    fn raw(&self) -> T::Raw {
        (**self).raw()
    }
}

/// What a statement binds: a [`Col`], an optional one (NULL when absent), a record (its
/// columns, `record!` in `rows.rs`), a list of [`Ids`], a reference to any of those, or a
/// tuple of them in placeholder order.
pub(crate) trait Arg<D: Dialect> {
    /// Appends the value(s) to the statement's arguments.
    fn put(&self, stmt: Stmt<D>) -> Stmt<D>;
}

impl<D: Dialect, T: Col + ?Sized> Arg<D> for T
where
    D::Db: Bind<Bound<T, D>>,
{
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(self.raw().to_db::<D>())
    }
}

impl<D: Dialect, T: Col> Arg<D> for Option<T>
where
    D::Db: Bind<Option<Bound<T, D>>>,
{
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(self.as_ref().map(|v| v.raw().to_db::<D>()))
    }
}

/// A reference binds what it refers to (`&Expense` binds its columns).
macro_rules! by_ref {
    ($($t:ty),*) => {$(
        impl<D: Dialect> Arg<D> for &$t {
            fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
                (**self).put(stmt)
            }
        }
    )*};
}
pub(crate) use by_ref;

by_ref!(Money);

/// Units, then currency.
impl<D: Dialect> Arg<D> for Money {
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.args((self.units(), self.currency()))
    }
}

impl<D: Dialect> Arg<D> for () {
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        stmt
    }
}

/// A list of ids, for `{ids $N}`.
pub(crate) struct Ids<'a>(pub &'a [Uuid]);

impl<D: Dialect> Arg<D> for Ids<'_> {
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(D::ids(self.0))
    }
}

/// `Arg` for tuples of 2 to 10 args: each prefix of the list, then the list.
macro_rules! tuple_args {
    ($($n:tt $t:ident),+; $next:tt $next_t:ident $(, $rest:tt $rest_t:ident)*) => {
        tuple_args!($($n $t),+;);
        tuple_args!($($n $t),+, $next $next_t; $($rest $rest_t),*);
    };
    ($($n:tt $t:ident),+;) => {
        impl<D: Dialect, $($t: Arg<D>),+> Arg<D> for ($($t,)+) {
            fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
                $(let stmt = self.$n.put(stmt);)+
                stmt
            }
        }
    };
}

tuple_args!(0 A, 1 B; 2 C, 3 E, 4 F, 5 G, 6 H, 7 I, 8 J, 9 K);

/// A multi-row statement: `prefix`, then one tuple per row of the `shared` leading
/// placeholders every row repeats and `width` of its own, then `suffix`. One statement, one
/// round trip, on both databases.
pub(crate) struct Rows {
    pub prefix: &'static str,
    pub shared: usize,
    pub width: usize,
    pub suffix: &'static str,
}

impl Rows {
    /// The statement for `rows` rows: `($1, $2, $3), ($1, $2, $4)` for shared 2, width 1.
    pub fn sql(&self, rows: usize) -> String {
        let param = |n: usize| format!("${n}");
        let tuples: Vec<String> = (0..rows)
            .map(|row| {
                let own = self.shared + 1 + row * self.width;
                let params = (1..=self.shared).chain(own..own + self.width).map(param);
                format!("({})", params.collect::<Vec<_>>().join(", "))
            })
            .collect();
        format!("{}{}{}", self.prefix, tuples.join(", "), self.suffix)
    }
}

/// Runs multi-row statement `stmt` with the `shared` args and one tuple of args per row (no
/// rows: nothing to run).
pub(crate) async fn exec_rows<D: Dialect, R: Arg<D>>(
    c: &mut Conn<D>,
    stmt: &Rows,
    shared: impl Arg<D>,
    rows: Vec<R>,
) -> StorageResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = Stmt::<D>::dynamic(stmt.sql(rows.len())).args(shared);
    let stmt = rows.into_iter().fold(stmt, |stmt, row| stmt.args(row));
    stmt.execute(c).await.map(drop)
}
