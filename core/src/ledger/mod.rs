//! The [`Ledger`] service: every operation of the product, and the one place where
//! permissions are checked, so the HTTP server and any embedding program obey the same rules.

mod attachments;
mod auth;
mod comments;
mod conversions;
mod cursor;
mod expenses;
mod export;
mod groups;
#[cfg(feature = "import")]
mod imports;
mod oidc;
mod password;
mod recurring;
mod views;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Activity, ActivityId, Group, GroupId, Role, UserId};
use crate::error::{Cause, FieldError, VALIDATION_FAILED, ValidationErrors};
use crate::memory::MemoryBlobs;
use crate::storage::{BlobStore, Storage, StorageError};

pub use attachments::{Download, NewAttachment, Sweep};
pub use auth::{ChangePassword, LoginOutcome, SessionToken, SignUp, UpdateProfile};
pub use conversions::NewConversion;
pub use expenses::{ExpensePatch, ListExpenses, NewExpense, NewSettlement, Page, PageRequest};
pub use export::{Export, ExportFormat, ExportStream};
pub use groups::{
    AddMember, AddPlaceholder, GroupDetails, GroupPatch, ListGroups, NewGroup, NewInvite,
};
#[cfg(feature = "import")]
pub use imports::{ImportReport, ImportRequest, ImportedMember};
pub use oidc::{OidcClaims, OidcLoginStart, SignupPolicy};
pub use recurring::{MAX_BACKLOG, NewSeries, SeriesPatch, SeriesView};
pub use views::{
    DebtView, GroupSummary, MyBalances, MyCurrencyTotal, MyGroupBalance, SummaryLine,
    SummaryRequest,
};

/// Why an operation was refused. Each variant has a stable [`Error::code`] and an HTTP
/// [`Error::status`], so every edge maps it the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input is invalid; nothing was written.
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    /// No valid session.
    #[error("not signed in")]
    Unauthenticated,
    /// Wrong email or password (the same answer for both).
    #[error("wrong email or password")]
    InvalidCredentials,
    /// Signed in and a member, but the role does not allow it.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// Unknown, or in a group the caller is not in.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A rule about the current state refused it.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `balance_not_zero`.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The edit names a version that is no longer current.
    #[error("the expense has changed since version {expected}; it is now at {current}")]
    StaleVersion {
        /// The version the edit named.
        expected: i64,
        /// The current version.
        current: i64,
    },
    /// Too many failed logins for this email; try again later.
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// A file is larger than the upload limit; nothing was stored.
    #[error("the file is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A file of a type that is not accepted (read from its bytes); nothing was stored.
    #[error("only JPEG, PNG, WebP, HEIC and PDF files are accepted")]
    UnsupportedMediaType,
    /// Sign-in with an OpenID Connect provider failed; the reason is for logs and people,
    /// never a secret.
    #[error("sign-in with the provider failed: {0}")]
    OidcFailed(&'static str),
    /// The sign-up policy creates no accounts.
    #[error("sign-up is closed on this server")]
    SignupClosed,
    /// The sign-up policy creates accounts only for people with a valid invite code.
    #[error("sign-up on this server needs a valid group invite code")]
    InviteRequired,
    /// The database cannot be reached.
    #[error("the service is unavailable")]
    Unavailable(#[source] Cause),
    /// Anything unexpected; the cause is for logs, never for clients.
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl Error {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => VALIDATION_FAILED,
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict { code, .. } => code,
            Self::StaleVersion { .. } => "stale_version",
            Self::Throttled { .. } => "throttled",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::OidcFailed(_) => "oidc_failed",
            Self::SignupClosed => "signup_closed",
            Self::InviteRequired => "invite_required",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 422,
            Self::Unauthenticated | Self::InvalidCredentials | Self::OidcFailed(_) => 401,
            Self::Forbidden(_) | Self::SignupClosed | Self::InviteRequired => 403,
            Self::NotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::StaleVersion { .. } => 412,
            Self::Throttled { .. } => 429,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A conflict.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A one-field validation error.
    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation(ValidationErrors::one(field, code, message))
    }
}

impl From<ValidationErrors> for Error {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Self::Validation(error.into())
    }
}

impl From<StorageError> for Error {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => Self::NotFound("resource"),
            StorageError::Conflict(code) => Self::conflict(code, conflict_message(code)),
            StorageError::NotMember(user) => Self::invalid(
                "user_id",
                "not_a_member",
                format!("{user} is not a member of this group"),
            ),
            StorageError::BalanceNotZero => Self::conflict(
                "balance_not_zero",
                "the member's balance must be zero first",
            ),
            StorageError::Overflow => {
                Self::invalid("amount", "amount_too_large", "the balances would overflow")
            }
            StorageError::Refused(why) => Self::Forbidden(why),
            StorageError::Unavailable(cause) => Self::Unavailable(cause),
            // Only an edit can be stale, and the Ledger answers that one itself with both
            // versions; anywhere else it is a bug, kept whole for the logs.
            StorageError::StaleVersion { .. } | StorageError::Internal(_) => {
                Self::Internal(Cause::new(error))
            }
        }
    }
}

fn conflict_message(code: &str) -> &'static str {
    match code {
        "email_taken" => "an account with this email exists",
        "already_member" => "already a member of this group",
        "invite_code_taken" => "invite code collision; try again",
        "id_taken" => "this id is already in use",
        "identity_taken" => "this provider account is linked already",
        "already_imported" => "this file was already imported into this group",
        _ => "conflict with the current state",
    }
}

