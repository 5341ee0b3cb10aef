//! Expenses and settlements, written whole: the store locks what it replaces and applies
//! core's `Effect::change` to the running totals itself.

use async_trait::async_trait;

use splitledger_core::domain::{
    DatedCursor, Expense, ExpenseDetails, ExpenseFilter, ExpenseId, GroupId, Settlement,
    SettlementId,
};
use splitledger_core::entry::{Effect, Entry, EntryKey, EntryKind};
use splitledger_core::storage::{
    DeleteGuard, EntryReplace, EntryStore, EntryWrite, IdempotencyKey, Inserted, Replay,
    StorageError, StorageResult,
};

use super::{
    SqlStore, apply, commit, insert_activity, insert_participants, limit, lock_members,
    unless_empty_group, with_participants,
};
use crate::dialect::{Conn, Dialect, Stmt};
use crate::rows::{ExpenseRow, SettlementRow, convert, json_text};
use crate::sql;
use crate::types::{DbDate, DbTime, DbUuid};

/// `effect(new) − effect(old)`; an effect that does not fit 64 bits cannot fit a total.
fn change(old: Option<&Entry>, new: Option<&Entry>) -> StorageResult<Effect> {
    Effect::change(old, new).map_err(|_| StorageError::Overflow)
}

/// The descriptive fields, in `details_columns!()` order.
fn bind_details<D: Dialect>(stmt: Stmt<D>, d: &ExpenseDetails) -> StorageResult<Stmt<D>> {
    let metadata = d.metadata.as_ref().map(json_text).transpose()?;
    Ok(stmt
        .text(&d.description)
        .opt_text(d.category.as_deref())
        .opt_text(d.payment_method.as_deref())
        .bind(DbDate(d.occurred_on))
        .opt_text(d.notes.as_deref())
        .bind(metadata))
}

/// `$1` to `$15` of INSERT_EXPENSE and UPDATE_EXPENSE.
fn bind_expense<D: Dialect>(sql: &'static str, e: &Expense) -> StorageResult<Stmt<D>> {
    let split = serde_json::to_string(&e.split)
        .map_err(|err| StorageError::Internal(splitledger_core::Cause::new(err)))?;
    let stmt = Stmt::<D>::new(sql)
        .uuid(e.group_id.0)
        .uuid(e.id.0)
        .bind(e.amount.units().get())
        .bind(e.currency().code())
        .bind(split)
        .uuid(e.created_by.0)
        .bind(DbTime(e.created_at))
        .bind(DbTime(e.updated_at))
        .bind(e.version);
    bind_details(stmt, &e.details)
}

/// Claims an idempotency key; the earlier record if the key was used. A racing twin waits
/// on the key until the first commits, then reads its record.
async fn claim<D: Dialect>(
    c: &mut Conn<D>,
    write: &EntryWrite,
    key: &IdempotencyKey,
) -> StorageResult<Option<Inserted>> {
    let entry = write.entry.key();
    let claimed = Stmt::<D>::new(sql::CLAIM_KEY)
        .uuid(entry.group_id.0)
        .uuid(key.user_id.0)
        .text(&key.key)
        .text(&write.fingerprint)
        .uuid(entry.id)
        .execute(c)
        .await?;
    if claimed == 1 {
        return Ok(None);
    }
    let row: Option<(String, DbUuid)> = Stmt::<D>::new(sql::CLAIMED_KEY)
        .uuid(entry.group_id.0)
        .uuid(key.user_id.0)
        .text(&key.key)
        .optional(c)
        .await?;
    let (fingerprint, id) =
        row.ok_or_else(|| StorageError::internal("idempotency key neither new nor stored"))?;
    Ok(Some(Inserted::Existing {
        by: Replay::Key,
        fingerprint,
        id: id.0,
    }))
}

