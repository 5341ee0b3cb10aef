//! Groups and members: groups, memberships, roles and invites.

use async_trait::async_trait;

use super::StorageResult;
use crate::domain::{
    Activity, Group, GroupId, Invite, Member, Membership, Role, UserId, UserRecord,
};

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

/// Groups, their members and invites.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
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
    /// Whether two users are members of one group (or are one user).
    async fn share_a_group(&self, a: UserId, b: UserId) -> StorageResult<bool>;
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

    /// Creates a placeholder (a person without an account: `user` holds their name and an
    /// address nobody can sign in with) and makes them a member, in one step.
    async fn insert_placeholder(
        &self,
        group: GroupId,
        user: &UserRecord,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// Hands placeholder `placeholder`'s place in the group to `claimer`, in one transaction:
    /// membership, every payer, share, split, repayment, conversion, running total and debt
    /// become the claimer's, and the placeholder is gone. `NotFound` if `placeholder` is no
    /// longer a placeholder member; `Conflict("already_member")` if `claimer` is a member.
    async fn claim_placeholder(
        &self,
        group: GroupId,
        placeholder: UserId,
        claimer: UserId,
        activity: &Activity,
    ) -> StorageResult<()>;

    /// Records an invite; `Conflict("invite_code_taken")` on a code collision.
    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()>;
    /// An invite by code.
    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>>;
}
