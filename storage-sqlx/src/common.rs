//! What both dialects share: row structs, their conversion into core's records, the
//! normalisation of deltas and the mapping of sqlx errors.

use std::collections::BTreeMap;

use splitledger_core::Currency;
use splitledger_core::balance::{PairDelta, Totals, TotalsDelta};
use splitledger_core::domain::{
    Activity, ActivityId, Email, Expense, ExpenseId, Group, GroupId, Invite, Member, MemberTotals,
    Role, Settlement, SettlementId, SummaryRow, User, UserGroupTotals, UserId, UserRecord,
};
use splitledger_core::split::{Portion, SplitInput};
use splitledger_core::storage::{StorageError, StorageResult};

use crate::types::{DbDate, DbTime, DbUuid};

/// Any failure to read back what we wrote: the text is for logs.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(format!("stored {what} is unreadable: {detail}"))
}

pub(crate) fn currency(code: &str) -> StorageResult<Currency> {
    Currency::parse(code).map_err(|e| corrupt("currency", e))
}

pub(crate) fn json_text(value: &serde_json::Value) -> StorageResult<String> {
    serde_json::to_string(value).map_err(|e| StorageError::Internal(format!("json: {e}")))
}

pub(crate) fn json_value(text: &str) -> StorageResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| corrupt("json", e))
}

fn role(text: &str) -> StorageResult<Role> {
    text.parse().map_err(|e| corrupt("role", e))
}

fn email(text: &str) -> StorageResult<Email> {
    Email::parse(text).map_err(|e| corrupt("email", e))
}

