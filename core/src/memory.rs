//! An in-memory [`Storage`]: for tests, examples and embedding programs that keep nothing.
//!
//! One mutex guards the whole state and is never held across an await, so every call is
//! atomic and the store is correct under concurrent use (it is also the reference the
//! conformance suite's expectations were written against).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::balance::{PairDelta, Totals, TotalsDelta};
use crate::domain::{
    Activity, ActivityCursor, DatedCursor, Email, Expense, ExpenseFilter, ExpenseId, Group,
    GroupId, Invite, LoginFailures, Member, MemberTotals, Membership, Role, Session, Settlement,
    SettlementId, SummaryBy, SummaryRow, TokenDigest, User, UserGroupTotals, UserId, UserRecord,
};
use crate::money::Currency;
use crate::storage::{
    ExpenseDelete, ExpenseUpdate, ExpenseWrite, GroupQuery, IdempotencyClaim, Inserted,
    SettlementDelete, SettlementWrite, Storage, StorageError, StorageResult,
};

#[derive(Default)]
struct GroupState {
    group: Option<Group>,
    members: BTreeMap<UserId, Membership>,
    expenses: HashMap<ExpenseId, Expense>,
    settlements: HashMap<SettlementId, Settlement>,
    totals: BTreeMap<(UserId, Currency), Totals>,
    pairs: BTreeMap<(Currency, UserId, UserId), i64>,
    activity: Vec<Activity>,
    idempotency: HashMap<(UserId, String), (String, Uuid)>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, UserRecord>,
    emails: HashMap<Email, UserId>,
    sessions: HashMap<[u8; 32], Session>,
    login_failures: HashMap<Email, LoginFailures>,
    groups: HashMap<GroupId, GroupState>,
    invites: HashMap<String, Invite>,
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStorage {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStorage")
    }
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write: every write
        // validates first and mutates last, so the state is usable after a poison.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn group(&self, id: GroupId) -> StorageResult<&GroupState> {
        self.groups.get(&id).ok_or(StorageError::NotFound)
    }

    fn group_mut(&mut self, id: GroupId) -> StorageResult<&mut GroupState> {
        self.groups.get_mut(&id).ok_or(StorageError::NotFound)
    }

    fn member_view(&self, m: &Membership) -> Option<Member> {
        let user = &self.users.get(&m.user_id)?.user;
        Some(Member {
            user_id: m.user_id,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            role: m.role,
            joined_at: m.joined_at,
        })
    }
}

impl GroupState {
    fn require_members<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
    ) -> StorageResult<()> {
        for u in users {
            if !self.members.contains_key(u) {
                return Err(StorageError::NotMember(*u));
            }
        }
        Ok(())
    }

    /// Applies deltas all-or-nothing: computes every new value first, then writes.
    fn apply(
        &mut self,
        totals: &[TotalsDelta<UserId>],
        pairs: &[PairDelta<UserId>],
    ) -> StorageResult<()> {
        let mut new_totals = Vec::with_capacity(totals.len());
        for d in totals {
            let mut t = self
                .totals
                .get(&(d.user_id, d.currency))
                .copied()
                .unwrap_or_default();
            t.add(&d.delta).map_err(|_| StorageError::Overflow)?;
            new_totals.push(((d.user_id, d.currency), t));
        }
        let mut new_pairs = Vec::with_capacity(pairs.len());
        for d in pairs {
            let key = (d.currency, d.a, d.b);
            let v = self.pairs.get(&key).copied().unwrap_or(0);
            new_pairs.push((key, v.checked_add(d.amount).ok_or(StorageError::Overflow)?));
        }
        self.totals.extend(new_totals);
        self.pairs.extend(new_pairs);
        Ok(())
    }

    fn claim(&self, claim: Option<&IdempotencyClaim>) -> Option<Inserted> {
        let c = claim?;
        self.idempotency
            .get(&(c.user_id, c.key.clone()))
            .map(|(fingerprint, id)| Inserted::Existing {
                fingerprint: fingerprint.clone(),
                id: *id,
            })
    }
}

fn dated_before(
    occurred_on: Date,
    created_at: OffsetDateTime,
    id: Uuid,
    cursor: Option<&DatedCursor>,
) -> bool {
    cursor.is_none_or(|c| (occurred_on, created_at, id) < (c.occurred_on, c.created_at, c.id))
}

