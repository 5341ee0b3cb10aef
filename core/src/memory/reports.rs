use std::collections::BTreeMap;

use async_trait::async_trait;
use time::Date;

use super::MemoryStorage;
use crate::balance::PairDelta;
use crate::domain::{
    Activity, ActivityCursor, Expense, ExpenseKind, GroupId, MemberTotals, SummaryBy, SummaryRow,
    UserGroupTotals, UserId,
};
use crate::money::{Currency, Minor};
use crate::storage::{ReportStore, StorageResult};

#[async_trait]
impl ReportStore for MemoryStorage {
    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> StorageResult<()> {
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn member_totals(&self, group: GroupId) -> StorageResult<Vec<MemberTotals>> {
        let s = self.lock();
        Ok(s.group(group)?
            .totals
            .iter()
            .map(|((user_id, currency), totals)| MemberTotals {
                user_id: *user_id,
                currency: *currency,
                totals: *totals,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn pair_totals(&self, group: GroupId) -> StorageResult<Vec<PairDelta<UserId>>> {
        let s = self.lock();
        Ok(s.group(group)?
            .pairs
            .iter()
            .map(|((currency, a, b), amount)| PairDelta {
                currency: *currency,
                a: *a,
                b: *b,
                amount: *amount,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn user_totals(&self, user: UserId) -> StorageResult<Vec<UserGroupTotals>> {
        let s = self.lock();
        let mut out = Vec::new();
        for g in s.groups.values() {
            let Some(group) = &g.group else { continue };
            if !g.members.contains_key(&user) {
                continue;
            }
            for ((u, currency), totals) in &g.totals {
                if *u == user {
                    out.push(UserGroupTotals {
                        group_id: group.id,
                        group_name: group.name.clone(),
                        currency: *currency,
                        totals: *totals,
                    });
                }
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all)]
    async fn summary(
        &self,
        group: GroupId,
        by: SummaryBy,
        from: Option<Date>,
        to: Option<Date>,
    ) -> StorageResult<Vec<SummaryRow>> {
        let s = self.lock();
        let g = s.group(group)?;
        // Keyed (key, kind, currency): spending and income are totalled apart.
        let mut sums: BTreeMap<(Option<String>, ExpenseKind, Currency), (i128, i64)> =
            BTreeMap::new();
        // Amounts are below 10^18, so i128 cannot overflow within any history that fits memory.
        let mut add = |key: Option<String>, kind, currency, amount: Minor| -> StorageResult<()> {
            let slot = sums.entry((key, kind, currency)).or_default();
            slot.0 += i128::from(amount.get());
            slot.1 += 1;
            Ok(())
        };
        let in_range = |e: &&Expense| {
            let on = e.details.occurred_on;
            from.is_none_or(|d| on >= d) && to.is_none_or(|d| on <= d)
        };
        for e in g.expenses.values().filter(in_range) {
            let (kind, currency, amount) = (e.kind, e.currency(), e.amount.units());
            match by {
                SummaryBy::Category => add(e.details.category.clone(), kind, currency, amount)?,
                SummaryBy::Month => {
                    let on = e.details.occurred_on;
                    let month = format!("{:04}-{:02}", on.year(), u8::from(on.month()));
                    add(Some(month), kind, currency, amount)?
                }
                SummaryBy::Member => {
                    for share in &e.shares {
                        add(
                            Some(share.user_id.to_string()),
                            kind,
                            currency,
                            share.amount,
                        )?;
                    }
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|((key, kind, currency), (amount, count))| SummaryRow {
                key,
                kind,
                currency,
                amount,
                count,
            })
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn list_activity(
        &self,
        group: GroupId,
        after: Option<&ActivityCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Activity>> {
        let s = self.lock();
        let g = s.group(group)?;
        let mut items: Vec<Activity> = g
            .activity
            .iter()
            .filter(|a| after.is_none_or(|c| (a.at, a.id) < (c.at, c.id)))
            .cloned()
            .collect();
        items.sort_by_key(|a| std::cmp::Reverse((a.at, a.id)));
        items.truncate(limit as usize);
        Ok(items)
    }
}
