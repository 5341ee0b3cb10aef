//! Expenses, repayments and the read views: happy paths, validation (nothing written),
//! idempotency, stale versions and pagination.

use serde_json::{Value, json};
use splitledger_core::MemoryStorage;
use splitledger_core::preview::{self, LedgerInput};

use crate::helpers::{TestApp, User, s};

struct Trio {
    app: TestApp,
    ann: User,
    bob: User,
    cat: User,
    g: String,
}

async fn trio() -> Trio {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let cat = app.user("cat@example.com", "Cat").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    app.add(&ann, &g, &cat, "member").await;
    Trio {
        app,
        ann,
        bob,
        cat,
        g,
    }
}

fn sum(list: &Value) -> i64 {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    s(&p["amount"])
                        .replace('.', "")
                        .parse::<i64>()
                        .unwrap_or(i64::MIN)
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn expenses_and_settlements_end_to_end_in_process() {
    let Trio {
        app,
        ann,
        bob,
        cat,
        g,
    } = trio().await;
    let base = format!("/api/v1/groups/{g}");

    // Equal among everyone: 100.00 / 3 never loses a cent.
    let e1 = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"description": "Dinner", "amount": "100.00", "paid_by": ann.id,
            "split": {"type": "equal"}, "category": "food", "occurred_on": "2024-05-01",
            "metadata": {"receipt": 17}}),
        )
        .send()
        .await
        .expect(201);
    assert_eq!(e1["paid_by"], ann.id.as_str());
    assert_eq!(e1["amount"], "100.00");
    assert_eq!(e1["currency"], "EUR");
    assert_eq!(e1["version"], 1);
    assert_eq!(e1["group_id"], g.as_str());
    assert_eq!(e1["created_by"], ann.id.as_str());
    assert_eq!(e1["occurred_on"], "2024-05-01");
    assert_eq!(e1["metadata"], json!({"receipt": 17}));
    assert_eq!(e1["split"]["type"], "equal");
    assert_eq!(e1["split"]["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(sum(&e1["shares"]), 10000);
    assert_eq!(sum(&e1["payers"]), 10000);

    // Several payers, exact split.
    let e2 = app
        .post(&format!("{base}/expenses"))
        .token(&bob.token)
        .json(json!({"description": "Car", "amount": "60.00",
            "payers": [{"user_id": bob.id, "amount": "40.00"}, {"user_id": cat.id, "amount": "20.00"}],
            "split": {"type": "exact", "shares": [{"user_id": ann.id, "amount": "30.00"}, {"user_id": bob.id, "amount": "30.00"}]},
            "occurred_on": "2024-05-02", "category": "transport"}))
        .send()
        .await
        .expect(201);
    assert_eq!(e2["paid_by"], Value::Null);
    assert_eq!(e2["payers"].as_array().map(Vec::len), Some(2));
    // Percent and weights.
    app.post(&format!("{base}/expenses"))
        .token(&cat.token)
        .json(json!({"description": "Museum", "amount": "30.00", "paid_by": cat.id,
            "split": {"type": "percent", "shares": [{"user_id": ann.id, "percent": "50"}, {"user_id": cat.id, "percent": "50"}]},
            "occurred_on": "2024-05-03"}))
        .send()
        .await
        .expect(201);
    let e4 = app
        .post(&format!("{base}/expenses"))
        .token(&cat.token)
        .json(json!({"description": "Hotel", "amount": "40.00", "paid_by": cat.id,
            "split": {"type": "shares", "shares": [{"user_id": ann.id, "weight": "2"}, {"user_id": bob.id, "weight": "1"}, {"user_id": cat.id, "weight": "1"}]},
            "occurred_on": "2024-06-01"}))
        .send()
        .await
        .expect(201);
    assert_eq!(e4["split"]["shares"][0]["weight"], "2");

    let one = app
        .get(&format!("{base}/expenses/{}", s(&e1["id"])))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(one, e1);

    let list = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let ids: Vec<String> = list["items"]
        .as_array()
        .map(|a| a.iter().map(|e| s(&e["description"])).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["Hotel", "Museum", "Car", "Dinner"]);
    let filtered = app
        .get(&format!(
            "{base}/expenses?paid_by={}&category=transport&from=2024-05-02&to=2024-05-31",
            cat.id
        ))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(filtered["items"][0]["description"], "Car");

    // Edit with the version read; then the old version is stale.
    let edited = app
        .patch(&format!("{base}/expenses/{}", s(&e1["id"])))
        .token(&ann.token)
        .json(json!({"version": 1, "amount": "90.00", "category": null, "notes": "tip included"}))
        .send()
        .await
        .expect(200);
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["amount"], "90.00");
    assert_eq!(edited["category"], Value::Null);
    assert_eq!(sum(&edited["shares"]), 9000);
    let stale = app
        .patch(&format!("{base}/expenses/{}", s(&e1["id"])))
        .token(&ann.token)
        .json(json!({"version": 1, "description": "late"}))
        .send()
        .await
        .problem(412, "stale_version");
    assert!(s(&stale["detail"]).contains('1'));
    let still = app
        .get(&format!("{base}/expenses/{}", s(&e1["id"])))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(still["description"], "Dinner");

    // Balances: the nets add up to zero, and the shape is core's own (same as the browser's).
    let balances = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let block = &balances["balances"][0];
    assert_eq!(block["currency"], "EUR");
    let nets: i64 = block["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| {
                    s(&x["net"])
                        .replace('.', "")
                        .parse::<i64>()
                        .unwrap_or(i64::MIN)
                })
                .sum()
        })
        .unwrap_or(1);
    assert_eq!(nets, 0);
    assert!(block["members"][0]["display_name"].is_string());
    let all = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let input: LedgerInput =
        serde_json::from_value(json!({"expenses": all["items"], "settlements": []}))
            .unwrap_or_else(|e| panic!("{e}"));
    let browser = serde_json::to_value(preview::balances(&input).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut server = balances.clone();
    for m in server["balances"][0]["members"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        m.as_object_mut().map(|o| o.remove("display_name"));
    }
    assert_eq!(server, browser);

    let debts = app
        .get(&format!("{base}/debts"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert!(!debts["debts"].as_array().map(Vec::is_empty).unwrap_or(true));
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(plan["optimal"], true);
    let transfers = plan["transfers"].as_array().cloned().unwrap_or_default();
    assert!(!transfers.is_empty() && transfers.len() <= 2, "{plan}");

    // Pay the plan back with repayments; then the plan is empty.
    let mut settlement_ids = Vec::new();
    for t in &transfers {
        let st = app
            .post(&format!("{base}/settlements"))
            .token(&ann.token)
            .json(json!({"from_user": t["from"], "to_user": t["to"], "amount": t["amount"], "note": "cash"}))
            .send()
            .await
            .expect(201);
        assert_eq!(st["amount"], t["amount"]);
        settlement_ids.push(s(&st["id"]));
    }
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(plan["transfers"], json!([]));
    // Pairwise debts are not simplified, but they now cancel out for everyone.
    let debts = app
        .get(&format!("{base}/debts"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    for who in [&ann.id, &bob.id, &cat.id] {
        let mut total = 0i64;
        for d in debts["debts"].as_array().into_iter().flatten() {
            let cents: i64 = s(&d["amount"]).replace('.', "").parse().unwrap_or(i64::MIN);
            if d["from"] == who.as_str() {
                total -= cents;
            }
            if d["to"] == who.as_str() {
                total += cents;
            }
        }
        assert_eq!(total, 0, "{debts}");
    }
    let settlements = app
        .get(&format!("{base}/settlements"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        settlements["items"].as_array().map(Vec::len),
        Some(transfers.len())
    );

    let mine = app
        .get("/api/v1/users/me/balances")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(mine["groups"], json!([]));

    // Deleting a repayment brings the debt back.
    app.delete(&format!("{base}/settlements/{}", settlement_ids[0]))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(plan["transfers"].as_array().map(Vec::len), Some(1));
    let mine = app
        .get("/api/v1/users/me/balances")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(mine["groups"][0]["group_id"], g.as_str());
    assert_eq!(mine["totals"][0]["currency"], "EUR");

    // Summary, activity, export.
    let summary = app
        .get(&format!("{base}/summary?by=month"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(summary["by"], "month");
    let keys: Vec<String> = summary["items"]
        .as_array()
        .map(|a| a.iter().map(|l| s(&l["key"])).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["2024-05", "2024-06"]);
    let by_cat = app
        .get(&format!(
            "{base}/summary?by=category&from=2024-05-01&to=2024-05-31"
        ))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(by_cat["items"].as_array().map(Vec::len), Some(2));
    let activity = app
        .get(&format!("{base}/activity?limit=3"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(activity["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(activity["items"][0]["action"], "settlement.deleted");
    assert_eq!(activity["items"][0]["entity"], "settlement");
    assert!(activity["next_cursor"].is_string());
    let export = app
        .get(&format!("{base}/export"))
        .token(&ann.token)
        .send()
        .await;
    let body = export.expect(200);
    assert_eq!(body["expenses"].as_array().map(Vec::len), Some(4));
    assert_eq!(body["members"].as_array().map(Vec::len), Some(3));
    let csv = app
        .get(&format!("{base}/export?format=csv"))
        .token(&ann.token)
        .send()
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
    );
    assert!(
        csv.header("content-disposition")
            .is_some_and(|c| c.starts_with("attachment;"))
    );
    assert!(csv.text.starts_with("kind,id,date,description"));

    // Delete an expense.
    app.delete(&format!("{base}/expenses/{}", s(&e4["id"])))
        .token(&cat.token)
        .send()
        .await
        .expect(204);
    app.get(&format!("{base}/expenses/{}", s(&e4["id"])))
        .token(&cat.token)
        .send()
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn invalid_expenses_are_refused_and_nothing_is_written() {
    let Trio {
        app, ann, bob, g, ..
    } = trio().await;
    let base = format!("/api/v1/groups/{g}");
    let stranger = "00000000-0000-7000-8000-000000000000";
    let ok = json!({"description": "x", "amount": "10.00", "paid_by": ann.id, "split": {"type": "equal"}});
    let with = |patch: Value| {
        let mut body = ok.clone();
        if let (Some(b), Some(p)) = (body.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with(json!({"description": ""})), 422, "description"),
        (
            with(json!({"description": "d".repeat(201)})),
            422,
            "description",
        ),
        (with(json!({"amount": "0"})), 422, "amount"),
        (with(json!({"amount": "-5"})), 422, "amount"),
        (with(json!({"amount": "1.005"})), 422, "amount"),
        (with(json!({"amount": "1e3"})), 422, "amount"),
        (with(json!({"amount": "abc"})), 422, "amount"),
        (with(json!({"amount": "10000000000000"})), 422, "amount"),
        (with(json!({"currency": "XYZ"})), 422, "currency"),
        (with(json!({"paid_by": null})), 422, ""),
        (
            with(json!({"payers": [{"user_id": ann.id, "amount": "10.00"}]})),
            422,
            "",
        ),
        (with(json!({"paid_by": stranger})), 422, ""),
        (
            with(json!({"paid_by": null, "payers": [{"user_id": ann.id, "amount": "4.00"}]})),
            422,
            "",
        ),
        (
            with(
                json!({"split": {"type": "exact", "shares": [{"user_id": ann.id, "amount": "9.99"}]}}),
            ),
            422,
            "",
        ),
        (
            with(
                json!({"split": {"type": "percent", "shares": [{"user_id": ann.id, "percent": "99"}]}}),
            ),
            422,
            "",
        ),
        (
            with(json!({"split": {"type": "equal", "members": [stranger]}})),
            422,
            "",
        ),
        (
            with(
                json!({"split": {"type": "shares", "shares": [{"user_id": ann.id, "weight": "0"}]}}),
            ),
            422,
            "",
        ),
        (with(json!({"metadata": [1, 2]})), 422, "metadata"),
        (
            with(json!({"metadata": {"big": "x".repeat(17 * 1024)}})),
            422,
            "metadata",
        ),
        (with(json!({"category": "c".repeat(51)})), 422, "category"),
        (with(json!({"split": {"type": "thirds"}})), 400, ""),
        (with(json!({"paid_by": "not-a-uuid"})), 400, ""),
        (with(json!({"occurred_on": "2024-02-30"})), 400, ""),
        (with(json!({"amount": 10})), 400, ""),
    ];
    let activity = app
        .get(&format!("{base}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    for (body, status, field) in cases {
        let r = app
            .post(&format!("{base}/expenses"))
            .token(&bob.token)
            .json(body.clone())
            .send()
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        let p = r.json();
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        if status == 422 {
            assert_eq!(p["code"], "validation_failed");
            let errors = p["errors"].as_array().cloned().unwrap_or_default();
            assert!(!errors.is_empty(), "{p}");
            if !field.is_empty() {
                assert!(errors.iter().any(|e| e["field"] == field), "{body} -> {p}");
            }
        }
        let list = app
            .get(&format!("{base}/expenses"))
            .token(&ann.token)
            .send()
            .await
            .expect(200);
        assert_eq!(list["items"], json!([]), "written by {body}");
    }
    let after = app
        .get(&format!("{base}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(activity, after);

    // Settlements too.
    let cases = vec![
        json!({"from_user": ann.id, "to_user": ann.id, "amount": "1.00"}),
        json!({"from_user": ann.id, "to_user": stranger, "amount": "1.00"}),
        json!({"from_user": ann.id, "to_user": bob.id, "amount": "0.001"}),
        json!({"from_user": ann.id, "to_user": bob.id, "amount": "-1"}),
        json!({"from_user": ann.id, "to_user": bob.id, "amount": "1", "currency": "ZZZ"}),
        json!({"from_user": ann.id, "to_user": bob.id, "amount": "1", "note": "n".repeat(501)}),
    ];
    for body in cases {
        app.post(&format!("{base}/settlements"))
            .token(&bob.token)
            .json(body)
            .send()
            .await
            .problem(422, "validation_failed");
    }
    let list = app
        .get(&format!("{base}/settlements"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"], json!([]));
    let after = app
        .get(&format!("{base}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(activity, after);

    // A refused edit leaves the expense as it was.
    let e = app.expense(&ann, &g, &ann, "10.00").await;
    for body in [
        json!({"version": 1, "amount": "1.001"}),
        json!({"version": 1, "description": ""}),
        json!({"version": 1, "paid_by": stranger}),
    ] {
        app.patch(&format!("{base}/expenses/{}", s(&e["id"])))
            .token(&ann.token)
            .json(body)
            .send()
            .await
            .problem(422, "validation_failed");
    }
    let same = app
        .get(&format!("{base}/expenses/{}", s(&e["id"])))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(same, e);
}

#[tokio::test]
async fn idempotency_keys_make_retries_safe() {
    let Trio {
        app, ann, bob, g, ..
    } = trio().await;
    let base = format!("/api/v1/groups/{g}");
    let body = json!({"description": "Taxi", "amount": "12.00", "paid_by": ann.id, "split": {"type": "equal"}});
    let first = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .header("Idempotency-Key", "taxi-1")
        .json(body.clone())
        .send()
        .await
        .expect(201);
    let again = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .header("Idempotency-Key", "taxi-1")
        .json(body.clone())
        .send()
        .await
        .expect(201);
    assert_eq!(first["id"], again["id"]);
    let mut other = body.clone();
    other["amount"] = json!("13.00");
    app.post(&format!("{base}/expenses"))
        .token(&ann.token)
        .header("Idempotency-Key", "taxi-1")
        .json(other)
        .send()
        .await
        .problem(409, "idempotency_key_reused");
    let list = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let st = json!({"from_user": bob.id, "to_user": ann.id, "amount": "4.00"});
    let a = app
        .post(&format!("{base}/settlements"))
        .token(&bob.token)
        .header("Idempotency-Key", "pay-1")
        .json(st.clone())
        .send()
        .await
        .expect(201);
    let b = app
        .post(&format!("{base}/settlements"))
        .token(&bob.token)
        .header("Idempotency-Key", "pay-1")
        .json(st)
        .send()
        .await
        .expect(201);
    assert_eq!(a["id"], b["id"]);
    app.post(&format!("{base}/settlements"))
        .token(&bob.token)
        .header("Idempotency-Key", "pay-1")
        .json(json!({"from_user": bob.id, "to_user": ann.id, "amount": "5.00"}))
        .send()
        .await
        .problem(409, "idempotency_key_reused");
    let list = app
        .get(&format!("{base}/settlements"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn pagination_walks_a_long_history_once_in_order() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Personal").await;
    let base = format!("/api/v1/groups/{g}");
    let mut created = Vec::new();
    for i in 0..120u32 {
        let day = 1 + i % 28;
        let month = 1 + i / 28;
        let e = app
            .post(&format!("{base}/expenses"))
            .token(&ann.token)
            .json(
                json!({"description": format!("e{i}"), "amount": "1.00", "paid_by": ann.id,
                "split": {"type": "equal"}, "occurred_on": format!("2024-{month:02}-{day:02}")}),
            )
            .send()
            .await
            .expect(201);
        created.push((s(&e["occurred_on"]), s(&e["created_at"]), s(&e["id"])));
    }
    created.sort();
    created.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}/expenses?limit=25&cursor={c}"),
            None => format!("{base}/expenses?limit=25"),
        };
        let page = app.get(&path).token(&ann.token).send().await.expect(200);
        pages += 1;
        for e in page["items"].as_array().into_iter().flatten() {
            seen.push(s(&e["id"]));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "no end");
    }
    assert_eq!(pages, 5);
    let expected: Vec<String> = created.into_iter().map(|(_, _, id)| id).collect();
    assert_eq!(seen, expected);

    // The activity log pages the same way.
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{base}/activity?limit=50&cursor={c}"),
            None => format!("{base}/activity?limit=50"),
        };
        let page = app.get(&path).token(&ann.token).send().await.expect(200);
        count += page["items"].as_array().map(Vec::len).unwrap_or(0);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(count, 121, "120 expenses and the group's creation");
}

#[tokio::test]
async fn a_client_chosen_id_predicts_the_stored_rows_and_replays() {
    let Trio {
        app,
        ann,
        bob,
        cat,
        g,
    } = trio().await;
    let base = format!("/api/v1/groups/{g}");
    let id = "0192f0c4-7b1e-7a3c-9d2e-4f5a6b7c8d9e";
    let body = json!({"id": id, "description": "Taxi", "amount": "10.00", "paid_by": bob.id,
        "split": {"type": "shares", "shares": [
            {"user_id": ann.id, "weight": "1"}, {"user_id": bob.id, "weight": "1"},
            {"user_id": cat.id, "weight": "1"}]}});

    // What the browser module computes before anything is saved...
    let members = [ann.id.clone(), bob.id.clone(), cat.id.clone()];
    let input: preview::AllocateInput = serde_json::from_value(json!({
        "id": id, "members": members, "amount": "10.00", "currency": "EUR",
        "paid_by": bob.id, "split": body["split"].clone()}))
    .unwrap_or_else(|e| panic!("{e}"));
    let predicted =
        serde_json::to_value(preview::allocate(&input).unwrap_or_else(|e| panic!("{e:?}")))
            .unwrap_or_else(|e| panic!("{e}"));

    // ...is exactly what the server stores with that id.
    let created = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(body.clone())
        .send()
        .await
        .expect(201);
    assert_eq!(created["id"], id);
    assert_eq!(created["shares"], predicted["shares"]);
    assert_eq!(created["payers"], predicted["payers"]);
    assert_eq!(sum(&created["shares"]), 1000);

    // The same id and body replay: the stored expense, nothing written twice.
    let again = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(body.clone())
        .send()
        .await
        .expect(201);
    assert_eq!(again, created);
    let list = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    // Another body under the same id is refused, and so is the id in another group.
    let mut other = body.clone();
    other["amount"] = json!("11.00");
    app.post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(other)
        .send()
        .await
        .problem(409, "id_taken");
    let g2 = app.group(&ann, "Other").await;
    app.post(&format!("/api/v1/groups/{g2}/expenses"))
        .token(&ann.token)
        .json(json!({"id": id, "description": "Taxi", "amount": "10.00",
            "paid_by": ann.id, "split": {"type": "equal"}}))
        .send()
        .await
        .problem(409, "id_taken");
    let balances = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let bob_net = balances["balances"][0]["members"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["user_id"] == bob.id.as_str()))
        .map(|x| s(&x["net"]));
    let bob_share: i64 = predicted["shares"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["user_id"] == bob.id.as_str()))
        .map(|x| s(&x["amount"]).replace('.', ""))
        .and_then(|t| t.parse().ok())
        .unwrap_or(i64::MIN);
    let net = 1000 - bob_share;
    let expected = format!("{}.{:02}", net / 100, net % 100);
    assert_eq!(bob_net, Some(expected), "written once: {balances}");

    // Not a UUID: a validation error, nothing written.
    let mut bad = body;
    bad["id"] = json!("not-a-uuid");
    let reply = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(bad)
        .send()
        .await;
    assert!(matches!(reply.status, 400 | 422), "status {}", reply.status);
}

/// A key that is not visible ASCII is refused like any malformed key, over a real socket
/// (where such bytes arrive as sent), and writes nothing: ignored, it would let the retry
/// it protects create a duplicate.
#[tokio::test]
async fn a_non_ascii_idempotency_key_is_refused() {
    let app = TestApp::spawn(MemoryStorage::new()).await;
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");
    let expense = json!({"description": "Taxi", "amount": "12.00", "paid_by": ann.id, "split": {"type": "equal"}});
    let settlement = json!({"from_user": ann.id, "to_user": bob.id, "amount": "4.00"});
    for (path, body) in [("expenses", expense), ("settlements", settlement)] {
        for key in ["clé-1", "taxi\u{a0}1"] {
            let problem = app
                .post(&format!("{base}/{path}"))
                .token(&ann.token)
                .header("Idempotency-Key", key)
                .json(body.clone())
                .send()
                .await
                .problem(422, "validation_failed");
            assert_eq!(
                (
                    &problem["errors"][0]["field"],
                    &problem["errors"][0]["code"]
                ),
                (&json!("idempotency_key"), &json!("invalid_idempotency_key"))
            );
        }
        let list = app
            .get(&format!("{base}/{path}"))
            .token(&ann.token)
            .send()
            .await
            .expect(200);
        assert_eq!(list["items"], json!([]), "nothing written to {path}");
    }
}

/// Income over HTTP on SQLite: received money reverses balances, is listed and summarised
/// apart, exported with its sign, and an unknown kind is refused writing nothing.
#[tokio::test]
async fn income_reverses_balances_and_is_reported_apart() {
    let (store, _dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::spawn(store).await;
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");

    let rent = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"description": "Rent", "amount": "800.00", "paid_by": ann.id,
            "split": {"type": "equal"}, "category": "rent"}),
        )
        .send()
        .await
        .expect(201);
    assert_eq!(rent["kind"], "expense", "the default kind");
    let deposit = app
        .post(&format!("{base}/expenses"))
        .token(&bob.token)
        .json(
            json!({"kind": "income", "description": "Deposit back", "amount": "300.00",
            "paid_by": bob.id, "split": {"type": "equal"}, "category": "rent"}),
        )
        .send()
        .await
        .expect(201);
    assert_eq!(deposit["kind"], "income");
    assert_eq!(sum(&deposit["payers"]), 30000);
    assert_eq!(sum(&deposit["shares"]), 30000);

    let balances = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let members = &balances["balances"][0]["members"];
    let of = |id: &str| {
        members
            .as_array()
            .and_then(|m| m.iter().find(|x| x["user_id"] == id))
            .cloned()
            .unwrap_or(Value::Null)
    };
    // Ann: paid 800 and owes 400 of rent; Bob holds her 150 of the deposit: +550.
    assert_eq!(of(&ann.id)["net"], "550.00");
    assert_eq!(
        of(&ann.id)["owed"],
        "250.00",
        "a 150.00 share of income lowers owed"
    );
    // Bob received 300 (paid −300) and owes 400 − 150 = 250: −550.
    assert_eq!(of(&bob.id)["paid"], "-300.00");
    assert_eq!(of(&bob.id)["net"], "-550.00");
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        plan["transfers"],
        json!([{"from": bob.id, "to": ann.id, "amount": "550.00", "currency": "EUR"}])
    );

    // The browser module computes the same balances from the listed expenses, kinds included.
    let all = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let input: LedgerInput =
        serde_json::from_value(json!({"expenses": all["items"], "settlements": []}))
            .unwrap_or_else(|e| panic!("{e}"));
    let browser = serde_json::to_value(preview::balances(&input).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut server = balances.clone();
    for m in server["balances"][0]["members"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        m.as_object_mut().map(|o| o.remove("display_name"));
    }
    assert_eq!(server, browser);
    // And `allocate` with `kind: "income"` predicts the rows the server stores for that id.
    let id = "0192f0c4-7b1e-7a3c-9d2e-000000000042";
    let split = json!({"type": "shares", "shares": [
        {"user_id": ann.id, "weight": "2"}, {"user_id": bob.id, "weight": "1"}]});
    let input: preview::AllocateInput = serde_json::from_value(json!({
        "id": id, "kind": "income", "members": [ann.id, bob.id], "amount": "10.00",
        "currency": "EUR", "paid_by": ann.id, "split": split}))
    .unwrap_or_else(|e| panic!("{e}"));
    let predicted =
        serde_json::to_value(preview::allocate(&input).unwrap_or_else(|e| panic!("{e:?}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let refund = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"id": id, "kind": "income", "description": "Refund", "amount": "10.00",
            "paid_by": ann.id, "split": split}),
        )
        .send()
        .await
        .expect(201);
    assert_eq!(
        (&refund["payers"], &refund["shares"]),
        (&predicted["payers"], &predicted["shares"])
    );
    app.delete(&format!("{base}/expenses/{id}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);

    let listed = |kind: &'static str| {
        app.get(&format!("{base}/expenses?kind={kind}"))
            .token(&ann.token)
            .send()
    };
    let income = listed("income").await.expect(200);
    assert_eq!(income["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(income["items"][0]["id"], deposit["id"]);
    let spent = listed("expense").await.expect(200);
    assert_eq!(spent["items"][0]["id"], rent["id"]);
    listed("gift").await.expect(400);

    let summary = app
        .get(&format!("{base}/summary?by=category"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        summary["items"],
        json!([
            {"key": "rent", "kind": "expense", "currency": "EUR", "amount": "800.00", "count": 1},
            {"key": "rent", "kind": "income", "currency": "EUR", "amount": "300.00", "count": 1},
        ]),
        "spending and income are totalled apart"
    );

    let csv = app
        .get(&format!("{base}/export?format=csv"))
        .token(&ann.token)
        .send()
        .await
        .text;
    let line = csv
        .lines()
        .find(|l| l.starts_with("income,") && l.contains(&bob.id))
        .unwrap_or_default();
    assert!(line.ends_with(",-300.00,-150.00,,"), "{csv}");

    // An unknown kind is refused and writes nothing.
    app.post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"kind": "gift", "description": "x", "amount": "1.00", "paid_by": ann.id,
            "split": {"type": "equal"}}),
        )
        .send()
        .await
        .expect(400);
    let all = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
}

/// An expense paid in dollars and booked in euros: the answer is in the group's currency and
/// keeps what was entered, the browser module's `allocate` predicts it exactly, and the
/// rate's rules answer with their codes (on SQLite, so the stored `original` round-trips).
#[tokio::test]
async fn an_expense_booked_from_another_currency_keeps_its_original() {
    let (store, _dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::spawn(store).await;
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");
    let id = "0192f0c4-7b1e-7a3c-9d2e-4f5a6b7c8d01";
    let split = json!({"type": "equal"});
    let created = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(
            json!({"id": id, "description": "Diner", "amount": "25.01", "currency": "USD",
            "exchange_rate": "0.9215", "paid_by": ann.id, "split": split}),
        )
        .send()
        .await
        .expect(201);
    // 25.01 × 0.9215 = 23.046715 → 23.05 EUR; the shares 12.51 and 12.50 USD convert to
    // 11.527965 and 11.51875 → floors 11.52 and 11.51 (23.03), and the two cents left over
    // go one to each row: 11.53 and 11.52.
    assert_eq!(
        (&created["amount"], &created["currency"]),
        (&json!("23.05"), &json!("EUR"))
    );
    assert_eq!(sum(&created["shares"]), 2305);
    let mut shares: Vec<String> = (created["shares"].as_array().into_iter().flatten())
        .map(|p| s(&p["amount"]))
        .collect();
    shares.sort();
    assert_eq!(shares, ["11.52", "11.53"]);
    assert_eq!(created["original"]["amount"], "25.01");
    assert_eq!(created["original"]["currency"], "USD");
    assert_eq!(created["original"]["exchange_rate"], "0.9215");
    assert_eq!(sum(&created["original"]["shares"]), 2501);

    let input: preview::AllocateInput = serde_json::from_value(json!({
        "id": id, "members": [ann.id, bob.id], "amount": "25.01", "currency": "USD",
        "exchange_rate": "0.9215", "group_currency": "EUR", "paid_by": ann.id, "split": split}))
    .unwrap_or_else(|e| panic!("{e}"));
    let predicted =
        serde_json::to_value(preview::allocate(&input).unwrap_or_else(|e| panic!("{e:?}")))
            .unwrap_or_else(|e| panic!("{e}"));
    for field in ["payers", "shares", "amount", "currency", "original"] {
        assert_eq!(created[field], predicted[field], "{field}");
    }
    let read = app
        .get(&format!("{base}/expenses/{id}"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(read, created);

    for (body, status, code) in [
        (
            json!({"exchange_rate": "0.9", "currency": "EUR"}),
            422,
            "exchange_rate_same_currency",
        ),
        (
            json!({"exchange_rate": "0.9"}),
            422,
            "exchange_rate_same_currency",
        ),
        (
            json!({"exchange_rate": "0", "currency": "USD"}),
            422,
            "rate_not_positive",
        ),
        (
            json!({"exchange_rate": "1.0000000000001", "currency": "USD"}),
            422,
            "rate_too_precise",
        ),
    ] {
        let mut full = json!({"description": "x", "amount": "1.00", "paid_by": ann.id,
            "split": {"type": "equal"}});
        for (k, v) in body.as_object().into_iter().flatten() {
            full[k] = v.clone();
        }
        let problem = app
            .post(&format!("{base}/expenses"))
            .token(&ann.token)
            .json(full)
            .send()
            .await
            .problem(status, "validation_failed");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "exchange_rate");
    }
    let all = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        all["items"].as_array().map(Vec::len),
        Some(1),
        "refusals wrote nothing"
    );
}

/// A trip through two currencies settled in one (on PostgreSQL): dollar and euro expenses,
/// a conversion of the dollar balances into euros, a plan in euros only that settles
/// everything, the conversion listed, refused when it would do nothing, and undone exactly.
#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn a_trip_in_two_currencies_settles_in_one_after_a_conversion(pool: sqlx::PgPool) {
    let app = TestApp::spawn(splitledger_storage_sqlx::PgStorage::from_pool(pool)).await;
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let cat = app.user("cat@example.com", "Cat").await;
    let g = app.group(&ann, "Road trip").await;
    app.add(&ann, &g, &bob, "member").await;
    app.add(&ann, &g, &cat, "member").await;
    let base = format!("/api/v1/groups/{g}");
    for (who, amount, currency) in [
        (&ann, "120.00", "USD"),
        (&bob, "45.50", "USD"),
        (&cat, "60.00", "EUR"),
    ] {
        app.post(&format!("{base}/expenses"))
            .token(&who.token)
            .json(
                json!({"description": "Fuel", "amount": amount, "currency": currency,
                "paid_by": who.id, "split": {"type": "equal"}}),
            )
            .send()
            .await
            .expect(201);
    }
    let before = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let convert = |who: &User, body: Value| {
        app.post(&format!("{base}/conversions"))
            .token(&who.token)
            .json(body)
            .send()
    };
    let body = json!({"from_currency": "USD", "to_currency": "EUR", "exchange_rate": "0.9215",
        "note": "home again"});
    convert(&bob, body.clone()).await.problem(403, "forbidden");
    let c = convert(&ann, body.clone()).await.expect(201);
    assert_eq!(c["rows"].as_array().map(Vec::len), Some(3));
    let to: i64 = (c["rows"].as_array().into_iter().flatten())
        .map(|r| {
            s(&r["to_amount"])
                .replace('.', "")
                .parse::<i64>()
                .unwrap_or(i64::MIN)
        })
        .sum();
    assert_eq!(to, 0, "the converted nets add up to zero: {c}");

    let balances = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    for block in balances["balances"].as_array().into_iter().flatten() {
        let nets: i64 = (block["members"].as_array().into_iter().flatten())
            .map(|m| {
                s(&m["net"])
                    .replace('.', "")
                    .parse::<i64>()
                    .unwrap_or(i64::MIN)
            })
            .sum();
        assert_eq!(nets, 0, "{block}");
        if block["currency"] == "USD" {
            for m in block["members"].as_array().into_iter().flatten() {
                assert_eq!(m["net"], "0.00", "every dollar balance moved: {block}");
            }
        }
    }
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&cat.token)
        .send()
        .await
        .expect(200);
    let transfers = plan["transfers"].as_array().cloned().unwrap_or_default();
    assert!(!transfers.is_empty());
    assert!(transfers.iter().all(|t| t["currency"] == "EUR"), "{plan}");
    let debts = app
        .get(&format!("{base}/debts"))
        .token(&cat.token)
        .send()
        .await
        .expect(200);
    assert!(
        debts["debts"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|d| d["currency"] == "EUR"),
        "{debts}"
    );

    let listed = app
        .get(&format!("{base}/conversions"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["id"], c["id"]);
    assert_eq!(listed["items"][0]["note"], "home again");
    let again = convert(&ann, body.clone())
        .await
        .problem(422, "validation_failed");
    assert_eq!(again["errors"][0]["code"], "nothing_to_convert");
    let same = json!({"from_currency": "EUR", "to_currency": "EUR", "exchange_rate": "1"});
    let same = convert(&ann, same).await.problem(422, "validation_failed");
    assert_eq!(same["errors"][0]["code"], "same_currency");

    let id = s(&c["id"]);
    app.delete(&format!("{base}/conversions/{id}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    let after = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(after, before, "undone exactly");
    app.delete(&format!("{base}/conversions/{id}"))
        .token(&ann.token)
        .send()
        .await
        .problem(404, "not_found");
}
