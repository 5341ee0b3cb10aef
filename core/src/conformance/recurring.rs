//! Recurring series: occurrences made by reads, exactly once, on the calendar's dates; the
//! series validated like an expense; pause, resume, edits and deletion; and several ledgers
//! catching up one group at the same moment.

use std::collections::BTreeSet;
use std::time::Duration;

use time::Date;
use time::macros::date;

use super::{Fixture, assert_code, assert_field, expense_input};
use crate::domain::{Expense, ExpenseFilter, GroupId, SeriesId, User};
use crate::ledger::{Error, ListExpenses, NewExpense, NewSeries, PageRequest, SeriesPatch};
use crate::recurring::Every;
use crate::split::SplitInput;
use crate::{Ledger, Storage};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn monthly(payer: &User, starts_on: Date) -> NewSeries {
    NewSeries {
        expense: expense_input("90.00", payer.id, SplitInput::Equal { members: None }),
        every: Every::Month,
        interval: None,
        starts_on,
        ends_on: None,
        count: None,
        paused: None,
    }
}

/// Every expense a series made in a group, oldest first.
async fn occurrences<S: Storage>(
    ledger: &Ledger<S>,
    actor: &User,
    group: GroupId,
    series: SeriesId,
) -> Vec<Expense> {
    let request = ListExpenses {
        filter: ExpenseFilter::default(),
        page: PageRequest {
            limit: Some(200),
            cursor: None,
        },
    };
    let page = ledger
        .list_expenses(actor.id, group, request)
        .await
        .unwrap();
    let mut made: Vec<Expense> = (page.items.into_iter())
        .filter(|e| e.recurring.is_some_and(|o| o.series_id == series))
        .collect();
    made.reverse();
    made
}

fn dates(made: &[Expense]) -> Vec<Date> {
    made.iter().map(|e| e.details.occurred_on).collect()
}

/// A monthly series on the 31st started in the past: creating it makes every occurrence due
/// (on month ends), each an ordinary expense of the creator; later reads make the next ones
/// as the days pass, and the running totals count them.
pub async fn recurring_catch_up<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let (ann, bob) = (f.user("ann").await, f.user("bob").await);
    let g = f.group(&ann, &[&bob]).await;
    // The clock stands at 2026-06-01.
    let created = f
        .ledger
        .create_series(bob.id, g, monthly(&ann, date!(2026 - 01 - 31)))
        .await
        .unwrap();
    let s = created.series.clone();
    assert_eq!(created.next_on, Some(date!(2026 - 06 - 30)));
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(
        dates(&made),
        [
            date!(2026 - 01 - 31),
            date!(2026 - 02 - 28),
            date!(2026 - 03 - 31),
            date!(2026 - 04 - 30),
            date!(2026 - 05 - 31),
        ]
    );
    for e in &made {
        let o = e.recurring.unwrap();
        assert_eq!(o.occurrence_on, e.details.occurred_on);
        assert_eq!(e.id, s.occurrence_id(o.occurrence_on), "ids are derived");
        assert_eq!(e.created_by, bob.id, "recorded as the series' creator's");
        assert_eq!(e.amount.to_string(), "90.00");
    }
    // Bob paid nothing and owes half of five occurrences.
    assert_eq!(f.nets(&ann, g, "EUR").await[&bob.id], -22_500);

    // A month later (downtime included), the next read makes June's.
    f.clock.advance(DAY * 31);
    assert_eq!(f.nets(&bob, g, "EUR").await[&bob.id], -27_000);
    assert_eq!(occurrences(&f.ledger, &ann, g, s.id).await.len(), 6);
    let view = f.ledger.series(ann.id, g, s.id).await.unwrap();
    assert_eq!(view.next_on, Some(date!(2026 - 07 - 31)));
    f.check_totals(&ann, g).await;
}

