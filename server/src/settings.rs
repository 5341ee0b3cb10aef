//! Settings, each a command-line flag and an environment variable, with sane defaults: with
//! nothing set, the server listens on 127.0.0.1:8080 over an SQLite file in the working
//! directory.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use splitledger_core::ledger::SignupPolicy;

use crate::oidc::{Providers, parse_providers};

/// The command line of `splitledger-server`.
#[derive(Debug, Parser)]
#[command(name = "splitledger-server", version, about = "splitledger's HTTP API")]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate {
        /// Move the schema up or down to this migration version instead of the newest
        /// (reverting with the down scripts what was applied after it).
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
    },
    /// Print the OpenAPI document (JSON) and exit.
    Openapi,
    /// Import another tool's export into a group (see `POST /groups/{id}/import`).
    Import(crate::import_cli::ImportArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignupMode {
    /// Anyone.
    Open,
    /// Only someone with a valid group invite code.
    Invite,
    /// Nobody (existing accounts still sign in).
    Closed,
}

impl From<SignupMode> for SignupPolicy {
    fn from(mode: SignupMode) -> Self {
        match mode {
            SignupMode::Open => Self::Open,
            SignupMode::Invite => Self::Invite,
            SignupMode::Closed => Self::Closed,
        }
    }
}

/// Parses the public URL: `http(s)://host[:port][/prefix]`, no query or fragment.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let url = openidconnect::url::Url::parse(text.trim())
        .map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "`{text}`: expected http(s)://HOST[:PORT][/PREFIX] with no query or fragment"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Server settings.
#[derive(Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Database: `sqlite://FILE` (created if missing), `postgres://USER:PASS@HOST/DB`, or
    /// `memory:` (nothing kept; for trials).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://splitledger.db")]
    pub database_url: String,

    /// Session lifetime: seconds, or a number with a unit `s`, `m`, `h`, `d` (e.g. `30d`).
    #[arg(long, env = "TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Origins allowed by CORS, comma-separated (`*` for any); none: CORS off.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Mark the session cookie `Secure` (set when served over HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,

    /// Largest request body accepted, in bytes (`K`/`M` suffixes for KiB/MiB).
    #[arg(long, env = "BODY_LIMIT", default_value = "1M", value_parser = parse_size)]
    pub body_limit: usize,

    /// How long a shutdown waits for requests in flight.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Serve `GET /metrics` on this address only (e.g. `127.0.0.1:9090`), not on `--bind`;
    /// unset: on the main address.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Report every 5xx answer and panic to Sentry at this DSN, with its request id;
    /// unset: nothing is sent.
    #[arg(long, env = "SENTRY_DSN")]
    pub sentry_dsn: Option<String>,

    /// Where attachments are kept: `file:///FOLDER` (created if missing) or
    /// `s3://BUCKET/PREFIX` (credentials and region from the usual `AWS_*` variables). By
    /// default a folder `splitledger-files` beside the SQLite file, or in the working
    /// directory; in memory with a `memory:` database.
    #[arg(long, env = "FILES_URL")]
    pub files_url: Option<String>,

    /// Largest attachment accepted, in bytes (`K`/`M` suffixes for KiB/MiB), counted on the
    /// file itself.
    #[arg(long, env = "MAX_UPLOAD", default_value = "10M", value_parser = parse_size)]
    pub max_upload: usize,

    /// Who may create an account, with a password or a provider alike.
    #[arg(long, env = "SIGNUP", value_enum, default_value = "open")]
    pub signup: SignupMode,

    /// OpenID Connect providers: `NAME=ISSUER_URL,CLIENT_ID,CLIENT_SECRET`, several separated
    /// by `;` (e.g. `google=https://accounts.google.com,ID,SECRET`).
    #[arg(
        long = "oidc",
        env = "OIDC_PROVIDERS",
        default_value = "",
        hide_default_value = true,
        hide_env_values = true,
        value_parser = parse_providers
    )]
    pub oidc: Providers,

    /// The address people reach this server at; OpenID Connect redirect URIs are built on it
    /// (`{PUBLIC_URL}/api/v1/auth/oidc/{NAME}/callback`). Default: `http://` and the bind
    /// address.
    #[arg(long, env = "PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
}

impl Settings {
    /// Defaults, as with nothing set (for tests and embedding).
    pub fn defaults() -> Self {
        Self {
            bind: "127.0.0.1:8080".to_string(),
            database_url: "sqlite://splitledger.db".to_string(),
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            cors_origins: Vec::new(),
            log_format: LogFormat::Text,
            cookie_secure: false,
            body_limit: 1024 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            metrics_bind: None,
            sentry_dsn: None,
            files_url: None,
            max_upload: 10 * 1024 * 1024,
            signup: SignupMode::Open,
            oidc: Providers::default(),
            public_url: None,
        }
    }

