//! Receipts: files attached to expenses. The type is read from the bytes, never taken from
//! the client; the bytes go to the [`BlobStore`](crate::storage::BlobStore) before the row
//! that names them commits, and leave it after the row is gone.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::expenses::may_change_expense;
use super::{Error, Ledger, Result, record};
use crate::domain::{Attachment, AttachmentId, ExpenseId, GroupId, UserId, blob_prefix};
use crate::error::Cause;
use crate::storage::{Storage, StorageError};

/// The longest file name kept, in characters.
const MAX_FILENAME: usize = 255;

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// The name the client gave it (any path is dropped; a missing name becomes
    /// `receipt.EXT`).
    pub filename: Option<String>,
    /// The whole file.
    pub bytes: Vec<u8>,
}

/// A file to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// Its metadata (the type to answer with, the name).
    pub attachment: Attachment,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What a sweep of orphan files did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Files no row names, removed.
    pub removed: usize,
    /// Files no row names yet, younger than the grace period, kept.
    pub young: usize,
}

/// The accepted types, read from the first bytes: (media type, extension).
fn detect(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    use infer::{archive, image};
    if image::is_jpeg(bytes) {
        Some(("image/jpeg", "jpg"))
    } else if image::is_png(bytes) {
        Some(("image/png", "png"))
    } else if image::is_webp(bytes) {
        Some(("image/webp", "webp"))
    } else if image::is_heif(bytes) {
        // infer's HEIF matcher accepts only the HEIC brands (heic, heix, mif1+heic).
        Some(("image/heic", "heic"))
    } else if archive::is_pdf(bytes) {
        Some(("application/pdf", "pdf"))
    } else {
        None
    }
}

/// The last component of the client's path, without control characters or quotes, trimmed
/// and at most [`MAX_FILENAME`] characters; `receipt.EXT` when nothing is left.
fn clean_filename(given: Option<&str>, extension: &str) -> String {
    let base = given
        .and_then(|name| name.rsplit(['/', '\\']).next())
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(MAX_FILENAME)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        format!("receipt.{extension}")
    } else {
        cleaned.to_string()
    }
}

