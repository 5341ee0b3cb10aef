//! Recurring series: create, list, read, change, delete; and the catch-up that makes every
//! occurrence due up to today before any read of a group answers.
//!
//! Exactly once, however many processes share the store: an occurrence is written together
//! with the series' progress, and the store applies that only to the series version it was
//! computed from ([`SeriesUpdate`]); a process that loses the race reads the series again and
//! finds the occurrence made. Occurrence ids are derived from (series, date), and stores keep
//! occurrences unique by (group, series, date) as a second guard.

use serde_json::Value;
use time::{Date, OffsetDateTime};

use super::expenses::fingerprint;
use super::{Error, Ledger, Result, record};
use crate::domain::{Group, GroupId, Occurrence, Role, SeriesId, UserId};
use crate::entry::Entry;
use crate::error::ValidationErrors;
use crate::ledger::NewExpense;
use crate::recurring::{Every, Schedule, Series, snapshot};
use crate::split::SplitInput;
use crate::storage::{EntryWrite, SeriesUpdate, Storage, StorageError};

/// Most occurrences a new series may have due already (its start in the past): a typo in
/// the year of a daily series would otherwise write thousands of expenses at once.
pub const MAX_BACKLOG: u32 = 1000;

/// How many times a change is retried when other changes of the series keep coming first.
const RETRIES: u32 = 20;

const CHANGE_RULE: &str = "only its creator, an admin or the owner may change this series";

/// A new series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSeries {
    /// The expense each occurrence records (its `id` and `occurred_on` are ignored: each
    /// occurrence gets its own).
    pub expense: NewExpense,
    /// The unit.
    pub every: Every,
    /// Units between occurrences (default 1).
    pub interval: Option<u32>,
    /// The first occurrence.
    pub starts_on: Date,
    /// The last day an occurrence may fall on (inclusive).
    pub ends_on: Option<Date>,
    /// How many dates the calendar holds.
    pub count: Option<u32>,
    /// Created paused.
    pub paused: Option<bool>,
}

/// Changes to a series; they apply to occurrences not yet made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesPatch {
    /// Pause (`true`) or resume (`false`). Resuming continues at the first date on or after
    /// today: the dates skipped while paused are never made.
    pub paused: Option<bool>,
    /// New end date (`Some(None)` removes it).
    pub ends_on: Option<Option<Date>>,
    /// New count (`Some(None)` removes it).
    pub count: Option<Option<u32>>,
    /// New template.
    pub expense: Option<NewExpense>,
}

/// A series as its readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesView {
    /// The series.
    pub series: Series,
    /// The date of the next occurrence not yet made (for a paused series, the first it
    /// would make if resumed today); `None` once it has ended.
    pub next_on: Option<Date>,
}

fn may_change(role: Role, actor: UserId, series: &Series) -> Result<()> {
    if role.manages() || series.created_by == actor {
        Ok(())
    } else {
        Err(Error::Forbidden(CHANGE_RULE))
    }
}

/// Field errors of the template, named as the request nests them (`expense.amount`).
fn nested(errors: ValidationErrors) -> ValidationErrors {
    ValidationErrors(
        errors
            .0
            .into_iter()
            .map(|mut f| {
                f.field = format!("expense.{}", f.field);
                f
            })
            .collect(),
    )
}

/// The template as stored: no id and no date, which each occurrence sets.
fn template(mut expense: NewExpense) -> NewExpense {
    expense.id = None;
    expense.occurred_on = None;
    expense
}

