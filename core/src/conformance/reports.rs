//! Reads and reports: balances, debts and the settlement plan, running totals against a
//! full recomputation and their bound, pagination, activity, summaries and exports.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use time::{Date, Month};

use super::{Fixture, assert_field, assert_status, expense_input, settlement_input};
use crate::Storage;
use crate::domain::{Expense, ExpenseFilter, ExpenseId, ExpenseKind, SummaryBy, User, UserId};
use crate::ledger::{
    ExpensePatch, ListExpenses, NewConversion, NewExpense, NewSettlement, PageRequest,
    SummaryRequest,
};
use crate::money::{Currency, TOTAL_LIMIT};
use crate::split::{PayerInput, PercentShare, SplitInput, WeightShare};

/// Balances, debts and the plan over scenarios from peers' tests, and the plan's stability.
pub async fn balances_and_plan<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let a = f.user("a").await;
    let b = f.user("b").await;
    let c = f.user("c").await;
    let d = f.user("d").await;
    let g = f.group(&a, &[&b, &c, &d]).await;
    let l = &f.ledger;

    // Empty group: every member at zero in the group's currency, empty plan.
    let view = l.balances(b.id, g).await.unwrap();
    assert_eq!(view.balances.len(), 1);
    assert_eq!(view.balances[0].members.len(), 4);
    assert!(
        l.settlement_plan(a.id, g)
            .await
            .unwrap()
            .transfers
            .is_empty()
    );

    // Multi-payer scenario: a paid 60, b paid 40, split four ways.
    let mut input = expense_input("100.00", a.id, SplitInput::Equal { members: None });
    input.paid_by = None;
    input.payers = Some(vec![
        PayerInput {
            user_id: a.id,
            amount: "60.00".into(),
        },
        PayerInput {
            user_id: b.id,
            amount: "40.00".into(),
        },
    ]);
    l.create_expense(c.id, g, input, None).await.unwrap();
    let nets = f.nets(&a, g, "EUR").await;
    assert_eq!(
        (nets[&a.id], nets[&b.id], nets[&c.id], nets[&d.id]),
        (3500, 1500, -2500, -2500)
    );
    let plan = l.settlement_plan(a.id, g).await.unwrap();
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 3);
    let view = l.balances(a.id, g).await.unwrap();
    let row = view.balances[0]
        .members
        .iter()
        .find(|m| m.user_id == a.id)
        .unwrap();
    assert_eq!(
        (
            row.paid.minor(),
            row.owed.minor(),
            row.sent.minor(),
            row.received.minor()
        ),
        (6000, 2500, 0, 0)
    );
    assert_eq!(row.display_name.as_deref(), Some("a"));
    f.check_totals(&a, g).await;

    // Stability: pay each planned transfer; each time the plan shrinks by exactly one.
    let mut remaining = plan.transfers.len();
    while remaining > 0 {
        let t = l.settlement_plan(a.id, g).await.unwrap().transfers[0].clone();
        let repay = NewSettlement {
            currency: Some(t.currency.code().into()),
            ..NewSettlement::new(t.from, t.to, t.amount.to_string())
        };
        l.create_settlement(t.from, g, repay, None).await.unwrap();
        let next = l.settlement_plan(a.id, g).await.unwrap();
        assert_eq!(next.transfers.len(), remaining - 1);
        remaining -= 1;
    }
    assert!(f.nets(&a, g, "EUR").await.values().all(|n| *n == 0));
    assert!(l.debts(a.id, g).await.unwrap().is_empty());

    // Currencies are never mixed: a JPY expense gets its own block and its own transfers.
    let mut yen = expense_input(
        "1000",
        c.id,
        SplitInput::Equal {
            members: Some(vec![a.id, b.id, c.id]),
        },
    );
    yen.currency = Some("JPY".into());
    l.create_expense(c.id, g, yen, None).await.unwrap();
    let view = l.balances(a.id, g).await.unwrap();
    assert_eq!(
        view.balances
            .iter()
            .map(|b| b.currency.code())
            .collect::<Vec<_>>(),
        vec!["EUR", "JPY"]
    );
    let plan = l.settlement_plan(a.id, g).await.unwrap();
    assert_eq!(plan.transfers.len(), 2);
    assert!(
        plan.transfers
            .iter()
            .all(|t| t.currency.code() == "JPY" && t.to == c.id)
    );
    let debts = l.debts(a.id, g).await.unwrap();
    assert_eq!(debts.len(), 2);
    f.check_totals(&a, g).await;
}

