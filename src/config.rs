//! Configuration: `coexist.toml` (or `--config FILE`), then `COEXIST_*`
//! environment variables, then command-line flags; validated as a separate
//! step with errors that name the key. Defaults run a working single-node
//! server.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The documented example (`coexist config example`).
pub const EXAMPLE: &str = r#"# coexist.toml — every key is optional; these are the defaults.
# Each key can also be set by an environment variable (shown), and
# `coexist serve` flags override both.

# Where the SQLite database (WAL) and the admin token live.   COEXIST_DATA_DIR
data_dir = "./coexist-data"

[http]
# Admin API, /healthz, /metrics. Port 0 picks a free port.     COEXIST_HTTP
listen = "127.0.0.1:8080"

[sip]
# The sfb side: SIP over UDP, and TCP on the same address.      COEXIST_SIP
# Port 0 picks a free port.
listen = "127.0.0.1:5060"
# R4.3: an sfb conversation (the SIP session) ends after this long without
# traffic; a later reply is a new conversation.  COEXIST_SIP_SESSION_IDLE_SECS
session_idle_secs = 600

[admin]
# The admin bearer token (at least 16 characters).        COEXIST_ADMIN_TOKEN
# Unset: the first start creates one, prints it once and writes it to
# DATA_DIR/admin-token (mode 0600); later starts read that file.
# token = "change-me-to-a-long-random-string"

[log]
# error | warn | info | debug | trace                          COEXIST_LOG
level = "info"

[teams]
# How long a log-in token (POST /v1/auth/token) works.  COEXIST_TEAMS_TOKEN_TTL_SECS
token_ttl_secs = 86400
# A call nobody answers ends after this.              COEXIST_TEAMS_RING_TIMEOUT_MS
ring_timeout_ms = 45000
# Missed-message safety net: a recipient not seen on the client a message
# lands on for this long gets a notice on their other client.
#                                                   COEXIST_TEAMS_NOTICE_AFTER_SECS
notice_after_secs = 300
# Failed log-ins per user within the window before log-in is refused for
# the rest of it (per source address: 4x).          COEXIST_TEAMS_LOGIN_FAILURES
login_failures = 5
#                                                 COEXIST_TEAMS_LOGIN_WINDOW_SECS
login_window_secs = 300
"#;

/// `coexist config …` arguments.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Print a documented example coexist.toml (every key, its default and
    /// its environment variable).
    Example,
}

/// `coexist config …`.
pub fn command(args: &ConfigArgs) -> Result<(), ConfigError> {
    match args.command {
        ConfigCommand::Example => print!("{EXAMPLE}"),
    }
    Ok(())
}

