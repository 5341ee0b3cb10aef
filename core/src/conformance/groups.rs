//! Groups and members: groups, roles and what each may do, members, invites and the
//! zero-balance rule for leaving.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Fixture, assert_code, assert_field, eur, expense_input, settlement_input};
use crate::Storage;
use crate::domain::{GroupId, Role, SummaryBy, UserId};
use crate::ledger::{
    AddMember, AddPlaceholder, ExpensePatch, GroupPatch, ListExpenses, ListGroups, NewGroup,
    NewInvite, PageRequest, SummaryRequest,
};
use crate::split::SplitInput;

/// Groups: creation, listing with search and pages, settings, deletion.
pub async fn groups<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let new = |name: &str, currency: &str| NewGroup {
        name: name.into(),
        description: Some("  ".into()),
        currency: currency.into(),
    };
    assert_field(
        f.ledger.create_group(ann.id, new("", "EUR")).await,
        "name",
        "required",
    );
    assert_field(
        f.ledger.create_group(ann.id, new("Trip", "EURO")).await,
        "currency",
        "unknown_currency",
    );
    assert_field(
        f.ledger
            .create_group(ann.id, new(&"n".repeat(101), "EUR"))
            .await,
        "name",
        "too_long",
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        let g = f
            .ledger
            .create_group(ann.id, new(&format!("Trip {i}"), "eur"))
            .await
            .unwrap();
        assert_eq!(g.my_role, Role::Owner);
        assert_eq!(g.group.currency, eur());
        assert_eq!(g.group.description, None, "blank descriptions are none");
        ids.push(g.group.id);
    }
    let flat = f
        .ledger
        .create_group(ann.id, new("Flat share", "CHF"))
        .await
        .unwrap()
        .group
        .id;
    f.ledger
        .add_member(
            ann.id,
            flat,
            AddMember {
                email: "bob@example.com".into(),
                role: None,
            },
        )
        .await
        .unwrap();

    let page = |cursor: Option<String>| ListGroups {
        q: None,
        page: PageRequest {
            limit: Some(4),
            cursor,
        },
    };
    let first = f.ledger.list_groups(ann.id, page(None)).await.unwrap();
    assert_eq!(first.items.len(), 4);
    assert_eq!(first.items[0].group.id, flat, "newest first");
    let second = f
        .ledger
        .list_groups(ann.id, page(first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next_cursor, None);
    let trips = f
        .ledger
        .list_groups(
            ann.id,
            ListGroups {
                q: Some("TRIP".into()),
                page: PageRequest::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(trips.items.len(), 5);
    let bobs = f
        .ledger
        .list_groups(bob.id, ListGroups::default())
        .await
        .unwrap();
    assert_eq!(
        bobs.items
            .iter()
            .map(|g| (g.group.id, g.my_role))
            .collect::<Vec<_>>(),
        vec![(flat, Role::Member)]
    );
    assert_field(
        f.ledger
            .list_groups(
                ann.id,
                ListGroups {
                    q: None,
                    page: PageRequest {
                        limit: Some(0),
                        cursor: None,
                    },
                },
            )
            .await,
        "limit",
        "out_of_range",
    );
    assert_field(
        f.ledger
            .list_groups(
                ann.id,
                ListGroups {
                    q: None,
                    page: PageRequest {
                        limit: None,
                        cursor: Some("x".into()),
                    },
                },
            )
            .await,
        "cursor",
        "invalid_cursor",
    );

    let details = f.ledger.group(bob.id, flat).await.unwrap();
    assert_eq!(
        details
            .members
            .iter()
            .map(|m| m.user_id)
            .collect::<Vec<_>>(),
        vec![ann.id, bob.id],
        "join order"
    );
    let patch = GroupPatch {
        name: Some("Flat".into()),
        description: Some(Some("Rent and bills".into())),
        currency: Some("EUR".into()),
    };
    let updated = f.ledger.update_group(ann.id, flat, patch).await.unwrap();
    assert_eq!(
        (updated.group.name.as_str(), updated.group.currency),
        ("Flat", eur())
    );
    assert_eq!(updated.group.description.as_deref(), Some("Rent and bills"));
    assert_field(
        f.ledger
            .update_group(
                ann.id,
                flat,
                GroupPatch {
                    currency: Some("??".into()),
                    ..GroupPatch::default()
                },
            )
            .await,
        "currency",
        "unknown_currency",
    );
    assert_eq!(
        f.ledger.group(ann.id, flat).await.unwrap().view.group,
        updated.group
    );

    f.ledger.delete_group(ann.id, ids[0]).await.unwrap();
    assert_code(f.ledger.group(ann.id, ids[0]).await, "not_found");
    assert_eq!(
        f.ledger
            .list_groups(ann.id, ListGroups::default())
            .await
            .unwrap()
            .items
            .len(),
        5
    );
}

/// Outsiders see nothing; members, admins and the owner may do exactly what their role allows.
pub async fn permissions<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let owner = f.user("owner").await;
    let admin = f.user("admin").await;
    let member = f.user("member").await;
    let outsider = f.user("outsider").await;
    let g = f.group(&owner, &[&member]).await;
    f.ledger
        .add_member(
            owner.id,
            g,
            AddMember {
                email: "admin@example.com".into(),
                role: Some(Role::Admin),
            },
        )
        .await
        .unwrap();
    let e = f.expense(&owner, g, "30.00", &owner, &[]).await;
    let s = f
        .ledger
        .create_settlement(
            member.id,
            g,
            settlement_input(&member, &owner, "1.00"),
            None,
        )
        .await
        .unwrap();

    // An outsider gets "not found" from every group-scoped operation.
    let l = &f.ledger;
    let o = outsider.id;
    assert_code(l.group(o, g).await, "not_found");
    assert_code(l.members(o, g).await, "not_found");
    assert_code(
        l.update_group(o, g, GroupPatch::default()).await,
        "not_found",
    );
    assert_code(l.delete_group(o, g).await, "not_found");
    assert_code(
        l.add_member(
            o,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: None,
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.set_role(o, g, member.id, Role::Admin).await, "not_found");
    assert_code(l.remove_member(o, g, member.id).await, "not_found");
    assert_code(
        l.create_invite(o, g, NewInvite::default()).await,
        "not_found",
    );
    assert_code(
        l.create_expense(
            o,
            g,
            expense_input("1.00", o, SplitInput::Equal { members: None }),
            None,
        )
        .await,
        "not_found",
    );
    assert_code(
        l.list_expenses(o, g, ListExpenses::default()).await,
        "not_found",
    );
    assert_code(l.expense(o, g, e.id).await, "not_found");
    assert_code(
        l.update_expense(
            o,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                ..ExpensePatch::default()
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.delete_expense(o, g, e.id).await, "not_found");
    assert_code(
        l.create_settlement(o, g, settlement_input(&outsider, &owner, "1.00"), None)
            .await,
        "not_found",
    );
    assert_code(
        l.list_settlements(o, g, PageRequest::default()).await,
        "not_found",
    );
    assert_code(l.delete_settlement(o, g, s.id).await, "not_found");
    assert_code(l.balances(o, g).await, "not_found");
    assert_code(l.debts(o, g).await, "not_found");
    assert_code(l.settlement_plan(o, g).await, "not_found");
    assert_code(l.activity(o, g, PageRequest::default()).await, "not_found");
    assert_code(
        l.summary(
            o,
            g,
            SummaryRequest {
                by: SummaryBy::Category,
                from: None,
                to: None,
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.export(o, g).await, "not_found");
    // An unknown group looks the same as someone else's.
    assert_code(l.balances(owner.id, GroupId::random()).await, "not_found");
    // A member cannot read another group's expense through their own group id.
    let other = f.group(&outsider, &[]).await;
    assert_code(l.expense(outsider.id, other, e.id).await, "not_found");

    // A plain member.
    let m = member.id;
    assert_code(
        l.update_group(
            m,
            g,
            GroupPatch {
                name: Some("Mine".into()),
                ..GroupPatch::default()
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.delete_group(m, g).await, "forbidden");
    assert_code(
        l.add_member(
            m,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: None,
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.set_role(m, g, m, Role::Admin).await, "forbidden");
    assert_code(l.remove_member(m, g, admin.id).await, "forbidden");
    assert_code(
        l.create_invite(m, g, NewInvite::default()).await,
        "forbidden",
    );
    assert_code(
        l.update_expense(
            m,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                notes: Some(Some("x".into())),
                ..ExpensePatch::default()
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.delete_expense(m, g, e.id).await, "forbidden");
    assert!(
        l.create_settlement(m, g, settlement_input(&member, &admin, "1.00"), None)
            .await
            .is_ok()
    );

    // An admin.
    let a = admin.id;
    assert!(
        l.update_group(
            a,
            g,
            GroupPatch {
                name: Some("Renamed".into()),
                ..GroupPatch::default()
            }
        )
        .await
        .is_ok()
    );
    assert_code(l.delete_group(a, g).await, "forbidden");
    assert_code(l.set_role(a, g, m, Role::Admin).await, "forbidden");
    assert_code(
        l.add_member(
            a,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: Some(Role::Admin),
            },
        )
        .await,
        "forbidden",
    );
    assert!(l.create_invite(a, g, NewInvite::default()).await.is_ok());
    let edited = l
        .update_expense(
            a,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                notes: Some(Some("by admin".into())),
                ..ExpensePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert_code(l.remove_member(a, g, owner.id).await, "owner_cannot_leave");

    // The owner: roles and transfer of ownership.
    assert_code(
        l.set_role(owner.id, g, owner.id, Role::Admin).await,
        "owner_required",
    );
    assert_code(
        l.add_member(
            owner.id,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: Some(Role::Owner),
            },
        )
        .await,
        "validation_failed",
    );
    let promoted = l.set_role(owner.id, g, m, Role::Admin).await.unwrap();
    assert_eq!(promoted.role, Role::Admin);
    l.set_role(owner.id, g, a, Role::Owner).await.unwrap();
    let roles: BTreeMap<UserId, Role> = l
        .members(owner.id, g)
        .await
        .unwrap()
        .iter()
        .map(|x| (x.user_id, x.role))
        .collect();
    assert_eq!(roles[&a], Role::Owner);
    assert_eq!(
        roles[&owner.id],
        Role::Admin,
        "the previous owner becomes an admin"
    );
    assert_eq!(
        roles.values().filter(|r| **r == Role::Owner).count(),
        1,
        "one owner per group"
    );
    assert_code(l.delete_group(owner.id, g).await, "forbidden");
    l.delete_group(a, g).await.unwrap();
    assert_code(l.group(a, g).await, "not_found");
}

/// Members by email, invites, leaving, and the zero-balance rule.
pub async fn members_and_invites<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[]).await;
    let l = &f.ledger;
    assert_code(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "nobody@example.com".into(),
                role: None,
            },
        )
        .await,
        "not_found",
    );
    assert_field(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "bad".into(),
                role: None,
            },
        )
        .await,
        "email",
        "invalid_email",
    );
    let added = l
        .add_member(
            ann.id,
            g,
            AddMember {
                email: " BOB@example.com".into(),
                role: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (added.user_id, added.role, added.display_name.as_str()),
        (bob.id, Role::Member, "bob")
    );
    assert_code(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "bob@example.com".into(),
                role: None,
            },
        )
        .await,
        "already_member",
    );

    assert_field(
        l.create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(0),
            },
        )
        .await,
        "expires_in_hours",
        "out_of_range",
    );
    let invite = l
        .create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(2),
            },
        )
        .await
        .unwrap();
    assert!(invite.code.len() >= 20);
    let joined = l.accept_invite(cid.id, &invite.code).await.unwrap();
    assert_eq!((joined.group.id, joined.my_role), (g, Role::Member));
    assert_eq!(
        l.accept_invite(cid.id, &invite.code)
            .await
            .unwrap()
            .group
            .id,
        g,
        "accepting twice is harmless"
    );
    assert_code(l.accept_invite(cid.id, "no-such-code").await, "not_found");
    let short = l
        .create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(1),
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(3601));
    let dan = f.user("dan").await;
    assert_code(l.accept_invite(dan.id, &short.code).await, "not_found");
    assert_code(l.members(dan.id, g).await, "not_found");

    // Bob owes money: he can neither leave nor be removed until it is settled.
    f.expense(&ann, g, "30.00", &ann, &[&ann, &bob]).await;
    assert_code(l.remove_member(bob.id, g, bob.id).await, "balance_not_zero");
    assert_code(l.remove_member(ann.id, g, bob.id).await, "balance_not_zero");
    assert_code(
        l.remove_member(ann.id, g, ann.id).await,
        "owner_cannot_leave",
    );
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "15.00"), None)
        .await
        .unwrap();
    l.remove_member(bob.id, g, bob.id).await.unwrap();
    assert_code(l.group(bob.id, g).await, "not_found");
    l.remove_member(ann.id, g, cid.id).await.unwrap();
    assert_code(l.remove_member(ann.id, g, cid.id).await, "not_found");
    // A former member with history still shows in balances, at zero, with their name.
    let view = l.balances(ann.id, g).await.unwrap();
    let bob_row = view.balances[0]
        .members
        .iter()
        .find(|m| m.user_id == bob.id)
        .unwrap();
    assert_eq!(
        (bob_row.net.minor(), bob_row.display_name.as_deref()),
        (0, Some("bob"))
    );
    // And cannot be named in new expenses.
    let split = SplitInput::Equal {
        members: Some(vec![ann.id, bob.id]),
    };
    assert_field(
        l.create_expense(ann.id, g, expense_input("10.00", ann.id, split), None)
            .await,
        "split.members[1]",
        "not_a_member",
    );
    f.check_totals(&ann, g).await;
}

