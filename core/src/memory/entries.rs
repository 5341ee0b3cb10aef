use async_trait::async_trait;

use super::{GroupState, MemoryStorage, State, dated_before, page};
use crate::domain::{
    Conversion, ConversionId, DatedCursor, Expense, ExpenseFilter, ExpenseId, GroupId, Settlement,
    SettlementId,
};
use crate::entry::{Effect, Entry, EntryKey, EntryKind};
use crate::storage::{
    DeleteGuard, EntryReplace, EntryStore, EntryWrite, Inserted, Replay, StorageError,
    StorageResult,
};

impl GroupState {
    fn entry(&self, key: &EntryKey) -> Option<Entry> {
        match key.kind {
            EntryKind::Expense => self
                .expenses
                .get(&ExpenseId(key.id))
                .cloned()
                .map(Entry::Expense),
            EntryKind::Settlement => self
                .settlements
                .get(&SettlementId(key.id))
                .cloned()
                .map(Entry::Settlement),
            EntryKind::Conversion => self
                .conversions
                .get(&ConversionId(key.id))
                .cloned()
                .map(Entry::Conversion),
        }
    }

    pub(super) fn put(&mut self, entry: &Entry) {
        match entry {
            Entry::Expense(e) => {
                self.expenses.insert(e.id, e.clone());
            }
            Entry::Settlement(s) => {
                self.settlements.insert(s.id, s.clone());
            }
            Entry::Conversion(c) => {
                self.conversions.insert(c.id, c.clone());
            }
        }
    }

    fn remove(&mut self, key: &EntryKey) {
        match key.kind {
            EntryKind::Expense => {
                self.expenses.remove(&ExpenseId(key.id));
                self.attachments.remove(&ExpenseId(key.id));
                self.comments.remove(&ExpenseId(key.id));
            }
            EntryKind::Settlement => {
                self.settlements.remove(&SettlementId(key.id));
            }
            EntryKind::Conversion => {
                self.conversions.remove(&ConversionId(key.id));
            }
        }
    }
}

impl State {
    /// What an earlier write holding this write's idempotency key or id recorded, if any;
    /// `Conflict("id_taken")` for an id of another group.
    fn earlier(&self, write: &EntryWrite) -> StorageResult<Option<Inserted>> {
        let key = write.entry.key();
        let g = self.group(key.group_id)?;
        if let Some(c) = &write.idempotency
            && let Some((fingerprint, id)) = g.idempotency.get(&(c.user_id, c.key.clone()))
        {
            return Ok(Some(Inserted::Existing {
                by: Replay::Key,
                fingerprint: fingerprint.clone(),
                id: *id,
            }));
        }
        match self.entry_ids.get(&key.id) {
            Some((group, _, _)) if *group != key.group_id => {
                Err(StorageError::Conflict("id_taken"))
            }
            Some((_, _, fingerprint)) => Ok(Some(Inserted::Existing {
                by: Replay::Id,
                fingerprint: fingerprint.clone(),
                id: key.id,
            })),
            None => Ok(None),
        }
    }

    /// Writes an entry whole, or nothing (see [`EntryStore::insert_entry`]).
    pub(super) fn insert(&mut self, write: &EntryWrite) -> StorageResult<Inserted> {
        let s = self;
        if let Some(earlier) = s.earlier(write)? {
            return Ok(earlier);
        }
        let entry = &write.entry;
        let key = entry.key();
        let effect = Effect::change(None, Some(entry)).map_err(|_| StorageError::Overflow)?;
        let g = s.group_mut(key.group_id)?;
        g.require_members(&entry.participants())?;
        if let Entry::Conversion(c) = entry
            && !g.converts_exactly(c)
        {
            return Err(StorageError::Conflict("balances_changed"));
        }
        g.apply(&effect)?;
        if let Some(c) = &write.idempotency {
            g.idempotency.insert(
                (c.user_id, c.key.clone()),
                (write.fingerprint.clone(), key.id),
            );
        }
        g.put(entry);
        g.activity.push(write.activity.clone());
        s.entry_ids
            .insert(key.id, (key.group_id, key.kind, write.fingerprint.clone()));
        Ok(Inserted::Created)
    }
}

#[async_trait]
impl EntryStore for MemoryStorage {
    #[tracing::instrument(skip_all, fields(group = %write.entry.key().group_id))]
    async fn insert_entry(&self, write: &EntryWrite) -> StorageResult<Inserted> {
        self.lock().insert(write)
    }

    #[tracing::instrument(skip_all, fields(group = %replace.entry.key().group_id))]
    async fn replace_entry(&self, replace: &EntryReplace) -> StorageResult<()> {
        let mut s = self.lock();
        let new = &replace.entry;
        let key = new.key();
        let g = s.group_mut(key.group_id)?;
        let old = g.entry(&key).ok_or(StorageError::NotFound)?;
        if old.version() != replace.expected_version {
            return Err(StorageError::StaleVersion {
                current: old.version(),
            });
        }
        if !old.same_rows(new) {
            g.require_members(&new.participants())?;
        }
        let effect = Effect::change(Some(&old), Some(new)).map_err(|_| StorageError::Overflow)?;
        g.apply(&effect)?;
        g.put(new);
        g.activity.push(replace.activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(group = %key.group_id))]
    async fn delete_entry(&self, key: EntryKey, guard: &DeleteGuard<'_>) -> StorageResult<Entry> {
        let mut s = self.lock();
        let g = s.group_mut(key.group_id)?;
        let old = g.entry(&key).ok_or(StorageError::NotFound)?;
        let activity = guard(&old)?;
        let effect = Effect::change(Some(&old), None).map_err(|_| StorageError::Overflow)?;
        g.apply(&effect)?;
        g.remove(&key);
        g.activity.push(activity);
        Ok(old)
    }

    #[tracing::instrument(skip_all)]
    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.expenses.get(&id).map(|e| g.attached(e))))
    }

    #[tracing::instrument(skip_all)]
    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>> {
        let s = self.lock();
        let g = s.group(group)?;
        let items = g
            .expenses
            .values()
            .filter(|e| {
                filter.matches(e)
                    && dated_before(e.details.occurred_on, e.created_at, e.id.0, after)
            })
            .map(|e| g.attached(e))
            .collect();
        Ok(page(
            items,
            |e: &Expense| (e.details.occurred_on, e.created_at, e.id.0),
            limit,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.settlements.get(&id))
            .cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>> {
        let s = self.lock();
        let g = s.group(group)?;
        let items = g
            .settlements
            .values()
            .filter(|x| dated_before(x.occurred_on, x.created_at, x.id.0, after))
            .cloned()
            .collect();
        Ok(page(
            items,
            |x: &Settlement| (x.occurred_on, x.created_at, x.id.0),
            limit,
        ))
    }

    #[tracing::instrument(skip_all)]
    async fn conversion(
        &self,
        group: GroupId,
        id: ConversionId,
    ) -> StorageResult<Option<Conversion>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.conversions.get(&id))
            .cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn list_conversions(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Conversion>> {
        let s = self.lock();
        let g = s.group(group)?;
        let items = (g.conversions.values())
            .filter(|x| dated_before(x.occurred_on, x.created_at, x.id.0, after))
            .cloned()
            .collect();
        Ok(page(
            items,
            |x: &Conversion| (x.occurred_on, x.created_at, x.id.0),
            limit,
        ))
    }
}
