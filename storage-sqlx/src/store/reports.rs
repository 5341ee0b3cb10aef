//! Running totals, summaries and the activity log: one statement each, over rows every write
//! keeps up to date, so no read scans a group's history except the summaries.

use async_trait::async_trait;
use time::Date;

use splitledger_core::balance::PairDelta;
use splitledger_core::domain::{
    Activity, ActivityCursor, GroupId, MemberTotals, SummaryBy, SummaryRow, UserGroupTotals, UserId,
};
use splitledger_core::storage::{ReportStore, StorageResult};

use super::{SqlStore, group_rows};
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
        let c = &mut *self.conn().await?;
        let mut out: Vec<MemberTotals> =
            group_rows::<D, _>(c, sql::MEMBER_TOTALS, group, ()).await?;
        // The in-memory store's order.
        out.sort_by_key(|t| (t.user_id, t.currency));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let c = &mut *self.conn().await?;
        let mut out: Vec<PairDelta<UserId>> =
            group_rows::<D, _>(c, sql::PAIR_TOTALS, group, ()).await?;
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
        let c = &mut *self.conn().await?;
        let mut out: Vec<SummaryRow> = group_rows::<D, _>(c, statement, group, (from, to)).await?;
        // The in-memory store's order: by key (none first), kind, then currency.
        out.sort_by(|x, y| (&x.key, x.kind, x.currency).cmp(&(&y.key, y.kind, y.currency)));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>> {
        let rest = (after.map(|c| c.at), after.map(|c| c.id), limit);
        group_rows::<D, _>(&mut *self.conn().await?, sql::LIST_ACTIVITY, group, rest).await
    }
}
