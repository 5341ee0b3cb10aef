//! The storage contract: one async trait whose calls are the product's atomic steps.
//!
//! A backend makes every call atomic (one transaction): an expense with its participant rows,
//! its running-total changes and its activity entry commit together or not at all. The
//! [`Ledger`](crate::Ledger) computes *what* to write (allocations, total deltas, activity);
//! a store decides only *how*. Stores also enforce, inside the same transaction, the rules
//! that a race could otherwise break: participants must be current members when the write
//! commits, a member with a non-zero balance cannot be removed, an edit or delete must name
//! the current version.

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::balance::{PairDelta, TotalsDelta};
use crate::domain::{
    Activity, ActivityCursor, DatedCursor, Email, Expense, ExpenseFilter, ExpenseId, Group,
    GroupId, Invite, LoginFailures, Member, MemberTotals, Membership, Role, Session, Settlement,
    SettlementId, SummaryBy, SummaryRow, TokenDigest, User, UserGroupTotals, UserId, UserRecord,
};

/// What a store reports when a call fails. Details for operators go in `Internal`'s text,
/// which the edges log but never show to clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The row to change does not exist (or not in that group).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the code names it (`email_taken`,
    /// `already_member`, ...).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The expense's version is not the one the edit names.
    #[error("stale version")]
    StaleVersion,
    /// A participant is not (or no longer) a member of the group.
    #[error("{0} is not a member of the group")]
    NotMember(UserId),
    /// The member still has a non-zero balance in some currency.
    #[error("the member's balance is not zero")]
    BalanceNotZero,
    /// A running total would leave the 64-bit range.
    #[error("a running total would overflow")]
    Overflow,
    /// The database cannot be reached.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the text is for logs only.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// Result of a storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// An idempotency key claimed by a create: unique per (group, user, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// Who sent the request.
    pub user_id: UserId,
    /// The client's key.
    pub key: String,
    /// A digest of the request, to tell a replay from a reuse with another body.
    pub fingerprint: String,
}

/// What a create with an idempotency key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The row was written.
    Created,
    /// The key was used before: nothing was written; here is what it recorded.
    Existing {
        /// The earlier request's fingerprint.
        fingerprint: String,
        /// The id of what the earlier request created.
        id: Uuid,
    },
}

/// A new expense with everything written alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseWrite {
    /// The expense (version 1) with its payers and shares.
    pub expense: Expense,
    /// Running-total changes.
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Pairwise-debt changes.
    pub pairs: Vec<PairDelta<UserId>>,
    /// The activity entry.
    pub activity: Activity,
    /// The idempotency key, when the client sent one.
    pub idempotency: Option<IdempotencyClaim>,
}

/// An edit of an expense, applied only if the stored version is `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseUpdate {
    /// The new state (its `version` is `expected_version + 1`).
    pub expense: Expense,
    /// The version the edit was based on.
    pub expected_version: i64,
    /// Running-total changes (new rows minus old rows).
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Pairwise-debt changes.
    pub pairs: Vec<PairDelta<UserId>>,
    /// The activity entry.
    pub activity: Activity,
}

/// A deletion of an expense, applied only if the stored version is `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseDelete {
    /// Its group.
    pub group_id: GroupId,
    /// The expense.
    pub id: ExpenseId,
    /// The version whose rows the deltas undo.
    pub expected_version: i64,
    /// Running-total changes (minus its rows).
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Pairwise-debt changes.
    pub pairs: Vec<PairDelta<UserId>>,
    /// The activity entry.
    pub activity: Activity,
}

/// A new settlement with everything written alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementWrite {
    /// The settlement.
    pub settlement: Settlement,
    /// Running-total changes.
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Pairwise-debt changes.
    pub pairs: Vec<PairDelta<UserId>>,
    /// The activity entry.
    pub activity: Activity,
    /// The idempotency key, when the client sent one.
    pub idempotency: Option<IdempotencyClaim>,
}

/// A deletion of a settlement (settlements are never edited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementDelete {
    /// Its group.
    pub group_id: GroupId,
    /// The settlement.
    pub id: SettlementId,
    /// Running-total changes.
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Pairwise-debt changes.
    pub pairs: Vec<PairDelta<UserId>>,
    /// The activity entry.
    pub activity: Activity,
}

/// One page request of a user's groups (newest group first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupQuery {
    /// Only groups whose lower-cased name contains this (already lower-cased) text.
    pub name_contains: Option<String>,
    /// Only groups with an id below this one.
    pub before: Option<GroupId>,
    /// At most this many.
    pub limit: u32,
}

