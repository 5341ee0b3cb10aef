//! Groups, their members and invite codes.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use splitledger_core::domain::{GroupId, UserId};
use splitledger_core::ledger::{
    AddMember, AddPlaceholder, Error, GroupPatch, ListGroups, NewGroup, NewInvite, PageRequest,
};
use splitledger_core::{Ledger, Storage};
use uuid::Uuid;

use super::models::{
    AddMemberBody, GroupBody, GroupPage, GroupPatchBody, InviteBody, MemberBody, NewGroupBody,
    NewInviteBody, RoleBody, maybe,
};
use super::models::{FilterText, PageLimit};
use super::{ApiResult, ApiTags, NoContent};
use crate::security::Auth;

/// `/groups`: the caller's groups and their settings.
#[derive(Debug)]
pub struct GroupsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A new group.
#[derive(Debug, ApiResponse)]
pub enum GroupCreated {
    /// Created; the caller is its owner.
    #[oai(status = 201)]
    Created(Json<GroupBody>),
}

#[OpenApi(prefix_path = "/groups", tag = "ApiTags::Groups")]
impl<S: Storage> GroupsApi<S> {
    /// Create a group.
    ///
    /// The caller becomes its owner. A group with a single member is a personal ledger.
    #[oai(path = "/", method = "post")]
    async fn create(&self, auth: Auth, body: Json<NewGroupBody>) -> ApiResult<GroupCreated> {
        let b = body.0;
        let view = self
            .ledger
            .create_group(
                auth.user_id(),
                NewGroup {
                    name: b.name.into(),
                    description: b.description.map(String::from),
                    currency: b.currency.into(),
                },
            )
            .await?;
        Ok(GroupCreated::Created(Json(view.into())))
    }

    /// The caller's groups.
    ///
    /// Newest first, `limit` 1 to 200 (default 50); `q` keeps groups whose name contains it
    /// (case-insensitive).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// Only groups whose name contains this.
        q: Query<Option<FilterText>>,
        /// Page size, 1 to 200 (default 50).
        limit: Query<Option<PageLimit>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<GroupPage>> {
        let page = self
            .ledger
            .list_groups(
                auth.user_id(),
                ListGroups {
                    q: q.0.map(String::from),
                    page: PageRequest {
                        limit: limit.0.map(|l| l.0),
                        cursor: cursor.0,
                    },
                },
            )
            .await?;
        Ok(Json(GroupPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// A group with its members.
    #[oai(path = "/:group_id", method = "get")]
    async fn get(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<GroupBody>> {
        let details = self
            .ledger
            .group(auth.user_id(), GroupId(group_id.0))
            .await?;
        let mut body = GroupBody::from(details.view);
        body.members = Some(details.members.into_iter().map(Into::into).collect());
        Ok(Json(body))
    }

    /// Change a group's settings (owner or admin).
    ///
    /// Absent fields stay as they are; `description: null` clears it. A new currency
    /// applies to new expenses only.
    #[oai(path = "/:group_id", method = "patch")]
    async fn update(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        body: Json<GroupPatchBody>,
    ) -> ApiResult<Json<GroupBody>> {
        let b = body.0;
        let view = self
            .ledger
            .update_group(
                auth.user_id(),
                GroupId(group_id.0),
                GroupPatch {
                    name: b.name.map(String::from),
                    description: maybe(b.description),
                    currency: b.currency.map(String::from),
                },
            )
            .await?;
        Ok(Json(view.into()))
    }

    /// Delete a group and everything in it (owner only).
    #[oai(path = "/:group_id", method = "delete")]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_group(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(NoContent::Done)
    }
}

/// `/groups/{group_id}/members`: who is in a group, with which role.
#[derive(Debug)]
pub struct MembersApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A claim code.
#[derive(Debug, ApiResponse)]
pub enum ClaimCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<InviteBody>),
}

/// A new member.
#[derive(Debug, ApiResponse)]
pub enum MemberAdded {
    /// Added.
    #[oai(status = 201)]
    Created(Json<MemberBody>),
}

#[OpenApi(tag = "ApiTags::Members")]
impl<S: Storage> MembersApi<S> {
    /// The members, in join order.
    #[oai(path = "/groups/:group_id/members", method = "get")]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<MemberBody>>> {
        let members = self
            .ledger
            .members(auth.user_id(), GroupId(group_id.0))
            .await?;
        Ok(Json(members.into_iter().map(Into::into).collect()))
    }

