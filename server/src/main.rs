//! `splitledger-server`: serve (default), `migrate`, or `openapi`.

use std::process::ExitCode;

use clap::Parser;
use splitledger_server::{Application, Cli, Command, openapi_json, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if command == Command::Openapi {
        println!("{}", openapi_json());
        return ExitCode::SUCCESS;
    }
    if let Command::Import(args) = &command {
        // Quiet logs: the command's own lines (or bar) are its output.
        return match splitledger_server::import(&cli.settings, args).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("splitledger-server import: {e}");
                ExitCode::FAILURE
            }
        };
    }
    telemetry::init(cli.settings.log_format);
    tracing::info!(settings = ?cli.settings, "starting");
    let outcome =
        match command {
            Command::Migrate { to } => splitledger_server::migrate_to(&cli.settings, to).await,
            _ => match Application::build(&cli.settings).await {
                Ok(app) => app.run_until_stopped().await.map_err(|e| {
                    splitledger_server::StartupError::Bind {
                        addr: cli.settings.bind.clone(),
                        source: e,
                    }
                }),
                Err(e) => Err(e),
            },
        };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            eprintln!("splitledger-server: {e}");
            ExitCode::FAILURE
        }
    }
}
