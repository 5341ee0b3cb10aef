//! The authorization matrix: outsiders see nothing (404 everywhere), and what member, admin
//! and owner may and may not do.

use poem::http::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, s};

struct World {
    app: TestApp,
    owner: User,
    admin: User,
    member: User,
    outsider: User,
    group: String,
    expense: String,
    settlement: String,
    series: String,
}

async fn world() -> World {
    let app = TestApp::memory();
    let owner = app.user("owner@example.com", "Owner").await;
    let admin = app.user("admin@example.com", "Admin").await;
    let member = app.user("member@example.com", "Member").await;
    let outsider = app.user("outsider@example.com", "Outsider").await;
    let group = app.group(&owner, "Flat").await;
    app.add(&owner, &group, &admin, "admin").await;
    app.add(&owner, &group, &member, "member").await;
    let expense = s(&app.expense(&owner, &group, &owner, "30.00").await["id"]);
    let settlement = app
        .post(&format!("/api/v1/groups/{group}/settlements"))
        .token(&owner.token)
        .json(json!({"from_user": admin.id, "to_user": owner.id, "amount": "5.00"}))
        .send()
        .await
        .expect(201);
    let series = app
        .post(&format!("/api/v1/groups/{group}/recurring"))
        .token(&owner.token)
        .json(series_body(&owner.id))
        .send()
        .await
        .expect(201);
    World {
        series: s(&series["id"]),
        app,
        owner,
        admin,
        member,
        outsider,
        group,
        settlement: s(&settlement["id"]),
        expense,
    }
}

/// A monthly series paid by `payer`, from today.
fn series_body(payer: &str) -> Value {
    json!({
        "expense": {"description": "Rent", "amount": "10.00", "paid_by": payer, "split": {"type": "equal"}},
        "every": "month",
        "starts_on": time::OffsetDateTime::now_utc().date().to_string(),
    })
}