/// Registers the entry's id (ids are global: clients may choose them); the earlier record
/// if this group used it, `Conflict("id_taken")` if another group did.
async fn register<D: Dialect>(
    c: &mut Conn<D>,
    write: &EntryWrite,
) -> StorageResult<Option<Inserted>> {
    let key = write.entry.key();
    let registered = Stmt::<D>::new(sql::REGISTER_ID)
        .uuid(key.id)
        .uuid(key.group_id.0)
        .bind(key.kind.as_str())
        .text(&write.fingerprint)
        .execute(c)
        .await?;
    if registered == 1 {
        return Ok(None);
    }
    let row: Option<(DbUuid, String)> = Stmt::<D>::new(sql::REGISTERED_ID)
        .uuid(key.id)
        .optional(c)
        .await?;
    match row {
        Some((group, fingerprint)) if group.0 == key.group_id.0 => Ok(Some(Inserted::Existing {
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

/// Writes the entry's own rows (the expense with its participants, or the settlement).
async fn insert_rows<D: Dialect>(c: &mut Conn<D>, entry: &Entry) -> StorageResult<()> {
    match entry {
        Entry::Expense(e) => {
            bind_expense::<D>(sql::INSERT_EXPENSE, e)?
                .execute(c)
                .await?;
            insert_participants::<D>(c, e).await
        }
        Entry::Settlement(s) => {
            Stmt::<D>::new(sql::INSERT_SETTLEMENT)
                .uuid(s.id.0)
                .uuid(s.group_id.0)
                .uuid(s.from_user.0)
                .uuid(s.to_user.0)
                .bind(s.amount.units().get())
                .bind(s.currency().code())
                .bind(DbDate(s.occurred_on))
                .opt_text(s.note.as_deref())
                .uuid(s.created_by.0)
                .bind(DbTime(s.created_at))
                .execute(c)
                .await?;
            Ok(())
        }
    }
}

/// Locks the stored entry until commit and reads it whole; `NotFound` if it is not there.
async fn lock_entry<D: Dialect>(c: &mut Conn<D>, key: EntryKey) -> StorageResult<Entry> {
    let group = key.group_id;
    let found = match key.kind {
        EntryKind::Expense => {
            let row: Option<ExpenseRow> = Stmt::<D>::new(sql::LOCK_EXPENSE)
                .uuid(group.0)
                .uuid(key.id)
                .optional(c)
                .await?;
            match row {
                Some(row) => with_participants::<D>(c, group, vec![row])
                    .await?
                    .pop()
                    .map(Entry::Expense),
                None => None,
            }
        }
        EntryKind::Settlement => {
            let row: Option<SettlementRow> = Stmt::<D>::new(sql::LOCK_SETTLEMENT)
                .uuid(group.0)
                .uuid(key.id)
                .optional(c)
                .await?;
            row.map(SettlementRow::into_settlement)
                .transpose()?
                .map(Entry::Settlement)
        }
    };
    found.ok_or(StorageError::NotFound)
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
        insert_activity::<D>(&mut tx, &write.activity).await?;
        apply::<D>(&mut tx, key.group_id, &effect).await?;
        commit::<D>(tx).await?;
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
        bind_expense::<D>(sql::UPDATE_EXPENSE, e)?
            .execute(&mut tx)
            .await?;
        Stmt::<D>::new(sql::DELETE_PARTICIPANTS)
            .uuid(key.group_id.0)
            .uuid(key.id)
            .execute(&mut tx)
            .await?;
        insert_participants::<D>(&mut tx, e).await?;
        insert_activity::<D>(&mut tx, &replace.activity).await?;
        apply::<D>(&mut tx, key.group_id, &effect).await?;
        commit::<D>(tx).await
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
        };
        Stmt::<D>::new(delete)
            .uuid(key.group_id.0)
            .uuid(key.id)
            .execute(&mut tx)
            .await?;
        insert_activity::<D>(&mut tx, &activity).await?;
        apply::<D>(&mut tx, key.group_id, &effect).await?;
        commit::<D>(tx).await?;
        Ok(old)
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>> {
        let mut tx = self.snapshot().await?;
        let row: Option<ExpenseRow> = Stmt::<D>::new(sql::EXPENSE)
            .uuid(group.0)
            .uuid(id.0)
            .optional(&mut tx)
            .await?;
        let rows = row.into_iter().collect();
        Ok(with_participants::<D>(&mut tx, group, rows).await?.pop())
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
        let rows: Vec<ExpenseRow> = Stmt::<D>::new(sql::LIST_EXPENSES)
            .uuid(group.0)
            .bind(filter.paid_by.map(|u| DbUuid(u.0)))
            .opt_text(filter.category.as_deref())
            .bind(filter.from.map(DbDate))
            .bind(filter.to.map(DbDate))
            .bind(after.map(|c| DbDate(c.occurred_on)))
            .bind(after.map(|c| DbTime(c.created_at)))
            .bind(after.map(|c| DbUuid(c.id)))
            .bind(self::limit(limit))
            .all(&mut tx)
            .await?;
        unless_empty_group::<D, _>(&mut tx, group, &rows).await?;
        with_participants::<D>(&mut tx, group, rows).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>> {
        let row: Option<SettlementRow> = Stmt::<D>::new(sql::SETTLEMENT)
            .uuid(group.0)
            .uuid(id.0)
            .optional(&mut *self.conn().await?)
            .await?;
        row.map(SettlementRow::into_settlement).transpose()
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>> {
        let mut conn = self.conn().await?;
        let rows: Vec<SettlementRow> = Stmt::<D>::new(sql::LIST_SETTLEMENTS)
            .uuid(group.0)
            .bind(after.map(|c| DbDate(c.occurred_on)))
            .bind(after.map(|c| DbTime(c.created_at)))
            .bind(after.map(|c| DbUuid(c.id)))
            .bind(self::limit(limit))
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        convert(rows, SettlementRow::into_settlement)
    }
}
