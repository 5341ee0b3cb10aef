//! Running totals, summaries and the activity log: one statement each, over rows every write
//! keeps up to date, so no read scans a group's history except the summaries.

use async_trait::async_trait;
use time::Date;

use splitledger_core::balance::PairDelta;
use splitledger_core::domain::{
    Activity, ActivityCursor, GroupId, MemberTotals, SummaryBy, SummaryRow, UserGroupTotals, UserId,
};
use splitledger_core::storage::{ReportStore, StorageResult};

use super::{SqlStore, unless_empty_group};
use crate::dialect::{Dialect, all, exec};
use crate::sql;

#[async_trait]
impl<D: Dialect> ReportStore for SqlStore<D> {
    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StorageResult<()> {
        exec::<D>(&mut *self.conn().await?, sql::PING, ())
            .await
            .map(drop)
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>> {
        let mut conn = self.conn().await?;
        let mut out: Vec<MemberTotals> = all::<D, _>(&mut conn, sql::MEMBER_TOTALS, group).await?;
        unless_empty_group::<D, _>(&mut conn, group, &out).await?;
        // The in-memory store's order.
        out.sort_by_key(|t| (t.user_id, t.currency));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let mut conn = self.conn().await?;
        let mut out: Vec<PairDelta<UserId>> =
            all::<D, _>(&mut conn, sql::PAIR_TOTALS, group).await?;
        unless_empty_group::<D, _>(&mut conn, group, &out).await?;
        out.sort_by_key(|p| (p.currency, p.a, p.b));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(user = %user))]
    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>> {
        all::<D, _>(&mut *self.conn().await?, sql::USER_TOTALS, user).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, by = ?by))]
    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>> {
        let statement = match by {
            SummaryBy::Category => sql::SUMMARY_BY_CATEGORY,
            SummaryBy::Month => sql::SUMMARY_BY_MONTH,
            SummaryBy::Member => sql::SUMMARY_BY_MEMBER,
        };
        let mut conn = self.conn().await?;
        let mut out: Vec<SummaryRow> = all::<D, _>(&mut conn, statement, (group, from, to)).await?;
        unless_empty_group::<D, _>(&mut conn, group, &out).await?;
        // The in-memory store's order: by key (none first), then currency.
        out.sort_by(|x, y| (&x.key, x.currency).cmp(&(&y.key, y.currency)));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>> {
        let mut conn = self.conn().await?;
        let args = (group, after.map(|c| c.at), after.map(|c| c.id.0), limit);
        let rows = all::<D, _>(&mut conn, sql::LIST_ACTIVITY, args).await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        Ok(rows)
    }
}
