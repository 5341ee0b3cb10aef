//! Every statement of the store, written once for both databases.
//!
//! `$N` placeholders work on both (SQLite binds `$N` to argument N). Where the databases
//! differ, a statement says so with a placeholder the dialect fills in (`{share}`,
//! `{update}`, `{month}`, `{ids $N}`, see [`crate::dialect`]). Multi-row inserts are
//! [`Rows`]. [`ALL`] and [`ALL_ROWS`] list them for the audit test that checks every
//! group-scoped statement is bounded by `group_id`.

/// The descriptive fields of an expense, in `ExpenseDetails`'s order (`crate::rows`): a new
/// field is one column here and one field there.
use crate::dialect::Rows;

macro_rules! details_columns {
    () => {
        "description, category, payment_method, occurred_on, notes, metadata"
    };
}

/// An expense's columns after `id, group_id`, in `Expense`'s order.
macro_rules! expense_fields {
    () => {
        concat!(
            "kind, amount, currency, split, created_by, created_at, updated_at, version, ",
            details_columns!(),
            ", original, series_id, occurrence_on"
        )
    };
}

macro_rules! expense_columns {
    () => {
        concat!("id, group_id, ", expense_fields!())
    };
}

/// A recurring series' columns, in `Series`'s order (`due_on` is bound after them).
macro_rules! series_columns {
    () => {
        "id, group_id, template, unit, step, starts_on, ends_on, count, paused, next_index, \
         created_by, created_at, updated_at, version"
    };
}

macro_rules! settlement_columns {
    () => {
        "id, group_id, from_user, to_user, amount, currency, occurred_on, note, created_by, \
         created_at"
    };
}

macro_rules! totals_columns {
    () => {
        "paid, owed, sent, received, converted"
    };
}

macro_rules! conversion_columns {
    () => {
        "id, group_id, from_currency, to_currency, exchange_rate, moves, debts, occurred_on, \
         note, created_by, created_at"
    };
}

macro_rules! attachment_columns {
    () => {
        "group_id, expense_id, id, filename, content_type, size, sha256, uploaded_by, created_at"
    };
}

macro_rules! comment_columns {
    () => {
        "group_id, expense_id, id, author, text, created_at"
    };
}

macro_rules! user_columns {
    () => {
        "u.id, u.email, u.display_name, u.default_currency, u.created_at, u.updated_at, \
         u.password_hash"
    };
}

macro_rules! group_role_columns {
    () => {
        "g.id, g.name, g.description, g.currency, g.created_by, g.created_at, g.updated_at, \
         m.role FROM members m JOIN groups g ON g.id = m.group_id"
    };
}

/// `sum!(x)`: the exact sum of `x` as two 64-bit columns, `Σ x / 2^30` and `Σ x % 2^30`.
/// Both databases truncate integer division toward zero and give `%` the sign of `x`, so
/// `x = (x / 2^30)·2^30 + x % 2^30` row by row; amounts are below 10^18 < 2^60, so each half
/// is below 2^30 in size and neither sum can overflow before 2^33 rows; the reader adds them
/// in 128 bits. (`SUM` itself overflows on SQLite and is NUMERIC on PostgreSQL.)
macro_rules! sum {
    ($x:literal) => {
        concat!(
            "CAST(SUM(",
            $x,
            " / 1073741824) AS BIGINT) AS high, ",
            "CAST(SUM(",
            $x,
            " % 1073741824) AS BIGINT) AS low"
        )
    };
}

