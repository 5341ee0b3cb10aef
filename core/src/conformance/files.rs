//! Receipts and comments: who may add, read and delete them, what is refused without
//! storing anything, and that their files follow their rows (expense and group deletion,
//! the orphan sweep).

use std::sync::Arc;
use std::time::Duration;

use super::{Fixture, assert_code, assert_field, assert_status};
use crate::domain::{AttachmentId, ExpenseId, GroupId, blob_key};
use crate::ledger::{ListExpenses, NewAttachment, PageRequest};
use crate::memory::MemoryBlobs;
use crate::storage::BlobStore;
use crate::{Ledger, Storage};

/// The smallest bytes `infer` reads as a PNG.
pub(super) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
/// A PDF's first line.
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";

fn file(name: &str, bytes: &[u8]) -> NewAttachment {
    NewAttachment {
        filename: Some(name.to_string()),
        bytes: bytes.to_vec(),
    }
}

async fn blob_keys(blobs: &MemoryBlobs) -> Vec<String> {
    blobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect()
}

async fn entities<S: Storage>(
    l: &Ledger<S>,
    actor: crate::domain::UserId,
    g: GroupId,
) -> Vec<String> {
    let page = PageRequest {
        limit: Some(200),
        cursor: None,
    };
    (l.activity(actor, g, page).await.unwrap().items.into_iter())
        .map(|a| a.action)
        .collect()
}

