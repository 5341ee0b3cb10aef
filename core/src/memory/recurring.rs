use async_trait::async_trait;
use time::Date;

use super::MemoryStorage;
use crate::domain::{Activity, Group, GroupId, SeriesId};
use crate::entry::Entry;
use crate::recurring::Series;
use crate::storage::{SeriesStore, SeriesUpdate, StorageError, StorageResult};

#[async_trait]
impl SeriesStore for MemoryStorage {
    #[tracing::instrument(skip_all, fields(group = %series.group_id))]
    async fn insert_series(&self, series: &Series, activity: &Activity) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(series.group_id)?;
        if g.series.contains_key(&series.id) {
            return Err(StorageError::Conflict("id_taken"));
        }
        g.series.insert(series.id, series.clone());
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn series(&self, group: GroupId, id: SeriesId) -> StorageResult<Option<Series>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.series.get(&id))
            .cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn list_series(&self, group: GroupId) -> StorageResult<Vec<Series>> {
        let s = self.lock();
        let mut all: Vec<Series> = s.group(group)?.series.values().cloned().collect();
        all.sort_by_key(|x| (x.created_at, x.id));
        Ok(all)
    }

    #[tracing::instrument(skip_all, fields(group = %update.series.group_id))]
    async fn update_series(&self, update: &SeriesUpdate) -> StorageResult<bool> {
        let mut s = self.lock();
        let new = &update.series;
        let current = s.group(new.group_id)?.series.get(&new.id);
        match current {
            None => return Err(StorageError::NotFound),
            Some(c) if c.version != update.expected_version => return Ok(false),
            Some(_) => {}
        }
        if let Some(write) = &update.occurrence {
            let made = match &write.entry {
                Entry::Expense(e) => e.recurring.is_some_and(|o| {
                    s.group(new.group_id)
                        .is_ok_and(|g| g.expenses.values().any(|x| x.recurring == Some(o)))
                }),
                _ => return Err(StorageError::internal("an occurrence is an expense")),
            };
            // A second attempt at an occurrence that exists writes only the progress, as
            // the unique key does in the SQL store.
            if !made {
                s.insert(write)?;
            }
        }
        let g = s.group_mut(new.group_id)?;
        g.series.insert(new.id, new.clone());
        if let Some(a) = &update.activity {
            g.activity.push(a.clone());
        }
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_series(
        &self,
        group: GroupId,
        id: SeriesId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group)?;
        g.series.remove(&id).ok_or(StorageError::NotFound)?;
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn due_series(&self, group: GroupId, today: Date) -> StorageResult<Vec<SeriesId>> {
        let s = self.lock();
        Ok(s.group(group)?
            .series
            .values()
            .filter(|x| x.due_on().is_some_and(|d| d <= today))
            .map(|x| x.id)
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn due_anywhere(&self, today: Date, limit: u32) -> StorageResult<Vec<(Group, SeriesId)>> {
        let s = self.lock();
        let mut due: Vec<(Date, Group, SeriesId)> = s
            .groups
            .values()
            .filter_map(|g| Some((g, g.group.as_ref()?)))
            .flat_map(|(g, group)| {
                g.series.values().filter_map(move |x| {
                    let on = x.due_on().filter(|d| *d <= today)?;
                    Some((on, group.clone(), x.id))
                })
            })
            .collect();
        due.sort_by_key(|(on, _, id)| (*on, *id));
        due.truncate(limit as usize);
        Ok(due.into_iter().map(|(_, g, id)| (g, id)).collect())
    }
}
