//! Reads and reports: running totals, summaries, the activity log.

use async_trait::async_trait;
use time::Date;

use super::StorageResult;
use crate::balance::PairDelta;
use crate::domain::{
    Activity, ActivityCursor, GroupId, MemberTotals, SummaryBy, SummaryRow, UserGroupTotals, UserId,
};

/// What the views read: kept up to date by every write, so reading does not scan history.
#[async_trait]
pub trait ReportStore: Send + Sync + 'static {
    /// Answers when the database does (for readiness checks).
    async fn ping(&self) -> StorageResult<()>;
    /// The group's running totals: one row per member and currency ever involved.
    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>>;
    /// The group's pairwise-debt totals (`a < b`; rows may be zero).
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>>;
    /// A user's running totals in every group they belong to.
    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>>;
    /// Spending totals per key and currency over expenses dated within the bounds.
    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>>;
    /// A page of the group's activity, newest first.
    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>>;
}
