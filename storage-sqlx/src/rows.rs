//! Rows as both databases return them, and their conversion into core's records. A stored
//! value core cannot read (an unknown currency, a bad email) is `Internal`: the database
//! holds something no write of ours put there.

use splitledger_core::Cause;
use splitledger_core::Currency;
use splitledger_core::balance::{PairDelta, Totals};
use splitledger_core::domain::{
    Activity, ActivityId, Email, Expense, ExpenseDetails, ExpenseId, Group, GroupId, Invite,
    Member, MemberTotals, Role, Settlement, SettlementId, SummaryRow, User, UserGroupTotals,
    UserId, UserRecord,
};
use splitledger_core::money::{Minor, Money};
use splitledger_core::split::{Portion, SplitInput};
use splitledger_core::storage::{StorageError, StorageResult};

use crate::types::{DbDate, DbTime, DbUuid};

/// A stored value that does not parse: the parser's error is the cause.
fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Internal(Cause::new(error))
}

fn currency(code: &str) -> StorageResult<Currency> {
    Currency::parse(code).map_err(corrupt)
}

fn email(text: &str) -> StorageResult<Email> {
    Email::parse(text).map_err(corrupt)
}

fn role(text: &str) -> StorageResult<Role> {
    text.parse()
        .map_err(|e: splitledger_core::ValidationErrors| corrupt(e))
}

fn json_value(text: &str) -> StorageResult<serde_json::Value> {
    serde_json::from_str(text).map_err(corrupt)
}

/// JSON as stored (text, so a value round-trips byte for byte).
pub(crate) fn json_text(value: &serde_json::Value) -> StorageResult<String> {
    serde_json::to_string(value).map_err(corrupt)
}

