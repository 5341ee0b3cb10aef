//! Expenses and settlements: create (idempotently), list, read, edit, delete.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{
    Error, Ledger, Result, check_date, cursor, filter_text, optional_text, record, required_text,
};
use crate::domain::{
    Expense, ExpenseDetails, ExpenseFilter, ExpenseId, ExpenseKind, Group, GroupId, Original, Role,
    Settlement, SettlementId, UserId,
};
use crate::entry::{Entry, EntryKey, EntryKind};
use crate::error::{Cause, FieldError, ValidationErrors};
use crate::exchange::{self, Rate};
use crate::money::{Currency, Money};
use crate::split::{self, Allocation, PayerInput, Payment, SplitInput, SplitRequest};
use crate::storage::{
    EntryReplace, EntryWrite, IdempotencyKey, Inserted, Replay, Storage, StorageError,
};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;
/// Largest `metadata` object, serialised (16 KiB).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A page size and the cursor of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub(super) fn limit(&self) -> Result<u32> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Error::invalid(
                "limit",
                "out_of_range",
                format!("from 1 to {MAX_LIMIT}"),
            )),
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows (the extra one says there is more).
    pub(super) fn from_rows(mut rows: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(cursor) } else { None };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with its items converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// A new expense, as the API takes it. Build one with `..Default::default()` so a new
/// optional field does not break callers:
/// `NewExpense { description: "Dinner".into(), amount: "42.00".into(), paid_by: Some(me), ..Default::default() }`
/// (an equal split among every member unless `split` says otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExpense {
    /// The id, when the client chooses it (it seeds the allocation's tie-break, so the
    /// client can compute the stored rows beforehand); a fresh one otherwise.
    pub id: Option<ExpenseId>,
    /// Spent (the default) or received.
    // Left out of the request's fingerprint when absent, so a replay of a request made
    // before kinds existed still matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ExpenseKind>,
    /// What it was (1 to 200 characters).
    pub description: String,
    /// A positive decimal string.
    pub amount: String,
    /// ISO 4217 code; the group's when absent.
    pub currency: Option<String>,
    /// Units of the group's currency per unit of `currency`: the expense was paid in
    /// `currency` and is booked in the group's (a positive decimal string, at most 12
    /// significant digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<String>,
    /// The one member who paid it all, or
    pub paid_by: Option<UserId>,
    /// several payers with amounts adding up to `amount`.
    pub payers: Option<Vec<PayerInput<UserId>>>,
    /// How it is split.
    pub split: SplitInput<UserId>,
    /// Up to 50 characters.
    pub category: Option<String>,
    /// Up to 50 characters.
    pub payment_method: Option<String>,
    /// Today (UTC) when absent.
    pub occurred_on: Option<Date>,
    /// Up to 2000 characters.
    pub notes: Option<String>,
    /// Any JSON object up to 16 KiB.
    pub metadata: Option<Value>,
}

/// Changes to an expense, naming the version they were based on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpensePatch {
    /// The version read; the edit is refused if the expense has changed since.
    pub version: i64,
    /// New kind (spent or received).
    pub kind: Option<ExpenseKind>,
    /// New description.
    pub description: Option<String>,
    /// New amount.
    pub amount: Option<String>,
    /// New currency.
    pub currency: Option<String>,
    /// New exchange rate (`Some(None)`: booked in its own currency again).
    pub exchange_rate: Option<Option<String>>,
    /// New single payer.
    pub paid_by: Option<UserId>,
    /// New payers.
    pub payers: Option<Vec<PayerInput<UserId>>>,
    /// New split.
    pub split: Option<SplitInput<UserId>>,
    /// New category (`Some(None)` clears).
    pub category: Option<Option<String>>,
    /// New payment method (`Some(None)` clears).
    pub payment_method: Option<Option<String>>,
    /// New date.
    pub occurred_on: Option<Date>,
    /// New notes (`Some(None)` clears).
    pub notes: Option<Option<String>>,
    /// New metadata (`Some(None)` clears).
    pub metadata: Option<Option<Value>>,
}

