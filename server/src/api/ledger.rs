//! Expenses and repayments of a group.

use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use serde_json::Value;
use splitledger_core::domain::{ExpenseFilter, ExpenseId, GroupId, SettlementId, UserId};
use splitledger_core::ledger::{
    ExpensePatch, ListExpenses, NewExpense, NewSettlement, PageRequest,
};
use splitledger_core::{Ledger, Storage};
use time::Date;
use uuid::Uuid;

use super::models::{
    ExpenseBody, ExpensePage, ExpensePatchBody, NewExpenseBody, NewSettlementBody, SettlementBody,
    SettlementPage, maybe, payers_in,
};
use super::models::{ExpenseKindName, FilterText, IdempotencyKey, PageLimit};
use super::{ApiResult, ApiTags, NoContent, idempotency_key_of};
use crate::security::Auth;

/// `/groups/{group_id}/expenses`: what was spent, who paid, how it is split.
#[derive(Debug)]
pub struct ExpensesApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A recorded expense.
#[derive(Debug, ApiResponse)]
pub enum ExpenseCreated {
    /// Recorded (or, for a repeated `Idempotency-Key` with the same body, the first one).
    #[oai(status = 201)]
    Created(Json<ExpenseBody>),
}

#[OpenApi(tag = "ApiTags::Expenses")]
impl<S: Storage> ExpensesApi<S> {
    /// Record an expense.
    ///
    /// Give exactly one of `paid_by` and `payers`. Amounts are decimal strings with at most
    /// the currency's decimals. With an `Idempotency-Key`, repeating the same request returns
    /// the first expense; the same key with another body is 409 `idempotency_key_reused`.
    #[oai(path = "/groups/:group_id/expenses", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Makes retries safe: the same key and body create the expense once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<IdempotencyKey>>,
        body: Json<NewExpenseBody>,
        req: &Request,
    ) -> ApiResult<ExpenseCreated> {
        let b = body.0;
        let request = NewExpense {
            id: b.id.map(ExpenseId),
            kind: b.kind.map(Into::into),
            description: b.description.into(),
            amount: b.amount.0,
            currency: b.currency.map(String::from),
            exchange_rate: b.exchange_rate.map(String::from),
            paid_by: b.paid_by.map(UserId),
            payers: payers_in(b.payers),
            split: b.split.into(),
            category: b.category.map(String::from),
            payment_method: b.payment_method.map(String::from),
            occurred_on: b.occurred_on.map(Date::from),
            notes: b.notes.map(String::from),
            metadata: b.metadata.map(Value::from),
        };
        let expense = self
            .ledger
            .create_expense(
                auth.user_id(),
                GroupId(group_id.0),
                request,
                idempotency_key_of(req, idempotency_key.0.map(String::from)).as_deref(),
            )
            .await?;
        Ok(ExpenseCreated::Created(Json(expense.into())))
    }

    /// The group's expenses, newest first.
    ///
    /// Filters: `paid_by` (a member who paid part of it), `category`, `from` and `to`
    /// (`YYYY-MM-DD`, inclusive), `kind` (`expense` or `income`). `limit` 1 to 200 (default
    /// 50).
    #[oai(path = "/groups/:group_id/expenses", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only expenses this member paid (part of).
        paid_by: Query<Option<Uuid>>,
        /// Only this category.
        category: Query<Option<FilterText>>,
        /// On or after this date.
        from: Query<Option<Date>>,
        /// On or before this date.
        to: Query<Option<Date>>,
        /// Only expenses (`expense`) or only income (`income`).
        kind: Query<Option<ExpenseKindName>>,
    ) -> ApiResult<Json<ExpensePage>> {
        let page = self
            .ledger
            .list_expenses(
                auth.user_id(),
                GroupId(group_id.0),
                ListExpenses {
                    filter: ExpenseFilter {
                        paid_by: paid_by.0.map(UserId),
                        category: category.0.map(String::from),
                        from: from.0,
                        to: to.0,
                        kind: kind.0.map(Into::into),
                    },
                    page: PageRequest {
                        limit: limit.0.map(|l| l.0),
                        cursor: cursor.0,
                    },
                },
            )
            .await?;
        Ok(Json(page.into()))
    }

    /// One expense.
    #[oai(path = "/groups/:group_id/expenses/:expense_id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
    ) -> ApiResult<Json<ExpenseBody>> {
        let expense = self
            .ledger
            .expense(auth.user_id(), GroupId(group_id.0), ExpenseId(expense_id.0))
            .await?;
        Ok(Json(expense.into()))
    }

    /// Change an expense (its creator, a payer, an admin or the owner).
    ///
    /// Name the `version` you read: if the expense changed since, 412 `stale_version`.
    /// Changing the amount, currency, payers or split re-allocates the shares.
    #[oai(path = "/groups/:group_id/expenses/:expense_id", method = "patch")]
    async fn update(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        body: Json<ExpensePatchBody>,
    ) -> ApiResult<Json<ExpenseBody>> {
        let b = body.0;
        let patch = ExpensePatch {
            version: b.version,
            kind: b.kind.map(Into::into),
            description: b.description.map(String::from),
            amount: b.amount.map(|a| a.0),
            currency: b.currency.map(String::from),
            exchange_rate: maybe(b.exchange_rate),
            paid_by: b.paid_by.map(UserId),
            payers: payers_in(b.payers),
            split: b.split.map(Into::into),
            category: maybe(b.category),
            payment_method: maybe(b.payment_method),
            occurred_on: b.occurred_on.map(Date::from),
            notes: maybe(b.notes),
            metadata: maybe(b.metadata),
        };
        let expense = self
            .ledger
            .update_expense(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                patch,
            )
            .await?;
        Ok(Json(expense.into()))
    }

    /// Delete an expense (its creator, a payer, an admin or the owner).
    #[oai(path = "/groups/:group_id/expenses/:expense_id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_expense(auth.user_id(), GroupId(group_id.0), ExpenseId(expense_id.0))
            .await?;
        Ok(NoContent::Done)
    }
}

