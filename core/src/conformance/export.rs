//! The streamed export: the same bytes as the export read whole, across page boundaries.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::files::PNG;
use super::{Fixture, assert_field, expense_input, settlement_input};
use crate::Storage;
use crate::domain::{ExpenseKind, GroupId, User, UserId};
use crate::import::Format;
use crate::ledger::{
    Clock, ExportFormat, ExportStream, ImportRequest, ListExpenses, NewAttachment, NewConversion,
    NewSeries,
};
use crate::memory::MemoryBlobs;
use crate::recurring::Every;
use crate::split::SplitInput;

async fn drain<S: Storage>(mut stream: ExportStream<S>) -> (String, usize) {
    let (mut text, mut chunks) = (String::new(), 0);
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        text.push_str(&chunk);
        chunks += 1;
    }
    (text, chunks)
}

/// Converts the group's US dollars into euros.
async fn dollars_to_euros<S: Storage>(f: &Fixture<S>, by: &User, g: GroupId, payer: &User) {
    let mut fuel = expense_input("40.00", payer.id, SplitInput::Equal { members: None });
    fuel.currency = Some("USD".into());
    f.ledger
        .create_expense(payer.id, g, fuel, None)
        .await
        .unwrap();
    let to_euros = NewConversion {
        from_currency: "USD".into(),
        to_currency: "EUR".into(),
        exchange_rate: "0.9137".into(),
        occurred_on: None,
        note: Some("fin du voyage".into()),
    };
    f.ledger
        .create_conversion(by.id, g, to_euros, None)
        .await
        .unwrap();
}

/// More expenses than one page (500), an income, text that CSV must quote, repayments, a
/// conversion: the
/// stream writes exactly the bytes of `Export::to_json` (as serde_json writes it) and
/// `Export::to_csv`, in several chunks; an outsider gets no stream at all.
pub async fn streamed_export<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let g = f.group(&ann, &[&bob, &cat]).await;
    let l = &f.ledger;
    for i in 0..503 {
        let payer = [&ann, &bob, &cat][i % 3].id;
        let mut e = expense_input(
            &format!("{}.{:02}", 1 + i, i % 100),
            payer,
            SplitInput::Equal { members: None },
        );
        if i == 7 {
            e.description = "=SUM(A1), \"large\"".into();
        }
        if i == 8 {
            e.kind = Some(ExpenseKind::Income);
        }
        l.create_expense(payer, g, e, None).await.unwrap();
    }
    for (from, to) in [(&bob, &ann), (&cat, &bob)] {
        l.create_settlement(from.id, g, settlement_input(from, to, "5.00"), None)
            .await
            .unwrap();
    }
    dollars_to_euros(&f, &ann, g, &cat).await;
    let rent = NewSeries {
        expense: expense_input("700.00", ann.id, SplitInput::Equal { members: None }),
        every: Every::Month,
        interval: None,
        starts_on: f.clock.now().date(),
        ends_on: None,
        count: Some(12),
        paused: Some(true),
    };
    let rent = l.create_series(ann.id, g, rent).await.unwrap().series;
    let first = l
        .list_expenses(ann.id, g, ListExpenses::default())
        .await
        .unwrap()
        .items[0]
        .id;
    let blobs = Arc::new(MemoryBlobs::new());
    let with_files = l.clone().with_blobs(blobs);
    let receipt = NewAttachment {
        filename: Some("ticket.png".into()),
        bytes: PNG.to_vec(),
    };
    let receipt = with_files
        .add_attachment(ann.id, g, first, receipt)
        .await
        .unwrap();
    for (who, text) in [(&bob, "j'ai payé, \"merci\""), (&cat, "ok"), (&ann, "+1")] {
        l.add_comment(who.id, g, first, text).await.unwrap();
        f.clock.advance(std::time::Duration::from_secs(1));
    }

    let whole = l.export(ann.id, g).await.unwrap();
    assert_eq!(whole.expenses.len(), 504);
    assert_eq!(whole.conversions.len(), 1);
    assert_eq!(whole.conversions[0].rows.len(), 3);
    assert_eq!(
        whole.series.iter().map(|s| s.id).collect::<Vec<_>>(),
        [rent.id]
    );
    assert_eq!(whole.comments.len(), 3);
    let document = whole.to_json();
    let listed = (document["expenses"].as_array().unwrap().iter())
        .find(|e| e["id"] == serde_json::json!(first))
        .unwrap();
    assert_eq!(
        listed["attachments"],
        serde_json::json!([{"id": receipt.id, "filename": "ticket.png",
            "content_type": "image/png", "size": PNG.len()}])
    );
    assert_eq!(document["series"][0]["paused"], true);
    assert_eq!(document["series"][0]["next_index"], 0);
    assert_eq!(document["comments"][1]["author"], serde_json::json!(cat.id));
    let (json, chunks) = drain(
        l.export_stream(bob.id, g, ExportFormat::Json)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(json, serde_json::to_string(&whole.to_json()).unwrap());
    assert!(
        chunks >= 4,
        "a chunk per page and between parts, not one: {chunks}"
    );
    let (csv, _) = drain(l.export_stream(cat.id, g, ExportFormat::Csv).await.unwrap()).await;
    assert_eq!(csv, whole.to_csv().unwrap());
    // A conversion writes a line per member in each of its two currencies; a comment one
    // line; a series none (it moves no balance).
    assert_eq!(csv.lines().count(), 1 + 504 * 3 + 2 * 2 + 3 * 2 + 3);
    assert!(csv.contains(",ok,"), "{csv}");
    assert!(csv.contains(",USD,0.9137,"), "{csv}");
    assert!(csv.contains(",\"'=SUM(A1), \"\"large\"\"\","), "{csv}");

    let outsider = f.user("dan").await;
    assert!(
        l.export_stream(outsider.id, g, ExportFormat::Json)
            .await
            .is_err_and(|e| e.code() == "not_found")
    );
}