    /// Add a person by the email of their account, or a placeholder by name (owner or admin).
    ///
    /// Only the owner adds admins. 404 if no account has that email; 409 if already a
    /// member. With `display_name` and no `email`, a placeholder: a person without an
    /// account (`placeholder: true`, `email: null`), who pays and shares like anyone; a claim
    /// code (`POST .../members/{user_id}/claim`) hands their place to a real account.
    #[oai(path = "/groups/:group_id/members", method = "post")]
    async fn add(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        body: Json<AddMemberBody>,
    ) -> ApiResult<MemberAdded> {
        let b = body.0;
        let (actor, group, role) = (
            auth.user_id(),
            GroupId(group_id.0),
            b.role.map(|r| r.0.into()),
        );
        let member = match (b.email, b.display_name) {
            (Some(email), _) => {
                let email = email.into();
                let add = AddMember { email, role };
                self.ledger.add_member(actor, group, add).await?
            }
            (None, Some(name)) => {
                let display_name = name.into();
                let add = AddPlaceholder { display_name, role };
                self.ledger.add_placeholder(actor, group, add).await?
            }
            (None, None) => {
                return Err(Error::invalid(
                    "email",
                    "required",
                    "give the account's email, or a display_name for a person without one",
                )
                .into());
            }
        };
        Ok(MemberAdded::Created(Json(member.into())))
    }

    /// A claim code for a placeholder (owner or admin).
    ///
    /// Whoever accepts it (`POST /invites/{code}/accept`) takes over the placeholder's place:
    /// every payer, share, repayment, conversion and balance of theirs in this group becomes
    /// the caller's, in one transaction, and the placeholder is gone. 409
    /// `not_a_placeholder` for a member with an account.
    #[oai(path = "/groups/:group_id/members/:user_id/claim", method = "post")]
    async fn claim(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The placeholder's user id.
        user_id: Path<Uuid>,
        body: Json<NewInviteBody>,
    ) -> ApiResult<ClaimCreated> {
        let invite = self
            .ledger
            .create_claim(
                auth.user_id(),
                GroupId(group_id.0),
                UserId(user_id.0),
                NewInvite {
                    expires_in_hours: body.0.expires_in_hours.map(|h| h.0),
                },
            )
            .await?;
        Ok(ClaimCreated::Created(Json(invite.into())))
    }

    /// Change a member's role (owner only).
    ///
    /// Making someone `owner` transfers ownership; the previous owner becomes an admin.
    #[oai(path = "/groups/:group_id/members/:user_id", method = "patch")]
    async fn set_role(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The member's user id.
        user_id: Path<Uuid>,
        body: Json<RoleBody>,
    ) -> ApiResult<Json<MemberBody>> {
        let member = self
            .ledger
            .set_role(
                auth.user_id(),
                GroupId(group_id.0),
                UserId(user_id.0),
                body.0.role.into(),
            )
            .await?;
        Ok(Json(member.into()))
    }

    /// Remove a member (owner or admin), or leave (oneself).
    ///
    /// 409 `balance_not_zero` while their balance is not zero in every currency; the owner
    /// cannot leave (409 `owner_cannot_leave`).
    #[oai(path = "/groups/:group_id/members/:user_id", method = "delete")]
    async fn remove(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The member's user id.
        user_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .remove_member(auth.user_id(), GroupId(group_id.0), UserId(user_id.0))
            .await?;
        Ok(NoContent::Done)
    }
}

/// Invite codes: created in a group, accepted by anyone signed in.
#[derive(Debug)]
pub struct InvitesApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A new invite.
#[derive(Debug, ApiResponse)]
pub enum InviteCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<InviteBody>),
}

#[OpenApi(tag = "ApiTags::Invites")]
impl<S: Storage> InvitesApi<S> {
    /// Create an invite code (owner or admin).
    ///
    /// `expires_in_hours` 1 to 720 (default 72).
    #[oai(path = "/groups/:group_id/invites", method = "post")]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        body: Json<NewInviteBody>,
    ) -> ApiResult<InviteCreated> {
        let invite = self
            .ledger
            .create_invite(
                auth.user_id(),
                GroupId(group_id.0),
                NewInvite {
                    expires_in_hours: body.0.expires_in_hours.map(|h| h.0),
                },
            )
            .await?;
        Ok(InviteCreated::Created(Json(invite.into())))
    }

    /// Join a group with an invite code, as a member.
    ///
    /// Unknown and expired codes are both 404. Accepting again once a member returns the
    /// group.
    #[oai(path = "/invites/:code/accept", method = "post")]
    async fn accept(
        &self,
        auth: Auth,
        /// The invite code.
        code: Path<String>,
    ) -> ApiResult<Json<super::models::GroupBody>> {
        let view = self.ledger.accept_invite(auth.user_id(), &code.0).await?;
        Ok(Json(view.into()))
    }
}
