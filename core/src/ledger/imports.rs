//! Importing another tool's export into a group: names mapped to members, everything
//! written in one transaction, the group's nets moved by exactly what the file states.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::groups::PLACEHOLDER_DOMAIN;
use super::{Error, Ledger, Result, check_date, optional_text, record, required_text};
use crate::balance::PairDelta;
use crate::domain::{
    Comment, CommentId, Conversion, ConversionId, ConversionRow, Email, Expense, ExpenseDetails,
    ExpenseId, GroupId, Member, Membership, Occurrence, Original, Role, SeriesId, Settlement,
    SettlementId, User, UserId, UserRecord,
};
use crate::entry::{Effect, Entry};
use crate::error::{Cause, FieldError, ValidationErrors};
use crate::import::{
    self, Format, ImportConversion, ImportEntry, ImportExpense, ImportFile, ImportSettlement, Part,
};
use crate::ledger::NewExpense;
use crate::money::{Currency, MAX_MAJOR_UNITS, Minor, Money};
use crate::preview::BalancesView;
use crate::recurring::{Series, snapshot as series_snapshot};
use crate::split::{ExactShare, Portion, SplitInput};
use crate::storage::{EntryWrite, ImportWrite, NewPlaceholder, Storage};

/// An import as asked.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The file's format.
    pub format: Format,
    /// The file.
    pub file: Vec<u8>,
    /// Names in the file mapped to members, checked first.
    pub members: HashMap<String, UserId>,
}

/// Who a name of the file became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMember {
    /// The name in the file.
    pub name: String,
    /// The member it maps to.
    pub user_id: UserId,
    /// Whether the import created them (a placeholder).
    pub created: bool,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Expenses and incomes written.
    pub expenses: u64,
    /// Repayments written.
    pub settlements: u64,
    /// Conversions written.
    pub conversions: u64,
    /// Recurring series written (this server's own export only).
    pub series: u64,
    /// Comments written (this server's own export only).
    pub comments: u64,
    /// Receipts the file lists but cannot carry (an export has no bytes): not imported.
    pub attachments_skipped: u64,
    /// Every name of the file and the member it became.
    pub members: Vec<ImportedMember>,
    /// The group's balances after the import.
    pub balances: BalancesView<UserId>,
}

/// The file's SHA-256, lowercase hex.
fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A name as members are matched by it: trimmed, case folded.
fn folded(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The row's field, as the refusals of the parsers name it.
fn at(row: u64, column: &str) -> String {
    format!("rows[{row}].{column}")
}

/// Portions per member, summed (two names of the file may be one member) and sorted.
fn portions(parts: &[Part], users: &[UserId]) -> Vec<Portion<UserId>> {
    let mut sums: BTreeMap<UserId, i64> = BTreeMap::new();
    for p in parts {
        *sums.entry(users[p.person]).or_default() += p.amount;
    }
    sums.into_iter()
        .filter(|(_, v)| *v != 0)
        .map(|(user_id, v)| Portion {
            user_id,
            amount: Minor::new(v),
        })
        .collect()
}

/// The file's member ids as the members they became (an id the file's members do not list
/// is left as it is: the parser refused those already).
struct Remap<'a> {
    ids: &'a HashMap<UserId, usize>,
    users: &'a [UserId],
}

impl Remap<'_> {
    fn user(&self, id: UserId) -> UserId {
        (self.ids.get(&id))
            .and_then(|&i| self.users.get(i))
            .copied()
            .unwrap_or(id)
    }

    /// Portions per member, summed (two of the file's members may be one member).
    fn portions(&self, list: &[Portion<UserId>]) -> Vec<Portion<UserId>> {
        let mut sums: BTreeMap<UserId, i64> = BTreeMap::new();
        for p in list {
            *sums.entry(self.user(p.user_id)).or_default() += p.amount.get();
        }
        (sums.into_iter())
            .map(|(user_id, v)| Portion {
                user_id,
                amount: Minor::new(v),
            })
            .collect()
    }

    fn template(&self, t: &NewExpense) -> NewExpense {
        let mut t = t.clone();
        t.paid_by = t.paid_by.map(|u| self.user(u));
        for p in t.payers.iter_mut().flatten() {
            p.user_id = self.user(p.user_id);
        }
        t.split = t.split.map_members(|u| self.user(*u));
        t
    }
}

/// Whether `amount` minor units are within the bound every amount obeys.
fn bounded(currency: Currency, amount: i64) -> bool {
    let max = i128::from(MAX_MAJOR_UNITS) * 10_i128.pow(currency.minor_units());
    amount > 0 && i128::from(amount) <= max
}

