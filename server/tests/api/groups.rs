//! Groups, members, roles and invites: the happy paths and their refusals.

use serde_json::{Value, json};

use crate::helpers::{TestApp, s};

#[tokio::test]
async fn groups_members_and_invites() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let cat = app.user("cat@example.com", "Cat").await;

    let g = app
        .post("/api/v1/groups")
        .token(&ann.token)
        .json(json!({"name": "Lisbon trip", "description": "May", "currency": "eur"}))
        .send()
        .await
        .expect(201);
    assert_eq!(g["my_role"], "owner");
    assert_eq!(g["currency"], "EUR");
    assert_eq!(g["created_by"], ann.id.as_str());
    let gid = s(&g["id"]);
    app.group(&ann, "Flat").await;

    let list = app
        .get("/api/v1/groups")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let list = app
        .get("/api/v1/groups?q=LISBON&limit=1")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"][0]["id"], gid.as_str());
    assert_eq!(list["next_cursor"], serde_json::Value::Null);
    let page1 = app
        .get("/api/v1/groups?limit=1")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let cursor = s(&page1["next_cursor"]);
    let page2 = app
        .get(&format!("/api/v1/groups?limit=1&cursor={cursor}"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);

    let m = app
        .post(&format!("/api/v1/groups/{gid}/members"))
        .token(&ann.token)
        .json(json!({"email": "BOB@example.com"}))
        .send()
        .await
        .expect(201);
    assert_eq!(m["role"], "member");
    assert_eq!(m["user_id"], bob.id.as_str());
    app.post(&format!("/api/v1/groups/{gid}/members"))
        .token(&ann.token)
        .json(json!({"email": "bob@example.com"}))
        .send()
        .await
        .problem(409, "already_member");
    app.post(&format!("/api/v1/groups/{gid}/members"))
        .token(&ann.token)
        .json(json!({"email": "nobody@example.com"}))
        .send()
        .await
        .problem(404, "not_found");

    let detail = app
        .get(&format!("/api/v1/groups/{gid}"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(detail["my_role"], "member");
    assert_eq!(detail["members"].as_array().map(Vec::len), Some(2));

    let updated = app
        .patch(&format!("/api/v1/groups/{gid}"))
        .token(&ann.token)
        .json(json!({"name": "Porto trip", "description": null}))
        .send()
        .await
        .expect(200);
    assert_eq!(updated["name"], "Porto trip");
    assert_eq!(updated["description"], serde_json::Value::Null);

    let role = app
        .patch(&format!("/api/v1/groups/{gid}/members/{}", bob.id))
        .token(&ann.token)
        .json(json!({"role": "admin"}))
        .send()
        .await
        .expect(200);
    assert_eq!(role["role"], "admin");

    let invite = app
        .post(&format!("/api/v1/groups/{gid}/invites"))
        .token(&bob.token)
        .json(json!({"expires_in_hours": 2}))
        .send()
        .await
        .expect(201);
    let code = s(&invite["code"]);
    let joined = app
        .post(&format!("/api/v1/invites/{code}/accept"))
        .token(&cat.token)
        .send()
        .await
        .expect(200);
    assert_eq!(joined["id"], gid.as_str());
    assert_eq!(joined["my_role"], "member");
    app.post("/api/v1/invites/unknown-code/accept")
        .token(&cat.token)
        .send()
        .await
        .problem(404, "not_found");

    let members = app
        .get(&format!("/api/v1/groups/{gid}/members"))
        .token(&cat.token)
        .send()
        .await
        .expect(200);
    let roles: Vec<String> = members
        .as_array()
        .map(|a| a.iter().map(|m| s(&m["role"])).collect())
        .unwrap_or_default();
    assert_eq!(roles, ["owner", "admin", "member"]);

    // Cat leaves; Bob is removed by the owner; the owner cannot leave.
    app.delete(&format!("/api/v1/groups/{gid}/members/{}", cat.id))
        .token(&cat.token)
        .send()
        .await
        .expect(204);
    app.delete(&format!("/api/v1/groups/{gid}/members/{}", bob.id))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    app.delete(&format!("/api/v1/groups/{gid}/members/{}", ann.id))
        .token(&ann.token)
        .send()
        .await
        .problem(409, "owner_cannot_leave");

    app.delete(&format!("/api/v1/groups/{gid}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    app.get(&format!("/api/v1/groups/{gid}"))
        .token(&ann.token)
        .send()
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn group_validation_writes_nothing() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let cases = [
        (json!({"name": "", "currency": "EUR"}), "name"),
        (json!({"name": "x".repeat(101), "currency": "EUR"}), "name"),
        (json!({"name": "Trip", "currency": "XXX"}), "currency"),
        (json!({"name": "Trip", "currency": "EURO"}), "currency"),
        (
            json!({"name": "Trip", "currency": "EUR", "description": "d".repeat(1001)}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let p = app
            .post("/api/v1/groups")
            .token(&ann.token)
            .json(body.clone())
            .send()
            .await
            .problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], field, "{body}");
        assert!(p["errors"][0]["code"].is_string());
        let list = app
            .get("/api/v1/groups")
            .token(&ann.token)
            .send()
            .await
            .expect(200);
        assert_eq!(list["items"], json!([]), "{body}");
    }
    let gid = app.group(&ann, "Trip").await;
    let before = app
        .get(&format!("/api/v1/groups/{gid}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    for body in [json!({"name": ""}), json!({"currency": "ABC"})] {
        app.patch(&format!("/api/v1/groups/{gid}"))
            .token(&ann.token)
            .json(body)
            .send()
            .await
            .problem(422, "validation_failed");
    }
    for body in [
        json!({"expires_in_hours": 0}),
        json!({"expires_in_hours": 721}),
    ] {
        app.post(&format!("/api/v1/groups/{gid}/invites"))
            .token(&ann.token)
            .json(body)
            .send()
            .await
            .problem(422, "validation_failed");
    }
    app.post(&format!("/api/v1/groups/{gid}/members"))
        .token(&ann.token)
        .json(json!({"email": "not an email"}))
        .send()
        .await
        .problem(422, "validation_failed");
    let after = app
        .get(&format!("/api/v1/groups/{gid}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(before, after);
}

/// A placeholder's story over HTTP on SQLite: Grandpa, who has no account, is added by name,
/// pays and shares; a claim code hands his place to Gil, whose balances then equal his to the
/// minor unit, and the placeholder is gone.
#[tokio::test]
async fn a_placeholder_pays_and_shares_and_is_claimed() {
    let (store, _dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::spawn(store).await;
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let gil = app.user("gil@example.com", "Gil").await;
    let g = app.group(&ann, "Family").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");

    let grandpa = app
        .post(&format!("{base}/members"))
        .token(&ann.token)
        .json(json!({"display_name": "Grandpa"}))
        .send()
        .await
        .expect(201);
    assert_eq!(grandpa["placeholder"], true);
    assert_eq!(grandpa["email"], Value::Null);
    let gp = s(&grandpa["user_id"]);
    let admin = app
        .post(&format!("{base}/members"))
        .token(&ann.token)
        .json(json!({"display_name": "Granny", "role": "admin"}))
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(admin["errors"][0]["code"], "placeholder_role");
    app.post(&format!("{base}/members"))
        .token(&ann.token)
        .json(json!({"role": "member"}))
        .send()
        .await
        .problem(422, "validation_failed");

    for (payer, amount) in [(gp.as_str(), "90.00"), (bob.id.as_str(), "33.00")] {
        app.post(&format!("{base}/expenses"))
            .token(&ann.token)
            .json(
                json!({"description": "Groceries", "amount": amount, "paid_by": payer,
                "split": {"type": "equal"}}),
            )
            .send()
            .await
            .expect(201);
    }
    let nets = |balances: &Value| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = (balances["balances"][0]["members"].as_array())
            .into_iter()
            .flatten()
            .map(|m| (s(&m["user_id"]), s(&m["net"])))
            .collect();
        out.sort();
        out
    };
    let before = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    let grandpas: String = (nets(&before).into_iter())
        .find(|(u, _)| *u == gp)
        .map(|(_, n)| n)
        .unwrap_or_default();
    assert_eq!(grandpas, "49.00", "paid 90.00, owes a third of 123.00");

    app.post(&format!("{base}/members/{}/claim", bob.id))
        .token(&ann.token)
        .json(json!({}))
        .send()
        .await
        .problem(409, "not_a_placeholder");
    let claim = app
        .post(&format!("{base}/members/{gp}/claim"))
        .token(&ann.token)
        .json(json!({"expires_in_hours": 24}))
        .send()
        .await
        .expect(201);
    let code = s(&claim["code"]);
    app.post(&format!("/api/v1/invites/{code}/accept"))
        .token(&bob.token)
        .send()
        .await
        .problem(409, "already_member");
    app.post(&format!("/api/v1/invites/{code}/accept"))
        .token(&gil.token)
        .send()
        .await
        .expect(200);

    let after = app
        .get(&format!("{base}/balances"))
        .token(&gil.token)
        .send()
        .await
        .expect(200);
    let expected: Vec<(String, String)> = {
        let mut v: Vec<(String, String)> = (nets(&before).into_iter())
            .map(|(u, n)| (if u == gp { gil.id.clone() } else { u }, n))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        nets(&after),
        expected,
        "Gil's balances are Grandpa's to the cent"
    );
    let members = app
        .get(&format!("{base}/members"))
        .token(&gil.token)
        .send()
        .await
        .expect(200);
    let ids: Vec<String> = (members.as_array().into_iter().flatten())
        .map(|m| s(&m["user_id"]))
        .collect();
    assert!(ids.contains(&gil.id) && !ids.contains(&gp), "{members}");
    let expenses = app
        .get(&format!("{base}/expenses"))
        .token(&gil.token)
        .send()
        .await
        .expect(200);
    assert!(expenses.to_string().contains(&gil.id) && !expenses.to_string().contains(&gp));
}
