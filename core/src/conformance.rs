//! The storage conformance suite: every Ledger operation, every permission refusal, and the
//! running totals checked against a full recomputation, over any fresh [`Storage`].
//!
//! Each case is a plain async function taking a fresh store and panicking on a failure, so
//! any test harness can run it. [`conformance_tests!`](crate::conformance_tests) emits one
//! test per case:
//!
//! ```ignore
//! splitledger_core::conformance_tests!(#[tokio::test] async fn() { MemoryStorage::new() });
//! splitledger_core::conformance_tests!(
//!     #[sqlx::test(migrator = "MIGRATOR")] async fn(pool: PgPool) { PgStorage::from_pool(pool) }
//! );
//! ```
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use time::{Date, Month, OffsetDateTime};

use crate::balance::{BalanceSheet, DebtSheet, Totals, expense_pair_deltas, settlement_pair_delta};
use crate::domain::{
    Expense, ExpenseFilter, ExpenseId, GroupId, Role, Settlement, SettlementId, SummaryBy, User,
    UserId,
};
use crate::ledger::{
    AddMember, ChangePassword, Clock, Error, ExpensePatch, GroupPatch, ListExpenses, ListGroups,
    NewExpense, NewGroup, NewInvite, NewSettlement, PageRequest, SessionToken, SignUp,
    SummaryRequest, UpdateProfile,
};
use crate::money::Currency;
use crate::split::{ExactShare, PayerInput, PercentShare, SplitInput, WeightShare};
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
        let mut sheet = BalanceSheet::new();
        let mut debts = DebtSheet::new();
        for e in &expenses {
            sheet.add_rows(e.currency, &e.rows()).unwrap();
            debts
                .apply(&expense_pair_deltas(e.currency, &e.rows()))
                .unwrap();
        }
        for s in &settlements {
            sheet
                .add_settlement(s.currency, &s.from_user, &s.to_user, s.amount)
                .unwrap();
            debts
                .apply(&[settlement_pair_delta(
                    s.currency,
                    &s.from_user,
                    &s.to_user,
                    s.amount,
                )])
                .unwrap();
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
        currency: None,
        paid_by: Some(payer),
        payers: None,
        split,
        category: None,
        payment_method: None,
        occurred_on: None,
        notes: None,
        metadata: None,
    }
}

fn settlement_input(from: &User, to: &User, amount: &str) -> NewSettlement {
    NewSettlement {
        from_user: from.id,
        to_user: to.id,
        amount: amount.into(),
        currency: None,
        occurred_on: None,
        note: None,
    }
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

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

/// Sign up, log in, sessions, logout, expiry; refusals write nothing.
pub async fn accounts<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    assert_eq!(ann.email.as_str(), "ann@example.com");

    let dup = SignUp {
        email: "  ANN@Example.com ".into(),
        password: PASSWORD.into(),
        display_name: "Other".into(),
    };
    assert_code(f.ledger.sign_up(dup).await, "email_taken");
    let bad = |email: &str, password: &str, name: &str| SignUp {
        email: email.into(),
        password: password.into(),
        display_name: name.into(),
    };
    assert_field(
        f.ledger.sign_up(bad("not-an-email", PASSWORD, "X")).await,
        "email",
        "invalid_email",
    );
    assert_field(
        f.ledger.sign_up(bad("x@example.com", "short", "X")).await,
        "password",
        "password_length",
    );
    assert_field(
        f.ledger
            .sign_up(bad("x@example.com", &"p".repeat(129), "X"))
            .await,
        "password",
        "password_length",
    );
    assert_field(
        f.ledger.sign_up(bad("x@example.com", PASSWORD, "  ")).await,
        "display_name",
        "required",
    );
    // None of the refused sign-ups exists.
    assert_code(
        f.ledger.login("x@example.com", PASSWORD).await,
        "invalid_credentials",
    );

    let login = f.ledger.login("ANN@example.com ", PASSWORD).await.unwrap();
    assert_eq!(login.user.id, ann.id);
    assert_eq!(
        login.token.as_str().len(),
        43,
        "256 bits in URL-safe base64"
    );
    assert_eq!(
        f.ledger.resolve_session(&login.token).await.unwrap().id,
        ann.id
    );
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    assert_code(
        f.ledger.login("nobody@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    assert_code(
        f.ledger.resolve_session(&SessionToken::new("forged")).await,
        "unauthenticated",
    );

    f.ledger.logout(&login.token).await.unwrap();
    assert_code(
        f.ledger.resolve_session(&login.token).await,
        "unauthenticated",
    );
    assert_code(f.ledger.logout(&login.token).await, "unauthenticated");

    // A session for an account that does not exist is refused by the store.
    let ghost = User {
        id: UserId::random(),
        ..ann.clone()
    };
    assert_code(f.ledger.open_session(ghost).await, "not_found");

    let second = f.ledger.login("ann@example.com", PASSWORD).await.unwrap();
    f.clock
        .advance(f.ledger.config().session_ttl + Duration::from_secs(1));
    assert_code(
        f.ledger.resolve_session(&second.token).await,
        "unauthenticated",
    );
}

/// Profile edits and password changes (which revoke the other sessions).
pub async fn profile_and_password<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    f.user("bob").await;
    let updated = f
        .ledger
        .update_profile(
            ann.id,
            UpdateProfile {
                display_name: Some("Ann B.".into()),
                email: Some("Ann.B@Example.com".into()),
                default_currency: Some(Some("jpy".into())),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (updated.display_name.as_str(), updated.email.as_str()),
        ("Ann B.", "ann.b@example.com")
    );
    assert_eq!(
        updated.default_currency,
        Some(Currency::parse("JPY").unwrap())
    );
    assert_eq!(f.ledger.me(ann.id).await.unwrap(), updated);
    let taken = UpdateProfile {
        email: Some("bob@example.com".into()),
        ..UpdateProfile::default()
    };
    assert_code(f.ledger.update_profile(ann.id, taken).await, "email_taken");
    let invalid = UpdateProfile {
        default_currency: Some(Some("XYZ".into())),
        ..UpdateProfile::default()
    };
    assert_field(
        f.ledger.update_profile(ann.id, invalid).await,
        "default_currency",
        "unknown_currency",
    );
    assert_eq!(
        f.ledger.me(ann.id).await.unwrap(),
        updated,
        "refused edits write nothing"
    );

    let phone = f.ledger.login("ann.b@example.com", PASSWORD).await.unwrap();
    let laptop = f.ledger.login("ann.b@example.com", PASSWORD).await.unwrap();
    let wrong = ChangePassword {
        current_password: "nope nope".into(),
        new_password: "new secret 1".into(),
    };
    assert_field(
        f.ledger
            .change_password(ann.id, Some(&laptop.token), wrong)
            .await,
        "current_password",
        "wrong_password",
    );
    let short = ChangePassword {
        current_password: PASSWORD.into(),
        new_password: "short".into(),
    };
    assert_field(
        f.ledger
            .change_password(ann.id, Some(&laptop.token), short)
            .await,
        "new_password",
        "password_length",
    );
    assert!(
        f.ledger.resolve_session(&phone.token).await.is_ok(),
        "refused changes revoke nothing"
    );

    let change = ChangePassword {
        current_password: PASSWORD.into(),
        new_password: "new secret 1".into(),
    };
    f.ledger
        .change_password(ann.id, Some(&laptop.token), change)
        .await
        .unwrap();
    assert_code(
        f.ledger.resolve_session(&phone.token).await,
        "unauthenticated",
    );
    assert_eq!(
        f.ledger.resolve_session(&laptop.token).await.unwrap().id,
        ann.id
    );
    assert_code(
        f.ledger.login("ann.b@example.com", PASSWORD).await,
        "invalid_credentials",
    );
    assert!(
        f.ledger
            .login("ann.b@example.com", "new secret 1")
            .await
            .is_ok()
    );
}

/// Repeated failures for one email are throttled, for right and wrong passwords alike.
pub async fn login_throttling<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    f.user("ann").await;
    let free = f.ledger.config().free_login_failures;
    for _ in 0..free {
        assert_code(
            f.ledger.login("ann@example.com", "wrong password").await,
            "invalid_credentials",
        );
    }
    // Past the free failures, every attempt waits, even with the right password, and the
    // wait doubles with each further failure.
    match f.ledger.login("ann@example.com", PASSWORD).await {
        Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
        other => panic!("expected throttling, got {other:?}"),
    }
    f.clock.advance(Duration::from_secs(1));
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    match f.ledger.login("ann@example.com", PASSWORD).await {
        Err(Error::Throttled { retry_after_secs }) => assert_eq!(retry_after_secs, 2),
        other => panic!("expected throttling, got {other:?}"),
    }
    // Unknown emails are throttled the same way (no account enumeration).
    for _ in 0..free {
        assert_code(
            f.ledger.login("ghost@example.com", "wrong password").await,
            "invalid_credentials",
        );
    }
    assert_code(
        f.ledger.login("ghost@example.com", "wrong password").await,
        "throttled",
    );
    // Another email is not affected.
    f.user("bob").await;
    assert!(f.ledger.login("bob@example.com", PASSWORD).await.is_ok());

    f.clock
        .advance(f.ledger.config().throttle_max + Duration::from_secs(1));
    assert!(f.ledger.login("ann@example.com", PASSWORD).await.is_ok());
    // Success cleared the record: the free failures are available again.
    assert_code(
        f.ledger.login("ann@example.com", "wrong password").await,
        "invalid_credentials",
    );
    assert!(f.ledger.login("ann@example.com", PASSWORD).await.is_ok());
}

