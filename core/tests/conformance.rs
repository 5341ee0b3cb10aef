//! The conformance suite against the in-memory store.

use splitledger_core::MemoryStorage;

splitledger_core::conformance_tests!(#[tokio::test] async fn() { MemoryStorage::new() });
