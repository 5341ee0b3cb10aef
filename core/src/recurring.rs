//! The calendar of a recurring series: which dates its occurrences fall on.
//!
//! A [`Schedule`] numbers its occurrences 0, 1, 2, ... from `starts_on`; occurrence `n` is
//! `starts_on` plus `n × interval` days, weeks, months or years. Months and years keep the
//! starting day of the month and clamp it to the month's length, each occurrence computed from
//! the start (never from the previous one): a series on the 31st falls on 30 April and on
//! 31 May again, and one on 29 February falls on 28 February in common years. `ends_on`
//! (inclusive) and `count` (how many dates the calendar holds, counted from `starts_on`)
//! both end it; the earlier wins.
//!
//! Pausing does not change the calendar: a paused series keeps its numbering, and resuming
//! it continues at the first date on or after the day it resumes, so the dates it skipped
//! are never made and still count towards `count`. That rule lives in
//! [`Schedule::first_from`]; the Ledger applies it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::domain::{ExpenseId, GroupId, SeriesId, UserId};
use crate::error::{FieldError, ValidationErrors};
use crate::ledger::NewExpense;

/// The unit a series repeats in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    /// Every `interval` days.
    Day,
    /// Every `interval` weeks (same weekday as `starts_on`).
    Week,
    /// Every `interval` months (same day of the month, clamped to shorter months).
    Month,
    /// Every `interval` years (same day, 29 February clamped to 28 February).
    Year,
}

impl Every {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

impl std::str::FromStr for Every {
    type Err = ValidationErrors;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            "year" => Ok(Self::Year),
            _ => Err(ValidationErrors::one(
                "every",
                "invalid_every",
                "one of day, week, month, year",
            )),
        }
    }
}

/// Largest `interval` (a series repeating less often than every 1,000 units is a typo).
pub const MAX_INTERVAL: u32 = 1000;
/// Largest `count`.
pub const MAX_COUNT: u32 = 100_000;

/// When a series' occurrences fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The unit.
    pub every: Every,
    /// How many units between occurrences (at least 1).
    pub interval: u32,
    /// The first occurrence.
    pub starts_on: Date,
    /// The last day an occurrence may fall on (inclusive).
    pub ends_on: Option<Date>,
    /// How many dates the calendar holds.
    pub count: Option<u32>,
}

impl Schedule {
    /// Checks the rule's own fields: interval 1 to [`MAX_INTERVAL`], count 1 to
    /// [`MAX_COUNT`], years 1900 to 9999, `ends_on` not before `starts_on`.
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if !(1..=MAX_INTERVAL).contains(&self.interval) {
            errors.push(FieldError::new(
                "interval",
                "out_of_range",
                format!("from 1 to {MAX_INTERVAL}"),
            ));
        }
        if self.count.is_some_and(|c| !(1..=MAX_COUNT).contains(&c)) {
            errors.push(FieldError::new(
                "count",
                "out_of_range",
                format!("from 1 to {MAX_COUNT}"),
            ));
        }
        for (field, date) in [
            ("starts_on", Some(self.starts_on)),
            ("ends_on", self.ends_on),
        ] {
            if date.is_some_and(|d| !(1900..=9999).contains(&d.year())) {
                errors.push(FieldError::new(
                    field,
                    "date_out_of_range",
                    "the year must be between 1900 and 9999",
                ));
            }
        }
        if self.ends_on.is_some_and(|end| end < self.starts_on) {
            errors.push(FieldError::new(
                "ends_on",
                "invalid_range",
                "ends_on must not be before starts_on",
            ));
        }
        errors.into_result()
    }

    /// The date of occurrence `n` on the open-ended calendar (no end, no count); `None` past
    /// year 9999.
    fn calendar(&self, n: u32) -> Option<Date> {
        let steps = i64::from(n) * i64::from(self.interval);
        let date = match self.every {
            Every::Day => self.starts_on.checked_add(Duration::days(steps))?,
            Every::Week => self.starts_on.checked_add(Duration::weeks(steps))?,
            Every::Month => add_months(self.starts_on, steps)?,
            Every::Year => add_months(self.starts_on, steps.checked_mul(12)?)?,
        };
        (date.year() <= 9999).then_some(date)
    }

    /// The date of occurrence `n`, or `None` when the series has ended before it (by
    /// `count` or `ends_on`).
    pub fn date(&self, n: u32) -> Option<Date> {
        if self.count.is_some_and(|c| n >= c) {
            return None;
        }
        self.calendar(n)
            .filter(|d| self.ends_on.is_none_or(|end| *d <= end))
    }

    /// The first occurrence numbered `from` or later that falls on or after `day`: where a
    /// series resumed on `day` continues. `None` when the series has ended before.
    pub fn first_from(&self, day: Date, from: u32) -> Option<u32> {
        let n = self.resume_at(day, from);
        self.date(n).map(|_| n)
    }

    /// The first occurrence numbered `from` or later that falls on or after `day`, or, when
    /// the series ends before, the first number past its end: the `next_index` of a series
    /// resumed on `day`, which never makes a date before `day`.
    pub fn resume_at(&self, day: Date, from: u32) -> u32 {
        let mut n = from.max(self.estimate(day));
        // The estimate is at most one step short (a clamped day of the month).
        loop {
            match self.date(n) {
                Some(date) if date < day => match n.checked_add(1) {
                    Some(next) => n = next,
                    None => return n,
                },
                _ => return n,
            }
        }
    }

    /// An occurrence number at or just below the first one on or after `day`.
    fn estimate(&self, day: Date) -> u32 {
        if day <= self.starts_on {
            return 0;
        }
        let interval = i64::from(self.interval.max(1));
        let units = match self.every {
            Every::Day => (day - self.starts_on).whole_days(),
            Every::Week => (day - self.starts_on).whole_weeks(),
            Every::Month => months_between(self.starts_on, day),
            Every::Year => months_between(self.starts_on, day) / 12,
        };
        u32::try_from(units / interval).unwrap_or(u32::MAX)
    }
}