/// The group's name as the name filter compares it (Rust's Unicode lower-casing, the same as
/// the in-memory store's).
pub(crate) fn name_lower(name: &str) -> String {
    name.to_lowercase()
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: DbUuid,
    pub email: String,
    pub display_name: String,
    pub default_currency: Option<String>,
    pub password_hash: String,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl UserRow {
    pub fn into_record(self) -> StorageResult<UserRecord> {
        Ok(UserRecord {
            user: User {
                id: UserId(self.id.0),
                email: email(&self.email)?,
                display_name: self.display_name,
                default_currency: self.default_currency.as_deref().map(currency).transpose()?,
                created_at: self.created_at.0,
                updated_at: self.updated_at.0,
            },
            password_hash: self.password_hash,
        })
    }

    pub fn into_user(self) -> StorageResult<User> {
        self.into_record().map(|r| r.user)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    pub id: DbUuid,
    pub name: String,
    pub description: Option<String>,
    pub currency: String,
    pub created_by: DbUuid,
    pub created_at: DbTime,
    pub updated_at: DbTime,
}

impl GroupRow {
    pub fn into_group(self) -> StorageResult<Group> {
        Ok(Group {
            id: GroupId(self.id.0),
            name: self.name,
            description: self.description,
            currency: currency(&self.currency)?,
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRoleRow {
    #[sqlx(flatten)]
    pub group: GroupRow,
    pub role: String,
}

impl GroupRoleRow {
    pub fn into_pair(self) -> StorageResult<(Group, Role)> {
        let role = role(&self.role)?;
        Ok((self.group.into_group()?, role))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    pub user_id: DbUuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub joined_at: DbTime,
}

impl MemberRow {
    pub fn into_member(self) -> StorageResult<Member> {
        Ok(Member {
            user_id: UserId(self.user_id.0),
            display_name: self.display_name,
            email: email(&self.email)?,
            role: role(&self.role)?,
            joined_at: self.joined_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InviteRow {
    pub code: String,
    pub group_id: DbUuid,
    pub created_by: DbUuid,
    pub created_at: DbTime,
    pub expires_at: DbTime,
}

impl InviteRow {
    pub fn into_invite(self) -> Invite {
        Invite {
            code: self.code,
            group_id: GroupId(self.group_id.0),
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
            expires_at: self.expires_at.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ExpenseRow {
    pub id: DbUuid,
    pub group_id: DbUuid,
    pub description: String,
    pub amount: i64,
    pub currency: String,
    pub split: String,
    pub category: Option<String>,
    pub payment_method: Option<String>,
    pub occurred_on: DbDate,
    pub notes: Option<String>,
    pub metadata: Option<String>,
    pub created_by: DbUuid,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ParticipantDbRow {
    pub expense_id: DbUuid,
    pub user_id: DbUuid,
    pub paid: i64,
    pub owed: i64,
    pub payer: bool,
    pub sharer: bool,
}

impl ExpenseRow {
    /// The expense with its participant rows (those of other expenses are ignored).
    pub fn into_expense(self, participants: &[ParticipantDbRow]) -> StorageResult<Expense> {
        let mut mine: Vec<&ParticipantDbRow> = participants
            .iter()
            .filter(|p| p.expense_id == self.id)
            .collect();
        mine.sort_by_key(|p| p.user_id.0);
        let portions = |pick: fn(&ParticipantDbRow) -> Option<i64>| -> Vec<Portion<UserId>> {
            mine.iter()
                .filter_map(|p| {
                    pick(p).map(|amount| Portion {
                        user_id: UserId(p.user_id.0),
                        amount,
                    })
                })
                .collect()
        };
        let payers = portions(|p| p.payer.then_some(p.paid));
        let shares = portions(|p| p.sharer.then_some(p.owed));
        Ok(Expense {
            id: ExpenseId(self.id.0),
            group_id: GroupId(self.group_id.0),
            description: self.description,
            amount: self.amount,
            currency: currency(&self.currency)?,
            payers,
            shares,
            split: split_from_text(&self.split)?,
            category: self.category,
            payment_method: self.payment_method,
            occurred_on: self.occurred_on.0,
            notes: self.notes,
            metadata: self.metadata.as_deref().map(json_value).transpose()?,
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

/// One participant row to write: merged payers and shares of an expense, sorted by member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Participant {
    pub user_id: UserId,
    pub paid: i64,
    pub owed: i64,
    pub payer: bool,
    pub sharer: bool,
}

/// The participant rows of an expense (sorted by member); `Overflow` if a member's portions
/// do not fit (they cannot when the expense is valid).
pub(crate) fn participants(expense: &Expense) -> StorageResult<Vec<Participant>> {
    let mut rows: BTreeMap<UserId, Participant> = BTreeMap::new();
    let blank = |user_id| Participant {
        user_id,
        paid: 0,
        owed: 0,
        payer: false,
        sharer: false,
    };
    for p in &expense.payers {
        let row = rows.entry(p.user_id).or_insert_with(|| blank(p.user_id));
        row.paid = row
            .paid
            .checked_add(p.amount)
            .ok_or(StorageError::Overflow)?;
        row.payer = true;
    }
    for s in &expense.shares {
        let row = rows.entry(s.user_id).or_insert_with(|| blank(s.user_id));
        row.owed = row
            .owed
            .checked_add(s.amount)
            .ok_or(StorageError::Overflow)?;
        row.sharer = true;
    }
    Ok(rows.into_values().collect())
}

/// Everyone who must be a member for the expense to be written, in the order the in-memory
/// store checks them (payers, then shares), without repeats.
pub(crate) fn required_members(expense: &Expense) -> Vec<UserId> {
    let mut out: Vec<UserId> = Vec::new();
    for u in expense
        .payers
        .iter()
        .chain(&expense.shares)
        .map(|p| p.user_id)
    {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// The first of `required` that is not in `found`, as `NotMember`.
pub(crate) fn check_members(required: &[UserId], found: &[DbUuid]) -> StorageResult<()> {
    match required.iter().find(|u| !found.iter().any(|f| f.0 == u.0)) {
        Some(missing) => Err(StorageError::NotMember(*missing)),
        None => Ok(()),
    }
}

/// Running-total deltas merged per (member, currency) and sorted, so every transaction
/// locks the rows it updates in the same order (no deadlocks) and a statement never touches
/// a row twice.
pub(crate) fn merged_totals(
    deltas: &[TotalsDelta<UserId>],
) -> StorageResult<Vec<(UserId, Currency, Totals)>> {
    let mut merged: BTreeMap<(UserId, &'static str), (Currency, Totals)> = BTreeMap::new();
    for d in deltas {
        let slot = merged
            .entry((d.user_id, d.currency.code()))
            .or_insert((d.currency, Totals::default()));
        slot.1.add(&d.delta).map_err(|_| StorageError::Overflow)?;
    }
    Ok(merged
        .into_iter()
        .map(|((user, _), (currency, totals))| (user, currency, totals))
        .collect())
}

/// Pair deltas merged per (currency, a, b) and sorted (same reasons).
pub(crate) fn merged_pairs(deltas: &[PairDelta<UserId>]) -> StorageResult<Vec<PairDelta<UserId>>> {
    let mut merged: BTreeMap<(&'static str, UserId, UserId), (Currency, i64)> = BTreeMap::new();
    for d in deltas {
        let slot = merged
            .entry((d.currency.code(), d.a, d.b))
            .or_insert((d.currency, 0));
        slot.1 = slot.1.checked_add(d.amount).ok_or(StorageError::Overflow)?;
    }
    Ok(merged
        .into_iter()
        .map(|((_, a, b), (currency, amount))| PairDelta {
            currency,
            a,
            b,
            amount,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
pub(crate) struct SettlementRow {
    pub id: DbUuid,
    pub group_id: DbUuid,
    pub from_user: DbUuid,
    pub to_user: DbUuid,
    pub amount: i64,
    pub currency: String,
    pub occurred_on: DbDate,
    pub note: Option<String>,
    pub created_by: DbUuid,
    pub created_at: DbTime,
}

impl SettlementRow {
    pub fn into_settlement(self) -> StorageResult<Settlement> {
        Ok(Settlement {
            id: SettlementId(self.id.0),
            group_id: GroupId(self.group_id.0),
            from_user: UserId(self.from_user.0),
            to_user: UserId(self.to_user.0),
            amount: self.amount,
            currency: currency(&self.currency)?,
            occurred_on: self.occurred_on.0,
            note: self.note,
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct TotalsRow {
    pub user_id: DbUuid,
    pub currency: String,
    pub paid: i64,
    pub owed: i64,
    pub sent: i64,
    pub received: i64,
}

impl TotalsRow {
    pub fn totals(&self) -> Totals {
        Totals {
            paid: self.paid,
            owed: self.owed,
            sent: self.sent,
            received: self.received,
        }
    }
}

/// Member totals in the in-memory store's order: by member, then currency.
pub(crate) fn member_totals(rows: Vec<TotalsRow>) -> StorageResult<Vec<MemberTotals>> {
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(MemberTotals {
                user_id: UserId(r.user_id.0),
                currency: currency(&r.currency)?,
                totals: r.totals(),
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    out.sort_by_key(|t| (t.user_id, t.currency));
    Ok(out)
}

#[derive(sqlx::FromRow)]
pub(crate) struct PairRow {
    pub currency: String,
    pub a: DbUuid,
    pub b: DbUuid,
    pub amount: i64,
}

/// Pair totals in the in-memory store's order: by currency, then a, then b.
pub(crate) fn pair_totals(rows: Vec<PairRow>) -> StorageResult<Vec<PairDelta<UserId>>> {
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(PairDelta {
                currency: currency(&r.currency)?,
                a: UserId(r.a.0),
                b: UserId(r.b.0),
                amount: r.amount,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    out.sort_by_key(|p| (p.currency, p.a, p.b));
    Ok(out)
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserTotalsRow {
    pub group_id: DbUuid,
    pub group_name: String,
    pub currency: String,
    pub paid: i64,
    pub owed: i64,
    pub sent: i64,
    pub received: i64,
}

pub(crate) fn user_totals(rows: Vec<UserTotalsRow>) -> StorageResult<Vec<UserGroupTotals>> {
    rows.into_iter()
        .map(|r| {
            Ok(UserGroupTotals {
                group_id: GroupId(r.group_id.0),
                currency: currency(&r.currency)?,
                totals: Totals {
                    paid: r.paid,
                    owed: r.owed,
                    sent: r.sent,
                    received: r.received,
                },
                group_name: r.group_name,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct SummaryDbRow {
    pub key: Option<String>,
    pub currency: String,
    pub amount: i64,
    pub count: i64,
}

/// Summary lines in the in-memory store's order: by key (none first), then currency.
pub(crate) fn summary_rows(rows: Vec<SummaryDbRow>) -> StorageResult<Vec<SummaryRow>> {
    let mut out = rows
        .into_iter()
        .map(|r| {
            Ok(SummaryRow {
                currency: currency(&r.currency)?,
                key: r.key,
                amount: r.amount,
                count: r.count,
            })
        })
        .collect::<StorageResult<Vec<_>>>()?;
    out.sort_by(|x, y| (&x.key, x.currency).cmp(&(&y.key, y.currency)));
    Ok(out)
}

#[derive(sqlx::FromRow)]
pub(crate) struct ActivityRow {
    pub id: DbUuid,
    pub group_id: DbUuid,
    pub actor: DbUuid,
    pub action: String,
    pub entity: String,
    pub entity_id: DbUuid,
    pub at: DbTime,
    pub details: String,
}

impl ActivityRow {
    pub fn into_activity(self) -> StorageResult<Activity> {
        Ok(Activity {
            id: ActivityId(self.id.0),
            group_id: GroupId(self.group_id.0),
            actor: UserId(self.actor.0),
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id.0,
            at: self.at.0,
            details: json_value(&self.details)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    pub fingerprint: String,
    pub result_id: DbUuid,
}

/// How an unexpected sqlx error reaches core: unreachable database → `Unavailable`,
/// anything else → `Internal` (the text is for logs).
pub(crate) fn generic_error(error: sqlx::Error) -> StorageError {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StorageError::Unavailable(error.to_string()),
        other => StorageError::Internal(other.to_string()),
    }
}

/// Reads a stored split.
pub(crate) fn split_from_text(text: &str) -> StorageResult<SplitInput<UserId>> {
    serde_json::from_str(text).map_err(|e| corrupt("split", e))
}

/// Inserts an expense row; [`bind_expense`] supplies `$1` to `$15`.
pub(crate) const INSERT_EXPENSE: &str = "INSERT INTO expenses (id, group_id, description, \
     amount, currency, split, category, payment_method, occurred_on, notes, metadata, \
     created_by, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// Replaces an expense row if it is still at version `$16`; [`bind_expense`] supplies `$1`
/// to `$15`. The version check is in the statement itself, so a concurrent edit cannot slip
/// between a read and this write.
pub(crate) const UPDATE_EXPENSE: &str = "UPDATE expenses SET description = $3, amount = $4, \
     currency = $5, split = $6, category = $7, payment_method = $8, occurred_on = $9, \
     notes = $10, metadata = $11, created_by = $12, created_at = $13, updated_at = $14, \
     version = $15 WHERE id = $1 AND group_id = $2 AND version = $16";

/// A query of either dialect.
pub(crate) type DbQuery<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>;

/// Binds an expense's columns as `$1` to `$15` of [`INSERT_EXPENSE`] and [`UPDATE_EXPENSE`].
pub(crate) fn bind_expense<'q, DB>(
    query: DbQuery<'q, DB>,
    e: &Expense,
) -> StorageResult<DbQuery<'q, DB>>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DbUuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DbDate: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DbTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    Ok(query
        .bind(DbUuid(e.id.0))
        .bind(DbUuid(e.group_id.0))
        .bind(e.description.clone())
        .bind(e.amount)
        .bind(e.currency.code().to_string())
        .bind(split_text(&e.split)?)
        .bind(e.category.clone())
        .bind(e.payment_method.clone())
        .bind(DbDate(e.occurred_on))
        .bind(e.notes.clone())
        .bind(e.metadata.as_ref().map(json_text).transpose()?)
        .bind(DbUuid(e.created_by.0))
        .bind(DbTime(e.created_at))
        .bind(DbTime(e.updated_at))
        .bind(e.version))
}

/// The split as stored (JSON text).
pub(crate) fn split_text(split: &SplitInput<UserId>) -> StorageResult<String> {
    serde_json::to_string(split).map_err(|e| StorageError::Internal(format!("split: {e}")))
}