/// The running totals equal a full recomputation after a long mixed history of creates,
/// edits, deletes, income, settlements and conversions in several currencies.
pub async fn running_totals<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let users = [
        f.user("u0").await,
        f.user("u1").await,
        f.user("u2").await,
        f.user("u3").await,
    ];
    let refs: Vec<&User> = users.iter().skip(1).collect();
    let g = f.group(&users[0], &refs).await;
    let l = &f.ledger;
    let currencies = ["EUR", "JPY", "KWD"];
    let mut live: Vec<Expense> = Vec::new();
    let mut conversions = 0;
    // A small deterministic generator keeps the history varied and reproducible.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..60 {
        let actor = &users[next(4) as usize];
        let currency = currencies[next(3) as usize];
        let amount = Currency::parse(currency)
            .unwrap()
            .format(1 + next(100_000) as i64);
        match next(5) {
            0 | 1 => {
                let split = match next(3) {
                    0 => SplitInput::Equal { members: None },
                    1 => SplitInput::Shares {
                        shares: users
                            .iter()
                            .map(|u| WeightShare {
                                user_id: u.id,
                                weight: (1 + next(3)).to_string(),
                            })
                            .collect(),
                    },
                    _ => SplitInput::Percent {
                        shares: vec![
                            PercentShare {
                                user_id: users[0].id,
                                percent: "33.33".into(),
                            },
                            PercentShare {
                                user_id: users[1].id,
                                percent: "66.67".into(),
                            },
                        ],
                    },
                };
                let mut input = expense_input(&amount, users[next(4) as usize].id, split);
                input.currency = Some(currency.into());
                // Some foreign expenses are booked in the group's euros at a rate.
                if currency != "EUR" && next(3) == 0 {
                    input.exchange_rate = Some(["0.0061", "3.2467"][next(2) as usize].into());
                }
                if next(3) == 0 {
                    input.kind = Some(ExpenseKind::Income);
                }
                live.push(l.create_expense(actor.id, g, input, None).await.unwrap());
            }
            2 if !live.is_empty() => {
                let i = next(live.len() as u64) as usize;
                let e = &live[i];
                let entered = (e.original.as_ref()).map_or(e.currency(), |o| o.amount.currency());
                // Sometimes an expense becomes income or back.
                let kind = match next(4) {
                    0 => Some(ExpenseKind::Income),
                    1 => Some(ExpenseKind::Expense),
                    _ => None,
                };
                let patch = ExpensePatch {
                    version: e.version,
                    kind,
                    // In the currency it was entered in (booked ones keep their original).
                    amount: Some(entered.format(1 + next(50_000) as i64)),
                    split: Some(SplitInput::Equal {
                        members: Some(vec![users[2].id, users[3].id]),
                    }),
                    ..ExpensePatch::default()
                };
                live[i] = l.update_expense(users[0].id, g, e.id, patch).await.unwrap();
            }
            3 if !live.is_empty() => {
                let i = next(live.len() as u64) as usize;
                l.delete_expense(users[0].id, g, live[i].id).await.unwrap();
                live.remove(i);
            }
            // Now and then every balance in one currency is converted into another.
            4 if next(3) == 0 => {
                let to = currencies[next(3) as usize];
                let conversion = NewConversion {
                    from_currency: currency.into(),
                    to_currency: to.into(),
                    exchange_rate: ["0.0061", "1.0837", "163.2"][next(3) as usize].into(),
                    occurred_on: None,
                    note: None,
                };
                match l.create_conversion(users[0].id, g, conversion, None).await {
                    Ok(c) => {
                        let sum: i64 = c.rows.iter().map(|r| r.to_amount.get()).sum();
                        assert_eq!(sum, 0, "{c:?}");
                        conversions += 1;
                    }
                    // Same currency, or nothing (left) to convert in it.
                    Err(crate::ledger::Error::Validation(v)) => assert!(
                        (v.0.iter())
                            .all(|f| ["same_currency", "nothing_to_convert"].contains(&f.code)),
                        "{v:?}"
                    ),
                    Err(e) => panic!("{e:?}"),
                }
            }
            _ => {
                let from = next(4) as usize;
                let to = (from + 1 + next(3) as usize) % 4;
                let mut input = settlement_input(&users[from], &users[to], &amount);
                input.currency = Some(currency.into());
                l.create_settlement(actor.id, g, input, None).await.unwrap();
            }
        }
        if step % 20 == 19 {
            f.check_totals(&users[0], g).await;
        }
    }
    f.check_totals(&users[0], g).await;
    assert!(conversions > 0, "the history converts some balances");
    let plan = l.settlement_plan(users[1].id, g).await.unwrap();
    assert!(plan.optimal);
    // The plan settles every currency exactly.
    let mut left: BTreeMap<(Currency, UserId), i64> = BTreeMap::new();
    for block in &l.balances(users[0].id, g).await.unwrap().balances {
        for m in &block.members {
            left.insert((block.currency, m.user_id), m.net.minor());
        }
    }
    for t in &plan.transfers {
        *left.entry((t.currency, t.from)).or_default() += t.amount.minor();
        *left.entry((t.currency, t.to)).or_default() -= t.amount.minor();
    }
    assert!(left.values().all(|n| *n == 0), "{plan:?}");
}