/// The template is validated as an expense is, with the same codes; the rule's own fields
/// have theirs; outsiders see nothing; only the creator, an admin or the owner may change or
/// delete a series.
pub async fn recurring_rules<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let (ann, bob, cat, eve) = (
        f.user("ann").await,
        f.user("bob").await,
        f.user("cat").await,
        f.user("eve").await,
    );
    let g = f.group(&ann, &[&bob, &cat]).await;
    let today = date!(2026 - 06 - 01);
    // Bad templates: refused with the expense's own codes, under `expense.`.
    let mut too_precise = expense_input("1.005", ann.id, SplitInput::Equal { members: None });
    same_refusal(&f.ledger, &ann, g, too_precise.clone()).await;
    too_precise.amount = "-1".into();
    same_refusal(&f.ledger, &ann, g, too_precise).await;
    let stranger = expense_input("10.00", eve.id, SplitInput::Equal { members: None });
    same_refusal(&f.ledger, &ann, g, stranger).await;
    let mut untitled = expense_input("10.00", ann.id, SplitInput::Equal { members: None });
    untitled.description = " ".into();
    same_refusal(&f.ledger, &ann, g, untitled).await;
    assert_field(
        f.ledger
            .create_series(
                ann.id,
                g,
                NewSeries {
                    interval: Some(0),
                    ..monthly(&ann, today)
                },
            )
            .await,
        "interval",
        "out_of_range",
    );
    assert_field(
        f.ledger
            .create_series(
                ann.id,
                g,
                NewSeries {
                    ends_on: Some(date!(2026 - 05 - 01)),
                    ..monthly(&ann, today)
                },
            )
            .await,
        "ends_on",
        "invalid_range",
    );
    assert_field(
        f.ledger
            .create_series(
                ann.id,
                g,
                NewSeries {
                    every: Every::Day,
                    ..monthly(&ann, date!(2020 - 01 - 01))
                },
            )
            .await,
        "starts_on",
        "too_many_occurrences",
    );
    assert!(
        f.ledger.list_series(ann.id, g).await.unwrap().is_empty(),
        "refusals write nothing"
    );

    // Outsiders: the group does not exist.
    assert_code(
        f.ledger
            .create_series(eve.id, g, monthly(&eve, today))
            .await,
        "not_found",
    );
    let s = f
        .ledger
        .create_series(bob.id, g, monthly(&bob, date!(2026 - 07 - 01)))
        .await
        .unwrap()
        .series;
    assert_code(f.ledger.series(eve.id, g, s.id).await, "not_found");
    assert_code(f.ledger.list_series(eve.id, g).await, "not_found");
    assert_code(
        f.ledger.series(ann.id, g, SeriesId::random()).await,
        "not_found",
    );
    // A member who did not create it may read it, not change it.
    assert_eq!(f.ledger.list_series(cat.id, g).await.unwrap().len(), 1);
    let pause = SeriesPatch {
        paused: Some(true),
        ..SeriesPatch::default()
    };
    assert_code(
        f.ledger.update_series(cat.id, g, s.id, pause.clone()).await,
        "forbidden",
    );
    assert_code(f.ledger.delete_series(cat.id, g, s.id).await, "forbidden");
    // Its creator and the owner may.
    let paused = f
        .ledger
        .update_series(bob.id, g, s.id, pause)
        .await
        .unwrap();
    assert!(paused.series.paused);
    let mut template = expense_input("12.00", cat.id, SplitInput::Equal { members: None });
    template.amount = "-1".into();
    assert_field(
        f.ledger
            .update_series(
                ann.id,
                g,
                s.id,
                SeriesPatch {
                    expense: Some(template),
                    ..SeriesPatch::default()
                },
            )
            .await,
        "expense.amount",
        "amount_not_positive",
    );
    f.ledger.delete_series(ann.id, g, s.id).await.unwrap();
    assert_code(f.ledger.series(ann.id, g, s.id).await, "not_found");
    assert_code(f.ledger.delete_series(ann.id, g, s.id).await, "not_found");
}

