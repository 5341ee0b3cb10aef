//! Groups, members, roles and invites.

use std::time::Duration;

use serde_json::{Value, json};

use super::auth::random_text;
use super::expenses::{Page, PageRequest};
use super::{Error, Ledger, Result, cursor, filter_text, optional_text, record, required_text};
use crate::domain::{
    Email, Group, GroupId, GroupView, Invite, Member, Membership, Role, User, UserId, UserRecord,
};
use crate::error::{FieldError, ValidationErrors};
use crate::money::Currency;
use crate::storage::{GroupQuery, Storage};

/// Longest invite lifetime that can be asked for (30 days).
pub const MAX_INVITE_HOURS: u32 = 30 * 24;

/// A new group; the caller becomes its owner.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// 1 to 100 characters.
    pub name: String,
    /// Up to 1000 characters.
    pub description: Option<String>,
    /// ISO 4217 code; expenses default to it.
    pub currency: String,
}

/// Settings changes; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New default currency (existing expenses keep theirs).
    pub currency: Option<String>,
}

/// A page request of the caller's groups.
#[derive(Debug, Clone, Default)]
pub struct ListGroups {
    /// Only groups whose name contains this (case-insensitive).
    pub q: Option<String>,
    /// Page size and cursor.
    pub page: PageRequest,
}

/// A member to add, by email.
#[derive(Debug, Clone, Default)]
pub struct AddMember {
    /// The person's account email.
    pub email: String,
    /// `member` (default) or `admin` (the owner only).
    pub role: Option<Role>,
}

/// A placeholder to add: a person without an account, by name.
#[derive(Debug, Clone, Default)]
pub struct AddPlaceholder {
    /// Their name (1 to 100 characters).
    pub display_name: String,
    /// `member` (the default; a placeholder is never an admin).
    pub role: Option<Role>,
}

/// An invite to create.
#[derive(Debug, Clone, Default)]
pub struct NewInvite {
    /// Lifetime in hours (1 to 720; default 72).
    pub expires_in_hours: Option<u32>,
}

/// A group with its members, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDetails {
    /// The group and the caller's role.
    pub view: GroupView,
    /// Members in join order.
    pub members: Vec<Member>,
}

/// The domain of placeholders' addresses: reserved (RFC 2606), so no mail reaches it and no
/// account can be added to a group by one.
pub(super) const PLACEHOLDER_DOMAIN: &str = "placeholder.invalid";

fn member_json(user: UserId, role: Role) -> Value {
    json!({"user_id": user, "role": role})
}

impl<S: Storage> Ledger<S> {
    /// Creates a group owned by the caller.
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn create_group(&self, actor: UserId, request: NewGroup) -> Result<GroupView> {
        let mut errors = ValidationErrors::default();
        let name = required_text("name", &request.name, 100, &mut errors);
        let description = optional_text(
            "description",
            request.description.as_deref(),
            1000,
            &mut errors,
        );
        let currency = Currency::parse(&request.currency)
            .map_err(|e| errors.push(e.at("currency")))
            .ok();
        errors.into_result()?;
        let currency = currency
            .ok_or_else(|| Error::invalid("currency", "unknown_currency", "unknown currency"))?;
        self.me(actor).await?;

        let now = self.now();
        let group = Group {
            id: GroupId::random(),
            name,
            description,
            currency,
            created_by: actor,
            created_at: now,
            updated_at: now,
        };
        let owner = Membership {
            user_id: actor,
            role: Role::Owner,
            joined_at: now,
        };
        let activity = record(
            group.id,
            actor,
            "group.created",
            group.id.0,
            now,
            Value::Null,
            group.snapshot(),
        );
        self.storage.insert_group(&group, &owner, &activity).await?;
        Ok(GroupView {
            group,
            my_role: Role::Owner,
        })
    }

    /// The caller's groups, newest first.
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn list_groups(&self, actor: UserId, request: ListGroups) -> Result<Page<GroupView>> {
        let limit = request.page.limit()?;
        filter_text("q", request.q.as_deref())?;
        let before = request
            .page
            .cursor
            .as_deref()
            .map(cursor::parse_group)
            .transpose()?;
        let name_contains = request
            .q
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        let query = GroupQuery {
            name_contains,
            before,
            limit: limit + 1,
        };
        let rows = self.storage.list_groups(actor, &query).await?;
        Ok(Page::from_rows(rows, limit, |(g, _)| cursor::group(g.id))
            .map(|(group, my_role)| GroupView { group, my_role }))
    }