fn hex(digest: &[u8]) -> String {
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// `GROUP/EXPENSE/ID` back into ids; `None` for a key this ledger did not write.
fn parse_key(key: &str) -> Option<(GroupId, AttachmentId)> {
    let mut parts = key.split('/');
    let group = parts.next()?.parse().ok()?;
    let _expense: ExpenseId = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((group, id))
}

impl<S: Storage> Ledger<S> {
    /// Attaches a file to an expense (whoever may edit the expense). The type is read from
    /// the bytes: JPEG, PNG, WebP, HEIC or PDF, else `UnsupportedMediaType`; an empty file
    /// is invalid and one over [`LedgerConfig::max_upload`](super::LedgerConfig) is
    /// `PayloadTooLarge`. Nothing is stored when it is refused.
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn add_attachment(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
        file: NewAttachment,
    ) -> Result<Attachment> {
        let (_, role) = self.access(actor, group).await?;
        let target = self
            .storage
            .expense(group, expense)
            .await?
            .ok_or(Error::NotFound("expense"))?;
        may_change_expense(role, actor, &target)?;
        let size = u64::try_from(file.bytes.len()).unwrap_or(u64::MAX);
        if size == 0 {
            return Err(Error::invalid("file", "empty_file", "the file is empty"));
        }
        if size > self.config.max_upload {
            return Err(Error::PayloadTooLarge {
                limit: self.config.max_upload,
            });
        }
        let (content_type, extension) = detect(&file.bytes).ok_or(Error::UnsupportedMediaType)?;
        let now = self.now();
        let attachment = Attachment {
            id: AttachmentId::random(),
            group_id: group,
            expense_id: expense,
            filename: clean_filename(file.filename.as_deref(), extension),
            content_type: content_type.to_string(),
            size,
            sha256: hex(&Sha256::digest(&file.bytes)),
            uploaded_by: actor,
            created_at: now,
        };
        let activity = record(
            group,
            actor,
            "attachment.created",
            attachment.id.0,
            now,
            Value::Null,
            attachment.snapshot(),
        );
        let key = attachment.blob_key();
        self.blobs.put(&key, file.bytes).await?;
        if let Err(error) = self.storage.insert_attachment(&attachment, &activity).await {
            // The row never committed: its file goes too (or the sweep takes it later).
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(error = %e, key, "an unused upload stays until the sweep");
            }
            return Err(match error {
                StorageError::NotFound => Error::NotFound("expense"),
                other => other.into(),
            });
        }
        Ok(attachment)
    }

    /// An expense's attachments, oldest first (any member).
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn attachments(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
    ) -> Result<Vec<Attachment>> {
        self.access(actor, group).await?;
        self.storage
            .expense(group, expense)
            .await?
            .ok_or(Error::NotFound("expense"))?;
        Ok(self.storage.list_attachments(group, expense).await?)
    }

    /// An attachment with its bytes (any member; to everyone else it does not exist, even
    /// to someone who knows its ids).
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn download_attachment(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
    ) -> Result<Download> {
        self.access(actor, group).await?;
        let attachment = self
            .storage
            .attachment(group, expense, id)
            .await?
            .ok_or(Error::NotFound("attachment"))?;
        match self.blobs.get(&attachment.blob_key()).await? {
            Some(bytes) => Ok(Download { attachment, bytes }),
            // Deleted between the two reads, or lost by the object store.
            None => match self.storage.attachment(group, expense, id).await? {
                None => Err(Error::NotFound("attachment")),
                Some(_) => Err(Error::Internal(Cause::msg(format!(
                    "the file of attachment {id} is missing from the object store"
                )))),
            },
        }
    }

    /// Removes an attachment (whoever may edit the expense): the row first, then its file.
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn delete_attachment(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
    ) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        let target = self
            .storage
            .expense(group, expense)
            .await?
            .ok_or(Error::NotFound("expense"))?;
        may_change_expense(role, actor, &target)?;
        let attachment = self
            .storage
            .attachment(group, expense, id)
            .await?
            .ok_or(Error::NotFound("attachment"))?;
        let activity = record(
            group,
            actor,
            "attachment.deleted",
            id.0,
            self.now(),
            attachment.snapshot(),
            Value::Null,
        );
        match self
            .storage
            .delete_attachment(group, expense, id, &activity)
            .await
        {
            Ok(()) => {}
            Err(StorageError::NotFound) => return Err(Error::NotFound("attachment")),
            Err(e) => return Err(e.into()),
        }
        self.forget_blobs(&attachment.blob_key(), false).await;
        Ok(())
    }

    /// Deletes the files under a key or prefix after the rows naming them are gone; a
    /// failure only delays them until the next sweep.
    pub(super) async fn forget_blobs(&self, key: &str, prefix: bool) {
        let done = if prefix {
            self.blobs.delete_prefix(key).await
        } else {
            self.blobs.delete(key).await
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, key, "files stay until the next sweep");
        }
    }

    /// The files of a deleted expense (or, with `None`, of a deleted group).
    pub(super) async fn forget_files_of(&self, group: GroupId, expense: Option<ExpenseId>) {
        self.forget_blobs(&blob_prefix(group, expense), true).await;
    }

    /// Removes every file no attachment row names and that is older than `grace`, so an
    /// upload between writing its file and committing its row survives. Files this ledger
    /// did not name (`GROUP/EXPENSE/ID`) are left alone. Servers run it at start and on a
    /// timer; it is safe to run from several at once.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_files(&self, grace: Duration) -> Result<Sweep> {
        let cutoff = self.now() - grace;
        let mut candidates: BTreeMap<GroupId, Vec<(AttachmentId, String, bool)>> = BTreeMap::new();
        for blob in self.blobs.list().await? {
            if let Some((group, id)) = parse_key(&blob.key) {
                let old = blob.modified < cutoff;
                candidates
                    .entry(group)
                    .or_default()
                    .push((id, blob.key, old));
            }
        }
        let mut sweep = Sweep::default();
        for (group, blobs) in candidates {
            let ids: Vec<AttachmentId> = blobs.iter().map(|(id, _, _)| *id).collect();
            let known = self.storage.known_attachments(group, &ids).await?;
            for (id, key, old) in blobs {
                if known.contains(&id) {
                    continue;
                }
                if old {
                    self.blobs.delete(&key).await?;
                    sweep.removed += 1;
                } else {
                    sweep.young += 1;
                }
            }
        }
        if sweep.removed > 0 {
            tracing::info!(removed = sweep.removed, "removed files no attachment names");
        }
        Ok(sweep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::blob_key;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(
            detect(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(("image/jpeg", "jpg"))
        );
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(("image/png", "png"))
        );
        assert_eq!(
            detect(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(("image/webp", "webp"))
        );
        assert_eq!(
            detect(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(("image/heic", "heic"))
        );
        assert_eq!(detect(b"%PDF-1.7\n"), Some(("application/pdf", "pdf")));
        assert_eq!(detect(b"hello, I am text pretending to be a PNG"), None);
        assert_eq!(detect(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(detect(b"GIF89a"), None);
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_filename(Some("../../etc/passwd"), "pdf"), "passwd");
        assert_eq!(
            clean_filename(Some("C:\\Users\\ann\\r.pdf"), "pdf"),
            "r.pdf"
        );
        assert_eq!(clean_filename(Some("a\"b\r\n.png"), "png"), "ab.png");
        assert_eq!(clean_filename(Some("  "), "png"), "receipt.png");
        assert_eq!(clean_filename(Some(".."), "png"), "receipt.png");
        assert_eq!(clean_filename(None, "jpg"), "receipt.jpg");
        assert_eq!(clean_filename(Some("reçu été.pdf"), "pdf"), "reçu été.pdf");
        let long = "x".repeat(400);
        assert_eq!(clean_filename(Some(&long), "pdf").chars().count(), 255);
    }

    #[test]
    fn keys_round_trip() {
        let (g, e, a) = (
            GroupId::random(),
            ExpenseId::random(),
            AttachmentId::random(),
        );
        assert_eq!(parse_key(&blob_key(g, e, a)), Some((g, a)));
        assert_eq!(parse_key("notes.txt"), None);
        assert_eq!(parse_key(&format!("{g}/{e}/{a}/x")), None);
    }
}
