//! A group's export, whole ([`Export`]) or as a stream of text ([`ExportStream`]) whose
//! memory does not grow with the group's history.
//!
//! Both write the same bytes through the same renderers. The JSON document is one object
//! whose keys come in sorted order, as `serde_json` writes every object: fixed parts (the
//! group, its members) are rendered whole, and each list that grows with history is a
//! [`Section`], read through the store's keyset pages and written a page at a time. A new
//! kind of record in the export is one more [`Section`]: its key, its page read, its JSON
//! item and its CSV lines.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Error, Ledger, Result};
use crate::domain::{
    Comment, CommentId, Conversion, DatedCursor, Expense, ExpenseFilter, ExpenseKind, Group,
    GroupId, Member, Settlement, UserId,
};
use crate::error::Cause;
use crate::money::Minor;
use crate::recurring::Series;
use crate::storage::{Storage, all_conversions, all_expenses, all_settlements};

/// Records read per page while streaming: a page's text is what the stream holds at once.
const PAGE: u32 = 500;

/// The CSV header: one line per expense participant, per side of a repayment, per member
/// and currency of a conversion, and per comment.
const CSV_HEADER: &str =
    "kind,id,date,description,category,currency,amount,user_id,user_name,paid,owed,sent,received\n";

/// Everything in a group, for export (read whole: for embedders and small groups; the
/// server streams [`ExportStream`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The group.
    pub group: Group,
    /// Its members.
    pub members: Vec<Member>,
    /// Every expense, newest first.
    pub expenses: Vec<Expense>,
    /// Every repayment, newest first.
    pub settlements: Vec<Settlement>,
    /// Every conversion of balances, newest first.
    pub conversions: Vec<Conversion>,
    /// Every recurring series, oldest first.
    pub series: Vec<Series>,
    /// Every comment, oldest first.
    pub comments: Vec<Comment>,
}

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `{comments, conversions, expenses, group, members, series, settlements}`.
    Json,
    /// One line per expense participant, per side of a repayment, per member and
    /// currency of a conversion, and per comment (series and receipts have no line).
    Csv,
}

fn group_json(group: &Group) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "currency": group.currency,
    })
}

fn members_json(members: &[Member]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                json!({
                    "user_id": m.user_id,
                    "display_name": m.display_name,
                    "email": m.email,
                    "role": m.role,
                })
            })
            .collect(),
    )
}

/// Display names for the CSV's `user_name` (former members show their id).
struct Names(HashMap<UserId, String>);

impl Names {
    fn new(members: &[Member]) -> Self {
        Self(
            members
                .iter()
                .map(|m| (m.user_id, m.display_name.clone()))
                .collect(),
        )
    }

    fn of(&self, user: &UserId) -> String {
        self.0
            .get(user)
            .cloned()
            .unwrap_or_else(|| user.to_string())
    }
}

/// Quotes a CSV field when it needs it (RFC 4180), and defuses spreadsheet formulas.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn push_line(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

/// An expense's CSV lines, one per participant. Income counts into paid and owed with its
/// sign reversed, as in balances. Fails only for hand-built expenses whose rows overflow
/// (stored ones never do).
fn expense_lines(e: &Expense, names: &Names, out: &mut String) -> Result<()> {
    for r in e.rows().map_err(|o| Error::Internal(Cause::new(o)))? {
        let signed = |units: Minor| match e.kind {
            ExpenseKind::Expense => Some(units),
            ExpenseKind::Income => units.checked_neg(),
        };
        let (paid, owed) = match (signed(r.paid), signed(r.owed)) {
            (Some(paid), Some(owed)) => (paid, owed),
            _ => return Err(Error::Internal(Cause::msg("a row past 64 bits"))),
        };
        let fields = [
            e.kind.as_str().to_string(),
            e.id.to_string(),
            e.details.occurred_on.to_string(),
            e.details.description.clone(),
            e.details.category.clone().unwrap_or_default(),
            e.currency().to_string(),
            e.amount.to_string(),
            r.user_id.to_string(),
            names.of(&r.user_id),
            e.amount.format_units(paid),
            e.amount.format_units(owed),
            String::new(),
            String::new(),
        ];
        push_line(out, &fields);
    }
    Ok(())
}