impl<S: Storage> Ledger<S> {
    /// Imports a file (owner or admin). Names map to members through `members` first, then
    /// by display name (case-insensitive, trimmed); the rest become placeholders. All or
    /// nothing: a bad row refuses the file with row-numbered errors; the same file twice is
    /// `already_imported`.
    #[tracing::instrument(skip_all, fields(%actor, %group, format = %request.format, bytes = request.file.len()))]
    pub async fn import(
        &self,
        actor: UserId,
        group: GroupId,
        request: ImportRequest,
    ) -> Result<ImportReport> {
        let (g, role) = self.access(actor, group).await?;
        if !role.manages() {
            return Err(Error::Forbidden("only the owner or an admin may import"));
        }
        let file = import::parse(request.format, &request.file, g.currency)?;
        let members = self.storage.members(group).await?;
        let now = self.now();
        let (users, placeholders, report_members) =
            self.map_people(actor, group, &file, &request.members, &members, now)?;

        let remap = Remap {
            ids: &file.ids,
            users: &users,
        };
        let mut errors = ValidationErrors::default();
        // Series as they stood (calendar, progress, pause), under new ids: the imported
        // occurrences name them, so the store's (group, series, date) key keeps the series
        // from making any of them again.
        let series: Vec<Series> = (file.series.iter())
            .map(|s| Series {
                id: SeriesId::random(),
                group_id: group,
                template: remap.template(&s.template),
                schedule: s.schedule,
                paused: s.paused,
                next_index: s.next_index,
                created_by: if file.ids.contains_key(&s.created_by) {
                    remap.user(s.created_by)
                } else {
                    actor
                },
                created_at: s.created_at,
                updated_at: now,
                version: 1,
            })
            .collect();
        let mut sources: HashMap<&str, ExpenseId> = HashMap::new();
        let mut writes = Vec::with_capacity(file.entries.len());
        let (mut expenses, mut settlements, mut conversions) = (0u64, 0u64, 0u64);
        for entry in &file.entries {
            let written = match entry {
                ImportEntry::Expense(e) => {
                    let made = self.expense_entry(actor, group, e, &users, now, &mut errors);
                    made.map(|mut entry| {
                        if let (Entry::Expense(x), Some(extra)) = (&mut entry, &e.extra) {
                            restore(x, extra, &remap, &series, &mut errors, e.row);
                            sources.insert(extra.source.as_str(), x.id);
                        }
                        entry
                    })
                }
                ImportEntry::Settlement(s) => {
                    settlement_entry(actor, group, s, &users, now, &mut errors)
                }
                ImportEntry::Conversion(c) => {
                    conversion_entry(actor, group, c, &users, now, &mut errors)
                }
            };
            if let Some(entry) = written {
                match entry {
                    Entry::Expense(_) => expenses += 1,
                    Entry::Settlement(_) => settlements += 1,
                    Entry::Conversion(_) => conversions += 1,
                }
                let activity = match &entry {
                    Entry::Expense(e) => record(
                        group,
                        actor,
                        "expense.created",
                        e.id.0,
                        now,
                        Value::Null,
                        e.snapshot(),
                    ),
                    Entry::Settlement(s) => record(
                        group,
                        actor,
                        "settlement.created",
                        s.id.0,
                        now,
                        Value::Null,
                        s.snapshot(),
                    ),
                    Entry::Conversion(c) => record(
                        group,
                        actor,
                        "conversion.created",
                        c.id.0,
                        now,
                        Value::Null,
                        c.snapshot(),
                    ),
                };
                writes.push(EntryWrite {
                    fingerprint: format!("import:{}:{}", request.format, entry.key().id),
                    activity,
                    entry,
                    idempotency: None,
                });
            }
            if errors.errors().len() >= import::MAX_ROW_ERRORS {
                break;
            }
        }
        let mut comments = Vec::with_capacity(file.comments.len());
        for c in &file.comments {
            let Some(&expense_id) = sources.get(c.expense.as_str()) else {
                errors.push(FieldError::new(
                    at(c.row, "expense_id"),
                    "import_unknown_expense",
                    format!("{} is not among the expenses", c.expense),
                ));
                continue;
            };
            let text = match super::comments::comment_text(&c.text) {
                Ok(text) => text,
                Err(Error::Validation(e)) => {
                    for f in e.0 {
                        errors.push(FieldError::new(at(c.row, &f.field), f.code, f.message));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let comment = Comment {
                id: CommentId::random(),
                group_id: group,
                expense_id,
                author: users[c.author],
                text,
                created_at: c.created_at,
            };
            let activity = record(
                group,
                actor,
                "comment.created",
                comment.id.0,
                now,
                Value::Null,
                comment.snapshot(),
            );
            comments.push((comment, activity));
        }
        errors.into_result()?;

        // The file's nets, by member: what the import must move, exactly. Checked before
        // anything is written, so the claim holds by construction, not by hope.
        let effect = Effect::sum(
            writes
                .iter()
                .map(|w| Effect::change(None, Some(&w.entry)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| super::expenses::overflow())?,
        )
        .map_err(|_| super::expenses::overflow())?;
        let mut moved: BTreeMap<(Currency, UserId), i64> = BTreeMap::new();
        for t in &effect.totals {
            let net = t.delta.net().map_err(|_| super::expenses::overflow())?;
            *moved.entry((t.currency, t.user_id)).or_default() += net;
        }
        moved.retain(|_, v| *v != 0);
        let mut stated: BTreeMap<(Currency, UserId), i64> = BTreeMap::new();
        for ((currency, person), net) in &file.stated {
            *stated.entry((*currency, users[*person])).or_default() += net;
        }
        stated.retain(|_, v| *v != 0);
        if moved != stated {
            return Err(Error::Internal(Cause::msg(
                "an import would not move the nets its file states",
            )));
        }

        let import_id = Uuid::now_v7();
        let write = ImportWrite {
            group_id: group,
            sha256: digest(&request.file),
            format: request.format.to_string(),
            imported_by: actor,
            imported_at: now,
            activity: record(
                group,
                actor,
                "import.created",
                import_id,
                now,
                Value::Null,
                json!({
                    "format": request.format,
                    "sha256": digest(&request.file),
                    "expenses": expenses,
                    "settlements": settlements,
                    "conversions": conversions,
                    "series": series.len(),
                    "comments": comments.len(),
                    "attachments_skipped": file.attachments,
                    "skipped": file.skipped,
                    "members": report_members.iter().map(|m| json!({"name": m.name, "user_id": m.user_id, "created": m.created})).collect::<Vec<_>>(),
                }),
            ),
            placeholders,
            entries: writes,
            series: (series.into_iter())
                .map(|s| {
                    let activity = record(
                        group,
                        actor,
                        "series.created",
                        s.id.0,
                        now,
                        Value::Null,
                        series_snapshot(&s),
                    );
                    (s, activity)
                })
                .collect(),
            comments,
        };
        self.storage.import(&write).await?;
        Ok(ImportReport {
            expenses,
            settlements,
            conversions,
            series: write.series.len() as u64,
            comments: write.comments.len() as u64,
            attachments_skipped: file.attachments,
            members: report_members,
            balances: self.balances(actor, group).await?,
        })
    }

    /// Each person of the file as a member: the `members` mapping, then display names, then
    /// a new placeholder. Returns the member of every person (by index), the placeholders
    /// to create, and the report's list.
    #[allow(clippy::type_complexity)]
    fn map_people(
        &self,
        actor: UserId,
        group: GroupId,
        file: &ImportFile,
        mapping: &HashMap<String, UserId>,
        members: &[Member],
        now: time::OffsetDateTime,
    ) -> Result<(Vec<UserId>, Vec<NewPlaceholder>, Vec<ImportedMember>)> {
        let mut errors = ValidationErrors::default();
        let names: std::collections::HashSet<&str> =
            file.people.iter().map(|p| p.name.as_str()).collect();
        for (name, user) in mapping {
            if !members.iter().any(|m| m.user_id == *user) {
                errors.push(FieldError::new(
                    format!("members.{name}"),
                    "not_a_member",
                    format!("{user} is not a member of this group"),
                ));
            } else if !names.contains(name.trim()) {
                errors.push(FieldError::new(
                    format!("members.{name}"),
                    "import_unknown_name",
                    format!("the file names nobody {name:?}"),
                ));
            }
        }
        let mapped: HashMap<&str, UserId> = mapping.iter().map(|(n, u)| (n.trim(), *u)).collect();
        let mut by_name: HashMap<String, Vec<UserId>> = HashMap::new();
        for m in members {
            by_name
                .entry(folded(&m.display_name))
                .or_default()
                .push(m.user_id);
        }
        let mut users = Vec::with_capacity(file.people.len());
        let mut placeholders = Vec::new();
        let mut report = Vec::with_capacity(file.people.len());
        for (i, person) in file.people.iter().enumerate() {
            let found = mapped.get(person.name.as_str()).copied().or_else(|| {
                match by_name.get(&folded(&person.name)).map(Vec::as_slice) {
                    Some([one]) => Some(*one),
                    _ => None,
                }
            });
            if found.is_none()
                && by_name
                    .get(&folded(&person.name))
                    .is_some_and(|v| v.len() > 1)
            {
                errors.push(FieldError::new(
                    format!("people[{i}]"),
                    "import_ambiguous_name",
                    format!(
                        "several members are called {:?}: map the name in `members`",
                        person.name
                    ),
                ));
            }
            let user = match found {
                Some(user) => user,
                None => {
                    let display_name =
                        required_text(&format!("people[{i}]"), &person.name, 100, &mut errors);
                    let id = UserId::random();
                    let email = Email::parse(&format!("placeholder-{id}@{PLACEHOLDER_DOMAIN}"))?;
                    let membership = Membership {
                        user_id: id,
                        role: Role::Member,
                        joined_at: now,
                    };
                    placeholders.push(NewPlaceholder {
                        user: UserRecord {
                            user: User { id, email, display_name: display_name.clone(), default_currency: None, created_at: now, updated_at: now },
                            password_hash: "!".into(),
                        },
                        membership,
                        activity: record(group, actor, "member.added", id.0, now, Value::Null,
                            json!({"user_id": id, "role": Role::Member, "placeholder": true, "display_name": display_name})),
                    });
                    id
                }
            };
            report.push(ImportedMember {
                name: person.name.clone(),
                user_id: user,
                created: found.is_none(),
            });
            users.push(user);
        }
        errors.into_result()?;
        Ok((users, placeholders, report))
    }

    /// The expense a row becomes, or `None` with the reasons in `errors`.
    fn expense_entry(
        &self,
        actor: UserId,
        group: GroupId,
        e: &ImportExpense,
        users: &[UserId],
        now: time::OffsetDateTime,
        errors: &mut ValidationErrors,
    ) -> Option<Entry> {
        let before = errors.errors().len();
        // Other tools allow a bill without a name; this ledger does not.
        let text = if e.description.trim().is_empty() {
            e.category.as_deref().unwrap_or("(no description)")
        } else {
            &e.description
        };
        let description = required_text(&at(e.row, "description"), text, 200, errors);
        let category = optional_text(&at(e.row, "category"), e.category.as_deref(), 50, errors);
        let payment_method = optional_text(
            &at(e.row, "payment_method"),
            e.payment_method.as_deref(),
            50,
            errors,
        );
        let notes = optional_text(&at(e.row, "notes"), e.notes.as_deref(), 2000, errors);
        check_date(&at(e.row, "date"), Some(e.occurred_on), errors);
        if !bounded(e.currency, e.amount) {
            errors.push(FieldError::new(
                at(e.row, "amount"),
                "amount_too_large",
                format!("at most {MAX_MAJOR_UNITS} {}", e.currency),
            ));
        }
        if errors.errors().len() > before {
            return None;
        }
        let payers = portions(&e.payers, users);
        let shares = portions(&e.shares, users);
        let split = SplitInput::Exact {
            shares: shares
                .iter()
                .map(|s| ExactShare {
                    user_id: s.user_id,
                    amount: e.currency.format(s.amount.get()),
                })
                .collect(),
        };
        Some(Entry::Expense(Expense {
            id: ExpenseId::random(),
            group_id: group,
            kind: e.kind,
            original: None,
            amount: Money::from_minor(e.amount, e.currency),
            payers,
            shares,
            split,
            details: ExpenseDetails {
                description,
                category,
                payment_method,
                occurred_on: e.occurred_on,
                notes,
                metadata: None,
            },
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
            recurring: None,
            attachments: Vec::new(),
        }))
    }
}

/// What this server's own export carries beyond another tool's, put back on the expense a
/// row became: the split as asked, `original` as entered, metadata, and the series
/// occurrence it is (its id derived as the series derives it, so the series finds it made).
fn restore(
    x: &mut Expense,
    extra: &import::ExpenseExtra,
    remap: &Remap<'_>,
    series: &[Series],
    errors: &mut ValidationErrors,
    row: u64,
) {
    if !matches!(&extra.split, crate::split::SplitInput::Exact { shares } if shares.is_empty()) {
        x.split = extra.split.map_members(|u| remap.user(*u));
    }
    x.original = extra.original.as_ref().map(|o| {
        Box::new(Original {
            amount: o.amount,
            exchange_rate: o.exchange_rate,
            payers: remap.portions(&o.payers),
            shares: remap.portions(&o.shares),
        })
    });
    let mut found = ValidationErrors::default();
    super::expenses::check_metadata(extra.metadata.as_ref(), &mut found);
    for f in found.0 {
        errors.push(FieldError::new(at(row, &f.field), f.code, f.message));
    }
    x.details.metadata = extra.metadata.clone();
    if let Some(s) = extra
        .occurrence
        .and_then(|(i, on)| Some((series.get(i)?, on)))
    {
        x.recurring = Some(Occurrence {
            series_id: s.0.id,
            occurrence_on: s.1,
        });
        x.id = s.0.occurrence_id(s.1);
    }
}

/// The repayment a row becomes; `None` when both names are one member (it moves nothing)
/// or with the reasons in `errors`.
fn settlement_entry(
    actor: UserId,
    group: GroupId,
    s: &ImportSettlement,
    users: &[UserId],
    now: time::OffsetDateTime,
    errors: &mut ValidationErrors,
) -> Option<Entry> {
    let before = errors.errors().len();
    let note = optional_text(&at(s.row, "note"), s.note.as_deref(), 500, errors);
    check_date(&at(s.row, "date"), Some(s.occurred_on), errors);
    if !bounded(s.currency, s.amount) {
        errors.push(FieldError::new(
            at(s.row, "amount"),
            "amount_too_large",
            format!("at most {MAX_MAJOR_UNITS} {}", s.currency),
        ));
    }
    let (from_user, to_user) = (users[s.from], users[s.to]);
    if errors.errors().len() > before || from_user == to_user {
        return None;
    }
    Some(Entry::Settlement(Settlement {
        id: SettlementId::random(),
        group_id: group,
        from_user,
        to_user,
        amount: Money::from_minor(s.amount, s.currency),
        occurred_on: s.occurred_on,
        note,
        created_by: actor,
        created_at: now,
    }))
}

/// The conversion a file's conversion becomes, its rows and debts moved onto members (two
/// names of the file may be one member: their parts add up, a debt between them vanishes);
/// `None` with the reasons in `errors`. Its rows are written as computed when it was made:
/// the import re-plays history, it does not convert again at today's balances.
fn conversion_entry(
    actor: UserId,
    group: GroupId,
    c: &ImportConversion,
    users: &[UserId],
    now: time::OffsetDateTime,
    errors: &mut ValidationErrors,
) -> Option<Entry> {
    let before = errors.errors().len();
    let note = optional_text(&at(c.row, "note"), c.note.as_deref(), 500, errors);
    check_date(&at(c.row, "date"), Some(c.occurred_on), errors);
    let too_large = || {
        FieldError::new(
            at(c.row, "rows"),
            "amount_too_large",
            "a conversion's amounts are too large",
        )
    };
    let mut rows: BTreeMap<UserId, (i64, i64)> = BTreeMap::new();
    for r in &c.rows {
        let slot = rows.entry(users[r.person]).or_default();
        match (
            slot.0.checked_add(r.from_amount),
            slot.1.checked_add(r.to_amount),
        ) {
            (Some(from), Some(to)) => *slot = (from, to),
            _ => errors.push(too_large()),
        }
    }
    let mut debts: BTreeMap<(UserId, UserId), i64> = BTreeMap::new();
    for d in &c.debts {
        let (a, b) = (users[d.a], users[d.b]);
        let (a, b, amount) = match a.cmp(&b) {
            std::cmp::Ordering::Less => (a, b, Some(d.amount)),
            std::cmp::Ordering::Greater => (b, a, d.amount.checked_neg()),
            std::cmp::Ordering::Equal => continue,
        };
        let slot = debts.entry((a, b)).or_default();
        match amount.and_then(|v| slot.checked_add(v)) {
            Some(sum) => *slot = sum,
            None => errors.push(too_large()),
        }
    }
    if errors.errors().len() > before {
        return None;
    }
    let rows = (rows.into_iter())
        .filter(|(_, (from, to))| *from != 0 || *to != 0)
        .map(|(user_id, (from, to))| ConversionRow {
            user_id,
            from_amount: Minor::new(from),
            to_amount: Minor::new(to),
        })
        .collect();
    let debts = (debts.into_iter())
        .filter(|(_, amount)| *amount != 0)
        .map(|((a, b), amount)| PairDelta {
            currency: c.from_currency,
            a,
            b,
            amount: Minor::new(amount),
        })
        .collect();
    Some(Entry::Conversion(Conversion {
        id: ConversionId::random(),
        group_id: group,
        from_currency: c.from_currency,
        to_currency: c.to_currency,
        exchange_rate: c.exchange_rate,
        rows,
        debts,
        occurred_on: c.occurred_on,
        note,
        created_by: actor,
        created_at: now,
    }))
}
