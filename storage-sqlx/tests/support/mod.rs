//! Checks shared by the PostgreSQL and SQLite test binaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use splitledger_core::Storage;
use splitledger_core::balance::PairDelta;
use splitledger_core::conformance::Fixture;
use splitledger_core::domain::{
    Activity, ActivityId, Expense, ExpenseFilter, ExpenseId, ExpenseKind, GroupId, MemberTotals,
    User, UserId,
};
use splitledger_core::entry::{Effect, Entry};
use splitledger_core::money::{Minor, TOTAL_LIMIT};
use splitledger_core::split::Portion;
use splitledger_core::storage::{EntryWrite, IdempotencyKey, Inserted, Replay, StorageError};

/// Everything a write to `group` could have touched.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    expenses: Vec<Expense>,
    totals: Vec<MemberTotals>,
    pairs: Vec<PairDelta<UserId>>,
    activity: Vec<Activity>,
}

pub async fn snapshot<S: Storage>(storage: &S, group: GroupId) -> Snapshot {
    Snapshot {
        expenses: storage
            .list_expenses(group, &ExpenseFilter::default(), None, 200)
            .await
            .unwrap(),
        totals: storage.member_totals(group).await.unwrap(),
        pairs: storage.pair_totals(group).await.unwrap(),
        activity: storage.list_activity(group, None, 200).await.unwrap(),
    }
}

/// A complete, valid write of a copy of `template` under a new id.
pub fn write_like(template: &Expense, key: Option<&str>) -> EntryWrite {
    let mut expense = template.clone();
    expense.id = ExpenseId::random();
    expense.version = 1;
    write_of(expense, key)
}

/// The write of `expense` as it is (its id included), fingerprint `"fp"`.
pub fn write_of(expense: Expense, key: Option<&str>) -> EntryWrite {
    let mut activity_id = ActivityId::random();
    if activity_id.0 == expense.id.0 {
        activity_id = ActivityId::random();
    }
    EntryWrite {
        activity: Activity {
            id: activity_id,
            group_id: expense.group_id,
            actor: expense.created_by,
            action: "expense.created".into(),
            entity: "expense".into(),
            entity_id: expense.id.0,
            at: expense.created_at,
            details: serde_json::json!({"before": null, "after": expense.snapshot()}),
        },
        idempotency: key.map(|k| IdempotencyKey {
            user_id: expense.created_by,
            key: k.into(),
        }),
        fingerprint: "fp".into(),
        entry: Entry::Expense(expense),
    }
}

fn expense_of(w: &mut EntryWrite) -> &mut Expense {
    match &mut w.entry {
        Entry::Expense(e) => e,
        _ => unreachable!("an expense write"),
    }
}

/// Writes that fail at each step of an expense insert leave no trace: not the expense, not
/// its participant rows, not a running total, not an activity entry, not the idempotency
/// key.
pub async fn failed_writes_leave_nothing<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let eve: User = f.user("eve").await;
    let g = f.group(&ann, &[&bob]).await;
    let template = f.expense(&ann, g, "30.00", &ann, &[]).await;
    let storage = f.ledger.storage();
    let before = snapshot(storage, g).await;

    // A participant who is not a member.
    let mut w = write_like(&template, Some("k"));
    let e = expense_of(&mut w);
    e.shares.push(Portion {
        user_id: eve.id,
        amount: Minor::ZERO,
    });
    e.shares.sort_by_key(|p| p.user_id);
    assert_eq!(
        storage.insert_entry(&w).await,
        Err(StorageError::NotMember(eve.id))
    );
    assert_eq!(snapshot(storage, g).await, before);

    // A participant row that violates a constraint (a negative payment).
    let mut w = write_like(&template, Some("k3"));
    let e = expense_of(&mut w);
    let amount = e.amount.units().get();
    e.payers = vec![
        Portion {
            user_id: ann.id,
            amount: Minor::new(amount + 5),
        },
        Portion {
            user_id: bob.id,
            amount: Minor::new(-5),
        },
    ];
    e.payers.sort_by_key(|p| p.user_id);
    assert!(matches!(
        storage.insert_entry(&w).await,
        Err(StorageError::Internal(_))
    ));
    assert_eq!(snapshot(storage, g).await, before);

    // A late statement fails (an activity id already used): everything before it is
    // rolled back, the idempotency key and the id registration included.
    let mut w = write_like(&template, Some("k3"));
    w.activity.id = before.activity[0].id;
    assert!(storage.insert_entry(&w).await.is_err());
    assert_eq!(
        storage.expense(g, expense_of(&mut w).id).await.unwrap(),
        None
    );
    assert_eq!(snapshot(storage, g).await, before);
    w.activity.id = ActivityId::random();
    assert_eq!(storage.insert_entry(&w).await, Ok(Inserted::Created));

    // A group that does not exist, with or without an idempotency key.
    for key in [None, Some("k4")] {
        let mut w = write_like(&template, key);
        let elsewhere = GroupId::random();
        expense_of(&mut w).group_id = elsewhere;
        w.activity.group_id = elsewhere;
        assert_eq!(storage.insert_entry(&w).await, Err(StorageError::NotFound));
    }

    // Only whole, valid writes landed: the totals still match a full recomputation.
    f.check_totals(&ann, g).await;
    assert_eq!(snapshot(storage, g).await.expenses.len(), 2);
}

