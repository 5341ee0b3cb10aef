//! Concurrency: several tasks writing one group at once. The stores' transactions and locks
//! must keep every running total exact and every version honest.

use std::collections::BTreeMap;

use super::{Fixture, assert_code, expense_input};
use crate::domain::{ExpenseFilter, ExpenseId, UserId};
use crate::ledger::{Error, ExpensePatch, ListExpenses, PageRequest};
use crate::split::SplitInput;
use crate::{Ledger, Storage};

/// Concurrent writers: interleaved creates from several tasks keep the running totals exact,
/// and two tasks racing with one idempotency key create one expense.
pub async fn concurrent_writes<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let users = [f.user("w0").await, f.user("w1").await, f.user("w2").await];
    let g = f.group(&users[0], &[&users[1], &users[2]]).await;
    let mut tasks = Vec::new();
    for (t, user) in users.iter().enumerate() {
        let ledger = f.ledger.clone();
        let payer = user.id;
        tasks.push(tokio::spawn(async move {
            for i in 0..20_i64 {
                let amount = format!("{}.{:02}", 1 + (i * 7 + t as i64) % 90, (i * 13) % 100);
                let input = expense_input(&amount, payer, SplitInput::Equal { members: None });
                ledger.create_expense(payer, g, input, None).await.unwrap();
            }
        }));
    }
    let racer = |ledger: Ledger<S>, user: UserId| {
        tokio::spawn(async move {
            let input = expense_input("10.00", user, SplitInput::Equal { members: None });
            ledger
                .create_expense(user, g, input, Some("same-key"))
                .await
                .unwrap()
                .id
        })
    };
    let (a, b) = (
        racer(f.ledger.clone(), users[0].id),
        racer(f.ledger.clone(), users[0].id),
    );
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        a.await.unwrap(),
        b.await.unwrap(),
        "one expense for one key"
    );
    let all = f
        .ledger
        .list_expenses(
            users[0].id,
            g,
            ListExpenses {
                filter: ExpenseFilter::default(),
                page: PageRequest {
                    limit: Some(200),
                    cursor: None,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 61);
    f.check_totals(&users[0], g).await;
}

/// Several tasks edit one expense naming the same version: exactly one edit wins, every other
/// is told the version it named and the true current one, and the totals follow the winner.
pub async fn concurrent_stale_edits<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let users = [f.user("s0").await, f.user("s1").await, f.user("s2").await];
    let g = f.group(&users[0], &[&users[1], &users[2]]).await;
    let e = f.expense(&users[0], g, "10.00", &users[0], &[]).await;
    let mut tasks = Vec::new();
    for t in 0..6_i64 {
        let ledger = f.ledger.clone();
        let actor = users[0].id;
        tasks.push(tokio::spawn(async move {
            let patch = ExpensePatch {
                version: 1,
                amount: Some(format!("{}.00", 20 + t)),
                ..ExpensePatch::default()
            };
            (t, ledger.update_expense(actor, g, e.id, patch).await)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (t, Ok(edited)) => winners.push((t, edited)),
            (_, Err(Error::StaleVersion { expected, current })) => {
                assert_eq!((expected, current), (1, 2), "the true current version");
            }
            (_, Err(other)) => panic!("expected a stale version, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one edit per version");
    let (t, edited) = &winners[0];
    let stored = f.ledger.expense(users[0].id, g, e.id).await.unwrap();
    assert_eq!(&stored, edited);
    assert_eq!((stored.version, stored.amount.minor()), (2, (20 + t) * 100));
    f.check_totals(&users[0], g).await;
}

/// Edits and deletes of the same expenses from several tasks at once: no edit is lost (the
/// version counts every successful one), a deleted expense stays deleted, every write leaves
/// one activity entry, and the running totals equal a full recomputation.
pub async fn concurrent_edit_delete<S: Storage>(storage: S) {
    const EDITORS: usize = 3;
    const EDITS_EACH: u32 = 4;
    let f = Fixture::new(storage);
    let users = [f.user("c0").await, f.user("c1").await, f.user("c2").await];
    let g = f.group(&users[0], &[&users[1], &users[2]]).await;
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    // Expenses nobody touches, so the recomputation has more than the contested ones.
    for (i, payer) in users.iter().enumerate() {
        f.expense(&users[0], g, &format!("{}.17", 5 + i), payer, &[])
            .await;
    }
    let mut contested = Vec::new();
    for i in 0..6 {
        let payer = &users[i % 3];
        contested.push(f.expense(&users[0], g, "33.00", payer, &[]).await.id);
    }

    let mut editors = Vec::new();
    let mut deleters = Vec::new();
    for (n, &id) in contested.iter().enumerate() {
        for t in 0..EDITORS {
            let ledger = f.ledger.clone();
            let ids = ids.clone();
            editors.push(tokio::spawn(async move {
                let actor = ids[0];
                let mut done = 0_u32;
                // Each failed attempt means another task's write landed, so attempts are
                // bounded by the writes of all tasks together.
                for attempt in 0..200_usize {
                    if done == EDITS_EACH {
                        break;
                    }
                    let current = match ledger.expense(actor, g, id).await {
                        Ok(e) => e,
                        Err(e) if e.code() == "not_found" => break,
                        Err(e) => panic!("read failed: {e:?}"),
                    };
                    // Let the other tasks run between the read and the write.
                    tokio::task::yield_now().await;
                    let patch = ExpensePatch {
                        version: current.version,
                        amount: Some(format!("{}.{:02}", 10 + t + n, attempt % 100)),
                        paid_by: Some(ids[(t + attempt) % 3]),
                        split: Some(SplitInput::Equal {
                            members: Some(vec![ids[t], ids[(t + 1 + attempt % 2) % 3]]),
                        }),
                        ..ExpensePatch::default()
                    };
                    match ledger.update_expense(actor, g, id, patch).await {
                        Ok(_) => done += 1,
                        Err(Error::StaleVersion { expected, current }) => {
                            assert!(current > expected, "stale means newer: {current}");
                        }
                        Err(e) if e.code() == "not_found" => break,
                        Err(e) => panic!("edit failed: {e:?}"),
                    }
                }
                (id, done)
            }));
        }
        // Every other contested expense is also deleted while it is being edited.
        if n % 2 == 0 {
            let ledger = f.ledger.clone();
            let actor = users[0].id;
            deleters.push(tokio::spawn(async move {
                for _ in 0..n + 1 {
                    tokio::task::yield_now().await;
                }
                ledger.delete_expense(actor, g, id).await
            }));
        }
    }
    let mut edits: BTreeMap<ExpenseId, u32> = BTreeMap::new();
    for task in editors {
        let (id, done) = task.await.unwrap();
        *edits.entry(id).or_default() += done;
    }
    for task in deleters {
        task.await.unwrap().unwrap();
    }

    for (n, id) in contested.iter().enumerate() {
        let read = f.ledger.expense(users[0].id, g, *id).await;
        if n % 2 == 0 {
            assert_code(read, "not_found");
        } else {
            let e = read.unwrap();
            let expected = i64::from(edits[id]) + 1;
            assert_eq!(e.version, expected, "no lost edit");
        }
    }
    assert_eq!(f.expense_count(&users[0], g).await, 3 + 3);
    // Group creation, two members added, nine expenses created, every edit, three deletes.
    let writes = 1 + 2 + 9 + edits.values().sum::<u32>() as usize + 3;
    assert_eq!(
        f.activity_count(&users[0], g).await,
        writes,
        "one entry per write"
    );
    f.check_totals(&users[0], g).await;
}
