//! `/groups/{group_id}/import`: another tool's export (or this server's own) into a group.

use std::collections::HashMap;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiResponse, Enum, Multipart, Object, OpenApi};
use uuid::Uuid;

use splitledger_core::Storage;
use splitledger_core::domain::{GroupId, UserId};
use splitledger_core::import::Format;
use splitledger_core::ledger::{Error, ImportReport, ImportRequest, Ledger};

use super::models::BalancesBody;
use super::{ApiResult, ApiTags};
use crate::security::Auth;

/// The largest file an import reads: 50,000 rows of any of the formats fit many times over.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// `/groups/{group_id}/import`.
#[derive(Debug)]
pub struct ImportsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// The tool whose export the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ImportFormat {
    /// Splitwise's CSV export.
    Splitwise,
    /// IHateMoney's JSON export.
    Ihatemoney,
    /// Spliit's JSON export.
    Spliit,
    /// Cospend's CSV export.
    Cospend,
    /// This server's own `export?format=json`.
    Splitledger,
}

impl From<ImportFormat> for Format {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Splitwise => Format::Splitwise,
            ImportFormat::Ihatemoney => Format::Ihatemoney,
            ImportFormat::Spliit => Format::Spliit,
            ImportFormat::Cospend => Format::Cospend,
            ImportFormat::Splitledger => Format::Splitledger,
        }
    }
}

/// The upload.
#[derive(Debug, Multipart)]
pub struct ImportForm {
    /// The export file.
    file: Upload,
    /// A JSON object mapping names in the file to member ids (`{"Bob": "0190…"}`).
    members: Option<String>,
}

/// Who a name of the file became.
#[derive(Debug, Object)]
pub struct ImportedMemberBody {
    /// The name in the file.
    pub name: String,
    /// The member.
    pub user_id: Uuid,
    /// Whether the import created them (a placeholder).
    pub created: bool,
}

/// What an import wrote.
#[derive(Debug, Object)]
pub struct ImportReportBody {
    /// Expenses written (income entries included).
    pub expenses: u64,
    /// Repayments written.
    pub settlements: u64,
    /// Conversions of balances written (a splitledger export carries them).
    pub conversions: u64,
    /// Recurring series written, as they stood (a splitledger export carries them).
    pub series: u64,
    /// Comments written, with their authors and times (a splitledger export carries them).
    pub comments: u64,
    /// Receipts the file lists but cannot carry (an export names them, without their
    /// bytes): not imported.
    pub attachments_skipped: u64,
    /// Every name of the file and the member it became.
    pub members: Vec<ImportedMemberBody>,
    /// The group's balances after the import, as `GET .../balances` gives them.
    pub balances: BalancesBody,
}

impl From<ImportReport> for ImportReportBody {
    fn from(r: ImportReport) -> Self {
        Self {
            expenses: r.expenses,
            settlements: r.settlements,
            conversions: r.conversions,
            series: r.series,
            comments: r.comments,
            attachments_skipped: r.attachments_skipped,
            members: r
                .members
                .into_iter()
                .map(|m| ImportedMemberBody {
                    name: m.name,
                    user_id: m.user_id.0,
                    created: m.created,
                })
                .collect(),
            balances: r.balances.into(),
        }
    }
}

/// An import done.
#[derive(Debug, ApiResponse)]
pub enum ImportCreated {
    /// Imported.
    #[oai(status = 201)]
    Created(Json<ImportReportBody>),
}

/// `members` as the form gives it: a JSON object of names to member ids.
fn mapping(text: Option<&str>) -> Result<HashMap<String, UserId>, Error> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(HashMap::new());
    };
    let raw: HashMap<String, Uuid> = serde_json::from_str(text).map_err(|_| {
        Error::invalid(
            "members",
            "invalid_members",
            "a JSON object mapping names in the file to member ids",
        )
    })?;
    Ok(raw.into_iter().map(|(n, u)| (n, UserId(u))).collect())
}

#[OpenApi(tag = "ApiTags::Groups")]
impl<S: Storage> ImportsApi<S> {
    /// Import another tool's export into the group (owner and admins).
    ///
    /// `format`: `splitwise` (its CSV export), `ihatemoney` (its JSON export), `spliit` (its
    /// JSON export), `cospend` (its CSV export) or `splitledger` (this server's
    /// `export?format=json`). Names in the file map to members through `members` first,
    /// then by display name (case-insensitive, trimmed); the rest become placeholders. All or
    /// nothing: one bad row refuses the file with 422 and row-numbered `errors`
    /// (`rows[12].amount`); the same file twice is 409 `already_imported`. Afterwards the
    /// group's nets have moved by exactly the balances the file states.
    #[oai(path = "/groups/:group_id/import", method = "post")]
    async fn import(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The tool whose export the file is.
        format: Query<ImportFormat>,
        form: ImportForm,
    ) -> ApiResult<ImportCreated> {
        let members = mapping(form.members.as_deref())?;
        let file =
            form.file.into_vec().await.map_err(|_| {
                Error::invalid("file", "unreadable_file", "the file could not be read")
            })?;
        if file.len() > MAX_IMPORT_BYTES {
            return Err(Error::invalid(
                "file",
                "file_too_large",
                format!("at most {MAX_IMPORT_BYTES} bytes"),
            )
            .into());
        }
        let report = self
            .ledger
            .import(
                auth.user_id(),
                GroupId(group_id.0),
                ImportRequest {
                    format: format.0.into(),
                    file,
                    members,
                },
            )
            .await?;
        Ok(ImportCreated::Created(Json(report.into())))
    }
}
