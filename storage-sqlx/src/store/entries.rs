//! Expenses, settlements and conversions, written whole: the store locks what it replaces and applies
//! core's `Effect::change` to the running totals itself.

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use splitledger_core::Currency;
use splitledger_core::domain::{
    Conversion, ConversionId, DatedCursor, Expense, ExpenseFilter, ExpenseId, GroupId, Settlement,
    SettlementId,
};
use splitledger_core::entry::{Effect, Entry, EntryKey, EntryKind};
use splitledger_core::storage::{
    DeleteGuard, EntryReplace, EntryStore, EntryWrite, IdempotencyKey, Inserted, Replay,
    StorageError, StorageResult,
};

use super::{
    SqlStore, apply, finish, group_rows, insert_participants, lock_members, with_participants,
};
use crate::dialect::{Conn, Dialect, all, exec, one};
use crate::sql;

/// `effect(new) − effect(old)`; an effect that does not fit 64 bits cannot fit a total.
fn change(old: Option<&Entry>, new: Option<&Entry>) -> StorageResult<Effect> {
    Effect::change(old, new).map_err(|_| StorageError::Overflow)
}

/// A page's keyset cursor, as three placeholders (all NULL on the first page).
fn cursor(after: Option<&DatedCursor>) -> (Option<Date>, Option<OffsetDateTime>, Option<Uuid>) {
    (
        after.map(|c| c.occurred_on),
        after.map(|c| c.created_at),
        after.map(|c| c.id),
    )
}

/// Claims an idempotency key; the earlier record if the key was used. A racing twin waits
/// on the key until the first commits, then reads its record.
async fn claim<D: Dialect>(
    c: &mut Conn<D>,
    write: &EntryWrite,
    key: &IdempotencyKey,
) -> StorageResult<Option<Inserted>> {
    let entry = write.entry.key();
    let claim = (entry.group_id, key.user_id, &key.key);
    let args = (claim, &write.fingerprint, entry.id);
    if exec::<D>(c, sql::CLAIM_KEY, args).await? == 1 {
        return Ok(None);
    }
    let row: Option<(String, Uuid)> = one::<D, _>(c, sql::CLAIMED_KEY, claim).await?;
    let (fingerprint, id) =
        row.ok_or_else(|| StorageError::internal("idempotency key neither new nor stored"))?;
    Ok(Some(Inserted::Existing {
        by: Replay::Key,
        fingerprint,
        id,
    }))
}

/// Registers the entry's id (ids are global: clients may choose them); the earlier record
/// if this group used it, `Conflict("id_taken")` if another group did.
pub(super) async fn register<D: Dialect>(
    c: &mut Conn<D>,
    write: &EntryWrite,
) -> StorageResult<Option<Inserted>> {
    let key = write.entry.key();
    let args = (key.id, key.group_id, key.kind, &write.fingerprint);
    if exec::<D>(c, sql::REGISTER_ID, args).await? == 1 {
        return Ok(None);
    }
    let row: Option<(String, Uuid)> = one::<D, _>(c, sql::REGISTERED_ID, key.id).await?;
    match row {
        Some((fingerprint, group)) if group == key.group_id.0 => Ok(Some(Inserted::Existing {
            by: Replay::Id,
            fingerprint,
            id: key.id,
        })),
        Some(_) => Err(StorageError::Conflict("id_taken")),
        None => Err(StorageError::internal(
            "entry id neither new nor registered",
        )),
    }
}

/// Writes the entry's own rows (the expense with its participants, the settlement, the
/// conversion).
pub(super) async fn insert_rows<D: Dialect>(c: &mut Conn<D>, entry: &Entry) -> StorageResult<()> {
    match entry {
        Entry::Expense(e) => {
            exec::<D>(c, sql::INSERT_EXPENSE, e).await?;
            insert_participants::<D>(c, e).await
        }
        Entry::Settlement(s) => exec::<D>(c, sql::INSERT_SETTLEMENT, s).await.map(drop),
        Entry::Conversion(v) => exec::<D>(c, sql::INSERT_CONVERSION, v).await.map(drop),
    }
}

/// `Conflict("balances_changed")` unless every net and debt in `currency` is now zero: a
/// conversion computed from balances another write changed since moves the wrong amounts.
async fn settled<D: Dialect>(
    c: &mut Conn<D>,
    group: GroupId,
    currency: Currency,
) -> StorageResult<()> {
    let left: Option<String> = one::<D, _>(c, sql::UNSETTLED, (group, currency)).await?;
    match left {
        Some(_) => Err(StorageError::Conflict("balances_changed")),
        None => Ok(()),
    }
}

/// The expense statement `sql` names by id, with its participant rows.
async fn one_expense<D: Dialect>(
    c: &mut Conn<D>,
    sql: &'static str,
    group: GroupId,
    id: Uuid,
) -> StorageResult<Option<Expense>> {
    let rows = all::<D, Expense>(c, sql, (group, id)).await?;
    Ok(with_participants::<D>(c, group, rows).await?.pop())
}

