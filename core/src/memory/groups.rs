use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{GroupState, MemoryStorage};
use std::collections::HashMap;

use crate::balance::PairDelta;
use crate::domain::{
    Activity, Group, GroupId, Invite, Member, Membership, Role, UserId, UserRecord,
};
use crate::entry::Entry;
use crate::storage::{GroupQuery, GroupStore, StorageError, StorageResult};

#[async_trait]
impl GroupStore for MemoryStorage {
    #[tracing::instrument(skip_all)]
    async fn insert_group(
        &self,
        group: &Group,
        owner: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        if !s.users.contains_key(&owner.user_id) {
            return Err(StorageError::NotFound);
        }
        let state = GroupState {
            group: Some(group.clone()),
            members: BTreeMap::from([(owner.user_id, *owner)]),
            activity: vec![activity.clone()],
            ..GroupState::default()
        };
        s.groups.insert(group.id, state);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn membership(
        &self,
        group: GroupId,
        user: UserId,
    ) -> StorageResult<Option<(Group, Role)>> {
        let s = self.lock();
        Ok(s.groups.get(&group).and_then(|g| {
            let role = g.members.get(&user)?.role;
            Some((g.group.clone()?, role))
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn share_a_group(&self, a: UserId, b: UserId) -> StorageResult<bool> {
        let s = self.lock();
        Ok(a == b
            || s.groups
                .values()
                .any(|g| g.members.contains_key(&a) && g.members.contains_key(&b)))
    }

    #[tracing::instrument(skip_all)]
    async fn list_groups(
        &self,
        user: UserId,
        query: &GroupQuery,
    ) -> StorageResult<Vec<(Group, Role)>> {
        let s = self.lock();
        let mut out: Vec<(Group, Role)> = s
            .groups
            .values()
            .filter_map(|g| Some((g.group.clone()?, g.members.get(&user)?.role)))
            .filter(|(g, _)| query.before.is_none_or(|b| g.id < b))
            .filter(|(g, _)| {
                query
                    .name_contains
                    .as_ref()
                    .is_none_or(|q| g.name.to_lowercase().contains(q.as_str()))
            })
            .collect();
        out.sort_by_key(|(g, _)| std::cmp::Reverse(g.id));
        out.truncate(query.limit as usize);
        Ok(out)
    }

    #[tracing::instrument(skip_all)]
    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group.id)?;
        g.group = Some(group.clone());
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_group(&self, group: GroupId) -> StorageResult<()> {
        let mut s = self.lock();
        s.groups.remove(&group).ok_or(StorageError::NotFound)?;
        s.invites.retain(|_, i| i.group_id != group);
        s.entry_ids.retain(|_, (g, _, _)| *g != group);
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn members(&self, group: GroupId) -> StorageResult<Vec<Member>> {
        let s = self.lock();
        let g = s.group(group)?;
        let mut list: Vec<Member> = g
            .members
            .values()
            .filter_map(|m| s.member_view(m))
            .collect();
        list.sort_by_key(|m| (m.joined_at, m.user_id));
        Ok(list)
    }

    #[tracing::instrument(skip_all)]
    async fn insert_member(
        &self,
        group: GroupId,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        if !s.users.contains_key(&member.user_id) {
            return Err(StorageError::NotFound);
        }
        let g = s.group_mut(group)?;
        if g.members.contains_key(&member.user_id) {
            return Err(StorageError::Conflict("already_member"));
        }
        g.members.insert(member.user_id, *member);
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn set_roles(
        &self,
        group: GroupId,
        changes: &[(UserId, Role)],
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group)?;
        if changes.iter().any(|(u, _)| !g.members.contains_key(u)) {
            return Err(StorageError::NotFound);
        }
        for (u, role) in changes {
            if let Some(m) = g.members.get_mut(u) {
                m.role = *role;
            }
        }
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn remove_member(
        &self,
        group: GroupId,
        user: UserId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group)?;
        if !g.members.contains_key(&user) {
            return Err(StorageError::NotFound);
        }
        let owes = g
            .totals
            .iter()
            .any(|((u, _), t)| *u == user && t.net() != Ok(0));
        if owes {
            return Err(StorageError::BalanceNotZero);
        }
        g.members.remove(&user);
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_placeholder(
        &self,
        group: GroupId,
        user: &UserRecord,
        member: &Membership,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        s.group(group)?;
        if s.emails.contains_key(&user.user.email) {
            return Err(StorageError::Conflict("email_taken"));
        }
        s.emails.insert(user.user.email.clone(), user.user.id);
        s.users.insert(user.user.id, user.clone());
        s.placeholders.insert(user.user.id);
        let g = s.group_mut(group)?;
        g.members.insert(member.user_id, *member);
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn claim_placeholder(
        &self,
        group: GroupId,
        placeholder: UserId,
        claimer: UserId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        if !s.placeholders.contains(&placeholder) || !s.users.contains_key(&claimer) {
            return Err(StorageError::NotFound);
        }
        let g = s.group(group)?;
        let Some(membership) = g.members.get(&placeholder).copied() else {
            return Err(StorageError::NotFound);
        };
        if g.members.contains_key(&claimer) {
            return Err(StorageError::Conflict("already_member"));
        }
        // Everything is computed first, then written: all or nothing.
        let swap = |u: &UserId| if *u == placeholder { claimer } else { *u };
        let overflow = |_| StorageError::Overflow;
        let mut expenses = HashMap::new();
        for (id, e) in &g.expenses {
            let moved = Entry::Expense(e.clone()).with_member(placeholder, claimer);
            if let Entry::Expense(e) = moved.map_err(overflow)? {
                expenses.insert(*id, e);
            }
        }
        let mut settlements = HashMap::new();
        for (id, x) in &g.settlements {
            let moved = Entry::Settlement(x.clone()).with_member(placeholder, claimer);
            if let Entry::Settlement(x) = moved.map_err(overflow)? {
                settlements.insert(*id, x);
            }
        }
        let mut conversions = HashMap::new();
        for (id, c) in &g.conversions {
            let moved = Entry::Conversion(c.clone()).with_member(placeholder, claimer);
            if let Entry::Conversion(c) = moved.map_err(overflow)? {
                conversions.insert(*id, c);
            }
        }
        let totals = (g.totals.iter())
            .map(|((u, c), t)| ((swap(u), *c), *t))
            .collect();
        let mut pairs = BTreeMap::new();
        for ((currency, a, b), amount) in &g.pairs {
            let pair = PairDelta {
                currency: *currency,
                a: *a,
                b: *b,
                amount: *amount,
            };
            let p = pair.rekeyed(&placeholder, &claimer).map_err(overflow)?;
            pairs.insert((p.currency, p.a, p.b), p.amount);
        }
        let g = s.group_mut(group)?;
        g.members.remove(&placeholder);
        g.members.insert(
            claimer,
            Membership {
                user_id: claimer,
                ..membership
            },
        );
        (g.expenses, g.settlements, g.conversions) = (expenses, settlements, conversions);
        (g.totals, g.pairs) = (totals, pairs);
        g.activity.push(activity.clone());
        s.placeholders.remove(&placeholder);
        if let Some(record) = s.users.remove(&placeholder) {
            s.emails.remove(&record.user.email);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_invite(&self, invite: &Invite, activity: &Activity) -> StorageResult<()> {
        let mut s = self.lock();
        if s.invites.contains_key(&invite.code) {
            return Err(StorageError::Conflict("invite_code_taken"));
        }
        s.group_mut(invite.group_id)?
            .activity
            .push(activity.clone());
        s.invites.insert(invite.code.clone(), invite.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>> {
        Ok(self.lock().invites.get(code).cloned())
    }
}
