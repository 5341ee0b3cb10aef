//! `/groups/{group_id}/recurring`: series that record an expense on a calendar.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use splitledger_core::domain::{GroupId, SeriesId, UserId};
use splitledger_core::ledger::{NewExpense, NewSeries, SeriesPatch, SeriesView};
use splitledger_core::recurring::Every;
use splitledger_core::{Ledger, Storage};

use super::models::Amount;
use super::models::{
    AmountEntryBody, Bounded, CurrencyCode, EntryDate, ExchangeRate, ExpenseKindName, Metadata,
    NonEmpty, OptionalText, RequiredText, SplitBody, maybe, payers_in,
};
use super::{ApiResult, ApiTags, NoContent};
use crate::security::Auth;

/// `/groups/{group_id}/recurring`.
#[derive(Debug)]
pub struct RecurringApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum EveryName {
    /// Every `interval` days.
    Day,
    /// Every `interval` weeks.
    Week,
    /// Every `interval` months, on the starting day (the last day of shorter months).
    Month,
    /// Every `interval` years (29 February falls on 28 February in common years).
    Year,
}

impl From<Every> for EveryName {
    fn from(every: Every) -> Self {
        match every {
            Every::Day => Self::Day,
            Every::Week => Self::Week,
            Every::Month => Self::Month,
            Every::Year => Self::Year,
        }
    }
}

impl From<EveryName> for Every {
    fn from(every: EveryName) -> Self {
        match every {
            EveryName::Day => Self::Day,
            EveryName::Week => Self::Week,
            EveryName::Month => Self::Month,
            EveryName::Year => Self::Year,
        }
    }
}

/// The expense each occurrence records: an expense input without `id` and `occurred_on`
/// (each occurrence has its own id and its date).
#[derive(Debug, Clone, Object)]
pub struct TemplateBody {
    /// `expense` (the default) or `income`.
    #[oai(nullable)]
    pub kind: Option<ExpenseKindName>,
    /// What it is (1 to 200 characters).
    pub description: RequiredText<200>,
    /// A positive decimal string.
    pub amount: Amount,
    /// ISO 4217 code; the group's when absent.
    #[oai(nullable)]
    pub currency: Option<CurrencyCode>,
    /// Paid in `currency`, booked in the group's at this rate.
    #[oai(nullable)]
    pub exchange_rate: Option<ExchangeRate>,
    /// The one member who pays it all (give this or `payers`).
    #[oai(nullable)]
    pub paid_by: Option<Uuid>,
    /// Several payers with amounts adding up to `amount`.
    #[oai(nullable)]
    pub payers: Option<NonEmpty<AmountEntryBody>>,
    /// How it is split (an equal split without `members` is among the members of the day
    /// each occurrence is made).
    pub split: SplitBody,
    /// Up to 50 characters.
    #[oai(nullable)]
    pub category: Option<OptionalText<50>>,
    /// Up to 50 characters.
    #[oai(nullable)]
    pub payment_method: Option<OptionalText<50>>,
    /// Up to 2000 characters.
    #[oai(nullable)]
    pub notes: Option<OptionalText<2000>>,
    /// Any JSON object up to 16 KiB.
    #[oai(nullable)]
    pub metadata: Option<Metadata>,
}

impl From<TemplateBody> for NewExpense {
    fn from(b: TemplateBody) -> Self {
        NewExpense {
            id: None,
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
            occurred_on: None,
            notes: b.notes.map(String::from),
            metadata: b.metadata.map(Value::from),
        }
    }
}