/// The file as written: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    http: ListenSection,
    #[serde(default)]
    sip: SipSection,
    #[serde(default)]
    admin: AdminSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    teams: TeamsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamsSection {
    token_ttl_secs: Option<u64>,
    ring_timeout_ms: Option<u64>,
    notice_after_secs: Option<u64>,
    login_failures: Option<u64>,
    login_window_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListenSection {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SipSection {
    listen: Option<String>,
    session_idle_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSection {
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    level: Option<String>,
}

/// Values given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--http`.
    pub http: Option<String>,
    /// `--sip`.
    pub sip: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub http: SocketAddr,
    /// SIP listen address.
    pub sip: SocketAddr,
    /// The admin token, when configured.
    pub admin_token: Option<String>,
    /// Log level.
    pub log_level: tracing::Level,
    /// The teams side.
    pub teams: coexist_core::TeamsConfig,
    /// R4.3: how long an sfb session lives without traffic.
    pub sip_session_idle: std::time::Duration,
}

/// The default of `sip.session_idle_secs` (R4.3: ten minutes).
const SESSION_IDLE_SECS: u64 = 600;

/// A configuration error, naming the key (and where it came from).
#[derive(Debug, thiserror::Error)]
#[error("config: {key}: {reason}")]
pub struct ConfigError {
    /// `http.listen`, `admin.token`, …
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

fn error(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Where a value came from, for error messages.
fn source(from_env: bool, var: &str) -> String {
    if from_env {
        format!(" (from {var})")
    } else {
        String::new()
    }
}

impl Config {
    /// Loads `file` (or `./coexist.toml` when present), then the variables
    /// `env` returns, then `overrides`; then validates.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let default_file = Path::new("coexist.toml");
        let path = file.or_else(|| default_file.exists().then_some(default_file));
        let parsed: FileConfig = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| error("--config", format!("{}: {e}", path.display())))?;
                toml::from_str(&text).map_err(|e| {
                    let reason = e.message().to_owned();
                    let key = reason
                        .split('`')
                        .nth(1)
                        .filter(|_| reason.starts_with("unknown field"))
                        .unwrap_or("file");
                    error(key, format!("{} in {}", reason, path.display()))
                })?
            }
            None => FileConfig::default(),
        };
        let pick = |flag: &Option<String>, var: &str, file: Option<String>, default: &str| {
            if let Some(value) = flag {
                return (value.clone(), false);
            }
            match env(var) {
                Some(value) => (value, true),
                None => (file.unwrap_or_else(|| default.to_owned()), false),
            }
        };
        let addr = |key: &str, var: &str, (value, from_env): (String, bool)| {
            value.trim().parse::<SocketAddr>().map_err(|_| {
                error(
                    key,
                    format!(
                        "'{value}' is not an address like 127.0.0.1:8080{}",
                        source(from_env, var)
                    ),
                )
            })
        };
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env("COEXIST_DATA_DIR").map(PathBuf::from))
            .or(parsed.data_dir)
            .unwrap_or_else(|| PathBuf::from("./coexist-data"));
        if data_dir.as_os_str().is_empty() {
            return Err(error("data_dir", "must not be empty"));
        }
        let http = addr(
            "http.listen",
            "COEXIST_HTTP",
            pick(
                &overrides.http,
                "COEXIST_HTTP",
                parsed.http.listen,
                "127.0.0.1:8080",
            ),
        )?;
        let sip = addr(
            "sip.listen",
            "COEXIST_SIP",
            pick(
                &overrides.sip,
                "COEXIST_SIP",
                parsed.sip.listen,
                "127.0.0.1:5060",
            ),
        )?;
        let (token, token_from_env) = match env("COEXIST_ADMIN_TOKEN") {
            Some(token) => (Some(token), true),
            None => (parsed.admin.token, false),
        };
        if let Some(token) = &token {
            if token.trim().len() < 16 || token.chars().any(char::is_whitespace) {
                return Err(error(
                    "admin.token",
                    format!(
                        "must be at least 16 characters without spaces{}",
                        source(token_from_env, "COEXIST_ADMIN_TOKEN")
                    ),
                ));
            }
        }
        let (level, level_from_env) = match env("COEXIST_LOG") {
            Some(level) => (level, true),
            None => (parsed.log.level.unwrap_or_else(|| "info".into()), false),
        };
        let log_level = level.trim().parse::<tracing::Level>().map_err(|_| {
            error(
                "log.level",
                format!(
                    "'{level}' is not one of error, warn, info, debug, trace{}",
                    source(level_from_env, "COEXIST_LOG")
                ),
            )
        })?;
        let teams = teams_config(&parsed.teams, env)?;
        let sip_session_idle = std::time::Duration::from_secs(bounded(
            env,
            "sip.session_idle_secs",
            "COEXIST_SIP_SESSION_IDLE_SECS",
            parsed.sip.session_idle_secs,
            SESSION_IDLE_SECS,
            1..=86_400,
        )?);
        Ok(Config {
            sip_session_idle,
            data_dir,
            http,
            sip,
            admin_token: token,
            log_level,
            teams,
        })
    }
}

/// A whole number from its variable, else the file, else the default,
/// within `range`; errors name the key (and the variable).
fn bounded(
    env: &dyn Fn(&str) -> Option<String>,
    key: &str,
    var: &str,
    given: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let (value, from_env) = match env(var) {
        Some(text) => (
            text.trim()
                .parse::<u64>()
                .map_err(|_| error(key, format!("'{text}' is not a whole number (from {var})")))?,
            true,
        ),
        None => (given.unwrap_or(default), false),
    };
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(error(
            key,
            format!(
                "{value} is outside {}..={}{}",
                range.start(),
                range.end(),
                source(from_env, var)
            ),
        ))
    }
}

