//! Groups, members, roles and invites.

use async_trait::async_trait;

use splitledger_core::domain::{
    Activity, Group, GroupId, Invite, Member, Membership, Role, UserId,
};
use splitledger_core::storage::{GroupQuery, GroupStore, StorageError, StorageResult};

use super::{SqlStore, commit, insert_activity, limit, unless_empty_group};
use crate::dialect::{Conn, Dialect, Stmt};
use crate::rows::{GroupRoleRow, InviteRow, MemberRow, TotalsRow, convert};
use crate::sql;
use crate::types::{DbTime, DbUuid};

/// The group's name as the name filter compares it (Rust's Unicode lower-casing, the same as
/// the in-memory store's).
fn name_lower(name: &str) -> String {
    name.to_lowercase()
}

/// A LIKE pattern matching names that contain `text` literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// `$1` to `$8` of INSERT_GROUP and UPDATE_GROUP.
fn bind_group<D: Dialect>(sql: &'static str, group: &Group) -> Stmt<D> {
    Stmt::<D>::new(sql)
        .uuid(group.id.0)
        .text(&group.name)
        .bind(name_lower(&group.name))
        .opt_text(group.description.as_deref())
        .bind(group.currency.code())
        .uuid(group.created_by.0)
        .bind(DbTime(group.created_at))
        .bind(DbTime(group.updated_at))
}

async fn insert_member<D: Dialect>(
    c: &mut Conn<D>,
    group: GroupId,
    member: &Membership,
) -> StorageResult<()> {
    Stmt::<D>::new(sql::INSERT_MEMBER)
        .uuid(group.0)
        .uuid(member.user_id.0)
        .bind(member.role.as_str())
        .bind(DbTime(member.joined_at))
        .execute(c)
        .await?;
    Ok(())
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
        bind_group::<D>(sql::INSERT_GROUP, group)
            .execute(&mut tx)
            .await?;
        insert_member::<D>(&mut tx, group.id, owner).await?;
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %user))]
    async fn membership(
        &self,
        group: GroupId,
        user: UserId,
    ) -> StorageResult<Option<(Group, Role)>> {
        let row: Option<GroupRoleRow> = Stmt::<D>::new(sql::MEMBERSHIP)
            .uuid(group.0)
            .uuid(user.0)
            .optional(&mut *self.conn().await?)
            .await?;
        row.map(GroupRoleRow::into_pair).transpose()
    }

    #[tracing::instrument(skip_all, fields(user = %user, limit = query.limit))]
    async fn list_groups(
        &self,
        user: UserId,
        query: &GroupQuery,
    ) -> StorageResult<Vec<(Group, Role)>> {
        let rows: Vec<GroupRoleRow> = Stmt::<D>::new(sql::LIST_GROUPS)
            .uuid(user.0)
            .bind(query.before.map(|g| DbUuid(g.0)))
            .bind(query.name_contains.as_deref().map(contains_pattern))
            .bind(limit(query.limit))
            .all(&mut *self.conn().await?)
            .await?;
        convert(rows, GroupRoleRow::into_pair)
    }

    #[tracing::instrument(skip_all, fields(group = %group.id))]
    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        let done = bind_group::<D>(sql::UPDATE_GROUP, group)
            .execute(&mut tx)
            .await?;
        if done == 0 {
            return Err(StorageError::NotFound);
        }
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn delete_group(&self, group: GroupId) -> StorageResult<()> {
        let done = Stmt::<D>::new(sql::DELETE_GROUP)
            .uuid(group.0)
            .execute(&mut *self.conn().await?)
            .await?;
        if done == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn members(&self, group: GroupId) -> StorageResult<Vec<Member>> {
        let mut conn = self.conn().await?;
        let rows: Vec<MemberRow> = Stmt::<D>::new(sql::MEMBERS)
            .uuid(group.0)
            .all(&mut conn)
            .await?;
        unless_empty_group::<D, _>(&mut conn, group, &rows).await?;
        convert(rows, MemberRow::into_member)
    }

    #[tracing::instrument(skip_all, fields(group = %group, user = %member.user_id))]
    async fn insert_member(
        &self,
        group: GroupId,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        insert_member::<D>(&mut tx, group, member).await?;
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, changes = changes.len()))]
    async fn set_roles(
        &self,
        group: GroupId,
        changes: &[(UserId, Role)],
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        let found: Option<(DbUuid,)> = Stmt::<D>::new(sql::LOCK_GROUP)
            .uuid(group.0)
            .optional(&mut tx)
            .await?;
        found.ok_or(StorageError::NotFound)?;
        // In member order, like every other writer that locks member rows.
        let mut changes = changes.to_vec();
        changes.sort_by_key(|(user, _)| *user);
        for (user, role) in &changes {
            let done = Stmt::<D>::new(sql::SET_ROLE)
                .uuid(group.0)
                .uuid(user.0)
                .bind(role.as_str())
                .execute(&mut tx)
                .await?;
            if done == 0 {
                return Err(StorageError::NotFound);
            }
        }
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
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
        let found: Option<(DbUuid,)> = Stmt::<D>::new(sql::LOCK_MEMBER)
            .uuid(group.0)
            .uuid(user.0)
            .optional(&mut tx)
            .await?;
        found.ok_or(StorageError::NotFound)?;
        let totals: Vec<TotalsRow> = Stmt::<D>::new(sql::TOTALS_OF_MEMBER)
            .uuid(group.0)
            .uuid(user.0)
            .all(&mut tx)
            .await?;
        for t in convert(totals, TotalsRow::into_totals)? {
            if t.totals.net() != Ok(0) {
                return Err(StorageError::BalanceNotZero);
            }
        }
        Stmt::<D>::new(sql::DELETE_MEMBER)
            .uuid(group.0)
            .uuid(user.0)
            .execute(&mut tx)
            .await?;
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(group = %invite.group_id))]
    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        Stmt::<D>::new(sql::INSERT_INVITE)
            .uuid(invite.group_id.0)
            .text(&invite.code)
            .uuid(invite.created_by.0)
            .bind(DbTime(invite.created_at))
            .bind(DbTime(invite.expires_at))
            .execute(&mut tx)
            .await?;
        insert_activity::<D>(&mut tx, activity).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all)]
    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>> {
        let row: Option<InviteRow> = Stmt::<D>::new(sql::INVITE)
            .text(code)
            .optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(InviteRow::into_invite))
    }
}
