//! Entries: expenses and settlements written, read, edited and deleted; idempotency keys,
//! client-chosen ids, versions and the delete guard.

use std::collections::BTreeMap;

use serde_json::json;
use time::{Date, Month};

use super::{
    Fixture, assert_code, assert_field, assert_status, eur, expense_input, settlement_input,
};
use crate::Storage;
use crate::domain::{
    Expense, ExpenseFilter, ExpenseId, ExpenseKind, SettlementId, SummaryBy, UserId,
};
use crate::ledger::{Error, ExpensePatch, ListExpenses, NewExpense, PageRequest, SummaryRequest};
use crate::split::{
    self, ExactShare, PayerInput, Payment, PercentShare, SplitInput, SplitRequest, WeightShare,
};

/// Income: money received, with every sign of an expense reversed in balances, debts and the
/// plan; listed apart with `kind`, summarised apart, turned into an expense and back by an
/// edit, and undone exactly by deleting it.
pub async fn income<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    let dinner = f.expense(&ann, g, "90.00", &ann, &[]).await;
    let before = f.nets(&ann, g, "EUR").await;
    assert_eq!(before[&ann.id], 6000);

    // Bob got the 30.00 deposit back; it belongs to the three of them equally.
    let mut deposit = expense_input("30.00", bob.id, SplitInput::Equal { members: None });
    deposit.kind = Some(ExpenseKind::Income);
    deposit.category = Some("rent".into());
    let deposit = l.create_expense(bob.id, g, deposit, None).await.unwrap();
    assert_eq!(deposit.kind, ExpenseKind::Income);
    assert_eq!(l.expense(ann.id, g, deposit.id).await.unwrap(), deposit);
    let nets = f.nets(&ann, g, "EUR").await;
    assert_eq!(
        (nets[&ann.id], nets[&bob.id], nets[&cid.id]),
        (6000 + 1000, -3000 - 2000, -3000 + 1000),
        "bob holds 20.00 of the others' money"
    );
    assert_eq!(nets.values().sum::<i64>(), 0);
    let view = l.balances(ann.id, g).await.unwrap();
    let bobs = view.balances[0]
        .members
        .iter()
        .find(|m| m.user_id == bob.id)
        .unwrap();
    assert_eq!(
        (bobs.paid.minor(), bobs.owed.minor()),
        (-3000, 3000 - 1000),
        "receiving 30 lowers paid by 30, a 10.00 share lowers owed by 10"
    );
    let plan = l.settlement_plan(ann.id, g).await.unwrap();
    let mut settled = nets.clone();
    for t in &plan.transfers {
        *settled.get_mut(&t.from).unwrap() += t.amount.minor();
        *settled.get_mut(&t.to).unwrap() -= t.amount.minor();
    }
    assert!(settled.values().all(|n| *n == 0), "{plan:?}");
    f.check_totals(&ann, g).await;

    // Listed apart, and summarised apart (never netted with spending).
    let list = |kind| {
        l.list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter: ExpenseFilter {
                    kind,
                    ..ExpenseFilter::default()
                },
                page: PageRequest::default(),
            },
        )
    };
    let ids = |kind| async move {
        let page = list(kind).await.unwrap();
        page.items.iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(Some(ExpenseKind::Income)).await, vec![deposit.id]);
    assert_eq!(ids(Some(ExpenseKind::Expense)).await, vec![dinner.id]);
    assert_eq!(ids(None).await.len(), 2);
    let mut rent = expense_input("600.00", ann.id, SplitInput::Equal { members: None });
    rent.category = Some("rent".into());
    l.create_expense(ann.id, g, rent, None).await.unwrap();
    let request = SummaryRequest {
        by: SummaryBy::Category,
        from: None,
        to: None,
    };
    let summary = l.summary(ann.id, g, request).await.unwrap();
    let lines: Vec<(Option<&str>, ExpenseKind, i128, i64)> = (summary.items.iter())
        .map(|s| (s.key.as_deref(), s.kind, s.amount.minor(), s.count))
        .collect();
    assert_eq!(
        lines,
        vec![
            (None, ExpenseKind::Expense, 9000, 1),
            (Some("rent"), ExpenseKind::Expense, 60000, 1),
            (Some("rent"), ExpenseKind::Income, 3000, 1),
        ]
    );
    let by_member = SummaryRequest {
        by: SummaryBy::Member,
        from: None,
        to: None,
    };
    let shares = l.summary(ann.id, g, by_member).await.unwrap();
    let income: i128 = (shares.items.iter())
        .filter(|s| s.kind == ExpenseKind::Income)
        .map(|s| s.amount.minor())
        .sum();
    assert_eq!(income, 3000, "each member's share of the income, apart");

    // An edit turns it into an expense (bob paid 30.00 for everyone) and back.
    let patch = |version, kind| ExpensePatch {
        version,
        kind: Some(kind),
        ..ExpensePatch::default()
    };
    let spent = l
        .update_expense(bob.id, g, deposit.id, patch(1, ExpenseKind::Expense))
        .await
        .unwrap();
    assert_eq!((spent.kind, spent.version), (ExpenseKind::Expense, 2));
    let nets = f.nets(&ann, g, "EUR").await;
    assert_eq!(nets[&bob.id], -3000 - 20000 + 3000 - 1000);
    f.check_totals(&ann, g).await;
    l.update_expense(bob.id, g, deposit.id, patch(2, ExpenseKind::Income))
        .await
        .unwrap();
    f.check_totals(&ann, g).await;

    // Deleting it restores the balances exactly.
    let with_rent = f.nets(&ann, g, "EUR").await;
    l.delete_expense(bob.id, g, deposit.id).await.unwrap();
    let after = f.nets(&ann, g, "EUR").await;
    assert_eq!(after[&bob.id], with_rent[&bob.id] + 2000);
    assert_eq!(after[&ann.id], with_rent[&ann.id] - 1000);
    f.check_totals(&ann, g).await;
}

