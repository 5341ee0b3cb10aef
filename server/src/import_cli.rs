//! `splitledger-server import --group ID --format F --as EMAIL FILE`: the HTTP import from
//! the command line, with a progress bar on a terminal and plain lines otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use splitledger_core::domain::{Email, GroupId};
use splitledger_core::import::Format;
use splitledger_core::ledger::{ImportReport, ImportRequest};
use splitledger_core::{Ledger, Storage};

/// The tool whose export the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
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

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Splitwise => Format::Splitwise,
            FormatArg::Ihatemoney => Format::Ihatemoney,
            FormatArg::Spliit => Format::Spliit,
            FormatArg::Cospend => Format::Cospend,
            FormatArg::Splitledger => Format::Splitledger,
        }
    }
}

/// What to import, where, as whom.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ImportArgs {
    /// The group's id.
    #[arg(long)]
    pub group: Uuid,
    /// The tool whose export the file is.
    #[arg(long, value_enum)]
    pub format: FormatArg,
    /// The email of the owner or admin the import is recorded as.
    #[arg(long = "as")]
    pub as_email: String,
    /// The export file.
    pub file: PathBuf,
}

/// Where the progress goes: a bar on a terminal, plain lines otherwise (logs, pipes).
enum Progress {
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    fn new() -> Self {
        if std::io::stdout().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Self::Bar(bar)
        } else {
            Self::Lines
        }
    }

    fn step(&self, message: String) {
        match self {
            Self::Bar(bar) => bar.set_message(message),
            Self::Lines => println!("{message}"),
        }
    }

    fn done(&self, message: String) {
        match self {
            Self::Bar(bar) => bar.finish_with_message(message),
            Self::Lines => println!("{message}"),
        }
    }
}

/// Runs the import through the Ledger (the same rules as the HTTP route) and prints what it
/// did; the refusal's text otherwise.
pub(crate) async fn run<S: Storage>(
    ledger: Ledger<S>,
    args: &ImportArgs,
) -> Result<ImportReport, String> {
    let progress = Progress::new();
    progress.step(format!("reading {}", args.file.display()));
    let file = tokio::fs::read(&args.file)
        .await
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let email = Email::parse(&args.as_email).map_err(|e| format!("--as: {e:?}"))?;
    let user = ledger
        .storage()
        .user_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account has the email {}", args.as_email))?;
    progress.step(format!(
        "importing {} bytes of {} into {} (one transaction)",
        file.len(),
        Format::from(args.format),
        args.group
    ));
    let report = ledger
        .import(
            user.user.id,
            GroupId(args.group),
            ImportRequest {
                format: args.format.into(),
                file,
                members: Default::default(),
            },
        )
        .await
        .map_err(|e| match e {
            splitledger_core::Error::Validation(errors) => errors
                .errors()
                .iter()
                .map(|f| format!("{}: {} ({})", f.field, f.message, f.code))
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("{} ({})", other, other.code()),
        })?;
    let created = report.members.iter().filter(|m| m.created).count();
    progress.done(format!(
        "imported {} expenses and {} settlements; {} names matched members, {} placeholders created",
        report.expenses,
        report.settlements,
        report.members.len() - created,
        created
    ));
    Ok(report)
}