impl<S: Storage> Ledger<S> {
    /// Creates a series (any member). Its template is validated as an expense dated
    /// `starts_on` would be, with the same codes; occurrences already due are made before
    /// the answer.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_series(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewSeries,
    ) -> Result<SeriesView> {
        let (g, _) = self.access(actor, group).await?;
        let now = self.now();
        let schedule = Schedule {
            every: request.every,
            interval: request.interval.unwrap_or(1),
            starts_on: request.starts_on,
            ends_on: request.ends_on,
            count: request.count,
        };
        let mut errors = schedule.check().err().unwrap_or_default();
        let template = template(request.expense);
        self.check_template(&g, actor, &template, request.starts_on, now, &mut errors)
            .await?;
        let due = (0..=MAX_BACKLOG)
            .take_while(|&n| schedule.date(n).is_some_and(|d| d <= now.date()))
            .count();
        if errors.0.is_empty() && due > MAX_BACKLOG as usize {
            return Err(Error::invalid(
                "starts_on",
                "too_many_occurrences",
                format!("at most {MAX_BACKLOG} occurrences may be due when a series is created"),
            ));
        }
        errors.into_result()?;
        let series = Series {
            id: SeriesId::random(),
            group_id: group,
            template,
            schedule,
            paused: request.paused.unwrap_or(false),
            next_index: 0,
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let activity = record(
            group,
            actor,
            "series.created",
            series.id.0,
            now,
            Value::Null,
            snapshot(&series),
        );
        self.storage.insert_series(&series, &activity).await?;
        self.make_due(&g, series.id).await?;
        self.view(group, series.id).await
    }

    /// Every series of a group, oldest first.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn list_series(&self, actor: UserId, group: GroupId) -> Result<Vec<SeriesView>> {
        self.access(actor, group).await?;
        let today = self.now().date();
        Ok((self.storage.list_series(group).await?.into_iter())
            .map(|series| SeriesView {
                next_on: series.next_on(today),
                series,
            })
            .collect())
    }

    /// One series.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn series(&self, actor: UserId, group: GroupId, id: SeriesId) -> Result<SeriesView> {
        self.access(actor, group).await?;
        self.view(group, id).await
    }

    /// Changes a series (its creator, an admin or the owner). Pausing stops it; resuming
    /// continues at the first date on or after today. A series that had ended and is
    /// extended (a later `ends_on`, a larger `count`) continues the same way, so neither
    /// ever makes dates in the past.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn update_series(
        &self,
        actor: UserId,
        group: GroupId,
        id: SeriesId,
        patch: SeriesPatch,
    ) -> Result<SeriesView> {
        let (g, role) = self.access(actor, group).await?;
        for _ in 0..RETRIES {
            let before = self.find(group, id).await?;
            may_change(role, actor, &before)?;
            let now = self.now();
            let today = now.date();
            let mut after = before.clone();
            let mut errors = ValidationErrors::default();
            if let Some(ends_on) = patch.ends_on {
                after.schedule.ends_on = ends_on;
            }
            if let Some(count) = patch.count {
                after.schedule.count = count;
            }
            if let Err(e) = after.schedule.check() {
                errors.0.extend(e.0);
            }
            if let Some(expense) = &patch.expense {
                after.template = template(expense.clone());
                self.check_template(&g, actor, &after.template, today, now, &mut errors)
                    .await?;
            }
            errors.into_result()?;
            if let Some(paused) = patch.paused {
                after.paused = paused;
            }
            let ended = !before.paused && before.due_on().is_none();
            if !after.paused && (before.paused || ended) {
                after.next_index = after.schedule.resume_at(today, before.next_index);
            }
            after.version = before.version + 1;
            after.updated_at = now;
            let update = SeriesUpdate {
                activity: Some(record(
                    group,
                    actor,
                    "series.updated",
                    id.0,
                    now,
                    snapshot(&before),
                    snapshot(&after),
                )),
                series: after,
                expected_version: before.version,
                occurrence: None,
            };
            match self.storage.update_series(&update).await {
                Ok(true) => {
                    self.make_due(&g, id).await?;
                    return self.view(group, id).await;
                }
                Ok(false) => continue,
                Err(StorageError::NotFound) => return Err(Error::NotFound("series")),
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy())
    }

    /// Deletes a series (its creator, an admin or the owner); the occurrences it made stay.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn delete_series(&self, actor: UserId, group: GroupId, id: SeriesId) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        let before = self.find(group, id).await?;
        may_change(role, actor, &before)?;
        let activity = record(
            group,
            actor,
            "series.deleted",
            id.0,
            self.now(),
            snapshot(&before),
            Value::Null,
        );
        match self.storage.delete_series(group, id, &activity).await {
            Err(StorageError::NotFound) => Err(Error::NotFound("series")),
            other => Ok(other?),
        }
    }

    /// Makes the occurrences due in up to `limit` series of any group (the servers' timer;
    /// reads of a group make its own anyway). A series that fails is logged and left for the
    /// next round. Answers how many series it looked at.
    #[tracing::instrument(skip_all)]
    pub async fn make_due_occurrences(&self, limit: u32) -> Result<usize> {
        let today = self.now().date();
        let due = self.storage.due_anywhere(today, limit).await?;
        for (group, id) in &due {
            if let Err(error) = self.make_due(group, *id).await {
                tracing::warn!(%error, group = %group.id, series = %id, "occurrences not made");
            }
        }
        Ok(due.len())
    }

    /// After a claim: every series of `group` whose template names `placeholder` names
    /// `claimer` instead, so it goes on making occurrences for the person who took the place.
    /// Runs after the claim commits; a series it misses (a crash in between) pauses itself at
    /// its next occurrence, as any series naming someone no longer in the group.
    pub(super) async fn hand_over_series(
        &self,
        group: GroupId,
        placeholder: UserId,
        claimer: UserId,
    ) -> Result<()> {
        for listed in self.storage.list_series(group).await? {
            for _ in 0..RETRIES {
                let Some(before) = self.storage.series(group, listed.id).await? else {
                    break;
                };
                let mut after = before.clone();
                if !rekey(&mut after.template, placeholder, claimer) {
                    break;
                }
                let now = self.now();
                after.version = before.version + 1;
                after.updated_at = now;
                let update = SeriesUpdate {
                    activity: Some(record(
                        group,
                        claimer,
                        "series.updated",
                        before.id.0,
                        now,
                        snapshot(&before),
                        snapshot(&after),
                    )),
                    series: after,
                    expected_version: before.version,
                    occurrence: None,
                };
                match self.storage.update_series(&update).await {
                    Ok(true) | Err(StorageError::NotFound) => break,
                    Ok(false) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Makes every occurrence due up to today in each series of `g` that has one: one
    /// indexed lookup when none is due.
    pub(super) async fn catch_up(&self, g: &Group) -> Result<()> {
        let due = self.storage.due_series(g.id, self.now().date()).await?;
        for id in due {
            self.make_due(g, id).await?;
        }
        Ok(())
    }

    /// Makes the occurrences of one series due up to today, one at a time, each with the
    /// series' progress in one write.
    async fn make_due(&self, g: &Group, id: SeriesId) -> Result<()> {
        // No bound on lost races: each one means another process moved this series on, and
        // a series has finitely many occurrences due, so the loop ends when they are made.
        loop {
            let now = self.now();
            let Some(series) = self.storage.series(g.id, id).await? else {
                return Ok(());
            };
            let Some(on) = series.due_on().filter(|d| *d <= now.date()) else {
                return Ok(());
            };
            let update = self.occurrence(g, &series, on, now).await?;
            match self.storage.update_series(&update).await {
                // `false`: another process changed the series first (most likely made this
                // very occurrence); either way, read it again.
                Ok(_) => {}
                Err(StorageError::NotFound) => return Ok(()),
                // A participant left or a total would overflow since the template was
                // checked: the series stops rather than fail every read of the group.
                Err(StorageError::NotMember(_) | StorageError::Overflow) => {
                    let errors = ValidationErrors::one(
                        "expense",
                        "occurrence_refused",
                        "the occurrence could not be recorded",
                    );
                    let pause = self.pause(&series, now, errors);
                    self.storage.update_series(&pause).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The write that makes the occurrence of `series` on `on`, or, when its template no
    /// longer makes a valid expense (a participant has left the group), pauses the series.
    async fn occurrence(
        &self,
        g: &Group,
        series: &Series,
        on: Date,
        now: OffsetDateTime,
    ) -> Result<SeriesUpdate> {
        let request = NewExpense {
            id: Some(series.occurrence_id(on)),
            occurred_on: Some(on),
            ..series.template.clone()
        };
        let mut expense = match self
            .build_expense(g, series.created_by, &request, now)
            .await
        {
            Ok(expense) => expense,
            Err(Error::Validation(errors)) => return Ok(self.pause(series, now, errors)),
            Err(e) => return Err(e),
        };
        let occurrence = Occurrence {
            series_id: series.id,
            occurrence_on: on,
        };
        expense.recurring = Some(occurrence);
        let mut next = series.clone();
        next.next_index = series.next_index.saturating_add(1);
        next.version = series.version + 1;
        next.updated_at = now;
        let write = EntryWrite {
            fingerprint: fingerprint("occurrence", &occurrence)?,
            activity: record(
                g.id,
                series.created_by,
                "expense.created",
                expense.id.0,
                now,
                Value::Null,
                expense.snapshot(),
            ),
            entry: Entry::Expense(expense),
            idempotency: None,
        };
        Ok(SeriesUpdate {
            series: next,
            expected_version: series.version,
            occurrence: Some(write),
            activity: None,
        })
    }

    /// Pauses a series whose occurrence cannot be made, saying why in the activity log.
    fn pause(
        &self,
        series: &Series,
        now: OffsetDateTime,
        errors: ValidationErrors,
    ) -> SeriesUpdate {
        let mut paused = series.clone();
        paused.paused = true;
        paused.version = series.version + 1;
        paused.updated_at = now;
        let mut after = snapshot(&paused);
        after["reason"] = serde_json::json!(
            errors
                .0
                .iter()
                .map(
                    |f| serde_json::json!({"field": f.field, "code": f.code, "message": f.message})
                )
                .collect::<Vec<_>>()
        );
        SeriesUpdate {
            activity: Some(record(
                series.group_id,
                series.created_by,
                "series.paused",
                series.id.0,
                now,
                snapshot(series),
                after,
            )),
            series: paused,
            expected_version: series.version,
            occurrence: None,
        }
    }

    /// Validates a template as the expense it makes on `on` would be, adding its field
    /// errors (nested under `expense.`) to `errors`.
    async fn check_template(
        &self,
        g: &Group,
        actor: UserId,
        template: &NewExpense,
        on: Date,
        now: OffsetDateTime,
        errors: &mut ValidationErrors,
    ) -> Result<()> {
        let probe = NewExpense {
            occurred_on: Some(on),
            ..template.clone()
        };
        match self.build_expense(g, actor, &probe, now).await {
            Ok(_) => Ok(()),
            Err(Error::Validation(e)) => {
                errors.0.extend(nested(e).0);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn find(&self, group: GroupId, id: SeriesId) -> Result<Series> {
        self.storage
            .series(group, id)
            .await?
            .ok_or(Error::NotFound("series"))
    }

    async fn view(&self, group: GroupId, id: SeriesId) -> Result<SeriesView> {
        let series = self.find(group, id).await?;
        Ok(SeriesView {
            next_on: series.next_on(self.now().date()),
            series,
        })
    }
}

fn busy() -> Error {
    Error::conflict(
        "series_busy",
        "the series kept changing while this change was made; try again",
    )
}

/// Replaces `from` by `to` wherever a template names a member (payer, payers, split);
/// `true` if it named `from`.
fn rekey(template: &mut NewExpense, from: UserId, to: UserId) -> bool {
    let mut changed = false;
    let mut swap = |user: &mut UserId| {
        if *user == from {
            *user = to;
            changed = true;
        }
    };
    if let Some(payer) = &mut template.paid_by {
        swap(payer);
    }
    for payer in template.payers.iter_mut().flatten() {
        swap(&mut payer.user_id);
    }
    match &mut template.split {
        SplitInput::Equal { members } => members.iter_mut().flatten().for_each(swap),
        SplitInput::Exact { shares } => shares.iter_mut().for_each(|s| swap(&mut s.user_id)),
        SplitInput::Percent { shares } => shares.iter_mut().for_each(|s| swap(&mut s.user_id)),
        SplitInput::Shares { shares } => shares.iter_mut().for_each(|s| swap(&mut s.user_id)),
    }
    changed
}
