//! splitledger's HTTP API: every operation of the Ledger over poem + poem-openapi.
//!
//! The server holds no rules of its own: each operation parses the request, calls
//! [`splitledger_core::Ledger`] and maps the result; every failure answers
//! `application/problem+json` ([`problem`]). [`Application::build`] binds the listener (port
//! 0 works) and [`Application::run_until_stopped`] serves until SIGTERM or Ctrl-C.

pub mod api;
pub mod files;
pub mod import_cli;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod problem;
pub mod reporting;
pub mod security;
pub mod settings;
pub mod startup;
mod stores;
pub mod telemetry;

pub use settings::{Cli, Command, LogFormat, Settings};
pub use startup::{Application, StartupError, openapi_json, routes};
pub use stores::{import, migrate, migrate_to};
