//! The ledger's records: ids, users, groups, members, expenses, settlements, activity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::balance::{Overflow, PairDelta};
use crate::error::ValidationErrors;
use crate::exchange::Rate;
use crate::money::{Currency, Minor, Money, MoneyError};
use crate::split::{ParticipantRow, Portion, SplitInput, rows_from};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7), so new rows land at the end of indexes.
            pub fn random() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A user's id.
    UserId
);
id_type!(
    /// A group's id.
    GroupId
);
id_type!(
    /// An expense's id.
    ExpenseId
);
id_type!(
    /// A settlement's id.
    SettlementId
);
id_type!(
    /// An activity entry's id.
    ActivityId
);
id_type!(
    /// A conversion's id.
    ConversionId
);
id_type!(
    /// A recurring series' id.
    SeriesId
);

/// The series that made an expense, and the date of the occurrence it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Occurrence {
    /// The series.
    pub series_id: SeriesId,
    /// The occurrence's date (also the expense's `occurred_on` when it was made).
    pub occurrence_on: Date,
}
id_type!(
    /// An attachment's (receipt's) id.
    AttachmentId
);
id_type!(
    /// A comment's id.
    CommentId
);

/// A trimmed, lower-cased email address (compared case-insensitively by construction).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Trims, lower-cases and checks the shape `local@domain.tld` (no spaces, at most 254
    /// characters). Deliverability is not our business; typos are.
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let email = text.trim().to_lowercase();
        let bad = || ValidationErrors::one("email", "invalid_email", "not an email address");
        if email.chars().count() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = ValidationErrors;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique, normalised email.
    pub email: Email,
    /// Name shown to others.
    pub display_name: String,
    /// Currency proposed for new groups, if chosen.
    pub default_currency: Option<Currency>,
    /// Sign-up time.
    pub created_at: OffsetDateTime,
    /// Last profile change.
    pub updated_at: OffsetDateTime,
}

/// A user with their password hash, as stores keep it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .field("password_hash", &"<redacted>")
            .finish()
    }
}

/// SHA-256 digest of a session token; the only form in which stores see tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(<redacted>)")
    }
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Digest of the token the client holds.
    pub digest: TokenDigest,
    /// Whose session.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// Failed logins recorded for one email (for throttling).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures in the current window.
    pub count: u32,
    /// The latest one.
    pub last_at: Option<OffsetDateTime>,
}

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including deleting the group and transferring ownership. One per group.
    Owner,
    /// Members, group settings, any expense.
    Admin,
    /// Adds expenses and settlements; edits what they created or paid.
    Member,
}

impl Role {
    /// `"owner"`, `"admin"` or `"member"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Whether this role manages members and settings (owner or admin).
    pub fn manages(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

impl FromStr for Role {
    type Err = ValidationErrors;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(ValidationErrors::one(
                "role",
                "invalid_role",
                "one of owner, admin, member",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A group of people sharing expenses (or one person's personal ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Id.
    pub id: GroupId,
    /// Name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Default currency of new expenses.
    pub currency: Currency,
    /// Who created it.
    pub created_by: UserId,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last settings change.
    pub updated_at: OffsetDateTime,
}

impl Group {
    /// The group as activity details show it.
    pub fn snapshot(&self) -> serde_json::Value {
        json!({
            "name": self.name,
            "description": self.description,
            "currency": self.currency,
        })
    }
}

/// A group seen by one of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// The group.
    pub group: Group,
    /// The caller's role in it.
    pub my_role: Role,
}

/// A membership as stores write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// The member.
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub joined_at: OffsetDateTime,
}

/// A member as shown in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member.
    pub user_id: UserId,
    /// Their display name.
    pub display_name: String,
    /// Their email (`None` for a placeholder).
    pub email: Option<Email>,
    /// Their role.
    pub role: Role,
    /// When they joined.
    pub joined_at: OffsetDateTime,
    /// A person without an account (added by name; never signs in): pays and shares like
    /// anyone, until someone claims the place with a claim code.
    pub placeholder: bool,
}

/// An invitation code to join a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The code (random, URL-safe).
    pub code: String,
    /// The group it opens.
    pub group_id: GroupId,
    /// Who created it.
    pub created_by: UserId,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// A claim code: the placeholder whose place (and whole history in the group) the person
    /// who accepts it takes over.
    pub claims: Option<UserId>,
}

/// What an expense is about: the descriptive fields, which never move a balance. One struct
/// (and one column list in SQL), so a new descriptive field is added in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseDetails {
    /// What it was.
    pub description: String,
    /// Optional category.
    pub category: Option<String>,
    /// Optional payment method (cash, card, ...).
    pub payment_method: Option<String>,
    /// When it happened.
    pub occurred_on: Date,
    /// Optional notes.
    pub notes: Option<String>,
    /// Optional JSON object (at most 16 KiB) for the embedding program.
    pub metadata: Option<serde_json::Value>,
}