/// Keyset pagination walks a long history once, in order, with no duplicates.
pub async fn pagination<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let g = f.group(&ann, &[]).await;
    let l = &f.ledger;
    let day = Date::from_calendar_date(2026, Month::March, 1).unwrap();
    for i in 0..120_i64 {
        let mut input = expense_input("1.00", ann.id, SplitInput::Equal { members: None });
        // Many share a date, so the order must fall back to creation time and id.
        input.occurred_on = Some(day + time::Duration::days(i % 7));
        input.description = format!("#{i}");
        l.create_expense(ann.id, g, input, None).await.unwrap();
        if i % 3 == 0 {
            f.clock.advance(Duration::from_millis(1));
        }
    }
    let mut seen: Vec<Expense> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = l
            .list_expenses(
                ann.id,
                g,
                ListExpenses {
                    filter: ExpenseFilter::default(),
                    page: PageRequest {
                        limit: Some(25),
                        cursor,
                    },
                },
            )
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 120);
    let mut ids: Vec<ExpenseId> = seen.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120, "no duplicates");
    assert!(
        seen.windows(2)
            .all(|w| (w[0].details.occurred_on, w[0].created_at, w[0].id)
                > (w[1].details.occurred_on, w[1].created_at, w[1].id)),
        "newest first"
    );

    let mut acts = 0;
    let mut cursor = None;
    loop {
        let page = l
            .activity(
                ann.id,
                g,
                PageRequest {
                    limit: Some(50),
                    cursor,
                },
            )
            .await
            .unwrap();
        acts += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(acts, 121, "group creation and 120 expenses");
    assert_field(
        l.list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter: ExpenseFilter::default(),
                page: PageRequest {
                    limit: Some(201),
                    cursor: None,
                },
            },
        )
        .await,
        "limit",
        "out_of_range",
    );
}