/// Upload, list, download and delete; the type from the bytes; refusals store nothing; only
/// members reach a file, even knowing its ids; files follow their expense and group.
pub async fn attachments<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let blobs = Arc::new(MemoryBlobs::new());
    let l = f.ledger.clone().with_blobs(blobs.clone());
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let dan = f.user("dan").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let other = f.group(&dan, &[]).await;
    // Bob recorded it, Ann paid it: Cid may read it but not change it.
    let e = f.expense(&bob, g, "30.00", &ann, &[]).await;

    let refused = l.add_attachment(cid.id, g, e.id, file("r.png", PNG)).await;
    assert_status(&refused, 403);
    assert_code(
        l.add_attachment(dan.id, g, e.id, file("r.png", PNG)).await,
        "not_found",
    );
    assert_code(
        l.add_attachment(bob.id, g, ExpenseId::random(), file("r.png", PNG))
            .await,
        "not_found",
    );
    // The type comes from the bytes: text named .png is refused whatever the client says.
    let spoofed = l
        .add_attachment(
            bob.id,
            g,
            e.id,
            file("evil.png", b"<script>alert(1)</script>"),
        )
        .await;
    assert_status(&spoofed, 415);
    assert_code(spoofed, "unsupported_media_type");
    assert_field(
        l.add_attachment(bob.id, g, e.id, file("empty.pdf", b""))
            .await,
        "file",
        "empty_file",
    );
    let mut huge = PNG.to_vec();
    huge.resize(usize::try_from(l.config().max_upload).unwrap() + 1, 0);
    let too_large = l
        .add_attachment(bob.id, g, e.id, file("big.png", &huge))
        .await;
    assert_status(&too_large, 413);
    assert_code(too_large, "payload_too_large");
    assert!(blob_keys(&blobs).await.is_empty(), "refusals store nothing");
    assert!(l.attachments(ann.id, g, e.id).await.unwrap().is_empty());

    let png = l
        .add_attachment(bob.id, g, e.id, file("../../tmp/Receipt.png", PNG))
        .await
        .unwrap();
    assert_eq!(png.filename, "Receipt.png");
    assert_eq!(png.content_type, "image/png");
    assert_eq!(png.size, PNG.len() as u64);
    assert_eq!(png.sha256.len(), 64);
    assert!(
        png.sha256
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(png.uploaded_by, bob.id);
    f.clock.advance(Duration::from_secs(1));
    // The payer may attach too; a PDF whatever its name says.
    let pdf = l
        .add_attachment(ann.id, g, e.id, file("scan.jpg", PDF))
        .await
        .unwrap();
    assert_eq!(pdf.content_type, "application/pdf");
    assert_ne!(pdf.sha256, png.sha256);

    // Any member reads them, oldest first, and the expense lists them.
    let listed = l.attachments(cid.id, g, e.id).await.unwrap();
    assert_eq!(listed, vec![png.clone(), pdf.clone()]);
    let expense = l.expense(cid.id, g, e.id).await.unwrap();
    assert_eq!(expense.attachments, vec![png.summary(), pdf.summary()]);
    let page = l
        .list_expenses(cid.id, g, ListExpenses::default())
        .await
        .unwrap();
    assert_eq!(page.items[0].attachments, expense.attachments);
    let download = l
        .download_attachment(cid.id, g, e.id, png.id)
        .await
        .unwrap();
    assert_eq!(download.bytes, PNG);
    assert_eq!(download.attachment, png);

    // Nobody outside the group reaches a file, even knowing every id: not through the
    // group, nor through a group of their own, nor under another expense.
    assert_code(
        l.download_attachment(dan.id, g, e.id, png.id).await,
        "not_found",
    );
    assert_code(
        l.download_attachment(dan.id, other, e.id, png.id).await,
        "not_found",
    );
    assert_code(l.attachments(dan.id, g, e.id).await, "not_found");
    assert_code(l.attachments(dan.id, other, e.id).await, "not_found");
    let e2 = f.expense(&ann, g, "10.00", &ann, &[]).await;
    assert_code(
        l.download_attachment(ann.id, g, e2.id, png.id).await,
        "not_found",
    );
    assert_code(
        l.download_attachment(ann.id, g, e.id, AttachmentId::random())
            .await,
        "not_found",
    );

    // Deleting needs the right to edit the expense.
    assert_status(&l.delete_attachment(cid.id, g, e.id, png.id).await, 403);
    assert_code(
        l.delete_attachment(dan.id, g, e.id, png.id).await,
        "not_found",
    );
    l.delete_attachment(bob.id, g, e.id, png.id).await.unwrap();
    assert_code(
        l.delete_attachment(bob.id, g, e.id, png.id).await,
        "not_found",
    );
    assert_code(
        l.download_attachment(ann.id, g, e.id, png.id).await,
        "not_found",
    );
    assert_eq!(blob_keys(&blobs).await, vec![pdf.blob_key()]);
    let actions = entities(&l, ann.id, g).await;
    assert!(
        actions.contains(&"attachment.created".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"attachment.deleted".to_string()),
        "{actions:?}"
    );
    let activity = l.activity(ann.id, g, PageRequest::default()).await.unwrap();
    assert_eq!(activity.items[0].entity, "attachment");
    assert_eq!(activity.items[0].entity_id, png.id.0);

    // Deleting the expense deletes its files; the other expense's stay.
    let kept = l
        .add_attachment(ann.id, g, e2.id, file("kept.png", PNG))
        .await
        .unwrap();
    l.delete_expense(ann.id, g, e.id).await.unwrap();
    assert_eq!(blob_keys(&blobs).await, vec![kept.blob_key()]);
    assert_code(l.attachments(ann.id, g, e.id).await, "not_found");
    assert_code(
        l.download_attachment(ann.id, g, e.id, pdf.id).await,
        "not_found",
    );

    // Deleting the group deletes every file in it, and only those.
    let theirs_e = f.expense(&dan, other, "5.00", &dan, &[]).await;
    let theirs = l
        .add_attachment(dan.id, other, theirs_e.id, file("d.pdf", PDF))
        .await
        .unwrap();
    l.delete_group(ann.id, g).await.unwrap();
    assert_eq!(blob_keys(&blobs).await, vec![theirs.blob_key()]);
}