pub use crate::split::ExpenseKind;

/// What was entered for an expense booked in the group's currency from another one: the
/// amount in its own currency, the rate, and the payers and shares allocated in it (the
/// expense's own amount, payers and shares are these converted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "OriginalJson", try_from = "OriginalJson")]
pub struct Original {
    /// The amount with its currency, as entered.
    pub amount: Money,
    /// Units of the group's currency per unit of `amount`'s.
    pub exchange_rate: Rate,
    /// Who paid how much, in `amount`'s currency.
    pub payers: Vec<Portion<UserId>>,
    /// Who owes how much, in `amount`'s currency.
    pub shares: Vec<Portion<UserId>>,
}

/// [`Original`] as the API and the stores spell it: amounts as decimal strings.
#[derive(Serialize, Deserialize)]
struct OriginalJson {
    amount: String,
    currency: Currency,
    exchange_rate: Rate,
    payers: Vec<AmountJson>,
    shares: Vec<AmountJson>,
}

#[derive(Serialize, Deserialize)]
struct AmountJson {
    user_id: UserId,
    amount: String,
}

impl From<Original> for OriginalJson {
    fn from(o: Original) -> Self {
        let list = |l: Vec<Portion<UserId>>| {
            (l.into_iter())
                .map(|p| AmountJson {
                    user_id: p.user_id,
                    amount: o.amount.format_units(p.amount),
                })
                .collect()
        };
        Self {
            amount: o.amount.to_string(),
            currency: o.amount.currency(),
            exchange_rate: o.exchange_rate,
            payers: list(o.payers.clone()),
            shares: list(o.shares.clone()),
        }
    }
}

impl TryFrom<OriginalJson> for Original {
    type Error = MoneyError;
    fn try_from(o: OriginalJson) -> Result<Self, MoneyError> {
        let c = o.currency;
        let list = |l: Vec<AmountJson>| -> Result<Vec<Portion<UserId>>, MoneyError> {
            (l.into_iter())
                .map(|p| {
                    Ok(Portion {
                        user_id: p.user_id,
                        amount: Minor::new(c.parse_non_negative(&p.amount)?),
                    })
                })
                .collect()
        };
        Ok(Self {
            amount: Money::from_minor(c.parse_amount(&o.amount)?, c),
            exchange_rate: o.exchange_rate,
            payers: list(o.payers)?,
            shares: list(o.shares)?,
        })
    }
}

/// An expense (or an income) with its computed allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expense {
    /// Id (seeds the allocation's tie-break).
    pub id: ExpenseId,
    /// Its group.
    pub group_id: GroupId,
    /// Spent or received.
    pub kind: ExpenseKind,
    /// What was entered, when it was booked from another currency (`amount`, `payers` and
    /// `shares` are then the converted figures, in the group's currency).
    pub original: Option<Box<Original>>,
    /// The amount with its currency.
    pub amount: Money,
    /// Who paid how much (sorted by member; adds up to `amount`).
    pub payers: Vec<Portion<UserId>>,
    /// Who owes how much (sorted by member; adds up to `amount`).
    pub shares: Vec<Portion<UserId>>,
    /// The split as requested, with an implicit "everyone" made explicit.
    pub split: SplitInput<UserId>,
    /// What it is about.
    pub details: ExpenseDetails,
    /// Who recorded it.
    pub created_by: UserId,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Starts at 1; every edit adds one.
    pub version: i64,
    /// The series occurrence this expense is, when a series made it.
    pub recurring: Option<Occurrence>,
    /// Its receipts, oldest first (stores fill this when they read an expense; writes of
    /// the expense itself ignore it).
    pub attachments: Vec<AttachmentRef>,
}

