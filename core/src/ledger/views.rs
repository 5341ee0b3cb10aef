//! Read views: balances, debts, the settlement plan, the caller's balances, activity and
//! spending summaries (exports are in `export.rs`). Balances, debts and the plan read running
//! totals only, so their cost does not grow with the group's history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::Date;

use super::expenses::{Page, PageRequest};
use super::{Error, Ledger, Result, cursor};
use crate::balance::{Totals, debts_from_pairs};
use crate::domain::{Activity, ActivityCursor, ExpenseKind, GroupId, SummaryBy, UserId};
use crate::error::Cause;
use crate::money::{Currency, Money, Sum};
use crate::preview::{BalancesView, PlanView, TransferView};
use crate::storage::Storage;

/// One debt between two members, netted per pair (same shape as a plan's transfer).
pub type DebtView = TransferView<UserId>;

/// The caller's net in one group and currency (positive: the group owes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyGroupBalance {
    /// The group.
    pub group_id: GroupId,
    /// Its name.
    pub group_name: String,
    /// The currency.
    pub currency: Currency,
    /// The net.
    pub net: Money,
}

/// The caller's totals in one currency over every group (sums over any number of groups,
/// so wider than one amount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyCurrencyTotal {
    /// The currency.
    pub currency: Currency,
    /// What others owe the caller (sum of positive nets).
    pub owed_to_me: Sum,
    /// What the caller owes (sum of negative nets, as a positive amount).
    pub i_owe: Sum,
    /// The difference.
    pub net: Sum,
}

/// What the caller owes and is owed, per group and per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyBalances {
    /// Non-zero nets per group and currency.
    pub groups: Vec<MyGroupBalance>,
    /// Totals per currency.
    pub totals: Vec<MyCurrencyTotal>,
}

/// A summary request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRequest {
    /// The key to group by.
    pub by: SummaryBy,
    /// First date included.
    pub from: Option<Date>,
    /// Last date included.
    pub to: Option<Date>,
}

/// One line of a summary: spending or income, never netted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    /// The category (`None`: uncategorised), the month `YYYY-MM`, or the member id.
    pub key: Option<String>,
    /// Spending (`expense`) or income.
    pub kind: ExpenseKind,
    /// The currency.
    pub currency: Currency,
    /// The total (for members: their shares): a sum of many amounts, so 128 bits.
    pub amount: Sum,
    /// Number of expenses (or incomes).
    pub count: i64,
}

/// Spending and income totals, apart (repayments are neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The key.
    pub by: SummaryBy,
    /// One line per key, kind and currency, ordered by key, kind (expense first), currency.
    pub items: Vec<SummaryLine>,
}

impl<S: Storage> Ledger<S> {
    /// Every member's paid, owed, sent, received and net per currency (the group's currency
    /// always, plus every currency in use). Former members appear while they have history.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn balances(&self, actor: UserId, group: GroupId) -> Result<BalancesView<UserId>> {
        let (g, _) = self.access(actor, group).await?;
        let members = self.storage.members(group).await?;
        let totals = self.storage.member_totals(group).await?;