/// A repayment's CSV lines: the payer's (sent) and the recipient's (received).
fn settlement_lines(s: &Settlement, names: &Names, out: &mut String) {
    let (amount, none) = (s.amount.units(), Minor::ZERO);
    for (user, sent, received) in [(s.from_user, amount, none), (s.to_user, none, amount)] {
        let fields = [
            "settlement".to_string(),
            s.id.to_string(),
            s.occurred_on.to_string(),
            s.note.clone().unwrap_or_default(),
            String::new(),
            s.currency().to_string(),
            s.amount.to_string(),
            user.to_string(),
            names.of(&user),
            String::new(),
            String::new(),
            s.amount.format_units(sent),
            s.amount.format_units(received),
        ];
        push_line(out, &fields);
    }
}

/// A conversion as the export carries it: what activity shows, plus the debts it settled,
/// so an import settles the same debts and the pairwise balances come back too.
fn conversion_json(c: &Conversion) -> Value {
    let mut item = c.snapshot();
    let debts: Vec<Value> = (c.debts.iter())
        .map(|d| {
            json!({
                "a": d.a,
                "b": d.b,
                "amount": c.from_currency.format(d.amount.get()),
            })
        })
        .collect();
    if let Value::Object(fields) = &mut item {
        fields.insert("debts".into(), Value::Array(debts));
    }
    item
}

/// A conversion's CSV lines: per member, one in the emptied currency whose `owed` is the
/// net that left it, and one in the receiving currency whose `paid` is what it received
/// (both signed), so `paid - owed + sent - received` still totals each member's net in
/// each currency. `amount` carries the rate.
fn conversion_lines(c: &Conversion, names: &Names, out: &mut String) {
    for r in &c.rows {
        let sides = [
            (c.from_currency, String::new(), r.from_amount),
            (
                c.to_currency,
                c.to_currency.format(r.to_amount.get()),
                Minor::ZERO,
            ),
        ];
        for (currency, paid, owed) in sides {
            let owed = if owed.is_zero() {
                String::new()
            } else {
                currency.format(owed.get())
            };
            let fields = [
                "conversion".to_string(),
                c.id.to_string(),
                c.occurred_on.to_string(),
                c.note.clone().unwrap_or_default(),
                String::new(),
                currency.to_string(),
                c.exchange_rate.to_string(),
                r.user_id.to_string(),
                names.of(&r.user_id),
                paid,
                owed,
                String::new(),
                String::new(),
            ];
            push_line(out, &fields);
        }
    }
}

/// An expense as the export carries it: what activity shows (payers, shares, split,
/// `original`, metadata, the series occurrence it is), plus its receipts by id and name
/// (never their bytes) and who recorded it when.
fn expense_json(e: &Expense) -> Value {
    let mut item = e.snapshot();
    let attachments: Vec<Value> = (e.attachments.iter())
        .map(|a| {
            json!({
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            })
        })
        .collect();
    if let Value::Object(fields) = &mut item {
        fields.insert("attachments".into(), Value::Array(attachments));
        fields.insert("created_by".into(), json!(e.created_by));
        fields.insert("created_at".into(), json!(rfc3339(e.created_at)));
    }
    item
}

/// A time as the API writes it.
fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// A series as the export carries it: the API's fields plus `next_index` (how far the
/// calendar has got, counting dates a pause skipped), so an import resumes it exactly where
/// it was and never makes an occurrence twice.
fn series_json(s: &Series) -> Value {
    json!({
        "id": s.id,
        "expense": s.template,
        "every": s.schedule.every,
        "interval": s.schedule.interval,
        "starts_on": s.schedule.starts_on.to_string(),
        "ends_on": s.schedule.ends_on.map(|d| d.to_string()),
        "count": s.schedule.count,
        "paused": s.paused,
        "next_index": s.next_index,
        "next_on": s.schedule.date(s.next_index).map(|d| d.to_string()),
        "created_by": s.created_by,
        "created_at": rfc3339(s.created_at),
    })
}

