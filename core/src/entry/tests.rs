use time::macros::{date, datetime};

use super::*;
use crate::balance::TotalsDelta;
use crate::domain::{Expense, ExpenseDetails, ExpenseId, ExpenseKind, SettlementId};
use crate::money::{Minor, Money};
use crate::split::{Portion, SplitInput};

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

fn user(n: u128) -> UserId {
    UserId(Uuid::from_u128(n))
}

fn portion(u: u128, amount: i64) -> Portion<UserId> {
    Portion {
        user_id: user(u),
        amount: Minor::new(amount),
    }
}

fn expense(payers: Vec<Portion<UserId>>, shares: Vec<Portion<UserId>>) -> Entry {
    let amount: i64 = payers.iter().map(|p| p.amount.get()).sum();
    let at = datetime!(2026-11-01 12:00 UTC);
    Entry::Expense(Expense {
        id: ExpenseId(Uuid::from_u128(99)),
        group_id: GroupId(Uuid::from_u128(7)),
        kind: ExpenseKind::Expense,
        original: None,
        amount: Money::from_minor(amount, eur()),
        payers,
        shares,
        split: SplitInput::Equal { members: None },
        details: ExpenseDetails {
            description: "dinner".into(),
            category: None,
            payment_method: None,
            occurred_on: date!(2026 - 11 - 01),
            notes: None,
            metadata: None,
        },
        created_by: user(1),
        created_at: at,
        updated_at: at,
        version: 1,
        recurring: None,
        attachments: Vec::new(),
    })
}

fn totals(paid: i64, owed: i64, sent: i64, received: i64) -> Totals {
    Totals {
        paid: Minor::new(paid),
        owed: Minor::new(owed),
        sent: Minor::new(sent),
        received: Minor::new(received),
        converted: Minor::ZERO,
    }
}

#[test]
fn an_edit_changes_only_what_moved() {
    let old = expense(
        vec![portion(1, 1000)],
        vec![portion(1, 500), portion(2, 500)],
    );
    let new = expense(
        vec![portion(1, 1000)],
        vec![portion(1, 400), portion(2, 600)],
    );
    let change = Effect::change(Some(&old), Some(&new)).expect("fits");
    assert_eq!(
        change.totals,
        vec![
            TotalsDelta {
                user_id: user(1),
                currency: eur(),
                delta: totals(0, -100, 0, 0),
            },
            TotalsDelta {
                user_id: user(2),
                currency: eur(),
                delta: totals(0, 100, 0, 0),
            },
        ]
    );
    assert_eq!(change.pairs.len(), 1);
    assert_eq!(
        change.pairs[0].amount, -100,
        "user 2 owes user 1 one euro more"
    );
    assert!(
        Effect::change(Some(&old), Some(&old))
            .expect("fits")
            .is_empty()
    );
}

#[test]
fn deleting_undoes_creating() {
    let e = expense(
        vec![portion(1, 700), portion(3, 300)],
        vec![portion(1, 250), portion(2, 250), portion(3, 500)],
    );
    let created = Effect::change(None, Some(&e)).expect("fits");
    let deleted = Effect::change(Some(&e), None).expect("fits");
    assert_eq!(created.negated().expect("fits"), deleted);
    let nets: i128 = created
        .totals
        .iter()
        .map(|t| i128::from(t.delta.net().expect("fits")))
        .sum();
    assert_eq!(nets, 0, "an entry's effect adds up to zero");
    assert_eq!(e.participants(), vec![user(1), user(2), user(3)]);
}

#[test]
fn a_settlement_moves_sent_received_and_the_pair() {
    let at = datetime!(2026-11-01 12:00 UTC);
    let s = Entry::Settlement(Settlement {
        id: SettlementId(Uuid::from_u128(5)),
        group_id: GroupId(Uuid::from_u128(7)),
        from_user: user(2),
        to_user: user(1),
        amount: Money::from_minor(500, eur()),
        occurred_on: date!(2026 - 11 - 02),
        note: None,
        created_by: user(2),
        created_at: at,
    });
    let effect = s.effect().expect("fits");
    assert_eq!(effect.totals[0].delta, totals(0, 0, 0, 500));
    assert_eq!(effect.totals[1].delta, totals(0, 0, 500, 0));
    // Pair (1, 2): user 1 owes user 2 five euros more.
    assert_eq!(effect.pairs[0].a, user(1));
    assert_eq!(effect.pairs[0].amount, 500);
    assert_eq!(s.version(), 1);
}

fn as_income(entry: &Entry) -> Entry {
    let Entry::Expense(e) = entry else {
        unreachable!("an expense")
    };
    Entry::Expense(Expense {
        kind: ExpenseKind::Income,
        ..e.clone()
    })
}

