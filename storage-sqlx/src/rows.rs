//! Core's records read straight from result rows, column by column in the order the
//! statements of `sql.rs` select them: one list of fields per record, for both databases.
//! A stored value core cannot read (an unknown currency, a bad email) is `Internal`: the
//! database holds something no write of ours put there.

use serde_json::Value;
use splitledger_core::balance::{PairDelta, Totals};
use splitledger_core::domain::{
    Activity, ActivityId, Attachment, AttachmentId, AttachmentRef, Comment, CommentId, Conversion,
    ConversionId, ConversionRow, Email, Expense, ExpenseDetails, ExpenseFilter, ExpenseId,
    ExpenseKind, Group, GroupId, Identity, Invite, LoginFailures, Member, MemberTotals, Membership,
    Occurrence, Original, PendingLogin, Role, SeriesId, Session, Settlement, SettlementId,
    SummaryRow, TokenDigest, User, UserGroupTotals, UserId, UserRecord,
};
use splitledger_core::entry::EntryKind;
use splitledger_core::exchange::Rate;
use splitledger_core::ledger::NewExpense;
use splitledger_core::money::{Minor, Money};
use splitledger_core::recurring::{Every, Schedule, Series};
use splitledger_core::split::SplitInput;
use splitledger_core::storage::{StorageError, StorageResult};
use splitledger_core::{Cause, Currency, ValidationErrors};
use sqlx::Database;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::dialect::{Arg, Col, Dialect, Get, Physical, Stmt, by_ref};

/// A stored value that does not parse: the parser's error is the cause.
pub(crate) fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Internal(Cause::new(error))
}

/// JSON as stored (text, so a value round-trips byte for byte).
pub(crate) fn json_text(value: &impl serde::Serialize) -> StorageResult<String> {
    serde_json::to_string(value).map_err(corrupt)
}

/// A stored code (role, kind) core does not know.
fn unknown(error: ValidationErrors) -> StorageError {
    corrupt(error)
}

/// A result row of dialect `D`, read left to right.
pub(crate) struct Cols<'r, D: Dialect> {
    row: &'r <D::Db as Database>::Row,
    next: usize,
}

impl<'r, D: Dialect> Cols<'r, D> {
    pub(crate) fn new(row: &'r <D::Db as Database>::Row) -> Self {
        Self { row, next: 0 }
    }

    /// The next column as the database decodes it.
    fn get<T>(&mut self) -> StorageResult<T>
    where
        D::Db: Get<T>,
    {
        self.next += 1;
        D::Db::get(self.row, self.next - 1).map_err(corrupt)
    }

    /// The next value (one column, or several for a record).
    fn read<T: FromCols>(&mut self) -> StorageResult<T> {
        T::read(self)
    }
}

/// A value read from one result row.
pub(crate) trait FromCols: Sized {
    /// Reads it, consuming the columns it spans.
    fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self>;
}

/// Single-column values: bound ([`Col`]) as `raw`, and (with `read`) read back, also as
/// `Option` for a NULL: `type: raw => |value| raw to bind, read |raw| value`.
macro_rules! columns {
    ($($t:ty: $raw:ty => |$v:ident| $to:expr $(, read |$r:ident| $from:expr)?;)*) => {$(
        impl Col for $t {
            type Raw = $raw;
            fn raw(&self) -> $raw {
                let $v = self;
                $to
            }
        }
        $(
            impl FromCols for $t {
                fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
                    let $r = <$raw>::from_db::<D>(c.get()?)?;
                    $from
                }
            }
            impl FromCols for Option<$t> {
                fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
                    let stored: Option<<$raw as Physical>::In<D>> = c.get()?;
                    let read = |$r: $raw| -> StorageResult<$t> { $from };
                    stored.map(|s| read(<$raw>::from_db::<D>(s)?)).transpose()
                }
            }
        )?
    )*};
}