macro_rules! statements {
    ($($name:ident = $sql:expr;)*) => {
        $(pub(crate) const $name: &str = $sql;)*
        /// Every statement, by name.
        pub(crate) const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

statements! {
    PING = "SELECT 1";

    INSERT_USER = "INSERT INTO users (id, email, display_name, default_currency, created_at, \
        updated_at, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    USER_BY_EMAIL = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.email = $1");
    USER_BY_ID = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
    USERS_BY_ID = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id {ids $1}");
    UPDATE_USER = "UPDATE users SET email = $2, display_name = $3, default_currency = $4, \
        created_at = $5, updated_at = $6 WHERE id = $1";
    SET_PASSWORD = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1";
    REVOKE_OTHER_SESSIONS =
        "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR digest <> $2)";
    INSERT_SESSION = "INSERT INTO sessions (digest, user_id, created_at, expires_at) \
        VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO UPDATE SET user_id = excluded.user_id, \
        created_at = excluded.created_at, expires_at = excluded.expires_at";
    SESSION_USER = concat!("SELECT ", user_columns!(), " FROM sessions s \
        JOIN users u ON u.id = s.user_id WHERE s.digest = $1 AND s.expires_at > $2");
    DELETE_SESSION = "DELETE FROM sessions WHERE digest = $1";
    LOGIN_FAILURES = "SELECT count, last_at FROM login_failures WHERE email = $1";
    CLEAR_LOGIN_FAILURES = "DELETE FROM login_failures WHERE email = $1";
    SET_LOGIN_FAILURES = "INSERT INTO login_failures (email, count, last_at) VALUES ($1, $2, $3) \
        ON CONFLICT (email) DO UPDATE SET count = excluded.count, last_at = excluded.last_at";
    // Compare-and-swap of a login-failure record: from none, or from ($2, $3).
    CLAIM_LOGIN_FAILURES = "INSERT INTO login_failures (email, count, last_at) VALUES ($1, $2, $3) \
        ON CONFLICT (email) DO NOTHING";
    SWAP_LOGIN_FAILURES = "UPDATE login_failures SET count = $4, last_at = $5 \
        WHERE email = $1 AND count = $2 AND (last_at = $3 OR last_at IS NULL AND $3 IS NULL)";
    DROP_LOGIN_FAILURES = "DELETE FROM login_failures \
        WHERE email = $1 AND count = $2 AND (last_at = $3 OR last_at IS NULL AND $3 IS NULL)";

    IDENTITY_USER = concat!("SELECT ", user_columns!(), " FROM identities i \
        JOIN users u ON u.id = i.user_id WHERE i.issuer = $1 AND i.subject = $2");
    INSERT_IDENTITY = "INSERT INTO identities (issuer, subject, user_id, created_at) \
        VALUES ($1, $2, $3, $4)";
    INSERT_PENDING_LOGIN = "INSERT INTO pending_logins (state, provider, nonce, pkce_verifier, \
        return_to, invite, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    FORGET_PENDING_LOGINS = "DELETE FROM pending_logins WHERE expires_at <= $1";
    // Delete-and-return in one statement: of two callbacks racing with one state, one gets
    // the row and the other nothing.
    TAKE_PENDING_LOGIN = "DELETE FROM pending_logins WHERE state = $1 RETURNING state, provider, \
        nonce, pkce_verifier, return_to, invite, expires_at";

    INSERT_GROUP = "INSERT INTO groups (id, name, description, currency, created_by, created_at, \
        updated_at, name_lower) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    GROUP_EXISTS = "SELECT id FROM groups WHERE id = $1";
    LOCK_GROUP = "SELECT id FROM groups WHERE id = $1 {share}";
    MEMBERSHIP = concat!("SELECT ", group_role_columns!(),
        " WHERE m.group_id = $1 AND m.user_id = $2");
    LIST_GROUPS = concat!("SELECT ", group_role_columns!(),
        " WHERE m.user_id = $1 AND ($2 IS NULL OR m.group_id < $2) \
          AND ($3 IS NULL OR g.name_lower LIKE $3 ESCAPE '\\') \
        ORDER BY m.group_id DESC LIMIT $4");
    CO_MEMBER = "SELECT m.group_id FROM members m \
        JOIN members o ON o.group_id = m.group_id AND o.user_id = $2 WHERE m.user_id = $1 LIMIT 1";
    UPDATE_GROUP = "UPDATE groups SET name = $2, description = $3, currency = $4, \
        created_by = $5, created_at = $6, updated_at = $7, name_lower = $8 WHERE id = $1";
    DELETE_GROUP = "DELETE FROM groups WHERE id = $1";
    MEMBERS = "SELECT m.user_id, u.display_name, \
        CASE WHEN u.placeholder THEN NULL ELSE u.email END, m.role, m.joined_at, u.placeholder \
        FROM members m JOIN users u ON u.id = m.user_id \
        WHERE m.group_id = $1 ORDER BY m.joined_at, m.user_id";
    INSERT_MEMBER =
        "INSERT INTO members (group_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)";
    SET_ROLE = "UPDATE members SET role = $3 WHERE group_id = $1 AND user_id = $2";
    LOCK_MEMBER = "SELECT user_id FROM members WHERE group_id = $1 AND user_id = $2 {update}";
    LOCK_MEMBERS = "SELECT user_id FROM members WHERE group_id = $1 AND user_id {ids $2} \
        ORDER BY user_id {share}";
    DELETE_MEMBER = "DELETE FROM members WHERE group_id = $1 AND user_id = $2";
    INSERT_INVITE = "INSERT INTO invites \
        (code, group_id, created_by, created_at, expires_at, claims) \
        VALUES ($1, $2, $3, $4, $5, $6)";
    INVITE = "SELECT code, group_id, created_by, created_at, expires_at, claims FROM invites \
        WHERE code = $1";
    INSERT_PLACEHOLDER = "INSERT INTO users (id, email, display_name, default_currency, \
        created_at, updated_at, password_hash, placeholder) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE)";
    // Handing placeholder $2's place in group $1 to $3 (see `claim_placeholder`).
    LOCK_PLACEHOLDER = "SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id \
        WHERE m.group_id = $1 AND m.user_id = $2 AND u.placeholder {update}";
    ROLE_OF = "SELECT role FROM members WHERE group_id = $1 AND user_id = $2";
    CLAIM_MEMBER = "UPDATE members SET user_id = $3 WHERE group_id = $1 AND user_id = $2";
    CLAIM_PARTICIPANTS = "UPDATE expense_participants SET user_id = $3 \
        WHERE group_id = $1 AND user_id = $2";
    CLAIM_EXPENSES = "UPDATE expenses SET \
        created_by = CASE WHEN created_by = $2 THEN $3 ELSE created_by END, \
        split = REPLACE(split, $4, $5), original = REPLACE(original, $4, $5) \
        WHERE group_id = $1 AND (created_by = $2 OR split LIKE $6 OR original LIKE $6)";
    CLAIM_SETTLEMENTS = "UPDATE settlements SET \
        from_user = CASE WHEN from_user = $2 THEN $3 ELSE from_user END, \
        to_user = CASE WHEN to_user = $2 THEN $3 ELSE to_user END, \
        created_by = CASE WHEN created_by = $2 THEN $3 ELSE created_by END \
        WHERE group_id = $1 AND (from_user = $2 OR to_user = $2 OR created_by = $2)";
    CLAIM_TOTALS = "UPDATE member_totals SET user_id = $3 WHERE group_id = $1 AND user_id = $2";
    // Pairs keep `a < b`: a debt whose order flips changes sign.
    CLAIM_PAIRS_A = "UPDATE pair_totals SET a = CASE WHEN b < $3 THEN b ELSE $3 END, \
        b = CASE WHEN b < $3 THEN $3 ELSE b END, \
        amount = CASE WHEN b < $3 THEN -amount ELSE amount END \
        WHERE group_id = $1 AND a = $2";
    CLAIM_PAIRS_B = "UPDATE pair_totals SET a = CASE WHEN a < $3 THEN a ELSE $3 END, \
        b = CASE WHEN a < $3 THEN $3 ELSE a END, \
        amount = CASE WHEN a < $3 THEN amount ELSE -amount END \
        WHERE group_id = $1 AND b = $2";
    GROUP_CONVERSIONS = concat!("SELECT ", conversion_columns!(),
        " FROM conversions WHERE group_id = $1 {update}");
    UPDATE_CONVERSION_MEMBERS = "UPDATE conversions SET moves = $3, debts = $4, created_by = $5 \
        WHERE group_id = $1 AND id = $2";
    DELETE_PLACEHOLDER = "DELETE FROM users WHERE id = $1 AND placeholder";

    CLAIM_KEY = "INSERT INTO idempotency (group_id, user_id, key, fingerprint, result_id) \
        VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    CLAIMED_KEY = "SELECT fingerprint, result_id FROM idempotency \
        WHERE group_id = $1 AND user_id = $2 AND key = $3";
    REGISTER_ID = "INSERT INTO entry_ids (id, group_id, kind, fingerprint) \
        VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
    REGISTERED_ID = "SELECT fingerprint, group_id FROM entry_ids WHERE id = $1";
    INSERT_EXPENSE = concat!("INSERT INTO expenses (", expense_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
        $18, $19)");
    UPDATE_EXPENSE = concat!("UPDATE expenses SET (", expense_fields!(),
        ") = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
        WHERE id = $1 AND group_id = $2");
    EXPENSE = concat!("SELECT ", expense_columns!(),
        " FROM expenses WHERE group_id = $1 AND id = $2");
    LOCK_EXPENSE = concat!("SELECT ", expense_columns!(),
        " FROM expenses WHERE group_id = $1 AND id = $2 {update}");
    LIST_EXPENSES = concat!("SELECT ", expense_columns!(), " FROM expenses e \
        WHERE e.group_id = $1 \
          AND ($2 IS NULL OR EXISTS (SELECT 1 FROM expense_participants p \
               WHERE p.group_id = $1 AND p.expense_id = e.id AND p.user_id = $2 AND p.payer)) \
          AND ($3 IS NULL OR e.category = $3) \
          AND ($4 IS NULL OR e.occurred_on >= $4) \
          AND ($5 IS NULL OR e.occurred_on <= $5) \
          AND ($6 IS NULL OR e.kind = $6) \
          AND ($7 IS NULL OR (e.occurred_on, e.created_at, e.id) < ($7, $8, $9)) \
        ORDER BY e.occurred_on DESC, e.created_at DESC, e.id DESC LIMIT $10");
    DELETE_EXPENSE = "DELETE FROM expenses WHERE group_id = $1 AND id = $2";
    PARTICIPANTS = "SELECT expense_id, user_id, paid, owed, payer, sharer \
        FROM expense_participants WHERE group_id = $1 AND expense_id {ids $2}";
    DELETE_PARTICIPANTS = "DELETE FROM expense_participants WHERE group_id = $1 AND expense_id = $2";
    INSERT_SETTLEMENT = concat!("INSERT INTO settlements (", settlement_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    SETTLEMENT = concat!("SELECT ", settlement_columns!(),
        " FROM settlements WHERE group_id = $1 AND id = $2");
    LOCK_SETTLEMENT = concat!("SELECT ", settlement_columns!(),
        " FROM settlements WHERE group_id = $1 AND id = $2 {update}");
    LIST_SETTLEMENTS = concat!("SELECT ", settlement_columns!(), " FROM settlements \
        WHERE group_id = $1 AND ($2 IS NULL OR (occurred_on, created_at, id) < ($2, $3, $4)) \
        ORDER BY occurred_on DESC, created_at DESC, id DESC LIMIT $5");
    DELETE_SETTLEMENT = "DELETE FROM settlements WHERE group_id = $1 AND id = $2";
    INSERT_CONVERSION = concat!("INSERT INTO conversions (", conversion_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
    CONVERSION = concat!("SELECT ", conversion_columns!(),
        " FROM conversions WHERE group_id = $1 AND id = $2");
    LOCK_CONVERSION = concat!("SELECT ", conversion_columns!(),
        " FROM conversions WHERE group_id = $1 AND id = $2 {update}");
    LIST_CONVERSIONS = concat!("SELECT ", conversion_columns!(), " FROM conversions \
        WHERE group_id = $1 AND ($2 IS NULL OR (occurred_on, created_at, id) < ($2, $3, $4)) \
        ORDER BY occurred_on DESC, created_at DESC, id DESC LIMIT $5");
    DELETE_CONVERSION = "DELETE FROM conversions WHERE group_id = $1 AND id = $2";
    INSERT_SERIES = concat!("INSERT INTO recurring_series (", series_columns!(),
        ", due_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
    SERIES = concat!("SELECT ", series_columns!(),
        " FROM recurring_series WHERE group_id = $1 AND id = $2");
    SERIES_EXISTS = "SELECT id FROM recurring_series WHERE group_id = $1 AND id = $2";
    LIST_SERIES = concat!("SELECT ", series_columns!(),
        " FROM recurring_series WHERE group_id = $1 ORDER BY created_at, id");
    // Compare-and-swap on the version: the row lock it takes orders every change of the
    // series, and a change computed from an older version updates nothing.
    UPDATE_SERIES = "UPDATE recurring_series SET (template, unit, step, starts_on, ends_on, \
        count, paused, next_index, created_by, created_at, updated_at, version, due_on) = \
        ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
        WHERE id = $1 AND group_id = $2 AND version = $16";
    DELETE_SERIES = "DELETE FROM recurring_series WHERE group_id = $1 AND id = $2";
    DUE_SERIES = "SELECT id FROM recurring_series WHERE group_id = $1 AND due_on <= $2";
    // The servers' timer: across groups by design, bounded by `LIMIT`.
    DUE_ANYWHERE = "SELECT g.id, g.name, g.description, g.currency, g.created_by, \
        g.created_at, g.updated_at, s.id FROM recurring_series s \
        JOIN groups g ON g.id = s.group_id \
        WHERE s.due_on <= $1 ORDER BY s.due_on, s.id LIMIT $2";
    OCCURRENCE_MADE = "SELECT id FROM expenses \
        WHERE group_id = $1 AND series_id = $2 AND occurrence_on = $3";
    INSERT_ACTIVITY = "INSERT INTO activity \
        (id, group_id, actor, action, entity, entity_id, at, details) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

    MEMBER_TOTALS = concat!("SELECT user_id, currency, ", totals_columns!(),
        " FROM member_totals WHERE group_id = $1");
    TOTALS_OF_MEMBER = concat!("SELECT user_id, currency, ", totals_columns!(),
        " FROM member_totals WHERE group_id = $1 AND user_id = $2");
    // A conversion of `$2` settled every net and debt in it (else another write came between).
    UNSETTLED = "SELECT currency FROM member_totals WHERE group_id = $1 AND currency = $2 \
          AND paid - owed + sent - received + converted <> 0 \
        UNION ALL SELECT currency FROM pair_totals WHERE group_id = $1 AND currency = $2 \
          AND amount <> 0 LIMIT 1";
    PAIR_TOTALS = "SELECT currency, a, b, amount FROM pair_totals WHERE group_id = $1";
    USER_TOTALS = "SELECT t.group_id, g.name AS group_name, t.currency, t.paid, t.owed, \
        t.sent, t.received, t.converted FROM member_totals t \
        JOIN members m ON m.group_id = t.group_id AND m.user_id = t.user_id \
        JOIN groups g ON g.id = t.group_id \
        WHERE t.user_id = $1 ORDER BY t.group_id, t.currency";
    SUMMARY_BY_CATEGORY = concat!("SELECT e.category AS key, e.kind, e.currency, ",
        sum!("e.amount"),
        ", COUNT(*) AS count FROM expenses e \
        WHERE e.group_id = $1 AND ($2 IS NULL OR e.occurred_on >= $2) \
          AND ($3 IS NULL OR e.occurred_on <= $3) \
        GROUP BY e.category, e.kind, e.currency");
    SUMMARY_BY_MONTH = concat!("SELECT {month} AS key, e.kind, e.currency, ", sum!("e.amount"),
        ", COUNT(*) AS count FROM expenses e \
        WHERE e.group_id = $1 AND ($2 IS NULL OR e.occurred_on >= $2) \
          AND ($3 IS NULL OR e.occurred_on <= $3) \
        GROUP BY 1, e.kind, e.currency");
    SUMMARY_BY_MEMBER = concat!("SELECT CAST(p.user_id AS TEXT) AS key, e.kind, e.currency, ",
        sum!("p.owed"), ", COUNT(*) AS count \
        FROM expense_participants p \
        JOIN expenses e ON e.group_id = p.group_id AND e.id = p.expense_id \
        WHERE p.group_id = $1 AND p.sharer \
          AND ($2 IS NULL OR e.occurred_on >= $2) AND ($3 IS NULL OR e.occurred_on <= $3) \
        GROUP BY p.user_id, e.kind, e.currency");
    // The digest of a file imported into a group (a second time: `imports_pkey`).
    INSERT_IMPORT = "INSERT INTO imports (group_id, sha256, format, imported_by, imported_at) \
        VALUES ($1, $2, $3, $4, $5)";
    LIST_ACTIVITY = "SELECT id, group_id, actor, action, entity, entity_id, at, details \
        FROM activity WHERE group_id = $1 AND ($2 IS NULL OR (at, id) < ($2, $3)) \
        ORDER BY at DESC, id DESC LIMIT $4";

    // Receipts and comments (`store/files.rs`). An insert names an expense that must exist
    // when it commits: the foreign key refuses it otherwise (`NotFound`).
    INSERT_ATTACHMENT = concat!("INSERT INTO attachments (", attachment_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    ATTACHMENT = concat!("SELECT ", attachment_columns!(),
        " FROM attachments WHERE group_id = $1 AND expense_id = $2 AND id = $3");
    ATTACHMENTS = concat!("SELECT ", attachment_columns!(),
        " FROM attachments WHERE group_id = $1 AND expense_id = $2 ORDER BY created_at, id");
    // The short form expenses list, for a page of expenses at once.
    ATTACHMENT_REFS = "SELECT expense_id, id, filename, content_type, size FROM attachments \
        WHERE group_id = $1 AND expense_id {ids $2} ORDER BY created_at, id";
    DELETE_ATTACHMENT =
        "DELETE FROM attachments WHERE group_id = $1 AND expense_id = $2 AND id = $3";
    KNOWN_ATTACHMENTS = "SELECT id FROM attachments WHERE group_id = $1 AND id {ids $2}";
    INSERT_COMMENT = concat!("INSERT INTO comments (", comment_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6)");
    COMMENT = concat!("SELECT ", comment_columns!(),
        " FROM comments WHERE group_id = $1 AND expense_id = $2 AND id = $3");
    COMMENTS = concat!("SELECT ", comment_columns!(),
        " FROM comments WHERE group_id = $1 AND expense_id = $2 ORDER BY created_at, id");
    // A group's comments a page at a time, oldest first (for exports).
    GROUP_COMMENTS = concat!("SELECT ", comment_columns!(),
        " FROM comments WHERE group_id = $1 AND ($2 IS NULL OR (created_at, id) > ($2, $3)) \
        ORDER BY created_at, id LIMIT $4");
    DELETE_COMMENT = "DELETE FROM comments WHERE group_id = $1 AND expense_id = $2 AND id = $3";
}

macro_rules! rows_statements {
    ($($name:ident = ($prefix:expr, $shared:literal, $width:literal, $suffix:expr);)*) => {
        $(pub(crate) const $name: Rows =
            Rows { prefix: $prefix, shared: $shared, width: $width, suffix: $suffix };)*
        /// Every multi-row statement, by name.
        pub(crate) const ALL_ROWS: &[(&str, &Rows)] = &[$((stringify!($name), &$name)),*];
    };
}

// Multi-row statements: (prefix, shared placeholders, own placeholders per row, suffix).
rows_statements! {
    // An expense's participant rows (one statement per expense).
    INSERT_PARTICIPANTS = ("INSERT INTO expense_participants \
        (group_id, expense_id, user_id, paid, owed, payer, sharer) VALUES ", 2, 5, "");
    // Adds to the running totals of members (created at zero).
    ADD_TOTALS = ("INSERT INTO member_totals \
        (group_id, user_id, currency, paid, owed, sent, received, converted) VALUES ", 1, 7,
        " ON CONFLICT (group_id, user_id, currency) DO UPDATE SET \
        paid = member_totals.paid + excluded.paid, owed = member_totals.owed + excluded.owed, \
        sent = member_totals.sent + excluded.sent, \
        received = member_totals.received + excluded.received, \
        converted = member_totals.converted + excluded.converted");
    // Adds to the pair totals (created at zero).
    ADD_PAIRS = ("INSERT INTO pair_totals (group_id, currency, a, b, amount) VALUES ", 1, 4,
        " ON CONFLICT (group_id, currency, a, b) DO UPDATE SET \
        amount = pair_totals.amount + excluded.amount");
}