/// A write that would take a running total or a pair total past ±10^18 is refused as
/// `Overflow` by the database's CHECK bounds and writes nothing. `set_paid` and `set_pair`
/// put a stored total near its bound (by SQL: no valid write gets there quickly).
pub async fn totals_past_the_bound_are_refused<S: Storage>(
    storage: S,
    set_paid: impl AsyncFn(GroupId, UserId, i64),
    set_pair: impl AsyncFn(GroupId, UserId, UserId, i64),
) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let template = f.expense(&ann, g, "30.00", &ann, &[]).await;
    let storage = f.ledger.storage();

    set_paid(g, ann.id, TOTAL_LIMIT - 100).await;
    let before = snapshot(storage, g).await;
    let w = write_like(&template, Some("over"));
    assert_eq!(storage.insert_entry(&w).await, Err(StorageError::Overflow));
    assert_eq!(snapshot(storage, g).await, before);
    // Exactly at the bound is allowed.
    set_paid(g, ann.id, TOTAL_LIMIT - 3000).await;
    assert_eq!(storage.insert_entry(&w).await, Ok(Inserted::Created));
    set_paid(g, ann.id, 6000).await;

    // The pair total, in the direction this expense moves it.
    let w = write_like(&template, None);
    let effect = Effect::change(None, Some(&w.entry)).unwrap();
    let pair = &effect.pairs[0];
    let sign = pair.amount.get().signum();
    set_pair(g, pair.a, pair.b, sign * (TOTAL_LIMIT - 100)).await;
    let before = snapshot(storage, g).await;
    assert_eq!(storage.insert_entry(&w).await, Err(StorageError::Overflow));
    assert_eq!(snapshot(storage, g).await, before);
}

/// Spending summaries add up every expense of a group, so they can pass 64 bits while every
/// running total stays within its bound: ten expenses of 10^18 minor units sum to 10^19,
/// exactly. `inflate` sets every stored amount and share of the group to the given value
/// (by SQL: ten thousand maximum-size writes would get there too, slowly).
pub async fn summaries_past_64_bits<S: Storage>(storage: S, inflate: impl AsyncFn(GroupId, i64)) {
    use splitledger_core::domain::SummaryBy;
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    for payer in [&ann, &bob].repeat(5) {
        f.expense(&ann, g, "30.00", payer, &[]).await;
    }
    inflate(g, TOTAL_LIMIT).await;
    let storage = f.ledger.storage();
    let ten = 10 * i128::from(TOTAL_LIMIT);
    assert!(ten > i128::from(i64::MAX));
    for by in [SummaryBy::Category, SummaryBy::Month] {
        let rows = storage.summary(g, by, None, None).await.unwrap();
        let lines: Vec<(i128, i64)> = rows.iter().map(|r| (r.amount, r.count)).collect();
        assert_eq!(lines, vec![(ten, 10)], "by {by:?}");
    }
    let rows = storage
        .summary(g, SummaryBy::Member, None, None)
        .await
        .unwrap();
    let lines: Vec<(i128, i64)> = rows.iter().map(|r| (r.amount, r.count)).collect();
    assert_eq!(lines, vec![(ten, 10), (ten, 10)], "by member");
}