fn page<T: Clone>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (Date, OffsetDateTime, Uuid),
    limit: u32,
) -> Vec<T> {
    items.sort_by_key(|x| std::cmp::Reverse(key(x)));
    items.truncate(limit as usize);
    items
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn ping(&self) -> StorageResult<()> {
        Ok(())
    }

    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()> {
        let mut s = self.lock();
        if s.emails.contains_key(&user.user.email) {
            return Err(StorageError::Conflict("email_taken"));
        }
        s.emails.insert(user.user.email.clone(), user.user.id);
        s.users.insert(user.user.id, user.clone());
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        let s = self.lock();
        Ok(s.emails.get(email).and_then(|id| s.users.get(id)).cloned())
    }

    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        Ok(self.lock().users.get(&id).map(|r| r.user.clone()))
    }

    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| s.users.get(id))
            .map(|r| r.user.clone())
            .collect())
    }

    async fn update_user(&self, user: &User) -> StorageResult<()> {
        let mut s = self.lock();
        let old_email = s
            .users
            .get(&user.id)
            .ok_or(StorageError::NotFound)?
            .user
            .email
            .clone();
        if old_email != user.email {
            if s.emails.contains_key(&user.email) {
                return Err(StorageError::Conflict("email_taken"));
            }
            s.emails.remove(&old_email);
            s.emails.insert(user.email.clone(), user.id);
        }
        if let Some(record) = s.users.get_mut(&user.id) {
            record.user = user.clone();
        }
        Ok(())
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let record = s.users.get_mut(&user).ok_or(StorageError::NotFound)?;
        record.password_hash = password_hash.to_string();
        record.user.updated_at = updated_at;
        s.sessions.retain(|digest, session| {
            session.user_id != user || keep.is_some_and(|k| k.0 == *digest)
        });
        Ok(())
    }

    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        let mut s = self.lock();
        // Like a foreign key: sessions and groups belong to existing users.
        if !s.users.contains_key(&session.user_id) {
            return Err(StorageError::NotFound);
        }
        s.sessions.insert(session.digest.0, session.clone());
        Ok(())
    }

    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        let s = self.lock();
        Ok(s.sessions
            .get(&digest.0)
            .filter(|session| session.expires_at > now)
            .and_then(|session| s.users.get(&session.user_id))
            .map(|r| r.user.clone()))
    }

    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        Ok(self.lock().sessions.remove(&digest.0).is_some())
    }

    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        Ok(self
            .lock()
            .login_failures
            .get(email)
            .copied()
            .unwrap_or_default())
    }

    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        if failures.count == 0 {
            s.login_failures.remove(email);
        } else {
            s.login_failures.insert(email.clone(), *failures);
        }
        Ok(())
    }

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

    async fn update_group(&self, group: &Group, activity: &Activity) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group.id)?;
        g.group = Some(group.clone());
        g.activity.push(activity.clone());
        Ok(())
    }

    async fn delete_group(&self, group: GroupId) -> StorageResult<()> {
        let mut s = self.lock();
        s.groups.remove(&group).ok_or(StorageError::NotFound)?;
        s.invites.retain(|_, i| i.group_id != group);
        Ok(())
    }

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

    async fn invite(&self, code: &str) -> StorageResult<Option<Invite>> {
        Ok(self.lock().invites.get(code).cloned())
    }

    async fn insert_expense(&self, write: &ExpenseWrite) -> StorageResult<Inserted> {
        let mut s = self.lock();
        let e = &write.expense;
        let g = s.group_mut(e.group_id)?;
        if let Some(existing) = g.claim(write.idempotency.as_ref()) {
            return Ok(existing);
        }
        g.require_members(e.payers.iter().chain(&e.shares).map(|p| &p.user_id))?;
        g.apply(&write.totals, &write.pairs)?;
        if let Some(c) = &write.idempotency {
            g.idempotency
                .insert((c.user_id, c.key.clone()), (c.fingerprint.clone(), e.id.0));
        }
        g.expenses.insert(e.id, e.clone());
        g.activity.push(write.activity.clone());
        Ok(Inserted::Created)
    }

    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.expenses.get(&id))
            .cloned())
    }

    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>> {
        let s = self.lock();
        let g = s.group(group)?;
        let items = g
            .expenses
            .values()
            .filter(|e| {
                filter.matches(e) && dated_before(e.occurred_on, e.created_at, e.id.0, after)
            })
            .cloned()
            .collect();
        Ok(page(
            items,
            |e: &Expense| (e.occurred_on, e.created_at, e.id.0),
            limit,
        ))
    }

    async fn update_expense(&self, update: &ExpenseUpdate) -> StorageResult<()> {
        let mut s = self.lock();
        let e = &update.expense;
        let g = s.group_mut(e.group_id)?;
        let current = g.expenses.get(&e.id).ok_or(StorageError::NotFound)?;
        if current.version != update.expected_version {
            return Err(StorageError::StaleVersion);
        }
        if current.rows() != e.rows() {
            g.require_members(e.payers.iter().chain(&e.shares).map(|p| &p.user_id))?;
        }
        g.apply(&update.totals, &update.pairs)?;
        g.expenses.insert(e.id, e.clone());
        g.activity.push(update.activity.clone());
        Ok(())
    }

    async fn delete_expense(&self, delete: &ExpenseDelete) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(delete.group_id)?;
        let current = g.expenses.get(&delete.id).ok_or(StorageError::NotFound)?;
        if current.version != delete.expected_version {
            return Err(StorageError::StaleVersion);
        }
        g.apply(&delete.totals, &delete.pairs)?;
        g.expenses.remove(&delete.id);
        g.activity.push(delete.activity.clone());
        Ok(())
    }

    async fn insert_settlement(&self, write: &SettlementWrite) -> StorageResult<Inserted> {
        let mut s = self.lock();
        let st = &write.settlement;
        let g = s.group_mut(st.group_id)?;
        if let Some(existing) = g.claim(write.idempotency.as_ref()) {
            return Ok(existing);
        }
        g.require_members([&st.from_user, &st.to_user])?;
        g.apply(&write.totals, &write.pairs)?;
        if let Some(c) = &write.idempotency {
            g.idempotency
                .insert((c.user_id, c.key.clone()), (c.fingerprint.clone(), st.id.0));
        }
        g.settlements.insert(st.id, st.clone());
        g.activity.push(write.activity.clone());
        Ok(Inserted::Created)
    }

    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>> {
        let s = self.lock();
        Ok(s.groups
            .get(&group)
            .and_then(|g| g.settlements.get(&id))
            .cloned())
    }

    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>> {
        let s = self.lock();
        let g = s.group(group)?;
        let items = g
            .settlements
            .values()
            .filter(|x| dated_before(x.occurred_on, x.created_at, x.id.0, after))
            .cloned()
            .collect();
        Ok(page(
            items,
            |x: &Settlement| (x.occurred_on, x.created_at, x.id.0),
            limit,
        ))
    }

    async fn delete_settlement(&self, delete: &SettlementDelete) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(delete.group_id)?;
        if !g.settlements.contains_key(&delete.id) {
            return Err(StorageError::NotFound);
        }
        g.apply(&delete.totals, &delete.pairs)?;
        g.settlements.remove(&delete.id);
        g.activity.push(delete.activity.clone());
        Ok(())
    }

    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>> {
        let s = self.lock();
        Ok(s.group(group)?
            .totals
            .iter()
            .map(|((user_id, currency), totals)| MemberTotals {
                user_id: *user_id,
                currency: *currency,
                totals: *totals,
            })
            .collect())
    }

    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let s = self.lock();
        Ok(s.group(group)?
            .pairs
            .iter()
            .map(|((currency, a, b), amount)| PairDelta {
                currency: *currency,
                a: *a,
                b: *b,
                amount: *amount,
            })
            .collect())
    }

    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>> {
        let s = self.lock();
        let mut out = Vec::new();
        for g in s.groups.values() {
            let Some(group) = &g.group else { continue };
            if !g.members.contains_key(&user) {
                continue;
            }
            for ((u, currency), totals) in &g.totals {
                if *u == user {
                    out.push(UserGroupTotals {
                        group_id: group.id,
                        group_name: group.name.clone(),
                        currency: *currency,
                        totals: *totals,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>> {
        let s = self.lock();
        let g = s.group(group)?;
        let mut sums: BTreeMap<(Option<String>, Currency), (i64, i64)> = BTreeMap::new();
        let mut add = |key: Option<String>, currency, amount: i64| -> StorageResult<()> {
            let slot = sums.entry((key, currency)).or_default();
            slot.0 = slot.0.checked_add(amount).ok_or(StorageError::Overflow)?;
            slot.1 += 1;
            Ok(())
        };
        let in_range = |e: &&Expense| {
            from.is_none_or(|d| e.occurred_on >= d) && to.is_none_or(|d| e.occurred_on <= d)
        };
        for e in g.expenses.values().filter(in_range) {
            match by {
                SummaryBy::Category => add(e.category.clone(), e.currency, e.amount)?,
                SummaryBy::Month => {
                    let month = format!(
                        "{:04}-{:02}",
                        e.occurred_on.year(),
                        u8::from(e.occurred_on.month())
                    );
                    add(Some(month), e.currency, e.amount)?
                }
                SummaryBy::Member => {
                    for share in &e.shares {
                        add(Some(share.user_id.to_string()), e.currency, share.amount)?;
                    }
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|((key, currency), (amount, count))| SummaryRow {
                key,
                currency,
                amount,
                count,
            })
            .collect())
    }

    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>> {
        let s = self.lock();
        let g = s.group(group)?;
        let mut items: Vec<Activity> = g
            .activity
            .iter()
            .filter(|a| after.is_none_or(|c| (a.at, a.id) < (c.at, c.id)))
            .cloned()
            .collect();
        items.sort_by_key(|a| std::cmp::Reverse((a.at, a.id)));
        items.truncate(limit as usize);
        Ok(items)
    }
}
