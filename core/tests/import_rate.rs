//! The rate of a 50,000-row import through the Ledger on the in-memory store (parse,
//! allocation, mapping, one write). Ignored by default: run it in release to measure,
//! `cargo test --release -p splitledger-core --features conformance --test import_rate -- --ignored --nocapture`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use splitledger_core::MemoryStorage;
use splitledger_core::conformance::Fixture;
use splitledger_core::import::Format;
use splitledger_core::ledger::ImportRequest;

#[tokio::test]
#[ignore = "a measurement, run in release"]
async fn fifty_thousand_splitwise_rows() {
    let f = Fixture::new(MemoryStorage::new());
    let ann = f.user("ann").await;
    let g = f.group(&ann, &[]).await;
    let mut text = String::from("Date,Description,Category,Cost,Currency,ann,Bob,Cléo\n");
    for i in 0..50_000 {
        text.push_str(&format!(
            "2024-01-01,row {i},General,3.00,EUR,2.00,-1.00,-1.00\n"
        ));
    }
    let started = Instant::now();
    let report = f
        .ledger
        .import(
            ann.id,
            g,
            ImportRequest {
                format: Format::Splitwise,
                file: text.into_bytes(),
                members: Default::default(),
            },
        )
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.expenses, 50_000);
    println!(
        "50,000 rows in {took:?}: {:.0} rows/s",
        50_000.0 / took.as_secs_f64()
    );
}
