//! Checks shared by the PostgreSQL and SQLite test binaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use splitledger_core::Storage;
use splitledger_core::balance::{PairDelta, expense_deltas, expense_pair_deltas};
use splitledger_core::conformance::Fixture;
use splitledger_core::domain::{
    Activity, ActivityId, Expense, ExpenseFilter, ExpenseId, GroupId, MemberTotals, User, UserId,
};
use splitledger_core::split::Portion;
use splitledger_core::storage::{ExpenseWrite, IdempotencyClaim, Inserted, StorageError};

/// Everything a write to `group` could have touched.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    expenses: Vec<Expense>,
    totals: Vec<MemberTotals>,
    pairs: Vec<PairDelta<UserId>>,
    activity: Vec<Activity>,
}

pub async fn snapshot<S: Storage>(storage: &S, group: GroupId) -> Snapshot {
    Snapshot {
        expenses: storage
            .list_expenses(group, &ExpenseFilter::default(), None, 200)
            .await
            .unwrap(),
        totals: storage.member_totals(group).await.unwrap(),
        pairs: storage.pair_totals(group).await.unwrap(),
        activity: storage.list_activity(group, None, 200).await.unwrap(),
    }
}

/// A complete, valid write of a copy of `template` under a new id.
pub fn write_like(template: &Expense, key: Option<&str>) -> ExpenseWrite {
    let mut expense = template.clone();
    expense.id = ExpenseId::random();
    expense.version = 1;
    let rows = expense.rows();
    let mut activity_id = ActivityId::random();
    if activity_id.0 == expense.id.0 {
        activity_id = ActivityId::random();
    }
    ExpenseWrite {
        totals: expense_deltas(expense.currency, &rows),
        pairs: expense_pair_deltas(expense.currency, &rows),
        activity: Activity {
            id: activity_id,
            group_id: expense.group_id,
            actor: expense.created_by,
            action: "expense.created".into(),
            entity: "expense".into(),
            entity_id: expense.id.0,
            at: expense.created_at,
            details: serde_json::json!({"before": null, "after": expense.snapshot()}),
        },
        idempotency: key.map(|k| IdempotencyClaim {
            user_id: expense.created_by,
            key: k.into(),
            fingerprint: "fp".into(),
        }),
        expense,
    }
}

/// Writes that fail at each step of an expense insert leave no trace: not the expense, not
/// its participant rows, not a running total, not an activity entry, not the idempotency
/// key.
pub async fn failed_writes_leave_nothing<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let eve: User = f.user("eve").await;
    let g = f.group(&ann, &[&bob]).await;
    let template = f.expense(&ann, g, "30.00", &ann, &[]).await;
    let storage = f.ledger.storage();
    let before = snapshot(storage, g).await;

    // A participant who is not a member.
    let mut w = write_like(&template, Some("k"));
    w.expense.shares.push(Portion {
        user_id: eve.id,
        amount: 0,
    });
    w.expense.shares.sort_by_key(|p| p.user_id);
    assert_eq!(
        storage.insert_expense(&w).await,
        Err(StorageError::NotMember(eve.id))
    );
    assert_eq!(snapshot(storage, g).await, before);

    // A pair total that overflows: fails after the expense, its rows and the running
    // totals were written.
    let mut w = write_like(&template, Some("k"));
    let current = before
        .pairs
        .iter()
        .find(|p| (p.a, p.b) == (w.pairs[0].a, w.pairs[0].b))
        .expect("the template's pair")
        .amount;
    assert_ne!(current, 0);
    w.pairs[0].amount = if current > 0 { i64::MAX } else { i64::MIN };
    assert_eq!(
        storage.insert_expense(&w).await,
        Err(StorageError::Overflow)
    );
    assert_eq!(storage.expense(g, w.expense.id).await.unwrap(), None);
    assert_eq!(snapshot(storage, g).await, before);

    // A running total that overflows (Ann has paid 30.00 already).
    let mut w = write_like(&template, Some("k"));
    let ann_delta = w
        .totals
        .iter_mut()
        .find(|t| t.user_id == ann.id)
        .expect("Ann's delta");
    ann_delta.delta.paid = i64::MAX;
    assert_eq!(
        storage.insert_expense(&w).await,
        Err(StorageError::Overflow)
    );
    assert_eq!(snapshot(storage, g).await, before);

    // A participant row that violates a constraint (a negative payment).
    let mut w = write_like(&template, Some("k3"));
    w.expense.payers = vec![
        Portion {
            user_id: ann.id,
            amount: w.expense.amount + 5,
        },
        Portion {
            user_id: bob.id,
            amount: -5,
        },
    ];
    w.expense.payers.sort_by_key(|p| p.user_id);
    assert!(matches!(
        storage.insert_expense(&w).await,
        Err(StorageError::Internal(_))
    ));
    assert_eq!(snapshot(storage, g).await, before);

    // A late statement fails (an activity id already used): everything before it is
    // rolled back, the idempotency key included.
    let mut w = write_like(&template, Some("k3"));
    w.activity.id = before.activity[0].id;
    assert!(storage.insert_expense(&w).await.is_err());
    assert_eq!(storage.expense(g, w.expense.id).await.unwrap(), None);
    assert_eq!(snapshot(storage, g).await, before);
    let w = write_like(&template, Some("k3"));
    assert_eq!(storage.insert_expense(&w).await, Ok(Inserted::Created));

    // A group that does not exist, with or without an idempotency key.
    for key in [None, Some("k4")] {
        let mut w = write_like(&template, key);
        let elsewhere = GroupId::random();
        w.expense.group_id = elsewhere;
        w.activity.group_id = elsewhere;
        assert_eq!(
            storage.insert_expense(&w).await,
            Err(StorageError::NotFound)
        );
    }

    // Only whole, valid writes landed: the totals still match a full recomputation.
    f.check_totals(&ann, g).await;
    assert_eq!(snapshot(storage, g).await.expenses.len(), 2);
}
