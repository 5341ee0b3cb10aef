//! The SQL stores, chosen once at start from the database URL (static dispatch).

use crate::settings::Settings;
use crate::startup::{Application, StartupError};

/// Opens the SQL store named by the URL, migrates it and builds the application.
pub(crate) async fn open_and_build(settings: &Settings) -> Result<Application, StartupError> {
    Err(StartupError::UnsupportedDatabase(
        crate::settings::redact_url(&settings.database_url),
    ))
}

/// Applies the migrations of the store named by the URL.
pub async fn migrate(settings: &Settings) -> Result<(), StartupError> {
    Err(StartupError::UnsupportedDatabase(
        crate::settings::redact_url(&settings.database_url),
    ))
}