/// Groups: creation, listing with search and pages, settings, deletion.
pub async fn groups<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let new = |name: &str, currency: &str| NewGroup {
        name: name.into(),
        description: Some("  ".into()),
        currency: currency.into(),
    };
    assert_field(
        f.ledger.create_group(ann.id, new("", "EUR")).await,
        "name",
        "required",
    );
    assert_field(
        f.ledger.create_group(ann.id, new("Trip", "EURO")).await,
        "currency",
        "unknown_currency",
    );
    assert_field(
        f.ledger
            .create_group(ann.id, new(&"n".repeat(101), "EUR"))
            .await,
        "name",
        "too_long",
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        let g = f
            .ledger
            .create_group(ann.id, new(&format!("Trip {i}"), "eur"))
            .await
            .unwrap();
        assert_eq!(g.my_role, Role::Owner);
        assert_eq!(g.group.currency, eur());
        assert_eq!(g.group.description, None, "blank descriptions are none");
        ids.push(g.group.id);
    }
    let flat = f
        .ledger
        .create_group(ann.id, new("Flat share", "CHF"))
        .await
        .unwrap()
        .group
        .id;
    f.ledger
        .add_member(
            ann.id,
            flat,
            AddMember {
                email: "bob@example.com".into(),
                role: None,
            },
        )
        .await
        .unwrap();

    let page = |cursor: Option<String>| ListGroups {
        q: None,
        page: PageRequest {
            limit: Some(4),
            cursor,
        },
    };
    let first = f.ledger.list_groups(ann.id, page(None)).await.unwrap();
    assert_eq!(first.items.len(), 4);
    assert_eq!(first.items[0].group.id, flat, "newest first");
    let second = f
        .ledger
        .list_groups(ann.id, page(first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next_cursor, None);
    let trips = f
        .ledger
        .list_groups(
            ann.id,
            ListGroups {
                q: Some("TRIP".into()),
                page: PageRequest::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(trips.items.len(), 5);
    let bobs = f
        .ledger
        .list_groups(bob.id, ListGroups::default())
        .await
        .unwrap();
    assert_eq!(
        bobs.items
            .iter()
            .map(|g| (g.group.id, g.my_role))
            .collect::<Vec<_>>(),
        vec![(flat, Role::Member)]
    );
    assert_field(
        f.ledger
            .list_groups(
                ann.id,
                ListGroups {
                    q: None,
                    page: PageRequest {
                        limit: Some(0),
                        cursor: None,
                    },
                },
            )
            .await,
        "limit",
        "out_of_range",
    );
    assert_field(
        f.ledger
            .list_groups(
                ann.id,
                ListGroups {
                    q: None,
                    page: PageRequest {
                        limit: None,
                        cursor: Some("x".into()),
                    },
                },
            )
            .await,
        "cursor",
        "invalid_cursor",
    );

    let details = f.ledger.group(bob.id, flat).await.unwrap();
    assert_eq!(
        details
            .members
            .iter()
            .map(|m| m.user_id)
            .collect::<Vec<_>>(),
        vec![ann.id, bob.id],
        "join order"
    );
    let patch = GroupPatch {
        name: Some("Flat".into()),
        description: Some(Some("Rent and bills".into())),
        currency: Some("EUR".into()),
    };
    let updated = f.ledger.update_group(ann.id, flat, patch).await.unwrap();
    assert_eq!(
        (updated.group.name.as_str(), updated.group.currency),
        ("Flat", eur())
    );
    assert_eq!(updated.group.description.as_deref(), Some("Rent and bills"));
    assert_field(
        f.ledger
            .update_group(
                ann.id,
                flat,
                GroupPatch {
                    currency: Some("??".into()),
                    ..GroupPatch::default()
                },
            )
            .await,
        "currency",
        "unknown_currency",
    );
    assert_eq!(
        f.ledger.group(ann.id, flat).await.unwrap().view.group,
        updated.group
    );

    f.ledger.delete_group(ann.id, ids[0]).await.unwrap();
    assert_code(f.ledger.group(ann.id, ids[0]).await, "not_found");
    assert_eq!(
        f.ledger
            .list_groups(ann.id, ListGroups::default())
            .await
            .unwrap()
            .items
            .len(),
        5
    );
}

/// Outsiders see nothing; members, admins and the owner may do exactly what their role allows.
pub async fn permissions<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let owner = f.user("owner").await;
    let admin = f.user("admin").await;
    let member = f.user("member").await;
    let outsider = f.user("outsider").await;
    let g = f.group(&owner, &[&member]).await;
    f.ledger
        .add_member(
            owner.id,
            g,
            AddMember {
                email: "admin@example.com".into(),
                role: Some(Role::Admin),
            },
        )
        .await
        .unwrap();
    let e = f.expense(&owner, g, "30.00", &owner, &[]).await;
    let s = f
        .ledger
        .create_settlement(
            member.id,
            g,
            settlement_input(&member, &owner, "1.00"),
            None,
        )
        .await
        .unwrap();

    // An outsider gets "not found" from every group-scoped operation.
    let l = &f.ledger;
    let o = outsider.id;
    assert_code(l.group(o, g).await, "not_found");
    assert_code(l.members(o, g).await, "not_found");
    assert_code(
        l.update_group(o, g, GroupPatch::default()).await,
        "not_found",
    );
    assert_code(l.delete_group(o, g).await, "not_found");
    assert_code(
        l.add_member(
            o,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: None,
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.set_role(o, g, member.id, Role::Admin).await, "not_found");
    assert_code(l.remove_member(o, g, member.id).await, "not_found");
    assert_code(
        l.create_invite(o, g, NewInvite::default()).await,
        "not_found",
    );
    assert_code(
        l.create_expense(
            o,
            g,
            expense_input("1.00", o, SplitInput::Equal { members: None }),
            None,
        )
        .await,
        "not_found",
    );
    assert_code(
        l.list_expenses(o, g, ListExpenses::default()).await,
        "not_found",
    );
    assert_code(l.expense(o, g, e.id).await, "not_found");
    assert_code(
        l.update_expense(
            o,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                ..ExpensePatch::default()
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.delete_expense(o, g, e.id).await, "not_found");
    assert_code(
        l.create_settlement(o, g, settlement_input(&outsider, &owner, "1.00"), None)
            .await,
        "not_found",
    );
    assert_code(
        l.list_settlements(o, g, PageRequest::default()).await,
        "not_found",
    );
    assert_code(l.delete_settlement(o, g, s.id).await, "not_found");
    assert_code(l.balances(o, g).await, "not_found");
    assert_code(l.debts(o, g).await, "not_found");
    assert_code(l.settlement_plan(o, g).await, "not_found");
    assert_code(l.activity(o, g, PageRequest::default()).await, "not_found");
    assert_code(
        l.summary(
            o,
            g,
            SummaryRequest {
                by: SummaryBy::Category,
                from: None,
                to: None,
            },
        )
        .await,
        "not_found",
    );
    assert_code(l.export(o, g).await, "not_found");
    // An unknown group looks the same as someone else's.
    assert_code(l.balances(owner.id, GroupId::random()).await, "not_found");
    // A member cannot read another group's expense through their own group id.
    let other = f.group(&outsider, &[]).await;
    assert_code(l.expense(outsider.id, other, e.id).await, "not_found");

    // A plain member.
    let m = member.id;
    assert_code(
        l.update_group(
            m,
            g,
            GroupPatch {
                name: Some("Mine".into()),
                ..GroupPatch::default()
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.delete_group(m, g).await, "forbidden");
    assert_code(
        l.add_member(
            m,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: None,
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.set_role(m, g, m, Role::Admin).await, "forbidden");
    assert_code(l.remove_member(m, g, admin.id).await, "forbidden");
    assert_code(
        l.create_invite(m, g, NewInvite::default()).await,
        "forbidden",
    );
    assert_code(
        l.update_expense(
            m,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                notes: Some(Some("x".into())),
                ..ExpensePatch::default()
            },
        )
        .await,
        "forbidden",
    );
    assert_code(l.delete_expense(m, g, e.id).await, "forbidden");
    assert!(
        l.create_settlement(m, g, settlement_input(&member, &admin, "1.00"), None)
            .await
            .is_ok()
    );

    // An admin.
    let a = admin.id;
    assert!(
        l.update_group(
            a,
            g,
            GroupPatch {
                name: Some("Renamed".into()),
                ..GroupPatch::default()
            }
        )
        .await
        .is_ok()
    );
    assert_code(l.delete_group(a, g).await, "forbidden");
    assert_code(l.set_role(a, g, m, Role::Admin).await, "forbidden");
    assert_code(
        l.add_member(
            a,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: Some(Role::Admin),
            },
        )
        .await,
        "forbidden",
    );
    assert!(l.create_invite(a, g, NewInvite::default()).await.is_ok());
    let edited = l
        .update_expense(
            a,
            g,
            e.id,
            ExpensePatch {
                version: 1,
                notes: Some(Some("by admin".into())),
                ..ExpensePatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert_code(l.remove_member(a, g, owner.id).await, "owner_cannot_leave");

    // The owner: roles and transfer of ownership.
    assert_code(
        l.set_role(owner.id, g, owner.id, Role::Admin).await,
        "owner_required",
    );
    assert_code(
        l.add_member(
            owner.id,
            g,
            AddMember {
                email: "outsider@example.com".into(),
                role: Some(Role::Owner),
            },
        )
        .await,
        "validation_failed",
    );
    let promoted = l.set_role(owner.id, g, m, Role::Admin).await.unwrap();
    assert_eq!(promoted.role, Role::Admin);
    l.set_role(owner.id, g, a, Role::Owner).await.unwrap();
    let roles: BTreeMap<UserId, Role> = l
        .members(owner.id, g)
        .await
        .unwrap()
        .iter()
        .map(|x| (x.user_id, x.role))
        .collect();
    assert_eq!(roles[&a], Role::Owner);
    assert_eq!(
        roles[&owner.id],
        Role::Admin,
        "the previous owner becomes an admin"
    );
    assert_eq!(
        roles.values().filter(|r| **r == Role::Owner).count(),
        1,
        "one owner per group"
    );
    assert_code(l.delete_group(owner.id, g).await, "forbidden");
    l.delete_group(a, g).await.unwrap();
    assert_code(l.group(a, g).await, "not_found");
}

/// Members by email, invites, leaving, and the zero-balance rule.
pub async fn members_and_invites<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[]).await;
    let l = &f.ledger;
    assert_code(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "nobody@example.com".into(),
                role: None,
            },
        )
        .await,
        "not_found",
    );
    assert_field(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "bad".into(),
                role: None,
            },
        )
        .await,
        "email",
        "invalid_email",
    );
    let added = l
        .add_member(
            ann.id,
            g,
            AddMember {
                email: " BOB@example.com".into(),
                role: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (added.user_id, added.role, added.display_name.as_str()),
        (bob.id, Role::Member, "bob")
    );
    assert_code(
        l.add_member(
            ann.id,
            g,
            AddMember {
                email: "bob@example.com".into(),
                role: None,
            },
        )
        .await,
        "already_member",
    );

    assert_field(
        l.create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(0),
            },
        )
        .await,
        "expires_in_hours",
        "out_of_range",
    );
    let invite = l
        .create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(2),
            },
        )
        .await
        .unwrap();
    assert!(invite.code.len() >= 20);
    let joined = l.accept_invite(cid.id, &invite.code).await.unwrap();
    assert_eq!((joined.group.id, joined.my_role), (g, Role::Member));
    assert_eq!(
        l.accept_invite(cid.id, &invite.code)
            .await
            .unwrap()
            .group
            .id,
        g,
        "accepting twice is harmless"
    );
    assert_code(l.accept_invite(cid.id, "no-such-code").await, "not_found");
    let short = l
        .create_invite(
            ann.id,
            g,
            NewInvite {
                expires_in_hours: Some(1),
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(3601));
    let dan = f.user("dan").await;
    assert_code(l.accept_invite(dan.id, &short.code).await, "not_found");
    assert_code(l.members(dan.id, g).await, "not_found");

    // Bob owes money: he can neither leave nor be removed until it is settled.
    f.expense(&ann, g, "30.00", &ann, &[&ann, &bob]).await;
    assert_code(l.remove_member(bob.id, g, bob.id).await, "balance_not_zero");
    assert_code(l.remove_member(ann.id, g, bob.id).await, "balance_not_zero");
    assert_code(
        l.remove_member(ann.id, g, ann.id).await,
        "owner_cannot_leave",
    );
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "15.00"), None)
        .await
        .unwrap();
    l.remove_member(bob.id, g, bob.id).await.unwrap();
    assert_code(l.group(bob.id, g).await, "not_found");
    l.remove_member(ann.id, g, cid.id).await.unwrap();
    assert_code(l.remove_member(ann.id, g, cid.id).await, "not_found");
    // A former member with history still shows in balances, at zero, with their name.
    let view = l.balances(ann.id, g).await.unwrap();
    let bob_row = view.balances[0]
        .members
        .iter()
        .find(|m| m.user_id == bob.id)
        .unwrap();
    assert_eq!(
        (bob_row.net.minor(), bob_row.display_name.as_deref()),
        (0, Some("bob"))
    );
    // And cannot be named in new expenses.
    let split = SplitInput::Equal {
        members: Some(vec![ann.id, bob.id]),
    };
    assert_field(
        l.create_expense(ann.id, g, expense_input("10.00", ann.id, split), None)
            .await,
        "split.members[1]",
        "not_a_member",
    );
    f.check_totals(&ann, g).await;
}