/// A comment as the export carries it.
fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "expense_id": c.expense_id,
        "author": c.author,
        "text": c.text,
        "created_at": rfc3339(c.created_at),
    })
}

/// A comment's CSV line: `description` carries its text, `user_id` its author, `id` the
/// expense it is about (comments have no amounts).
fn comment_line(c: &Comment, names: &Names, out: &mut String) {
    let fields = [
        "comment".to_string(),
        c.expense_id.to_string(),
        c.created_at.date().to_string(),
        c.text.clone(),
        String::new(),
        String::new(),
        String::new(),
        c.author.to_string(),
        names.of(&c.author),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ];
    push_line(out, &fields);
}

/// Writes one record as a JSON array item (a comma before all but the first).
fn push_item(out: &mut String, first: bool, item: &Value) {
    if !first {
        out.push(',');
    }
    out.push_str(&item.to_string());
}

impl Export {
    /// The export as JSON: `{comments, conversions, expenses, group, members, series,
    /// settlements}`.
    pub fn to_json(&self) -> Value {
        json!({
            "comments": self.comments.iter().map(comment_json).collect::<Vec<_>>(),
            "conversions": self.conversions.iter().map(conversion_json).collect::<Vec<_>>(),
            "group": group_json(&self.group),
            "members": members_json(&self.members),
            "expenses": self.expenses.iter().map(expense_json).collect::<Vec<_>>(),
            "series": self.series.iter().map(series_json).collect::<Vec<_>>(),
            "settlements": self.settlements.iter().map(Settlement::snapshot).collect::<Vec<_>>(),
        })
    }

    /// The export as CSV: one line per expense participant and per repayment, with
    /// `paid` and `owed` columns, so a spreadsheet can total any member's balance. Fails only
    /// for hand-built expenses whose rows overflow (stored ones never do).
    pub fn to_csv(&self) -> Result<String> {
        let names = Names::new(&self.members);
        let mut out = String::from(CSV_HEADER);
        for e in &self.expenses {
            expense_lines(e, &names, &mut out)?;
        }
        for s in &self.settlements {
            settlement_lines(s, &names, &mut out);
        }
        for c in &self.conversions {
            conversion_lines(c, &names, &mut out);
        }
        for c in &self.comments {
            comment_line(c, &names, &mut out);
        }
        Ok(out)
    }
}

/// A list of the export that grows with the group's history, read a page at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Expenses and incomes, newest first.
    Expenses,
    /// Repayments, newest first.
    Settlements,
    /// Conversions of balances, newest first.
    Conversions,
    /// Recurring series, oldest first (JSON only: a series moves no balance and has no
    /// line in the CSV's shape).
    Series,
    /// Comments, oldest first.
    Comments,
}

/// Where a section's next page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// After a dated record (newest-first sections).
    Dated(DatedCursor),
    /// After a comment (oldest first).
    Comment(time::OffsetDateTime, CommentId),
}

impl After {
    fn dated(self) -> Option<DatedCursor> {
        match self {
            After::Dated(c) => Some(c),
            After::Comment(..) => None,
        }
    }

    fn comment(self) -> Option<(time::OffsetDateTime, CommentId)> {
        match self {
            After::Comment(at, id) => Some((at, id)),
            After::Dated(_) => None,
        }
    }
}

impl Section {
    /// Every section, in CSV order.
    const ALL: [Section; 5] = [
        Section::Expenses,
        Section::Settlements,
        Section::Conversions,
        Section::Series,
        Section::Comments,
    ];

    /// Whether the CSV carries it.
    fn in_csv(self) -> bool {
        self != Section::Series
    }