impl ExpensePatch {
    fn changes_money(&self) -> bool {
        self.amount.is_some()
            || self.currency.is_some()
            || self.exchange_rate.is_some()
            || self.paid_by.is_some()
            || self.payers.is_some()
            || self.split.is_some()
    }
}

/// A page request of expenses with filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListExpenses {
    /// Filters.
    pub filter: ExpenseFilter,
    /// Page size and cursor.
    pub page: PageRequest,
}

/// A new repayment; [`NewSettlement::new`] fills the required fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSettlement {
    /// Who paid back.
    pub from_user: UserId,
    /// Who was paid back.
    pub to_user: UserId,
    /// A positive decimal string.
    pub amount: String,
    /// ISO 4217 code; the group's when absent.
    pub currency: Option<String>,
    /// Today (UTC) when absent.
    pub occurred_on: Option<Date>,
    /// Up to 500 characters.
    pub note: Option<String>,
}

impl NewSettlement {
    /// `from` repaid `to` `amount` (a decimal string) in the group's currency, today, with no
    /// note; set the other fields on the result.
    pub fn new(from_user: UserId, to_user: UserId, amount: impl Into<String>) -> Self {
        Self {
            from_user,
            to_user,
            amount: amount.into(),
            currency: None,
            occurred_on: None,
            note: None,
        }
    }
}

pub(super) fn check_metadata(metadata: Option<&Value>, errors: &mut ValidationErrors) {
    let Some(value) = metadata else { return };
    if !value.is_object() {
        errors.push(FieldError::new(
            "metadata",
            "metadata_not_object",
            "must be a JSON object",
        ));
    } else if value.to_string().len() > MAX_METADATA_BYTES {
        errors.push(FieldError::new(
            "metadata",
            "metadata_too_large",
            "at most 16 KiB",
        ));
    }
}