/// Client-chosen ids: the same id again in its group answers the first write's record and
/// writes nothing; in another group it is taken.
pub async fn client_chosen_ids<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let other = f.group(&ann, &[&bob]).await;
    let template = f.expense(&ann, g, "30.00", &ann, &[]).await;
    let storage = f.ledger.storage();

    let mut w = write_like(&template, None);
    let chosen = ExpenseId(uuid::Uuid::new_v4());
    expense_of(&mut w).id = chosen;
    assert_eq!(storage.insert_entry(&w).await, Ok(Inserted::Created));
    let before = snapshot(storage, g).await;
    let mut again = w.clone();
    again.fingerprint = "another request".into();
    again.activity.id = ActivityId::random();
    assert_eq!(
        storage.insert_entry(&again).await,
        Ok(Inserted::Existing {
            by: Replay::Id,
            fingerprint: "fp".into(),
            id: chosen.0
        })
    );
    assert_eq!(snapshot(storage, g).await, before);

    // The same id in another group, with an idempotency key: the key's claim rolls back.
    let mut elsewhere = write_like(&template, Some("k"));
    let e = expense_of(&mut elsewhere);
    e.id = chosen;
    e.group_id = other;
    elsewhere.activity.group_id = other;
    let before_other = snapshot(storage, other).await;
    assert_eq!(
        storage.insert_entry(&elsewhere).await,
        Err(StorageError::Conflict("id_taken"))
    );
    assert_eq!(snapshot(storage, other).await, before_other);
    let mut fresh = elsewhere.clone();
    expense_of(&mut fresh).id = ExpenseId::random();
    assert_eq!(storage.insert_entry(&fresh).await, Ok(Inserted::Created));
    f.check_totals(&ann, g).await;
    f.check_totals(&ann, other).await;
}

/// The initial migration's version: the schema before the distribution key.
pub const INIT: i64 = 20261122000001;

/// A group with an expense and a settlement, as the store records them.
#[derive(Debug, Clone)]
pub struct Seed {
    pub ann: UserId,
    pub bob: UserId,
    pub group: GroupId,
    pub expense: Expense,
    pub settlement: splitledger_core::domain::Settlement,
}

pub fn seed() -> Seed {
    use splitledger_core::Currency;
    use splitledger_core::domain::{ExpenseDetails, Settlement, SettlementId};
    use splitledger_core::money::Money;
    use splitledger_core::split::SplitInput;
    let at = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let day = at.date();
    let (mut ann, mut bob) = (UserId::random(), UserId::random());
    if bob < ann {
        std::mem::swap(&mut ann, &mut bob);
    }
    let group = GroupId::random();
    let eur = Currency::parse("EUR").unwrap();
    let portion = |user_id, amount| Portion {
        user_id,
        amount: Minor::new(amount),
    };
    let expense = Expense {
        id: ExpenseId::random(),
        group_id: group,
        kind: ExpenseKind::Expense,
        original: None,
        amount: Money::new(Minor::new(3000), eur),
        payers: vec![portion(ann, 3000)],
        shares: vec![portion(ann, 1500), portion(bob, 1500)],
        split: SplitInput::Equal { members: None },
        details: ExpenseDetails {
            description: "Dinner".into(),
            category: Some("food".into()),
            payment_method: None,
            occurred_on: day,
            notes: Some("old schema".into()),
            metadata: Some(serde_json::json!({"k": 1})),
        },
        created_by: ann,
        created_at: at,
        updated_at: at,
        version: 1,
        recurring: None,
        attachments: Vec::new(),
    };
    let settlement = Settlement {
        id: SettlementId::random(),
        group_id: group,
        from_user: bob,
        to_user: ann,
        amount: Money::new(Minor::new(500), eur),
        occurred_on: day,
        note: None,
        created_by: bob,
        created_at: at,
    };
    Seed {
        ann,
        bob,
        group,
        expense,
        settlement,
    }
}