    /// Its key in the JSON document.
    fn key(self) -> &'static str {
        match self {
            Section::Expenses => "expenses",
            Section::Settlements => "settlements",
            Section::Conversions => "conversions",
            Section::Series => "series",
            Section::Comments => "comments",
        }
    }

    /// Renders the page after `after` onto `out`; answers where the next page starts
    /// (`None`: this was the last).
    async fn page<S: Storage + ?Sized>(
        self,
        storage: &S,
        group: GroupId,
        after: Option<After>,
        first: bool,
        out: &mut Out<'_>,
    ) -> Result<Option<After>> {
        let dated = after.and_then(After::dated);
        let (len, last) = match self {
            Section::Expenses => {
                let page = storage
                    .list_expenses(group, &ExpenseFilter::default(), dated.as_ref(), PAGE)
                    .await?;
                for (i, e) in page.iter().enumerate() {
                    match out {
                        Out::Json(text) => push_item(text, first && i == 0, &expense_json(e)),
                        Out::Csv(text, names) => expense_lines(e, names, text)?,
                    }
                }
                (page.len(), page.last().map(|e| After::Dated(e.cursor())))
            }
            Section::Settlements => {
                let page = storage
                    .list_settlements(group, dated.as_ref(), PAGE)
                    .await?;
                for (i, s) in page.iter().enumerate() {
                    match out {
                        Out::Json(text) => push_item(text, first && i == 0, &s.snapshot()),
                        Out::Csv(text, names) => settlement_lines(s, names, text),
                    }
                }
                (page.len(), page.last().map(|s| After::Dated(s.cursor())))
            }
            Section::Conversions => {
                let page = storage
                    .list_conversions(group, dated.as_ref(), PAGE)
                    .await?;
                for (i, c) in page.iter().enumerate() {
                    match out {
                        Out::Json(text) => push_item(text, first && i == 0, &conversion_json(c)),
                        Out::Csv(text, names) => conversion_lines(c, names, text),
                    }
                }
                (page.len(), page.last().map(|c| After::Dated(c.cursor())))
            }
            Section::Series => {
                // A group's series are few (people create them by hand): one read.
                let all = storage.list_series(group).await?;
                for (i, s) in all.iter().enumerate() {
                    match out {
                        Out::Json(text) => push_item(text, first && i == 0, &series_json(s)),
                        Out::Csv(..) => {}
                    }
                }
                (0, None)
            }
            Section::Comments => {
                let page = storage
                    .list_group_comments(group, after.and_then(After::comment), PAGE)
                    .await?;
                for (i, c) in page.iter().enumerate() {
                    match out {
                        Out::Json(text) => push_item(text, first && i == 0, &comment_json(c)),
                        Out::Csv(text, names) => comment_line(c, names, text),
                    }
                }
                (
                    page.len(),
                    page.last().map(|c| After::Comment(c.created_at, c.id)),
                )
            }
        };
        Ok(last.filter(|_| len == PAGE as usize))
    }
}

/// Where a page is rendered.
enum Out<'a> {
    Json(&'a mut String),
    Csv(&'a mut String, &'a Names),
}

/// What the stream writes next.
#[derive(Debug)]
enum Step {
    /// Text known in advance (punctuation, the group, its members, the CSV header).
    Text(String),
    /// The page of a section after a cursor (`first`: no page of it written yet).
    Page {
        section: Section,
        after: Option<After>,
        first: bool,
    },
}

/// A group's export as a sequence of text chunks, one page of records each: memory stays
/// that of one page however long the history. Each page is a consistent read; a write made
/// while the export streams shows in it where it falls after the page being read, as in any
/// paged read of a live group.
pub struct ExportStream<S> {
    storage: Arc<S>,
    group: GroupId,
    names: Option<Names>,
    steps: VecDeque<Step>,
}