columns! {
    Uuid: Uuid => |v| *v, read |r| Ok(r);
    UserId: Uuid => |v| v.0, read |r| Ok(UserId(r));
    GroupId: Uuid => |v| v.0, read |r| Ok(GroupId(r));
    ExpenseId: Uuid => |v| v.0, read |r| Ok(ExpenseId(r));
    SettlementId: Uuid => |v| v.0, read |r| Ok(SettlementId(r));
    ActivityId: Uuid => |v| v.0, read |r| Ok(ActivityId(r));
    ConversionId: Uuid => |v| v.0, read |r| Ok(ConversionId(r));
    SeriesId: Uuid => |v| v.0, read |r| Ok(SeriesId(r));
    Every: String => |v| v.as_str().to_owned(), read |r| r.parse().map_err(unknown);
    AttachmentId: Uuid => |v| v.0, read |r| Ok(AttachmentId(r));
    CommentId: Uuid => |v| v.0, read |r| Ok(CommentId(r));
    // Sizes are written from a file's length, so a negative one is not ours.
    u64: i64 => |v| i64::try_from(*v).unwrap_or(i64::MAX), read |r| u64::try_from(r).map_err(corrupt);
    Rate: String => |v| v.to_string(), read |r| Rate::parse(&r).map_err(corrupt);
    OffsetDateTime: OffsetDateTime => |v| *v, read |r| Ok(r);
    Date: Date => |v| *v, read |r| Ok(r);
    i64: i64 => |v| *v, read |r| Ok(r);
    // Counts are written from a u32, so a larger one is not ours.
    u32: i64 => |v| i64::from(*v), read |r| u32::try_from(r).map_err(corrupt);
    Minor: i64 => |v| v.get(), read |r| Ok(Minor::new(r));
    bool: bool => |v| *v, read |r| Ok(r);
    String: String => |v| v.clone(), read |r| Ok(r);
    str: String => |v| v.to_owned();
    Email: String => |v| v.as_str().to_owned(), read |r| Email::parse(&r).map_err(corrupt);
    Currency: String => |v| v.code().to_owned(), read |r| Currency::parse(&r).map_err(corrupt);
    Role: String => |v| v.as_str().to_owned(), read |r| r.parse().map_err(unknown);
    ExpenseKind: String => |v| v.as_str().to_owned(), read |r| r.parse().map_err(unknown);
    EntryKind: String => |v| v.as_str().to_owned();
    TokenDigest: Vec<u8> => |v| v.0.to_vec(), read |r| <[u8; 32]>::try_from(r)
        .map(TokenDigest)
        .map_err(|_| StorageError::internal("a stored digest is not 32 bytes"));
}

/// JSON columns: text, bound through [`Stmt::bind_json`] and parsed when read.
macro_rules! json_columns {
    ($($t:ty),*) => {$(
        impl<D: Dialect> Arg<D> for $t {
            fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
                stmt.bind_json(self)
            }
        }
        impl<D: Dialect> Arg<D> for Option<$t> {
            fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
                match self {
                    Some(value) => stmt.bind_json(value),
                    None => stmt.bind(None::<String>),
                }
            }
        }
        impl FromCols for $t {
            fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
                serde_json::from_str(&c.get::<String>()?).map_err(corrupt)
            }
        }
        impl FromCols for Option<$t> {
            fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
                let text: Option<String> = c.get()?;
                text.map(|t| serde_json::from_str(&t).map_err(corrupt)).transpose()
            }
        }
        by_ref!($t);
    )*};
}

json_columns!(
    Value,
    SplitInput<UserId>,
    Box<Original>,
    Vec<ConversionRow>,
    Vec<PairDelta<UserId>>,
    NewExpense
);

/// Records spanning several columns, one per field in order (`field = expr` is not stored).
/// `read` records are read from rows, `bound` ones bound whole as statement arguments,
/// `stored` ones both, in the same order: a statement writes a record with the very column
/// list it reads it back with.
macro_rules! record {
    ($($mode:ident $t:ident $(<$g:ty>)? { $($field:ident $(= $fixed:expr)?),* $(,)? })*) => {$(
        record!(@$mode $t $(<$g>)? { $($field $(= $fixed)?),* });
    )*};
    (@stored $($record:tt)*) => {
        record!(@read $($record)*);
        record!(@bound $($record)*);
    };
    (@read $t:ident $(<$g:ty>)? { $($field:ident $(= $fixed:expr)?),* }) => {
        impl FromCols for $t $(<$g>)? {
            fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
                // Struct expressions evaluate their fields in the order written.
                Ok($t { $($field: record!(@get c $($fixed)?)),* })
            }
        }
    };
    (@bound $t:ident $(<$g:ty>)? { $($field:ident $(= $fixed:expr)?),* }) => {
        impl<D: Dialect> Arg<D> for $t $(<$g>)? {
            fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
                $(let stmt = record!(@put self.$field, stmt $(, $fixed)?);)*
                stmt
            }
        }
        by_ref!($t $(<$g>)?);
    };
    (@get $c:ident) => { $c.read()? };
    (@get $c:ident $fixed:expr) => { $fixed };
    (@put $value:expr, $stmt:ident) => { $value.put($stmt) };
    (@put $value:expr, $stmt:ident, $fixed:expr) => { $stmt };
}

