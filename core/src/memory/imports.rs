use async_trait::async_trait;

use super::MemoryStorage;
use crate::entry::Effect;
use crate::storage::{ImportStore, ImportWrite, StorageError, StorageResult};

#[async_trait]
impl ImportStore for MemoryStorage {
    #[tracing::instrument(skip_all, fields(group = %write.group_id, entries = write.entries.len()))]
    async fn import(&self, write: &ImportWrite) -> StorageResult<()> {
        let mut s = self.lock();
        let group = write.group_id;
        // Everything is checked before anything changes, so a refusal leaves no trace.
        let g = s.group(group)?;
        if g.imports.contains(&write.sha256) {
            return Err(StorageError::Conflict("already_imported"));
        }
        for p in &write.placeholders {
            if s.emails.contains_key(&p.user.user.email) {
                return Err(StorageError::Conflict("email_taken"));
            }
        }
        let g = s.group(group)?;
        let new_members: Vec<_> = write.placeholders.iter().map(|p| p.user.user.id).collect();
        for w in &write.entries {
            let key = w.entry.key();
            if key.group_id != group || s.entry_ids.contains_key(&key.id) {
                return Err(StorageError::Conflict("id_taken"));
            }
            for u in w.entry.participants() {
                if !g.members.contains_key(&u) && !new_members.contains(&u) {
                    return Err(StorageError::NotMember(u));
                }
            }
        }
        for (series, _) in &write.series {
            if series.group_id != group || g.series.contains_key(&series.id) {
                return Err(StorageError::Conflict("id_taken"));
            }
        }
        let written: std::collections::HashSet<_> =
            write.entries.iter().map(|w| w.entry.key().id).collect();
        for (comment, _) in &write.comments {
            if comment.group_id != group || !written.contains(&comment.expense_id.0) {
                return Err(StorageError::NotFound);
            }
        }
        let effect = Effect::sum(
            write
                .entries
                .iter()
                .map(|w| Effect::change(None, Some(&w.entry)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| StorageError::Overflow)?,
        )
        .map_err(|_| StorageError::Overflow)?;
        let g = s.group_mut(group)?;
        let (totals, pairs) = (g.totals.clone(), g.pairs.clone());
        if let Err(e) = g.apply(&effect) {
            g.totals = totals;
            g.pairs = pairs;
            return Err(e);
        }
        for p in &write.placeholders {
            s.emails.insert(p.user.user.email.clone(), p.user.user.id);
            s.users.insert(p.user.user.id, p.user.clone());
            s.placeholders.insert(p.user.user.id);
        }
        for w in &write.entries {
            let key = w.entry.key();
            s.entry_ids
                .insert(key.id, (group, key.kind, w.fingerprint.clone()));
        }
        let g = s.group_mut(group)?;
        for p in &write.placeholders {
            g.members.insert(p.membership.user_id, p.membership);
            g.activity.push(p.activity.clone());
        }
        for (series, activity) in &write.series {
            g.series.insert(series.id, series.clone());
            g.activity.push(activity.clone());
        }
        for w in &write.entries {
            g.put(&w.entry);
            g.activity.push(w.activity.clone());
        }
        for (comment, activity) in &write.comments {
            g.comments
                .entry(comment.expense_id)
                .or_default()
                .push(comment.clone());
            g.activity.push(activity.clone());
        }
        g.activity.push(write.activity.clone());
        g.imports.insert(write.sha256.clone());
        Ok(())
    }
}