/// The field errors an expense is refused with, and those of a series with it as template.
async fn same_refusal<S: Storage>(
    ledger: &Ledger<S>,
    actor: &User,
    g: GroupId,
    expense: NewExpense,
) {
    let fields = |r: Result<(), Error>| -> Vec<(String, &'static str)> {
        match r {
            Err(Error::Validation(e)) => e.0.into_iter().map(|f| (f.field, f.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    };
    let as_expense = fields(
        ledger
            .create_expense(actor.id, g, expense.clone(), None)
            .await
            .map(drop),
    );
    let series = NewSeries {
        expense,
        ..monthly(actor, date!(2026 - 06 - 01))
    };
    let as_series = fields(ledger.create_series(actor.id, g, series).await.map(drop));
    let nested: Vec<(String, &'static str)> = (as_expense.into_iter())
        .map(|(field, code)| (format!("expense.{field}"), code))
        .collect();
    assert_eq!(as_series, nested);
}

/// Pausing stops a series and resuming never backfills what the pause skipped; a deleted
/// occurrence stays deleted; edits apply to occurrences not yet made; count and end date
/// stop it; deleting it keeps what it made.
pub async fn recurring_pause_resume<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let (ann, bob) = (f.user("ann").await, f.user("bob").await);
    let g = f.group(&ann, &[&bob]).await;
    let daily = NewSeries {
        every: Every::Day,
        ..monthly(&ann, date!(2026 - 06 - 01))
    };
    let s = f
        .ledger
        .create_series(ann.id, g, daily)
        .await
        .unwrap()
        .series;
    assert_eq!(occurrences(&f.ledger, &ann, g, s.id).await.len(), 1);
    let pause = |paused| SeriesPatch {
        paused: Some(paused),
        ..SeriesPatch::default()
    };
    f.ledger
        .update_series(ann.id, g, s.id, pause(true))
        .await
        .unwrap();
    f.clock.advance(DAY * 3);
    let view = f.ledger.series(ann.id, g, s.id).await.unwrap();
    assert_eq!(
        view.next_on,
        Some(date!(2026 - 06 - 04)),
        "what resuming today makes"
    );
    assert_eq!(occurrences(&f.ledger, &ann, g, s.id).await.len(), 1);
    let resumed = f
        .ledger
        .update_series(ann.id, g, s.id, pause(false))
        .await
        .unwrap();
    assert_eq!(resumed.next_on, Some(date!(2026 - 06 - 05)));
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(dates(&made), [date!(2026 - 06 - 01), date!(2026 - 06 - 04)]);

    // A deleted occurrence does not come back.
    f.ledger
        .delete_expense(ann.id, g, made[1].id)
        .await
        .unwrap();
    f.clock.advance(DAY);
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(dates(&made), [date!(2026 - 06 - 01), date!(2026 - 06 - 05)]);

    // A new template applies from the next occurrence on.
    let template = expense_input("10.00", bob.id, SplitInput::Equal { members: None });
    f.ledger
        .update_series(
            ann.id,
            g,
            s.id,
            SeriesPatch {
                expense: Some(template),
                ..SeriesPatch::default()
            },
        )
        .await
        .unwrap();
    f.clock.advance(DAY);
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(made.len(), 3);
    assert_eq!(made[1].amount.to_string(), "90.00");
    assert_eq!(made[2].amount.to_string(), "10.00");
    assert_eq!(made[2].paid_by(), Some(bob.id));

    // Made so far: dates 0, 3 (deleted), 4, 5 of the calendar; a count of 7 leaves 6.
    let ended = f
        .ledger
        .update_series(
            ann.id,
            g,
            s.id,
            SeriesPatch {
                count: Some(Some(7)),
                ..SeriesPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ended.next_on, Some(date!(2026 - 06 - 07)));
    f.clock.advance(DAY * 5);
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(
        made.last().map(|e| e.details.occurred_on),
        Some(date!(2026 - 06 - 07))
    );
    assert_eq!(made.len(), 4);
    let view = f.ledger.series(ann.id, g, s.id).await.unwrap();
    assert_eq!(view.next_on, None, "ended by its count");

    // Extending an ended series continues from today: the days in between never come.
    let extended = f
        .ledger
        .update_series(
            ann.id,
            g,
            s.id,
            SeriesPatch {
                count: Some(None),
                ends_on: Some(Some(date!(2026 - 06 - 30))),
                ..SeriesPatch::default()
            },
        )
        .await
        .unwrap();
    // Today is 11 June: the 8th to the 10th are skipped, today's is made.
    assert_eq!(extended.next_on, Some(date!(2026 - 06 - 12)));
    let made = occurrences(&f.ledger, &ann, g, s.id).await;
    assert_eq!(made.len(), 5);
    assert_eq!(
        made.last().map(|e| e.details.occurred_on),
        Some(date!(2026 - 06 - 11))
    );

    // Deleting the series keeps what it made and makes nothing more.
    let before = occurrences(&f.ledger, &ann, g, s.id).await.len();
    f.ledger.delete_series(ann.id, g, s.id).await.unwrap();
    f.clock.advance(DAY * 10);
    assert_eq!(occurrences(&f.ledger, &ann, g, s.id).await.len(), before);
    f.check_totals(&ann, g).await;
}

/// Several ledgers over one store read a group with many occurrences due at the same moment
/// (and the timer runs alongside): each occurrence exists exactly once.
pub async fn recurring_concurrent<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let (ann, bob) = (f.user("ann").await, f.user("bob").await);
    let g = f.group(&ann, &[&bob]).await;
    let daily = NewSeries {
        every: Every::Day,
        ..monthly(&ann, date!(2026 - 06 - 02))
    };
    let s = f
        .ledger
        .create_series(ann.id, g, daily)
        .await
        .unwrap()
        .series;
    let weekly = NewSeries {
        every: Every::Week,
        ..monthly(&bob, date!(2026 - 06 - 02))
    };
    let w = f
        .ledger
        .create_series(bob.id, g, weekly)
        .await
        .unwrap()
        .series;
    f.clock.advance(DAY * 30);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let ledger = f.ledger.clone();
        let reader = if t % 2 == 0 { ann.id } else { bob.id };
        tasks.push(tokio::spawn(async move {
            match t % 4 {
                0 => ledger.balances(reader, g).await.map(drop),
                1 => ledger.make_due_occurrences(10).await.map(drop),
                2 => ledger.list_series(reader, g).await.map(drop),
                _ => ledger.debts(reader, g).await.map(drop),
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let daily = occurrences(&f.ledger, &ann, g, s.id).await;
    let days: BTreeSet<Date> = dates(&daily).into_iter().collect();
    assert_eq!(daily.len(), 30, "one per day from 2 June to 1 July");
    assert_eq!(days.len(), 30, "no date twice");
    let weekly = occurrences(&f.ledger, &ann, g, w.id).await;
    assert_eq!(weekly.len(), 5);
    f.check_totals(&ann, g).await;
}

/// A series naming a placeholder (as payer and as a sharer) goes on after someone claims the
/// placeholder's place: its template then names the claimer, it is not paused, and the next
/// occurrence is theirs.
pub async fn recurring_claimed_placeholder<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let (ann, cid) = (f.user("ann").await, f.user("cid").await);
    let g = f.group(&ann, &[]).await;
    let l = &f.ledger;
    let gp = l
        .add_placeholder(
            ann.id,
            g,
            crate::ledger::AddPlaceholder {
                display_name: "Grandpa".into(),
                role: None,
            },
        )
        .await
        .unwrap();
    let rent = NewSeries {
        expense: expense_input(
            "90.00",
            gp.user_id,
            SplitInput::Equal {
                members: Some(vec![ann.id, gp.user_id]),
            },
        ),
        ..monthly(&ann, date!(2026 - 05 - 10))
    };
    let s = l.create_series(ann.id, g, rent).await.unwrap().series;
    assert_eq!(
        occurrences(l, &ann, g, s.id).await.len(),
        1,
        "10 May is due"
    );

    let code = l
        .create_claim(ann.id, g, gp.user_id, Default::default())
        .await
        .unwrap()
        .code;
    l.accept_invite(cid.id, &code).await.unwrap();
    let after = l.series(ann.id, g, s.id).await.unwrap();
    assert!(!after.series.paused);
    assert_eq!(after.series.template.paid_by, Some(cid.id));
    assert_eq!(
        after.series.template.split,
        SplitInput::Equal {
            members: Some(vec![ann.id, cid.id])
        }
    );

    f.clock.advance(DAY * 10);
    let made = occurrences(l, &ann, g, s.id).await;
    assert_eq!(dates(&made), [date!(2026 - 05 - 10), date!(2026 - 06 - 10)]);
    let june = &made[1];
    assert_eq!(june.paid_by(), Some(cid.id));
    assert!(june.shares.iter().any(|r| r.user_id == cid.id));
    assert!(june.shares.iter().all(|r| r.user_id != gp.user_id));
    f.check_totals(&ann, g).await;
}
