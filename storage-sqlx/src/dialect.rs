//! The seam between the one SQL store and each database.
//!
//! Store code never names PostgreSQL or SQLite. It runs statements through `Stmt`, which
//! binds and decodes through the [`Bind`] and [`Fetch`] and [`Get`] glue: generic blanket impls whose
//! bounds are checked once, where a dialect names its database, instead of on every impl
//! block of the store. What truly differs (locking clauses, binding a list of ids, the month
//! key, how a write transaction begins, error codes) is a [`Dialect`] item; statements name
//! those places with `{share}`, `{update}`, `{month}` and `{ids $N}`, filled in by
//! `render`.

use std::future::Future;
use std::marker::PhantomData;

use sqlx::error::DatabaseError;
use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, SqlSafeStr,
    Type,
};
use uuid::Uuid;

use splitledger_core::domain::{GroupId, Role, UserId};
use splitledger_core::entry::EntryKind;
use splitledger_core::money::Minor;
use splitledger_core::storage::{StorageError, StorageResult};
use splitledger_core::{Cause, Currency};
use time::{Date, OffsetDateTime};

use crate::rows::{Cols, FromCols};
use crate::types::{DbDate, DbTime, DbUuid};

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

/// The database can run statements on its connections.
pub trait Fetch: Database {
    /// Every row.
    fn rows(
        conn: &mut Self::Connection,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + '_;
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

/// The database can run statements that return no rows.
pub trait Exec: Database {
    /// Runs it.
    fn execute(
        conn: &mut Self::Connection,
        query: Query<Self>,
    ) -> impl Future<Output = Result<Self::QueryResult, sqlx::Error>> + Send + '_;
}

impl<DB> Exec for DB
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
}

impl<DB> Fetch for DB
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
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
    Exec
    + Bind<DbUuid>
    + Bind<Option<DbUuid>>
    + Bind<DbTime>
    + Bind<Option<DbTime>>
    + Bind<DbDate>
    + Bind<Option<DbDate>>
    + Bind<i64>
    + Bind<bool>
    + Bind<Vec<u8>>
    + Bind<Option<Vec<u8>>>
    + Bind<&'static str>
    + Bind<Option<&'static str>>
    + Bind<String>
    + Bind<Option<String>>
    + Fetch
    + Get<DbUuid>
    + Get<DbTime>
    + Get<Option<DbTime>>
    + Get<DbDate>
    + Get<String>
    + Get<Option<String>>
    + Get<i64>
    + Get<bool>
{
}

/// What one database does differently.
pub trait Dialect: Send + Sync + 'static + Sized {
    /// The sqlx database.
    type Db: SqlDb + Bind<Self::Ids>;
    /// How a list of ids is bound (an array, or JSON text).
    type Ids: Send;
    /// The store's name in `Debug` output (never the pool's options: they hold passwords).
    const NAME: &'static str;
    /// How a write transaction begins (`None`: the driver's default).
    const BEGIN_WRITE: Option<&'static str>;
    /// How a read of several statements begins, so they see one snapshot.
    const BEGIN_READ: Option<&'static str>;
    /// `{ids $N}`: the text before and after `$N`, a membership test in a bound list.
    const IN_IDS: (&'static str, &'static str);
    /// `{share}`: locks rows against removal, not against other sharers.
    const LOCK_SHARE: &'static str;
    /// `{update}`: locks rows for writing.
    const LOCK_UPDATE: &'static str;
    /// `{month}`: the `YYYY-MM` of `e.occurred_on`.
    const MONTH: &'static str;

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
];

/// The CHECK constraints that bound running totals (named `<table>_within_limit`).
pub(crate) fn is_total_bound(constraint: &str) -> bool {
    constraint.ends_with("_within_limit")
}

