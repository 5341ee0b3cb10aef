//! Conversions of balances: every member's net in one currency moved into another at a
//! rate, as one entry, exactly zero-sum in both currencies, undone by deleting it.

use serde::Serialize;
use serde_json::Value;
use time::Date;

use super::expenses::{check_key, fingerprint, overflow, replayed};
use super::{Error, Ledger, Page, PageRequest, Result, check_date, cursor, optional_text, record};
use crate::domain::{Conversion, ConversionId, ConversionRow, GroupId, UserId};
use crate::entry::{Entry, EntryKey, EntryKind};
use crate::error::{Cause, FieldError, ValidationErrors};
use crate::exchange::{self, ConvertError, Rate};
use crate::money::{Currency, Minor};
use crate::storage::{EntryWrite, IdempotencyKey, Inserted, Storage, StorageError, StorageResult};

/// How many times a conversion is computed again when another write changed the balances
/// between its read and its commit.
const ATTEMPTS: usize = 3;

/// A conversion of balances, as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewConversion {
    /// The currency to empty (ISO 4217).
    pub from_currency: String,
    /// The currency that receives the nets.
    pub to_currency: String,
    /// Units of `to_currency` per unit of `from_currency`: a positive decimal string with at
    /// most 12 significant digits.
    pub exchange_rate: String,
    /// Today (UTC) when absent.
    pub occurred_on: Option<Date>,
    /// Up to 500 characters.
    pub note: Option<String>,
}

