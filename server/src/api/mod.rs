//! The `/api/v1` operations, one poem-openapi API struct per resource. Each operation parses
//! the request, calls the Ledger and maps the result: no rules live here.

pub mod attachments;
pub mod auth;
pub mod comments;
pub mod conversions;
pub mod groups;
pub mod imports;
pub mod ledger;
pub mod models;
pub mod oidc;
pub mod recurring;
pub mod streamed;
pub mod views;

use poem_openapi::{ApiResponse, OpenApiService, Tags};
use splitledger_core::{Ledger, Storage};

use crate::problem::ApiError;

/// The result of every operation.
pub type ApiResult<T> = Result<T, ApiError>;

/// Groups of operations in the OpenAPI document.
#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Sign up, sign in, sign out.
    Auth,
    /// The caller's profile, password and balances; other people's names.
    Users,
    /// Groups.
    Groups,
    /// Members of a group and their roles.
    Members,
    /// Invite codes.
    Invites,
    /// Expenses.
    Expenses,
    /// Repayments between members.
    Settlements,
    /// Conversions of every balance from one currency into another.
    Conversions,
    /// Balances, pairwise debts and the settlement plan.
    Balances,
    /// Activity log, spending summaries and exports.
    Reports,
    /// Recurring series and the expenses they make.
    Recurring,
    /// Receipts attached to expenses.
    Attachments,
    /// Comments on expenses.
    Comments,
}

/// An empty success.
#[derive(Debug, ApiResponse)]
pub enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// The `Idempotency-Key` header as sent. poem-openapi reads a header that is not visible
/// ASCII as absent, which would make the retry it protects create a duplicate: such a key is
/// passed on as its bytes read leniently, so the Ledger refuses it (422
/// `invalid_idempotency_key`) like any other malformed key.
pub(crate) fn idempotency_key_of(req: &poem::Request, parsed: Option<String>) -> Option<String> {
    match req.headers().get("idempotency-key") {
        Some(raw) if parsed.is_none() => Some(String::from_utf8_lossy(raw.as_bytes()).into_owned()),
        _ => parsed,
    }
}

/// How the session cookie is set.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    /// Send it with `Secure` (only over HTTPS).
    pub secure: bool,
}

impl CookiePolicy {
    /// The `Set-Cookie` value for a new session.
    pub fn set(&self, token: &str, max_age: u64) -> String {
        format!(
            "{}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
            crate::security::SESSION_COOKIE,
            if self.secure { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear(&self) -> String {
        self.set("", 0)
    }
}

/// Every API struct, combined; the server nests it at `/api/v1`.
pub type Apis<S> = (
    auth::AuthApi<S>,
    auth::UsersApi<S>,
    auth::PeopleApi<S>,
    groups::GroupsApi<S>,
    groups::MembersApi<S>,
    groups::InvitesApi<S>,
    ledger::ExpensesApi<S>,
    ledger::SettlementsApi<S>,
    conversions::ConversionsApi<S>,
    views::BalancesApi<S>,
    views::ReportsApi<S>,
    recurring::RecurringApi<S>,
    attachments::AttachmentsApi<S>,
    comments::CommentsApi<S>,
    oidc::OidcApi<S>,
    imports::ImportsApi<S>,
);

/// The OpenAPI service over a ledger (served at `/api/v1`).
pub fn service<S: Storage>(
    ledger: Ledger<S>,
    cookies: CookiePolicy,
    server_url: &str,
) -> OpenApiService<Apis<S>, ()> {
    let apis = (
        auth::AuthApi {
            ledger: ledger.clone(),
            cookies: cookies.clone(),
        },
        auth::UsersApi {
            ledger: ledger.clone(),
        },
        auth::PeopleApi {
            ledger: ledger.clone(),
        },
        groups::GroupsApi {
            ledger: ledger.clone(),
        },
        groups::MembersApi {
            ledger: ledger.clone(),
        },
        groups::InvitesApi {
            ledger: ledger.clone(),
        },
        ledger::ExpensesApi {
            ledger: ledger.clone(),
        },
        ledger::SettlementsApi {
            ledger: ledger.clone(),
        },
        conversions::ConversionsApi {
            ledger: ledger.clone(),
        },
        views::BalancesApi {
            ledger: ledger.clone(),
        },
        views::ReportsApi {
            ledger: ledger.clone(),
        },
        recurring::RecurringApi {
            ledger: ledger.clone(),
        },
        attachments::AttachmentsApi {
            ledger: ledger.clone(),
        },
        comments::CommentsApi {
            ledger: ledger.clone(),
        },
        oidc::OidcApi {
            ledger: ledger.clone(),
            cookies,
        },
        imports::ImportsApi { ledger },
    );
    OpenApiService::new(apis, "splitledger", env!("CARGO_PKG_VERSION"))
        .description(
            "Shared-expense ledger: groups, expenses with exact splits, balances and the \
             fewest transfers that settle them. Amounts are decimal strings; every error is \
             `application/problem+json`.",
        )
        .server(server_url)
}
