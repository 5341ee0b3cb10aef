//! The streamed export: the same bytes as the export read whole, across page boundaries.

use super::{Fixture, expense_input, settlement_input};
use crate::Storage;
use crate::domain::ExpenseKind;
use crate::ledger::{ExportFormat, ExportStream};
use crate::split::SplitInput;

async fn drain<S: Storage>(mut stream: ExportStream<S>) -> (String, usize) {
    let (mut text, mut chunks) = (String::new(), 0);
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        text.push_str(&chunk);
        chunks += 1;
    }
    (text, chunks)
}

/// More expenses than one page (500), an income, text that CSV must quote, repayments: the
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

    let whole = l.export(ann.id, g).await.unwrap();
    assert_eq!(whole.expenses.len(), 503);
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
    assert_eq!(csv.lines().count(), 1 + 503 * 3 + 2 * 2);
    assert!(csv.contains(",\"'=SUM(A1), \"\"large\"\"\","), "{csv}");

    let outsider = f.user("dan").await;
    assert!(
        l.export_stream(outsider.id, g, ExportFormat::Json)
            .await
            .is_err_and(|e| e.code() == "not_found")
    );
}