    /// A group with its members.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn group(&self, actor: UserId, group: GroupId) -> Result<GroupDetails> {
        let (g, my_role) = self.access(actor, group).await?;
        let members = self.storage.members(group).await?;
        Ok(GroupDetails {
            view: GroupView { group: g, my_role },
            members,
        })
    }

    /// Changes settings (owner or admin).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn update_group(
        &self,
        actor: UserId,
        group: GroupId,
        patch: GroupPatch,
    ) -> Result<GroupView> {
        let (before, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden(
                "only the owner or an admin may change the group",
            ));
        }
        let mut errors = ValidationErrors::default();
        let mut after = before.clone();
        if let Some(name) = &patch.name {
            after.name = required_text("name", name, 100, &mut errors);
        }
        if let Some(description) = &patch.description {
            after.description =
                optional_text("description", description.as_deref(), 1000, &mut errors);
        }
        if let Some(code) = &patch.currency {
            match Currency::parse(code) {
                Ok(c) => after.currency = c,
                Err(e) => errors.push(e.at("currency")),
            }
        }
        errors.into_result()?;
        let now = self.now();
        after.updated_at = now;
        let activity = record(
            group,
            actor,
            "group.updated",
            group.0,
            now,
            before.snapshot(),
            after.snapshot(),
        );
        self.storage.update_group(&after, &activity).await?;
        Ok(GroupView {
            group: after,
            my_role: role,
        })
    }

    /// Deletes the group and everything in it (owner only).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn delete_group(&self, actor: UserId, group: GroupId) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        if role != Role::Owner {
            return Err(Error::Forbidden("only the owner may delete the group"));
        }
        self.storage.delete_group(group).await?;
        // Every attachment row went with the group; now their files.
        self.forget_files_of(group, None).await;
        Ok(())
    }

    /// The members, in join order.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn members(&self, actor: UserId, group: GroupId) -> Result<Vec<Member>> {
        self.access(actor, group).await?;
        Ok(self.storage.members(group).await?)
    }

    /// Adds a person by email (owner or admin; only the owner adds admins).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn add_member(
        &self,
        actor: UserId,
        group: GroupId,
        request: AddMember,
    ) -> Result<Member> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden(
                "only the owner or an admin may add members",
            ));
        }
        let new_role = request.role.unwrap_or(Role::Member);
        if new_role == Role::Owner {
            return Err(Error::invalid(
                "role",
                "invalid_role",
                "add as member or admin; transfer ownership separately",
            ));
        }
        if new_role == Role::Admin && role != Role::Owner {
            return Err(Error::Forbidden("only the owner may appoint admins"));
        }
        let email = Email::parse(&request.email)?;
        // A placeholder joins one group, by name; its address is not an account's.
        if email.as_str().ends_with(&format!("@{PLACEHOLDER_DOMAIN}")) {
            return Err(Error::NotFound("user"));
        }
        let user = self
            .storage
            .user_by_email(&email)
            .await?
            .ok_or(Error::NotFound("user"))?
            .user;
        let now = self.now();
        let membership = Membership {
            user_id: user.id,
            role: new_role,
            joined_at: now,
        };
        let activity = record(
            group,
            actor,
            "member.added",
            user.id.0,
            now,
            Value::Null,
            member_json(user.id, new_role),
        );
        self.storage
            .insert_member(group, &membership, &activity)
            .await?;
        Ok(Member {
            user_id: user.id,
            display_name: user.display_name,
            email: Some(user.email),
            role: new_role,
            joined_at: now,
            placeholder: false,
        })
    }

    /// Adds a placeholder (owner or admin): a person without an account, by name alone (a
    /// child, a grandparent, someone who will never sign up). They pay and share like anyone;
    /// they never sign in and cannot be made an admin; a claim code hands their place to a
    /// real account later.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn add_placeholder(
        &self,
        actor: UserId,
        group: GroupId,
        request: AddPlaceholder,
    ) -> Result<Member> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden(
                "only the owner or an admin may add members",
            ));
        }
        let mut errors = ValidationErrors::default();
        let display_name = required_text("display_name", &request.display_name, 100, &mut errors);
        if request.role.is_some_and(|r| r != Role::Member) {
            errors.push(FieldError::new(
                "role",
                "placeholder_role",
                "a person without an account is a member, never an admin or the owner",
            ));
        }
        errors.into_result()?;
        let now = self.now();
        let id = UserId::random();
        // An address in the reserved `.invalid` domain: unique, and nobody can receive mail
        // there or sign in with it (the hash below verifies nothing).
        let email = Email::parse(&format!("placeholder-{id}@{PLACEHOLDER_DOMAIN}"))?;
        let user = UserRecord {
            user: User {
                id,
                email,
                display_name: display_name.clone(),
                default_currency: None,
                created_at: now,
                updated_at: now,
            },
            password_hash: "!".into(),
        };
        let membership = Membership {
            user_id: id,
            role: Role::Member,
            joined_at: now,
        };
        let activity = record(
            group,
            actor,
            "member.added",
            id.0,
            now,
            Value::Null,
            json!({"user_id": id, "role": Role::Member, "placeholder": true, "display_name": display_name}),
        );
        self.storage
            .insert_placeholder(group, &user, &membership, &activity)
            .await?;
        Ok(Member {
            user_id: id,
            display_name,
            email: None,
            role: Role::Member,
            joined_at: now,
            placeholder: true,
        })
    }

    /// A claim code for a placeholder (owner or admin): whoever accepts it takes over the
    /// placeholder's place and whole history in the group. 409 `not_a_placeholder` for a
    /// member with an account.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_claim(
        &self,
        actor: UserId,
        group: GroupId,
        placeholder: UserId,
        request: NewInvite,
    ) -> Result<Invite> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden("only the owner or an admin may invite"));
        }
        let members = self.storage.members(group).await?;
        let target = members
            .iter()
            .find(|m| m.user_id == placeholder)
            .ok_or(Error::NotFound("member"))?;
        if !target.placeholder {
            return Err(Error::conflict(
                "not_a_placeholder",
                "this member has an account: only a placeholder's place can be claimed",
            ));
        }
        self.issue_invite(actor, group, request, Some(placeholder))
            .await
    }

    /// Changes a member's role (owner only). Making someone owner transfers ownership: the
    /// previous owner becomes an admin, in the same step.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn set_role(
        &self,
        actor: UserId,
        group: GroupId,
        member: UserId,
        role: Role,
    ) -> Result<Member> {
        let (_, my_role) = self.access(actor, group).await?;
        if my_role != Role::Owner {
            return Err(Error::Forbidden("only the owner may change roles"));
        }
        let members = self.storage.members(group).await?;
        let target = members
            .iter()
            .find(|m| m.user_id == member)
            .ok_or(Error::NotFound("member"))?;
        if target.placeholder && role != Role::Member {
            return Err(Error::invalid(
                "role",
                "placeholder_role",
                "a person without an account is a member, never an admin or the owner",
            ));
        }
        if member == actor && role != Role::Owner {
            return Err(Error::conflict(
                "owner_required",
                "a group needs an owner: transfer ownership instead",
            ));
        }
        let changes: Vec<(UserId, Role)> = if role == Role::Owner && member != actor {
            vec![(member, Role::Owner), (actor, Role::Admin)]
        } else {
            vec![(member, role)]
        };
        let now = self.now();
        let activity = record(
            group,
            actor,
            "member.role_changed",
            member.0,
            now,
            member_json(member, target.role),
            member_json(member, role),
        );
        self.storage.set_roles(group, &changes, &activity).await?;
        Ok(Member {
            role,
            ..target.clone()
        })
    }

    /// Removes a member (owner or admin), or leaves (oneself). The owner cannot leave or be
    /// removed; a member whose balance is not zero in every currency cannot either.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn remove_member(&self, actor: UserId, group: GroupId, member: UserId) -> Result<()> {
        let (_, my_role) = self.access(actor, group).await?;
        if member != actor && !my_role.manages() {
            return Err(Error::Forbidden(
                "only the owner or an admin may remove members",
            ));
        }
        let target = self
            .storage
            .membership(group, member)
            .await?
            .ok_or(Error::NotFound("member"))?
            .1;
        if target == Role::Owner {
            return Err(Error::conflict(
                "owner_cannot_leave",
                "the owner must transfer ownership first",
            ));
        }
        let action = if member == actor {
            "member.left"
        } else {
            "member.removed"
        };
        let activity = record(
            group,
            actor,
            action,
            member.0,
            self.now(),
            member_json(member, target),
            Value::Null,
        );
        self.storage.remove_member(group, member, &activity).await?;
        Ok(())
    }

    /// Creates an invite code (owner or admin).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn create_invite(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewInvite,
    ) -> Result<Invite> {
        let (_, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden("only the owner or an admin may invite"));
        }
        self.issue_invite(actor, group, request, None).await
    }

    /// Records an invite (a claim code when `claims` names a placeholder).
    async fn issue_invite(
        &self,
        actor: UserId,
        group: GroupId,
        request: NewInvite,
        claims: Option<UserId>,
    ) -> Result<Invite> {
        let ttl = match request.expires_in_hours {
            None => self.config.invite_ttl,
            Some(h) if (1..=MAX_INVITE_HOURS).contains(&h) => {
                Duration::from_secs(u64::from(h) * 3600)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "expires_in_hours",
                    "out_of_range",
                    format!("from 1 to {MAX_INVITE_HOURS} hours"),
                ));
            }
        };
        let now = self.now();
        let invite = Invite {
            code: random_text(16)?,
            group_id: group,
            created_by: actor,
            created_at: now,
            expires_at: now + ttl,
            claims,
        };
        let activity = record(
            group,
            actor,
            "invite.created",
            group.0,
            now,
            Value::Null,
            json!({"expires_at": invite.expires_at.unix_timestamp()}),
        );
        self.storage.insert_invite(&invite, &activity).await?;
        Ok(invite)
    }

    /// Joins a group with an invite code, as a member. Accepting again once a member just
    /// returns the group. Unknown and expired codes are both "not found".
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn accept_invite(&self, actor: UserId, code: &str) -> Result<GroupView> {
        // No code with control characters was ever issued (nor could PostgreSQL look one up).
        if code.is_empty() || code.len() > 64 || code.chars().any(char::is_control) {
            return Err(Error::NotFound("invite"));
        }
        let invite = self
            .storage
            .invite(code)
            .await?
            .ok_or(Error::NotFound("invite"))?;
        let now = self.now();
        if invite.expires_at <= now {
            return Err(Error::NotFound("invite"));
        }
        if let Some(placeholder) = invite.claims {
            return self.claim(actor, invite.group_id, placeholder, now).await;
        }
        if let Some((group, my_role)) = self.storage.membership(invite.group_id, actor).await? {
            return Ok(GroupView { group, my_role });
        }
        let membership = Membership {
            user_id: actor,
            role: Role::Member,
            joined_at: now,
        };
        let activity = record(
            invite.group_id,
            actor,
            "member.joined",
            actor.0,
            now,
            Value::Null,
            member_json(actor, Role::Member),
        );
        match self
            .storage
            .insert_member(invite.group_id, &membership, &activity)
            .await
        {
            // A concurrent accept by the same person already did it.
            Ok(()) | Err(crate::storage::StorageError::Conflict("already_member")) => {}
            Err(e) => return Err(e.into()),
        }
        let (group, my_role) = self.access(actor, invite.group_id).await?;
        Ok(GroupView { group, my_role })
    }

    /// Accepting a claim code: the caller takes over the placeholder's place and history.
    async fn claim(
        &self,
        actor: UserId,
        group: GroupId,
        placeholder: UserId,
        now: time::OffsetDateTime,
    ) -> Result<GroupView> {
        if self.storage.membership(group, actor).await?.is_some() {
            return Err(Error::conflict(
                "already_member",
                "you are already a member: a claim hands a placeholder's place to someone new",
            ));
        }
        let activity = record(
            group,
            actor,
            "member.claimed",
            actor.0,
            now,
            json!({"user_id": placeholder, "placeholder": true}),
            member_json(actor, Role::Member),
        );
        match self
            .storage
            .claim_placeholder(group, placeholder, actor, &activity)
            .await
        {
            Ok(()) => {}
            // Claimed already (by this code or another), or the placeholder was removed.
            Err(crate::storage::StorageError::NotFound) => return Err(Error::NotFound("invite")),
            Err(e) => return Err(e.into()),
        }
        // The claim has committed: failing the request now would only hide that it worked.
        if let Err(error) = self.hand_over_series(group, placeholder, actor).await {
            tracing::warn!(%error, %group, "series naming the placeholder not handed over");
        }
        let (group, my_role) = self.access(actor, group).await?;
        Ok(GroupView { group, my_role })
    }
}