/// The statement text for dialect `D`: placeholders filled in, everything else as written.
pub(crate) fn render<D: Dialect>(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        match &rest[start + 1..start + len] {
            "share" => out.push_str(D::LOCK_SHARE),
            "update" => out.push_str(D::LOCK_UPDATE),
            "month" => out.push_str(D::MONTH),
            token => match token.strip_prefix("ids ") {
                Some(param) => {
                    out.push_str(D::IN_IDS.0);
                    out.push_str(param);
                    out.push_str(D::IN_IDS.1);
                }
                // Not a placeholder: keep it (statements use none; the audit test checks).
                None => out.push_str(&rest[start..=start + len]),
            },
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// A statement on its way to the database: bound values are checked against the dialect's
/// database at compile time, errors come back as core's.
pub(crate) struct Stmt<D: Dialect>(Query<D::Db>, PhantomData<D>);

impl<D: Dialect> Stmt<D> {
    /// A statement of the store (placeholders filled in only when it has some, so the hot
    /// statements cost no allocation).
    pub fn new(sql: &'static str) -> Self {
        if sql.contains('{') {
            Self::dynamic(render::<D>(sql))
        } else {
            Self(sqlx::query(sql), PhantomData)
        }
    }

    /// A statement built at run time (multi-row VALUES lists; see [`values`]).
    pub fn dynamic(sql: String) -> Self {
        Self(sqlx::query(AssertSqlSafe(sql).into_sql_str()), PhantomData)
    }

    pub fn bind<T>(self, value: T) -> Self
    where
        D::Db: Bind<T>,
    {
        Self(<D::Db as Bind<T>>::bind_value(self.0, value), PhantomData)
    }

    /// Binds `args` (one value, or a tuple of them in placeholder order).
    pub fn args(self, args: impl Arg<D>) -> Self {
        args.bind_to(self)
    }

    /// Runs it; how many rows it changed.
    pub async fn execute(self, conn: &mut Conn<D>) -> StorageResult<u64> {
        let done = <D::Db as Exec>::execute(conn, self.0)
            .await
            .map_err(D::error)?;
        Ok(D::affected(&done))
    }

    pub async fn all<O: FromCols>(self, conn: &mut Conn<D>) -> StorageResult<Vec<O>> {
        let rows = <D::Db as Fetch>::rows(conn, self.0)
            .await
            .map_err(D::error)?;
        rows.iter()
            .map(|row| O::read(&mut Cols::<D::Db>::new(row)))
            .collect()
    }

    pub async fn optional<O: FromCols>(self, conn: &mut Conn<D>) -> StorageResult<Option<O>> {
        // Statements read through `optional` name one row by its key.
        Ok(self.all(conn).await?.into_iter().next())
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
    Stmt::<D>::new(sql).args(args).optional(c).await
}

/// A domain value as its column holds it (ids as UUIDs, times as timestamps, codes as text).
pub(crate) trait Col {
    /// What is bound.
    type Raw;
    /// The value to bind.
    fn raw(self) -> Self::Raw;
}

macro_rules! col {
    ($($t:ty => $raw:ty, |$v:ident| $e:expr;)*) => {$(
        impl Col for $t {
            type Raw = $raw;
            fn raw(self) -> $raw {
                let $v = self;
                $e
            }
        }
    )*};
}

col! {
    Uuid => DbUuid, |v| DbUuid(v);
    GroupId => DbUuid, |v| DbUuid(v.0);
    UserId => DbUuid, |v| DbUuid(v.0);
    OffsetDateTime => DbTime, |v| DbTime(v);
    Date => DbDate, |v| DbDate(v);
    i64 => i64, |v| v;
    Minor => i64, |v| v.get();
    bool => bool, |v| v;
    String => String, |v| v;
    &str => String, |v| v.to_owned();
    &String => String, |v| v.clone();
    Currency => &'static str, |v| v.code();
    Role => &'static str, |v| v.as_str();
    EntryKind => &'static str, |v| v.as_str();
    Vec<u8> => Vec<u8>, |v| v;
}

/// What a statement binds: a [`Col`], an optional one (NULL when absent), a list of [`Ids`],
/// or a tuple of those in placeholder order.
pub(crate) trait Arg<D: Dialect> {
    /// Appends the value(s) to the statement's arguments.
    fn bind_to(self, stmt: Stmt<D>) -> Stmt<D>;
}

impl<D: Dialect, T: Col> Arg<D> for T
where
    D::Db: Bind<T::Raw>,
{
    fn bind_to(self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(self.raw())
    }
}

impl<D: Dialect, T: Col> Arg<D> for Option<T>
where
    D::Db: Bind<Option<T::Raw>>,
{
    fn bind_to(self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(self.map(Col::raw))
    }
}

impl<D: Dialect> Arg<D> for () {
    fn bind_to(self, stmt: Stmt<D>) -> Stmt<D> {
        stmt
    }
}

/// A list of ids, for `{ids $N}`.
pub(crate) struct Ids<'a>(pub &'a [Uuid]);

impl<D: Dialect> Arg<D> for Ids<'_> {
    fn bind_to(self, stmt: Stmt<D>) -> Stmt<D> {
        stmt.bind(D::ids(self.0))
    }
}

macro_rules! tuple_args {
    ($($n:tt $t:ident),+) => {
        impl<D: Dialect, $($t: Arg<D>),+> Arg<D> for ($($t,)+) {
            fn bind_to(self, stmt: Stmt<D>) -> Stmt<D> {
                $(let stmt = self.$n.bind_to(stmt);)+
                stmt
            }
        }
    };
}

tuple_args!(0 A, 1 B);
tuple_args!(0 A, 1 B, 2 C);
tuple_args!(0 A, 1 B, 2 C, 3 E);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F, 5 G);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F, 5 G, 6 H);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F, 5 G, 6 H, 7 I);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F, 5 G, 6 H, 7 I, 8 J);
tuple_args!(0 A, 1 B, 2 C, 3 E, 4 F, 5 G, 6 H, 7 I, 8 J, 9 K);

/// `prefix` followed by `rows` tuples of `width` placeholders, numbered after `shared`
/// leading ones that every tuple repeats: `($1, $2, $3), ($1, $2, $4)` for shared 2, width
/// 1. One statement, one round trip, on both databases.
pub(crate) fn values(
    prefix: &str,
    shared: usize,
    width: usize,
    rows: usize,
    suffix: &str,
) -> String {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * width * 6);
    sql.push_str(prefix);
    let mut next = shared + 1;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        let shared_params = (1..=shared).map(|n| format!("${n}"));
        let own = (next..next + width).map(|n| format!("${n}"));
        sql.push_str(&shared_params.chain(own).collect::<Vec<_>>().join(", "));
        sql.push(')');
        next += width;
    }
    sql.push_str(suffix);
    sql
}
