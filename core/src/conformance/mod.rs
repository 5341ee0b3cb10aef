//! The storage conformance suite: every Ledger operation, every permission refusal, and the
//! running totals checked against a full recomputation, over any fresh [`Storage`].
//!
//! One file per role of the storage contract, like [`crate::storage`]:
//! - `accounts`: sign-up, sessions, profiles, login throttling;
//! - `identities`: OpenID Connect identities, logins under way, the sign-up policy;
//! - `groups`: groups, roles and permissions, members and invites;
//! - `entries`: expenses and settlements, idempotency keys, client-chosen ids, versions and
//!   the delete guard;
//! - `reports`: balances, debts, the plan, running totals and their bound, pagination,
//!   activity, summaries and exports;
//! - `files`: receipts (and their files in a blob store) and comments;
//! - `export`: the streamed export against the one read whole;
//! - `imports`: a whole file in one transaction, names mapped to members, refusals that
//!   write nothing;
//! - `concurrency`: several tasks writing one group at once (what the stores' transactions
//!   and locks are for, across every role);
//! - `recurring`: series and their occurrences, exactly once under concurrent catch-up.
//!
//! Each case is a plain async function taking a fresh store and panicking on a failure, so
//! any test harness can run it. Cases go through the [`Ledger`] only, so every store runs
//! the same rules. [`conformance_tests!`](crate::conformance_tests) emits one test per case:
//!
//! ```ignore
//! splitledger_core::conformance_tests!(#[tokio::test] async fn() { MemoryStorage::new() });
//! splitledger_core::conformance_tests!(
//!     #[sqlx::test(migrator = "MIGRATOR")] async fn(pool: PgPool) { PgStorage::from_pool(pool) }
//! );
//! ```
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

mod accounts;
mod concurrency;
mod entries;
mod export;
mod files;
mod groups;
mod identities;
mod imports;
mod recurring;
mod reports;

pub use accounts::{accounts, login_burst, login_throttling, profile_and_password};
pub use concurrency::{concurrent_edit_delete, concurrent_stale_edits, concurrent_writes};
pub use entries::{
    booked_across_currencies, client_chosen_ids, expenses, idempotency, income, refused_delete,
    settlements, stale_edit,
};
pub use export::{export_imports_back, export_round_trip_everything, streamed_export};
pub use files::{attachments, comments, orphan_files};
pub use groups::{co_members, groups, members_and_invites, permissions, placeholders};
pub use identities::{identities, pending_logins, signup_policy};
pub use imports::{import_refusals_write_nothing, imports};
pub use recurring::{
    recurring_catch_up, recurring_claimed_placeholder, recurring_concurrent,
    recurring_pause_resume, recurring_rules,
};
pub use reports::{
    activity_summary_export, balances_and_plan, conversions, pagination, running_totals,
    total_bound,
};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::{Date, Month, OffsetDateTime};

use crate::balance::{BalanceSheet, DebtSheet, Totals};
use crate::domain::{Expense, ExpenseKind, GroupId, Settlement, User, UserId};
use crate::entry::Entry;
use crate::ledger::{
    AddMember, Clock, Error, ListExpenses, NewExpense, NewGroup, NewSettlement, PageRequest, SignUp,
};
use crate::money::Currency;
use crate::split::SplitInput;
use crate::{Ledger, LedgerConfig, Storage};

/// A clock the suite moves by hand.
#[derive(Debug)]
pub struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    /// A clock stopped at 2026-06-01 12:00 UTC.
    pub fn new() -> Self {
        let start = Date::from_calendar_date(2026, Month::June, 1)
            .unwrap()
            .with_hms(12, 0, 0)
            .unwrap()
            .assume_utc();
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// A ledger over the store under test with a hand-moved clock.
pub struct Fixture<S> {
    /// The ledger.
    pub ledger: Ledger<S>,
    /// Its clock.
    pub clock: Arc<TestClock>,
}

impl<S> std::fmt::Debug for Fixture<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fixture")
    }
}

/// The password every suite user has.
pub const PASSWORD: &str = "correct horse battery";

impl<S: Storage> Fixture<S> {
    /// Wraps a fresh store.
    pub fn new(storage: S) -> Self {
        let clock = Arc::new(TestClock::new());
        let ledger =
            Ledger::with_config(storage, LedgerConfig::default()).with_clock(clock.clone());
        Self { ledger, clock }
    }

    /// Signs up `name@example.com`.
    pub async fn user(&self, name: &str) -> User {
        self.ledger
            .sign_up(SignUp {
                email: format!("{name}@example.com"),
                password: PASSWORD.into(),
                display_name: name.into(),
                invite_code: None,
            })
            .await
            .unwrap()
    }