/// Expenses: every split kind, several payers, reads, filters, edits with versions, deletes,
/// and refusals that write nothing.
pub async fn expenses<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;

    let equal = f.expense(&ann, g, "100.00", &ann, &[]).await;
    let mut owed: Vec<i64> = equal.shares.iter().map(|s| s.amount).collect();
    owed.sort_unstable();
    assert_eq!(owed, vec![3333, 3333, 3334]);
    assert_eq!(
        equal.split,
        SplitInput::Equal {
            members: Some(vec![ann.id, bob.id, cid.id])
        },
        "everyone made explicit"
    );
    assert_eq!((equal.version, equal.paid_by()), (1, Some(ann.id)));

    let mut input = expense_input(
        "90.00",
        bob.id,
        SplitInput::Shares {
            shares: vec![
                WeightShare {
                    user_id: ann.id,
                    weight: "2".into(),
                },
                WeightShare {
                    user_id: bob.id,
                    weight: "1".into(),
                },
            ],
        },
    );
    input.category = Some("food".into());
    input.occurred_on = Some(Date::from_calendar_date(2026, Month::May, 3).unwrap());
    input.metadata = Some(json!({"receipt": "r-1"}));
    input.notes = Some("line one\nline two".into());
    let weighted = l.create_expense(bob.id, g, input, None).await.unwrap();
    assert_eq!(
        weighted
            .shares
            .iter()
            .map(|s| (s.user_id, s.amount))
            .collect::<BTreeMap<_, _>>(),
        BTreeMap::from([(ann.id, 6000), (bob.id, 3000)])
    );

    let mut several = expense_input(
        "50.00",
        ann.id,
        SplitInput::Percent {
            shares: vec![
                PercentShare {
                    user_id: ann.id,
                    percent: "50".into(),
                },
                PercentShare {
                    user_id: cid.id,
                    percent: "50".into(),
                },
            ],
        },
    );
    several.paid_by = None;
    several.payers = Some(vec![
        PayerInput {
            user_id: ann.id,
            amount: "20.00".into(),
        },
        PayerInput {
            user_id: cid.id,
            amount: "30.00".into(),
        },
    ]);
    several.currency = Some("USD".into());
    let multi = l.create_expense(cid.id, g, several, None).await.unwrap();
    assert_eq!((multi.currency.code(), multi.paid_by()), ("USD", None));
    assert_eq!(multi.payers.iter().map(|p| p.amount).sum::<i64>(), 5000);

    let exact = SplitInput::Exact {
        shares: vec![
            ExactShare {
                user_id: bob.id,
                amount: "7.50".into(),
            },
            ExactShare {
                user_id: cid.id,
                amount: "2.50".into(),
            },
        ],
    };
    let exact = l
        .create_expense(ann.id, g, expense_input("10.00", ann.id, exact), None)
        .await
        .unwrap();
    assert_eq!(
        l.expense(bob.id, g, exact.id).await.unwrap(),
        exact,
        "reads back exactly as written"
    );
    assert_eq!(l.expense(bob.id, g, weighted.id).await.unwrap(), weighted);
    assert_eq!(l.expense(bob.id, g, multi.id).await.unwrap(), multi);

    // Refusals write nothing.
    let activity_before = l
        .activity(
            ann.id,
            g,
            PageRequest {
                limit: Some(200),
                cursor: None,
            },
        )
        .await
        .unwrap()
        .items
        .len();
    let nets_before = f.nets(&ann, g, "EUR").await;
    let refused: Vec<(NewExpense, &str, &str)> = vec![
        (
            expense_input("1.005", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_too_precise",
        ),
        (
            expense_input("0", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_not_positive",
        ),
        (
            expense_input("-5", ann.id, SplitInput::Equal { members: None }),
            "amount",
            "amount_not_positive",
        ),
        (
            expense_input("5", UserId::random(), SplitInput::Equal { members: None }),
            "paid_by",
            "not_a_member",
        ),
        (
            NewExpense {
                description: " ".into(),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "description",
            "required",
        ),
        (
            NewExpense {
                currency: Some("XXX".into()),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "currency",
            "unknown_currency",
        ),
        (
            NewExpense {
                metadata: Some(json!([1])),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "metadata",
            "metadata_not_object",
        ),
        (
            NewExpense {
                metadata: Some(json!({"x": "y".repeat(17000)})),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "metadata",
            "metadata_too_large",
        ),
        (
            NewExpense {
                payers: Some(vec![]),
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "payers",
            "payer_conflict",
        ),
        (
            NewExpense {
                paid_by: None,
                ..expense_input("5", ann.id, SplitInput::Equal { members: None })
            },
            "paid_by",
            "required",
        ),
        (
            expense_input(
                "10.00",
                ann.id,
                SplitInput::Exact {
                    shares: vec![ExactShare {
                        user_id: ann.id,
                        amount: "3.33".into(),
                    }],
                },
            ),
            "split.shares",
            "sum_mismatch",
        ),
    ];
    for (input, field, code) in refused {
        assert_field(l.create_expense(ann.id, g, input, None).await, field, code);
    }
    assert_field(
        l.create_expense(
            ann.id,
            g,
            expense_input("5", ann.id, SplitInput::Equal { members: None }),
            Some(""),
        )
        .await,
        "idempotency_key",
        "invalid_idempotency_key",
    );
    assert_eq!(
        l.activity(
            ann.id,
            g,
            PageRequest {
                limit: Some(200),
                cursor: None
            }
        )
        .await
        .unwrap()
        .items
        .len(),
        activity_before
    );
    assert_eq!(f.nets(&ann, g, "EUR").await, nets_before);
    assert_eq!(
        l.list_expenses(ann.id, g, ListExpenses::default())
            .await
            .unwrap()
            .items
            .len(),
        4
    );

    // Filters.
    let list = |filter: ExpenseFilter| {
        l.list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter,
                page: PageRequest::default(),
            },
        )
    };
    let ids = |page: crate::ledger::Page<Expense>| {
        page.items.iter().map(|e| e.id).collect::<Vec<ExpenseId>>()
    };
    assert_eq!(
        ids(list(ExpenseFilter {
            paid_by: Some(bob.id),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    assert_eq!(
        ids(list(ExpenseFilter {
            paid_by: Some(cid.id),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![multi.id]
    );
    assert_eq!(
        ids(list(ExpenseFilter {
            category: Some("food".into()),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    let may = Date::from_calendar_date(2026, Month::May, 3).unwrap();
    assert_eq!(
        ids(list(ExpenseFilter {
            from: Some(may),
            to: Some(may),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()),
        vec![weighted.id]
    );
    assert_eq!(
        list(ExpenseFilter {
            from: may.next_day(),
            ..ExpenseFilter::default()
        })
        .await
        .unwrap()
        .items
        .len(),
        3
    );
    assert_field(
        list(ExpenseFilter {
            from: may.next_day(),
            to: Some(may),
            ..ExpenseFilter::default()
        })
        .await,
        "from",
        "invalid_range",
    );
    let all = ids(list(ExpenseFilter::default()).await.unwrap());
    assert_eq!(all.last(), Some(&weighted.id), "the oldest date comes last");

    // Edits name the version they read.
    let patch = ExpensePatch {
        version: 1,
        amount: Some("60.00".into()),
        description: Some("Dinner for three".into()),
        ..ExpensePatch::default()
    };
    let edited = l
        .update_expense(ann.id, g, equal.id, patch.clone())
        .await
        .unwrap();
    assert_eq!(
        (edited.version, edited.amount, edited.description.as_str()),
        (2, 6000, "Dinner for three")
    );
    assert_eq!(
        edited.shares.iter().map(|s| s.amount).collect::<Vec<_>>(),
        vec![2000, 2000, 2000]
    );
    match l.update_expense(ann.id, g, equal.id, patch).await {
        Err(Error::StaleVersion { expected, current }) => assert_eq!((expected, current), (1, 2)),
        other => panic!("expected a stale version, got {other:?}"),
    }
    // Any payer may edit; others (not creator, not payer, not admin) may not.
    let by_payer = ExpensePatch {
        version: 1,
        split: Some(SplitInput::Equal {
            members: Some(vec![ann.id, bob.id, cid.id]),
        }),
        paid_by: Some(cid.id),
        ..ExpensePatch::default()
    };
    assert_code(
        l.update_expense(cid.id, g, weighted.id, by_payer.clone())
            .await,
        "forbidden",
    );
    let moved = l
        .update_expense(bob.id, g, weighted.id, by_payer)
        .await
        .unwrap();
    assert_eq!(moved.paid_by(), Some(cid.id));
    assert_eq!(
        moved.metadata,
        Some(json!({"receipt": "r-1"})),
        "untouched fields stay"
    );
    let bad = ExpensePatch {
        version: 2,
        amount: Some("1.001".into()),
        ..ExpensePatch::default()
    };
    assert_field(
        l.update_expense(cid.id, g, weighted.id, bad).await,
        "amount",
        "amount_too_precise",
    );
    let cleared = ExpensePatch {
        version: 2,
        category: Some(None),
        metadata: Some(None),
        ..ExpensePatch::default()
    };
    let cleared = l
        .update_expense(cid.id, g, weighted.id, cleared)
        .await
        .unwrap();
    assert_eq!(
        (
            cleared.category.clone(),
            cleared.metadata.clone(),
            cleared.shares.clone()
        ),
        (None, None, moved.shares.clone())
    );

    assert_code(l.delete_expense(bob.id, g, multi.id).await, "forbidden");
    l.delete_expense(cid.id, g, multi.id).await.unwrap();
    assert_code(l.expense(ann.id, g, multi.id).await, "not_found");
    assert_code(l.delete_expense(cid.id, g, multi.id).await, "not_found");
    f.check_totals(&ann, g).await;
}

/// Idempotency keys: a replay returns the first result; another body is refused.
pub async fn idempotency<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let input = expense_input("12.00", ann.id, SplitInput::Equal { members: None });
    let first = l
        .create_expense(ann.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    let again = l
        .create_expense(ann.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_code(
        l.create_expense(
            ann.id,
            g,
            expense_input("13.00", ann.id, SplitInput::Equal { members: None }),
            Some("key-1"),
        )
        .await,
        "idempotency_key_reused",
    );
    // Keys belong to their sender: Bob's "key-1" is his own.
    let bobs = l
        .create_expense(bob.id, g, input.clone(), Some("key-1"))
        .await
        .unwrap();
    assert_ne!(bobs.id, first.id);
    assert_eq!(
        l.list_expenses(ann.id, g, ListExpenses::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let repay = settlement_input(&bob, &ann, "6.00");
    let s1 = l
        .create_settlement(bob.id, g, repay.clone(), Some("pay-1"))
        .await
        .unwrap();
    let s2 = l
        .create_settlement(bob.id, g, repay, Some("pay-1"))
        .await
        .unwrap();
    assert_eq!(s1, s2);
    assert_code(
        l.create_settlement(
            bob.id,
            g,
            settlement_input(&bob, &ann, "7.00"),
            Some("pay-1"),
        )
        .await,
        "idempotency_key_reused",
    );
    assert_eq!(
        l.list_settlements(ann.id, g, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    f.check_totals(&ann, g).await;
}

/// Settlements: recording, listing, deleting, and their refusals.
pub async fn settlements<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let outsider = f.user("out").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let l = &f.ledger;
    f.expense(&ann, g, "30.00", &ann, &[]).await;
    let s = l
        .create_settlement(cid.id, g, settlement_input(&bob, &ann, "10.00"), None)
        .await
        .unwrap();
    assert_eq!((s.amount, s.currency, s.created_by), (1000, eur(), cid.id));
    assert_eq!(f.nets(&ann, g, "EUR").await[&bob.id], 0);

    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &bob, "1.00"), None)
            .await,
        "to_user",
        "same_user",
    );
    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &outsider, "1.00"), None)
            .await,
        "to_user",
        "not_a_member",
    );
    assert_field(
        l.create_settlement(ann.id, g, settlement_input(&bob, &ann, "0.001"), None)
            .await,
        "amount",
        "amount_too_precise",
    );
    let mut jpy = settlement_input(&bob, &ann, "500");
    jpy.currency = Some("JPY".into());
    let yen = l.create_settlement(bob.id, g, jpy, None).await.unwrap();
    assert_eq!((yen.amount, yen.currency.code()), (500, "JPY"));
    assert_eq!(
        l.list_settlements(ann.id, g, PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // Only its creator, either party or an admin may delete a settlement.
    let s2 = l
        .create_settlement(bob.id, g, settlement_input(&bob, &ann, "1.00"), None)
        .await
        .unwrap();
    assert_code(l.delete_settlement(cid.id, g, s2.id).await, "forbidden");
    l.delete_settlement(ann.id, g, s2.id).await.unwrap();
    assert_code(l.delete_settlement(ann.id, g, s2.id).await, "not_found");
    assert_code(
        l.delete_settlement(ann.id, g, SettlementId::random()).await,
        "not_found",
    );
    f.check_totals(&ann, g).await;
}

/// Balances, debts and the plan over scenarios from peers' tests, and the plan's stability.
pub async fn balances_and_plan<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let a = f.user("a").await;
    let b = f.user("b").await;
    let c = f.user("c").await;
    let d = f.user("d").await;
    let g = f.group(&a, &[&b, &c, &d]).await;
    let l = &f.ledger;

    // Empty group: every member at zero in the group's currency, empty plan.
    let view = l.balances(b.id, g).await.unwrap();
    assert_eq!(view.balances.len(), 1);
    assert_eq!(view.balances[0].members.len(), 4);
    assert!(
        l.settlement_plan(a.id, g)
            .await
            .unwrap()
            .transfers
            .is_empty()
    );

    // Multi-payer scenario: a paid 60, b paid 40, split four ways.
    let mut input = expense_input("100.00", a.id, SplitInput::Equal { members: None });
    input.paid_by = None;
    input.payers = Some(vec![
        PayerInput {
            user_id: a.id,
            amount: "60.00".into(),
        },
        PayerInput {
            user_id: b.id,
            amount: "40.00".into(),
        },
    ]);
    l.create_expense(c.id, g, input, None).await.unwrap();
    let nets = f.nets(&a, g, "EUR").await;
    assert_eq!(
        (nets[&a.id], nets[&b.id], nets[&c.id], nets[&d.id]),
        (3500, 1500, -2500, -2500)
    );
    let plan = l.settlement_plan(a.id, g).await.unwrap();
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 3);
    let view = l.balances(a.id, g).await.unwrap();
    let row = view.balances[0]
        .members
        .iter()
        .find(|m| m.user_id == a.id)
        .unwrap();
    assert_eq!(
        (
            row.paid.minor(),
            row.owed.minor(),
            row.sent.minor(),
            row.received.minor()
        ),
        (6000, 2500, 0, 0)
    );
    assert_eq!(row.display_name.as_deref(), Some("a"));
    f.check_totals(&a, g).await;

    // Stability: pay each planned transfer; each time the plan shrinks by exactly one.
    let mut remaining = plan.transfers.len();
    while remaining > 0 {
        let t = l.settlement_plan(a.id, g).await.unwrap().transfers[0].clone();
        let repay = NewSettlement {
            from_user: t.from,
            to_user: t.to,
            amount: t.amount.to_string(),
            currency: Some(t.currency.code().into()),
            occurred_on: None,
            note: None,
        };
        l.create_settlement(t.from, g, repay, None).await.unwrap();
        let next = l.settlement_plan(a.id, g).await.unwrap();
        assert_eq!(next.transfers.len(), remaining - 1);
        remaining -= 1;
    }
    assert!(f.nets(&a, g, "EUR").await.values().all(|n| *n == 0));
    assert!(l.debts(a.id, g).await.unwrap().is_empty());

    // Currencies are never mixed: a JPY expense gets its own block and its own transfers.
    let mut yen = expense_input(
        "1000",
        c.id,
        SplitInput::Equal {
            members: Some(vec![a.id, b.id, c.id]),
        },
    );
    yen.currency = Some("JPY".into());
    l.create_expense(c.id, g, yen, None).await.unwrap();
    let view = l.balances(a.id, g).await.unwrap();
    assert_eq!(
        view.balances
            .iter()
            .map(|b| b.currency.code())
            .collect::<Vec<_>>(),
        vec!["EUR", "JPY"]
    );
    let plan = l.settlement_plan(a.id, g).await.unwrap();
    assert_eq!(plan.transfers.len(), 2);
    assert!(
        plan.transfers
            .iter()
            .all(|t| t.currency.code() == "JPY" && t.to == c.id)
    );
    let debts = l.debts(a.id, g).await.unwrap();
    assert_eq!(debts.len(), 2);
    f.check_totals(&a, g).await;
}

/// The running totals equal a full recomputation after a long mixed history of creates,
/// edits, deletes and settlements in several currencies.
pub async fn running_totals<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let users = [
        f.user("u0").await,
        f.user("u1").await,
        f.user("u2").await,
        f.user("u3").await,
    ];
    let refs: Vec<&User> = users.iter().skip(1).collect();
    let g = f.group(&users[0], &refs).await;
    let l = &f.ledger;
    let currencies = ["EUR", "JPY", "KWD"];
    let mut live: Vec<Expense> = Vec::new();
    // A small deterministic generator keeps the history varied and reproducible.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..60 {
        let actor = &users[next(4) as usize];
        let currency = currencies[next(3) as usize];
        let amount = Currency::parse(currency)
            .unwrap()
            .format(1 + next(100_000) as i64);
        match next(5) {
            0 | 1 => {
                let split = match next(3) {
                    0 => SplitInput::Equal { members: None },
                    1 => SplitInput::Shares {
                        shares: users
                            .iter()
                            .map(|u| WeightShare {
                                user_id: u.id,
                                weight: (1 + next(3)).to_string(),
                            })
                            .collect(),
                    },
                    _ => SplitInput::Percent {
                        shares: vec![
                            PercentShare {
                                user_id: users[0].id,
                                percent: "33.33".into(),
                            },
                            PercentShare {
                                user_id: users[1].id,
                                percent: "66.67".into(),
                            },
                        ],
                    },
                };
                let mut input = expense_input(&amount, users[next(4) as usize].id, split);
                input.currency = Some(currency.into());
                live.push(l.create_expense(actor.id, g, input, None).await.unwrap());
            }
            2 if !live.is_empty() => {
                let i = next(live.len() as u64) as usize;
                let e = &live[i];
                let patch = ExpensePatch {
                    version: e.version,
                    amount: Some(e.currency.format(1 + next(50_000) as i64)),
                    split: Some(SplitInput::Equal {
                        members: Some(vec![users[2].id, users[3].id]),
                    }),
                    ..ExpensePatch::default()
                };
                live[i] = l.update_expense(users[0].id, g, e.id, patch).await.unwrap();
            }
            3 if !live.is_empty() => {
                let i = next(live.len() as u64) as usize;
                l.delete_expense(users[0].id, g, live[i].id).await.unwrap();
                live.remove(i);
            }
            _ => {
                let from = next(4) as usize;
                let to = (from + 1 + next(3) as usize) % 4;
                let mut input = settlement_input(&users[from], &users[to], &amount);
                input.currency = Some(currency.into());
                l.create_settlement(actor.id, g, input, None).await.unwrap();
            }
        }
        if step % 20 == 19 {
            f.check_totals(&users[0], g).await;
        }
    }
    f.check_totals(&users[0], g).await;
    let plan = l.settlement_plan(users[1].id, g).await.unwrap();
    assert!(plan.optimal);
}

/// Keyset pagination walks a long history once, in order, with no duplicates.
pub async fn pagination<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let g = f.group(&ann, &[]).await;
    let l = &f.ledger;
    let day = Date::from_calendar_date(2026, Month::March, 1).unwrap();
    for i in 0..120_i64 {
        let mut input = expense_input("1.00", ann.id, SplitInput::Equal { members: None });
        // Many share a date, so the order must fall back to creation time and id.
        input.occurred_on = Some(day + time::Duration::days(i % 7));
        input.description = format!("#{i}");
        l.create_expense(ann.id, g, input, None).await.unwrap();
        if i % 3 == 0 {
            f.clock.advance(Duration::from_millis(1));
        }
    }
    let mut seen: Vec<Expense> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = l
            .list_expenses(
                ann.id,
                g,
                ListExpenses {
                    filter: ExpenseFilter::default(),
                    page: PageRequest {
                        limit: Some(25),
                        cursor,
                    },
                },
            )
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 120);
    let mut ids: Vec<ExpenseId> = seen.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120, "no duplicates");
    assert!(
        seen.windows(2)
            .all(|w| (w[0].occurred_on, w[0].created_at, w[0].id)
                > (w[1].occurred_on, w[1].created_at, w[1].id)),
        "newest first"
    );

    let mut acts = 0;
    let mut cursor = None;
    loop {
        let page = l
            .activity(
                ann.id,
                g,
                PageRequest {
                    limit: Some(50),
                    cursor,
                },
            )
            .await
            .unwrap();
        acts += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(acts, 121, "group creation and 120 expenses");
    assert_field(
        l.list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter: ExpenseFilter::default(),
                page: PageRequest {
                    limit: Some(201),
                    cursor: None,
                },
            },
        )
        .await,
        "limit",
        "out_of_range",
    );
}

/// Activity (before and after), summaries, exports and the caller's own balances.
pub async fn activity_summary_export<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let l = &f.ledger;
    let mut rent = expense_input("800.00", ann.id, SplitInput::Equal { members: None });
    rent.category = Some("rent".into());
    rent.occurred_on = Some(Date::from_calendar_date(2026, Month::April, 30).unwrap());
    let rent = l.create_expense(ann.id, g, rent, None).await.unwrap();
    let mut food = expense_input("30.00", bob.id, SplitInput::Equal { members: None });
    food.category = Some("food".into());
    food.description = "Pizza, \"large\"".into();
    food.occurred_on = Some(Date::from_calendar_date(2026, Month::May, 2).unwrap());
    let food = l.create_expense(bob.id, g, food, None).await.unwrap();
    l.update_expense(
        bob.id,
        g,
        food.id,
        ExpensePatch {
            version: 1,
            amount: Some("40.00".into()),
            ..ExpensePatch::default()
        },
    )
    .await
    .unwrap();
    l.create_settlement(bob.id, g, settlement_input(&bob, &ann, "100.00"), None)
        .await
        .unwrap();

    let log = l
        .activity(ann.id, g, PageRequest::default())
        .await
        .unwrap()
        .items;
    let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "settlement.created",
            "expense.updated",
            "expense.created",
            "expense.created",
            "member.added",
            "group.created"
        ]
    );
    let edit = &log[1];
    assert_eq!(
        (edit.actor, edit.entity.as_str(), edit.entity_id),
        (bob.id, "expense", food.id.0)
    );
    assert_eq!(edit.details["before"]["amount"], json!("30.00"));
    assert_eq!(edit.details["after"]["amount"], json!("40.00"));

    let by = |by| SummaryRequest {
        by,
        from: None,
        to: None,
    };
    let cat = l.summary(bob.id, g, by(SummaryBy::Category)).await.unwrap();
    let lines: Vec<(Option<&str>, i64, i64)> = cat
        .items
        .iter()
        .map(|s| (s.key.as_deref(), s.amount.minor(), s.count))
        .collect();
    assert_eq!(
        lines,
        vec![(Some("food"), 4000, 1), (Some("rent"), 80000, 1)],
        "repayments are not spending"
    );
    let months = l.summary(bob.id, g, by(SummaryBy::Month)).await.unwrap();
    assert_eq!(
        months
            .items
            .iter()
            .map(|s| s.key.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["2026-04", "2026-05"]
    );
    let members = l.summary(bob.id, g, by(SummaryBy::Member)).await.unwrap();
    assert_eq!(
        members.items.iter().map(|s| s.amount.minor()).sum::<i64>(),
        84000
    );
    let may = l
        .summary(
            bob.id,
            g,
            SummaryRequest {
                by: SummaryBy::Category,
                from: Some(Date::from_calendar_date(2026, Month::May, 1).unwrap()),
                to: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(may.items.len(), 1);

    let export = l.export(bob.id, g).await.unwrap();
    assert_eq!(
        (
            export.members.len(),
            export.expenses.len(),
            export.settlements.len()
        ),
        (2, 2, 1)
    );
    let js = export.to_json();
    assert_eq!(js["expenses"][1]["id"], json!(rent.id));
    assert_eq!(js["expenses"][0]["amount"], json!("40.00"));
    let csv = export.to_csv();
    assert_eq!(
        csv.lines().count(),
        1 + 2 + 2 + 2,
        "header, two rows per expense, two per settlement"
    );
    assert!(csv.contains("\"Pizza, \"\"large\"\"\""), "{csv}");

    let mine = l.my_balances(ann.id).await.unwrap();
    assert_eq!(mine.groups.len(), 1);
    assert_eq!(mine.groups[0].net.minor(), 40000 - 2000 - 10000);
    assert_eq!(mine.totals[0].owed_to_me.minor(), 28000);
    let bobs = l.my_balances(bob.id).await.unwrap();
    assert_eq!(bobs.totals[0].i_owe.minor(), 28000);
    f.check_totals(&ann, g).await;
}

/// Concurrent writers: interleaved creates from several tasks keep the running totals exact,
/// and two tasks racing with one idempotency key create one expense.
pub async fn concurrent_writes<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let users = [f.user("w0").await, f.user("w1").await, f.user("w2").await];
    let g = f.group(&users[0], &[&users[1], &users[2]]).await;
    let mut tasks = Vec::new();
    for (t, user) in users.iter().enumerate() {
        let ledger = f.ledger.clone();
        let payer = user.id;
        tasks.push(tokio::spawn(async move {
            for i in 0..20_i64 {
                let amount = format!("{}.{:02}", 1 + (i * 7 + t as i64) % 90, (i * 13) % 100);
                let input = expense_input(&amount, payer, SplitInput::Equal { members: None });
                ledger.create_expense(payer, g, input, None).await.unwrap();
            }
        }));
    }
    let racer = |ledger: Ledger<S>, user: UserId| {
        tokio::spawn(async move {
            let input = expense_input("10.00", user, SplitInput::Equal { members: None });
            ledger
                .create_expense(user, g, input, Some("same-key"))
                .await
                .unwrap()
                .id
        })
    };
    let (a, b) = (
        racer(f.ledger.clone(), users[0].id),
        racer(f.ledger.clone(), users[0].id),
    );
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        a.await.unwrap(),
        b.await.unwrap(),
        "one expense for one key"
    );
    let all = f
        .ledger
        .list_expenses(
            users[0].id,
            g,
            ListExpenses {
                filter: ExpenseFilter::default(),
                page: PageRequest {
                    limit: Some(200),
                    cursor: None,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 61);
    f.check_totals(&users[0], g).await;
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
            accounts, profile_and_password, login_throttling, groups, permissions, members_and_invites,
            expenses, idempotency, settlements, balances_and_plan, running_totals, pagination,
            activity_summary_export, concurrent_writes);
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
