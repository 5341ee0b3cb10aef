//! Read views of a group: balances, debts, the plan, activity, summaries, export.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, ResponseContent};
use splitledger_core::domain::GroupId;
use splitledger_core::ledger::{self, PageRequest, SummaryRequest};
use splitledger_core::{Ledger, Storage};
use time::Date;
use uuid::Uuid;

use super::models::PageLimit;
use super::models::{
    ActivityPage, BalancesBody, DebtsBody, ExportFormat, PlanBody, SummaryBody, SummaryKey,
};
use super::streamed::{JsonStream, TextStream, export_body};
use super::{ApiResult, ApiTags};
use crate::security::Auth;

/// Balances, pairwise debts and the settlement plan of a group.
#[derive(Debug)]
pub struct BalancesApi<S> {
    pub(crate) ledger: Ledger<S>,
}

#[OpenApi(tag = "ApiTags::Balances")]
impl<S: Storage> BalancesApi<S> {
    /// Every member's balance, per currency.
    ///
    /// `net = paid − owed + sent − received`; the nets add up to zero in every currency.
    #[oai(path = "/groups/:group_id/balances", method = "get")]
    async fn balances(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<BalancesBody>> {
        let view = self
            .ledger
            .balances(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(Json(view.into()))
    }

    /// Who owes whom, netted per pair (not simplified).
    #[oai(path = "/groups/:group_id/debts", method = "get")]
    async fn debts(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<DebtsBody>> {
        let debts = self
            .ledger
            .debts(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(Json(DebtsBody {
            debts: debts.into_iter().map(Into::into).collect(),
        }))
    }

    /// The fewest transfers that settle every balance.
    ///
    /// Proven minimal up to 20 non-zero balances per currency (`optimal: true`); above, a
    /// fast heuristic of at most n − 1 transfers (`optimal: false`).
    #[oai(path = "/groups/:group_id/settlement-plan", method = "get")]
    async fn plan(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<PlanBody>> {
        let plan = self
            .ledger
            .settlement_plan(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(Json(plan.into()))
    }
}

/// Activity log, spending summaries and exports of a group.
#[derive(Debug)]
pub struct ReportsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// An export's body, in the requested format.
#[derive(Debug, ResponseContent)]
pub enum ExportContent {
    /// `{comments, conversions, expenses, group, members, series, settlements}`: everything
    /// `import?format=splitledger` needs to give the group back (receipts by name, not bytes).
    Json(JsonStream),
    /// One line per expense participant, per side of a repayment and of a conversion, and
    /// per comment.
    #[oai(content_type = "text/csv")]
    Csv(TextStream),
}

/// A group's export.
#[derive(Debug, ApiResponse)]
pub enum ExportResponse {
    /// The export; CSV comes as an attachment.
    #[oai(status = 200)]
    Ok(
        ExportContent,
        /// `attachment; filename="..."` for CSV.
        #[oai(header = "Content-Disposition")]
        Option<String>,
    ),
}

#[OpenApi(tag = "ApiTags::Reports")]
impl<S: Storage> ReportsApi<S> {
    /// The group's activity log, newest first.
    ///
    /// Every change, with who, when, and the entity before and after.
    #[oai(path = "/groups/:group_id/activity", method = "get")]
    async fn activity(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ActivityPage>> {
        let page = self
            .ledger
            .activity(
                auth.user_id(),
                GroupId(group_id.0),
                PageRequest {
                    limit: limit.0.map(|l| l.0),
                    cursor: cursor.0,
                },
            )
            .await?;
        Ok(Json(ActivityPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Spending totals by category, month or member, per currency.
    ///
    /// Expenses only (repayments are not spending); `from` and `to` are inclusive dates.
    #[oai(path = "/groups/:group_id/summary", method = "get")]
    async fn summary(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The key to total by (default `category`).
        by: Query<Option<SummaryKey>>,
        /// First date included.
        from: Query<Option<Date>>,
        /// Last date included.
        to: Query<Option<Date>>,
    ) -> ApiResult<Json<SummaryBody>> {
        let summary = self
            .ledger
            .summary(
                auth.user_id(),
                GroupId(group_id.0),
                SummaryRequest {
                    by: by.0.unwrap_or(SummaryKey::Category).into(),
                    from: from.0,
                    to: to.0,
                },
            )
            .await?;
        Ok(Json(summary.into()))
    }

    /// Everything in the group: members, expenses with their shares, repayments.
    ///
    /// `format=json` (default) or `format=csv` (an attachment).
    #[oai(path = "/groups/:group_id/export", method = "get")]
    async fn export(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// `json` (default) or `csv`.
        format: Query<Option<ExportFormat>>,
    ) -> ApiResult<ExportResponse> {
        let format = format.0.unwrap_or(ExportFormat::Json);
        let stream = self
            .ledger
            .export_stream(
                auth.user_id(),
                GroupId(group_id.0),
                match format {
                    ExportFormat::Json => ledger::ExportFormat::Json,
                    ExportFormat::Csv => ledger::ExportFormat::Csv,
                },
            )
            .await?;
        let body = export_body(stream);
        Ok(match format {
            ExportFormat::Json => ExportResponse::Ok(ExportContent::Json(JsonStream(body)), None),
            ExportFormat::Csv => ExportResponse::Ok(
                ExportContent::Csv(TextStream(body)),
                Some(format!(
                    "attachment; filename=\"splitledger-{}.csv\"",
                    group_id.0
                )),
            ),
        })
    }
}