/// Expenses paid in another currency and booked in the group's at a rate: allocated in the
/// paid currency, converted exactly (rows add up to the converted total), what was entered
/// kept as `original` through every read, re-booked by edits, and refused with stable codes
/// when the rate is meaningless.
pub async fn booked_across_currencies<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    let usd = |amount: &str, rate: &str| {
        let mut input = expense_input(amount, ann.id, SplitInput::Equal { members: None });
        input.currency = Some("USD".into());
        input.exchange_rate = Some(rate.into());
        input
    };

    // 10.00 USD split in three (3.34, 3.33, 3.33), booked at 0.92: 9.20 EUR, each row
    // converted and the leftover cent placed by the largest remainder rule.
    let taxi = l
        .create_expense(ann.id, g, usd("10.00", "0.92"), None)
        .await
        .unwrap();
    assert_eq!((taxi.amount.minor(), taxi.currency()), (920, eur()));
    let original = taxi.original.as_deref().unwrap();
    assert_eq!(original.amount.to_string(), "10.00");
    assert_eq!(original.amount.currency().code(), "USD");
    assert_eq!(original.exchange_rate.to_string(), "0.92");
    let units = |list: &[crate::split::Portion<UserId>]| -> Vec<i64> {
        list.iter().map(|p| p.amount.get()).collect()
    };
    let mut entered = units(&original.shares);
    entered.sort_unstable();
    assert_eq!(entered, vec![333, 333, 334]);
    assert_eq!(units(&original.payers), vec![1000]);
    assert_eq!(units(&taxi.payers), vec![920]);
    assert_eq!(units(&taxi.shares).iter().sum::<i64>(), 920);
    for (booked, paid) in taxi.shares.iter().zip(&original.shares) {
        // Each row within one cent of its exact conversion.
        let exact = paid.amount.get() * 92;
        assert!((booked.amount.get() * 100 - exact).abs() < 100, "{taxi:?}");
    }
    assert_eq!(
        l.expense(bob.id, g, taxi.id).await.unwrap(),
        taxi,
        "kept as written"
    );
    let view = l.balances(ann.id, g).await.unwrap();
    assert_eq!(
        view.balances.len(),
        1,
        "balances only in the group's currency"
    );
    f.check_totals(&ann, g).await;

    // An edit of the amount is of what was entered, and books it again at the same rate.
    let patch = ExpensePatch {
        version: 1,
        amount: Some("20.00".into()),
        ..ExpensePatch::default()
    };
    let taxi = l.update_expense(ann.id, g, taxi.id, patch).await.unwrap();
    assert_eq!(taxi.amount.minor(), 1840);
    assert_eq!(
        taxi.original.as_deref().unwrap().amount.to_string(),
        "20.00"
    );
    // Without its rate it is booked in its own currency again.
    let patch = ExpensePatch {
        version: 2,
        exchange_rate: Some(None),
        ..ExpensePatch::default()
    };
    let plain = l.update_expense(ann.id, g, taxi.id, patch).await.unwrap();
    assert_eq!(
        (plain.amount.to_string(), plain.currency().code()),
        ("20.00".into(), "USD")
    );
    assert!(plain.original.is_none());
    f.check_totals(&ann, g).await;

    // JPY has no decimals: 1,000 JPY at 0.0061 books 6.10 EUR.
    let mut yen = usd("1000", "0.0061");
    yen.currency = Some("JPY".into());
    let yen = l.create_expense(ann.id, g, yen, None).await.unwrap();
    assert_eq!(yen.amount.minor(), 610);
    f.check_totals(&ann, g).await;

    // Meaningless rates are refused and write nothing.
    let count = f.nets(&ann, g, "EUR").await;
    let mut same = usd("10.00", "1.5");
    same.currency = Some("EUR".into());
    assert_field(
        l.create_expense(ann.id, g, same, None).await,
        "exchange_rate",
        "exchange_rate_same_currency",
    );
    let mut none = usd("10.00", "1.5");
    none.currency = None;
    assert_field(
        l.create_expense(ann.id, g, none, None).await,
        "exchange_rate",
        "exchange_rate_same_currency",
    );
    for (rate, code) in [
        ("0", "rate_not_positive"),
        ("-1", "rate_not_positive"),
        ("1e3", "invalid_rate"),
        ("1.0000000000001", "rate_too_precise"),
        ("0.0000001", "amount_not_positive"),
    ] {
        let refused = l.create_expense(ann.id, g, usd("10.00", rate), None).await;
        assert_field(refused, "exchange_rate", code);
    }
    assert_eq!(f.nets(&ann, g, "EUR").await, count);
}

