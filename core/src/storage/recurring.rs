//! Recurring series: their templates and calendars, and the one atomic step that makes an
//! occurrence (the expense and the series' progress commit together).

use async_trait::async_trait;
use time::Date;

use super::{EntryWrite, StorageResult};
use crate::domain::{Activity, Group, GroupId, SeriesId};
use crate::recurring::Series;

/// A change of a series, applied only if the stored version is still `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesUpdate {
    /// The series' new state (its version is `expected_version + 1`).
    pub series: Series,
    /// The version the change was computed from.
    pub expected_version: i64,
    /// The occurrence this change makes, written in the same transaction: an expense whose
    /// `recurring` names this series.
    pub occurrence: Option<EntryWrite>,
    /// The activity entry of an edit, a pause or a resume (an occurrence carries its own).
    pub activity: Option<Activity>,
}

/// Recurring series.
#[async_trait]
pub trait SeriesStore: Send + Sync + 'static {
    /// Adds a series with its activity entry; `NotFound` if the group does not exist.
    async fn insert_series(&self, series: &Series, activity: &Activity) -> StorageResult<()>;
    /// A series of a group.
    async fn series(&self, group: GroupId, id: SeriesId) -> StorageResult<Option<Series>>;
    /// Every series of a group, oldest first.
    async fn list_series(&self, group: GroupId) -> StorageResult<Vec<Series>>;
    /// Applies `update` if the stored version is the expected one and answers `true`;
    /// answers `false` and writes nothing if another change came first; `NotFound` if the
    /// series is gone. With an occurrence, the expense is written as
    /// [`EntryStore::insert_entry`](super::EntryStore::insert_entry) writes it (`NotMember`,
    /// `Overflow` alike), and the occurrence is unique by (group, series, date): if the
    /// expense or its id already exists, only the series' progress is written.
    async fn update_series(&self, update: &SeriesUpdate) -> StorageResult<bool>;
    /// Deletes a series (the occurrences it made stay); `NotFound` if it is not there.
    async fn delete_series(
        &self,
        group: GroupId,
        id: SeriesId,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// The group's series with an occurrence due on or before `today`: one indexed lookup,
    /// made before every read of the group, so it must stay cheap when nothing is due.
    async fn due_series(&self, group: GroupId, today: Date) -> StorageResult<Vec<SeriesId>>;
    /// Up to `limit` series of any group with an occurrence due on or before `today`,
    /// earliest due first, with their group (for the servers' timer).
    async fn due_anywhere(&self, today: Date, limit: u32) -> StorageResult<Vec<(Group, SeriesId)>>;
}