/// `/groups/{group_id}/settlements`: repayments between members.
#[derive(Debug)]
pub struct SettlementsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A recorded repayment.
#[derive(Debug, ApiResponse)]
pub enum SettlementCreated {
    /// Recorded (or, for a repeated `Idempotency-Key` with the same body, the first one).
    #[oai(status = 201)]
    Created(Json<SettlementBody>),
}

#[OpenApi(tag = "ApiTags::Settlements")]
impl<S: Storage> SettlementsApi<S> {
    /// Record a repayment from one member to another (any member may).
    ///
    /// With an `Idempotency-Key`, repeating the same request returns the first repayment;
    /// the same key with another body is 409 `idempotency_key_reused`.
    #[oai(path = "/groups/:group_id/settlements", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Makes retries safe: the same key and body record the repayment once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<IdempotencyKey>>,
        body: Json<NewSettlementBody>,
        req: &Request,
    ) -> ApiResult<SettlementCreated> {
        let b = body.0;
        let settlement = self
            .ledger
            .create_settlement(
                auth.user_id(),
                GroupId(group_id.0),
                NewSettlement {
                    from_user: UserId(b.from_user),
                    to_user: UserId(b.to_user),
                    amount: b.amount.0,
                    currency: b.currency.map(String::from),
                    occurred_on: b.occurred_on.map(Date::from),
                    note: b.note.map(String::from),
                },
                idempotency_key_of(req, idempotency_key.0.map(String::from)).as_deref(),
            )
            .await?;
        Ok(SettlementCreated::Created(Json(settlement.into())))
    }

    /// The group's repayments, newest first.
    #[oai(path = "/groups/:group_id/settlements", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<SettlementPage>> {
        let page = self
            .ledger
            .list_settlements(
                auth.user_id(),
                GroupId(group_id.0),
                PageRequest {
                    limit: limit.0.map(|l| l.0),
                    cursor: cursor.0,
                },
            )
            .await?;
        Ok(Json(SettlementPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Delete a repayment (its creator, either party, an admin or the owner).
    #[oai(
        path = "/groups/:group_id/settlements/:settlement_id",
        method = "delete"
    )]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The repayment's id.
        settlement_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_settlement(
                auth.user_id(),
                GroupId(group_id.0),
                SettlementId(settlement_id.0),
            )
            .await?;
        Ok(NoContent::Done)
    }
}