impl<S> std::fmt::Debug for ExportStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportStream")
            .field("group", &self.group)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> ExportStream<S> {
    fn new(storage: Arc<S>, group: &Group, members: &[Member], format: ExportFormat) -> Self {
        let mut steps = VecDeque::new();
        let names =
            match format {
                ExportFormat::Csv => {
                    steps.push_back(Step::Text(CSV_HEADER.to_string()));
                    steps.extend((Section::ALL.into_iter()).filter(|s| s.in_csv()).map(
                        |section| Step::Page {
                            section,
                            after: None,
                            first: true,
                        },
                    ));
                    Some(Names::new(members))
                }
                ExportFormat::Json => {
                    // Fixed parts and sections, in the sorted key order serde_json writes.
                    let mut parts: Vec<(&str, Option<Value>, Option<Section>)> = vec![
                        ("group", Some(group_json(group)), None),
                        ("members", Some(members_json(members)), None),
                    ];
                    parts.extend(Section::ALL.map(|s| (s.key(), None, Some(s))));
                    parts.sort_by_key(|(key, _, _)| *key);
                    let mut text = String::from("{");
                    for (i, (key, fixed, section)) in parts.into_iter().enumerate() {
                        if i > 0 {
                            text.push(',');
                        }
                        text.push_str(&Value::from(key).to_string());
                        text.push(':');
                        match (fixed, section) {
                            (Some(value), _) => text.push_str(&value.to_string()),
                            (None, Some(section)) => {
                                text.push('[');
                                steps.push_back(Step::Text(std::mem::take(&mut text)));
                                steps.push_back(Step::Page {
                                    section,
                                    after: None,
                                    first: true,
                                });
                                text.push(']');
                            }
                            (None, None) => {}
                        }
                    }
                    text.push('}');
                    steps.push_back(Step::Text(text));
                    None
                }
            };
        Self {
            storage,
            group: group.id,
            names,
            steps,
        }
    }

    /// The next chunk of the document; `None` once it is complete. An error ends the
    /// document unfinished (the reader must not take what came before for a whole export).
    pub async fn next_chunk(&mut self) -> Result<Option<String>> {
        let Some(step) = self.steps.pop_front() else {
            return Ok(None);
        };
        match step {
            Step::Text(text) => Ok(Some(text)),
            Step::Page {
                section,
                after,
                first,
            } => {
                let mut text = String::new();
                let mut out = match &self.names {
                    Some(names) => Out::Csv(&mut text, names),
                    None => Out::Json(&mut text),
                };
                let next = section
                    .page(self.storage.as_ref(), self.group, after, first, &mut out)
                    .await?;
                if let Some(after) = next {
                    self.steps.push_front(Step::Page {
                        section,
                        after: Some(after),
                        first: false,
                    });
                }
                Ok(Some(text))
            }
        }
    }
}

impl<S: Storage> Ledger<S> {
    /// Everything in the group, read whole: members, expenses with their shares, repayments,
    /// conversions, series and comments.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn export(&self, actor: UserId, group: GroupId) -> Result<Export> {
        let (g, _) = self.access(actor, group).await?;
        let members = self.storage.members(group).await?;
        let expenses = all_expenses(self.storage.as_ref(), group).await?;
        let settlements = all_settlements(self.storage.as_ref(), group).await?;
        let conversions = all_conversions(self.storage.as_ref(), group).await?;
        let series = self.storage.list_series(group).await?;
        let mut comments: Vec<Comment> = Vec::new();
        loop {
            let after = comments.last().map(|c| (c.created_at, c.id));
            let page = self.storage.list_group_comments(group, after, PAGE).await?;
            let done = page.len() < PAGE as usize;
            comments.extend(page);
            if done {
                break;
            }
        }
        Ok(Export {
            group: g,
            members,
            expenses,
            settlements,
            conversions,
            series,
            comments,
        })
    }

    /// The same document as [`Ledger::export`], as a stream of text a page at a time. The
    /// caller's access is checked here, before any text exists.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn export_stream(
        &self,
        actor: UserId,
        group: GroupId,
        format: ExportFormat,
    ) -> Result<ExportStream<S>> {
        let (g, _) = self.access(actor, group).await?;
        let members = self.storage.members(group).await?;
        Ok(ExportStream::new(
            Arc::clone(&self.storage),
            &g,
            &members,
            format,
        ))
    }
}
