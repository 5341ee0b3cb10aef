//! Core's records read straight from result rows, column by column in the order the
//! statements of `sql.rs` select them: one list of fields per record, for both databases.
//! A stored value core cannot read (an unknown currency, a bad email) is `Internal`: the
//! database holds something no write of ours put there.

use splitledger_core::balance::{PairDelta, Totals};
use splitledger_core::domain::{
    Activity, ActivityId, Email, Expense, ExpenseDetails, ExpenseId, Group, GroupId, Invite,
    LoginFailures, Member, MemberTotals, Role, Settlement, SettlementId, SummaryRow, User,
    UserGroupTotals, UserId, UserRecord,
};
use splitledger_core::money::{Minor, Money};
use splitledger_core::storage::{StorageError, StorageResult};
use splitledger_core::{Cause, Currency};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::dialect::{Get, SqlDb};
use crate::types::{DbDate, DbTime, DbUuid};

/// A stored value that does not parse: the parser's error is the cause.
fn corrupt(error: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Internal(Cause::new(error))
}

/// JSON as stored (text, so a value round-trips byte for byte).
pub(crate) fn json_text(value: &serde_json::Value) -> StorageResult<String> {
    serde_json::to_string(value).map_err(corrupt)
}

/// A result row, read left to right.
pub(crate) struct Cols<'r, DB: SqlDb> {
    row: &'r DB::Row,
    next: usize,
}

impl<'r, DB: SqlDb> Cols<'r, DB> {
    pub(crate) fn new(row: &'r DB::Row) -> Self {
        Self { row, next: 0 }
    }

    /// The next column as `T`.
    fn get<T>(&mut self) -> StorageResult<T>
    where
        DB: Get<T>,
    {
        self.next += 1;
        DB::get(self.row, self.next - 1).map_err(corrupt)
    }

    fn uuid(&mut self) -> StorageResult<Uuid> {
        self.get::<DbUuid>().map(|v| v.0)
    }

    fn user(&mut self) -> StorageResult<UserId> {
        self.uuid().map(UserId)
    }

    fn group(&mut self) -> StorageResult<GroupId> {
        self.uuid().map(GroupId)
    }

    fn time(&mut self) -> StorageResult<OffsetDateTime> {
        self.get::<DbTime>().map(|v| v.0)
    }

    fn date(&mut self) -> StorageResult<Date> {
        self.get::<DbDate>().map(|v| v.0)
    }

    fn text(&mut self) -> StorageResult<String> {
        self.get()
    }

    fn opt_text(&mut self) -> StorageResult<Option<String>> {
        self.get()
    }

    fn int(&mut self) -> StorageResult<i64> {
        self.get()
    }

    fn minor(&mut self) -> StorageResult<Minor> {
        self.int().map(Minor::new)
    }

    fn flag(&mut self) -> StorageResult<bool> {
        self.get()
    }

    fn currency(&mut self) -> StorageResult<Currency> {
        Currency::parse(&self.text()?).map_err(corrupt)
    }

    fn email(&mut self) -> StorageResult<Email> {
        Email::parse(&self.text()?).map_err(corrupt)
    }

    fn role(&mut self) -> StorageResult<Role> {
        (self.text()?.parse()).map_err(|e: splitledger_core::ValidationErrors| corrupt(e))
    }

    fn money(&mut self) -> StorageResult<Money> {
        Ok(Money::new(self.minor()?, self.currency()?))
    }

    /// A column of JSON text, parsed.
    fn json(&mut self) -> StorageResult<serde_json::Value> {
        serde_json::from_str(&self.text()?).map_err(corrupt)
    }

    fn opt_json(&mut self) -> StorageResult<Option<serde_json::Value>> {
        let text = self.opt_text()?;
        text.map(|t| serde_json::from_str(&t).map_err(corrupt))
            .transpose()
    }

    /// paid, owed, sent, received.
    fn totals(&mut self) -> StorageResult<Totals> {
        Ok(Totals {
            paid: self.minor()?,
            owed: self.minor()?,
            sent: self.minor()?,
            received: self.minor()?,
        })
    }
}

/// A record read from one result row.
pub(crate) trait FromCols: Sized {
    /// Reads it, consuming the columns it spans.
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self>;
}

/// A lone id (`SELECT id ...`): a lookup or a lock that found its row.
impl FromCols for Uuid {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        c.uuid()
    }
}

/// The fingerprint and id an idempotency key or entry id was first used with.
impl FromCols for (String, Uuid) {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok((c.text()?, c.uuid()?))
    }
}