/// `date` plus `months`, its day clamped to the target month's length.
fn add_months(date: Date, months: i64) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

/// Whole calendar months from `a`'s month to `b`'s month.
fn months_between(a: Date, b: Date) -> i64 {
    let index = |d: Date| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
    index(b) - index(a)
}

/// A recurring series: a template expense and its calendar, with how far it has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Id.
    pub id: SeriesId,
    /// Its group.
    pub group_id: GroupId,
    /// The expense each occurrence records (no id, no date: each occurrence gets its own).
    pub template: NewExpense,
    /// When occurrences fall.
    pub schedule: Schedule,
    /// A paused series makes nothing.
    pub paused: bool,
    /// The number of the first occurrence not yet made (nor skipped by a pause).
    pub next_index: u32,
    /// Who created it; its occurrences are recorded as theirs.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed (an edit, a pause, an occurrence made).
    pub updated_at: OffsetDateTime,
    /// Starts at 1; every change adds one, and a store applies a change only to the version
    /// it was computed from, so two processes never make the same occurrence.
    pub version: i64,
}

impl Series {
    /// The date the next occurrence becomes due, `None` while paused or once ended: what
    /// stores index, so that finding a group's due series is one indexed lookup.
    pub fn due_on(&self) -> Option<Date> {
        if self.paused {
            return None;
        }
        self.schedule.date(self.next_index)
    }

    /// The date of the next occurrence not yet made, as seen on `today`: for a paused series,
    /// the one it would make first if resumed today; `None` once ended.
    pub fn next_on(&self, today: Date) -> Option<Date> {
        if self.paused {
            let n = self.schedule.first_from(today, self.next_index)?;
            return self.schedule.date(n);
        }
        self.schedule.date(self.next_index)
    }

    /// The id of the expense that is this series' occurrence on `date`: the same in every
    /// process, so a second attempt to make it can only find it made.
    pub fn occurrence_id(&self, date: Date) -> ExpenseId {
        let digest = Sha256::new()
            .chain_update(b"splitledger occurrence\0")
            .chain_update(self.id.0.as_bytes())
            .chain_update(date.to_string().as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        ExpenseId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

/// A snapshot of a series for the activity log.
pub fn snapshot(series: &Series) -> serde_json::Value {
    serde_json::json!({
        "id": series.id,
        "every": series.schedule.every,
        "interval": series.schedule.interval,
        "starts_on": series.schedule.starts_on.to_string(),
        "ends_on": series.schedule.ends_on.map(|d| d.to_string()),
        "count": series.schedule.count,
        "paused": series.paused,
        "description": series.template.description,
        "amount": series.template.amount,
    })
}

#[cfg(test)]
mod tests;