        let mut blocks: BTreeMap<Currency, BTreeMap<UserId, Totals>> = BTreeMap::new();
        blocks.entry(g.currency).or_default();
        for t in &totals {
            blocks
                .entry(t.currency)
                .or_default()
                .insert(t.user_id, t.totals);
        }
        for block in blocks.values_mut() {
            for m in &members {
                block.entry(m.user_id).or_default();
            }
        }
        let mut names: HashMap<UserId, String> = members
            .iter()
            .map(|m| (m.user_id, m.display_name.clone()))
            .collect();
        let former: Vec<UserId> = totals
            .iter()
            .map(|t| t.user_id)
            .filter(|u| !names.contains_key(u))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !former.is_empty() {
            for u in self.storage.users_by_id(&former).await? {
                names.insert(u.id, u.display_name);
            }
        }
        let mut view = BalancesView::from_totals(
            blocks
                .into_iter()
                .map(|(c, m)| (c, m.into_iter().collect())),
        )
        .map_err(|_| Error::Internal(Cause::msg("balance overflow")))?;
        for block in &mut view.balances {
            for m in &mut block.members {
                m.display_name = names.get(&m.user_id).cloned();
            }
        }
        Ok(view)
    }

    /// Who owes whom, netted per pair (not simplified).
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn debts(&self, actor: UserId, group: GroupId) -> Result<Vec<DebtView>> {
        self.access(actor, group).await?;
        let pairs = self.storage.pair_totals(group).await?;
        Ok(
            debts_from_pairs(pairs.into_iter().map(|p| (p.currency, p.a, p.b, p.amount)))
                .into_iter()
                .map(|d| TransferView {
                    from: d.from,
                    to: d.to,
                    amount: Money::new(d.amount, d.currency),
                    currency: d.currency,
                })
                .collect(),
        )
    }

    /// The fewest transfers that settle every balance.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn settlement_plan(&self, actor: UserId, group: GroupId) -> Result<PlanView<UserId>> {
        self.balances(actor, group)
            .await?
            .plan()
            .map_err(|e| Error::Internal(Cause::new(e)))
    }

    /// What the caller owes and is owed, per group and currency, and in total per currency.
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn my_balances(&self, actor: UserId) -> Result<MyBalances> {
        let rows = self.storage.user_totals(actor).await?;
        let mut groups = Vec::new();
        // Summed in 128 bits: one net fits 64, a sum over many groups may not.
        let mut totals: BTreeMap<Currency, (i128, i128)> = BTreeMap::new();
        for r in rows {
            let net = r
                .totals
                .net()
                .map_err(|_| Error::Internal(Cause::msg("balance overflow")))?;
            if net == 0 {
                continue;
            }
            let slot = totals.entry(r.currency).or_default();
            if net > 0 {
                slot.0 += i128::from(net);
            } else {
                slot.1 -= i128::from(net);
            }
            groups.push(MyGroupBalance {
                group_id: r.group_id,
                group_name: r.group_name,
                currency: r.currency,
                net: Money::from_minor(net, r.currency),
            });
        }
        groups.sort_by(|a, b| {
            (&a.group_name, a.group_id, a.currency).cmp(&(&b.group_name, b.group_id, b.currency))
        });
        let totals = totals
            .into_iter()
            .map(|(currency, (owed, owe))| MyCurrencyTotal {
                currency,
                owed_to_me: Sum::new(owed, currency),
                i_owe: Sum::new(owe, currency),
                net: Sum::new(owed - owe, currency),
            })
            .collect();
        Ok(MyBalances { groups, totals })
    }

    /// A page of the activity log, newest first.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn activity(
        &self,
        actor: UserId,
        group: GroupId,
        page: PageRequest,
    ) -> Result<Page<Activity>> {
        self.access(actor, group).await?;
        let limit = page.limit()?;
        let after = page
            .cursor
            .as_deref()
            .map(cursor::parse_activity)
            .transpose()?;
        let rows = self
            .storage
            .list_activity(group, after.as_ref(), limit + 1)
            .await?;
        Ok(Page::from_rows(rows, limit, |a| {
            cursor::activity(&ActivityCursor { at: a.at, id: a.id })
        }))
    }

    /// Spending totals by category, month or member.
    #[tracing::instrument(skip_all, fields(%actor, %group))]
    pub async fn summary(
        &self,
        actor: UserId,
        group: GroupId,
        request: SummaryRequest,
    ) -> Result<GroupSummary> {
        self.access(actor, group).await?;
        if let (Some(from), Some(to)) = (request.from, request.to)
            && from > to
        {
            return Err(Error::invalid(
                "from",
                "invalid_range",
                "from must not be after to",
            ));
        }
        let mut rows = self
            .storage
            .summary(group, request.by, request.from, request.to)
            .await?;
        rows.sort_by(|a, b| (&a.key, a.currency).cmp(&(&b.key, b.currency)));
        Ok(GroupSummary {
            by: request.by,
            items: rows
                .into_iter()
                .map(|r| SummaryLine {
                    key: r.key,
                    kind: r.kind,
                    currency: r.currency,
                    amount: Sum::new(r.amount, r.currency),
                    count: r.count,
                })
                .collect(),
        })
    }
}