#[tokio::test]
async fn outsiders_get_404_on_every_group_scoped_endpoint() {
    let w = world().await;
    let (g, e, st) = (&w.group, &w.expense, &w.settlement);
    let m = &w.member.id;
    let expense_body = json!({"description": "x", "amount": "1.00", "paid_by": w.outsider.id, "split": {"type": "equal"}});
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/groups/{g}"), None),
        (
            Method::PATCH,
            format!("/groups/{g}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("/groups/{g}"), None),
        (Method::GET, format!("/groups/{g}/members"), None),
        (
            Method::POST,
            format!("/groups/{g}/members"),
            Some(json!({"email": "outsider@example.com"})),
        ),
        (
            Method::PATCH,
            format!("/groups/{g}/members/{m}"),
            Some(json!({"role": "admin"})),
        ),
        (Method::DELETE, format!("/groups/{g}/members/{m}"), None),
        (
            Method::POST,
            format!("/groups/{g}/invites"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/groups/{g}/expenses"),
            Some(expense_body),
        ),
        (Method::GET, format!("/groups/{g}/expenses"), None),
        (Method::GET, format!("/groups/{g}/expenses/{e}"), None),
        (
            Method::PATCH,
            format!("/groups/{g}/expenses/{e}"),
            Some(json!({"version": 1, "description": "x"})),
        ),
        (Method::DELETE, format!("/groups/{g}/expenses/{e}"), None),
        (
            Method::POST,
            format!("/groups/{g}/settlements"),
            Some(json!({"from_user": w.outsider.id, "to_user": w.owner.id, "amount": "1.00"})),
        ),
        (Method::GET, format!("/groups/{g}/settlements"), None),
        (
            Method::DELETE,
            format!("/groups/{g}/settlements/{st}"),
            None,
        ),
        (Method::GET, format!("/groups/{g}/balances"), None),
        (Method::GET, format!("/groups/{g}/debts"), None),
        (Method::GET, format!("/groups/{g}/settlement-plan"), None),
        (Method::GET, format!("/groups/{g}/activity"), None),
        (Method::GET, format!("/groups/{g}/summary?by=member"), None),
        (Method::GET, format!("/groups/{g}/export"), None),
        (Method::GET, format!("/groups/{g}/export?format=csv"), None),
        (
            Method::POST,
            format!("/groups/{g}/recurring"),
            Some(series_body(&w.outsider.id)),
        ),
        (Method::GET, format!("/groups/{g}/recurring"), None),
        (
            Method::GET,
            format!("/groups/{g}/recurring/{}", w.series),
            None,
        ),
        (
            Method::PATCH,
            format!("/groups/{g}/recurring/{}", w.series),
            Some(json!({"paused": true})),
        ),
        (
            Method::DELETE,
            format!("/groups/{g}/recurring/{}", w.series),
            None,
        ),
    ];
    for (method, path, body) in cases {
        let mut req = w
            .app
            .req(method.clone(), &format!("/api/v1{path}"))
            .token(&w.outsider.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
        r.problem(404, "not_found");
    }
    // And nothing changed for the members.
    let g = w
        .app
        .get(&format!("/api/v1/groups/{g}"))
        .token(&w.owner.token)
        .send()
        .await
        .expect(200);
    assert_eq!(g["name"], "Flat");
    assert_eq!(g["members"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn members_add_spending_but_do_not_manage() {
    let w = world().await;
    let (app, g) = (&w.app, &w.group);
    let t = &w.member.token;
    app.patch(&format!("/api/v1/groups/{g}"))
        .token(t)
        .json(json!({"name": "Mine"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/groups/{g}"))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    app.post(&format!("/api/v1/groups/{g}/members"))
        .token(t)
        .json(json!({"email": "outsider@example.com"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.patch(&format!("/api/v1/groups/{g}/members/{}", w.admin.id))
        .token(t)
        .json(json!({"role": "member"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/groups/{g}/members/{}", w.admin.id))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    app.post(&format!("/api/v1/groups/{g}/invites"))
        .token(t)
        .json(json!({}))
        .send()
        .await
        .problem(403, "forbidden");
    // Someone else's expense and repayment.
    app.patch(&format!("/api/v1/groups/{g}/expenses/{}", w.expense))
        .token(t)
        .json(json!({"version": 1, "description": "mine"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/groups/{g}/expenses/{}", w.expense))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/groups/{g}/settlements/{}", w.settlement))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    // What members may do: record spending and repayments, edit their own expenses.
    let own = app.expense(&w.member, g, &w.member, "9.00").await;
    app.patch(&format!("/api/v1/groups/{g}/expenses/{}", s(&own["id"])))
        .token(t)
        .json(json!({"version": 1, "description": "mine"}))
        .send()
        .await
        .expect(200);
    app.post(&format!("/api/v1/groups/{g}/settlements"))
        .token(t)
        .json(json!({"from_user": w.member.id, "to_user": w.owner.id, "amount": "3.00"}))
        .send()
        .await
        .expect(201);
    for path in [
        "balances",
        "debts",
        "settlement-plan",
        "activity",
        "summary",
        "export",
        "members",
        "expenses",
        "settlements",
    ] {
        app.get(&format!("/api/v1/groups/{g}/{path}"))
            .token(t)
            .send()
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn admins_manage_members_and_any_expense_but_not_the_group_itself() {
    let w = world().await;
    let (app, g) = (&w.app, &w.group);
    let t = &w.admin.token;
    app.patch(&format!("/api/v1/groups/{g}"))
        .token(t)
        .json(json!({"name": "Renamed"}))
        .send()
        .await
        .expect(200);
    app.delete(&format!("/api/v1/groups/{g}"))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    app.patch(&format!("/api/v1/groups/{g}/members/{}", w.member.id))
        .token(t)
        .json(json!({"role": "admin"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.post(&format!("/api/v1/groups/{g}/members"))
        .token(t)
        .json(json!({"email": "outsider@example.com", "role": "admin"}))
        .send()
        .await
        .problem(403, "forbidden");
    app.post(&format!("/api/v1/groups/{g}/invites"))
        .token(t)
        .json(json!({}))
        .send()
        .await
        .expect(201);
    app.patch(&format!("/api/v1/groups/{g}/expenses/{}", w.expense))
        .token(t)
        .json(json!({"version": 1, "notes": "checked"}))
        .send()
        .await
        .expect(200);
    app.post(&format!("/api/v1/groups/{g}/members"))
        .token(t)
        .json(json!({"email": "outsider@example.com"}))
        .send()
        .await
        .expect(201);
    app.delete(&format!("/api/v1/groups/{g}/members/{}", w.outsider.id))
        .token(t)
        .send()
        .await
        .expect(204);
    app.delete(&format!("/api/v1/groups/{g}/members/{}", w.owner.id))
        .token(t)
        .send()
        .await
        .problem(409, "owner_cannot_leave");
    // The member owes a share of the 30.00 expense: not removable until settled.
    app.delete(&format!("/api/v1/groups/{g}/members/{}", w.member.id))
        .token(t)
        .send()
        .await
        .problem(409, "balance_not_zero");
}

#[tokio::test]
async fn owners_do_everything_including_transferring_ownership() {
    let w = world().await;
    let (app, g) = (&w.app, &w.group);
    let t = &w.owner.token;
    app.patch(&format!("/api/v1/groups/{g}/members/{}", w.member.id))
        .token(t)
        .json(json!({"role": "admin"}))
        .send()
        .await
        .expect(200);
    let m = app
        .patch(&format!("/api/v1/groups/{g}/members/{}", w.admin.id))
        .token(t)
        .json(json!({"role": "owner"}))
        .send()
        .await
        .expect(200);
    assert_eq!(m["role"], "owner");
    let me = app
        .get(&format!("/api/v1/groups/{g}"))
        .token(t)
        .send()
        .await
        .expect(200);
    assert_eq!(me["my_role"], "admin");
    app.delete(&format!("/api/v1/groups/{g}"))
        .token(t)
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/groups/{g}"))
        .token(&w.admin.token)
        .send()
        .await
        .expect(204);
}

#[tokio::test]
async fn series_are_changed_by_their_creator_an_admin_or_the_owner() {
    let w = world().await;
    let (app, g) = (&w.app, &w.group);
    let owners = format!("/api/v1/groups/{g}/recurring/{}", w.series);
    // A member reads the owner's series but may not change or delete it.
    app.get(&owners)
        .token(&w.member.token)
        .send()
        .await
        .expect(200);
    app.patch(&owners)
        .token(&w.member.token)
        .json(json!({"paused": true}))
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&owners)
        .token(&w.member.token)
        .send()
        .await
        .problem(403, "forbidden");
    // Any member creates one, and changes and deletes their own.
    let own = app
        .post(&format!("/api/v1/groups/{g}/recurring"))
        .token(&w.member.token)
        .json(series_body(&w.member.id))
        .send()
        .await
        .expect(201);
    let own = format!("/api/v1/groups/{g}/recurring/{}", s(&own["id"]));
    let paused = app
        .patch(&own)
        .token(&w.member.token)
        .json(json!({"paused": true}))
        .send()
        .await
        .expect(200);
    assert_eq!(paused["paused"], true);
    // An admin changes anyone's; the owner deletes anyone's.
    app.patch(&owners)
        .token(&w.admin.token)
        .json(json!({"paused": true}))
        .send()
        .await
        .expect(200);
    app.delete(&own)
        .token(&w.owner.token)
        .send()
        .await
        .expect(204);
    app.delete(&owners)
        .token(&w.admin.token)
        .send()
        .await
        .expect(204);
    let left = app
        .get(&format!("/api/v1/groups/{g}/recurring"))
        .token(&w.member.token)
        .send()
        .await
        .expect(200);
    assert_eq!(left["items"], json!([]));
}

#[tokio::test]
async fn receipts_and_comments_follow_the_group_and_expense_rules() {
    use crate::files::{PNG, form};
    let w = world().await;
    let (g, e) = (&w.group, &w.expense);
    let base = format!("/api/v1/groups/{g}/expenses/{e}");
    let upload = |who: &User| {
        let (ct, body) = form("r.png", "image/png", PNG);
        w.app
            .post(&format!("{base}/attachments"))
            .token(&who.token)
            .raw(&ct, body)
    };
    // The owner created and paid the expense; the admin may edit any expense.
    let a = s(&upload(&w.owner).send().await.expect(201)["id"]);
    let c = s(&w
        .app
        .post(&format!("{base}/comments"))
        .token(&w.member.token)
        .json(json!({"text": "mine"}))
        .send()
        .await
        .expect(201)["id"]);

    // Outsiders: 404 on every route, even naming the ids.
    let outsider = &w.outsider;
    upload(outsider).send().await.problem(404, "not_found");
    for (method, path) in [
        (Method::GET, format!("{base}/attachments")),
        (Method::GET, format!("{base}/attachments/{a}")),
        (Method::DELETE, format!("{base}/attachments/{a}")),
        (Method::GET, format!("{base}/comments")),
        (Method::DELETE, format!("{base}/comments/{c}")),
    ] {
        w.app
            .req(method.clone(), &path)
            .token(&outsider.token)
            .send()
            .await
            .problem(404, "not_found");
    }
    w.app
        .post(&format!("{base}/comments"))
        .token(&outsider.token)
        .json(json!({"text": "hi"}))
        .send()
        .await
        .problem(404, "not_found");

    // A plain member reads and comments, but neither attaches to nor removes from an
    // expense they may not edit, nor deletes someone else's comment.
    let member = &w.member;
    for path in [
        format!("{base}/attachments"),
        format!("{base}/attachments/{a}"),
        format!("{base}/comments"),
    ] {
        w.app
            .get(&path)
            .token(&member.token)
            .send()
            .await
            .expect(200);
    }
    upload(member).send().await.problem(403, "forbidden");
    w.app
        .delete(&format!("{base}/attachments/{a}"))
        .token(&member.token)
        .send()
        .await
        .problem(403, "forbidden");
    let owners = s(&w
        .app
        .post(&format!("{base}/comments"))
        .token(&w.owner.token)
        .json(json!({"text": "the owner's"}))
        .send()
        .await
        .expect(201)["id"]);
    w.app
        .delete(&format!("{base}/comments/{owners}"))
        .token(&member.token)
        .send()
        .await
        .problem(403, "forbidden");

    // An admin may edit any expense and delete any comment.
    upload(&w.admin).send().await.expect(201);
    w.app
        .delete(&format!("{base}/attachments/{a}"))
        .token(&w.admin.token)
        .send()
        .await
        .expect(204);
    w.app
        .delete(&format!("{base}/comments/{c}"))
        .token(&w.admin.token)
        .send()
        .await
        .expect(204);
    // The owner may delete any comment, their own included.
    w.app
        .delete(&format!("{base}/comments/{owners}"))
        .token(&w.owner.token)
        .send()
        .await
        .expect(204);
}