/// `user_columns!()`.
impl FromCols for UserRecord {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        let (id, email, display_name) = (c.user()?, c.email()?, c.text()?);
        let default_currency = c.opt_text()?;
        let default_currency = default_currency
            .map(|code| Currency::parse(&code).map_err(corrupt))
            .transpose()?;
        let password_hash = c.text()?;
        let user = User {
            id,
            email,
            display_name,
            default_currency,
            created_at: c.time()?,
            updated_at: c.time()?,
        };
        Ok(UserRecord {
            user,
            password_hash,
        })
    }
}

impl FromCols for User {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        UserRecord::read(c).map(|r| r.user)
    }
}

impl FromCols for LoginFailures {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(LoginFailures {
            // The count only grows while under the throttle's cap; more than u32 is a cap.
            count: u32::try_from(c.int()?).unwrap_or(u32::MAX),
            last_at: c.get::<Option<DbTime>>()?.map(|t| t.0),
        })
    }
}

/// `group_role_columns!()`.
impl FromCols for (Group, Role) {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        let group = Group {
            id: c.group()?,
            name: c.text()?,
            description: c.opt_text()?,
            currency: c.currency()?,
            created_by: c.user()?,
            created_at: c.time()?,
            updated_at: c.time()?,
        };
        Ok((group, c.role()?))
    }
}

impl FromCols for Member {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Member {
            user_id: c.user()?,
            display_name: c.text()?,
            email: c.email()?,
            role: c.role()?,
            joined_at: c.time()?,
        })
    }
}

impl FromCols for Invite {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Invite {
            code: c.text()?,
            group_id: c.group()?,
            created_by: c.user()?,
            created_at: c.time()?,
            expires_at: c.time()?,
        })
    }
}

/// `expense_columns!()`: everything but the participant rows, which
/// `store::with_participants` reads next.
impl FromCols for Expense {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Expense {
            id: ExpenseId(c.uuid()?),
            group_id: c.group()?,
            amount: c.money()?,
            split: serde_json::from_str(&c.text()?).map_err(corrupt)?,
            created_by: c.user()?,
            created_at: c.time()?,
            updated_at: c.time()?,
            version: c.int()?,
            details: ExpenseDetails {
                description: c.text()?,
                category: c.opt_text()?,
                payment_method: c.opt_text()?,
                occurred_on: c.date()?,
                notes: c.opt_text()?,
                metadata: c.opt_json()?,
            },
            payers: Vec::new(),
            shares: Vec::new(),
        })
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

impl FromCols for Participant {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Participant {
            expense: c.uuid()?,
            user: c.user()?,
            paid: c.minor()?,
            owed: c.minor()?,
            payer: c.flag()?,
            sharer: c.flag()?,
        })
    }
}

impl FromCols for Settlement {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Settlement {
            id: SettlementId(c.uuid()?),
            group_id: c.group()?,
            from_user: c.user()?,
            to_user: c.user()?,
            amount: c.money()?,
            occurred_on: c.date()?,
            note: c.opt_text()?,
            created_by: c.user()?,
            created_at: c.time()?,
        })
    }
}

impl FromCols for MemberTotals {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(MemberTotals {
            user_id: c.user()?,
            currency: c.currency()?,
            totals: c.totals()?,
        })
    }
}

impl FromCols for PairDelta<UserId> {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(PairDelta {
            currency: c.currency()?,
            a: c.user()?,
            b: c.user()?,
            amount: c.minor()?,
        })
    }
}

impl FromCols for UserGroupTotals {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(UserGroupTotals {
            group_id: c.group()?,
            group_name: c.text()?,
            currency: c.currency()?,
            totals: c.totals()?,
        })
    }
}

/// The summaries sum amounts in two 64-bit halves, `amount / 2^30` and `amount % 2^30`
/// (see `sql.rs`), which no history can overflow; their 128-bit total is exact.
impl FromCols for SummaryRow {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        let (key, currency) = (c.opt_text()?, c.currency()?);
        let (high, low) = (i128::from(c.int()?), i128::from(c.int()?));
        Ok(SummaryRow {
            key,
            currency,
            amount: high * (1 << 30) + low,
            count: c.int()?,
        })
    }
}

impl FromCols for Activity {
    fn read<DB: SqlDb>(c: &mut Cols<'_, DB>) -> StorageResult<Self> {
        Ok(Activity {
            id: ActivityId(c.uuid()?),
            group_id: c.group()?,
            actor: c.user()?,
            action: c.text()?,
            entity: c.text()?,
            entity_id: c.uuid()?,
            at: c.time()?,
            details: c.json()?,
        })
    }
}
