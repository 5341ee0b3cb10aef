//! An in-memory [`Storage`](crate::Storage): for tests, examples and embedding programs that
//! keep nothing. One file per role, like the SQL store.
//!
//! One mutex guards the whole state and is never held across an await, so every call is
//! atomic and the store is correct under concurrent use (it is also the reference the
//! conformance suite's expectations were written against).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

mod accounts;
mod entries;
mod files;
mod groups;
mod imports;
mod recurring;
mod reports;

pub use files::MemoryBlobs;

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::balance::Totals;
use crate::domain::{
    Activity, Attachment, Comment, Conversion, ConversionId, DatedCursor, Email, Expense,
    ExpenseId, Group, GroupId, Identity, Invite, LoginFailures, Member, Membership, PendingLogin,
    SeriesId, Session, Settlement, SettlementId, UserId, UserRecord,
};
use crate::entry::{Effect, EntryKind};
use crate::money::{Currency, Minor};
use crate::recurring::Series;
use crate::storage::{StorageError, StorageResult};

#[derive(Default)]
struct GroupState {
    group: Option<Group>,
    members: BTreeMap<UserId, Membership>,
    expenses: HashMap<ExpenseId, Expense>,
    settlements: HashMap<SettlementId, Settlement>,
    conversions: HashMap<ConversionId, Conversion>,
    totals: BTreeMap<(UserId, Currency), Totals>,
    pairs: BTreeMap<(Currency, UserId, UserId), Minor>,
    activity: Vec<Activity>,
    idempotency: HashMap<(UserId, String), (String, Uuid)>,
    series: BTreeMap<SeriesId, Series>,
    /// Receipts by expense, oldest first (see `files.rs`).
    attachments: BTreeMap<ExpenseId, Vec<Attachment>>,
    /// Comments by expense, oldest first.
    comments: BTreeMap<ExpenseId, Vec<Comment>>,
    /// Digests of the files imported into the group.
    imports: HashSet<String>,
}

#[derive(Default)]
struct State {
    users: HashMap<UserId, UserRecord>,
    emails: HashMap<Email, UserId>,
    sessions: HashMap<[u8; 32], Session>,
    login_failures: HashMap<Email, LoginFailures>,
    /// OpenID Connect identities by (issuer, subject).
    identities: HashMap<(String, String), Identity>,
    /// OpenID Connect logins under way, by state digest.
    pending_logins: HashMap<[u8; 32], PendingLogin>,
    /// Users who are placeholders (people without an account).
    placeholders: HashSet<UserId>,
    groups: HashMap<GroupId, GroupState>,
    invites: HashMap<String, Invite>,
    /// Every entry id ever written, with its group, kind and request fingerprint: ids are
    /// unique across groups (clients may choose them).
    entry_ids: HashMap<Uuid, (GroupId, EntryKind, String)>,
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
        let placeholder = self.placeholders.contains(&m.user_id);
        Some(Member {
            user_id: m.user_id,
            display_name: user.display_name.clone(),
            email: (!placeholder).then(|| user.email.clone()),
            role: m.role,
            joined_at: m.joined_at,
            placeholder,
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

    /// Whether `c` moves exactly the nets, and settles exactly the debts, its currency holds.
    fn converts_exactly(&self, c: &Conversion) -> bool {
        let mut nets: BTreeMap<UserId, i64> = BTreeMap::new();
        for ((user, currency), t) in &self.totals {
            match t.net() {
                Ok(0) => {}
                Ok(net) if *currency == c.from_currency => {
                    nets.insert(*user, net);
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        let rows: BTreeMap<UserId, i64> = (c.rows.iter())
            .filter(|r| !r.from_amount.is_zero())
            .map(|r| (r.user_id, r.from_amount.get()))
            .collect();
        let pairs: Vec<(UserId, UserId, Minor)> = (self.pairs.iter())
            .filter(|((currency, _, _), amount)| *currency == c.from_currency && !amount.is_zero())
            .map(|((_, a, b), amount)| (*a, *b, *amount))
            .collect();
        let mut debts: Vec<(UserId, UserId, Minor)> = (c.debts.iter())
            .filter(|d| !d.amount.is_zero())
            .map(|d| (d.a, d.b, d.amount))
            .collect();
        debts.sort();
        nets == rows && pairs == debts
    }

    /// Applies an effect all-or-nothing: computes every new value first, then writes.
    fn apply(&mut self, effect: &Effect) -> StorageResult<()> {
        let mut new_totals = Vec::with_capacity(effect.totals.len());
        for d in &effect.totals {
            let mut t = self
                .totals
                .get(&(d.user_id, d.currency))
                .copied()
                .unwrap_or_default();
            t.add(&d.delta).map_err(|_| StorageError::Overflow)?;
            new_totals.push(((d.user_id, d.currency), t));
        }
        let mut new_pairs = Vec::with_capacity(effect.pairs.len());
        for d in &effect.pairs {
            let key = (d.currency, d.a, d.b);
            let v = self.pairs.get(&key).copied().unwrap_or_default();
            let sum = v
                .checked_add(d.amount)
                .filter(|m| m.within_total_limit())
                .ok_or(StorageError::Overflow)?;
            new_pairs.push((key, sum));
        }
        self.totals.extend(new_totals);
        self.pairs.extend(new_pairs);
        Ok(())
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
