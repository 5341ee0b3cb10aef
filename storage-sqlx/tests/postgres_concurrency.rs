//! PostgreSQL under concurrent writers: running totals stay exact, idempotency keys hold
//! under races, racing edits and deletes of one expense serialise on its row, a write that
//! fails halfway (or would take a total past its bound) leaves nothing behind, and the
//! distribution-key migration keeps existing data.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::domain::{ActivityId, ExpenseFilter, GroupId, UserId};
use splitledger_core::entry::Entry;
use splitledger_core::money::{Minor, Money};
use splitledger_core::split::{ExactShare, Portion, SplitInput};
use splitledger_core::storage::{EntryReplace, StorageError};
use splitledger_core::storage::{EntryStore, ReportStore};
use splitledger_storage_sqlx::{POSTGRES_MIGRATOR, Pg, PgStorage};
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

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn racing_replaces_and_deletes_serialise_on_the_row(pool: PgPool) {
    // Each round, 8 tasks race on one expense from the same version: 4 replace it, 4 delete
    // it (their guard refuses any other version). Exactly one wins; the others are refused
    // as stale (or find the expense gone after a delete won), and the totals always equal a
    // full recomputation.
    const TASKS: usize = 8;
    let f = Fixture::new(PgStorage::from_pool(pool));
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let g = f.group(&ann, &[&bob, &cat]).await;
    let storage = Arc::new(f.ledger.storage().clone());
    for round in 0..12 {
        let e = f.expense(&ann, g, "30.00", &ann, &[]).await;
        // Replaces first win some rounds, deletes others: who gets the lock first varies.
        for step in 0..3 {
            let Some(current) = storage.expense(g, e.id).await.unwrap() else {
                break;
            };
            let mut tasks = Vec::new();
            for t in 0..TASKS {
                let storage = storage.clone();
                let current = current.clone();
                let payer = [ann.id, bob.id, cat.id][(t + round + step) % 3];
                tasks.push(tokio::spawn(async move {
                    let expected = current.version;
                    if (t + round) % 2 == 0 {
                        let mut next = current.clone();
                        next.version = expected + 1;
                        let units = 1000 + (t * 100) as i64;
                        next.amount = Money::new(Minor::new(units), next.currency());
                        next.payers = vec![Portion {
                            user_id: payer,
                            amount: Minor::new(units),
                        }];
                        next.shares = vec![Portion {
                            user_id: payer,
                            amount: Minor::new(units),
                        }];
                        let activity = activity_for(&next.group_id, next.id.0, next.created_by);
                        storage
                            .replace_entry(&EntryReplace {
                                entry: Entry::Expense(next),
                                expected_version: expected,
                                activity,
                            })
                            .await
                            .map(|_| "replaced")
                    } else {
                        let key = Entry::Expense(current.clone()).key();
                        let activity =
                            activity_for(&current.group_id, current.id.0, current.created_by);
                        storage
                            .delete_entry(key, &move |old: &Entry| {
                                if old.version() == expected {
                                    Ok(activity.clone())
                                } else {
                                    Err(StorageError::StaleVersion {
                                        current: old.version(),
                                    })
                                }
                            })
                            .await
                            .map(|_| "deleted")
                    }
                }));
            }
            let mut won = Vec::new();
            let mut refused = Vec::new();
            for t in tasks {
                match t.await.unwrap() {
                    Ok(what) => won.push(what),
                    Err(err) => refused.push(err),
                }
            }
            assert_eq!(won.len(), 1, "one write per version: {won:?} / {refused:?}");
            // After a replace, the losers see its version; after a delete, nothing.
            for err in &refused {
                match (won[0], err) {
                    ("replaced", StorageError::StaleVersion { current: now }) => {
                        assert_eq!(*now, current.version + 1);
                    }
                    ("deleted", StorageError::NotFound) => {}
                    other => panic!("unexpected refusal {other:?}"),
                }
            }
            f.check_totals(&ann, g).await;
        }
    }
}

fn activity_for(
    group: &GroupId,
    entity: uuid::Uuid,
    actor: UserId,
) -> splitledger_core::domain::Activity {
    splitledger_core::domain::Activity {
        id: ActivityId::random(),
        group_id: *group,
        actor,
        action: "expense.changed".into(),
        entity: "expense".into(),
        entity_id: entity,
        at: time::OffsetDateTime::now_utc(),
        details: serde_json::json!({}),
    }
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn totals_past_the_bound_are_refused(pool: PgPool) {
    totals_bound_case!(Pg, PgStorage::from_pool(pool.clone()), pool);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn client_chosen_ids(pool: PgPool) {
    support::client_chosen_ids(PgStorage::from_pool(pool)).await;
}

#[sqlx::test(migrations = false)]
async fn migrating_keeps_existing_data(pool: PgPool) {
    POSTGRES_MIGRATOR
        .run_to(support::INIT, &pool)
        .await
        .unwrap();
    let seed = support::seed();
    seed_old_schema!(Pg, &pool, &seed);
    let store = PgStorage::from_pool(pool.clone());
    store.migrate().await.unwrap();
    // The down script restores the old schema with the data, and up again is clean.
    POSTGRES_MIGRATOR.undo(&pool, support::INIT).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM expense_participants")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    store.migrate().await.unwrap();
    support::seeded_data_survives(store, &seed).await;
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn summaries_past_64_bits_are_exact(pool: PgPool) {
    summaries_case!(Pg, PgStorage::from_pool(pool.clone()), pool);
}