/// Activity (before and after), summaries, exports and the caller's own balances.
pub async fn activity_summary_export<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let mut rent = expense_input("800.00", ann.id, SplitInput::Equal { members: None });
    rent.category = Some("rent".into());
    rent.occurred_on = Some(Date::from_calendar_date(2026, Month::April, 30).unwrap());
    let rent = l.create_expense(ann.id, g, rent, None).await.unwrap();
    let mut food = expense_input("30.00", bob.id, SplitInput::Equal { members: None });
    food.category = Some("food".into());
    food.description = "Pizza, \"large\"".into();
    food.occurred_on = Some(Date::from_calendar_date(2026, Month::May, 2).unwrap());
    let food = l.create_expense(bob.id, g, food, None).await.unwrap();
    l.update_expense(
        bob.id,
        g,
        food.id,
        ExpensePatch {
            version: 1,
            amount: Some("40.00".into()),
            ..ExpensePatch::default()
        },
    )
    .await
    .unwrap();
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "100.00"), None)
        .await
        .unwrap();

    let log = l
        .activity(ann.id, g, PageRequest::default())
        .await
        .unwrap()
        .items;
    let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "settlement.created",
            "expense.updated",
            "expense.created",
            "expense.created",
            "member.added",
            "group.created"
        ]
    );
    let edit = &log[1];
    assert_eq!(
        (edit.actor, edit.entity.as_str(), edit.entity_id),
        (bob.id, "expense", food.id.0)
    );
    assert_eq!(edit.details["before"]["amount"], json!("30.00"));
    assert_eq!(edit.details["after"]["amount"], json!("40.00"));

    let by = |by| SummaryRequest {
        by,
        from: None,
        to: None,
    };
    let cat = l.summary(bob.id, g, by(SummaryBy::Category)).await.unwrap();
    let lines: Vec<(Option<&str>, i128, i64)> = cat
        .items
        .iter()
        .map(|s| (s.key.as_deref(), s.amount.minor(), s.count))
        .collect();
    assert_eq!(
        lines,
        vec![(Some("food"), 4000, 1), (Some("rent"), 80000, 1)],
        "repayments are not spending"
    );
    let months = l.summary(bob.id, g, by(SummaryBy::Month)).await.unwrap();
    assert_eq!(
        months
            .items
            .iter()
            .map(|s| s.key.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["2026-04", "2026-05"]
    );
    let members = l.summary(bob.id, g, by(SummaryBy::Member)).await.unwrap();
    assert_eq!(
        members.items.iter().map(|s| s.amount.minor()).sum::<i128>(),
        84000
    );
    let may = l
        .summary(
            bob.id,
            g,
            SummaryRequest {
                by: SummaryBy::Category,
                from: Some(Date::from_calendar_date(2026, Month::May, 1).unwrap()),
                to: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(may.items.len(), 1);

    let export = l.export(bob.id, g).await.unwrap();
    assert_eq!(
        (
            export.members.len(),
            export.expenses.len(),
            export.settlements.len()
        ),
        (2, 2, 1)
    );
    let js = export.to_json();
    assert_eq!(js["expenses"][1]["id"], json!(rent.id));
    assert_eq!(js["expenses"][0]["amount"], json!("40.00"));
    let csv = export.to_csv().unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 + 2 + 2,
        "header, two rows per expense, two per settlement"
    );
    assert!(csv.contains("\"Pizza, \"\"large\"\"\""), "{csv}");

    let mine = l.my_balances(ann.id).await.unwrap();
    assert_eq!(mine.groups.len(), 1);
    assert_eq!(mine.groups[0].net.minor(), 40000 - 2000 - 10000);
    assert_eq!(mine.totals[0].owed_to_me.minor(), 28000);
    let bobs = l.my_balances(bob.id).await.unwrap();
    assert_eq!(bobs.totals[0].i_owe.minor(), 28000);
    f.check_totals(&ann, g).await;
}

/// Running totals are bounded (±10^18 minor units): the write that would take one past the
/// bound is refused with `amount_too_large` and writes nothing, a write that keeps every total
/// within it still passes, and every view answers with exact figures at the bound.
pub async fn total_bound<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    let kwd = Currency::parse("KWD").unwrap();
    let in_kwd = |amount: &str, payer: &User| NewExpense {
        currency: Some("KWD".into()),
        ..expense_input(amount, payer.id, SplitInput::Equal { members: None })
    };
    // The largest amount an expense may have: 10^12 KWD, 10^15 fils. Ann pays each one, so
    // her `paid` total reaches the bound exactly after TOTAL_LIMIT / 10^15 of them.
    let largest = "1000000000000.000";
    let writes = TOTAL_LIMIT / kwd.parse_amount(largest).unwrap();
    assert_eq!(writes, 1000);
    // The nets each write should leave, summed from what the writes return (no reads).
    let mut expected: BTreeMap<UserId, i128> = BTreeMap::new();
    for _ in 0..writes {
        let e = l
            .create_expense(ann.id, g, in_kwd(largest, &ann), None)
            .await
            .unwrap();
        for r in e.rows().unwrap() {
            *expected.entry(r.user_id).or_default() += i128::from(r.paid) - i128::from(r.owed);
        }
    }
    assert_eq!(expected.values().sum::<i128>(), 0);

    let view = l.balances(ann.id, g).await.unwrap();
    let debts = l.debts(ann.id, g).await.unwrap();
    let last_activity = l
        .activity(ann.id, g, PageRequest::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    // One more fils paid by Ann would take her `paid` past the bound, a full-size one too.
    for amount in [largest, "0.001"] {
        let refused = l
            .create_expense(ann.id, g, in_kwd(amount, &ann), None)
            .await;
        assert_status(&refused, 422);
        assert_field(refused, "amount", "amount_too_large");
    }
    assert_eq!(
        l.balances(ann.id, g).await.unwrap(),
        view,
        "totals unchanged"
    );
    assert_eq!(l.debts(ann.id, g).await.unwrap(), debts);
    assert_eq!(
        l.activity(ann.id, g, PageRequest::default())
            .await
            .unwrap()
            .items[0],
        last_activity,
        "no activity"
    );
    let export = l.export(ann.id, g).await.unwrap();
    assert_eq!(
        export.expenses.len(),
        usize::try_from(writes).unwrap(),
        "no expense written"
    );

    // The bound is per total: Bob's totals are far from it, so he still may pay.
    let small = l
        .create_expense(bob.id, g, in_kwd("0.003", &bob), None)
        .await
        .unwrap();
    for r in small.rows().unwrap() {
        *expected.entry(r.user_id).or_default() += i128::from(r.paid) - i128::from(r.owed);
    }

    // Every view answers, exactly.
    let view = l.balances(ann.id, g).await.unwrap();
    let block = view.balances.iter().find(|b| b.currency == kwd).unwrap();
    let nets: BTreeMap<UserId, i128> = block
        .members
        .iter()
        .map(|m| (m.user_id, i128::from(m.net.minor())))
        .collect();
    assert_eq!(nets, expected, "exact nets at the bound");
    let ann_row = block.members.iter().find(|m| m.user_id == ann.id).unwrap();
    assert_eq!(ann_row.paid.minor(), TOTAL_LIMIT);
    let plan = l.settlement_plan(bob.id, g).await.unwrap();
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 2, "two debtors pay one creditor");
    for t in &plan.transfers {
        assert_eq!((t.currency, t.to), (kwd, ann.id));
        assert_eq!(i128::from(t.amount.minor()), -expected[&t.from]);
    }
    let debts = l.debts(cid.id, g).await.unwrap();
    assert_eq!(
        debts
            .iter()
            .filter(|d| d.to == ann.id)
            .map(|d| i128::from(d.amount.minor()))
            .sum::<i128>(),
        expected[&ann.id]
    );
    let mine = l.my_balances(ann.id).await.unwrap();
    assert_eq!(
        i128::from(mine.groups[0].net.minor()),
        expected[&ann.id],
        "my_balances, per group"
    );
    assert_eq!(mine.totals[0].owed_to_me.minor(), expected[&ann.id]);
    let bobs = l.my_balances(bob.id).await.unwrap();
    assert_eq!(bobs.totals[0].i_owe.minor(), -expected[&bob.id]);
    let spent = i128::from(TOTAL_LIMIT) + i128::from(small.amount.minor());
    for by in [SummaryBy::Category, SummaryBy::Month, SummaryBy::Member] {
        let summary = l
            .summary(
                cid.id,
                g,
                SummaryRequest {
                    by,
                    from: None,
                    to: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            summary.items.iter().map(|s| s.amount.minor()).sum::<i128>(),
            spent,
            "summary by {by:?}"
        );
    }
    f.check_totals(&ann, g).await;
}

/// Conversions of balances: every net in one currency moved into another at a rate, zero-sum
/// in both; its debts follow; only owners and admins convert; refusals with stable codes; a
/// conversion computed from balances that changed before its commit is refused by the store
/// (the Ledger reads again); deleting one restores every balance exactly.
pub async fn conversions<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    let spend = |amount: &str, payer: &User, currency: &str| {
        let mut input = expense_input(amount, payer.id, SplitInput::Equal { members: None });
        input.currency = Some(currency.into());
        input
    };
    l.create_expense(ann.id, g, spend("100.00", &ann, "USD"), None)
        .await
        .unwrap();
    l.create_expense(bob.id, g, spend("10.00", &bob, "USD"), None)
        .await
        .unwrap();
    l.create_expense(cid.id, g, spend("30.00", &cid, "EUR"), None)
        .await
        .unwrap();
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "5.00"), None)
        .await
        .unwrap();
    let usd = f.nets(&ann, g, "USD").await;
    let eur = f.nets(&ann, g, "EUR").await;
    assert!(usd.values().any(|n| *n != 0));

    let convert = |by: &User, from: &str, to: &str, rate: &str| {
        l.create_conversion(
            by.id,
            g,
            NewConversion {
                from_currency: from.into(),
                to_currency: to.into(),
                exchange_rate: rate.into(),
                occurred_on: None,
                note: Some("end of the trip".into()),
            },
            None,
        )
    };
    assert_status(&convert(&bob, "USD", "EUR", "0.9").await, 403);
    assert_field(
        convert(&ann, "USD", "USD", "0.9").await,
        "to_currency",
        "same_currency",
    );
    assert_field(
        convert(&ann, "USD", "EUR", "0").await,
        "exchange_rate",
        "rate_not_positive",
    );
    assert_field(
        convert(&ann, "USD", "EUR", "1e3").await,
        "exchange_rate",
        "invalid_rate",
    );
    assert_field(
        convert(&ann, "GBP", "EUR", "1.1").await,
        "from_currency",
        "nothing_to_convert",
    );

    let c = convert(&ann, "USD", "EUR", "0.9137").await.unwrap();
    assert_eq!(c.rows.len(), 3);
    assert_eq!(c.rows.iter().map(|r| r.to_amount.get()).sum::<i64>(), 0);
    for r in &c.rows {
        assert_eq!(r.from_amount.get(), usd[&r.user_id]);
        // floor(net × rate) or one more.
        let exact = r.from_amount.get() * 9137;
        let floor = exact.div_euclid(10_000);
        assert!((floor..=floor + 1).contains(&r.to_amount.get()), "{c:?}");
    }
    let after_usd = f.nets(&ann, g, "USD").await;
    assert!(after_usd.values().all(|n| *n == 0), "{after_usd:?}");
    let after_eur = f.nets(&ann, g, "EUR").await;
    for r in &c.rows {
        assert_eq!(after_eur[&r.user_id], eur[&r.user_id] + r.to_amount.get());
    }
    assert_eq!(after_eur.values().sum::<i64>(), 0);
    let view = l.balances(ann.id, g).await.unwrap();
    let usd_block = (view.balances.iter())
        .find(|b| b.currency.code() == "USD")
        .unwrap();
    let anns = usd_block
        .members
        .iter()
        .find(|m| m.user_id == ann.id)
        .unwrap();
    assert_eq!(anns.converted.minor(), -usd[&ann.id]);
    let debts = l.debts(ann.id, g).await.unwrap();
    assert!(
        debts.iter().all(|d| d.currency.code() == "EUR"),
        "{debts:?}"
    );
    let plan = l.settlement_plan(ann.id, g).await.unwrap();
    assert!(plan.transfers.iter().all(|t| t.currency.code() == "EUR"));
    f.check_totals(&ann, g).await;
    assert_field(
        convert(&ann, "USD", "EUR", "0.9").await,
        "from_currency",
        "nothing_to_convert",
    );
    let page = l
        .list_conversions(bob.id, g, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![c.clone()]);

    // A conversion computed before another write moved the balances is refused by the store.
    l.create_expense(bob.id, g, spend("3.00", &bob, "USD"), None)
        .await
        .unwrap();
    let log = l.activity(ann.id, g, PageRequest::default()).await.unwrap();
    let stale = crate::storage::EntryWrite {
        entry: crate::entry::Entry::Conversion(crate::domain::Conversion {
            id: crate::domain::ConversionId::random(),
            rows: Vec::new(),
            ..c.clone()
        }),
        fingerprint: "stale".into(),
        activity: crate::domain::Activity {
            id: crate::domain::ActivityId::random(),
            ..log.items[0].clone()
        },
        idempotency: None,
    };
    assert_eq!(
        l.storage().insert_entry(&stale).await,
        Err(crate::storage::StorageError::Conflict("balances_changed"))
    );
    f.check_totals(&ann, g).await;

    // Deleting it restores the balances as they would be without it.
    assert_status(&l.delete_conversion(bob.id, g, c.id).await, 403);
    l.delete_conversion(ann.id, g, c.id).await.unwrap();
    let back = f.nets(&ann, g, "USD").await;
    // As before it, plus bob's later 3.00 USD split in three.
    assert_eq!(back[&ann.id], usd[&ann.id] - 100);
    assert_eq!(back[&bob.id], usd[&bob.id] + 200);
    assert_eq!(back[&cid.id], usd[&cid.id] - 100);
    assert_eq!(f.nets(&ann, g, "EUR").await, eur);
    f.check_totals(&ann, g).await;
    assert_status(&l.delete_conversion(ann.id, g, c.id).await, 404);
}
