//! `POST /groups/{id}/import`: a Splitwise export on both databases (names matched,
//! placeholders made, nets to the cent, refusals that write nothing, the same file once),
//! and the round trip of this server's own export.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use splitledger_storage_sqlx::PgStorage;
use sqlx::PgPool;

use crate::helpers::{TestApp, User, s};

/// A Splitwise export: the header row, each row's member cells (each member's net for the
/// row), a blank line and the `Total balance` row, as Cospend's importer reads it
/// (`julien-nc/cospend-nc`, `lib/Service/CospendService.php`).
const SPLITWISE: &str = "Date,Description,Category,Cost,Currency,ann,BOB ,Zoé\n\
2026-05-01,Gîte à Arles,Hotel,90.00,EUR,60.00,-30.00,-30.00\n\
2026-05-02,Bob paid Ann,Payment,10.00,EUR,-10.00,10.00,0.00\n\
2026-05-03,Glaces,Dining out,10.00,EUR,-3.33,-3.33,6.66\n\
\n\
,Total balance,,,EUR,46.67,-23.33,-23.34\n";

const BOUNDARY: &str = "splitledger-test-boundary";

/// A multipart body with the file and, if given, the `members` mapping.
fn form(file: &[u8], members: Option<Value>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n");
    if let Some(m) = members {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"members\"\r\n\r\n{m}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn import(
    app: &TestApp,
    by: &User,
    group: &str,
    format: &str,
    file: &[u8],
    members: Option<Value>,
) -> crate::helpers::Reply {
    app.post(&format!("/api/v1/groups/{group}/import?format={format}"))
        .token(&by.token)
        .raw(
            &format!("multipart/form-data; boundary={BOUNDARY}"),
            form(file, members),
        )
        .send()
        .await
}

/// Nets in EUR by display name.
async fn nets(app: &TestApp, by: &User, group: &str) -> BTreeMap<String, String> {
    let b = app
        .get(&format!("/api/v1/groups/{group}/balances"))
        .token(&by.token)
        .send()
        .await
        .expect(200);
    let eur = b["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["currency"] == "EUR")
        .unwrap()
        .clone();
    eur["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(&m["display_name"]), s(&m["net"])))
        .collect()
}

async fn expense_count(app: &TestApp, by: &User, group: &str) -> usize {
    let list = app
        .get(&format!("/api/v1/groups/{group}/expenses?limit=200"))
        .token(&by.token)
        .send()
        .await
        .expect(200);
    list["items"].as_array().map_or(0, Vec::len)
}

async fn splitwise_story(app: &TestApp) {
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Robert").await;
    let g = app.group(&ann, "Arles").await;
    app.add(&ann, &g, &bob, "member").await;

    // A member may not import; nothing is written.
    import(app, &bob, &g, "splitwise", SPLITWISE.as_bytes(), None)
        .await
        .problem(403, "forbidden");
    // A bad row near the end refuses the whole file with its line number.
    let bad = SPLITWISE.replace("-3.33,6.66", "-3.33,6,66");
    let refused = import(
        app,
        &ann,
        &g,
        "splitwise",
        bad.as_bytes(),
        Some(json!({"BOB": bob.id})),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["field"], "rows[4]", "{refused}");
    assert_eq!(expense_count(app, &ann, &g).await, 0);
    let members = app
        .get(&format!("/api/v1/groups/{g}/members"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        members.as_array().map(Vec::len),
        Some(2),
        "no placeholder was left behind"
    );
    // A mapping to someone who is not a member.
    import(
        app,
        &ann,
        &g,
        "splitwise",
        SPLITWISE.as_bytes(),
        Some(json!({"BOB": uuid::Uuid::new_v4()})),
    )
    .await
    .problem(422, "validation_failed");
    import(app, &ann, &g, "excel", SPLITWISE.as_bytes(), None)
        .await
        .problem(400, "invalid_parameter");

    // "ann" is Ann by display name, BOB is Robert by the mapping, Zoé becomes a placeholder.
    let report = import(
        app,
        &ann,
        &g,
        "splitwise",
        SPLITWISE.as_bytes(),
        Some(json!({"BOB": bob.id})),
    )
    .await
    .expect(201);
    assert_eq!(
        (report["expenses"].as_u64(), report["settlements"].as_u64()),
        (Some(2), Some(1))
    );
    let by_name: BTreeMap<String, (String, bool)> = report["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                s(&m["name"]),
                (s(&m["user_id"]), m["created"].as_bool().unwrap()),
            )
        })
        .collect();
    assert_eq!(by_name["ann"], (ann.id.clone(), false));
    assert_eq!(by_name["BOB"], (bob.id.clone(), false));
    assert!(by_name["Zoé"].1);
    // Ann 60 − 10 − 3.33; Robert −30 + 10 − 3.33; Zoé −30 + 6.66: the Total balance row.
    let want: BTreeMap<String, String> =
        [("Ann", "46.67"), ("Robert", "-23.33"), ("Zoé", "-23.34")]
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
    assert_eq!(nets(app, &ann, &g).await, want);
    let reported: BTreeMap<String, String> = report["balances"]["balances"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(&m["display_name"]), s(&m["net"])))
        .collect();
    assert_eq!(reported, want);
    assert_eq!(expense_count(app, &ann, &g).await, 2);

    // The same file again is a conflict and writes nothing.
    import(
        app,
        &ann,
        &g,
        "splitwise",
        SPLITWISE.as_bytes(),
        Some(json!({"BOB": bob.id})),
    )
    .await
    .problem(409, "already_imported");
    assert_eq!(expense_count(app, &ann, &g).await, 2);
    let activity = app
        .get(&format!("/api/v1/groups/{g}/activity?limit=200"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert!(
        activity["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "import.created")
    );
}

#[tokio::test]
async fn splitwise_import_on_sqlite() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::in_process(store, &crate::helpers::test_settings());
    splitwise_story(&app).await;
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn splitwise_import_on_postgres(pool: PgPool) {
    let app = TestApp::in_process(PgStorage::from_pool(pool), &crate::helpers::test_settings());
    splitwise_story(&app).await;
}

/// Expenses as comparable facts: description, kind, amount, payers and shares by name.
fn facts(export: &Value) -> Vec<Value> {
    let names: BTreeMap<String, String> = export["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(&m["user_id"]), s(&m["display_name"])))
        .collect();
    let by_name = |list: &Value| -> BTreeMap<String, String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| (names[&s(&p["user_id"])].clone(), s(&p["amount"])))
            .collect()
    };
    let mut out: Vec<Value> = export["expenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!({
            "description": e["description"], "kind": e["kind"], "amount": e["amount"],
            "currency": e["currency"], "category": e["category"], "occurred_on": e["occurred_on"],
            "notes": e["notes"], "payers": by_name(&e["payers"]), "shares": by_name(&e["shares"]),
        }))
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

#[tokio::test]
async fn an_export_imports_back_into_an_empty_group() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let grandpa = app
        .post(&format!("/api/v1/groups/{g}/members"))
        .token(&ann.token)
        .json(json!({"display_name": "Grandpa"}))
        .send()
        .await
        .expect(201);
    let base = format!("/api/v1/groups/{g}");
    for body in [
        json!({"description": "Dîner", "amount": "100.00", "paid_by": ann.id, "split": {"type": "equal"}, "category": "food", "notes": "tous"}),
        json!({"description": "Loyer", "amount": "1000.01", "payers": [{"user_id": ann.id, "amount": "600.00"}, {"user_id": bob.id, "amount": "400.01"}], "split": {"type": "shares", "shares": [{"user_id": ann.id, "weight": "2"}, {"user_id": bob.id, "weight": "1"}, {"user_id": grandpa["user_id"], "weight": "1"}]}, "occurred_on": "2026-01-15"}),
        json!({"kind": "income", "description": "Caution", "amount": "30.00", "paid_by": bob.id, "split": {"type": "percent", "shares": [{"user_id": ann.id, "percent": "33.33"}, {"user_id": bob.id, "percent": "66.67"}]}}),
        json!({"description": "Taxi", "amount": "12.00", "currency": "USD", "paid_by": grandpa["user_id"], "split": {"type": "exact", "shares": [{"user_id": ann.id, "amount": "5.00"}, {"user_id": grandpa["user_id"], "amount": "7.00"}]}}),
    ] {
        app.post(&format!("{base}/expenses"))
            .token(&ann.token)
            .json(body)
            .send()
            .await
            .expect(201);
    }
    app.post(&format!("{base}/settlements"))
        .token(&ann.token)
        .json(
            json!({"from_user": bob.id, "to_user": ann.id, "amount": "20.00", "note": "virement"}),
        )
        .send()
        .await
        .expect(201);
    // The dollars so far become euros; a taxi after that leaves dollars to compare too.
    app.post(&format!("{base}/conversions"))
        .token(&ann.token)
        .json(json!({"from_currency": "USD", "to_currency": "EUR", "exchange_rate": "0.9137", "occurred_on": "2026-01-20", "note": "retour"}))
        .send()
        .await
        .expect(201);
    app.post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(json!({"description": "Taxi", "amount": "8.00", "currency": "USD", "paid_by": bob.id, "split": {"type": "equal"}}))
        .send()
        .await
        .expect(201);
    let export = app
        .get(&format!("{base}/export?format=json"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);

    let empty = app.group(&ann, "Flat, again").await;
    let report = import(
        &app,
        &ann,
        &empty,
        "splitledger",
        export.to_string().as_bytes(),
        None,
    )
    .await
    .expect(201);
    assert_eq!(
        (
            report["expenses"].as_u64(),
            report["settlements"].as_u64(),
            report["conversions"].as_u64()
        ),
        (Some(5), Some(1), Some(1))
    );
    let again = app
        .get(&format!("/api/v1/groups/{empty}/export?format=json"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(facts(&again), facts(&export));
    assert_eq!(
        again["settlements"][0]["amount"],
        export["settlements"][0]["amount"]
    );
    assert_eq!(again["settlements"][0]["note"], "virement");
    let conversion = |export: &Value| {
        let c = &export["conversions"][0];
        let names: BTreeMap<String, String> = (export["members"].as_array().unwrap().iter())
            .map(|m| (s(&m["user_id"]), s(&m["display_name"])))
            .collect();
        let rows: BTreeMap<String, (String, String)> = (c["rows"].as_array().unwrap().iter())
            .map(|r| {
                let name = names[&s(&r["user_id"])].clone();
                (name, (s(&r["from_amount"]), s(&r["to_amount"])))
            })
            .collect();
        (
            export["conversions"].as_array().map(Vec::len),
            c["exchange_rate"].clone(),
            c["occurred_on"].clone(),
            c["note"].clone(),
            rows,
        )
    };
    assert_eq!(conversion(&again), conversion(&export));
    assert_eq!(
        conversion(&export).4.len(),
        2,
        "ann and grandpa held dollars"
    );
    assert_eq!(nets(&app, &ann, &empty).await, nets(&app, &ann, &g).await);
    let usd = |b: Value| {
        b["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["currency"] == "USD")
            .map(|c| {
                c["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| (s(&m["display_name"]), s(&m["net"])))
                    .collect::<BTreeMap<_, _>>()
            })
    };
    let before = usd(app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200));
    let after = usd(app
        .get(&format!("/api/v1/groups/{empty}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200));
    assert_eq!(after, before);
}

#[tokio::test]
async fn the_import_command_does_what_the_route_does() {
    use splitledger_core::ledger::{NewGroup, SignUp};
    use splitledger_server::import_cli::{FormatArg, ImportArgs};

    let (store, dir) = crate::helpers::sqlite_store().await;
    let ledger = splitledger_core::Ledger::new(store);
    let ann = ledger
        .sign_up(SignUp {
            email: "ann@example.com".into(),
            password: "correct horse".into(),
            display_name: "Ann".into(),
            invite_code: None,
        })
        .await
        .unwrap();
    let g = ledger
        .create_group(
            ann.id,
            NewGroup {
                name: "Arles".into(),
                description: None,
                currency: "EUR".into(),
            },
        )
        .await
        .unwrap();
    let file = dir.join("splitwise.csv");
    std::fs::write(&file, SPLITWISE).unwrap();
    let mut settings = crate::helpers::test_settings();
    settings.database_url = format!("sqlite://{}", dir.join("ledger.db").display());
    let args = ImportArgs {
        group: g.group.id.0,
        format: FormatArg::Splitwise,
        as_email: "ANN@example.com".into(),
        file,
    };
    let report = splitledger_server::import(&settings, &args).await.unwrap();
    assert_eq!((report.expenses, report.settlements), (2, 1));
    assert_eq!(
        report.members.iter().filter(|m| m.created).count(),
        2,
        "BOB and Zoé are new"
    );
    let nets: Vec<i64> = report.balances.balances[0]
        .members
        .iter()
        .map(|m| m.net.minor())
        .collect();
    assert_eq!(nets.iter().sum::<i64>(), 0);
    assert!(nets.contains(&4667), "Ann's net is the file's: {nets:?}");
    // The same file again is refused, with the code in the message.
    let again = splitledger_server::import(&settings, &args)
        .await
        .unwrap_err();
    assert!(again.contains("already_imported"), "{again}");
    let nobody = ImportArgs {
        as_email: "zed@example.com".into(),
        ..args
    };
    assert!(
        splitledger_server::import(&settings, &nobody)
            .await
            .unwrap_err()
            .contains("no account")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file larger than the server's general body limit still imports in one request: the
/// import route has its own bound (here the general limit is 64 KiB and the file about
/// 110 KiB, standing for the few MiB of a 50,000-row export under the default 1 MiB).
#[tokio::test]
async fn a_file_larger_than_the_body_limit_imports_in_one_request() {
    let mut settings = crate::helpers::test_settings();
    settings.body_limit = 64 * 1024;
    let app = TestApp::in_process(splitledger_core::MemoryStorage::new(), &settings);
    let ann = app.user("ann@example.com", "Ana").await;
    let g = app.group(&ann, "Big").await;
    let mut text = String::from("Date,Description,Category,Cost,Currency,Ana,Bob,Cléo\n");
    for i in 0..2_500 {
        text.push_str(&format!(
            "2024-01-01,row {i},General,3.00,EUR,2.00,-1.00,-1.00\n"
        ));
    }
    assert!(text.len() > 2 * settings.body_limit, "{}", text.len());
    // Any other route still refuses a body over the general limit.
    app.post(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .raw("application/json", vec![b' '; 100 * 1024])
        .send()
        .await
        .problem(413, "payload_too_large");
    let report = import(&app, &ann, &g, "splitwise", text.as_bytes(), None)
        .await
        .expect(201);
    assert_eq!(report["expenses"], 2_500);
    let nets = nets(&app, &ann, &g).await;
    assert_eq!(nets.get("Ana").map(String::as_str), Some("5000.00"));
    assert_eq!(nets.get("Bob").map(String::as_str), Some("-2500.00"));
    assert_eq!(nets.get("Cléo").map(String::as_str), Some("-2500.00"));
}

/// Every list of an export with what names the group's copy left out (ids, times of
/// recording, the series' ids), sorted: two groups with the same history show the same.
fn same_history(export: &Value, key: &str, drop: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = (export[key].as_array().unwrap().iter())
        .map(|item| {
            let mut item = item.clone();
            for k in drop {
                item.as_object_mut().unwrap().remove(*k);
            }
            if let Some(o) = item.get_mut("recurring").and_then(Value::as_object_mut) {
                o.remove("series_id");
            }
            item.to_string()
        })
        .collect();
    out.sort();
    out
}

/// Series, comments, a receipt, an expense booked from francs with metadata: the export
/// through the real router on SQLite imports back with all of it (the receipt counted as
/// skipped), and the active series does not make again what the file held.
#[tokio::test]
async fn everything_round_trips_through_the_router_on_sqlite() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::in_process(store, &crate::helpers::test_settings());
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");
    let francs = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"description": "Train", "amount": "50.00", "currency": "CHF",
            "exchange_rate": "1.0712", "paid_by": ann.id, "split": {"type": "percent",
            "shares": [{"user_id": ann.id, "percent": "40"}, {"user_id": bob.id, "percent": "60"}]},
            "metadata": {"receipt": "A-17"}, "category": "travel"}),
        )
        .send()
        .await
        .expect(201);
    let e = s(&francs["id"]);
    let today = time::OffsetDateTime::now_utc().date();
    let weekly = |paused: bool| {
        json!({"expense": {"description": "Courses", "amount": "21.50", "paid_by": bob.id,
            "split": {"type": "equal"}}, "every": "week",
            "starts_on": (today - time::Duration::days(30)).to_string(), "count": 50,
            "paused": paused})
    };
    for paused in [false, true] {
        app.post(&format!("{base}/recurring"))
            .token(&bob.token)
            .json(weekly(paused))
            .send()
            .await
            .expect(201);
    }
    crate::files::upload(&app, &ann, &g, &e, "billet.png", crate::files::PNG)
        .await
        .expect(201);
    for (who, text) in [(&bob, "merci !"), (&ann, "de rien")] {
        app.post(&format!("{base}/expenses/{e}/comments"))
            .token(&who.token)
            .json(json!({"text": text}))
            .send()
            .await
            .expect(201);
    }
    let export = app
        .get(&format!("{base}/export?format=json"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let made = export["expenses"].as_array().unwrap().len();
    assert!(made >= 5, "the active series made its past weeks: {made}");

    let empty = app.group(&ann, "Flat, again").await;
    app.add(&ann, &empty, &bob, "member").await;
    let report = import(
        &app,
        &ann,
        &empty,
        "splitledger",
        export.to_string().as_bytes(),
        None,
    )
    .await
    .expect(201);
    assert_eq!(
        (
            &report["series"],
            &report["comments"],
            &report["attachments_skipped"]
        ),
        (&json!(2), &json!(2), &json!(1))
    );
    assert_eq!(report["expenses"], json!(made));
    let again = app
        .get(&format!("/api/v1/groups/{empty}/export?format=json"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let left_out = ["id", "created_at", "created_by", "attachments", "version"];
    assert_eq!(
        same_history(&again, "expenses", &left_out),
        same_history(&export, "expenses", &left_out)
    );
    let train = (again["expenses"].as_array().unwrap().iter())
        .find(|x| x["description"] == "Train")
        .unwrap();
    assert_eq!(train["original"]["amount"], "50.00");
    assert_eq!(train["metadata"], json!({"receipt": "A-17"}));
    assert_eq!(train["split"]["type"], "percent");
    assert_eq!(
        same_history(&again, "series", &["id", "created_at"]),
        same_history(&export, "series", &["id", "created_at"])
    );
    assert_eq!(
        same_history(&again, "comments", &["id", "expense_id"]),
        same_history(&export, "comments", &["id", "expense_id"])
    );
    assert_eq!(nets(&app, &ann, &empty).await, nets(&app, &ann, &g).await);
    // A read of the copy runs its due series: nothing the file held comes twice.
    assert_eq!(expense_count(&app, &ann, &empty).await, made);
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}
