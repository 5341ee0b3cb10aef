//! An import: the file's digest, its placeholders and every entry with its activity, one
//! transaction; the running totals change once, by the sum of the entries' effects.

use async_trait::async_trait;

use splitledger_core::domain::UserId;
use splitledger_core::entry::Effect;
use splitledger_core::storage::{ImportStore, ImportWrite, StorageError, StorageResult};

use super::entries::{insert_rows, register};
use super::{SqlStore, apply, lock_members};
use crate::dialect::{Dialect, exec};
use crate::sql;

#[async_trait]
impl<D: Dialect> ImportStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %write.group_id, entries = write.entries.len()))]
    async fn import(&self, write: &ImportWrite) -> StorageResult<()> {
        let group = write.group_id;
        let effects = (write.entries.iter())
            .map(|w| Effect::change(None, Some(&w.entry)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| StorageError::Overflow)?;
        let effect = Effect::sum(effects).map_err(|_| StorageError::Overflow)?;
        let mut tx = self.write().await?;
        // The digest first: a second import of the file stops here (`already_imported`),
        // and a racing twin waits on the key until this one commits or rolls back.
        let record = (
            group,
            &write.sha256,
            &write.format,
            write.imported_by,
            write.imported_at,
        );
        exec::<D>(&mut tx, sql::INSERT_IMPORT, record).await?;
        for p in &write.placeholders {
            exec::<D>(&mut tx, sql::INSERT_PLACEHOLDER, &p.user).await?;
            exec::<D>(&mut tx, sql::INSERT_MEMBER, (group, &p.membership)).await?;
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, &p.activity).await?;
        }
        // Series before the entries: an occurrence among them names its series.
        for (series, activity) in &write.series {
            exec::<D>(&mut tx, sql::INSERT_SERIES, (series, series.due_on())).await?;
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
        }
        // Every participant, locked once in id order (the placeholders are rows of this
        // transaction already), so a removal cannot slip in before commit.
        let mut participants: Vec<UserId> = (write.entries.iter())
            .flat_map(|w| w.entry.participants())
            .collect();
        participants.sort();
        participants.dedup();
        lock_members::<D>(&mut tx, group, &participants).await?;
        for w in &write.entries {
            if w.entry.key().group_id != group || register::<D>(&mut tx, w).await?.is_some() {
                return Err(StorageError::Conflict("id_taken"));
            }
            insert_rows::<D>(&mut tx, &w.entry).await?;
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, &w.activity).await?;
        }
        // Comments after the expenses they are about (the foreign key needs them).
        for (comment, activity) in &write.comments {
            exec::<D>(&mut tx, sql::INSERT_COMMENT, comment).await?;
            exec::<D>(&mut tx, sql::INSERT_ACTIVITY, activity).await?;
        }
        exec::<D>(&mut tx, sql::INSERT_ACTIVITY, &write.activity).await?;
        apply::<D>(&mut tx, group, &effect).await?;
        tx.commit().await
    }
}