impl Expense {
    /// The currency.
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// The single payer, when there is exactly one.
    pub fn paid_by(&self) -> Option<UserId> {
        match self.payers.as_slice() {
            [only] => Some(only.user_id),
            _ => None,
        }
    }

    /// One row per participant: Σ paid = Σ owed = amount. `Overflow` only for hand-built
    /// lists that repeat a member past 64 bits (stored and allocated ones never do).
    pub fn rows(&self) -> Result<Vec<ParticipantRow<UserId>>, Overflow> {
        rows_from(&self.payers, &self.shares)
    }

    /// Whether `user` paid part of it.
    pub fn is_payer(&self, user: UserId) -> bool {
        self.payers.iter().any(|p| p.user_id == user)
    }

    /// Its position in the newest-first order of expense lists.
    pub fn cursor(&self) -> DatedCursor {
        DatedCursor {
            occurred_on: self.details.occurred_on,
            created_at: self.created_at,
            id: self.id.0,
        }
    }

    /// The expense as activity details and exports show it (amounts as strings).
    pub fn snapshot(&self) -> serde_json::Value {
        let portions = |list: &[Portion<UserId>]| -> Vec<serde_json::Value> {
            list.iter()
                .map(
                    |p| json!({"user_id": p.user_id, "amount": self.amount.format_units(p.amount)}),
                )
                .collect()
        };
        let d = &self.details;
        json!({
            "id": self.id,
            "kind": self.kind,
            "description": d.description,
            "amount": self.amount,
            "currency": self.currency(),
            "payers": portions(&self.payers),
            "shares": portions(&self.shares),
            "split": self.split,
            "category": d.category,
            "payment_method": d.payment_method,
            "occurred_on": d.occurred_on.to_string(),
            "notes": d.notes,
            "metadata": d.metadata,
            "version": self.version,
            "original": self.original,
            "recurring": self.recurring,
        })
    }
}

/// A repayment between two members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Id.
    pub id: SettlementId,
    /// Its group.
    pub group_id: GroupId,
    /// Who paid back.
    pub from_user: UserId,
    /// Who was paid back.
    pub to_user: UserId,
    /// The amount with its currency.
    pub amount: Money,
    /// When it happened.
    pub occurred_on: Date,
    /// Optional note.
    pub note: Option<String>,
    /// Who recorded it.
    pub created_by: UserId,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

impl Settlement {
    /// The currency.
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// Its position in the newest-first order of settlement lists.
    pub fn cursor(&self) -> DatedCursor {
        DatedCursor {
            occurred_on: self.occurred_on,
            created_at: self.created_at,
            id: self.id.0,
        }
    }

    /// The settlement as activity details and exports show it.
    pub fn snapshot(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "from_user": self.from_user,
            "to_user": self.to_user,
            "amount": self.amount,
            "currency": self.currency(),
            "occurred_on": self.occurred_on.to_string(),
            "note": self.note,
        })
    }
}

/// A conversion of balances: every member's net in `from_currency` moved into
/// `to_currency` at `exchange_rate`, exactly zero-sum in both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// Id (seeds the tie-break of the leftover units).
    pub id: ConversionId,
    /// Its group.
    pub group_id: GroupId,
    /// The currency emptied.
    pub from_currency: Currency,
    /// The currency that receives the nets.
    pub to_currency: Currency,
    /// Units of `to_currency` per unit of `from_currency`.
    pub exchange_rate: Rate,
    /// One row per member whose net was not zero, sorted by member.
    pub rows: Vec<ConversionRow>,
    /// The debts in `from_currency` it settles (what the pair totals held, `a < b`).
    pub debts: Vec<PairDelta<UserId>>,
    /// When it happened.
    pub occurred_on: Date,
    /// Optional note.
    pub note: Option<String>,
    /// Who made it.
    pub created_by: UserId,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

