//! splitledger-core: the heart of splitledger.
//!
//! - [`money`]: ISO 4217 currencies and exact amounts (integer minor units inside);
//! - [`split`]: payers and splits, allocated exactly by the largest remainder method;
//! - [`balance`]: nets, running totals and pairwise debts;
//! - [`settle`]: the settlement planner (provably minimal up to [`settle::EXACT_LIMIT`]);
//! - [`preview`]: the same operations in the JSON shapes of the HTTP API (for the browser);
//!
//! and, with the `service` feature (on by default), the [`Ledger`] service with every
//! operation and permission check, the async [`Storage`] trait and an in-memory store. The
//! pure modules need no async runtime and no randomness, so they build for
//! `wasm32-unknown-unknown` with `--no-default-features`.

pub mod balance;
pub mod error;
pub mod exchange;
pub mod money;
pub mod preview;
pub mod settle;
pub mod split;

pub use error::{Cause, FieldError, ValidationErrors};
pub use money::{Currency, Money, MoneyError};

#[cfg(feature = "service")]
pub mod domain;
#[cfg(feature = "service")]
pub mod entry;
#[cfg(feature = "import")]
pub mod import;
#[cfg(feature = "service")]
pub mod ledger;
#[cfg(feature = "service")]
pub mod memory;
#[cfg(feature = "service")]
pub mod recurring;
#[cfg(feature = "service")]
pub mod storage;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "service")]
pub use ledger::{Error, Ledger, LedgerConfig};
#[cfg(feature = "service")]
pub use memory::MemoryStorage;
#[cfg(feature = "service")]
pub use storage::{Storage, StorageError};
