//! `/groups/{group_id}/expenses/{expense_id}/attachments`: receipts. Uploads are streamed
//! (the body limit does not buffer them) and the file is counted against `--max-upload`
//! as it arrives; downloads carry the type read from the bytes, a sanitised file name and
//! `nosniff`.

use std::fmt::Write;

use poem::http::{StatusCode, header};
use poem::web::Multipart;
use poem::{FromRequest, IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef,
    Registry,
};
use poem_openapi::types::Type;
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object, OpenApi, param::Path,
};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use splitledger_core::domain::{Attachment, AttachmentId, AttachmentRef, ExpenseId, GroupId};
use splitledger_core::ledger::{Download, Ledger, NewAttachment};
use splitledger_core::{Error as LedgerError, Storage};

use super::{ApiResult, ApiTags, NoContent};
use crate::problem::ApiError;
use crate::security::Auth;

/// The types a download may have (the accepted uploads).
const FILE_TYPES: [&str; 5] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
];

/// Other parts of an upload form are read and dropped, up to this size each...
const OTHER_PART_LIMIT: u64 = 64 * 1024;
/// ...and up to this many.
const MAX_PARTS: usize = 16;

/// `/groups/{group_id}/expenses/{expense_id}/attachments`.
#[derive(Debug)]
pub struct AttachmentsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A receipt's metadata.
#[derive(Debug, Clone, Object)]
pub struct AttachmentBody {
    /// Id.
    pub id: Uuid,
    /// The file's name as uploaded (path and control characters removed).
    pub filename: String,
    /// The type read from the bytes: `image/jpeg`, `image/png`, `image/webp`, `image/heic`
    /// or `application/pdf`.
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: Uuid,
    /// When.
    pub created_at: OffsetDateTime,
}

impl From<Attachment> for AttachmentBody {
    fn from(a: Attachment) -> Self {
        Self {
            id: a.id.0,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            uploaded_by: a.uploaded_by.0,
            created_at: a.created_at,
        }
    }
}

/// A receipt as an expense lists it.
#[derive(Debug, Clone, Object)]
pub struct AttachmentRefBody {
    /// Id.
    pub id: Uuid,
    /// File name.
    pub filename: String,
    /// Type read from the bytes.
    pub content_type: String,
    /// In bytes.
    pub size: u64,
}

impl From<AttachmentRef> for AttachmentRefBody {
    fn from(a: AttachmentRef) -> Self {
        Self {
            id: a.id.0,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
        }
    }
}

/// A receipt stored.
#[derive(Debug, ApiResponse)]
pub enum AttachmentCreated {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<AttachmentBody>),
}

/// The upload form: `multipart/form-data` with the file in the part named `file`. Parsed
/// lazily, so the handler streams the file after authentication.
pub struct UploadForm(Multipart);

impl std::fmt::Debug for UploadForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadForm")
    }
}

impl Payload for UploadForm {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        let file = MetaSchema {
            description: Some("The file: JPEG, PNG, WebP, HEIC or PDF."),
            ..MetaSchema::new_with_format("string", "binary")
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: vec!["file"],
            properties: vec![("file", MetaSchemaRef::Inline(Box::new(file)))],
            ..MetaSchema::new("object")
        }))
    }
}

impl ParsePayload for UploadForm {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self(
            <Multipart as FromRequest>::from_request(request, body).await?,
        ))
    }
}

impl<'a> ApiExtractor<'a> for UploadForm {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: Self::CONTENT_TYPE,
                schema: Self::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            _ => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the file as multipart/form-data, in a part named `file`",
            )
            .into()),
        }
    }
}

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_body",
        format!("the upload form could not be read: {e}"),
    )
}

impl UploadForm {
    /// Reads the part named `file` (its name and at most `limit` bytes: one more is 413
    /// without reading further); other parts are read and dropped, within bounds.
    async fn file(mut self, limit: u64) -> Result<NewAttachment, ApiError> {
        let mut file = None;
        let mut parts = 0;
        while let Some(field) = self.0.next_field().await.map_err(malformed)? {
            parts += 1;
            if parts > MAX_PARTS {
                return Err(malformed(format!("more than {MAX_PARTS} parts")));
            }
            let is_file = field.name() == Some("file") && file.is_none();
            let filename = field.file_name().map(str::to_string);
            let cap = if is_file { limit } else { OTHER_PART_LIMIT };
            let mut bytes = Vec::new();
            field
                .into_async_read()
                .take(cap.saturating_add(1))
                .read_to_end(&mut bytes)
                .await
                .map_err(malformed)?;
            if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > cap {
                return Err(LedgerError::PayloadTooLarge { limit: cap }.into());
            }
            if is_file {
                file = Some(NewAttachment { filename, bytes });
            }
        }
        file.ok_or_else(|| {
            LedgerError::invalid("file", "required", "send the file in a part named `file`").into()
        })
    }
}