pub(super) fn check_key(key: Option<&str>) -> Result<Option<String>> {
    let Some(key) = key else { return Ok(None) };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "idempotency_key",
            "invalid_idempotency_key",
            "1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// A digest of the request, so a replay can be told from a reuse with another body.
pub(super) fn fingerprint(kind: &str, request: &impl Serialize) -> Result<String> {
    let body = serde_json::to_vec(&(kind, request)).map_err(|e| Error::Internal(Cause::new(e)))?;
    Ok(Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

const EDIT_RULE: &str = "only its creator, a payer or an admin may change this expense";
const REPAYMENT_RULE: &str = "only its creator, its payer or an admin may delete this repayment";

pub(super) fn may_change_expense(role: Role, actor: UserId, expense: &Expense) -> Result<()> {
    if role.manages() || expense.created_by == actor || expense.is_payer(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden(EDIT_RULE))
    }
}

/// The id of what an earlier request created, if that request was this one; otherwise the
/// conflict that names what was reused.
pub(super) fn replayed(fingerprint: &str, by: Replay, earlier: &str, id: Uuid) -> Result<Uuid> {
    if fingerprint == earlier {
        return Ok(id);
    }
    Err(match by {
        Replay::Key => Error::conflict(
            "idempotency_key_reused",
            "this idempotency key was used with a different request",
        ),
        Replay::Id => Error::conflict("id_taken", "this id is already in use"),
    })
}

/// The allocation in the group's currency: as it is, or, with an exchange rate, converted
/// ([`exchange::book`]) with what was entered kept as its [`Original`].
fn booked(
    seed: &str,
    allocation: Allocation<UserId>,
    group_currency: Currency,
    rate: Option<&str>,
) -> Result<(Allocation<UserId>, Option<Box<Original>>)> {
    let Some(rate) = rate else {
        return Ok((allocation, None));
    };
    if allocation.currency == group_currency {
        return Err(Error::invalid(
            "exchange_rate",
            "exchange_rate_same_currency",
            "an exchange rate books an expense paid in another currency: give that `currency`",
        ));
    }
    let rate = Rate::parse(rate).map_err(|e| ValidationErrors::from(e.at("exchange_rate")))?;
    let converted = exchange::book(seed, &allocation, group_currency, rate)?;
    let original = Original {
        amount: Money::new(allocation.amount, allocation.currency),
        exchange_rate: rate,
        payers: allocation.payers,
        shares: allocation.shares,
    };
    Ok((converted, Some(Box::new(original))))
}

pub(super) fn overflow() -> Error {
    Error::invalid("amount", "amount_too_large", "the balances would overflow")
}

impl<S: Storage> Ledger<S> {
    /// Records an expense. With an idempotency key, repeating the same request returns the
    /// expense the first one created; the same key with another request is a conflict.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_expense(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewExpense,
        idempotency_key: Option<&str>,
    ) -> Result<Expense> {
        let (g, _) = self.access(actor, group).await?;
        let key = check_key(idempotency_key)?;
        let now = self.now();
        let expense = self.build_expense(&g, actor, &request, now).await?;
        let id = expense.id;
        let write = EntryWrite {
            fingerprint: fingerprint("expense", &request)?,
            activity: record(
                group,
                actor,
                "expense.created",
                id.0,
                now,
                Value::Null,
                expense.snapshot(),
            ),
            entry: Entry::Expense(expense),
            idempotency: key.map(|key| IdempotencyKey {
                user_id: actor,
                key,
            }),
        };
        match self.storage.insert_entry(&write).await? {
            Inserted::Created => match write.entry {
                Entry::Expense(e) => Ok(e),
                _ => Err(Error::Internal(Cause::msg("wrote another kind"))),
            },
            Inserted::Existing {
                by,
                fingerprint,
                id,
            } => {
                let id = replayed(&write.fingerprint, by, &fingerprint, id)?;
                self.storage
                    .expense(group, ExpenseId(id))
                    .await?
                    .ok_or(Error::NotFound("expense"))
            }
        }
    }

    /// Validates a new expense and allocates it, as `actor` records it in `g` at `now`:
    /// the one path every expense goes through, whether a member enters it or a series makes
    /// it (so both refuse the same input with the same codes).
    pub(super) async fn build_expense(
        &self,
        g: &Group,
        actor: UserId,
        request: &NewExpense,
        now: OffsetDateTime,
    ) -> Result<Expense> {
        let group = g.id;
        let mut errors = ValidationErrors::default();
        let description = required_text("description", &request.description, 200, &mut errors);
        let category = optional_text("category", request.category.as_deref(), 50, &mut errors);
        let payment_method = optional_text(
            "payment_method",
            request.payment_method.as_deref(),
            50,
            &mut errors,
        );
        let notes = optional_text("notes", request.notes.as_deref(), 2000, &mut errors);
        check_metadata(request.metadata.as_ref(), &mut errors);
        check_date("occurred_on", request.occurred_on, &mut errors);
        let currency = match request.currency.as_deref() {
            None => Some(g.currency),
            Some(code) => Currency::parse(code)
                .map_err(|e| errors.push(e.at("currency")))
                .ok(),
        };
        let payment = Payment::from_fields(request.paid_by, request.payers.clone())
            .map_err(|e| errors.0.extend(e.0))
            .ok();
        let (Some(currency), Some(payment)) = (currency, payment) else {
            return Err(errors.into());
        };
        let members: Vec<UserId> = self
            .storage
            .members(group)
            .await?
            .iter()
            .map(|m| m.user_id)
            .collect();
        let id = request.id.unwrap_or_else(ExpenseId::random);
        let seed = id.to_string();
        let allocation = split::allocate(&SplitRequest {
            seed: &seed,
            amount: &request.amount,
            currency,
            payment: &payment,
            split: &request.split,
            members: &members,
        });
        let allocation = match allocation {
            Ok(a) => Some(a),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        errors.into_result()?;
        let allocation = allocation
            .ok_or_else(|| Error::invalid("split", "invalid_split", "cannot allocate"))?;
        let (allocation, original) = booked(
            &seed,
            allocation,
            g.currency,
            request.exchange_rate.as_deref(),
        )?;

        Ok(Expense {
            id,
            group_id: group,
            kind: request.kind.unwrap_or_default(),
            amount: Money::new(allocation.amount, allocation.currency),
            original,
            payers: allocation.payers,
            shares: allocation.shares,
            split: request.split.resolved(&members),
            details: ExpenseDetails {
                description,
                category,
                payment_method,
                occurred_on: request.occurred_on.unwrap_or(now.date()),
                notes,
                metadata: request.metadata.clone(),
            },
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
            recurring: None,
            attachments: Vec::new(),
        })
    }

    /// One expense.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn expense(&self, actor: UserId, group: GroupId, id: ExpenseId) -> Result<Expense> {
        self.access(actor, group).await?;
        self.storage
            .expense(group, id)
            .await?
            .ok_or(Error::NotFound("expense"))
    }

    /// A page of expenses, newest first.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn list_expenses(
        &self,
        actor: UserId,
        group: GroupId,
        request: ListExpenses,
    ) -> Result<Page<Expense>> {
        self.access(actor, group).await?;
        let limit = request.page.limit()?;
        filter_text("category", request.filter.category.as_deref())?;
        let after = request
            .page
            .cursor
            .as_deref()
            .map(cursor::parse_dated)
            .transpose()?;
        if let (Some(from), Some(to)) = (request.filter.from, request.filter.to)
            && from > to
        {
            return Err(Error::invalid(
                "from",
                "invalid_range",
                "from must not be after to",
            ));
        }
        let rows = self
            .storage
            .list_expenses(group, &request.filter, after.as_ref(), limit + 1)
            .await?;
        Ok(Page::from_rows(rows, limit, |e| cursor::dated(&e.cursor())))
    }

    /// Edits an expense (its creator, a payer, an admin or the owner), if `patch.version` is
    /// still current. Changing the amount, currency, payers or split re-allocates it with the
    /// same tie-break; other edits keep its rows as they are.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn update_expense(
        &self,
        actor: UserId,
        group: GroupId,
        id: ExpenseId,
        patch: ExpensePatch,
    ) -> Result<Expense> {
        let (g, role) = self.access(actor, group).await?;
        let before = self
            .storage
            .expense(group, id)
            .await?
            .ok_or(Error::NotFound("expense"))?;
        may_change_expense(role, actor, &before)?;
        if before.version != patch.version {
            return Err(Error::StaleVersion {
                expected: patch.version,
                current: before.version,
            });
        }
        let mut errors = ValidationErrors::default();
        let mut after = before.clone();
        if let Some(kind) = patch.kind {
            after.kind = kind;
        }
        let details = &mut after.details;
        if let Some(d) = &patch.description {
            details.description = required_text("description", d, 200, &mut errors);
        }
        if let Some(c) = &patch.category {
            details.category = optional_text("category", c.as_deref(), 50, &mut errors);
        }
        if let Some(p) = &patch.payment_method {
            details.payment_method = optional_text("payment_method", p.as_deref(), 50, &mut errors);
        }
        if let Some(n) = &patch.notes {
            details.notes = optional_text("notes", n.as_deref(), 2000, &mut errors);
        }
        if let Some(m) = &patch.metadata {
            check_metadata(m.as_ref(), &mut errors);
            details.metadata = m.clone();
        }
        if let Some(d) = patch.occurred_on {
            check_date("occurred_on", Some(d), &mut errors);
            details.occurred_on = d;
        }
        if patch.changes_money() {
            self.reallocate(group, &before, &patch, &mut after, g.currency, &mut errors)
                .await?;
        }
        errors.into_result()?;

        let now = self.now();
        after.updated_at = now;
        after.version = before.version + 1;
        let replace = EntryReplace {
            activity: record(
                group,
                actor,
                "expense.updated",
                id.0,
                now,
                before.snapshot(),
                after.snapshot(),
            ),
            entry: Entry::Expense(after),
            expected_version: before.version,
        };
        match self.storage.replace_entry(&replace).await {
            Ok(()) => match replace.entry {
                Entry::Expense(e) => Ok(e),
                _ => Err(Error::Internal(Cause::msg("wrote another kind"))),
            },
            Err(StorageError::StaleVersion { current }) => Err(Error::StaleVersion {
                expected: patch.version,
                current,
            }),
            Err(StorageError::Overflow) => Err(overflow()),
            Err(e) => Err(e.into()),
        }
    }

    /// Recomputes `after`'s payers and shares from the patch and what it leaves unchanged.
    async fn reallocate(
        &self,
        group: GroupId,
        before: &Expense,
        patch: &ExpensePatch,
        after: &mut Expense,
        group_currency: Currency,
        errors: &mut ValidationErrors,
    ) -> Result<()> {
        // Money edits apply to what was entered: the original figures when it was booked from
        // another currency.
        let (old, old_amount, old_payers) = match &before.original {
            Some(o) => (o.amount.currency(), o.amount, &o.payers),
            None => (before.currency(), before.amount, &before.payers),
        };
        let rate = match &patch.exchange_rate {
            Some(rate) => rate.clone(),
            None => before
                .original
                .as_ref()
                .map(|o| o.exchange_rate.to_string()),
        };
        let currency = match &patch.currency {
            Some(code) => match Currency::parse(code) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(e.at("currency"));
                    return Ok(());
                }
            },
            None => old,
        };
        let payment = if patch.paid_by.is_some() || patch.payers.is_some() {
            match Payment::from_fields(patch.paid_by, patch.payers.clone()) {
                Ok(p) => p,
                Err(e) => {
                    errors.0.extend(e.0);
                    return Ok(());
                }
            }
        } else if let [single] = old_payers.as_slice() {
            Payment::Single(single.user_id)
        } else {
            Payment::Several(
                old_payers
                    .iter()
                    .map(|p| PayerInput {
                        user_id: p.user_id,
                        amount: old.format(p.amount.get()),
                    })
                    .collect(),
            )
        };
        let amount = patch
            .amount
            .clone()
            .unwrap_or_else(|| old_amount.to_string());
        let split = patch.split.clone().unwrap_or_else(|| before.split.clone());
        let members: Vec<UserId> = self
            .storage
            .members(group)
            .await?
            .iter()
            .map(|m| m.user_id)
            .collect();
        let seed = before.id.to_string();
        match split::allocate(&SplitRequest {
            seed: &seed,
            amount: &amount,
            currency,
            payment: &payment,
            split: &split,
            members: &members,
        }) {
            Ok(a) => match booked(&seed, a, group_currency, rate.as_deref()) {
                Ok((a, original)) => {
                    after.amount = Money::new(a.amount, a.currency);
                    after.original = original;
                    after.payers = a.payers;
                    after.shares = a.shares;
                    after.split = split.resolved(&members);
                }
                Err(Error::Validation(e)) => errors.0.extend(e.0),
                Err(e) => return Err(e),
            },
            Err(e) => errors.0.extend(e.0),
        }
        Ok(())
    }

    /// Deletes an expense (its creator, a payer, an admin or the owner). The rule is checked
    /// by the store against the row it locked, so a concurrent edit cannot slip between the
    /// check and the deletion.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn delete_expense(&self, actor: UserId, group: GroupId, id: ExpenseId) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        let now = self.now();
        let guard = |entry: &Entry| match entry {
            Entry::Expense(e) => {
                may_change_expense(role, actor, e).map_err(|_| StorageError::Refused(EDIT_RULE))?;
                Ok(record(
                    group,
                    actor,
                    "expense.deleted",
                    id.0,
                    now,
                    e.snapshot(),
                    Value::Null,
                ))
            }
            _ => Err(StorageError::NotFound),
        };
        let key = EntryKey {
            group_id: group,
            kind: EntryKind::Expense,
            id: id.0,
        };
        match self.storage.delete_entry(key, &guard).await {
            Ok(_) => {
                // Its attachment rows went with it; now their files.
                self.forget_files_of(group, Some(id)).await;
                Ok(())
            }
            Err(StorageError::NotFound) => Err(Error::NotFound("expense")),
            Err(e) => Err(e.into()),
        }
    }

    /// Records a repayment between two members (any member may record one).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_settlement(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewSettlement,
        idempotency_key: Option<&str>,
    ) -> Result<Settlement> {
        let (g, _) = self.access(actor, group).await?;
        let key = check_key(idempotency_key)?;
        let mut errors = ValidationErrors::default();
        let note = optional_text("note", request.note.as_deref(), 500, &mut errors);
        let currency = match request.currency.as_deref() {
            None => Some(g.currency),
            Some(code) => Currency::parse(code)
                .map_err(|e| errors.push(e.at("currency")))
                .ok(),
        };
        let amount = currency.and_then(|c| {
            c.parse_amount(&request.amount)
                .map_err(|e| errors.push(e.at("amount")))
                .ok()
        });
        if request.from_user == request.to_user {
            errors.push(FieldError::new(
                "to_user",
                "same_user",
                "a repayment goes from one member to another",
            ));
        }
        check_date("occurred_on", request.occurred_on, &mut errors);
        let members = self.storage.members(group).await?;
        for (field, user) in [
            ("from_user", request.from_user),
            ("to_user", request.to_user),
        ] {
            if !members.iter().any(|m| m.user_id == user) {
                errors.push(FieldError::new(
                    field,
                    "not_a_member",
                    format!("{user} is not a member of this group"),
                ));
            }
        }
        errors.into_result()?;
        let (Some(currency), Some(amount)) = (currency, amount) else {
            return Err(Error::invalid(
                "amount",
                "invalid_amount",
                "not a valid amount",
            ));
        };
        let now = self.now();
        let settlement = Settlement {
            id: SettlementId::random(),
            group_id: group,
            from_user: request.from_user,
            to_user: request.to_user,
            amount: Money::from_minor(amount, currency),
            occurred_on: request.occurred_on.unwrap_or(now.date()),
            note,
            created_by: actor,
            created_at: now,
        };
        let write = EntryWrite {
            fingerprint: fingerprint("settlement", &request)?,
            activity: record(
                group,
                actor,
                "settlement.created",
                settlement.id.0,
                now,
                Value::Null,
                settlement.snapshot(),
            ),
            entry: Entry::Settlement(settlement),
            idempotency: key.map(|key| IdempotencyKey {
                user_id: actor,
                key,
            }),
        };
        match self.storage.insert_entry(&write).await {
            Ok(Inserted::Created) => match write.entry {
                Entry::Settlement(s) => Ok(s),
                _ => Err(Error::Internal(Cause::msg("wrote another kind"))),
            },
            Ok(Inserted::Existing {
                by,
                fingerprint,
                id,
            }) => {
                let id = replayed(&write.fingerprint, by, &fingerprint, id)?;
                self.storage
                    .settlement(group, SettlementId(id))
                    .await?
                    .ok_or(Error::NotFound("settlement"))
            }
            Err(StorageError::Overflow) => Err(overflow()),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of repayments, newest first.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn list_settlements(
        &self,
        actor: UserId,
        group: GroupId,
        page: PageRequest,
    ) -> Result<Page<Settlement>> {
        self.access(actor, group).await?;
        let limit = page.limit()?;
        let after = page
            .cursor
            .as_deref()
            .map(cursor::parse_dated)
            .transpose()?;
        let rows = self
            .storage
            .list_settlements(group, after.as_ref(), limit + 1)
            .await?;
        Ok(Page::from_rows(rows, limit, |s| cursor::dated(&s.cursor())))
    }

    /// Deletes a repayment (its creator, either party, an admin or the owner).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn delete_settlement(
        &self,
        actor: UserId,
        group: GroupId,
        id: SettlementId,
    ) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        let now = self.now();
        let guard = |entry: &Entry| match entry {
            Entry::Settlement(s) => {
                // Deleting a repayment raises the payer's debt: the payer may, the recipient
                // may not (they could deny being paid) unless they recorded it themselves.
                if !(role.manages() || [s.created_by, s.from_user].contains(&actor)) {
                    return Err(StorageError::Refused(REPAYMENT_RULE));
                }
                Ok(record(
                    group,
                    actor,
                    "settlement.deleted",
                    id.0,
                    now,
                    s.snapshot(),
                    Value::Null,
                ))
            }
            _ => Err(StorageError::NotFound),
        };
        let key = EntryKey {
            group_id: group,
            kind: EntryKind::Settlement,
            id: id.0,
        };
        match self.storage.delete_entry(key, &guard).await {
            Ok(_) => Ok(()),
            Err(StorageError::NotFound) => Err(Error::NotFound("settlement")),
            Err(e) => Err(e.into()),
        }
    }
}