record! {
    // `user_columns!()`: the password hash last, so `User` reads stop before it.
    stored UserRecord { user, password_hash }
    stored User { id, email, display_name, default_currency, created_at, updated_at }
    stored LoginFailures { count, last_at }
    bound Session { digest, user_id, created_at, expires_at }
    bound Identity { issuer, subject, user_id, created_at }
    stored PendingLogin { state, provider, nonce, pkce_verifier, return_to, invite, expires_at }
    stored Group { id, name, description, currency, created_by, created_at, updated_at }
    stored Membership { user_id, role, joined_at }
    read Member { user_id, display_name, email, role, joined_at, placeholder }
    stored Invite { code, group_id, created_by, created_at, expires_at, claims }
    bound ExpenseFilter { paid_by, category, from, to, kind }
    // `expense_columns!()`: the participant rows come next, from `store::with_participants`.
    stored Expense {
        id, group_id, kind, amount, split, created_by, created_at, updated_at, version, details,
        original, recurring,
        payers = Vec::new(), shares = Vec::new(), attachments = Vec::new(),
    }
    stored Series {
        id, group_id, template, schedule, paused, next_index, created_by, created_at, updated_at,
        version,
    }
    stored Schedule { every, interval, starts_on, ends_on, count }
    stored ExpenseDetails { description, category, payment_method, occurred_on, notes, metadata }
    read Participant { expense, user, paid, owed, payer, sharer }
    stored Settlement {
        id, group_id, from_user, to_user, amount, occurred_on, note, created_by, created_at,
    }
    stored Totals { paid, owed, sent, received, converted }
    stored Conversion {
        id, group_id, from_currency, to_currency, exchange_rate, rows, debts, occurred_on, note,
        created_by, created_at,
    }
    read MemberTotals { user_id, currency, totals }
    read PairDelta<UserId> { currency, a, b, amount }
    read UserGroupTotals { group_id, group_name, currency, totals }
    stored Activity { id, group_id, actor, action, entity, entity_id, at, details }
    stored Attachment {
        group_id, expense_id, id, filename, content_type, size, sha256, uploaded_by, created_at,
    }
    read AttachmentRow { expense, summary }
    read AttachmentRef { id, filename, content_type, size }
    stored Comment { group_id, expense_id, id, author, text, created_at }
}

/// An attachment as an expense lists it, with the expense it belongs to.
#[derive(Debug)]
pub(crate) struct AttachmentRow {
    pub expense: ExpenseId,
    pub summary: AttachmentRef,
}

/// The series and the date, both NULL for an expense no series made.
impl FromCols for Option<Occurrence> {
    fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
        let series: Option<SeriesId> = c.read()?;
        let date: Option<Date> = c.read()?;
        Ok(series
            .zip(date)
            .map(|(series_id, occurrence_on)| Occurrence {
                series_id,
                occurrence_on,
            }))
    }
}

impl<D: Dialect> Arg<D> for Option<Occurrence> {
    fn put(&self, stmt: Stmt<D>) -> Stmt<D> {
        let stmt = self.map(|o| o.series_id).put(stmt);
        self.map(|o| o.occurrence_on).put(stmt)
    }
}

/// Amount, then currency.
impl FromCols for Money {
    fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
        Ok(Money::new(c.read()?, c.read()?))
    }
}

/// Lookups of two values (a fingerprint and an id; a group and the reader's role in it).
impl<A: FromCols, B: FromCols> FromCols for (A, B) {
    fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
        Ok((c.read()?, c.read()?))
    }
}

/// One member's row of an expense: paid and owed, and whether the member is listed among
/// payers and among shares (so the lists round-trip exactly).
#[derive(Debug)]
pub(crate) struct Participant {
    pub expense: Uuid,
    pub user: UserId,
    pub paid: Minor,
    pub owed: Minor,
    pub payer: bool,
    pub sharer: bool,
}

/// The summaries sum amounts in two 64-bit halves, `amount / 2^30` and `amount % 2^30`
/// (see `sql.rs`), which no history can overflow; their 128-bit total is exact.
impl FromCols for SummaryRow {
    fn read<D: Dialect>(c: &mut Cols<'_, D>) -> StorageResult<Self> {
        let (key, (kind, currency)) = c.read()?;
        let (high, low): (i64, i64) = c.read()?;
        let amount = i128::from(high) * (1 << 30) + i128::from(low);
        let count = c.read()?;
        Ok(SummaryRow {
            key,
            kind,
            currency,
            amount,
            count,
        })
    }
}