/// Locks the stored entry until commit and reads it whole; `NotFound` if it is not there.
async fn lock_entry<D: Dialect>(c: &mut Conn<D>, key: EntryKey) -> StorageResult<Entry> {
    let (group, id) = (key.group_id, key.id);
    match key.kind {
        EntryKind::Expense => {
            (one_expense::<D>(c, sql::LOCK_EXPENSE, group, id).await?).map(Entry::Expense)
        }
        EntryKind::Settlement => {
            (one::<D, _>(c, sql::LOCK_SETTLEMENT, (group, id)).await?).map(Entry::Settlement)
        }
        EntryKind::Conversion => {
            (one::<D, _>(c, sql::LOCK_CONVERSION, (group, id)).await?).map(Entry::Conversion)
        }
    }
    .ok_or(StorageError::NotFound)
}

#[async_trait]
impl<D: Dialect> EntryStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %write.entry.key().group_id, kind = write.entry.kind().as_str(), id = %write.entry.key().id))]
    async fn insert_entry(&self, write: &EntryWrite) -> StorageResult<Inserted> {
        let entry = &write.entry;
        let key = entry.key();
        let effect = change(None, Some(entry))?;
        let mut tx = self.write().await?;
        // An early return drops the transaction: the key claim rolls back with it.
        if let Some(k) = &write.idempotency
            && let Some(earlier) = claim::<D>(&mut tx, write, k).await?
        {
            return Ok(earlier);
        }
        if let Some(earlier) = register::<D>(&mut tx, write).await? {
            return Ok(earlier);
        }
        lock_members::<D>(&mut tx, key.group_id, &entry.participants()).await?;
        insert_rows::<D>(&mut tx, entry).await?;
        if let Entry::Conversion(v) = entry {
            // As `finish`, with the check that the conversion left its currency at zero.
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, &write.activity).await?;
            apply::<D>(&mut tx, key.group_id, &effect).await?;
            settled::<D>(&mut tx, key.group_id, v.from_currency).await?;
            tx.commit().await.map_err(D::error)?;
        } else {
            finish::<D>(tx, &write.activity, Some((key.group_id, &effect))).await?;
        }
        Ok(Inserted::Created)
    }

    #[tracing::instrument(skip_all, fields(group = %replace.entry.key().group_id, id = %replace.entry.key().id, expected = replace.expected_version))]
    async fn replace_entry(&self, replace: &EntryReplace) -> StorageResult<()> {
        let new = &replace.entry;
        let key = new.key();
        let Entry::Expense(e) = new else {
            return Err(StorageError::Refused("settlements are not edited"));
        };
        let mut tx = self.write().await?;
        let old = lock_entry::<D>(&mut tx, key).await?;
        if old.version() != replace.expected_version {
            return Err(StorageError::StaleVersion {
                current: old.version(),
            });
        }
        if !old.same_rows(new) {
            lock_members::<D>(&mut tx, key.group_id, &new.participants()).await?;
        }
        let effect = change(Some(&old), Some(new))?;
        exec::<D>(&mut tx, sql::UPDATE_EXPENSE, e).await?;
        exec::<D>(&mut tx, sql::DELETE_PARTICIPANTS, (key.group_id, key.id)).await?;
        insert_participants::<D>(&mut tx, e).await?;
        finish::<D>(tx, &replace.activity, Some((key.group_id, &effect))).await
    }

    #[tracing::instrument(skip_all, fields(group = %key.group_id, kind = key.kind.as_str(), id = %key.id))]
    async fn delete_entry(&self, key: EntryKey, guard: &DeleteGuard<'_>) -> StorageResult<Entry> {
        let mut tx = self.write().await?;
        let old = lock_entry::<D>(&mut tx, key).await?;
        let activity = guard(&old)?;
        let effect = change(Some(&old), None)?;
        let delete = match key.kind {
            // Participant rows go with it (their foreign key cascades).
            EntryKind::Expense => sql::DELETE_EXPENSE,
            EntryKind::Settlement => sql::DELETE_SETTLEMENT,
            EntryKind::Conversion => sql::DELETE_CONVERSION,
        };
        exec::<D>(&mut tx, delete, (key.group_id, key.id)).await?;
        finish::<D>(tx, &activity, Some((key.group_id, &effect))).await?;
        Ok(old)
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>> {
        one_expense::<D>(&mut *self.snapshot().await?, sql::EXPENSE, group, id.0).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>> {
        let mut tx = self.snapshot().await?;
        let rest = (filter, cursor(after), limit);
        let rows = group_rows::<D, _>(&mut tx, sql::LIST_EXPENSES, group, rest).await?;
        with_participants::<D>(&mut tx, group, rows).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>> {
        one::<D, _>(&mut *self.conn().await?, sql::SETTLEMENT, (group, id.0)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>> {
        let c = &mut *self.conn().await?;
        group_rows::<D, _>(c, sql::LIST_SETTLEMENTS, group, (cursor(after), limit)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn conversion(
        &self,
        group: GroupId,
        id: ConversionId,
    ) -> StorageResult<Option<Conversion>> {
        one::<D, _>(&mut *self.conn().await?, sql::CONVERSION, (group, id)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_conversions(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Conversion>> {
        let c = &mut *self.conn().await?;
        group_rows::<D, _>(c, sql::LIST_CONVERSIONS, group, (cursor(after), limit)).await
    }
}
