//! The server's HTTP tests: one binary (links once), one module per area.

mod auth;
mod authz;
mod e2e;
mod errors;
mod expenses;
mod files;
mod groups;
mod helpers;
mod import;
mod metrics;
mod migrate;
mod oidc;
mod openapi;
mod recurring;
mod reporting;