/// Another user's profile is visible to whoever shares a group with them (and to themselves),
/// and "not found" to everyone else, whether the id exists or not; leaving ends it.
pub async fn co_members<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let l = &f.ledger;
    assert_code(l.user(ann.id, bob.id).await, "not_found");
    let g = f.group(&ann, &[&bob]).await;
    assert_eq!(
        l.user(ann.id, bob.id).await.unwrap().display_name,
        bob.display_name
    );
    assert_eq!(l.user(bob.id, ann.id).await.unwrap().id, ann.id);
    assert_eq!(l.user(cid.id, cid.id).await.unwrap().id, cid.id);
    assert_code(l.user(cid.id, ann.id).await, "not_found");
    assert_code(l.user(ann.id, cid.id).await, "not_found");
    assert_code(l.user(ann.id, UserId::random()).await, "not_found");
    // Sharing a second group changes nothing; leaving the only shared one ends it.
    let other = f.group(&cid, &[&bob]).await;
    assert_eq!(l.user(cid.id, bob.id).await.unwrap().id, bob.id);
    l.remove_member(bob.id, other, bob.id).await.unwrap();
    assert_code(l.user(cid.id, bob.id).await, "not_found");
    assert_eq!(
        l.user(ann.id, bob.id).await.unwrap().id,
        bob.id,
        "still in {g}"
    );
}