    /// Creates a EUR group owned by `owner` with the others as members.
    pub async fn group(&self, owner: &User, members: &[&User]) -> GroupId {
        let g = self
            .ledger
            .create_group(
                owner.id,
                NewGroup {
                    name: "Trip".into(),
                    description: None,
                    currency: "EUR".into(),
                },
            )
            .await
            .unwrap();
        for m in members {
            self.ledger
                .add_member(
                    owner.id,
                    g.group.id,
                    AddMember {
                        email: m.email.to_string(),
                        role: None,
                    },
                )
                .await
                .unwrap();
        }
        g.group.id
    }

    /// Records an expense paid by `payer`, split equally among `among` (everyone if empty).
    pub async fn expense(
        &self,
        actor: &User,
        group: GroupId,
        amount: &str,
        payer: &User,
        among: &[&User],
    ) -> Expense {
        let members = if among.is_empty() {
            None
        } else {
            Some(among.iter().map(|u| u.id).collect())
        };
        self.ledger
            .create_expense(
                actor.id,
                group,
                expense_input(amount, payer.id, SplitInput::Equal { members }),
                None,
            )
            .await
            .unwrap()
    }

    /// The nets of a group in one currency, by user.
    pub async fn nets(
        &self,
        actor: &User,
        group: GroupId,
        currency: &str,
    ) -> BTreeMap<UserId, i64> {
        let view = self.ledger.balances(actor.id, group).await.unwrap();
        let c = Currency::parse(currency).unwrap();
        view.balances
            .iter()
            .find(|b| b.currency == c)
            .map(|b| {
                b.members
                    .iter()
                    .map(|m| (m.user_id, m.net.minor()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks the store's running totals against a full recomputation from its history,
    /// and that the nets of every currency add up to zero.
    pub async fn check_totals(&self, actor: &User, group: GroupId) {
        let storage = self.ledger.storage();
        let (expenses, settlements) = history(storage, group).await;
        let conversions = crate::storage::all_conversions(storage, group)
            .await
            .unwrap();
        // Totals are rebuilt from the rows with the balance sheet's own arithmetic, not from
        // `Entry::effect`, so a wrong effect cannot hide behind itself; the pairwise debts
        // have only one definition, the effect's.
        let mut sheet = BalanceSheet::new();
        let mut debts = DebtSheet::new();
        for e in &expenses {
            let mut rows = e.rows().unwrap();
            if e.kind == ExpenseKind::Income {
                // Receiving money lowers paid, and each share lowers owed.
                for r in &mut rows {
                    r.paid = r.paid.checked_neg().unwrap();
                    r.owed = r.owed.checked_neg().unwrap();
                }
            }
            sheet.add_rows(e.currency(), &rows).unwrap();
            let effect = Entry::Expense(e.clone()).effect().unwrap();
            debts.apply(&effect.pairs).unwrap();
        }
        for s in &settlements {
            sheet
                .add_settlement(s.currency(), &s.from_user, &s.to_user, s.amount.units())
                .unwrap();
            let effect = Entry::Settlement(s.clone()).effect().unwrap();
            debts.apply(&effect.pairs).unwrap();
        }
        for c in &conversions {
            for r in &c.rows {
                let out = r.from_amount.checked_neg().unwrap();
                sheet
                    .add_converted(c.from_currency, &r.user_id, out)
                    .unwrap();
                sheet
                    .add_converted(c.to_currency, &r.user_id, r.to_amount)
                    .unwrap();
            }
            let effect = Entry::Conversion(c.clone()).effect().unwrap();
            debts.apply(&effect.pairs).unwrap();
        }
        let mut stored: BTreeMap<(Currency, UserId), Totals> = BTreeMap::new();
        for t in storage.member_totals(group).await.unwrap() {
            stored.insert((t.currency, t.user_id), t.totals);
        }
        let mut expected: BTreeMap<(Currency, UserId), Totals> = BTreeMap::new();
        for c in sheet.currencies() {
            for (u, t) in sheet.totals(c) {
                expected.insert((c, u), t);
            }
        }
        stored.retain(|_, t| !t.is_zero());
        expected.retain(|_, t| !t.is_zero());
        assert_eq!(
            stored, expected,
            "running totals differ from a full recomputation"
        );

        let mut stored_pairs: DebtSheet<UserId> = DebtSheet::new();
        stored_pairs
            .apply(&storage.pair_totals(group).await.unwrap())
            .unwrap();
        assert_eq!(
            stored_pairs.debts(),
            debts.debts(),
            "pair totals differ from a full recomputation"
        );

        let view = self.ledger.balances(actor.id, group).await.unwrap();
        for block in &view.balances {
            assert_eq!(
                block.members.iter().map(|m| m.net.minor()).sum::<i64>(),
                0,
                "nets add up to zero"
            );
        }
        // Debts and nets agree member by member.
        let ledger_debts = self.ledger.debts(actor.id, group).await.unwrap();
        for block in &view.balances {
            for m in &block.members {
                let owed: i64 = ledger_debts
                    .iter()
                    .filter(|d| d.currency == block.currency)
                    .map(|d| {
                        if d.to == m.user_id {
                            d.amount.minor()
                        } else if d.from == m.user_id {
                            -d.amount.minor()
                        } else {
                            0
                        }
                    })
                    .sum();
                assert_eq!(
                    owed,
                    m.net.minor(),
                    "debts and nets disagree for {}",
                    m.user_id
                );
            }
        }
    }

    /// How many expenses the group has (every page).
    async fn expense_count(&self, actor: &User, group: GroupId) -> usize {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let request = ListExpenses {
                page: PageRequest {
                    limit: Some(200),
                    cursor,
                },
                ..ListExpenses::default()
            };
            let page = self
                .ledger
                .list_expenses(actor.id, group, request)
                .await
                .unwrap();
            count += page.items.len();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return count,
            }
        }
    }

    /// How many activity entries the group has (every page).
    async fn activity_count(&self, actor: &User, group: GroupId) -> usize {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let page = self
                .ledger
                .activity(
                    actor.id,
                    group,
                    PageRequest {
                        limit: Some(200),
                        cursor,
                    },
                )
                .await
                .unwrap();
            count += page.items.len();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return count,
            }
        }
    }
}

/// Every expense and settlement of a group, through the store's own pagination.
pub async fn history<S: Storage>(storage: &S, group: GroupId) -> (Vec<Expense>, Vec<Settlement>) {
    let expenses = crate::storage::all_expenses(storage, group).await.unwrap();
    let settlements = crate::storage::all_settlements(storage, group)
        .await
        .unwrap();
    (expenses, settlements)
}

/// An expense input with the given payer and split.
pub fn expense_input(amount: &str, payer: UserId, split: SplitInput<UserId>) -> NewExpense {
    NewExpense {
        description: "Dinner".into(),
        amount: amount.into(),
        paid_by: Some(payer),
        split,
        ..NewExpense::default()
    }
}

fn settlement_input(from: &User, to: &User, amount: &str) -> NewSettlement {
    NewSettlement::new(from.id, to.id, amount)
}

#[track_caller]
fn assert_code<T: std::fmt::Debug>(result: Result<T, Error>, code: &str) {
    match result {
        Err(e) => assert_eq!(e.code(), code, "expected {code}, got {e:?}"),
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
    }
}

#[track_caller]
fn assert_field<T: std::fmt::Debug>(result: Result<T, Error>, field: &str, code: &str) {
    match result {
        Err(Error::Validation(errors)) => assert!(
            errors
                .errors()
                .iter()
                .any(|e| e.field == field && e.code == code),
            "expected {field}/{code}, got {errors:?}"
        ),
        other => panic!("expected validation error {field}/{code}, got {other:?}"),
    }
}

/// Checks the HTTP status an error answers with (the edge maps every error through it).
#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: &Result<T, Error>, status: u16) {
    match result {
        Err(e) => assert_eq!(e.status(), status, "expected status {status}, got {e:?}"),
        Ok(v) => panic!("expected status {status}, got Ok({v:?})"),
    }
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

/// Emits one test per conformance case for a store built by the given block.
///
/// `conformance_tests!(#[tokio::test] async fn() { MemoryStorage::new() });` or, for stores
/// built from a harness argument (such as `#[sqlx::test]`'s pool),
/// `conformance_tests!(#[sqlx::test(...)] async fn(pool: PgPool) { PgStorage::from_pool(pool) });`
#[macro_export]
macro_rules! conformance_tests {
    (#[$attr:meta] async fn $params:tt $make:block) => {
        $crate::conformance_tests!(@cases [$attr] $params $make;
            // accounts
            accounts, profile_and_password, login_throttling, login_burst,
            // identities
            identities, pending_logins, signup_policy,
            // groups
            groups, permissions, members_and_invites, co_members, placeholders,
            // entries
            expenses, income, booked_across_currencies, idempotency, settlements,
            client_chosen_ids, refused_delete,
            stale_edit,
            // reports
            balances_and_plan, running_totals, pagination, activity_summary_export, total_bound,
            conversions,
            // export
            streamed_export,
            export_imports_back,
            export_round_trip_everything,
            // imports
            imports, import_refusals_write_nothing,
            // concurrency
            concurrent_writes, concurrent_stale_edits, concurrent_edit_delete,
            // recurring
            recurring_catch_up, recurring_rules, recurring_pause_resume, recurring_concurrent,
            recurring_claimed_placeholder,
            // files
            attachments, comments, orphan_files);
    };
    (@cases [$attr:meta] $params:tt $make:block; $($case:ident),*) => {
        $(
            #[$attr]
            async fn $case $params {
                let storage = $make;
                $crate::conformance::$case(storage).await;
            }
        )*
    };
}