fn totals(paid: i64, owed: i64, sent: i64, received: i64) -> Totals {
    Totals {
        paid: Minor::new(paid),
        owed: Minor::new(owed),
        sent: Minor::new(sent),
        received: Minor::new(received),
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: DbUuid,
    email: String,
    display_name: String,
    default_currency: Option<String>,
    password_hash: String,
    created_at: DbTime,
    updated_at: DbTime,
}

/// Never prints the password hash.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
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

#[derive(Debug, sqlx::FromRow)]
pub struct GroupRow {
    id: DbUuid,
    name: String,
    description: Option<String>,
    currency: String,
    created_by: DbUuid,
    created_at: DbTime,
    updated_at: DbTime,
}

#[derive(Debug, sqlx::FromRow)]
pub struct GroupRoleRow {
    #[sqlx(flatten)]
    group: GroupRow,
    role: String,
}

impl GroupRoleRow {
    pub fn into_pair(self) -> StorageResult<(Group, Role)> {
        let g = self.group;
        let group = Group {
            id: GroupId(g.id.0),
            name: g.name,
            description: g.description,
            currency: currency(&g.currency)?,
            created_by: UserId(g.created_by.0),
            created_at: g.created_at.0,
            updated_at: g.updated_at.0,
        };
        Ok((group, role(&self.role)?))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct MemberRow {
    user_id: DbUuid,
    display_name: String,
    email: String,
    role: String,
    joined_at: DbTime,
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

#[derive(Debug, sqlx::FromRow)]
pub struct InviteRow {
    code: String,
    group_id: DbUuid,
    created_by: DbUuid,
    created_at: DbTime,
    expires_at: DbTime,
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

/// The descriptive fields of an expense: `details_columns!()` in SQL, in this order.
#[derive(Debug, sqlx::FromRow)]
pub struct DetailsRow {
    description: String,
    category: Option<String>,
    payment_method: Option<String>,
    occurred_on: DbDate,
    notes: Option<String>,
    metadata: Option<String>,
}

impl DetailsRow {
    fn into_details(self) -> StorageResult<ExpenseDetails> {
        Ok(ExpenseDetails {
            description: self.description,
            category: self.category,
            payment_method: self.payment_method,
            occurred_on: self.occurred_on.0,
            notes: self.notes,
            metadata: self.metadata.as_deref().map(json_value).transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ExpenseRow {
    pub id: DbUuid,
    group_id: DbUuid,
    amount: i64,
    currency: String,
    split: String,
    created_by: DbUuid,
    created_at: DbTime,
    updated_at: DbTime,
    version: i64,
    #[sqlx(flatten)]
    details: DetailsRow,
}

#[derive(Debug, sqlx::FromRow)]
pub struct ParticipantRow {
    expense_id: DbUuid,
    user_id: DbUuid,
    paid: i64,
    owed: i64,
    payer: bool,
    sharer: bool,
}

impl ExpenseRow {
    /// The expense with its participant rows (those of other expenses are ignored).
    pub fn into_expense(self, participants: &[ParticipantRow]) -> StorageResult<Expense> {
        let mut mine: Vec<&ParticipantRow> = participants
            .iter()
            .filter(|p| p.expense_id == self.id)
            .collect();
        mine.sort_by_key(|p| p.user_id.0);
        let portions = |pick: fn(&ParticipantRow) -> Option<i64>| -> Vec<Portion<UserId>> {
            mine.iter()
                .filter_map(|p| {
                    pick(p).map(|amount| Portion {
                        user_id: UserId(p.user_id.0),
                        amount: Minor::new(amount),
                    })
                })
                .collect()
        };
        let split: SplitInput<UserId> = serde_json::from_str(&self.split).map_err(corrupt)?;
        Ok(Expense {
            id: ExpenseId(self.id.0),
            group_id: GroupId(self.group_id.0),
            amount: Money::new(Minor::new(self.amount), currency(&self.currency)?),
            payers: portions(|p| p.payer.then_some(p.paid)),
            shares: portions(|p| p.sharer.then_some(p.owed)),
            split,
            details: self.details.into_details()?,
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
            version: self.version,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct SettlementRow {
    id: DbUuid,
    group_id: DbUuid,
    from_user: DbUuid,
    to_user: DbUuid,
    amount: i64,
    currency: String,
    occurred_on: DbDate,
    note: Option<String>,
    created_by: DbUuid,
    created_at: DbTime,
}

impl SettlementRow {
    pub fn into_settlement(self) -> StorageResult<Settlement> {
        Ok(Settlement {
            id: SettlementId(self.id.0),
            group_id: GroupId(self.group_id.0),
            from_user: UserId(self.from_user.0),
            to_user: UserId(self.to_user.0),
            amount: Money::new(Minor::new(self.amount), currency(&self.currency)?),
            occurred_on: self.occurred_on.0,
            note: self.note,
            created_by: UserId(self.created_by.0),
            created_at: self.created_at.0,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TotalsRow {
    user_id: DbUuid,
    currency: String,
    paid: i64,
    owed: i64,
    sent: i64,
    received: i64,
}

impl TotalsRow {
    pub fn into_totals(self) -> StorageResult<MemberTotals> {
        Ok(MemberTotals {
            user_id: UserId(self.user_id.0),
            currency: currency(&self.currency)?,
            totals: totals(self.paid, self.owed, self.sent, self.received),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct PairRow {
    currency: String,
    a: DbUuid,
    b: DbUuid,
    amount: i64,
}

impl PairRow {
    pub fn into_pair(self) -> StorageResult<PairDelta<UserId>> {
        Ok(PairDelta {
            currency: currency(&self.currency)?,
            a: UserId(self.a.0),
            b: UserId(self.b.0),
            amount: Minor::new(self.amount),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct UserTotalsRow {
    group_id: DbUuid,
    group_name: String,
    currency: String,
    paid: i64,
    owed: i64,
    sent: i64,
    received: i64,
}

impl UserTotalsRow {
    pub fn into_totals(self) -> StorageResult<UserGroupTotals> {
        Ok(UserGroupTotals {
            group_id: GroupId(self.group_id.0),
            currency: currency(&self.currency)?,
            totals: totals(self.paid, self.owed, self.sent, self.received),
            group_name: self.group_name,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct SummaryDbRow {
    key: Option<String>,
    currency: String,
    amount: i64,
    count: i64,
}

impl SummaryDbRow {
    pub fn into_row(self) -> StorageResult<SummaryRow> {
        Ok(SummaryRow {
            currency: currency(&self.currency)?,
            key: self.key,
            amount: Minor::new(self.amount),
            count: self.count,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ActivityRow {
    id: DbUuid,
    group_id: DbUuid,
    actor: DbUuid,
    action: String,
    entity: String,
    entity_id: DbUuid,
    at: DbTime,
    details: String,
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

/// Converts every row, keeping the first failure.
pub(crate) fn convert<R, T>(
    rows: Vec<R>,
    f: impl FnMut(R) -> StorageResult<T>,
) -> StorageResult<Vec<T>> {
    rows.into_iter().map(f).collect()
}