/// One member's part of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionRow {
    /// The member.
    pub user_id: UserId,
    /// Their net in `from_currency` before (signed): what leaves it.
    pub from_amount: Minor,
    /// What was added to their net in `to_currency` (signed).
    pub to_amount: Minor,
}

impl Conversion {
    /// Its position in the newest-first order of conversion lists.
    pub fn cursor(&self) -> DatedCursor {
        DatedCursor {
            occurred_on: self.occurred_on,
            created_at: self.created_at,
            id: self.id.0,
        }
    }

    /// The conversion as activity details and exports show it.
    pub fn snapshot(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = (self.rows.iter())
            .map(|r| {
                json!({
                    "user_id": r.user_id,
                    "from_amount": self.from_currency.format(r.from_amount.get()),
                    "to_amount": self.to_currency.format(r.to_amount.get()),
                })
            })
            .collect();
        json!({
            "id": self.id,
            "from_currency": self.from_currency,
            "to_currency": self.to_currency,
            "exchange_rate": self.exchange_rate,
            "rows": rows,
            "occurred_on": self.occurred_on.to_string(),
            "note": self.note,
        })
    }
}

/// One entry of a group's activity log: who did what, when, with before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Id.
    pub id: ActivityId,
    /// Its group.
    pub group_id: GroupId,
    /// Who did it.
    pub actor: UserId,
    /// What, e.g. `"expense.updated"`.
    pub action: String,
    /// The kind of thing changed, e.g. `"expense"`.
    pub entity: String,
    /// Its id.
    pub entity_id: Uuid,
    /// When.
    pub at: OffsetDateTime,
    /// `{"before": ..., "after": ...}` (either may be null).
    pub details: serde_json::Value,
}

/// Keyset position in a list ordered by date, then creation time, then id (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedCursor {
    /// Date of the last item seen.
    pub occurred_on: Date,
    /// Its creation time.
    pub created_at: OffsetDateTime,
    /// Its id.
    pub id: Uuid,
}

/// Keyset position in the activity log (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    /// Time of the last entry seen.
    pub at: OffsetDateTime,
    /// Its id.
    pub id: ActivityId,
}

/// Filters of the expense list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpenseFilter {
    /// Only expenses this member paid (part of).
    pub paid_by: Option<UserId>,
    /// Only this category.
    pub category: Option<String>,
    /// On or after this date.
    pub from: Option<Date>,
    /// On or before this date.
    pub to: Option<Date>,
    /// Only expenses, or only income.
    pub kind: Option<ExpenseKind>,
}

impl ExpenseFilter {
    /// Whether `expense` passes (the in-memory store's filter; SQL stores do it in SQL).
    pub fn matches(&self, expense: &Expense) -> bool {
        self.paid_by.is_none_or(|u| expense.is_payer(u))
            && self
                .category
                .as_ref()
                .is_none_or(|c| expense.details.category.as_ref() == Some(c))
            && self.from.is_none_or(|d| expense.details.occurred_on >= d)
            && self.to.is_none_or(|d| expense.details.occurred_on <= d)
            && self.kind.is_none_or(|k| expense.kind == k)
    }
}

/// The key a spending summary groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryBy {
    /// By category (`null` for none).
    Category,
    /// By month, `YYYY-MM` of `occurred_on`.
    Month,
    /// By member: each member's share of the spending.
    Member,
}

/// One line of a summary: spending and income are totalled apart, never netted
/// (repayments are neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The category, the month (`YYYY-MM`) or the member id; `None` for no category.
    pub key: Option<String>,
    /// Spending or income.
    pub kind: ExpenseKind,
    /// The currency.
    pub currency: Currency,
    /// Total in minor units (for members: their shares). A sum of up to every expense of
    /// the group, each up to 10^18: 128 bits, so no history can overflow it.
    pub amount: i128,
    /// How many expenses.
    pub count: i64,
}

/// One member's running totals in one currency, as stores keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberTotals {
    /// The member.
    pub user_id: UserId,
    /// The currency.
    pub currency: Currency,
    /// The totals.
    pub totals: crate::balance::Totals,
}