/// Expenses: every split kind, several payers, reads, filters, edits with versions, deletes,
/// and refusals that write nothing.
pub async fn expenses<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;

    let equal = f.expense(&ann, g, "100.00", &ann, &[]).await;
    let mut owed: Vec<i64> = equal.shares.iter().map(|s| s.amount.get()).collect();
    owed.sort_unstable();
    assert_eq!(owed, vec![3333, 3333, 3334]);
    assert_eq!(
        equal.split,
        SplitInput::Equal {
            members: Some(vec![ann.id, bob.id, cid.id])
        },
        "everyone made explicit"
    );
    assert_eq!((equal.version, equal.paid_by()), (1, Some(ann.id)));

    let mut input = expense_input(
        "90.00",
        bob.id,
        SplitInput::Shares {
            shares: vec![
                WeightShare {
                    user_id: ann.id,
                    weight: "2".into(),
                },
                WeightShare {
                    user_id: bob.id,
                    weight: "1".into(),
                },
            ],
        },
    );
    input.category = Some("food".into());
    input.occurred_on = Some(Date::from_calendar_date(2026, Month::May, 3).unwrap());
    input.metadata = Some(json!({"receipt": "r-1"}));
    input.notes = Some("line one\nline two".into());
    let weighted = l.create_expense(bob.id, g, input, None).await.unwrap();
    assert_eq!(
        weighted
            .shares
            .iter()
            .map(|s| (s.user_id, s.amount.get()))
            .collect::<BTreeMap<_, _>>(),
        BTreeMap::from([(ann.id, 6000), (bob.id, 3000)])
    );

    let mut several = expense_input(
        "50.00",
        ann.id,
        SplitInput::Percent {
            shares: vec![
                PercentShare {
                    user_id: ann.id,
                    percent: "50".into(),
                },
                PercentShare {
                    user_id: cid.id,
                    percent: "50".into(),
                },
            ],
        },
    );
    several.paid_by = None;
    several.payers = Some(vec![
        PayerInput {
            user_id: ann.id,
            amount: "20.00".into(),
        },
        PayerInput {
            user_id: cid.id,
            amount: "30.00".into(),
        },
    ]);
    several.currency = Some("USD".into());
    let multi = l.create_expense(cid.id, g, several, None).await.unwrap();
    assert_eq!((multi.currency().code(), multi.paid_by()), ("USD", None));
    assert_eq!(
        multi.payers.iter().map(|p| p.amount.get()).sum::<i64>(),
        5000
    );

    let exact = SplitInput::Exact {
        shares: vec![
            ExactShare {
                user_id: bob.id,
                amount: "7.50".into(),
            },
            ExactShare {
                user_id: cid.id,
                amount: "2.50".into(),
            },
        ],
    };
    let exact = l
        .create_expense(ann.id, g, expense_input("10.00", ann.id, exact), None)
        .await
        .unwrap();
    assert_eq!(
        l.expense(bob.id, g, exact.id).await.unwrap(),
        exact,
        "reads back exactly as written"
    );
    assert_eq!(l.expense(bob.id, g, weighted.id).await.unwrap(), weighted);
    assert_eq!(l.expense(bob.id, g, multi.id).await.unwrap(), multi);

    // Refusals write nothing.
    let activity_before = l
        .activity(
            ann.id,
            g,
            PageRequest {
                limit: Some(200),
                cursor: None,
            },
        )
        .await
        .unwrap()
        .items
        .len();
    let nets_before = f.nets(&ann, g, "EUR").await;
    let refused: Vec<(NewExpense, &str, &str)> = vec![
        (
            expense_input("1.005", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_too_precise",
        ),
        (
            expense_input("0", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_not_positive",
        ),
        (
            expense_input("-5", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_not_positive",
        ),
        (
            expense_input("5", UserId::random(), SplitInput::Equal { members: None }),
            "paid_by",
            "not_a_member",
        ),
        (
            NewExpense {
                description: " ".into(),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "description",
            "required",
        ),
        (
            NewExpense {
                currency: Some("XXX".into()),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "currency",
            "unknown_currency",
        ),
        (
            NewExpense {
                metadata: Some(json!([1])),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "metadata",
            "metadata_not_object",
        ),
        (
            NewExpense {
                metadata: Some(json!({"x": "y".repeat(17000)})),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "metadata",
            "metadata_too_large",
        ),
        (
            NewExpense {
                payers: Some(vec![]),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "payers",
            "payer_conflict",
        ),
        (
            NewExpense {
                paid_by: None,
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "paid_by",
            "required",
        ),
        (
            expense_input(
                "10.00",
                ann.id,
                SplitInput::Exact {
                    shares: vec![ExactShare {
                        user_id: ann.id,
                        amount: "3.33".into(),
                    }],
                },
            ),
            "split.shares",
            "sum_mismatch",
        ),
    ];
    for (input, field, code) in refused {
        assert_field(l.create_expense(ann.id, g, input, None).await, field, code);
    }
    assert_field(
        l.create_expense(
            ann.id,
            g,
            expense_input("5", ann.id, SplitInput::Equal { members: None }),
            Some(""),
        )
        .await,
        "idempotency_key",
        "invalid_idempotency_key",
    );
    assert_eq!(
        l.activity(
            ann.id,
            g,
            PageRequest {
                limit: Some(200),
                cursor: None
            }
        )
        .await
        .unwrap()
        .items
        .len(),
        activity_before
    );
    assert_eq!(f.nets(&ann, g, "EUR").await, nets_before);
    assert_eq!(
        l.list_expenses(ann.id, g, ListExpenses::default())
            .await
            .unwrap()
            .items
            .len(),
        4
    );

    // Filters.
    let list = |filter: ExpenseFilter| {
        l.list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter,
                page: PageRequest::default(),
            },
        )
    };
    let ids = |page: crate::ledger::Page<Expense>| {
        page.items.iter().map(|e| e.id).collect::<Vec<ExpenseId>>()
    };
    assert_eq!(
        ids(list(ExpenseFilter {
            paid_by: Some(bob.id),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    assert_eq!(
        ids(list(ExpenseFilter {
            paid_by: Some(cid.id),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![multi.id]
    );
    assert_eq!(
        ids(list(ExpenseFilter {
            category: Some("food".into()),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    let may = Date::from_calendar_date(2026, Month::May, 3).unwrap();
    assert_eq!(
        ids(list(ExpenseFilter {
            from: Some(may),
            to: Some(may),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    assert_eq!(
        list(ExpenseFilter {
            from: may.next_day(),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()
        .items
        .len(),
        3
    );
    assert_field(
        list(ExpenseFilter {
            from: may.next_day(),
            to: Some(may),
            ..ExpenseFilter::default()
        })
        .await,
        "from",
        "invalid_range",
    );
    let all = ids(list(ExpenseFilter::default()).await.unwrap());
    assert_eq!(all.last(), Some(&weighted.id), "the oldest date comes last");

    // Edits name the version they read.
    let patch = ExpensePatch {
        version: 1,
        amount: Some("60.00".into()),
        description: Some("Dinner for three".into()),
        ..ExpensePatch::default()
    };
    let edited = l
        .update_expense(ann.id, g, equal.id, patch.clone())
        .await
        .unwrap();
    assert_eq!(
        (
            edited.version,
            edited.amount.minor(),
            edited.details.description.as_str()
        ),
        (2, 6000, "Dinner for three")
    );
    assert_eq!(
        edited
            .shares
            .iter()
            .map(|s| s.amount.get())
            .collect::<Vec<_>>(),
        vec![2000, 2000, 2000]
    );
    match l.update_expense(ann.id, g, equal.id, patch).await {
        Err(Error::StaleVersion { expected, current }) => assert_eq!((expected, current), (1, 2)),
        other => panic!("expected a stale version, got {other:?}"),
    }
    // Any payer may edit; others (not creator, not payer, not admin) may not.
    let by_payer = ExpensePatch {
        version: 1,
        split: Some(SplitInput::Equal {
            members: Some(vec![ann.id, bob.id, cid.id]),
        }),
        paid_by: Some(cid.id),
        ..ExpensePatch::default()
    };
    assert_code(
        l.update_expense(cid.id, g, weighted.id, by_payer.clone())
            .await,
        "forbidden",
    );
    let moved = l
        .update_expense(bob.id, g, weighted.id, by_payer)
        .await
        .unwrap();
    assert_eq!(moved.paid_by(), Some(cid.id));
    assert_eq!(
        moved.details.metadata,
        Some(json!({"receipt": "r-1"})),
        "untouched fields stay"
    );
    let bad = ExpensePatch {
        version: 2,
        amount: Some("1.001".into()),
        ..ExpensePatch::default()
    };
    assert_field(
        l.update_expense(cid.id, g, weighted.id, bad).await,
        "amount",
        "amount_too_precise",
    );
    let cleared = ExpensePatch {
        version: 2,
        category: Some(None),
        metadata: Some(None),
        ..ExpensePatch::default()
    };
    let cleared = l
        .update_expense(cid.id, g, weighted.id, cleared)
        .await
        .unwrap();
    assert_eq!(
        (
            cleared.details.category.clone(),
            cleared.details.metadata.clone(),
            cleared.shares.clone()
        ),
        (None, None, moved.shares.clone())
    );

    assert_code(l.delete_expense(bob.id, g, multi.id).await, "forbidden");
    l.delete_expense(cid.id, g, multi.id).await.unwrap();
    assert_code(l.expense(ann.id, g, multi.id).await, "not_found");
    assert_code(l.delete_expense(cid.id, g, multi.id).await, "not_found");
    f.check_totals(&ann, g).await;
}

/// Idempotency keys: a replay returns the first result; another body is refused.
pub async fn idempotency<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let input = expense_input("12.00", ann.id, SplitInput::Equal { members: None });
    let first = l
        .create_expense(ann.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    let again = l
        .create_expense(ann.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_code(
        l.create_expense(
            ann.id,
            g,
            expense_input("13.00", ann.id, SplitInput::Equal { members: None }),
            Some("key-1"),
        )
        .await,
        "idempotency_key_reused",
    );
    // Keys belong to their sender: Bob's "key-1" is his own.
    let bobs = l
        .create_expense(bob.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    assert_ne!(bobs.id, first.id);
    assert_eq!(
        l.list_expenses(ann.id, g, ListExpenses::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let repay = settlement_input(&bob, &ann, "6.00");
    let s1 = l
        .create_settlement(bob.id, g, repay.clone(), Some("pay-1"))
        .await
        .unwrap();
    let s2 = l
        .create_settlement(bob.id, g, repay, Some("pay-1"))
        .await
        .unwrap();
    assert_eq!(s1, s2);
    assert_code(
        l.create_settlement(
            bob.id,
            g,
            settlement_input(&bob, &ann, "7.00"),
            Some("pay-1"),
        )
        .await,
        "idempotency_key_reused",
    );
    assert_eq!(
        l.list_settlements(ann.id, g, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    f.check_totals(&ann, g).await;
}

/// Settlements: recording, listing, deleting, and their refusals.
pub async fn settlements<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let outsider = f.user("out").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    f.expense(&ann, g, "30.00", &ann, &[]).await;
    let s = l
        .create_settlement(cid.id, g, settlement_input(&bob, &ann, "10.00"), None)
        .await
        .unwrap();
    assert_eq!(
        (s.amount.minor(), s.currency(), s.created_by),
        (1000, eur(), cid.id)
    );
    assert_eq!(f.nets(&ann, g, "EUR").await[&bob.id], 0);

    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &bob, "1.00"), None)
            .await,
        "to_user",
        "same_user",
    );
    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &outsider, "1.00"), None)
            .await,
        "to_user",
        "not_a_member",
    );
    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &ann, "0.001"), None)
            .await,
        "amount",
        "amount_too_precise",
    );
    let mut jpy = settlement_input(&bob, &ann, "500");
    jpy.currency = Some("JPY".into());
    let yen = l.create_settlement(bob.id, g, jpy, None).await.unwrap();
    assert_eq!((yen.amount.minor(), yen.currency().code()), (500, "JPY"));
    assert_eq!(
        l.list_settlements(ann.id, g, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // Only its creator, its payer or an admin may delete a settlement: deleting it raises the
    // payer's debt, so the recipient may not (unless they recorded it).
    let to_cid = l
        .create_settlement(bob.id, g, settlement_input(&bob, &cid, "2.00"), None)
        .await
        .unwrap();
    assert_code(l.delete_settlement(cid.id, g, to_cid.id).await, "forbidden");
    l.delete_settlement(bob.id, g, to_cid.id).await.unwrap();
    let by_cid = l
        .create_settlement(cid.id, g, settlement_input(&bob, &cid, "2.00"), None)
        .await
        .unwrap();
    l.delete_settlement(cid.id, g, by_cid.id).await.unwrap();
    let s2 = l
        .create_settlement(bob.id, g, settlement_input(&bob, &ann, "1.00"), None)
        .await
        .unwrap();
    assert_code(l.delete_settlement(cid.id, g, s2.id).await, "forbidden");
    l.delete_settlement(ann.id, g, s2.id).await.unwrap();
    assert_code(l.delete_settlement(ann.id, g, s2.id).await, "not_found");
    assert_code(
        l.delete_settlement(ann.id, g, SettlementId::random()).await,
        "not_found",
    );
    f.check_totals(&ann, g).await;
}

/// Client-chosen ids: the id seeds the allocation's tie-break, so the stored rows are the
/// ones the client computed beforehand; the same id and body replay the first result, another
/// body or another group is `id_taken`, and a replay after a delete finds nothing.
pub async fn client_chosen_ids<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    let members: Vec<UserId> = l
        .members(ann.id, g)
        .await
        .unwrap()
        .iter()
        .map(|m| m.user_id)
        .collect();
    let split = SplitInput::Equal { members: None };
    let with_id = |id: ExpenseId, amount: &str| NewExpense {
        id: Some(id),
        ..expense_input(amount, ann.id, split.clone())
    };

    // Several ids, so that the extra cent of a three-way split lands on different members
    // and a tie-break that ignored the id would show.
    let mut created = Vec::new();
    for amount in ["100.00", "0.10", "200.00", "0.01"] {
        let id = ExpenseId::random();
        let e = l
            .create_expense(ann.id, g, with_id(id, amount), None)
            .await
            .unwrap();
        assert_eq!(e.id, id, "the stored id is the client's");
        let seed = id.to_string();
        let expected = split::allocate(&SplitRequest {
            seed: &seed,
            amount,
            currency: eur(),
            payment: &Payment::Single(ann.id),
            split: &split,
            members: &members,
        })
        .unwrap();
        assert_eq!(
            (&e.payers, &e.shares),
            (&expected.payers, &expected.shares),
            "the rows the client computes from its id"
        );
        assert_eq!(l.expense(bob.id, g, id).await.unwrap(), e);
        created.push(e);
    }
    let first = created[0].clone();
    let input = with_id(first.id, "100.00");

    // The same id and body: the first result, and nothing written.
    let balances = l.balances(ann.id, g).await.unwrap();
    let activity = f.activity_count(&ann, g).await;
    assert_eq!(
        l.create_expense(ann.id, g, input.clone(), None)
            .await
            .unwrap(),
        first,
        "a replay returns the stored expense"
    );
    // Another body with the same id is refused.
    let other = NewExpense {
        amount: "99.00".into(),
        ..input.clone()
    };
    let refused = l.create_expense(ann.id, g, other, None).await;
    assert_status(&refused, 409);
    assert_code(refused, "id_taken");
    let described = NewExpense {
        description: "Lunch".into(),
        ..input.clone()
    };
    assert_code(
        l.create_expense(ann.id, g, described, None).await,
        "id_taken",
    );
    // So is the same id in another group, even with the same body.
    let g2 = f.group(&ann, &[&bob, &cid]).await;
    let elsewhere = l.create_expense(ann.id, g2, input.clone(), None).await;
    assert_status(&elsewhere, 409);
    assert_code(elsewhere, "id_taken");
    assert_eq!(
        f.expense_count(&ann, g2).await,
        0,
        "nothing written in the other group"
    );
    assert!(f.nets(&ann, g2, "EUR").await.values().all(|n| *n == 0));
    assert_eq!(
        f.expense_count(&ann, g).await,
        created.len(),
        "no second expense"
    );
    assert_eq!(
        l.balances(ann.id, g).await.unwrap(),
        balances,
        "totals unchanged"
    );
    assert_eq!(f.activity_count(&ann, g).await, activity);
    assert_eq!(l.expense(ann.id, g, first.id).await.unwrap(), first);

    // Once deleted, a replay does not bring it back.
    l.delete_expense(ann.id, g, first.id).await.unwrap();
    assert_code(
        l.create_expense(ann.id, g, input.clone(), None).await,
        "not_found",
    );
    assert_code(l.expense(ann.id, g, first.id).await, "not_found");
    assert_eq!(f.expense_count(&ann, g).await, created.len() - 1);
    f.check_totals(&ann, g).await;
    f.check_totals(&ann, g2).await;
}

/// The delete guard runs on the row the store locked: a plain member cannot delete another
/// member's expense, nor a repayment they are not party to, and the refusal changes nothing.
pub async fn refused_delete<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    // Bob created it, Ann paid it: Cid is neither, and a plain member.
    let e = f.expense(&bob, g, "30.00", &ann, &[]).await;
    let s = l
        .create_settlement(bob.id, g, settlement_input(&bob, &ann, "5.00"), None)
        .await
        .unwrap();
    let balances = l.balances(ann.id, g).await.unwrap();
    let activity = f.activity_count(&ann, g).await;

    let refused = l.delete_expense(cid.id, g, e.id).await;
    assert_status(&refused, 403);
    assert_code(refused, "forbidden");
    assert_code(l.delete_settlement(cid.id, g, s.id).await, "forbidden");

    assert_eq!(l.expense(cid.id, g, e.id).await.unwrap(), e, "still there");
    assert_eq!(
        l.list_settlements(cid.id, g, PageRequest::default())
            .await
            .unwrap()
            .items,
        vec![s.clone()]
    );
    assert_eq!(
        l.balances(ann.id, g).await.unwrap(),
        balances,
        "totals unchanged"
    );
    assert_eq!(f.activity_count(&ann, g).await, activity, "no activity");
    f.check_totals(&ann, g).await;

    // The guard lets through exactly whom the rule names: the payer, and the repayment's
    // payer.
    l.delete_expense(ann.id, g, e.id).await.unwrap();
    l.delete_settlement(bob.id, g, s.id).await.unwrap();
    assert!(f.nets(&ann, g, "EUR").await.values().all(|n| *n == 0));
    f.check_totals(&ann, g).await;
}

/// An edit names the version it read: a stale one is refused with the version it named and
/// the true current one, and writes nothing.
pub async fn stale_edit<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let e = f.expense(&ann, g, "40.00", &ann, &[]).await;
    let edit = |version: i64, amount: &str| ExpensePatch {
        version,
        amount: Some(amount.into()),
        ..ExpensePatch::default()
    };
    l.update_expense(ann.id, g, e.id, edit(1, "50.00"))
        .await
        .unwrap();
    let rename = ExpensePatch {
        version: 2,
        description: Some("Lunch".into()),
        ..ExpensePatch::default()
    };
    let current = l.update_expense(ann.id, g, e.id, rename).await.unwrap();
    assert_eq!(current.version, 3);

    let balances = l.balances(ann.id, g).await.unwrap();
    let activity = f.activity_count(&ann, g).await;
    for named in [1, 2, 4] {
        let stale = l
            .update_expense(ann.id, g, e.id, edit(named, "60.00"))
            .await;
        assert_status(&stale, 412);
        match stale {
            Err(Error::StaleVersion { expected, current }) => {
                assert_eq!((expected, current), (named, 3));
            }
            other => panic!("expected a stale version, got {other:?}"),
        }
    }
    assert_eq!(l.expense(ann.id, g, e.id).await.unwrap(), current);
    assert_eq!(
        l.balances(ann.id, g).await.unwrap(),
        balances,
        "totals unchanged"
    );
    assert_eq!(f.activity_count(&ann, g).await, activity, "no activity");

    let edited = l
        .update_expense(ann.id, g, e.id, edit(3, "60.00"))
        .await
        .unwrap();
    assert_eq!((edited.version, edited.amount.minor()), (4, 6000));
    f.check_totals(&ann, g).await;
}