/// A file's bytes, with the headers that make a browser save it rather than run it.
#[derive(Debug)]
pub struct FileDownload(Download);

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266, RFC 8187):
/// the plain name for old clients with anything outside printable ASCII, quotes and
/// backslashes replaced, and the exact name for everyone else.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

impl IntoResponse for FileDownload {
    fn into_response(self) -> Response {
        let a = &self.0.attachment;
        Response::builder()
            .status(StatusCode::OK)
            .content_type(a.content_type.as_str())
            .header(
                header::CONTENT_DISPOSITION,
                content_disposition(&a.filename),
            )
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            // Opened directly, a PDF runs no script and reaches nothing.
            .header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            )
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(self.0.bytes)
    }
}

impl ApiResponse for FileDownload {
    fn meta() -> MetaResponses {
        let header = |name: &str, description: &str| MetaHeader {
            name: name.to_string(),
            description: Some(description.to_string()),
            required: true,
            deprecated: false,
            schema: String::schema_ref(),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file's bytes, with the type read from them when uploaded.",
                status: Some(200),
                status_range: None,
                content: FILE_TYPES
                    .iter()
                    .map(|&content_type| MetaMediaType {
                        content_type,
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format(
                            "string", "binary",
                        ))),
                    })
                    .collect(),
                headers: vec![
                    header(
                        "Content-Disposition",
                        "`attachment` with the file name (`filename` and `filename*`).",
                    ),
                    header("X-Content-Type-Options", "`nosniff`."),
                ],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

#[OpenApi(tag = "ApiTags::Attachments")]
impl<S: Storage> AttachmentsApi<S> {
    /// Attach a receipt to an expense (whoever may edit the expense).
    ///
    /// `multipart/form-data` with the file in the part named `file`. Its type is read from
    /// its bytes, whatever its name or the part's `Content-Type` say: JPEG, PNG, WebP, HEIC
    /// or PDF, else 415 `unsupported_media_type`. A file over the upload limit (10 MiB
    /// unless the server says otherwise) is 413 `payload_too_large`, an empty one 422;
    /// nothing is stored then.
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/attachments",
        method = "post"
    )]
    async fn upload(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        form: UploadForm,
    ) -> ApiResult<AttachmentCreated> {
        let file = form.file(self.ledger.config().max_upload).await?;
        let attachment = self
            .ledger
            .add_attachment(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                file,
            )
            .await?;
        Ok(AttachmentCreated::Created(Json(attachment.into())))
    }

    /// An expense's receipts, oldest first (a bare array).
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/attachments",
        method = "get"
    )]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<AttachmentBody>>> {
        let list = self
            .ledger
            .attachments(auth.user_id(), GroupId(group_id.0), ExpenseId(expense_id.0))
            .await?;
        Ok(Json(list.into_iter().map(Into::into).collect()))
    }

    /// Download a receipt: its bytes, with the type read from them, `Content-Disposition:
    /// attachment` and `X-Content-Type-Options: nosniff`.
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/attachments/:attachment_id",
        method = "get"
    )]
    async fn download(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        /// The attachment's id.
        attachment_id: Path<Uuid>,
    ) -> ApiResult<FileDownload> {
        let download = self
            .ledger
            .download_attachment(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                AttachmentId(attachment_id.0),
            )
            .await?;
        Ok(FileDownload(download))
    }

    /// Remove a receipt (whoever may edit the expense); its file goes with it.
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/attachments/:attachment_id",
        method = "delete"
    )]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        /// The attachment's id.
        attachment_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_attachment(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                AttachmentId(attachment_id.0),
            )
            .await?;
        Ok(NoContent::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_in_the_header() {
        assert_eq!(
            content_disposition("receipt.pdf"),
            "attachment; filename=\"receipt.pdf\"; filename*=UTF-8''receipt.pdf"
        );
        assert_eq!(
            content_disposition("reçu \"été\".pdf"),
            "attachment; filename=\"re_u __t__.pdf\"; \
             filename*=UTF-8''re%C3%A7u%20%22%C3%A9t%C3%A9%22.pdf"
        );
        assert!(!content_disposition("a\r\nSet-Cookie: x").contains('\n'));
    }
}