/// A user's running totals in one group and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroupTotals {
    /// The group.
    pub group_id: GroupId,
    /// Its name.
    pub group_name: String,
    /// The currency.
    pub currency: Currency,
    /// The totals.
    pub totals: crate::balance::Totals,
}

/// A file attached to an expense (a receipt): its metadata; the bytes are kept by a
/// [`BlobStore`](crate::storage::BlobStore) under [`Attachment::blob_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Id.
    pub id: AttachmentId,
    /// Its group.
    pub group_id: GroupId,
    /// The expense it belongs to.
    pub expense_id: ExpenseId,
    /// The file's name as uploaded, made safe to show and to send back.
    pub filename: String,
    /// The media type read from the bytes (`image/jpeg`, `image/png`, `image/webp`,
    /// `image/heic`, `application/pdf`).
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When.
    pub created_at: OffsetDateTime,
}

impl Attachment {
    /// Where its bytes are kept: `GROUP/EXPENSE/ID`, so deleting an expense or a group
    /// deletes a prefix and a stray object names the row that would own it.
    pub fn blob_key(&self) -> String {
        blob_key(self.group_id, self.expense_id, self.id)
    }

    /// The short form an expense lists.
    pub fn summary(&self) -> AttachmentRef {
        AttachmentRef {
            id: self.id,
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
        }
    }

    /// What activity entries record of it (never the bytes).
    pub fn snapshot(&self) -> serde_json::Value {
        json!({
            "expense_id": self.expense_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        })
    }
}

/// The blob key of an attachment: `GROUP/EXPENSE/ID`.
pub fn blob_key(group: GroupId, expense: ExpenseId, id: AttachmentId) -> String {
    format!("{group}/{expense}/{id}")
}

/// The blob key prefix of everything attached to one expense (`GROUP/EXPENSE/`), or of a
/// whole group (`GROUP/`).
pub fn blob_prefix(group: GroupId, expense: Option<ExpenseId>) -> String {
    match expense {
        Some(expense) => format!("{group}/{expense}/"),
        None => format!("{group}/"),
    }
}

/// An attachment as an expense lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Id.
    pub id: AttachmentId,
    /// File name.
    pub filename: String,
    /// Media type.
    pub content_type: String,
    /// In bytes.
    pub size: u64,
}

/// A comment on an expense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// Its group.
    pub group_id: GroupId,
    /// The expense it is about.
    pub expense_id: ExpenseId,
    /// Who wrote it.
    pub author: UserId,
    /// 1 to 2,000 characters, trimmed.
    pub text: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl Comment {
    /// What activity entries record of it.
    pub fn snapshot(&self) -> serde_json::Value {
        json!({ "expense_id": self.expense_id, "text": self.text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_splits_round_trip_through_json() {
        let a = UserId::random();
        for split in [
            SplitInput::Equal {
                members: Some(vec![a]),
            },
            SplitInput::Equal { members: None },
        ] {
            let text = serde_json::to_string(&split).expect("serialises");
            let back: SplitInput<UserId> = serde_json::from_str(&text).expect("deserialises");
            assert_eq!(back, split);
        }
        let implicit: SplitInput<UserId> =
            serde_json::from_str(r#"{"type":"equal"}"#).expect("members optional");
        assert_eq!(implicit, SplitInput::Equal { members: None });
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").expect("valid").as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "a@.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}

/// A person's account at an OpenID Connect provider, linked to a user: the provider's
/// issuer URL and its subject (its stable id for the person; emails can change hands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The issuer, as the ID token's `iss` names it.
    pub issuer: String,
    /// The subject, as the ID token's `sub` names it.
    pub subject: String,
    /// The user it signs in.
    pub user_id: UserId,
    /// When it was linked.
    pub created_at: OffsetDateTime,
}

/// An OpenID Connect login under way, kept by the store between the redirect to the provider
/// and the callback, so any copy of the server can finish it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// Digest of the `state` sent to the provider (its key; the state itself is not kept).
    pub state: TokenDigest,
    /// The provider's configured name.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Where to send the person afterwards (a path on this server).
    pub return_to: String,
    /// The invite code the login was started with, if any.
    pub invite: Option<String>,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("provider", &self.provider)
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}