/// Comments: any member writes one (trimmed, 1 to 2,000 characters), lists are oldest
/// first, its author, an admin or the owner deletes it, outsiders see nothing.
pub async fn comments<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let l = &f.ledger;
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cid = f.user("cid").await;
    let dan = f.user("dan").await;
    let g = f.group(&ann, &[&bob, &cid]).await;
    let e = f.expense(&ann, g, "30.00", &ann, &[]).await;

    let first = l
        .add_comment(cid.id, g, e.id, "  Was the tip included?\n")
        .await
        .unwrap();
    assert_eq!(first.text, "Was the tip included?");
    assert_eq!((first.author, first.expense_id), (cid.id, e.id));
    f.clock.advance(Duration::from_secs(1));
    let second = l
        .add_comment(bob.id, g, e.id, "Yes.\nAnd the wine.")
        .await
        .unwrap();
    assert_eq!(
        l.comments(dan.id, g, e.id)
            .await
            .map(|c| c.len())
            .map_err(|e| e.code()),
        Err("not_found")
    );
    assert_eq!(
        l.comments(ann.id, g, e.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    assert_field(
        l.add_comment(bob.id, g, e.id, " \n ").await,
        "text",
        "required",
    );
    assert_field(
        l.add_comment(bob.id, g, e.id, &"x".repeat(2001)).await,
        "text",
        "too_long",
    );
    assert_field(
        l.add_comment(bob.id, g, e.id, "a\u{0}b").await,
        "text",
        "invalid_text",
    );
    assert!(
        l.add_comment(bob.id, g, e.id, &"é".repeat(2000))
            .await
            .is_ok()
    );
    assert_code(l.add_comment(dan.id, g, e.id, "hi").await, "not_found");
    assert_code(
        l.add_comment(bob.id, g, ExpenseId::random(), "hi").await,
        "not_found",
    );
    assert_eq!(l.comments(ann.id, g, e.id).await.unwrap().len(), 3);

    // Cid wrote the first, Bob the second: Cid cannot delete Bob's, the owner can.
    assert_status(&l.delete_comment(cid.id, g, e.id, second.id).await, 403);
    assert_code(
        l.delete_comment(dan.id, g, e.id, second.id).await,
        "not_found",
    );
    l.delete_comment(cid.id, g, e.id, first.id).await.unwrap();
    l.delete_comment(ann.id, g, e.id, second.id).await.unwrap();
    assert_code(
        l.delete_comment(ann.id, g, e.id, second.id).await,
        "not_found",
    );
    assert_eq!(l.comments(bob.id, g, e.id).await.unwrap().len(), 1);
    let actions = entities(l, ann.id, g).await;
    assert!(
        actions.contains(&"comment.created".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"comment.deleted".to_string()),
        "{actions:?}"
    );

    // Comments go with their expense.
    l.delete_expense(ann.id, g, e.id).await.unwrap();
    assert_code(l.comments(ann.id, g, e.id).await, "not_found");
}

/// The sweep removes files no row names once they are older than the grace period, and
/// never a file a row names or one still young (an upload in flight).
pub async fn orphan_files<S: Storage>(storage: S) {
    let f = Fixture::new(storage);
    let blobs = Arc::new(MemoryBlobs::with_clock(f.clock.clone()));
    let l = f.ledger.clone().with_blobs(blobs.clone());
    let ann = f.user("ann").await;
    let g = f.group(&ann, &[]).await;
    let e = f.expense(&ann, g, "30.00", &ann, &[]).await;
    let named = l
        .add_attachment(ann.id, g, e.id, file("r.png", PNG))
        .await
        .unwrap();
    // What a crash between writing a file and committing its row leaves behind.
    let stray = blob_key(g, e.id, AttachmentId::random());
    blobs.put(&stray, PNG.to_vec()).await.unwrap();
    // Not a key of ours: never touched.
    blobs.put("README.txt", b"hello".to_vec()).await.unwrap();

    let grace = Duration::from_secs(3600);
    let sweep = l.sweep_files(grace).await.unwrap();
    assert_eq!((sweep.removed, sweep.young), (0, 1), "young files survive");
    assert_eq!(blob_keys(&blobs).await.len(), 3);

    f.clock.advance(grace + Duration::from_secs(1));
    let sweep = l.sweep_files(grace).await.unwrap();
    assert_eq!((sweep.removed, sweep.young), (1, 0));
    let mut expected = vec![named.blob_key(), "README.txt".to_string()];
    expected.sort();
    let mut left = blob_keys(&blobs).await;
    left.sort();
    assert_eq!(left, expected);
    assert_eq!(
        l.download_attachment(ann.id, g, e.id, named.id)
            .await
            .unwrap()
            .bytes,
        PNG
    );
}
