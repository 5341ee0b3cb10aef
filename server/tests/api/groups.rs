//! Groups, members, roles and invites: the happy paths and their refusals.

use serde_json::json;

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