/// Result of a Ledger operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where the Ledger gets the time from (tests move it; production reads the system clock).
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Tunable policies of the Ledger.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Failed logins allowed for one email before throttling starts.
    pub free_login_failures: u32,
    /// Delay after the first throttled failure; doubles with each further one.
    pub throttle_base: Duration,
    /// Longest delay.
    pub throttle_max: Duration,
    /// Failures older than this are forgotten.
    pub throttle_window: Duration,
    /// Invite lifetime when none is asked for.
    pub invite_ttl: Duration,
    /// The largest file an attachment may be, in bytes.
    pub max_upload: u64,
    /// Who may create an account (password and OpenID Connect sign-ups alike).
    pub signup: SignupPolicy,
    /// How long an OpenID Connect login may take between the redirect and the callback.
    pub oidc_login_ttl: Duration,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            free_login_failures: 5,
            throttle_base: Duration::from_secs(1),
            throttle_max: Duration::from_secs(15 * 60),
            throttle_window: Duration::from_secs(15 * 60),
            invite_ttl: Duration::from_secs(72 * 3600),
            max_upload: 10 * 1024 * 1024,
            signup: SignupPolicy::Open,
            oidc_login_ttl: Duration::from_secs(10 * 60),
        }
    }
}

/// The ledger service over a store.
pub struct Ledger<S> {
    storage: Arc<S>,
    clock: Arc<dyn Clock>,
    config: LedgerConfig,
    /// Where attachments' bytes are kept.
    blobs: Arc<dyn BlobStore>,
}

impl<S> Clone for Ledger<S> {
    fn clone(&self) -> Self {
        Self {
            storage: Arc::clone(&self.storage),
            clock: Arc::clone(&self.clock),
            config: self.config.clone(),
            blobs: Arc::clone(&self.blobs),
        }
    }
}

impl<S> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Ledger<S> {
    /// A ledger over `storage` with the default policies and the system clock.
    pub fn new(storage: S) -> Self {
        Self::with_config(storage, LedgerConfig::default())
    }

    /// A ledger with explicit policies. Attachments' bytes are kept in memory until
    /// [`Ledger::with_blobs`] names another place.
    pub fn with_config(storage: S, config: LedgerConfig) -> Self {
        Self {
            storage: Arc::new(storage),
            clock: Arc::new(SystemClock),
            config,
            blobs: Arc::new(MemoryBlobs::new()),
        }
    }

    /// Keeps attachments' bytes in `blobs` (a folder, S3).
    pub fn with_blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = blobs;
        self
    }

    /// Replaces the clock (for tests of expiry and throttling).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store (for readiness checks and tests).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The policies.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Whether the store answers.
    #[tracing::instrument(skip_all)]
    pub async fn ready(&self) -> Result<()> {
        Ok(self.storage.ping().await?)
    }

    /// Now, truncated to microseconds so it survives a round trip through every database.
    fn now(&self) -> OffsetDateTime {
        let now = self.clock.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }

    /// The group and the caller's role; not found if the caller is not a member, so a group
    /// does not exist for outsiders.
    ///
    /// Every operation on a group passes here, so this is where the group's recurring
    /// occurrences due up to today are made: whatever the operation reads, they exist.
    async fn access(&self, actor: UserId, group: GroupId) -> Result<(Group, Role)> {
        let (g, role) = self
            .storage
            .membership(group, actor)
            .await?
            .ok_or(Error::NotFound("group"))?;
        self.catch_up(&g).await?;
        Ok((g, role))
    }
}

/// An activity entry; the entity kind is the action's prefix (`"expense.updated"` → `"expense"`).
fn record(
    group: GroupId,
    actor: UserId,
    action: &str,
    entity_id: Uuid,
    at: OffsetDateTime,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Activity {
    Activity {
        id: ActivityId::random(),
        group_id: group,
        actor,
        action: action.to_string(),
        entity: action.split('.').next().unwrap_or(action).to_string(),
        entity_id,
        at,
        details: serde_json::json!({ "before": before, "after": after }),
    }
}

/// Trims a required text field and checks its length in characters.
fn required_text(field: &str, value: &str, max: usize, errors: &mut ValidationErrors) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid_text",
            "must not contain control characters",
        ));
    }
    value.to_string()
}

/// Trims an optional text field: empty becomes `None`; checks the length. Multi-line text
/// (notes) may contain newlines and tabs.
fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut ValidationErrors,
) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        errors.push(FieldError::new(
            field,
            "invalid_text",
            "must not contain control characters",
        ));
    }
    Some(value.to_string())
}

/// Checks the date an entry happened on: years 1900 to 9999. A year 0 or 20 is a typo, not
/// history, and four-digit years keep dates in order wherever they are stored as text.
fn check_date(field: &str, date: Option<time::Date>, errors: &mut ValidationErrors) {
    if date.is_some_and(|d| !(1900..=9999).contains(&d.year())) {
        errors.push(FieldError::new(
            field,
            "date_out_of_range",
            "the year must be between 1900 and 9999",
        ));
    }
}

/// Checks text a query filters by: control characters can match nothing stored (text
/// fields refuse them) and PostgreSQL cannot even compare a NUL, so they are refused as
/// they are in bodies, before any store sees them.
fn filter_text(field: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) if v.chars().any(char::is_control) => Err(Error::invalid(
            field,
            "invalid_text",
            "must not contain control characters",
        )),
        _ => Ok(()),
    }
}