/// The template as stored, in the shape it was given.
#[derive(Debug, Clone, Object)]
pub struct TemplateOut {
    /// `expense` or `income`.
    pub kind: ExpenseKindName,
    /// What it is.
    pub description: String,
    /// A decimal string.
    pub amount: String,
    /// ISO 4217 code (`null`: the group's).
    #[oai(nullable)]
    pub currency: Option<String>,
    /// The booking rate, if any.
    #[oai(nullable)]
    pub exchange_rate: Option<String>,
    /// The one payer.
    #[oai(nullable)]
    pub paid_by: Option<Uuid>,
    /// Several payers.
    #[oai(nullable)]
    pub payers: Option<Vec<AmountEntryBody>>,
    /// How it is split.
    pub split: SplitBody,
    /// Category.
    #[oai(nullable)]
    pub category: Option<String>,
    /// Payment method.
    #[oai(nullable)]
    pub payment_method: Option<String>,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// The embedding program's JSON object.
    #[oai(nullable)]
    pub metadata: Option<Value>,
}

impl From<NewExpense> for TemplateOut {
    fn from(t: NewExpense) -> Self {
        Self {
            kind: t.kind.unwrap_or_default().into(),
            description: t.description,
            amount: t.amount,
            currency: t.currency,
            exchange_rate: t.exchange_rate,
            paid_by: t.paid_by.map(|u| u.0),
            payers: t.payers.map(|list| {
                list.into_iter()
                    .map(|p| AmountEntryBody {
                        user_id: p.user_id.0,
                        amount: Amount(p.amount),
                    })
                    .collect()
            }),
            split: t.split.into(),
            category: t.category,
            payment_method: t.payment_method,
            notes: t.notes,
            metadata: t.metadata,
        }
    }
}

/// A new series.
#[derive(Debug, Clone, Object)]
pub struct NewSeriesBody {
    /// The expense each occurrence records.
    pub expense: TemplateBody,
    /// `day`, `week`, `month` or `year`.
    pub every: EveryName,
    /// Units between occurrences, 1 to 1000 (default 1).
    #[oai(nullable)]
    pub interval: Option<Bounded<1, 1000>>,
    /// The first occurrence (`YYYY-MM-DD`); at most 1000 occurrences may already be due.
    pub starts_on: EntryDate,
    /// The last day an occurrence may fall on (inclusive).
    #[oai(nullable)]
    pub ends_on: Option<EntryDate>,
    /// How many dates the calendar holds, 1 to 100000 (dates skipped while paused count).
    #[oai(nullable)]
    pub count: Option<Bounded<1, 100_000>>,
    /// Created paused.
    #[oai(nullable)]
    pub paused: Option<bool>,
}

/// Changes to a series; they apply to occurrences not yet made.
#[derive(Debug, Clone, Object)]
pub struct SeriesPatchBody {
    /// Pause (`true`) or resume (`false`); resuming continues at the first date on or after
    /// today, never making the dates skipped.
    #[oai(nullable)]
    pub paused: Option<bool>,
    /// New end date; `null` removes it.
    #[oai(nullable)]
    pub ends_on: MaybeUndefined<EntryDate>,
    /// New count; `null` removes it.
    #[oai(nullable)]
    pub count: MaybeUndefined<Bounded<1, 100_000>>,
    /// New template.
    #[oai(nullable)]
    pub expense: Option<TemplateBody>,
}