/// Placeholders: people without an account, added by name. They pay, share, repay and have
/// their balances converted like anyone; they are never admins; a claim code hands their place
/// and whole history in the group to a real account, whose balances then equal theirs to the
/// minor unit, and everything still adds up (and can still be undone).
pub async fn placeholders<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let zoe = f.user("zoe").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let grandpa = |role| AddPlaceholder {
        display_name: "  Grandpa  ".into(),
        role,
    };
    let refused = l.add_placeholder(bob.id, g, grandpa(None)).await;
    assert_eq!(refused.map(|_| ()).map_err(|e| e.status()), Err(403));
    assert_field(
        l.add_placeholder(ann.id, g, grandpa(Some(Role::Admin)))
            .await,
        "role",
        "placeholder_role",
    );
    let gp = l.add_placeholder(ann.id, g, grandpa(None)).await.unwrap();
    assert!(gp.placeholder);
    assert_eq!((gp.display_name.as_str(), &gp.email), ("Grandpa", &None));
    let members = l.members(bob.id, g).await.unwrap();
    assert_eq!(members.iter().filter(|m| m.placeholder).count(), 1);
    assert_field(
        l.set_role(ann.id, g, gp.user_id, Role::Admin).await,
        "role",
        "placeholder_role",
    );
    // Nor can a placeholder be added to another group by its (unreachable) address.
    let elsewhere = f.group(&bob, &[]).await;
    let by_address = AddMember {
        email: format!("placeholder-{}@placeholder.invalid", gp.user_id),
        role: None,
    };
    assert_code(
        l.add_member(bob.id, elsewhere, by_address).await,
        "not_found",
    );

    // Grandpa pays, shares, is repaid, and has dollars converted into euros.
    let everyone = SplitInput::Equal { members: None };
    let dinner = expense_input("90.00", gp.user_id, everyone.clone());
    l.create_expense(ann.id, g, dinner, None).await.unwrap();
    let split = SplitInput::Shares {
        shares: [(ann.id, "1"), (gp.user_id, "2")]
            .iter()
            .map(|(u, w)| crate::split::WeightShare {
                user_id: *u,
                weight: (*w).into(),
            })
            .collect(),
    };
    l.create_expense(bob.id, g, expense_input("31.00", bob.id, split), None)
        .await
        .unwrap();
    let repaid = crate::ledger::NewSettlement::new(ann.id, gp.user_id, "10.00");
    l.create_settlement(ann.id, g, repaid, None).await.unwrap();
    let mut fuel = expense_input("40.00", gp.user_id, everyone);
    fuel.currency = Some("USD".into());
    l.create_expense(ann.id, g, fuel, None).await.unwrap();
    let to_euros = crate::ledger::NewConversion {
        from_currency: "USD".into(),
        to_currency: "EUR".into(),
        exchange_rate: "0.9137".into(),
        occurred_on: None,
        note: None,
    };
    let conversion = l
        .create_conversion(ann.id, g, to_euros, None)
        .await
        .unwrap();
    f.check_totals(&ann, g).await;
    let before = f.nets(&ann, g, "EUR").await;
    let debts_before = l.debts(ann.id, g).await.unwrap();

    // Claim codes: owners and admins make them, for placeholders only.
    let code = |who: UserId| l.create_claim(who, g, gp.user_id, NewInvite::default());
    assert_eq!(
        code(bob.id).await.map(|_| ()).map_err(|e| e.status()),
        Err(403)
    );
    let not_one = l
        .create_claim(ann.id, g, bob.id, NewInvite::default())
        .await;
    assert_code(not_one, "not_a_placeholder");
    let claim = code(ann.id).await.unwrap();
    assert_eq!(claim.claims, Some(gp.user_id));
    assert_code(l.accept_invite(bob.id, &claim.code).await, "already_member");

    // Zoe takes Grandpa's place: his history is hers, to the minor unit.
    let view = l.accept_invite(zoe.id, &claim.code).await.unwrap();
    assert_eq!((view.group.id, view.my_role), (g, Role::Member));
    let members = l.members(ann.id, g).await.unwrap();
    assert!(
        members
            .iter()
            .all(|m| m.user_id != gp.user_id && !m.placeholder)
    );
    assert!(members.iter().any(|m| m.user_id == zoe.id));
    let after = f.nets(&ann, g, "EUR").await;
    assert_eq!(after[&zoe.id], before[&gp.user_id]);
    assert_eq!(
        (after[&ann.id], after[&bob.id]),
        (before[&ann.id], before[&bob.id])
    );
    assert!(!after.contains_key(&gp.user_id));
    let renamed = |u: UserId| if u == gp.user_id { zoe.id } else { u };
    let mut expected: Vec<_> = (debts_before.iter())
        .map(|d| (renamed(d.from), renamed(d.to), d.amount, d.currency))
        .collect();
    let mut debts: Vec<_> = (l.debts(ann.id, g).await.unwrap().iter())
        .map(|d| (d.from, d.to, d.amount, d.currency))
        .collect();
    expected.sort_by_key(|d| (d.0, d.1));
    debts.sort_by_key(|d| (d.0, d.1));
    assert_eq!(debts, expected);
    f.check_totals(&ann, g).await;
    let page = l
        .list_expenses(ann.id, g, ListExpenses::default())
        .await
        .unwrap();
    let named = |e: &crate::domain::Expense| {
        e.is_payer(gp.user_id) || e.shares.iter().any(|s| s.user_id == gp.user_id)
    };
    assert!(!page.items.iter().any(named));
    assert!(page.items.iter().any(|e| e.is_payer(zoe.id)));
    // The code is spent: the placeholder is gone.
    let yan = f.user("yan").await;
    assert_code(l.accept_invite(yan.id, &claim.code).await, "not_found");

    // Undoing the conversion still takes back exactly what it moved, now from Zoe.
    l.delete_conversion(ann.id, g, conversion.id).await.unwrap();
    f.check_totals(&ann, g).await;
}
