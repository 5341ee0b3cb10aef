//! `/groups/{group_id}/conversions`: every balance in one currency moved into another.

use poem::Request;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use time::Date;
use uuid::Uuid;

use splitledger_core::Storage;
use splitledger_core::domain::{ConversionId, GroupId};
use splitledger_core::ledger::{Ledger, NewConversion, PageRequest};

use super::models::{ConversionBody, ConversionPage, IdempotencyKey, NewConversionBody, PageLimit};
use super::{ApiResult, ApiTags, NoContent, idempotency_key_of};
use crate::security::Auth;

/// `/groups/{group_id}/conversions`.
#[derive(Debug)]
pub struct ConversionsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A conversion made.
#[derive(Debug, ApiResponse)]
pub enum ConversionCreated {
    /// Made (or, for a repeated `Idempotency-Key` with the same body, the first one).
    #[oai(status = 201)]
    Created(Json<ConversionBody>),
}

#[OpenApi(tag = "ApiTags::Conversions")]
impl<S: Storage> ConversionsApi<S> {
    /// Convert every balance in one currency into another (owner and admins).
    ///
    /// Each member's net in `from_currency` moves into `to_currency` at `exchange_rate`
    /// (units of `to_currency` per unit of `from_currency`): afterwards every net and debt in
    /// `from_currency` is zero, and each member gets floor(net × rate) in minor units, the
    /// units left over going one each to the largest fractional parts (ties by the allocation
    /// tie-break seeded with the conversion's id), so the nets still add up to zero. Balances
    /// show what moved as `converted`. 422 `same_currency`, `nothing_to_convert` (every net
    /// in `from_currency` is zero) or a rate's code; 409 `balances_changed` if other writes
    /// kept changing the balances while they were converted.
    #[oai(path = "/groups/:group_id/conversions", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Makes retries safe: the same key and body convert once.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<IdempotencyKey>>,
        body: Json<NewConversionBody>,
        req: &Request,
    ) -> ApiResult<ConversionCreated> {
        let b = body.0;
        let conversion = self
            .ledger
            .create_conversion(
                auth.user_id(),
                GroupId(group_id.0),
                NewConversion {
                    from_currency: b.from_currency.into(),
                    to_currency: b.to_currency.into(),
                    exchange_rate: b.exchange_rate.into(),
                    occurred_on: b.occurred_on.map(Date::from),
                    note: b.note.map(String::from),
                },
                idempotency_key_of(req, idempotency_key.0.map(String::from)).as_deref(),
            )
            .await?;
        Ok(ConversionCreated::Created(Json(conversion.into())))
    }

    /// The group's conversions, newest first.
    #[oai(path = "/groups/:group_id/conversions", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ConversionPage>> {
        let page = self
            .ledger
            .list_conversions(
                auth.user_id(),
                GroupId(group_id.0),
                PageRequest {
                    limit: limit.0.map(|l| l.0),
                    cursor: cursor.0,
                },
            )
            .await?;
        Ok(Json(ConversionPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Undo a conversion (owner and admins): its exact moves are taken back.
    #[oai(
        path = "/groups/:group_id/conversions/:conversion_id",
        method = "delete"
    )]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The conversion's id.
        conversion_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_conversion(
                auth.user_id(),
                GroupId(group_id.0),
                ConversionId(conversion_id.0),
            )
            .await?;
        Ok(NoContent::Done)
    }
}
