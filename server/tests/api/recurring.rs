//! Recurring series over HTTP: the five routes, occurrences as ordinary expenses before any
//! read answers, refusals with the expense's codes, and the servers' timer catching up after
//! downtime on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use splitledger_core::domain::{ExpenseFilter, GroupId};
use splitledger_core::ledger::{Clock, NewSeries};
use splitledger_core::recurring::Every;
use splitledger_core::split::SplitInput;
use splitledger_core::{Ledger, Storage};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::helpers::{TestApp, s, sqlite_store};

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

fn series_body(payer: &str, every: &str, starts_on: Date) -> Value {
    json!({
        "expense": {
            "description": "Rent",
            "amount": "900.00",
            "paid_by": payer,
            "split": {"type": "equal"},
            "category": "housing",
        },
        "every": every,
        "starts_on": starts_on.to_string(),
    })
}

/// The group's expenses a series made, oldest first.
async fn made_by(app: &TestApp, token: &str, group: &str, series: &str) -> Vec<Value> {
    let page = app
        .get(&format!("/api/v1/groups/{group}/expenses?limit=200"))
        .token(token)
        .send()
        .await
        .expect(200);
    let mut made: Vec<Value> = (page["items"].as_array().cloned().unwrap_or_default())
        .into_iter()
        .filter(|e| e["recurring"]["series_id"] == series)
        .collect();
    made.reverse();
    made
}

