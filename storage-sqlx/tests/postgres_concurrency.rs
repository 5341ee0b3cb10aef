//! PostgreSQL under concurrent writers: running totals stay exact, idempotency keys hold
//! under races, and a write that fails halfway leaves nothing behind.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use splitledger_core::Storage;
use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::domain::ExpenseFilter;
use splitledger_core::split::{ExactShare, SplitInput};
use splitledger_storage_sqlx::PgStorage;
use sqlx::PgPool;

const WRITERS: usize = 8;
const PER_WRITER: usize = 250;

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn eight_writers_keep_running_totals_exact(pool: PgPool) {
    let f = Fixture::new(PgStorage::from_pool(pool));
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let dan = f.user("dan").await;
    let g = f.group(&ann, &[&bob, &cat, &dan]).await;
    let people = [ann.clone(), bob.clone(), cat.clone(), dan.clone()];

    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let ledger = f.ledger.clone();
        let people = people.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                let payer = &people[(w + i) % people.len()];
                let amount = format!("{}.{:02}", 1 + (w * 31 + i) % 97, (i * 7) % 100);
                let split = if i % 3 == 0 {
                    // Exact shares: the payer owes nothing, the next member everything.
                    let other = &people[(w + i + 1) % people.len()];
                    SplitInput::Exact {
                        shares: vec![ExactShare {
                            user_id: other.id,
                            amount: amount.clone(),
                        }],
                    }
                } else {
                    SplitInput::Equal { members: None }
                };
                ledger
                    .create_expense(payer.id, g, expense_input(&amount, payer.id, split), None)
                    .await
                    .expect("concurrent insert");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let storage = f.ledger.storage();
    let (expenses, _) = splitledger_core::conformance::history(storage, g).await;
    assert_eq!(expenses.len(), WRITERS * PER_WRITER);
    // Running totals and pair totals equal a full recomputation; nets add up to zero.
    f.check_totals(&ann, g).await;
    let nets = f.nets(&ann, g, "EUR").await;
    assert_eq!(nets.values().sum::<i64>(), 0);
    assert_eq!(nets.len(), 4);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn racing_idempotency_keys_create_one_expense(pool: PgPool) {
    let f = Fixture::new(PgStorage::from_pool(pool));
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    const KEYS: usize = 20;
    for k in 0..KEYS {
        let key = format!("race-{k}");
        let input = expense_input("10.00", ann.id, SplitInput::Equal { members: None });
        let (l1, l2) = (f.ledger.clone(), f.ledger.clone());
        let (i1, i2) = (input.clone(), input);
        let (k1, k2) = (key.clone(), key);
        let a = tokio::spawn(async move { l1.create_expense(ann.id, g, i1, Some(&k1)).await });
        let b = tokio::spawn(async move { l2.create_expense(ann.id, g, i2, Some(&k2)).await });
        let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
        assert_eq!(a, b, "both requests answer with the one expense");
    }
    let all = f
        .ledger
        .storage()
        .list_expenses(g, &ExpenseFilter::default(), None, 200)
        .await
        .unwrap();
    assert_eq!(all.len(), KEYS);
    f.check_totals(&ann, g).await;
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn failed_writes_leave_nothing(pool: PgPool) {
    support::failed_writes_leave_nothing(PgStorage::from_pool(pool)).await;
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn remove_member_racing_an_expense_is_consistent(pool: PgPool) {
    // Either the expense lands first (then Bob owes and cannot be removed) or the removal
    // does (then the expense is refused): never both.
    let f = Fixture::new(PgStorage::from_pool(pool));
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let (l1, l2) = (f.ledger.clone(), f.ledger.clone());
    let among = Some(vec![ann.id, bob.id]);
    let input = expense_input("10.00", ann.id, SplitInput::Equal { members: among });
    let add = tokio::spawn(async move { l1.create_expense(ann.id, g, input, None).await });
    let remove = tokio::spawn(async move { l2.remove_member(ann.id, g, bob.id).await });
    let (added, removed) = (add.await.unwrap(), remove.await.unwrap());
    assert!(
        added.is_ok() != removed.is_ok(),
        "exactly one wins: {added:?} / {removed:?}"
    );
    f.check_totals(&ann, g).await;
}

#[tokio::test]
async fn connect_migrate_and_ping() {
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must name a PostgreSQL server (scripts/test sets it)");
    let store = PgStorage::connect(&url).await.expect("connect");
    store.ping().await.unwrap();
    assert_eq!(format!("{store:?}"), "PgStorage");
    let bad = PgStorage::connect("postgres://nobody@127.0.0.1:1/none").await;
    assert!(matches!(
        bad,
        Err(splitledger_core::StorageError::Unavailable(_))
    ));
}