fn splitledger(file: &serde_json::Value) -> ImportRequest {
    ImportRequest {
        format: Format::Splitledger,
        file: file.to_string().into_bytes(),
        members: HashMap::new(),
    }
}

/// A group with every kind of entry, a conversion among them, exported and imported into an
/// empty group of the same members: the same nets in every currency, the same debts, the
/// conversion as it was made; a conversion whose rows no longer add up is refused, and
/// nothing is written.
pub async fn export_imports_back<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let g = f.group(&ann, &[&bob, &cat]).await;
    let l = &f.ledger;
    f.expense(&ann, g, "90.00", &ann, &[]).await;
    f.expense(&bob, g, "31.00", &bob, &[&bob, &cat]).await;
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "5.00"), None)
        .await
        .unwrap();
    dollars_to_euros(&f, &ann, g, &cat).await;
    // Dollars spent after the conversion: the import must not fold them into it.
    let mut taxi = expense_input("12.00", bob.id, SplitInput::Equal { members: None });
    taxi.currency = Some("USD".into());
    l.create_expense(bob.id, g, taxi, None).await.unwrap();
    let export = l.export(ann.id, g).await.unwrap().to_json();

    let copy = f.group(&ann, &[&bob, &cat]).await;
    let mut bad = export.clone();
    bad["conversions"][0]["rows"][0]["to_amount"] = "0.01".into();
    // Rows count expenses (4), then the repayment, then the conversion.
    assert_field(
        l.import(ann.id, copy, splitledger(&bad)).await,
        "rows[6].rows",
        "import_conversion_unbalanced",
    );
    let mut wrong_debts = export.clone();
    wrong_debts["conversions"][0]["debts"] = serde_json::json!([]);
    assert_field(
        l.import(ann.id, copy, splitledger(&wrong_debts)).await,
        "rows[6].debts",
        "import_conversion_unbalanced",
    );
    assert!(
        f.nets(&ann, copy, "EUR")
            .await
            .values()
            .all(|net| *net == 0)
    );

    let report = l.import(ann.id, copy, splitledger(&export)).await.unwrap();
    assert_eq!(
        (report.expenses, report.settlements, report.conversions),
        (4, 1, 1)
    );
    for currency in ["EUR", "USD"] {
        let nets = f.nets(&ann, copy, currency).await;
        assert!(nets.values().any(|net| *net != 0), "{currency}");
        assert_eq!(nets, f.nets(&ann, g, currency).await, "{currency}");
    }
    assert_eq!(
        l.debts(ann.id, copy).await.unwrap(),
        l.debts(ann.id, g).await.unwrap()
    );
    f.check_totals(&ann, copy).await;
    let again = l.export(ann.id, copy).await.unwrap();
    let (before, after) = (
        &l.export(ann.id, g).await.unwrap().conversions[0],
        &again.conversions[0],
    );
    assert_eq!(
        (
            after.exchange_rate,
            &after.rows,
            &after.debts,
            &after.note,
            after.occurred_on
        ),
        (
            before.exchange_rate,
            &before.rows,
            &before.debts,
            &before.note,
            before.occurred_on
        )
    );
}

