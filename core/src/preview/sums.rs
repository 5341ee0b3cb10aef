//! The sums behind [`balances`](super::balances), [`balances_with`](super::balances_with) and
//! [`balances_of_text`](super::balances_of_text): a whole history folded into per-member
//! totals, with the same checks, error fields and overflow rules as
//! [`BalanceSheet`](crate::balance::BalanceSheet) (which the stores' checks use), but built
//! for tens of thousands of entries in the browser.
//!
//! Member ids are borrowed from the input and numbered once; totals live in one vector per
//! currency indexed by that number. A `BalanceSheet<&str>` instead hashed every id with
//! SipHash into a per-currency map, and each expense collected its parsed amounts into two
//! fresh vectors: together most of a 10,000-expense preview once the input was converted.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::balance::{Overflow, Totals};
use crate::error::{FieldError, ValidationErrors};
use crate::money::{Currency, Minor};
use crate::split::ExpenseKind;

/// Hashes member ids a word at a time (the multiply-rotate of rustc's FxHasher).
///
/// SipHash's resistance to chosen collisions buys nothing here: the ids come from the page's
/// own ledger, and the worst a crafted set could do is slow that page's own preview.
#[derive(Default)]
struct IdHasher(u64);

impl IdHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0_u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// One currency's totals, by member number; `None` for a member never seen in it.
struct Slots {
    currency: Currency,
    totals: Vec<Option<Totals>>,
}

/// One currency's members and their totals, sorted by member id.
pub(super) type Block = (Currency, Vec<(String, Totals)>);

/// Which running total an amount goes to.
#[derive(Clone, Copy)]
enum Column {
    Paid,
    Owed,
    Sent,
    Received,
}

/// A history being summed, borrowing its member ids from the input (`'a`).
pub(super) struct LedgerSums<'a> {
    numbers: HashMap<&'a str, usize, BuildHasherDefault<IdHasher>>,
    members: Vec<&'a str>,
    blocks: Vec<Slots>,
    /// The last currency code read and its block: a history is mostly in one currency, and
    /// comparing three bytes is cheaper than parsing them.
    last: Option<(&'a str, usize)>,
    /// One expense's parsed amounts (member number, minor units), payers first; kept between
    /// expenses so that summing allocates nothing per expense.
    parsed: Vec<(usize, i64)>,
    /// Every refused entry, in input order.
    pub(super) errors: ValidationErrors,
}

impl<'a> LedgerSums<'a> {
    pub(super) fn new() -> Self {
        Self {
            numbers: HashMap::default(),
            members: Vec::new(),
            blocks: Vec::new(),
            last: None,
            parsed: Vec::new(),
            errors: ValidationErrors::default(),
        }
    }

    fn member(&mut self, id: &'a str) -> usize {
        if let Some(&number) = self.numbers.get(id) {
            return number;
        }
        let number = self.members.len();
        self.members.push(id);
        self.numbers.insert(id, number);
        number
    }

    fn block(&mut self, currency: Currency) -> usize {
        match self.blocks.iter().position(|b| b.currency == currency) {
            Some(b) => b,
            None => {
                self.blocks.push(Slots {
                    currency,
                    totals: Vec::new(),
                });
                self.blocks.len() - 1
            }
        }
    }

    /// The block of a currency code, parsed unless it is the code read last.
    fn block_of(&mut self, code: &'a str) -> Result<usize, crate::money::MoneyError> {
        if let Some((last, b)) = self.last
            && last == code
        {
            return Ok(b);
        }
        let b = self.block(Currency::parse(code)?);
        self.last = Some((code, b));
        Ok(b)
    }

    /// The totals of `member` in block `b`, created at zero.
    fn slot(&mut self, b: usize, member: usize) -> &mut Totals {
        let totals = &mut self.blocks[b].totals;
        if totals.len() <= member {
            totals.resize(member + 1, None);
        }
        totals[member].get_or_insert_with(Totals::default)
    }

    /// Adds `amount` to one running total. Adding to one field alone is what
    /// [`Totals::add`] does with the others zero: every stored field is already within the
    /// bound, so only this one can leave it.
    fn bump(
        &mut self,
        b: usize,
        member: usize,
        column: Column,
        amount: i64,
    ) -> Result<(), Overflow> {
        let totals = self.slot(b, member);
        let field = match column {
            Column::Paid => &mut totals.paid,
            Column::Owed => &mut totals.owed,
            Column::Sent => &mut totals.sent,
            Column::Received => &mut totals.received,
        };
        *field = field
            .checked_add(Minor::new(amount))
            .filter(|m| m.within_total_limit())
            .ok_or(Overflow)?;
        Ok(())
    }