/// Create, read, list, pause, resume, change and delete a weekly series that started two
/// weeks ago, checking its occurrences as ordinary expenses.
async fn story(app: &TestApp) {
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let start = today() - days(14);
    let created = app
        .post(&format!("/api/v1/groups/{g}/recurring"))
        .token(&bob.token)
        .json(series_body(&ann.id, "week", start))
        .send()
        .await
        .expect(201);
    let id = s(&created["id"]);
    assert_eq!(created["every"], "week");
    assert_eq!(created["interval"], 1);
    assert_eq!(created["paused"], false);
    assert_eq!(created["created_by"], bob.id.as_str());
    assert_eq!(created["group_id"], g.as_str());
    assert_eq!(created["expense"]["amount"], "900.00");
    assert_eq!(created["next_on"], (today() + days(7)).to_string());
    assert!(created["ends_on"].is_null() && created["count"].is_null());

    let made = made_by(app, &ann.token, &g, &id).await;
    let dates: Vec<String> = made.iter().map(|e| s(&e["occurred_on"])).collect();
    assert_eq!(
        dates,
        [start, start + days(7), today()].map(|d| d.to_string())
    );
    for e in &made {
        assert_eq!(e["recurring"]["occurrence_on"], e["occurred_on"]);
        assert_eq!(e["created_by"], bob.id.as_str());
        assert_eq!(e["category"], "housing");
    }
    // Three rents of 900.00 paid by Ann, shared with Bob: Bob owes 1350.00.
    let balances = app
        .get(&format!("/api/v1/groups/{g}/balances"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert!(balances.to_string().contains("1350.00"), "{balances}");

    let list = app
        .get(&format!("/api/v1/groups/{g}/recurring"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["id"], id.as_str());

    // Paused, then resumed today: nothing is made twice, nothing is backfilled.
    let path = format!("/api/v1/groups/{g}/recurring/{id}");
    let paused = app
        .patch(&path)
        .token(&bob.token)
        .json(json!({"paused": true, "count": 10}))
        .send()
        .await
        .expect(200);
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["count"], 10);
    let resumed = app
        .patch(&path)
        .token(&ann.token)
        .json(json!({"paused": false, "count": null, "ends_on": (today() + days(30)).to_string()}))
        .send()
        .await
        .expect(200);
    assert_eq!(resumed["paused"], false);
    assert!(resumed["count"].is_null());
    assert_eq!(resumed["next_on"], (today() + days(7)).to_string());
    assert_eq!(made_by(app, &ann.token, &g, &id).await.len(), 3);

    // A deleted occurrence stays deleted.
    let last = s(&made[2]["id"]);
    app.delete(&format!("/api/v1/groups/{g}/expenses/{last}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    assert_eq!(made_by(app, &ann.token, &g, &id).await.len(), 2);

    app.delete(&path).token(&bob.token).send().await.expect(204);
    app.get(&path)
        .token(&ann.token)
        .send()
        .await
        .problem(404, "not_found");
    assert_eq!(
        made_by(app, &ann.token, &g, &id).await.len(),
        2,
        "occurrences stay"
    );
    // Hand-entered expenses say they are not occurrences.
    let own = app.expense(&ann, &g, &ann, "5.00").await;
    assert!(own["recurring"].is_null());
}

#[tokio::test]
async fn a_weekly_series_in_memory() {
    story(&TestApp::memory()).await;
}

#[tokio::test]
async fn a_weekly_series_on_sqlite_over_a_socket() {
    let (store, dir) = sqlite_store().await;
    story(&TestApp::spawn(store).await).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn a_weekly_series_on_postgres_over_a_socket(pool: PgPool) {
    story(&TestApp::spawn(splitledger_storage_sqlx::PgStorage::from_pool(pool)).await).await;
}

#[tokio::test]
async fn bad_series_are_refused_with_the_expense_codes_and_write_nothing() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Flat").await;
    let path = format!("/api/v1/groups/{g}/recurring");
    let mut too_precise = series_body(&ann.id, "month", today());
    too_precise["expense"]["amount"] = json!("1.005");
    let problem = app
        .post(&path)
        .token(&ann.token)
        .json(too_precise)
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "expense.amount");
    assert_eq!(problem["errors"][0]["code"], "amount_too_precise");
    let mut stranger = series_body(&ann.id, "month", today());
    stranger["expense"]["paid_by"] = json!(uuid::Uuid::new_v4());
    let problem = app
        .post(&path)
        .token(&ann.token)
        .json(stranger)
        .send()
        .await
        .problem(422, "validation_failed");
    assert!(problem.to_string().contains("not_a_member"), "{problem}");
    let mut zero = series_body(&ann.id, "month", today());
    zero["interval"] = json!(0);
    let problem = app
        .post(&path)
        .token(&ann.token)
        .json(zero)
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "interval");
    let mut backwards = series_body(&ann.id, "month", today());
    backwards["ends_on"] = json!((today() - days(1)).to_string());
    app.post(&path)
        .token(&ann.token)
        .json(backwards)
        .send()
        .await
        .problem(422, "validation_failed");
    let years = series_body(&ann.id, "day", today() - days(2000));
    let problem = app
        .post(&path)
        .token(&ann.token)
        .json(years)
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["code"], "too_many_occurrences");
    let hourly = series_body(&ann.id, "hour", today());
    let r = app.post(&path).token(&ann.token).json(hourly).send().await;
    assert_eq!(r.status, 400, "{}", r.text);
    let list = app.get(&path).token(&ann.token).send().await.expect(200);
    assert_eq!(list["items"], json!([]), "refusals write nothing");
    let expenses = app
        .get(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(expenses["items"], json!([]));
    app.get(&format!("{path}/{}", uuid::Uuid::new_v4()))
        .token(&ann.token)
        .send()
        .await
        .problem(404, "not_found");
}

/// A clock standing still at a fixed moment.
struct Fixed(OffsetDateTime);

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// A daily series made ten days ago by a process that then stopped: a server started later
/// makes the ten missed days on its timer, with nobody reading the group.
async fn timer_catches_up<S: Storage + Clone>(store: S) {
    let then = OffsetDateTime::now_utc() - days(10);
    let old = Ledger::new(store.clone()).with_clock(Arc::new(Fixed(then)));
    let user = old
        .sign_up(splitledger_core::ledger::SignUp {
            email: "ann@example.com".into(),
            password: "correct horse".into(),
            display_name: "Ann".into(),
            invite_code: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let group = old
        .create_group(
            user.id,
            splitledger_core::ledger::NewGroup {
                name: "Flat".into(),
                description: None,
                currency: "EUR".into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .group
        .id;
    let expense = splitledger_core::ledger::NewExpense {
        description: "Coffee".into(),
        amount: "2.50".into(),
        paid_by: Some(user.id),
        split: SplitInput::Equal { members: None },
        ..Default::default()
    };
    old.create_series(
        user.id,
        group,
        NewSeries {
            expense,
            every: Every::Day,
            interval: None,
            starts_on: then.date(),
            ends_on: None,
            count: None,
            paused: None,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored(&store, group).await, 1);
    let _app = TestApp::spawn(store.clone()).await;
    let mut count = 0;
    for _ in 0..100 {
        count = stored(&store, group).await;
        if count == 11 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, 11, "the timer made the ten missed days and today");
}

/// The group's expenses as stored (read past the Ledger, which would catch up itself).
async fn stored<S: Storage>(store: &S, group: GroupId) -> usize {
    store
        .list_expenses(group, &ExpenseFilter::default(), None, 200)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len()
}

#[tokio::test]
async fn the_timer_catches_up_after_downtime_on_sqlite() {
    let (store, dir) = sqlite_store().await;
    timer_catches_up(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn the_timer_catches_up_after_downtime_on_postgres(pool: PgPool) {
    timer_catches_up(splitledger_storage_sqlx::PgStorage::from_pool(pool)).await;
}
