//! Imports: names mapped to members, the whole file in one transaction, nothing written on
//! any refusal, the same file once per group.

use std::collections::{BTreeMap, HashMap};

use super::{Fixture, PageRequest, assert_code, assert_field, history};
use crate::Storage;
use crate::import::Format;
use crate::ledger::ImportRequest;

/// A Splitwise export (header, rows whose member cells are each member's net, a blank line,
/// the `Total balance` row), as Cospend's importer reads it.
const SPLITWISE: &str = "Date,Description,Category,Cost,Currency,ANN ,Robert,Zoé\n\
2026-05-01,Gîte,Hotel,90.00,EUR,60.00,-30.00,-30.00\n\
2026-05-02,Robert paid Ann,Payment,10.00,EUR,-10.00,10.00,0.00\n\
2026-05-03,Glaces,Dining out,10.00,EUR,-3.33,-3.33,6.66\n\
\n\
,Total balance,,,EUR,46.67,-23.33,-23.34\n";

fn request(file: &str, members: &[(&str, crate::domain::UserId)]) -> ImportRequest {
    ImportRequest {
        format: Format::Splitwise,
        file: file.as_bytes().to_vec(),
        members: members
            .iter()
            .map(|(n, u)| (n.to_string(), *u))
            .collect::<HashMap<_, _>>(),
    }
}

/// A good file: "ANN " is ann by display name, Robert is bob by the mapping, Zoé a new
/// placeholder; the nets are exactly the file's.
pub async fn imports<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;

    let report = l
        .import(ann.id, g, request(SPLITWISE, &[("Robert", bob.id)]))
        .await
        .unwrap();
    assert_eq!((report.expenses, report.settlements), (2, 1));
    let by_name: BTreeMap<&str, (crate::domain::UserId, bool)> = report
        .members
        .iter()
        .map(|m| (m.name.as_str(), (m.user_id, m.created)))
        .collect();
    assert_eq!(by_name["ANN"], (ann.id, false));
    assert_eq!(by_name["Robert"], (bob.id, false));
    let (zoe, created) = by_name["Zoé"];
    assert!(created);
    let members = l.members(ann.id, g).await.unwrap();
    let placeholder = members.iter().find(|m| m.user_id == zoe).unwrap();
    assert!(placeholder.placeholder);
    assert_eq!(placeholder.display_name, "Zoé");

    // Ann 60 − 10 − 3.33 = 46.67; Bob −30 + 10 − 3.33 = −23.33; Zoé −30 + 6.66 = −23.34:
    // the Total balance row, to the cent.
    let nets = f.nets(&ann, g, "EUR").await;
    let want: BTreeMap<_, _> = [(ann.id, 4667), (bob.id, -2333), (zoe, -2334)]
        .into_iter()
        .collect();
    assert_eq!(nets, want);
    let reported: i64 = report
        .balances
        .balances
        .iter()
        .flat_map(|b| b.members.iter())
        .map(|m| m.net.units().get())
        .sum();
    assert_eq!(reported, 0);
    f.check_totals(&ann, g).await;

    let (expenses, settlements) = history(l.storage(), g).await;
    let ice = expenses
        .iter()
        .find(|e| e.details.description == "Glaces")
        .unwrap();
    assert_eq!(
        ice.amount.minor(),
        1000,
        "one payer: Splitwise's cost is kept"
    );
    assert_eq!(ice.details.category.as_deref(), Some("Dining out"));
    assert_eq!(settlements.len(), 1);
    assert_eq!(
        (settlements[0].from_user, settlements[0].to_user),
        (bob.id, ann.id)
    );

    let activity = l
        .activity(
            ann.id,
            g,
            PageRequest {
                limit: Some(200),
                cursor: None,
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = activity.items.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "import.created").count(),
        1
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "expense.created").count(),
        2
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "settlement.created")
            .count(),
        1
    );

    // The same file again: refused, nothing written.
    assert_code(
        l.import(ann.id, g, request(SPLITWISE, &[("Robert", bob.id)]))
            .await,
        "already_imported",
    );
    assert_eq!(history(l.storage(), g).await.0.len(), 2);
    assert_eq!(l.members(ann.id, g).await.unwrap().len(), 3);
    // Another group may import it.
    let other = f.group(&ann, &[]).await;
    l.import(ann.id, other, request(SPLITWISE, &[]))
        .await
        .unwrap();
}

/// Every refusal writes nothing: a bad row anywhere, a mapping to a stranger, a member who
/// may not import.
pub async fn import_refusals_write_nothing<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let stranger = f.user("stranger").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let activity_before = l
        .activity(ann.id, g, PageRequest::default())
        .await
        .unwrap()
        .items
        .len();

    let refused = l.import(bob.id, g, request(SPLITWISE, &[])).await;
    assert_eq!(refused.map(|_| ()).map_err(|e| e.status()), Err(403));
    let outsider = l.import(stranger.id, g, request(SPLITWISE, &[])).await;
    assert_eq!(outsider.map(|_| ()).map_err(|e| e.status()), Err(404));

    // The last row is bad: the good rows before it are not written either.
    let bad_last = SPLITWISE.replace("-3.33,6.66", "-3.33,six");
    assert_field(
        l.import(ann.id, g, request(&bad_last, &[])).await,
        "rows[4].Zoé",
        "invalid_amount",
    );
    assert_field(
        l.import(ann.id, g, request(SPLITWISE, &[("Robert", stranger.id)]))
            .await,
        "members.Robert",
        "not_a_member",
    );
    let long_name = SPLITWISE.replace("Zoé", &"Z".repeat(101));
    assert_field(
        l.import(ann.id, g, request(&long_name, &[])).await,
        "people[2]",
        "too_long",
    );

    assert!(history(l.storage(), g).await.0.is_empty());
    assert!(history(l.storage(), g).await.1.is_empty());
    assert_eq!(l.members(ann.id, g).await.unwrap().len(), 2);
    let activity_after = l
        .activity(ann.id, g, PageRequest::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(activity_after, activity_before);
    assert!(f.nets(&ann, g, "EUR").await.values().all(|n| *n == 0));
    // A refused file was not recorded: once fixed, the same content imports.
    l.import(ann.id, g, request(SPLITWISE, &[])).await.unwrap();
}