    /// Adds a starting member's totals (`balances_with`), as [`Totals::add`] does.
    pub(super) fn add_totals(
        &mut self,
        currency: Currency,
        member: &'a str,
        delta: &Totals,
    ) -> Result<(), Overflow> {
        let b = self.block(currency);
        let member = self.member(member);
        self.slot(b, member).add(delta)
    }

    /// Parses one list of an expense into `parsed`; its total, over the amounts that parse.
    fn parse_list(
        &mut self,
        currency: Currency,
        list: impl IntoIterator<Item = (&'a str, &'a str)>,
        at: impl Fn(usize) -> String,
    ) -> i128 {
        let mut total = 0_i128;
        for (j, (user, amount)) in list.into_iter().enumerate() {
            match currency.parse_non_negative(amount) {
                Ok(minor) => {
                    let member = self.member(user);
                    self.parsed.push((member, minor));
                    total += i128::from(minor);
                }
                Err(err) => self.errors.push(err.at(at(j))),
            }
        }
        total
    }

    /// Adds expense `i` (`expenses[i]` in errors): each payer's and participant's
    /// `(member, amount)`. Refused when an amount does not parse, or when payers and shares do
    /// not add up to the same amount; income counts with every sign reversed.
    pub(super) fn add_expense(
        &mut self,
        i: usize,
        kind: ExpenseKind,
        currency: &'a str,
        payers: impl IntoIterator<Item = (&'a str, &'a str)>,
        shares: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        let b = match self.block_of(currency) {
            Ok(b) => b,
            Err(err) => {
                self.errors.push(err.at(format!("expenses[{i}].currency")));
                return;
            }
        };
        let currency = self.blocks[b].currency;
        self.parsed.clear();
        let paid = self.parse_list(currency, payers, |j| {
            format!("expenses[{i}].payers[{j}].amount")
        });
        let split = self.parsed.len();
        let owed = self.parse_list(currency, shares, |j| {
            format!("expenses[{i}].shares[{j}].amount")
        });
        if paid != owed {
            self.errors.push(FieldError::new(
                format!("expenses[{i}]"),
                "sum_mismatch",
                "payers and shares must add up to the same amount",
            ));
            return;
        }
        // Amounts are non-negative and bounded here, so the negation cannot overflow.
        let sign = match kind {
            ExpenseKind::Expense => 1,
            ExpenseKind::Income => -1,
        };
        for k in 0..self.parsed.len() {
            let (member, amount) = self.parsed[k];
            let column = if k < split {
                Column::Paid
            } else {
                Column::Owed
            };
            // The first overflow ends the expense, as BalanceSheet::add_portions does.
            if self.bump(b, member, column, sign * amount).is_err() {
                self.errors.push(too_large(format!("expenses[{i}]")));
                return;
            }
        }
    }

    /// Adds settlement `i` (`settlements[i]` in errors): `from` repaid `to`.
    pub(super) fn add_settlement(
        &mut self,
        i: usize,
        from: &'a str,
        to: &'a str,
        amount: &str,
        currency: &'a str,
    ) {
        let b = match self.block_of(currency) {
            Ok(b) => b,
            Err(err) => {
                self.errors
                    .push(err.at(format!("settlements[{i}].currency")));
                return;
            }
        };
        let amount = match self.blocks[b].currency.parse_amount(amount) {
            Ok(a) => a,
            Err(err) => {
                self.errors.push(err.at(format!("settlements[{i}].amount")));
                return;
            }
        };
        if from == to {
            self.errors.push(FieldError::new(
                format!("settlements[{i}].to_user"),
                "same_user",
                "a repayment goes from one member to another",
            ));
            return;
        }
        let (from, to) = (self.member(from), self.member(to));
        let sent = self.bump(b, from, Column::Sent, amount);
        if sent
            .and_then(|()| self.bump(b, to, Column::Received, amount))
            .is_err()
        {
            self.errors.push(too_large(format!("settlements[{i}]")));
        }
    }

    /// Every currency with an entry, in code order, each with its members' totals sorted by
    /// member id; or every refused entry.
    pub(super) fn finish(self) -> Result<Vec<Block>, ValidationErrors> {
        self.errors.into_result()?;
        let mut blocks = self.blocks;
        blocks.sort_by_key(|b| b.currency);
        let members = &self.members;
        Ok(blocks
            .into_iter()
            .map(|block| {
                let mut rows: Vec<(&str, Totals)> = block
                    .totals
                    .iter()
                    .enumerate()
                    .filter_map(|(number, t)| t.map(|t| (members[number], t)))
                    .collect();
                rows.sort_unstable_by(|x, y| x.0.cmp(y.0));
                let rows = rows.into_iter().map(|(id, t)| (id.to_string(), t));
                (block.currency, rows.collect())
            })
            .collect())
    }
}

/// The refusal of a sum past what running totals hold.
pub(super) fn too_large(field: String) -> FieldError {
    FieldError::new(
        field,
        "amount_too_large",
        "the balances are too large to represent",
    )
}