/// Writes [`Seed`] into a database at the initial schema, with raw SQL (the store of today
/// cannot write that schema), running totals included.
#[macro_export]
macro_rules! seed_old_schema {
    ($dialect:ty, $pool:expr, $seed:expr) => {{
        use splitledger_core::entry::{Effect, Entry};
        use splitledger_storage_sqlx::dialect::Dialect;
        let uuid = <$dialect as Dialect>::Uuid::from;
        let s: &support::Seed = $seed;
        let pool = $pool;
        let e = &s.expense;
        let t = <$dialect as Dialect>::time(e.created_at);
        for (id, name) in [(s.ann, "ann"), (s.bob, "bob")] {
            sqlx::query("INSERT INTO users VALUES ($1, $2, $3, NULL, 'x', $4, $4)")
                .bind(uuid(id.0))
                .bind(format!("{name}@example.com"))
                .bind(name)
                .bind(t)
                .execute(pool)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO groups VALUES ($1, 'Trip', 'trip', NULL, 'EUR', $2, $3, $3)")
            .bind(uuid(s.group.0))
            .bind(uuid(s.ann.0))
            .bind(t)
            .execute(pool)
            .await
            .unwrap();
        for (id, role) in [(s.ann, "owner"), (s.bob, "member")] {
            sqlx::query("INSERT INTO members VALUES ($1, $2, $3, $4)")
                .bind(uuid(s.group.0))
                .bind(uuid(id.0))
                .bind(role)
                .bind(t)
                .execute(pool)
                .await
                .unwrap();
        }
        let d = &e.details;
        sqlx::query(
            "INSERT INTO expenses (id, group_id, description, amount, currency, split, \
             category, payment_method, occurred_on, notes, metadata, created_by, created_at, \
             updated_at, version) \
             VALUES ($1, $2, $3, $4, 'EUR', $5, $6, NULL, $7, $8, $9, $10, $11, $11, 1)",
        )
        .bind(uuid(e.id.0))
        .bind(uuid(s.group.0))
        .bind(d.description.clone())
        .bind(e.amount.units().get())
        .bind(serde_json::to_string(&e.split).unwrap())
        .bind(d.category.clone())
        .bind(d.occurred_on)
        .bind(d.notes.clone())
        .bind(d.metadata.as_ref().map(|m| m.to_string()))
        .bind(uuid(e.created_by.0))
        .bind(t)
        .execute(pool)
        .await
        .unwrap();
        for r in e.rows().unwrap() {
            sqlx::query("INSERT INTO expense_participants VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(uuid(s.group.0))
                .bind(uuid(e.id.0))
                .bind(uuid(r.user_id.0))
                .bind(r.paid.get())
                .bind(r.owed.get())
                .bind(e.is_payer(r.user_id))
                .bind(true)
                .execute(pool)
                .await
                .unwrap();
        }
        let st = &s.settlement;
        sqlx::query("INSERT INTO settlements VALUES ($1, $2, $3, $4, $5, 'EUR', $6, NULL, $3, $7)")
            .bind(uuid(st.id.0))
            .bind(uuid(s.group.0))
            .bind(uuid(st.from_user.0))
            .bind(uuid(st.to_user.0))
            .bind(st.amount.units().get())
            .bind(st.occurred_on)
            .bind(t)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO activity VALUES ($1, $2, $3, 'expense.created', 'expense', $4, $5, '{}')",
        )
        .bind(uuid(uuid::Uuid::new_v4()))
        .bind(uuid(s.group.0))
        .bind(uuid(s.ann.0))
        .bind(uuid(e.id.0))
        .bind(t)
        .execute(pool)
        .await
        .unwrap();
        let one = Effect::change(None, Some(&Entry::Expense(e.clone()))).unwrap();
        let two = Effect::change(None, Some(&Entry::Settlement(st.clone()))).unwrap();
        for d in one.totals.iter().chain(&two.totals) {
            sqlx::query(
                "INSERT INTO member_totals VALUES ($1, $2, 'EUR', $3, $4, $5, $6) \
                 ON CONFLICT (group_id, user_id, currency) DO UPDATE SET \
                 paid = member_totals.paid + excluded.paid, \
                 owed = member_totals.owed + excluded.owed, \
                 sent = member_totals.sent + excluded.sent, \
                 received = member_totals.received + excluded.received",
            )
            .bind(uuid(s.group.0))
            .bind(uuid(d.user_id.0))
            .bind(d.delta.paid.get())
            .bind(d.delta.owed.get())
            .bind(d.delta.sent.get())
            .bind(d.delta.received.get())
            .execute(pool)
            .await
            .unwrap();
        }
        for p in one.pairs.iter().chain(&two.pairs) {
            sqlx::query(
                "INSERT INTO pair_totals VALUES ($1, 'EUR', $2, $3, $4) \
                 ON CONFLICT (group_id, currency, a, b) DO UPDATE SET \
                 amount = pair_totals.amount + excluded.amount",
            )
            .bind(uuid(s.group.0))
            .bind(uuid(p.a.0))
            .bind(uuid(p.b.0))
            .bind(p.amount.get())
            .execute(pool)
            .await
            .unwrap();
        }
    }};
}

/// After the migration: the seeded rows read back whole through the store, the totals
/// match a recomputation, and the old ids are registered (taken in another group, a replay
/// with an empty fingerprint in theirs).
pub async fn seeded_data_survives<S: Storage>(storage: S, s: &Seed) {
    let e = &s.expense;
    assert_eq!(
        storage.expense(s.group, e.id).await.unwrap(),
        Some(e.clone())
    );
    assert_eq!(
        storage.settlement(s.group, s.settlement.id).await.unwrap(),
        Some(s.settlement.clone())
    );
    assert_eq!(
        storage
            .list_activity(s.group, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let f = Fixture::new(storage);
    let ann = f.ledger.storage().user_by_id(s.ann).await.unwrap().unwrap();
    f.check_totals(&ann, s.group).await;
    assert_eq!(f.nets(&ann, s.group, "EUR").await[&s.bob], -1000);

    let storage = f.ledger.storage();
    let mut replay = write_of(e.clone(), None);
    replay.activity.id = ActivityId::random();
    assert_eq!(
        storage.insert_entry(&replay).await,
        Ok(Inserted::Existing {
            by: Replay::Id,
            fingerprint: String::new(),
            id: e.id.0
        })
    );
    let bob = storage.user_by_id(s.bob).await.unwrap().unwrap();
    let other = f.group(&ann, &[&bob]).await;
    let mut elsewhere = e.clone();
    elsewhere.group_id = other;
    let mut w = write_of(elsewhere, None);
    w.activity.group_id = other;
    assert_eq!(
        storage.insert_entry(&w).await,
        Err(StorageError::Conflict("id_taken"))
    );
    // New writes land next to the old ones.
    f.expense(&ann, s.group, "10.00", &bob, &[]).await;
    f.check_totals(&ann, s.group).await;
}

/// Runs [`totals_past_the_bound_are_refused`] on `store`, setting totals through `pool` by SQL
/// (the same text on both databases).
#[macro_export]
macro_rules! totals_bound_case {
    ($dialect:ty, $store:expr, $pool:expr) => {{
        use splitledger_core::domain::{GroupId, UserId};
        use splitledger_storage_sqlx::dialect::Dialect;
        let uuid = <$dialect as Dialect>::Uuid::from;
        let (p1, p2) = ($pool.clone(), $pool.clone());
        support::totals_past_the_bound_are_refused(
            $store,
            async move |g: GroupId, u: UserId, paid: i64| {
                sqlx::query(
                    "UPDATE member_totals SET paid = $3 WHERE group_id = $1 AND user_id = $2",
                )
                .bind(uuid(g.0))
                .bind(uuid(u.0))
                .bind(paid)
                .execute(&p1)
                .await
                .unwrap();
            },
            async move |g: GroupId, a: UserId, b: UserId, amount: i64| {
                sqlx::query(
                    "UPDATE pair_totals SET amount = $4 WHERE group_id = $1 AND a = $2 AND b = $3",
                )
                .bind(uuid(g.0))
                .bind(uuid(a.0))
                .bind(uuid(b.0))
                .bind(amount)
                .execute(&p2)
                .await
                .unwrap();
            },
        )
        .await
    }};
}

/// [`summaries_past_64_bits`] on a SQL store over `$pool`.
#[macro_export]
macro_rules! summaries_case {
    ($dialect:ty, $store:expr, $pool:expr) => {{
        use splitledger_core::domain::GroupId;
        use splitledger_storage_sqlx::dialect::Dialect;
        let uuid = <$dialect as Dialect>::Uuid::from;
        let pool = $pool.clone();
        support::summaries_past_64_bits($store, async move |g: GroupId, amount: i64| {
            for sql in [
                "UPDATE expenses SET amount = $2 WHERE group_id = $1",
                "UPDATE expense_participants SET owed = $2 WHERE group_id = $1 AND sharer",
            ] {
                let query = sqlx::query(sql).bind(uuid(g.0)).bind(amount);
                query.execute(&pool).await.unwrap();
            }
        })
        .await
    }};
}