/// A recurring series.
#[derive(Debug, Clone, Object)]
pub struct SeriesBody {
    /// Id.
    pub id: Uuid,
    /// Its group.
    pub group_id: Uuid,
    /// The expense each occurrence records.
    pub expense: TemplateOut,
    /// `day`, `week`, `month` or `year`.
    pub every: EveryName,
    /// Units between occurrences.
    pub interval: u32,
    /// The first occurrence.
    pub starts_on: Date,
    /// The last day an occurrence may fall on (inclusive).
    #[oai(nullable)]
    pub ends_on: Option<Date>,
    /// How many dates the calendar holds.
    #[oai(nullable)]
    pub count: Option<u32>,
    /// Whether it is paused.
    pub paused: bool,
    /// The next occurrence not yet made (for a paused series, the first it would make if
    /// resumed today); `null` once ended.
    #[oai(nullable)]
    pub next_on: Option<Date>,
    /// Who created it (its occurrences are recorded as theirs).
    pub created_by: Uuid,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl From<SeriesView> for SeriesBody {
    fn from(v: SeriesView) -> Self {
        let s = v.series;
        Self {
            id: s.id.0,
            group_id: s.group_id.0,
            expense: s.template.into(),
            every: s.schedule.every.into(),
            interval: s.schedule.interval,
            starts_on: s.schedule.starts_on,
            ends_on: s.schedule.ends_on,
            count: s.schedule.count,
            paused: s.paused,
            next_on: v.next_on,
            created_by: s.created_by.0,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// The series of a group.
#[derive(Debug, Clone, Object)]
pub struct SeriesList {
    /// Oldest first.
    pub items: Vec<SeriesBody>,
}

/// A series created.
#[derive(Debug, ApiResponse)]
pub enum SeriesCreated {
    /// Created; the occurrences already due are made.
    #[oai(status = 201)]
    Created(Json<SeriesBody>),
}

#[OpenApi(tag = "ApiTags::Recurring")]
impl<S: Storage> RecurringApi<S> {
    /// Create a recurring series (any member).
    ///
    /// The template is validated as an expense is, with the same codes (its fields named
    /// `expense.…`). Every occurrence due up to today (UTC) is an ordinary expense with
    /// `recurring: {series_id, occurrence_on}`, made exactly once before any read of the group
    /// answers. 422 `too_many_occurrences` when more than 1000 would already be due.
    #[oai(path = "/groups/:group_id/recurring", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        body: Json<NewSeriesBody>,
    ) -> ApiResult<SeriesCreated> {
        let b = body.0;
        let series = self
            .ledger
            .create_series(
                auth.user_id(),
                GroupId(group_id.0),
                NewSeries {
                    expense: b.expense.into(),
                    every: b.every.into(),
                    interval: b.interval.map(|i| i.0),
                    starts_on: b.starts_on.into(),
                    ends_on: b.ends_on.map(Date::from),
                    count: b.count.map(|c| c.0),
                    paused: b.paused,
                },
            )
            .await?;
        Ok(SeriesCreated::Created(Json(series.into())))
    }

    /// The group's series, oldest first.
    #[oai(path = "/groups/:group_id/recurring", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<SeriesList>> {
        let items = self
            .ledger
            .list_series(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(Json(SeriesList {
            items: items.into_iter().map(Into::into).collect(),
        }))
    }

    /// One series.
    #[oai(path = "/groups/:group_id/recurring/:series_id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The series' id.
        series_id: Path<Uuid>,
    ) -> ApiResult<Json<SeriesBody>> {
        let series = self
            .ledger
            .series(auth.user_id(), GroupId(group_id.0), SeriesId(series_id.0))
            .await?;
        Ok(Json(series.into()))
    }

    /// Change a series (its creator, an admin or the owner).
    ///
    /// Changes apply to occurrences not yet made. Resuming a paused series, or extending
    /// one that has ended, continues at the first date on or after today.
    #[oai(path = "/groups/:group_id/recurring/:series_id", method = "patch")]
    async fn update(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The series' id.
        series_id: Path<Uuid>,
        body: Json<SeriesPatchBody>,
    ) -> ApiResult<Json<SeriesBody>> {
        let b = body.0;
        let patch = SeriesPatch {
            paused: b.paused,
            ends_on: maybe::<EntryDate, Date>(b.ends_on),
            count: match b.count {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(c) => Some(Some(c.0)),
            },
            expense: b.expense.map(Into::into),
        };
        let series = self
            .ledger
            .update_series(
                auth.user_id(),
                GroupId(group_id.0),
                SeriesId(series_id.0),
                patch,
            )
            .await?;
        Ok(Json(series.into()))
    }

    /// Delete a series (its creator, an admin or the owner); the expenses it made stay.
    #[oai(path = "/groups/:group_id/recurring/:series_id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The series' id.
        series_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_series(auth.user_id(), GroupId(group_id.0), SeriesId(series_id.0))
            .await?;
        Ok(NoContent::Done)
    }
}
