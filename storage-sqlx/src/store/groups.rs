//! Groups, members, roles and invites.

use async_trait::async_trait;
use uuid::Uuid;

use splitledger_core::domain::{
    Activity, Conversion, Group, GroupId, Invite, Member, MemberTotals, Membership, Role, UserId,
    UserRecord,
};
use splitledger_core::entry::Entry;
use splitledger_core::storage::{GroupQuery, GroupStore, StorageError, StorageResult};

use super::{SqlStore, exists, finish, found, group_rows};
use crate::dialect::{Dialect, all, exec, one};
use crate::sql;

/// A LIKE pattern matching names that contain `text` literally.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `$1` to `$8` of INSERT_GROUP and UPDATE_GROUP. The name filter compares `name_lower`:
/// Rust's Unicode lower-casing, the same as the in-memory store's.
fn group_args(group: &Group) -> (&Group, String) {
    (group, group.name.to_lowercase())
}

#[async_trait]
impl<D: Dialect> GroupStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %group.id))]
    async fn insert_group(
        &self,
        group: &Group,
        owner: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_GROUP, group_args(group)).await?;
        exec::<D>(&mut tx, sql::INSERT_MEMBER, (group.id, owner)).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %user))]
    async fn membership(
        &self,
        group: GroupId,
        user: UserId,
    ) -> StorageResult<Option<(Group, Role)>> {
        one::<D, _>(&mut *self.conn().await?, sql::MEMBERSHIP, (group, user)).await
    }

    #[tracing::instrument(skip_all, fields(a = %a, b = %b))]
    async fn share_a_group(&self, a: UserId, b: UserId) -> StorageResult<bool> {
        if a == b {
            return Ok(true);
        }
        let c = &mut *self.conn().await?;
        let shared: Option<Uuid> = one::<D, _>(c, sql::CO_MEMBER, (a, b)).await?;
        Ok(shared.is_some())
    }

    #[tracing::instrument(skip_all, fields(user = %user, limit = query.limit))]
    async fn list_groups(
        &self,
        user: UserId,
        query: &GroupQuery,
    ) -> StorageResult<Vec<(Group, Role)>> {
        let pattern = query.name_contains.as_deref().map(contains_pattern);
        let args = (user, query.before, pattern, query.limit);
        all::<D, _>(&mut *self.conn().await?, sql::LIST_GROUPS, args).await
    }

    #[tracing::instrument(skip_all, fields(group = %group.id))]
    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        found(exec::<D>(&mut tx, sql::UPDATE_GROUP, group_args(group)).await?)?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn delete_group(&self, group: GroupId) -> StorageResult<()> {
        found(exec::<D>(&mut *self.conn().await?, sql::DELETE_GROUP, group).await?)
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn members(&self, group: GroupId) -> StorageResult<Vec<Member>> {
        group_rows::<D, _>(&mut *self.conn().await?, sql::MEMBERS, group, ()).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %member.user_id))]
    async fn insert_member(
        &self,
        group: GroupId,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_MEMBER, (group, member)).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, changes = changes.len()))]
    async fn set_roles(
        &self,
        group: GroupId,
        changes: &[(UserId, Role)],
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exists::<D>(&mut tx, sql::LOCK_GROUP, group).await?;
        // In member order, like every other writer that locks member rows.
        let mut changes = changes.to_vec();
        changes.sort_by_key(|(user, _)| *user);
        for (user, role) in &changes {
            found(exec::<D>(&mut tx, sql::SET_ROLE, (group, *user, *role)).await?)?;
        }
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %user))]
    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        // Waits for writes that locked this member's row (they may change its totals).
        exists::<D>(&mut tx, sql::LOCK_MEMBER, (group, user)).await?;
        let totals: Vec<MemberTotals> =
            all::<D, _>(&mut tx, sql::TOTALS_OF_MEMBER, (group, user)).await?;
        if totals.iter().any(|t| t.totals.net() != Ok(0)) {
            return Err(StorageError::BalanceNotZero);
        }
        exec::<D>(&mut tx, sql::DELETE_MEMBER, (group, user)).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %member.user_id))]
    async fn insert_placeholder(
        &self,
        group: GroupId,
        user: &UserRecord,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_PLACEHOLDER, user).await?;
        exec::<D>(&mut tx, sql::INSERT_MEMBER, (group, member)).await?;
        finish::<D>(tx, activity, None).await
    }

    /// One transaction of bounded statements over the group's rows: members, participant
    /// rows, expenses (creator and the ids inside their split and original JSON), repayments,
    /// conversions (their rows and debts re-keyed in core), running totals and pair totals
    /// (`a < b` kept), then the placeholder's user row. The placeholder's member row is locked
    /// first, so writes that name them wait.
    #[tracing::instrument(skip_all, fields(group = %group, placeholder = %placeholder))]
    async fn claim_placeholder(
        &self,
        group: GroupId,
        placeholder: UserId,
        claimer: UserId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        let (p, c) = (placeholder, claimer);
        exists::<D>(&mut tx, sql::LOCK_PLACEHOLDER, (group, p)).await?;
        if one::<D, Role>(&mut tx, sql::ROLE_OF, (group, c))
            .await?
            .is_some()
        {
            return Err(StorageError::Conflict("already_member"));
        }
        exec::<D>(&mut tx, sql::CLAIM_MEMBER, (group, p, c)).await?;
        exec::<D>(&mut tx, sql::CLAIM_PARTICIPANTS, (group, p, c)).await?;
        let (old, new) = (p.to_string(), c.to_string());
        let named = format!("%{old}%");
        let args = (group, p, c, old, new, named);
        exec::<D>(&mut tx, sql::CLAIM_EXPENSES, args).await?;
        exec::<D>(&mut tx, sql::CLAIM_SETTLEMENTS, (group, p, c)).await?;
        let conversions: Vec<Conversion> =
            all::<D, _>(&mut tx, sql::GROUP_CONVERSIONS, group).await?;
        for v in conversions {
            let moved = Entry::Conversion(v).with_member(p, c);
            if let Entry::Conversion(v) = moved.map_err(|_| StorageError::Overflow)? {
                let args = (group, v.id, &v.rows, &v.debts, v.created_by);
                exec::<D>(&mut tx, sql::UPDATE_CONVERSION_MEMBERS, args).await?;
            }
        }
        exec::<D>(&mut tx, sql::CLAIM_TOTALS, (group, p, c)).await?;
        exec::<D>(&mut tx, sql::CLAIM_PAIRS_A, (group, p, c)).await?;
        exec::<D>(&mut tx, sql::CLAIM_PAIRS_B, (group, p, c)).await?;
        exec::<D>(&mut tx, sql::DELETE_PLACEHOLDER, p).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %invite.group_id))]
    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_INVITE, invite).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all)]
    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>> {
        one::<D, _>(&mut *self.conn().await?, sql::INVITE, code).await
    }
}