/// `[teams]`: each key from its variable, else the file, else the default,
/// within its range.
fn teams_config(
    file: &TeamsSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<coexist_core::TeamsConfig, ConfigError> {
    use std::time::Duration;
    let defaults = coexist_core::TeamsConfig::default();
    let number = |key: &str,
                  var: &str,
                  given: Option<u64>,
                  default: u64,
                  range: std::ops::RangeInclusive<u64>| {
        bounded(env, key, var, given, default, range)
    };
    Ok(coexist_core::TeamsConfig {
        token_ttl: Duration::from_secs(number(
            "teams.token_ttl_secs",
            "COEXIST_TEAMS_TOKEN_TTL_SECS",
            file.token_ttl_secs,
            defaults.token_ttl.as_secs(),
            60..=30 * 86_400,
        )?),
        ring_timeout: Duration::from_millis(number(
            "teams.ring_timeout_ms",
            "COEXIST_TEAMS_RING_TIMEOUT_MS",
            file.ring_timeout_ms,
            u64::try_from(defaults.ring_timeout.as_millis()).unwrap_or(45_000),
            50..=600_000,
        )?),
        notice_after: Duration::from_secs(number(
            "teams.notice_after_secs",
            "COEXIST_TEAMS_NOTICE_AFTER_SECS",
            file.notice_after_secs,
            defaults.notice_after.as_secs(),
            0..=7 * 86_400,
        )?),
        login_failures: u32::try_from(number(
            "teams.login_failures",
            "COEXIST_TEAMS_LOGIN_FAILURES",
            file.login_failures,
            u64::from(defaults.login_failures),
            1..=1000,
        )?)
        .unwrap_or(5),
        login_window: Duration::from_secs(number(
            "teams.login_window_secs",
            "COEXIST_TEAMS_LOGIN_WINDOW_SECS",
            file.login_window_secs,
            defaults.login_window.as_secs(),
            1..=86_400,
        )?),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn load(file: &str, env: &[(&str, &str)], overrides: Overrides) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coexist.toml");
        std::fs::write(&path, file).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::load(Some(&path), &|k| env.get(k).cloned(), &overrides)
    }

    #[test]
    fn the_example_is_valid_and_gives_the_defaults() {
        let config = load(EXAMPLE, &[], Overrides::default()).unwrap();
        assert_eq!(config.http.to_string(), "127.0.0.1:8080");
        assert_eq!(config.sip.to_string(), "127.0.0.1:5060");
        assert_eq!(config.data_dir, PathBuf::from("./coexist-data"));
        assert_eq!(config.admin_token, None);
    }

    #[test]
    fn env_beats_file_and_flags_beat_env() {
        let file = "[http]\nlisten = \"127.0.0.1:1\"\n";
        let config = load(
            file,
            &[("COEXIST_HTTP", "127.0.0.1:2")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.http.port(), 2);
        let flags = Overrides {
            http: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        let config = load(file, &[("COEXIST_HTTP", "127.0.0.1:2")], flags).unwrap();
        assert_eq!(config.http.port(), 0);
    }

    #[test]
    fn errors_name_the_key() {
        let err = load("[http]\nlisten = \"nope\"\n", &[], Overrides::default()).unwrap_err();
        assert_eq!(err.key, "http.listen");
        let err = load(
            "",
            &[("COEXIST_ADMIN_TOKEN", "short")],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.key, "admin.token");
        assert!(err.to_string().contains("COEXIST_ADMIN_TOKEN"));
        let err = load("[http]\nlisen = \"x\"\n", &[], Overrides::default()).unwrap_err();
        assert_eq!(err.key, "lisen");
        let err = load("[log]\nlevel = \"loud\"\n", &[], Overrides::default()).unwrap_err();
        assert_eq!(err.key, "log.level");
        let err = load("[teams]\nring_timeout_ms = 1\n", &[], Overrides::default()).unwrap_err();
        assert_eq!(err.key, "teams.ring_timeout_ms");
        let err = load(
            "",
            &[("COEXIST_TEAMS_LOGIN_FAILURES", "many")],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.key, "teams.login_failures");
        assert!(err.to_string().contains("COEXIST_TEAMS_LOGIN_FAILURES"));
    }

    #[test]
    fn r4_3_the_sfb_session_idle_time_is_configurable() {
        let config = load(EXAMPLE, &[], Overrides::default()).unwrap();
        assert_eq!(config.sip_session_idle.as_secs(), 600);
        let config = load(
            "[sip]
session_idle_secs = 5
",
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.sip_session_idle.as_secs(), 5);
        let config = load(
            "[sip]
session_idle_secs = 5
",
            &[("COEXIST_SIP_SESSION_IDLE_SECS", "2")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.sip_session_idle.as_secs(), 2);
        let err = load(
            "[sip]
session_idle_secs = 0
",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.key, "sip.session_idle_secs");
        let err = load(
            "",
            &[("COEXIST_SIP_SESSION_IDLE_SECS", "soon")],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("COEXIST_SIP_SESSION_IDLE_SECS"));
    }
}