/// Everything splitledger stores. Each call is one atomic step.
///
/// Lists return at most `limit` items, newest first, strictly after the cursor. Every
/// group-scoped call names its group, and a store must bound every query by it (it is the
/// shard key).
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Answers when the database does (for readiness checks).
    async fn ping(&self) -> StorageResult<()>;

    /// Adds a user; `Conflict("email_taken")` if the email is in use.
    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()>;
    /// A user and their password hash, by email.
    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>>;
    /// A user by id.
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>>;
    /// Several users by id (unknown ids are left out).
    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>>;
    /// Replaces a user's profile fields (email, display name, default currency,
    /// `updated_at`); `Conflict("email_taken")`, `NotFound`.
    async fn update_user(&self, user: &User) -> StorageResult<()>;
    /// Sets a new password hash and revokes every session of the user except `keep`.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()>;

    /// Records a new session.
    async fn insert_session(&self, session: &Session) -> StorageResult<()>;
    /// The user of a session that has not expired at `now`.
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>>;
    /// Revokes a session; whether it existed.
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool>;

    /// Failed logins recorded for an email.
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures>;
    /// Replaces the failed-login record of an email (count 0 clears it).
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()>;

    /// Creates a group with its owner.
    async fn insert_group(
        &self,
        group: &Group,
        owner: &Membership,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// The group and the user's role in it, if the user is a member.
    async fn membership(
        &self,
        group: GroupId,
        user: UserId,
    ) -> StorageResult<Option<(Group, Role)>>;
    /// A page of the user's groups with their role.
    async fn list_groups(
        &self,
        user: UserId,
        query: &GroupQuery,
    ) -> StorageResult<Vec<(Group, Role)>>;
    /// Replaces a group's settings (name, description, currency, `updated_at`).
    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()>;
    /// Deletes a group and everything in it.
    async fn delete_group(&self, group: GroupId) -> StorageResult<()>;

    /// The current members in join order.
    async fn members(&self, group: GroupId) -> StorageResult<Vec<Member>>;
    /// Adds a member; `Conflict("already_member")` if they are one.
    async fn insert_member(
        &self,
        group: GroupId,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// Changes roles together (an ownership transfer changes two); `NotFound` if one of
    /// them is not a member.
    async fn set_roles(
        &self,
        group: GroupId,
        changes: &[(UserId, Role)],
        activity: &Activity,
    ) -> StorageResult<()>;
    /// Removes a member; `BalanceNotZero` if any of their nets is not zero at commit time.
    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        activity: &Activity,
    ) -> StorageResult<()>;

    /// Records an invite; `Conflict("invite_code_taken")` on a code collision.
    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()>;
    /// An invite by code.
    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>>;

    /// Adds an expense (see [`Inserted`] for idempotent replays); `NotMember` if a
    /// participant is not a member at commit time.
    async fn insert_expense(&self, write: &ExpenseWrite) -> StorageResult<Inserted>;
    /// An expense of a group.
    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>>;
    /// A page of a group's expenses, newest `occurred_on` first, then newest created.
    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>>;
    /// Edits an expense; `StaleVersion` or `NotFound`; `NotMember` as for inserts.
    async fn update_expense(&self, update: &ExpenseUpdate) -> StorageResult<()>;
    /// Deletes an expense; `StaleVersion` or `NotFound`.
    async fn delete_expense(&self, delete: &ExpenseDelete) -> StorageResult<()>;

    /// Adds a settlement (see [`Inserted`]); `NotMember` as for expenses.
    async fn insert_settlement(&self, write: &SettlementWrite) -> StorageResult<Inserted>;
    /// A settlement of a group.
    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>>;
    /// A page of a group's settlements, newest first (same order as expenses).
    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>>;
    /// Deletes a settlement; `NotFound`.
    async fn delete_settlement(&self, delete: &SettlementDelete) -> StorageResult<()>;

    /// The group's running totals: one row per member and currency ever involved.
    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>>;
    /// The group's pairwise-debt totals (`a < b`; rows may be zero).
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>>;
    /// A user's running totals in every group they belong to.
    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>>;
    /// Spending totals per key and currency over expenses dated within the bounds.
    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>>;
    /// A page of the group's activity, newest first.
    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>>;
}

/// Page size of [`all_expenses`] and [`all_settlements`].
const DRAIN_BATCH: u32 = 500;

// Plain loops rather than one generic helper over an async closure: the futures of such
// closures are not provably `Send`, and the server runs these on a multi-threaded runtime.

/// Every expense of a group, newest first, read through the store's own pages (for exports
/// and for recomputing totals).
pub async fn all_expenses<S: Storage>(storage: &S, group: GroupId) -> StorageResult<Vec<Expense>> {
    let filter = ExpenseFilter::default();
    let mut all: Vec<Expense> = Vec::new();
    loop {
        let after = all.last().map(Expense::cursor);
        let batch = storage
            .list_expenses(group, &filter, after.as_ref(), DRAIN_BATCH)
            .await?;
        let done = batch.len() < DRAIN_BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}

/// Every settlement of a group, newest first, read through the store's own pages.
pub async fn all_settlements<S: Storage>(
    storage: &S,
    group: GroupId,
) -> StorageResult<Vec<Settlement>> {
    let mut all: Vec<Settlement> = Vec::new();
    loop {
        let after = all.last().map(Settlement::cursor);
        let batch = storage
            .list_settlements(group, after.as_ref(), DRAIN_BATCH)
            .await?;
        let done = batch.len() < DRAIN_BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}