impl<S: Storage> Ledger<S> {
    /// Moves every member's net in `from_currency` into `to_currency` at the rate (owner and
    /// admins): afterwards every net and debt in `from_currency` is zero, and the nets in
    /// `to_currency` still add up to zero (largest remainder rule, ties seeded by the
    /// conversion's id). With an idempotency key, a repeat returns the first conversion.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_conversion(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewConversion,
        idempotency_key: Option<&str>,
    ) -> Result<Conversion> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden(
                "only an admin or the owner may convert the group's balances",
            ));
        }
        let key = check_key(idempotency_key)?;
        let mut errors = ValidationErrors::default();
        let mut currency = |field: &str, code: &str| {
            Currency::parse(code)
                .map_err(|e| errors.push(e.at(field)))
                .ok()
        };
        let from = currency("from_currency", &request.from_currency);
        let to = currency("to_currency", &request.to_currency);
        if from.is_some() && from == to {
            errors.push(FieldError::new(
                "to_currency",
                "same_currency",
                "a conversion moves balances into another currency",
            ));
        }
        let rate = Rate::parse(&request.exchange_rate)
            .map_err(|e| errors.push(e.at("exchange_rate")))
            .ok();
        let note = optional_text("note", request.note.as_deref(), 500, &mut errors);
        check_date("occurred_on", request.occurred_on, &mut errors);
        errors.into_result()?;
        let (Some(from), Some(to), Some(rate)) = (from, to, rate) else {
            return Err(Error::Internal(Cause::msg("validated fields missing")));
        };
        let fingerprint = fingerprint("conversion", &request)?;
        let id = ConversionId::random();
        let now = self.now();
        for _ in 0..ATTEMPTS {
            let (rows, debts) = self.converted_rows(group, id, from, to, rate).await?;
            let conversion = Conversion {
                id,
                group_id: group,
                from_currency: from,
                to_currency: to,
                exchange_rate: rate,
                rows,
                debts,
                occurred_on: request.occurred_on.unwrap_or(now.date()),
                note: note.clone(),
                created_by: actor,
                created_at: now,
            };
            let write = EntryWrite {
                fingerprint: fingerprint.clone(),
                activity: record(
                    group,
                    actor,
                    "conversion.created",
                    id.0,
                    now,
                    Value::Null,
                    conversion.snapshot(),
                ),
                entry: Entry::Conversion(conversion),
                idempotency: key.clone().map(|key| IdempotencyKey {
                    user_id: actor,
                    key,
                }),
            };
            return match self.storage.insert_entry(&write).await {
                Ok(Inserted::Created) => match write.entry {
                    Entry::Conversion(c) => Ok(c),
                    _ => Err(Error::Internal(Cause::msg("wrote another kind"))),
                },
                Ok(Inserted::Existing {
                    by,
                    fingerprint,
                    id,
                }) => {
                    let id = replayed(&write.fingerprint, by, &fingerprint, id)?;
                    self.storage
                        .conversion(group, ConversionId(id))
                        .await?
                        .ok_or(Error::NotFound("conversion"))
                }
                // Another write moved these balances since they were read: read them again.
                Err(StorageError::Conflict("balances_changed")) => continue,
                Err(StorageError::Overflow) => Err(overflow()),
                Err(e) => Err(e.into()),
            };
        }
        Err(Error::conflict(
            "balances_changed",
            "the balances kept changing while they were converted; try again",
        ))
    }

    /// Every non-zero net in `from` converted into `to`, and the debts in `from` it settles.
    async fn converted_rows(
        &self,
        group: GroupId,
        id: ConversionId,
        from: Currency,
        to: Currency,
        rate: Rate,
    ) -> Result<(Vec<ConversionRow>, Vec<crate::balance::PairDelta<UserId>>)> {
        let totals = self.storage.member_totals(group).await?;
        let mut nets: Vec<(UserId, i64)> = Vec::new();
        for t in totals.iter().filter(|t| t.currency == from) {
            let net = t
                .totals
                .net()
                .map_err(|_| Error::Internal(Cause::msg("balance overflow")))?;
            if net != 0 {
                nets.push((t.user_id, net));
            }
        }
        if nets.is_empty() {
            return Err(Error::invalid(
                "from_currency",
                "nothing_to_convert",
                "every balance in this currency is already zero",
            ));
        }
        let converted = exchange::convert_nets(&id.to_string(), &nets, from, to, rate).map_err(
            |e| match e {
                ConvertError::TooLarge => Error::invalid(
                    "exchange_rate",
                    "amount_too_large",
                    "the converted balances are too large",
                ),
                ConvertError::Unbalanced => Error::Internal(Cause::new(e)),
            },
        )?;
        let rows = converted
            .into_iter()
            .map(|r| ConversionRow {
                user_id: r.user_id,
                from_amount: Minor::new(r.from_amount),
                to_amount: Minor::new(r.to_amount),
            })
            .collect();
        let debts = (self.storage.pair_totals(group).await?.into_iter())
            .filter(|p| p.currency == from && !p.amount.is_zero())
            .collect();
        Ok((rows, debts))
    }

    /// A page of the group's conversions, newest first.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn list_conversions(
        &self,
        actor: UserId,
        group: GroupId,
        page: PageRequest,
    ) -> Result<Page<Conversion>> {
        self.access(actor, group).await?;
        let limit = page.limit()?;
        let after = page
            .cursor
            .as_deref()
            .map(cursor::parse_dated)
            .transpose()?;
        let rows = self
            .storage
            .list_conversions(group, after.as_ref(), limit + 1)
            .await?;
        Ok(Page::from_rows(rows, limit, |c| cursor::dated(&c.cursor())))
    }

    /// Undoes a conversion (owner and admins): its exact effect is taken back, whatever
    /// happened since.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn delete_conversion(
        &self,
        actor: UserId,
        group: GroupId,
        id: ConversionId,
    ) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden(
                "only an admin or the owner may undo a conversion",
            ));
        }
        let now = self.now();
        let guard = |entry: &Entry| -> StorageResult<_> {
            match entry {
                Entry::Conversion(c) => Ok(record(
                    group,
                    actor,
                    "conversion.deleted",
                    id.0,
                    now,
                    c.snapshot(),
                    Value::Null,
                )),
                _ => Err(StorageError::NotFound),
            }
        };
        let key = EntryKey {
            group_id: group,
            kind: EntryKind::Conversion,
            id: id.0,
        };
        match self.storage.delete_entry(key, &guard).await {
            Ok(_) => Ok(()),
            Err(StorageError::NotFound) => Err(Error::NotFound("conversion")),
            Err(StorageError::Overflow) => Err(overflow()),
            Err(e) => Err(e.into()),
        }
    }
}