    /// The public URL, or `http://` and the bind address when none is set.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field("token_ttl", &self.token_ttl)
            .field("cors_origins", &self.cors_origins)
            .field("log_format", &self.log_format)
            .field("cookie_secure", &self.cookie_secure)
            .field("body_limit", &self.body_limit)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("metrics_bind", &self.metrics_bind)
            // The DSN's key lets anyone send events to the project: only say whether it is set.
            .field("sentry_dsn", &self.sentry_dsn.as_ref().map(|_| "***"))
            .field("files_url", &self.files_url)
            .field("max_upload", &self.max_upload)
            .field("signup", &self.signup)
            .field("oidc", &self.oidc)
            .field("public_url", &self.public_url)
            .finish()
    }
}

/// The URL with any password replaced by `***`, safe to log.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Parses `90`, `90s`, `15m`, `12h` or `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90, 90s, 15m, 12h or 30d"))?;
    let factor = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use s, m, h or d)"
            ));
        }
    };
    let secs = n
        .checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))?;
    if secs == 0 {
        return Err("the duration must be positive".to_string());
    }
    Ok(Duration::from_secs(secs))
}

/// Parses `65536`, `64K` or `1M` (binary units).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, factor) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 1024),
        Some((i, 'M' | 'm')) => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    let n: usize = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size like 65536, 64K or 1M"))?;
    n.checked_mul(factor)
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{text}` is not a usable size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(2_592_000)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("3w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1M"), Ok(1_048_576));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn passwords_never_reach_debug() {
        let mut s = Settings::defaults();
        s.database_url = "postgres://app:s3cret@db.example:5432/ledger?sslmode=require".into();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.example:5432/ledger"),
            "{shown}"
        );
        assert_eq!(
            redact_url("sqlite://splitledger.db"),
            "sqlite://splitledger.db"
        );
        assert_eq!(redact_url("postgres://app@h/db"), "postgres://app@h/db");
    }

    #[test]
    fn migrate_takes_a_target_version() {
        let cli = Cli::try_parse_from(["splitledger-server", "migrate", "--to", "20261201000001"]);
        assert!(
            matches!(
                cli.as_ref().map(|c| c.command.clone()),
                Ok(Some(Command::Migrate {
                    to: Some(20_261_201_000_001)
                }))
            ),
            "{cli:?}"
        );
        assert!(Cli::try_parse_from(["splitledger-server", "migrate", "--to", "x"]).is_err());
    }

    #[test]
    fn the_sentry_dsn_never_reaches_debug() {
        let mut s = Settings::defaults();
        s.sentry_dsn = Some("https://k3y@o1.ingest.sentry.io/42".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("k3y"), "{shown}");
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from([
            "splitledger-server",
            "--token-ttl",
            "12h",
            "--cors-origins",
            "https://a.example,https://b.example",
            "--cookie-secure",
            "true",
            "migrate",
        ])
        .map_err(|e| e.to_string());
        let cli = match cli {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cli.command, Some(Command::Migrate { to: None }));
        assert_eq!(cli.settings.token_ttl, Duration::from_secs(43_200));
        assert_eq!(cli.settings.cors_origins.len(), 2);
        assert!(cli.settings.cookie_secure);
        assert_eq!(cli.settings.signup, SignupMode::Open);
        assert!(cli.settings.oidc.0.is_empty());
    }

    #[test]
    fn providers_and_signup_parse() {
        let cli = Cli::try_parse_from([
            "splitledger-server",
            "--signup",
            "invite",
            "--oidc",
            "google=https://accounts.google.com,id1,s3cret; corp=https://id.corp.example/realm,id2,x,y",
            "--public-url",
            "https://ledger.example/",
        ])
        .map_err(|e| e.to_string());
        let cli = match cli {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let s = cli.settings;
        assert_eq!(s.signup, SignupMode::Invite);
        assert_eq!(s.oidc.0.len(), 2);
        assert_eq!(s.oidc.0[0].name, "google");
        assert_eq!(s.oidc.0[0].client_id, "id1");
        // A secret may hold commas.
        assert_eq!(s.oidc.0[1].client_secret, "x,y");
        assert_eq!(s.public_url(), "https://ledger.example");
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");

        for bad in [
            "google",
            "Google=https://accounts.google.com,a,b",
            "g=not a url,a,b",
            "g=ftp://x.example,a,b",
            "g=https://x.example,a",
            "g=https://x.example,,b",
            "g=https://x.example,a,b;g=https://y.example,a,b",
        ] {
            assert!(parse_providers(bad).is_err(), "{bad}");
        }
        let err = parse_providers("g=https://x.example,a")
            .err()
            .unwrap_or_default();
        assert!(!err.contains("s3cret"));
        assert!(parse_public_url("https://x.example/?a=1").is_err());
        assert!(parse_public_url("x.example").is_err());
        assert_eq!(Settings::defaults().public_url(), "http://127.0.0.1:8080");
    }
}
