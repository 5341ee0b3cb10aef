//! splitledger: a shared-expense ledger with exact money and minimal settlement plans.
//!
//! This facade re-exports [`splitledger_core`] (money, splits, balances, the settlement
//! planner and the [`Ledger`] service with its in-memory store) and, behind the `sqlite` and
//! `postgres` features, the SQL stores of `splitledger-storage-sqlx`.

pub use splitledger_core::*;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use splitledger_storage_sqlx as sql;

/// The README's examples, compiled and run as doc tests so the README stays true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