/// An export's records with everything that names this group's copy left out (ids, who
/// recorded it, when, the series' ids) and `from` replaced by `to` (a placeholder the import
/// recreated), sorted: what two groups holding the same history show alike.
fn comparable(list: &serde_json::Value, drop: &[&str], from: &str, to: &str) -> Vec<String> {
    let mut out: Vec<String> = (list.as_array().unwrap().iter())
        .map(|item| {
            let mut item = item.clone();
            for key in drop {
                item.as_object_mut().unwrap().remove(*key);
            }
            if let Some(o) = item.get_mut("recurring").and_then(|r| r.as_object_mut()) {
                o.remove("series_id");
            }
            item.to_string().replace(from, to)
        })
        .collect();
    out.sort();
    out
}

/// A rich group — every split kind, several payers, an income, a repayment, a conversion, a
/// placeholder, an expense booked from another currency with metadata, an active and a
/// paused series, comments, a receipt — exported and imported into an empty group of the
/// same members gives the same expenses (payers, shares, split, `original`, metadata), the
/// same balances, the same series (state and calendar) and comments (authors and times); the
/// receipt is counted as skipped; and the active series, once its next date comes, makes
/// exactly the occurrence the source makes, never one the file held.
pub async fn export_round_trip_everything<S: Storage>(storage: S) {
    use crate::ledger::{AddPlaceholder, NewExpense};
    use crate::split::{ExactShare, PayerInput, PercentShare, WeightShare};
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let g = f.group(&ann, &[&bob, &cat]).await;
    let l = &f.ledger;
    let zoe = l
        .add_placeholder(
            ann.id,
            g,
            AddPlaceholder {
                display_name: "Zoé".into(),
                role: None,
            },
        )
        .await
        .unwrap()
        .user_id;
    let splits = [
        SplitInput::Equal { members: None },
        SplitInput::Exact {
            shares: vec![
                ExactShare {
                    user_id: bob.id,
                    amount: "10.00".into(),
                },
                ExactShare {
                    user_id: zoe,
                    amount: "20.00".into(),
                },
            ],
        },
        SplitInput::Percent {
            shares: vec![
                PercentShare {
                    user_id: ann.id,
                    percent: "33.33".into(),
                },
                PercentShare {
                    user_id: cat.id,
                    percent: "66.67".into(),
                },
            ],
        },
        SplitInput::Shares {
            shares: vec![
                WeightShare {
                    user_id: ann.id,
                    weight: "2".into(),
                },
                WeightShare {
                    user_id: bob.id,
                    weight: "1".into(),
                },
                WeightShare {
                    user_id: zoe,
                    weight: "1.5".into(),
                },
            ],
        },
    ];
    for split in splits {
        l.create_expense(ann.id, g, expense_input("30.00", bob.id, split), None)
            .await
            .unwrap();
    }
    let together = NewExpense {
        description: "Gîte".into(),
        amount: "100.01".into(),
        payers: Some(vec![
            PayerInput {
                user_id: ann.id,
                amount: "60.00".into(),
            },
            PayerInput {
                user_id: cat.id,
                amount: "40.01".into(),
            },
        ]),
        split: SplitInput::Equal { members: None },
        category: Some("lodging".into()),
        notes: Some("deux nuits".into()),
        ..NewExpense::default()
    };
    l.create_expense(ann.id, g, together, None).await.unwrap();
    let mut refund = expense_input("12.00", cat.id, SplitInput::Equal { members: None });
    refund.kind = Some(ExpenseKind::Income);
    l.create_expense(cat.id, g, refund, None).await.unwrap();
    let mut abroad = expense_input("50.00", ann.id, SplitInput::Equal { members: None });
    abroad.currency = Some("CHF".into());
    abroad.exchange_rate = Some("1.0712".into());
    abroad.metadata = Some(serde_json::json!({"receipt": "A-17", "tags": ["train"]}));
    let abroad = l.create_expense(ann.id, g, abroad, None).await.unwrap();
    assert!(abroad.original.is_some());
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "5.00"), None)
        .await
        .unwrap();
    dollars_to_euros(&f, &ann, g, &cat).await;
    // The clock stands at 2026-06-01: the active series has made five occurrences.
    let today = f.clock.now().date();
    let monthly = |amount: &str, paused| NewSeries {
        expense: expense_input(
            amount,
            cat.id,
            SplitInput::Equal {
                members: Some(vec![cat.id, zoe]),
            },
        ),
        every: Every::Month,
        interval: None,
        starts_on: today.replace_month(time::Month::February).unwrap(),
        ends_on: None,
        count: Some(10),
        paused: Some(paused),
    };
    l.create_series(cat.id, g, monthly("9.99", false))
        .await
        .unwrap();
    l.create_series(ann.id, g, monthly("70.00", true))
        .await
        .unwrap();
    let blobs = Arc::new(MemoryBlobs::new());
    let receipt = NewAttachment {
        filename: Some("gîte.png".into()),
        bytes: PNG.to_vec(),
    };
    (l.clone().with_blobs(blobs))
        .add_attachment(ann.id, g, abroad.id, receipt)
        .await
        .unwrap();
    for (who, text) in [(&bob, "c'était cher"), (&ann, "oui")] {
        l.add_comment(who.id, g, abroad.id, text).await.unwrap();
        f.clock.advance(std::time::Duration::from_secs(60));
    }

    let source = l.export(ann.id, g).await.unwrap();
    assert_eq!(source.series.len(), 2);
    let document = source.to_json();
    let copy = f.group(&ann, &[&bob, &cat]).await;
    let report = l
        .import(ann.id, copy, splitledger(&document))
        .await
        .unwrap();
    assert_eq!(
        (report.expenses, report.settlements, report.conversions),
        (source.expenses.len() as u64, 1, 1)
    );
    assert_eq!(
        (report.series, report.comments, report.attachments_skipped),
        (2, 2, 1)
    );
    let zoe_copy = report.members.iter().find(|m| m.name == "Zoé").unwrap();
    assert!(zoe_copy.created);
    let (from, to) = (zoe.to_string(), zoe_copy.user_id.to_string());

    let back = l.export(ann.id, copy).await.unwrap().to_json();
    let drop = ["id", "created_at", "created_by", "attachments", "version"];
    let expenses = comparable(&document["expenses"], &drop, &from, &to);
    assert_eq!(
        expenses.len(),
        13,
        "4 splits, 2 payers, income, CHF, fuel, 5 of the series"
    );
    assert_eq!(expenses, comparable(&back["expenses"], &drop, &from, &to));
    assert!(
        expenses
            .iter()
            .any(|e| e.contains("\"original\":{\"amount\":\"50.00\""))
    );
    assert!(expenses.iter().any(|e| e.contains("\"A-17\"")));
    assert!(expenses.iter().any(|e| e.contains("\"type\":\"percent\"")));
    for key in ["settlements", "conversions"] {
        assert_eq!(
            comparable(&document[key], &drop, &from, &to),
            comparable(&back[key], &drop, &from, &to),
            "{key}"
        );
    }
    let drop_series = ["id", "created_at"];
    assert_eq!(
        comparable(&document["series"], &drop_series, &from, &to),
        comparable(&back["series"], &drop_series, &from, &to)
    );
    let drop_comment = ["id", "expense_id"];
    assert_eq!(
        comparable(&document["comments"], &drop_comment, &from, &to),
        comparable(&back["comments"], &drop_comment, &from, &to)
    );
    let rename = |nets: BTreeMap<UserId, i64>| -> BTreeMap<UserId, i64> {
        (nets.into_iter())
            .map(|(u, n)| (if u == zoe { zoe_copy.user_id } else { u }, n))
            .collect()
    };
    for currency in ["EUR", "USD", "CHF"] {
        assert_eq!(
            f.nets(&ann, copy, currency).await,
            rename(f.nets(&ann, g, currency).await),
            "{currency}"
        );
    }
    f.check_totals(&ann, copy).await;

    // A month on, each active series makes its next occurrence once, in both groups, and
    // the copy's makes none of those the file held.
    f.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    let count = |group| async move {
        let all = crate::storage::all_expenses(l.storage(), group)
            .await
            .unwrap();
        all.iter().filter(|e| e.recurring.is_some()).count()
    };
    l.balances(ann.id, g).await.unwrap();
    l.balances(ann.id, copy).await.unwrap();
    assert_eq!(count(g).await, 6);
    assert_eq!(count(copy).await, 6);
}
