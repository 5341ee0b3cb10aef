//! Running totals, summaries and the activity log: one statement each, over rows every write
//! keeps up to date, so no read scans a group's history except the summaries.

use async_trait::async_trait;
use time::Date;

use splitledger_core::balance::PairDelta;
use splitledger_core::domain::{
    Activity, ActivityCursor, GroupId, MemberTotals, SummaryBy, SummaryRow, UserGroupTotals, UserId,
};
use splitledger_core::storage::{ReportStore, StorageResult};

use super::{SqlStore, limit, unless_empty_group};
use crate::dialect::{Dialect, Stmt};
use crate::rows::{ActivityRow, PairRow, SummaryDbRow, TotalsRow, UserTotalsRow, convert};
use crate::sql;
use crate::types::{DbDate, DbTime, DbUuid};

#[async_trait]
impl<D: Dialect> ReportStore for SqlStore<D> {
    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StorageResult<()> {
        Stmt::<D>::new(sql::PING)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>> {
        let mut conn = self.conn().await?;
        let rows: Vec<TotalsRow> = Stmt::<D>::new(sql::MEMBER_TOTALS)
            .uuid(group.0)
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        let mut out = convert(rows, TotalsRow::into_totals)?;
        // The in-memory store's order.
        out.sort_by_key(|t| (t.user_id, t.currency));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let mut conn = self.conn().await?;
        let rows: Vec<PairRow> = Stmt::<D>::new(sql::PAIR_TOTALS)
            .uuid(group.0)
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        let mut out = convert(rows, PairRow::into_pair)?;
        out.sort_by_key(|p| (p.currency, p.a, p.b));
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(user = %user))]
    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>> {
        let rows: Vec<UserTotalsRow> = Stmt::<D>::new(sql::USER_TOTALS)
            .uuid(user.0)
            .all(&mut *self.conn().await?)
            .await?;
        convert(rows, UserTotalsRow::into_totals)
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
        let rows: Vec<SummaryDbRow> = Stmt::<D>::new(statement)
            .uuid(group.0)
            .bind(from.map(DbDate))
            .bind(to.map(DbDate))
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        let mut out = convert(rows, SummaryDbRow::into_row)?;
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
        let rows: Vec<ActivityRow> = Stmt::<D>::new(sql::LIST_ACTIVITY)
            .uuid(group.0)
            .bind(after.map(|c| DbTime(c.at)))
            .bind(after.map(|c| DbUuid(c.id.0)))
            .bind(self::limit(limit))
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        convert(rows, ActivityRow::into_activity)
    }
}
