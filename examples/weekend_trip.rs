//! A weekend trip on the in-memory store: four friends, a few expenses split every way,
//! then the balances and the fewest payments that settle everything.
//!
//! Run with `cargo run --example weekend_trip`.

use splitledger::ledger::{AddMember, NewExpense, NewGroup, NewSettlement, SignUp};
use splitledger::split::{ExactShare, PayerInput, PercentShare, SplitInput, WeightShare};
use splitledger::{Ledger, MemoryStorage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ledger = Ledger::new(MemoryStorage::new());

    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chloé", "Dev"] {
        let user = ledger
            .sign_up(SignUp {
                email: format!("{}@example.com", name.to_lowercase()),
                password: "a long enough password".into(),
                display_name: name.into(),
                invite_code: None,
            })
            .await?;
        people.push(user);
    }
    let [ada, ben, chloe, dev] = [&people[0], &people[1], &people[2], &people[3]];

    let trip = ledger
        .create_group(
            ada.id,
            NewGroup {
                name: "Weekend in Lyon".into(),
                description: None,
                currency: "EUR".into(),
            },
        )
        .await?
        .group;
    for friend in [ben, chloe, dev] {
        ledger
            .add_member(
                ada.id,
                trip.id,
                AddMember {
                    email: friend.email.to_string(),
                    role: None,
                },
            )
            .await?;
    }

    let expense = |description: &str, amount: &str, split: SplitInput<_>| NewExpense {
        description: description.into(),
        amount: amount.into(),
        paid_by: Some(ada.id),
        split,
        ..NewExpense::default()
    };

    // Ada books the flat for everyone: 301.00 four ways, to the cent.
    ledger
        .create_expense(
            ada.id,
            trip.id,
            expense("Flat", "301.00", SplitInput::Equal { members: None }),
            None,
        )
        .await?;
    // Ben and Chloé share the dinner bill (Ben 60, Chloé 40), split by appetite 2:1:1:1.
    let mut dinner = expense(
        "Dinner at the bouchon",
        "150.00",
        SplitInput::Shares {
            shares: [(ada, "1"), (ben, "2"), (chloe, "1"), (dev, "1")]
                .iter()
                .map(|(u, w)| WeightShare {
                    user_id: u.id,
                    weight: (*w).into(),
                })
                .collect(),
        },
    );
    dinner.paid_by = None;
    dinner.payers = Some(vec![
        PayerInput {
            user_id: ben.id,
            amount: "90.00".into(),
        },
        PayerInput {
            user_id: chloe.id,
            amount: "60.00".into(),
        },
    ]);
    ledger.create_expense(ben.id, trip.id, dinner, None).await?;
    // Dev pays the museum for three of them, by percentage.
    let mut museum = expense(
        "Museum tickets",
        "45.00",
        SplitInput::Percent {
            shares: [(ben, "33.33"), (chloe, "33.33"), (dev, "33.34")]
                .iter()
                .map(|(u, p)| PercentShare {
                    user_id: u.id,
                    percent: (*p).into(),
                })
                .collect(),
        },
    );
    museum.paid_by = Some(dev.id);
    ledger.create_expense(dev.id, trip.id, museum, None).await?;
    // Chloé's train tickets, exact amounts.
    let mut train = expense(
        "Train",
        "88.40",
        SplitInput::Exact {
            shares: [
                (ada, "22.10"),
                (ben, "22.10"),
                (chloe, "22.10"),
                (dev, "22.10"),
            ]
            .iter()
            .map(|(u, a)| ExactShare {
                user_id: u.id,
                amount: (*a).into(),
            })
            .collect(),
        },
    );
    train.paid_by = Some(chloe.id);
    ledger
        .create_expense(chloe.id, trip.id, train, None)
        .await?;

    print_state(&ledger, ada.id, trip.id).await?;

    // Everyone pays what the plan says; the plan shrinks by one each time.
    let plan = ledger.settlement_plan(ada.id, trip.id).await?;
    for t in plan.transfers {
        ledger
            .create_settlement(
                t.from,
                trip.id,
                NewSettlement {
                    currency: Some(t.currency.code().into()),
                    note: Some("settling up".into()),
                    ..NewSettlement::new(t.from, t.to, t.amount.to_string())
                },
                None,
            )
            .await?;
    }
    println!("\nAfter everyone paid:");
    print_state(&ledger, ada.id, trip.id).await?;
    Ok(())
}

async fn print_state(
    ledger: &Ledger<MemoryStorage>,
    actor: splitledger::domain::UserId,
    group: splitledger::domain::GroupId,
) -> Result<(), Box<dyn std::error::Error>> {
    let balances = ledger.balances(actor, group).await?;
    let mut names = std::collections::HashMap::new();
    for block in &balances.balances {
        println!("Balances in {}:", block.currency);
        for m in &block.members {
            let name = m.display_name.clone().unwrap_or_default();
            println!(
                "  {name:<6} paid {:>7}  owes {:>7}  net {:>8}",
                m.paid, m.owed, m.net
            );
            names.insert(m.user_id, name);
        }
    }
    let plan = ledger.settlement_plan(actor, group).await?;
    if plan.transfers.is_empty() {
        println!("Everyone is settled up.");
    } else {
        let proof = if plan.optimal {
            "provably the fewest"
        } else {
            "not proven minimal"
        };
        println!(
            "Settlement plan ({} payments, {proof}):",
            plan.transfers.len()
        );
        for t in &plan.transfers {
            println!(
                "  {} pays {} {} {}",
                names[&t.from], names[&t.to], t.amount, t.currency
            );
        }
    }
    Ok(())
}