#[test]
fn income_reverses_every_sign_of_the_same_expense() {
    // User 1 received 30.00 (a deposit returned); it belongs to users 1 and 2 equally.
    let spent = expense(
        vec![portion(1, 3000)],
        vec![portion(1, 1500), portion(2, 1500)],
    );
    let received = as_income(&spent);
    let effect = received.effect().expect("fits");
    // Receiving 30 lowers paid by 30; each share lowers owed by 15.
    assert_eq!(effect.totals[0].delta, totals(-3000, -1500, 0, 0));
    assert_eq!(effect.totals[1].delta, totals(0, -1500, 0, 0));
    let nets: Vec<i64> = (effect.totals.iter())
        .map(|t| t.delta.net().expect("fits"))
        .collect();
    // User 1 holds 15.00 of user 2's money: user 1 now owes it.
    assert_eq!(nets, vec![-1500, 1500]);
    assert_eq!(effect.pairs.len(), 1);
    assert_eq!(
        (effect.pairs[0].a, effect.pairs[0].amount),
        (user(1), Minor::new(1500))
    );
    assert_eq!(
        effect,
        spent.effect().expect("fits").negated().expect("fits")
    );
}

#[test]
fn turning_an_expense_into_income_moves_twice_its_effect() {
    let spent = expense(
        vec![portion(1, 900)],
        vec![portion(2, 450), portion(3, 450)],
    );
    let received = as_income(&spent);
    assert!(!spent.same_rows(&received), "the money moves the other way");
    let change = Effect::change(Some(&spent), Some(&received)).expect("fits");
    let paid: Vec<i64> = change.totals.iter().map(|t| t.delta.paid.get()).collect();
    let owed: Vec<i64> = change.totals.iter().map(|t| t.delta.owed.get()).collect();
    assert_eq!(paid, vec![-1800, 0, 0]);
    assert_eq!(owed, vec![0, -900, -900]);
    let back = Effect::change(Some(&received), None).expect("fits");
    let undone = Effect::change(None, Some(&received))
        .expect("fits")
        .negated()
        .expect("fits");
    assert_eq!(back, undone);
}

#[test]
fn a_conversion_moves_nets_and_debts_into_the_other_currency() {
    use crate::balance::PairDelta;
    use crate::domain::{Conversion, ConversionId, ConversionRow};
    use crate::exchange::Rate;
    let usd = Currency::parse("USD").expect("USD");
    let at = datetime!(2026-11-01 12:00 UTC);
    let row = |u, from: i64, to: i64| ConversionRow {
        user_id: user(u),
        from_amount: Minor::new(from),
        to_amount: Minor::new(to),
    };
    // User 1 was owed 10.00 USD by user 2 and 5.00 by user 3.
    let debts = vec![
        PairDelta {
            currency: usd,
            a: user(1),
            b: user(2),
            amount: Minor::new(-1000),
        },
        PairDelta {
            currency: usd,
            a: user(1),
            b: user(3),
            amount: Minor::new(-500),
        },
    ];
    let c = Entry::Conversion(Conversion {
        id: ConversionId(Uuid::from_u128(9)),
        group_id: GroupId(Uuid::from_u128(7)),
        from_currency: usd,
        to_currency: eur(),
        exchange_rate: Rate::parse("0.9").expect("rate"),
        rows: vec![row(1, 1500, 1350), row(2, -1000, -900), row(3, -500, -450)],
        debts,
        occurred_on: date!(2026 - 11 - 02),
        note: None,
        created_by: user(1),
        created_at: at,
    });
    let effect = c.effect().expect("fits");
    let moved: Vec<(UserId, &str, i64)> = (effect.totals.iter())
        .map(|t| (t.user_id, t.currency.code(), t.delta.converted.get()))
        .collect();
    assert!(moved.contains(&(user(1), "USD", -1500)));
    assert!(moved.contains(&(user(1), "EUR", 1350)));
    assert!(moved.contains(&(user(3), "EUR", -450)));
    let sum = |code: &str| -> i64 {
        (effect.totals.iter())
            .filter(|t| t.currency.code() == code)
            .map(|t| t.delta.net().expect("fits"))
            .sum()
    };
    assert_eq!(
        (sum("USD"), sum("EUR")),
        (0, 0),
        "zero-sum in both currencies"
    );
    // The dollar debts are settled and owed again in euros, 9.00 and 4.50.
    let pairs: Vec<(&str, UserId, UserId, i64)> = (effect.pairs.iter())
        .map(|p| (p.currency.code(), p.a, p.b, p.amount.get()))
        .collect();
    assert!(pairs.contains(&("USD", user(1), user(2), 1000)));
    assert!(pairs.contains(&("USD", user(1), user(3), 500)));
    assert!(pairs.contains(&("EUR", user(1), user(2), -900)));
    assert!(pairs.contains(&("EUR", user(1), user(3), -450)));
    assert_eq!(c.participants(), vec![user(1), user(2), user(3)]);
    let undone = Effect::change(Some(&c), None).expect("fits");
    assert_eq!(undone, effect.negated().expect("fits"));
}
