//! Every statement of the store that touches a group-scoped table is bounded by `group_id`
//! (the distribution key: on a sharded PostgreSQL each such statement then runs on one
//! shard), on both databases, and every placeholder was filled in by the dialect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Tables whose rows belong to one group (`groups` itself is bounded by its `id`).
const GROUP_SCOPED: &[&str] = &[
    "expenses",
    "expense_participants",
    "settlements",
    "activity",
    "idempotency",
    "member_totals",
    "pair_totals",
    "members",
    "invites",
    "imports",
    "recurring_series",
];

/// Statements that are cross-group by design, and why.
const CROSS_GROUP: &[&str] = &[
    // A user's groups: every membership of one user.
    "LIST_GROUPS",
    // A user's totals across all their groups.
    "USER_TOTALS",
    // Whether two people share a group: every membership of one user, joined on the other's.
    "CO_MEMBER",
    // An invite is looked up by its code before anyone knows its group.
    "INVITE",
    // The id registry is global on purpose: an entry id is unique across groups.
    "REGISTERED_ID",
    // The servers' recurring timer: the series due anywhere, earliest first, `LIMIT`ed.
    "DUE_ANYWHERE",
];

fn words(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether the statement names `group_id` as a bound condition (`group_id = $N`) or, for an
/// insert, as a column it writes.
fn bounded(sql: &str) -> bool {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let inserted = flat.starts_with("INSERT INTO")
        && flat.split_once('(').is_some_and(|(_, cols)| {
            cols.split(')')
                .next()
                .is_some_and(|c| c.contains("group_id"))
        });
    let compared = flat.match_indices("group_id = $").count() > 0;
    inserted || compared
}

fn check(statements: Vec<(&'static str, String)>) {
    assert!(statements.len() > 40, "the list is complete");
    let mut unbounded = Vec::new();
    for (name, sql) in &statements {
        assert!(
            !sql.contains('{') && !sql.contains('}'),
            "{name}: unfilled placeholder: {sql}"
        );
        let w = words(sql);
        let scoped = GROUP_SCOPED.iter().any(|t| w.iter().any(|x| x == t));
        // A group's own row: by its id, or inserted with it.
        let groups_row = sql.contains("id = $1") || sql.starts_with("INSERT INTO groups (id,");
        if scoped && !bounded(sql) && !CROSS_GROUP.contains(name) {
            unbounded.push(*name);
        }
        if !scoped && w.iter().any(|x| x == "groups") && !groups_row && !CROSS_GROUP.contains(name)
        {
            unbounded.push(*name);
        }
    }
    assert!(
        unbounded.is_empty(),
        "not bounded by group_id: {unbounded:?}"
    );
    // The allow-list has no stale names.
    for name in CROSS_GROUP {
        assert!(
            statements.iter().any(|(n, _)| n == name),
            "{name} is not a statement"
        );
    }
}

#[test]
fn the_check_catches_an_unbounded_statement() {
    assert!(!bounded("SELECT * FROM expenses WHERE id = $1"));
    assert!(bounded(
        "SELECT * FROM expenses WHERE group_id = $1 AND id = $2"
    ));
    assert!(bounded(
        "INSERT INTO activity (group_id, id) VALUES ($1, $2)"
    ));
    assert!(!bounded("INSERT INTO activity (id) VALUES ($1)"));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_statements_are_bounded_by_group() {
    check(splitledger_storage_sqlx::PgStorage::statements());
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_statements_are_bounded_by_group() {
    check(splitledger_storage_sqlx::SqliteStorage::statements());
}
