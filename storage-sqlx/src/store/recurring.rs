//! Recurring series. An occurrence commits with the series' progress: the compare-and-swap
//! on the series version comes first and holds the series row until commit, so of two
//! processes making the same occurrence one writes it and the other changes nothing.

use async_trait::async_trait;
use time::Date;
use uuid::Uuid;

use splitledger_core::domain::{Activity, Group, GroupId, SeriesId};
use splitledger_core::entry::{Effect, Entry};
use splitledger_core::recurring::Series;
use splitledger_core::storage::{SeriesStore, SeriesUpdate, StorageError, StorageResult};

use super::entries::{insert_rows, register};
use super::{SqlStore, apply, exists, group_rows, lock_members};
use crate::dialect::{Conn, Dialect, all, exec, one};
use crate::sql;

/// Writes the occurrence `write` of a locked series, unless it exists already (by its
/// (group, series, date) key or its id): then only the series' progress is written.
async fn insert_occurrence<D: Dialect>(
    c: &mut Conn<D>,
    write: &splitledger_core::storage::EntryWrite,
) -> StorageResult<()> {
    let Entry::Expense(e) = &write.entry else {
        return Err(StorageError::internal("an occurrence is an expense"));
    };
    let Some(o) = e.recurring else {
        return Err(StorageError::internal("an occurrence names its series"));
    };
    let key = (e.group_id, o.series_id, o.occurrence_on);
    let made: Option<Uuid> = one::<D, _>(c, sql::OCCURRENCE_MADE, key).await?;
    if made.is_some() || register::<D>(c, write).await?.is_some() {
        return Ok(());
    }
    let effect = Effect::change(None, Some(&write.entry)).map_err(|_| StorageError::Overflow)?;
    lock_members::<D>(c, e.group_id, &write.entry.participants()).await?;
    insert_rows::<D>(c, &write.entry).await?;
    exec::<D>(c, sql::INSERT_ACTIVITY, &write.activity).await?;
    apply::<D>(c, e.group_id, &effect).await
}

#[async_trait]
impl<D: Dialect> SeriesStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %series.group_id, id = %series.id))]
    async fn insert_series(&self, series: &Series, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_SERIES, (series, series.due_on())).await?;
        exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn series(&self, group: GroupId, id: SeriesId) -> StorageResult<Option<Series>> {
        one::<D, _>(&mut *self.conn().await?, sql::SERIES, (group, id)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn list_series(&self, group: GroupId) -> StorageResult<Vec<Series>> {
        group_rows::<D, _>(&mut *self.conn().await?, sql::LIST_SERIES, group, ()).await
    }

    #[tracing::instrument(skip_all, fields(group = %update.series.group_id, id = %update.series.id, expected = update.expected_version))]
    async fn update_series(&self, update: &SeriesUpdate) -> StorageResult<bool> {
        let s = &update.series;
        let mut tx = self.write().await?;
        let args = ((s, s.due_on()), update.expected_version);
        if exec::<D>(&mut tx, sql::UPDATE_SERIES, args).await? == 0 {
            exists::<D>(&mut tx, sql::SERIES_EXISTS, (s.group_id, s.id)).await?;
            return Ok(false);
        }
        if let Some(write) = &update.occurrence {
            insert_occurrence::<D>(&mut tx, write).await?;
        }
        if let Some(activity) = &update.activity {
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(group = %group, id = %id))]
    async fn delete_series(
        &self,
        group: GroupId,
        id: SeriesId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        if exec::<D>(&mut tx, sql::DELETE_SERIES, (group, id)).await? == 0 {
            return Err(StorageError::NotFound);
        }
        exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn due_series(&self, group: GroupId, today: Date) -> StorageResult<Vec<SeriesId>> {
        all::<D, _>(&mut *self.conn().await?, sql::DUE_SERIES, (group, today)).await
    }

    #[tracing::instrument(skip_all, fields(limit))]
    async fn due_anywhere(&self, today: Date, limit: u32) -> StorageResult<Vec<(Group, SeriesId)>> {
        all::<D, _>(&mut *self.conn().await?, sql::DUE_ANYWHERE, (today, limit)).await
    }
}
