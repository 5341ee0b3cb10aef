//! Receipts and comments over HTTP: real files on disk under both databases, types read
//! from the bytes, the upload limit counted on the file while it streams, files following
//! their expense, and the sweep of orphan files at start.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::json;
use splitledger_core::Storage;
use splitledger_storage_sqlx::PgStorage;
use uuid::Uuid;

use crate::helpers::{TestApp, User, s, test_settings};

/// A one-pixel PNG's first bytes (what `infer` reads).
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
/// A PDF in printable ASCII, so it survives the test client's text body.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n";

/// A `multipart/form-data` body with one part named `file`: its content type and bytes.
pub fn form(filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "splitledger-test-7d3f9a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads a file to an expense; the reply.
pub async fn upload(
    app: &TestApp,
    who: &User,
    group: &str,
    expense: &str,
    filename: &str,
    bytes: &[u8],
) -> crate::helpers::Reply {
    let (ct, body) = form(filename, "image/png", bytes);
    app.post(&format!(
        "/api/v1/groups/{group}/expenses/{expense}/attachments"
    ))
    .token(&who.token)
    .raw(&ct, body)
    .send()
    .await
}

fn temp_folder() -> PathBuf {
    std::env::temp_dir().join(format!("splitledger-files-test-{}", Uuid::new_v4()))
}

/// Every file under a folder, as paths relative to it.
fn files_under(folder: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![folder.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(rel) = path.strip_prefix(folder) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

async fn app_on_folder<S: Storage>(storage: S, folder: &Path, max_upload: usize) -> TestApp {
    let mut settings = test_settings();
    settings.files_url = Some(format!("file://{}", folder.display()));
    settings.max_upload = max_upload;
    TestApp::spawn_with(storage, &settings).await.0
}

/// The whole life of receipts on one store, with the files in `folder`.
async fn receipts_on_disk<S: Storage>(storage: S, folder: &Path) {
    // A limit above the ordinary body limit (1 MiB): uploads stream past it.
    let limit = 2 * 1024 * 1024;
    let app = app_on_folder(storage, folder, limit).await;
    assert!(folder.is_dir(), "the folder is created at start");
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let eve = app.user("eve@example.com", "Eve").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let theirs = app.group(&eve, "Elsewhere").await;
    let e = s(&app.expense(&ann, &g, &ann, "42.00").await["id"]);

    // Upload: metadata back, the bytes on disk under GROUP/EXPENSE/ID.
    let png = upload(&app, &ann, &g, &e, "../Kassenbon März.png", PNG)
        .await
        .expect(201);
    let png_id = s(&png["id"]);
    assert_eq!(png["filename"], "Kassenbon März.png");
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["size"], PNG.len());
    assert_eq!(png["uploaded_by"], json!(ann.id));
    assert_eq!(s(&png["sha256"]).len(), 64);
    let key = format!("{g}/{e}/{png_id}");
    assert_eq!(files_under(folder), vec![key.clone()]);
    assert_eq!(std::fs::read(folder.join(&key)).ok().as_deref(), Some(PNG));

    // A PDF that is larger than the ordinary body limit, and named like an image.
    let mut big = PDF.to_vec();
    big.resize(1536 * 1024, b' ');
    let pdf = upload(&app, &bob, &g, &e, "scan.jpg", &big).await;
    // Bob is neither its creator nor its payer.
    pdf.problem(403, "forbidden");
    let pdf = upload(&app, &ann, &g, &e, "scan.jpg", &big)
        .await
        .expect(201);
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["size"], big.len());
    let pdf_id = s(&pdf["id"]);

    // Listed by the expense and by the list route (a bare array, oldest first).
    let expense = app
        .get(&format!("/api/v1/groups/{g}/expenses/{e}"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        expense["attachments"],
        json!([
            {"id": png_id, "filename": "Kassenbon März.png", "content_type": "image/png", "size": PNG.len()},
            {"id": pdf_id, "filename": "scan.jpg", "content_type": "application/pdf", "size": big.len()},
        ])
    );
    let list = app
        .get(&format!("/api/v1/groups/{g}/expenses/{e}/attachments"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["sha256"], png["sha256"]);

    // Download: the detected type, a safe name, nosniff, the very bytes.
    let small = upload(&app, &ann, &g, &e, "note.pdf", PDF)
        .await
        .expect(201);
    let got = app
        .get(&format!(
            "/api/v1/groups/{g}/expenses/{e}/attachments/{}",
            s(&small["id"])
        ))
        .token(&bob.token)
        .send()
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/pdf"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        got.header("content-disposition"),
        Some("attachment; filename=\"note.pdf\"; filename*=UTF-8''note.pdf")
    );
    assert_eq!(got.text.as_bytes(), PDF);
    let named = app
        .get(&format!(
            "/api/v1/groups/{g}/expenses/{e}/attachments/{png_id}"
        ))
        .token(&ann.token)
        .send()
        .await;
    assert_eq!(named.status, 200);
    assert_eq!(
        named.header("content-disposition"),
        Some(
            "attachment; filename=\"Kassenbon M_rz.png\"; filename*=UTF-8''Kassenbon%20M%C3%A4rz.png"
        )
    );

    // Someone outside the group cannot fetch it, even knowing every id.
    for path in [
        format!("/api/v1/groups/{g}/expenses/{e}/attachments/{png_id}"),
        format!("/api/v1/groups/{theirs}/expenses/{e}/attachments/{png_id}"),
        format!("/api/v1/groups/{g}/expenses/{e}/attachments"),
    ] {
        app.get(&path)
            .token(&eve.token)
            .send()
            .await
            .problem(404, "not_found");
    }

    // Refused without storing anything: a text file calling itself a PNG, an empty file,
    // a file one byte over the limit.
    let before = files_under(folder);
    let (ct, body) = form(
        "evil.png",
        "image/png",
        b"<html><script>alert(1)</script></html>",
    );
    app.post(&format!("/api/v1/groups/{g}/expenses/{e}/attachments"))
        .token(&ann.token)
        .raw(&ct, body)
        .send()
        .await
        .problem(415, "unsupported_media_type");
    upload(&app, &ann, &g, &e, "empty.png", b"")
        .await
        .problem(422, "validation_failed");
    let mut over = PNG.to_vec();
    over.resize(limit + 1, 0);
    upload(&app, &ann, &g, &e, "huge.png", &over)
        .await
        .problem(413, "payload_too_large");
    // No part named `file`.
    let (ct, body) = form("x.png", "image/png", PNG);
    let body = String::from_utf8_lossy(&body).replace("name=\"file\"", "name=\"other\"");
    app.post(&format!("/api/v1/groups/{g}/expenses/{e}/attachments"))
        .token(&ann.token)
        .raw(&ct, body)
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(files_under(folder), before, "no file written");
    let list = app
        .get(&format!("/api/v1/groups/{g}/expenses/{e}/attachments"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(3), "no row written");

    // Deleting one removes its file; deleting the expense removes the rest.
    app.delete(&format!(
        "/api/v1/groups/{g}/expenses/{e}/attachments/{png_id}"
    ))
    .token(&ann.token)
    .send()
    .await
    .expect(204);
    assert!(!folder.join(&key).exists());
    assert_eq!(files_under(folder).len(), 2);
    app.delete(&format!("/api/v1/groups/{g}/expenses/{e}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    assert_eq!(files_under(folder), Vec::<String>::new());

    // Deleting the group removes its files.
    let e2 = s(&app.expense(&ann, &g, &ann, "5.00").await["id"]);
    upload(&app, &ann, &g, &e2, "r.png", PNG).await.expect(201);
    assert_eq!(files_under(folder).len(), 1);
    app.delete(&format!("/api/v1/groups/{g}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    assert_eq!(files_under(folder), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(folder);
}

#[tokio::test]
async fn receipts_on_disk_with_sqlite() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    receipts_on_disk(store, &dir.join("files")).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn receipts_on_disk_with_postgres(pool: sqlx::PgPool) {
    receipts_on_disk(PgStorage::from_pool(pool), &temp_folder()).await;
}

#[tokio::test]
async fn the_sweep_at_start_removes_old_orphans_only() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    let folder = dir.join("files");
    // What a crash between writing a file and committing its row leaves: one from hours
    // ago, one from a moment ago (an upload that may still commit), and a file that is not
    // ours at all.
    let stale = format!("{}/{}/{}", Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let fresh = format!("{}/{}/{}", Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for key in [&stale, &fresh] {
        let path = folder.join(key);
        std::fs::create_dir_all(path.parent().unwrap_or(&folder)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, PNG).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(folder.join("README.txt"), "kept").unwrap_or_else(|e| panic!("{e}"));
    let old = SystemTime::now() - Duration::from_secs(3 * 3600);
    std::fs::File::options()
        .write(true)
        .open(folder.join(&stale))
        .and_then(|f| f.set_modified(old))
        .unwrap_or_else(|e| panic!("{e}"));

    let app = app_on_folder(store, &folder, 1024 * 1024).await;
    let mut left = files_under(&folder);
    for _ in 0..50 {
        if !left.contains(&stale) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = files_under(&folder);
    }
    let mut expected = vec![fresh.clone(), "README.txt".to_string()];
    expected.sort();
    assert_eq!(left, expected);
    // The server serves on: a new receipt is kept by the same sweep rules.
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Flat").await;
    let e = s(&app.expense(&ann, &g, &ann, "3.00").await["id"]);
    upload(&app, &ann, &g, &e, "r.png", PNG).await.expect(201);
    assert_eq!(files_under(&folder).len(), 3);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn comments_over_http() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Flat").await;
    app.add(&ann, &g, &bob, "member").await;
    let e = s(&app.expense(&ann, &g, &ann, "42.00").await["id"]);
    let path = format!("/api/v1/groups/{g}/expenses/{e}/comments");
    let first = app
        .post(&path)
        .token(&bob.token)
        .json(json!({"text": "  Tip included?\n"}))
        .send()
        .await
        .expect(201);
    assert_eq!(first["text"], "Tip included?");
    assert_eq!(first["author"], json!(bob.id));
    let second = app
        .post(&path)
        .token(&ann.token)
        .json(json!({"text": "Yes"}))
        .send()
        .await
        .expect(201);
    let list = app.get(&path).token(&bob.token).send().await.expect(200);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["id"], first["id"]);
    assert_eq!(list[1]["id"], second["id"]);
    for text in [json!("   "), json!("x".repeat(2001))] {
        let r = app
            .post(&path)
            .token(&bob.token)
            .json(json!({ "text": text }))
            .send()
            .await;
        let body = r.problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "text");
    }
    app.delete(&format!("{path}/{}", s(&second["id"])))
        .token(&bob.token)
        .send()
        .await
        .problem(403, "forbidden");
    app.delete(&format!("{path}/{}", s(&first["id"])))
        .token(&bob.token)
        .send()
        .await
        .expect(204);
    let activity = app
        .get(&format!("/api/v1/groups/{g}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(activity["items"][0]["entity"], "comment");
    assert_eq!(activity["items"][0]["action"], "comment.deleted");
}
