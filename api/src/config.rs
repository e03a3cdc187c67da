//! Settings: a default for everything that works for development, each overridable by an
//! environment variable. Production mode refuses to start without the settings it cannot guess.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Development makes a key pair and demo data, and offers `POST /api/v1/dev/tokens`; production
/// does none of that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

/// The JWT signature algorithms the service accepts (one at a time, from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    EdDsa,
    Es256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    /// PEM public key that verifies tokens. In development, the generated key when unset.
    pub public_key_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// The identity provider's key set, instead of one key file.
    pub jwks: Option<crate::jwks::JwksSettings>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Holds the SQLite file and the development key pair.
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_pool_size: u32,
    pub database_acquire_timeout: Duration,
    /// The hot reads on PostgreSQL's async driver (a second pool); off, on the blocking pool.
    pub database_async_reads: bool,
    /// HTTP worker threads; the number of cores when unset.
    pub workers: Option<usize>,
    pub jwt: JwtSettings,
    /// Load the demo registry data on first start (development only).
    pub demo_data: bool,
    pub log_format: LogFormat,
    /// The largest JSON body accepted.
    pub max_body_bytes: usize,
    /// Target durations in working days.
    pub meter_damage_working_days: u32,
    pub account_change_working_days: u32,
    /// The public holidays (JSON, `config/holidays-az.json`'s format); the built-in list when unset.
    pub holidays_file: Option<PathBuf>,
    /// Signs document links; at least 32 characters. In development, a secret made in the data
    /// folder when unset.
    pub document_link_secret: Option<String>,
    pub document_link_hours: i64,
    /// Development only: the applications' clock stands still at this instant (demos, tests of
    /// due times). Tokens and document links keep real time.
    pub fixed_clock: Option<chrono::DateTime<chrono::Utc>>,
    pub notifications: NotificationSettings,
    pub outside: OutsideSettings,
    /// The frontends' origins that may call the API from a browser (CORS); none by default.
    pub cors_allowed_origins: Vec<String>,
    pub limits: LimitSettings,
    /// The bearer token `/metrics` asks of a scraper; unset: open in development, not served in
    /// production.
    pub metrics_token: Option<Secret>,
}

/// What keeps one client, a slow database or a retrying network from hurting the others.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// How long an `Idempotency-Key` and its stored response are kept.
    pub idempotency_keep: Duration,
    /// How long a running request holds its key before a retry may run it again (its server is
    /// then presumed dead); longer than `request_timeout`.
    pub idempotency_lease: Duration,
    /// Requests a client (its token's subject, or its address without a token) may make per
    /// minute on average; 0 turns the limit off.
    pub rate_per_minute: u32,
    /// How many requests a client may make at once above the average.
    pub rate_burst: u32,
    /// A request still running after this is answered 503.
    pub request_timeout: Duration,
    /// On SIGTERM, how long requests in flight may take to finish.
    pub shutdown_timeout: Duration,
    /// How long an idle client connection is kept open; zero closes each after its answer.
    pub keep_alive: Duration,
}

/// Where the outside systems are: each one named by its URL goes over HTTP; each one not named
/// is answered from this service's own tables (development only).
#[derive(Debug, Clone)]
pub struct OutsideSettings {
    pub citizen_registry: Option<integrations::SystemSettings>,
    pub property_registry: Option<integrations::SystemSettings>,
    pub billing: Option<integrations::SystemSettings>,
    /// How long main information read from the citizen registry is reused.
    pub main_information_cache: Duration,
}

// The notifications' settings are defined beside the dispatcher that uses them.
pub use notifications::settings::{
    DispatcherMode, NotificationSettings, Secret, SmsGatewaySettings, SmtpSettings, SmtpTls,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0} must be set in production mode")]
    Missing(&'static str),
    #[error("{setting} is set but has no effect without {needs}")]
    WithoutEffect {
        setting: &'static str,
        needs: &'static str,
    },
    #[error("cannot read the configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("{path}: {name} is not a setting of this service (`eservices --help` lists them)")]
    UnknownSetting { name: String, path: PathBuf },
    #[error("{path}: {name} must be a string, number, boolean or list of strings, not {found}")]
    FileValue {
        name: String,
        path: PathBuf,
        found: &'static str,
    },
}

/// Settings that are read only when another is set: (the setting, the one it needs).
const ONLY_WITH: &[(&str, &str)] = &[
    ("SMTP_PORT", "SMTP_HOST"),
    ("SMTP_TLS", "SMTP_HOST"),
    ("SMTP_USERNAME", "SMTP_HOST"),
    ("SMTP_PASSWORD", "SMTP_HOST"),
    ("SMS_GATEWAY_TOKEN", "SMS_GATEWAY_URL"),
    ("CITIZEN_REGISTRY_TOKEN", "CITIZEN_REGISTRY_URL"),
    ("PROPERTY_REGISTRY_TOKEN", "PROPERTY_REGISTRY_URL"),
    ("BILLING_TOKEN", "BILLING_URL"),
    ("JWT_ALGORITHMS", "JWT_JWKS_URL"),
    ("JWKS_REFRESH_SECONDS", "JWT_JWKS_URL"),
    ("JWKS_MIN_REFRESH_SECONDS", "JWT_JWKS_URL"),
    ("JWKS_TIMEOUT_MS", "JWT_JWKS_URL"),
];

/// The environment variable that names the configuration file when `--config` does not.
pub const CONFIG_FILE_VARIABLE: &str = "ESERVICES_CONFIG";

/// Reads a configuration file: TOML whose keys are the settings' names
/// (`config_reference::SETTINGS`). Numbers and booleans are taken as written, lists of strings
/// joined with commas. An unknown key is refused: a misspelt setting must not be ignored.
pub fn read_config_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::File {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    parse_config_file(&text, path)
}

/// The settings written in `text` (a file's content; `path` names it in errors).
pub fn parse_config_file(text: &str, path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| ConfigError::File {
            path: path.to_owned(),
            reason: error.message().to_owned(),
        })?;
    let mut values = BTreeMap::new();
    for (name, value) in table {
        if crate::config_reference::find(&name).is_none() {
            return Err(ConfigError::UnknownSetting {
                name,
                path: path.to_owned(),
            });
        }
        let wrong = |found: &'static str| ConfigError::FileValue {
            name: name.clone(),
            path: path.to_owned(),
            found,
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Datetime(d) => d.to_string(),
            toml::Value::Float(_) => return Err(wrong("a fractional number")),
            toml::Value::Table(_) => return Err(wrong("a table")),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    _ => Err(wrong("a list holding other than strings")),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
        };
        values.insert(name, text);
    }
    Ok(values)
}

pub const DEV_ISSUER: &str = "eservices-development";
pub const DEFAULT_AUDIENCE: &str = "azerisiq-eservices";

impl Settings {
    /// Reads the process environment, and the configuration file `ESERVICES_CONFIG` names.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(None)
    }

    /// Reads the configuration file (`file`, or the one `ESERVICES_CONFIG` names; none is
    /// fine) and the process environment, which wins over the file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let environment = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| environment(CONFIG_FILE_VARIABLE).map(PathBuf::from));
        let written = match &path {
            Some(path) => read_config_file(path)?,
            None => BTreeMap::new(),
        };
        Self::from_lookup(|name| environment(name).or_else(|| written.get(name).cloned()))
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // A setting that only means something beside another is refused alone: it would be
        // ignored, and the other is most likely misspelt or forgotten.
        for (setting, needs) in ONLY_WITH {
            if lookup(setting).is_some() && lookup(needs).is_none() {
                return Err(ConfigError::WithoutEffect { setting, needs });
            }
        }
        let mode = match lookup("APP_MODE").as_deref() {
            None | Some("development") => Mode::Development,
            Some("production") => Mode::Production,
            Some(other) => return Err(invalid("APP_MODE", other, "development or production")),
        };
        let production = mode == Mode::Production;
        let data_dir = PathBuf::from(lookup("DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
        let database_url = match lookup("DATABASE_URL") {
            Some(url) => url,
            None if production => return Err(ConfigError::Missing("DATABASE_URL")),
            None => format!("sqlite://{}", data_dir.join("eservices.sqlite").display()),
        };
        let algorithm = match lookup("JWT_ALGORITHM").as_deref() {
            None | Some("EdDSA") => JwtAlgorithm::EdDsa,
            Some("ES256") => JwtAlgorithm::Es256,
            Some(other) => return Err(invalid("JWT_ALGORITHM", other, "EdDSA or ES256")),
        };
        let public_key_file = lookup("JWT_PUBLIC_KEY_FILE").map(PathBuf::from);
        let required = |name: &'static str, default: &str| match lookup(name) {
            Some(value) => Ok(value),
            None if production => Err(ConfigError::Missing(name)),
            None => Ok(default.to_owned()),
        };
        let jwks = match lookup("JWT_JWKS_URL") {
            None => None,
            Some(_) if public_key_file.is_some() => {
                return Err(invalid(
                    "JWT_JWKS_URL",
                    "(set)",
                    "unset when JWT_PUBLIC_KEY_FILE is set: one source of keys",
                ));
            }
            Some(raw) => {
                let url = url::Url::parse(&raw)
                    .ok()
                    .filter(|u| u.scheme() == "https" || (!production && u.scheme() == "http"))
                    .ok_or_else(|| {
                        invalid("JWT_JWKS_URL", &raw, "an https URL (http in development)")
                    })?;
                let algorithms = lookup("JWT_ALGORITHMS")
                    .unwrap_or_else(|| "EdDSA,ES256,RS256".to_owned())
                    .split(',')
                    .map(|name| match name.trim() {
                        "EdDSA" => Ok(jsonwebtoken::Algorithm::EdDSA),
                        "ES256" => Ok(jsonwebtoken::Algorithm::ES256),
                        "RS256" => Ok(jsonwebtoken::Algorithm::RS256),
                        other => Err(invalid(
                            "JWT_ALGORITHMS",
                            other,
                            "a list of EdDSA, ES256, RS256",
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let seconds = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
                    let value: u64 = number(&lookup, name, default)?;
                    if value > 86_400 {
                        return Err(invalid(
                            name,
                            &value.to_string(),
                            "at most a day in seconds",
                        ));
                    }
                    Ok(Duration::from_secs(value))
                };
                Some(crate::jwks::JwksSettings {
                    url,
                    algorithms,
                    refresh_every: seconds("JWKS_REFRESH_SECONDS", 600)?
                        .max(Duration::from_secs(1)),
                    min_refresh_interval: seconds("JWKS_MIN_REFRESH_SECONDS", 30)?
                        .max(Duration::from_secs(1)),
                    timeout: Duration::from_millis(
                        number::<u64>(&lookup, "JWKS_TIMEOUT_MS", 3000)?.clamp(100, 30_000),
                    ),
                })
            }
        };
        if production && public_key_file.is_none() && jwks.is_none() {
            return Err(ConfigError::Missing("JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL"));
        }
        if production && lookup("JWT_ISSUER").as_deref() == Some(DEV_ISSUER) {
            return Err(invalid(
                "JWT_ISSUER",
                DEV_ISSUER,
                "the identity provider's issuer, not the development one",
            ));
        }
        let jwt = JwtSettings {
            algorithm,
            public_key_file,
            issuer: required("JWT_ISSUER", DEV_ISSUER)?,
            audience: required("JWT_AUDIENCE", DEFAULT_AUDIENCE)?,
            leeway_seconds: number(&lookup, "JWT_LEEWAY_SECONDS", 30)?,
            jwks,
        };
        let log_format = match lookup("LOG_FORMAT").as_deref() {
            None if production => LogFormat::Json,
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(invalid("LOG_FORMAT", other, "text or json")),
        };
        let notifications = notification_settings(&lookup, production)?;
        let outside = outside_settings(&lookup, production)?;
        let database_async_reads = match lookup("DATABASE_ASYNC_READS").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(invalid("DATABASE_ASYNC_READS", other, "true or false")),
        };
        let demo_data = match lookup("DEMO_DATA").as_deref() {
            None => !production,
            Some("true") => true,
            Some("false") => false,
            Some(other) => return Err(invalid("DEMO_DATA", other, "true or false")),
        };
        Ok(Self {
            mode,
            host: lookup("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: number(&lookup, "PORT", 8080)?,
            data_dir,
            database_url,
            database_pool_size: number(&lookup, "DATABASE_POOL_SIZE", 10)?,
            database_acquire_timeout: Duration::from_secs(number(
                &lookup,
                "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
                5,
            )?),
            database_async_reads,
            workers: lookup("WORKERS")
                .map(|w| {
                    w.parse()
                        .map_err(|_| invalid("WORKERS", &w, "a positive number"))
                })
                .transpose()?,
            jwt,
            demo_data: demo_data && !production,
            log_format,
            max_body_bytes: number(&lookup, "MAX_BODY_BYTES", 64 * 1024)?,
            meter_damage_working_days: number(&lookup, "METER_DAMAGE_WORKING_DAYS", 10)?,
            account_change_working_days: number(&lookup, "ACCOUNT_CHANGE_WORKING_DAYS", 5)?,
            holidays_file: lookup("HOLIDAYS_FILE").map(PathBuf::from),
            document_link_secret: match lookup("DOCUMENT_LINK_SECRET") {
                Some(secret) if secret.len() >= 32 => Some(secret),
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "DOCUMENT_LINK_SECRET",
                        value: "(hidden)".to_owned(),
                        expected: "at least 32 characters",
                    });
                }
                None if production => return Err(ConfigError::Missing("DOCUMENT_LINK_SECRET")),
                None => None,
            },
            document_link_hours: number(&lookup, "DOCUMENT_LINK_HOURS", 72)?,
            fixed_clock: match lookup("FIXED_CLOCK") {
                None => None,
                Some(_) if production => {
                    return Err(invalid("FIXED_CLOCK", "(set)", "unset in production"));
                }
                Some(at) => Some(
                    chrono::DateTime::parse_from_rfc3339(&at)
                        .map_err(|_| invalid("FIXED_CLOCK", &at, "an RFC 3339 time"))?
                        .with_timezone(&chrono::Utc),
                ),
            },
            notifications,
            outside,
            cors_allowed_origins: cors_origins(&lookup)?,
            limits: limit_settings(&lookup)?,
            metrics_token: match lookup("METRICS_TOKEN") {
                Some(token) if token.len() >= 16 && token.is_ascii() => Some(Secret::new(token)),
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "METRICS_TOKEN",
                        value: "(hidden)".to_owned(),
                        expected: "at least 16 ASCII characters",
                    });
                }
                None => None,
            },
        })
    }
}

fn bounded(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    expected: &'static str,
) -> Result<u64, ConfigError> {
    let value: u64 = number(lookup, name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(name, &value.to_string(), expected))
    }
}

fn limit_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<LimitSettings, ConfigError> {
    let request_timeout = bounded(lookup, "REQUEST_TIMEOUT_SECONDS", 30, 1..=300, "1 to 300")?;
    let idempotency_lease = bounded(
        lookup,
        "IDEMPOTENCY_LEASE_SECONDS",
        60,
        1..=3600,
        "1 to 3600",
    )?;
    if idempotency_lease <= request_timeout {
        return Err(invalid(
            "IDEMPOTENCY_LEASE_SECONDS",
            &idempotency_lease.to_string(),
            "more than REQUEST_TIMEOUT_SECONDS",
        ));
    }
    let rate_per_minute = bounded(
        lookup,
        "RATE_LIMIT_PER_MINUTE",
        600,
        0..=1_000_000,
        "0 to 1000000",
    )?;
    let rate_burst = bounded(lookup, "RATE_LIMIT_BURST", 60, 1..=100_000, "1 to 100000")?;
    Ok(LimitSettings {
        idempotency_keep: Duration::from_secs(
            3600 * bounded(lookup, "IDEMPOTENCY_KEY_HOURS", 24, 1..=720, "1 to 720")?,
        ),
        idempotency_lease: Duration::from_secs(idempotency_lease),
        rate_per_minute: u32::try_from(rate_per_minute).unwrap_or(u32::MAX),
        rate_burst: u32::try_from(rate_burst).unwrap_or(u32::MAX),
        request_timeout: Duration::from_secs(request_timeout),
        shutdown_timeout: Duration::from_secs(bounded(
            lookup,
            "SHUTDOWN_TIMEOUT_SECONDS",
            30,
            1..=600,
            "1 to 600",
        )?),
        keep_alive: Duration::from_secs(bounded(
            lookup,
            "KEEP_ALIVE_SECONDS",
            75,
            0..=3600,
            "0 to 3600",
        )?),
    })
}

/// `CORS_ALLOWED_ORIGINS`: origins separated by commas, each `scheme://host[:port]` exactly.
fn cors_origins(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = lookup("CORS_ALLOWED_ORIGINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let parsed = url::Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
                    && !origin.ends_with('/')
            });
            match parsed {
                Some(_) => Ok(origin.to_owned()),
                None => Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    origin,
                    "origins like https://e-gov.az, separated by commas (no path, no *)",
                )),
            }
        })
        .collect()
}

fn outside_settings(
    lookup: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<OutsideSettings, ConfigError> {
    let millis = |name: &'static str, default: u64, high: u64| -> Result<Duration, ConfigError> {
        let value: u64 = number(lookup, name, default)?;
        if value == 0 || value > high {
            return Err(invalid(
                name,
                &value.to_string(),
                "milliseconds, 1 to the documented maximum",
            ));
        }
        Ok(Duration::from_millis(value))
    };
    let timeout = millis("OUTSIDE_TIMEOUT_MS", 3000, 60_000)?;
    let backoff = millis("OUTSIDE_BACKOFF_MS", 100, 10_000)?;
    let breaker_open_for = millis("OUTSIDE_BREAKER_OPEN_MS", 30_000, 600_000)?;
    let retries: u32 = number(lookup, "OUTSIDE_RETRIES", 2)?;
    let breaker_failures: u32 = number(lookup, "OUTSIDE_BREAKER_FAILURES", 5)?;
    // One call, retries and waits included, must end in reasonable time: it holds a thread.
    let worst = timeout.saturating_mul(retries + 1) + backoff.saturating_mul((1 << retries) - 1);
    if worst > Duration::from_secs(30) {
        return Err(invalid(
            "OUTSIDE_TIMEOUT_MS, OUTSIDE_RETRIES, OUTSIDE_BACKOFF_MS",
            &format!("{} ms at worst", worst.as_millis()),
            "at most 30 s for a call with its retries and waits",
        ));
    }
    if retries > 5 || breaker_failures == 0 {
        return Err(invalid(
            "OUTSIDE_RETRIES, OUTSIDE_BREAKER_FAILURES",
            &format!("{retries}, {breaker_failures}"),
            "0–5 retries, at least 1 failure",
        ));
    }
    let system = |url_name: &'static str,
                  token_name: &'static str|
     -> Result<Option<integrations::SystemSettings>, ConfigError> {
        match lookup(url_name) {
            None if production => Err(ConfigError::Missing(url_name)),
            None => Ok(None),
            Some(raw) => {
                let base_url = url::Url::parse(&raw)
                    .ok()
                    .filter(|u| {
                        // Plain http only in development, or to this host (a sidecar proxy that
                        // makes the TLS connection, as some registries require).
                        let loopback = matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                            || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
                        (u.scheme() == "https"
                            || (u.scheme() == "http" && (!production || loopback)))
                            && !u.cannot_be_a_base()
                    })
                    .ok_or_else(|| {
                        invalid(
                            url_name,
                            &raw,
                            "an https base URL (http in development, or to this host)",
                        )
                    })?;
                Ok(Some(integrations::SystemSettings {
                    base_url,
                    token: lookup(token_name),
                    timeout,
                    retries,
                    backoff,
                    breaker_failures,
                    breaker_open_for,
                }))
            }
        }
    };
    Ok(OutsideSettings {
        citizen_registry: system("CITIZEN_REGISTRY_URL", "CITIZEN_REGISTRY_TOKEN")?,
        property_registry: system("PROPERTY_REGISTRY_URL", "PROPERTY_REGISTRY_TOKEN")?,
        billing: system("BILLING_URL", "BILLING_TOKEN")?,
        main_information_cache: Duration::from_secs(number(
            lookup,
            "MAIN_INFORMATION_CACHE_SECONDS",
            300,
        )?),
    })
}

fn notification_settings(
    lookup: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<NotificationSettings, ConfigError> {
    let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
        number(lookup, name, default).map(Duration::from_millis)
    };
    let smtp = match lookup("SMTP_HOST") {
        None if production => return Err(ConfigError::Missing("SMTP_HOST")),
        None => None,
        Some(host) => Some(SmtpSettings {
            host,
            port: number(lookup, "SMTP_PORT", 587)?,
            tls: match lookup("SMTP_TLS").as_deref() {
                None | Some("starttls") => SmtpTls::StartTls,
                Some("tls") => SmtpTls::Tls,
                Some("none") => SmtpTls::None,
                Some(other) => return Err(invalid("SMTP_TLS", other, "starttls, tls or none")),
            },
            username: lookup("SMTP_USERNAME"),
            password: lookup("SMTP_PASSWORD"),
        }),
    };
    let sms_gateway = match lookup("SMS_GATEWAY_URL") {
        None if production => return Err(ConfigError::Missing("SMS_GATEWAY_URL")),
        None => None,
        Some(raw) => {
            let url = url::Url::parse(&raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| invalid("SMS_GATEWAY_URL", &raw, "an http or https URL"))?;
            Some(SmsGatewaySettings {
                url,
                token: lookup("SMS_GATEWAY_TOKEN"),
            })
        }
    };
    let public_base_url = match lookup("PUBLIC_BASE_URL") {
        Some(raw) => url::Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|_| raw.trim_end_matches('/').to_owned())
            .ok_or_else(|| invalid("PUBLIC_BASE_URL", &raw, "an http or https URL"))?,
        None if production => return Err(ConfigError::Missing("PUBLIC_BASE_URL")),
        None => format!(
            "http://{}:{}",
            lookup("HOST").unwrap_or_else(|| "127.0.0.1".to_owned()),
            lookup("PORT").unwrap_or_else(|| "8080".to_owned())
        ),
    };
    let settings = NotificationSettings {
        dispatcher: match lookup("DISPATCHER").as_deref() {
            None | Some("embedded") => DispatcherMode::Embedded,
            Some("off") => DispatcherMode::Off,
            Some(other) => return Err(invalid("DISPATCHER", other, "embedded or off")),
        },
        poll_interval: millis("DISPATCH_INTERVAL_MS", 1000)?,
        batch_size: number(lookup, "DISPATCH_BATCH_SIZE", 50)?,
        lease: millis("DISPATCH_LEASE_MS", 300_000)?,
        retry_base: millis("RETRY_BASE_MS", 30_000)?,
        retry_max_delay: millis("RETRY_MAX_DELAY_MS", 3_600_000)?,
        retry_max_attempts: number(lookup, "RETRY_MAX_ATTEMPTS", 8)?,
        smtp,
        mail_from: lookup("MAIL_FROM")
            .unwrap_or_else(|| "Azərişıq e-xidmətlər <no-reply@azerisiq.az>".to_owned()),
        sms_gateway,
        sms_sender: lookup("SMS_SENDER").unwrap_or_else(|| "Azerishiq".to_owned()),
        sms_max_segments: number(lookup, "SMS_MAX_SEGMENTS", 4)?,
        sms_delivery_report_token: lookup("SMS_DELIVERY_REPORT_TOKEN").map(Secret::new),
        private_webhooks: !production,
        send_timeout: millis("SEND_TIMEOUT_MS", 10_000)?,
        public_base_url,
    };
    let within = |value: Duration, low_ms: u64, high_ms: u64| {
        (Duration::from_millis(low_ms)..=Duration::from_millis(high_ms)).contains(&value)
    };
    const DAY_MS: u64 = 24 * 3600 * 1000;
    let bounds: [(&'static str, Duration, u64, u64); 5] = [
        ("DISPATCH_INTERVAL_MS", settings.poll_interval, 10, 60_000),
        ("DISPATCH_LEASE_MS", settings.lease, 1000, DAY_MS),
        ("RETRY_BASE_MS", settings.retry_base, 1, DAY_MS),
        (
            "RETRY_MAX_DELAY_MS",
            settings.retry_max_delay,
            1,
            7 * DAY_MS,
        ),
        ("SEND_TIMEOUT_MS", settings.send_timeout, 10, 600_000),
    ];
    for (name, value, low, high) in bounds {
        if !within(value, low, high) {
            return Err(invalid(
                name,
                &value.as_millis().to_string(),
                "milliseconds within the documented range (docs/NOTIFICATIONS.md)",
            ));
        }
    }
    if settings.retry_max_delay < settings.retry_base {
        return Err(invalid(
            "RETRY_MAX_DELAY_MS",
            &settings.retry_max_delay.as_millis().to_string(),
            "at least RETRY_BASE_MS",
        ));
    }
    if production
        && settings.smtp.as_ref().is_some_and(|s| {
            s.tls == SmtpTls::None && (s.username.is_some() || s.password.is_some())
        })
    {
        return Err(invalid(
            "SMTP_TLS",
            "none",
            "starttls or tls when SMTP credentials are set in production",
        ));
    }
    let counts_ok = (1..=1000).contains(&settings.batch_size)
        && (1..=100).contains(&settings.retry_max_attempts)
        && (1..=10).contains(&settings.sms_max_segments);
    if !counts_ok {
        return Err(invalid(
            "DISPATCH_BATCH_SIZE, RETRY_MAX_ATTEMPTS, SMS_MAX_SEGMENTS",
            &format!(
                "{}, {}, {}",
                settings.batch_size, settings.retry_max_attempts, settings.sms_max_segments
            ),
            "1–1000, 1–100 and 1–10",
        ));
    }
    if settings.lease <= settings.send_timeout * 3 {
        return Err(invalid(
            "DISPATCH_LEASE_MS",
            &settings.lease.as_millis().to_string(),
            "more than three times SEND_TIMEOUT_MS, so that a lease outlives its attempt",
        ));
    }
    Ok(settings)
}

fn invalid(name: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_owned(),
        expected,
    }
}

fn number<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw.parse().map_err(|_| invalid(name, &raw, "a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn development_defaults_need_nothing() {
        let s = settings(&[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(s.mode, Mode::Development);
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8080));
        assert_eq!(s.database_url, "sqlite://./data/eservices.sqlite");
        assert!(s.demo_data);
        assert_eq!(s.jwt.algorithm, JwtAlgorithm::EdDsa);
    }

    #[test]
    fn idle_connections_stay_open_longer_than_a_proxys_idle_timeout() {
        let keep_alive = |value: Option<&str>| {
            let pairs: Vec<(&str, &str)> = value
                .map(|v| ("KEEP_ALIVE_SECONDS", v))
                .into_iter()
                .collect();
            settings(&pairs).map(|s| s.limits.keep_alive)
        };
        assert_eq!(keep_alive(None).ok(), Some(Duration::from_secs(75)));
        assert_eq!(keep_alive(Some("0")).ok(), Some(Duration::ZERO));
        assert_eq!(
            keep_alive(Some("3600")).ok(),
            Some(Duration::from_secs(3600))
        );
        for (wrong, expected) in [
            ("3601", "0 to 3600"),
            ("-1", "a number"),
            ("soon", "a number"),
        ] {
            assert_eq!(
                keep_alive(Some(wrong)).err().map(|e| e.to_string()),
                Some(format!(
                    "KEEP_ALIVE_SECONDS=\"{wrong}\" is not valid: {expected}"
                )),
            );
        }
    }

    #[test]
    fn production_demands_what_it_cannot_guess() {
        assert!(matches!(
            settings(&[("APP_MODE", "production")]),
            Err(ConfigError::Missing("DATABASE_URL"))
        ));
        let full = settings(&[
            ("APP_MODE", "production"),
            ("DATABASE_URL", "postgres://db/e"),
            ("JWT_PUBLIC_KEY_FILE", "/keys/idp.pem"),
            ("JWT_ISSUER", "https://idp.example"),
            ("JWT_AUDIENCE", "eservices"),
            (
                "DOCUMENT_LINK_SECRET",
                "a-production-secret-of-32-characters",
            ),
            ("SMTP_HOST", "smtp.azerisiq.az"),
            ("SMS_GATEWAY_URL", "https://sms.example.az/send"),
            ("PUBLIC_BASE_URL", "https://e-xidmet.azerisiq.az"),
            ("CITIZEN_REGISTRY_URL", "https://registry.example.az/v1/"),
            ("PROPERTY_REGISTRY_URL", "https://property.example.az/v1/"),
            ("BILLING_URL", "https://billing.example.az/v1/"),
            ("DEMO_DATA", "true"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(!full.demo_data, "never demo data in production");
        assert_eq!(full.log_format, LogFormat::Json);
    }

    #[test]
    fn a_fixed_clock_is_for_development_only() {
        let development = settings(&[("FIXED_CLOCK", "2026-11-06T12:00:00+04:00")])
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            development.fixed_clock.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-06T08:00:00+00:00")
        );
        assert!(settings(&[("FIXED_CLOCK", "friday")]).is_err());
        let production = settings(&[
            ("APP_MODE", "production"),
            ("DATABASE_URL", "postgres://db/e"),
            ("JWT_PUBLIC_KEY_FILE", "/keys/idp.pem"),
            ("JWT_ISSUER", "https://idp.example"),
            ("JWT_AUDIENCE", "eservices"),
            (
                "DOCUMENT_LINK_SECRET",
                "a-production-secret-of-32-characters",
            ),
            ("FIXED_CLOCK", "2026-11-06T12:00:00+04:00"),
        ]);
        assert!(production.is_err());
    }

    #[test]
    fn notification_settings_are_checked() {
        let s = settings(&[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(
            s.notifications.smtp.is_none(),
            "log channels in development"
        );
        assert_eq!(s.notifications.public_base_url, "http://127.0.0.1:8080");
        let smtp = settings(&[
            ("SMTP_HOST", "localhost"),
            ("SMTP_PORT", "2525"),
            ("SMTP_TLS", "none"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            smtp.notifications.smtp.map(|s| (s.port, s.tls)),
            Some((2525, SmtpTls::None))
        );
        assert!(settings(&[("SMTP_HOST", "x"), ("SMTP_TLS", "ssl3")]).is_err());
        assert!(settings(&[("SMS_GATEWAY_URL", "ftp://x")]).is_err());
        assert!(settings(&[("DISPATCHER", "sometimes")]).is_err());
        assert!(settings(&[("RETRY_MAX_ATTEMPTS", "0")]).is_err());
        assert!(settings(&[("RETRY_BASE_MS", "5000"), ("RETRY_MAX_DELAY_MS", "1000")]).is_err());
        assert!(
            settings(&[("DISPATCH_INTERVAL_MS", "0")]).is_err(),
            "no busy loop"
        );
        assert!(
            settings(&[("DISPATCH_LEASE_MS", "1000"), ("SEND_TIMEOUT_MS", "1000")]).is_err(),
            "a lease shorter than an attempt could let two dispatchers send one message"
        );
    }

    #[test]
    fn outside_systems_go_over_http_when_named() {
        let local = settings(&[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert!(
            local.outside.billing.is_none(),
            "development: the local tables"
        );
        let http = settings(&[
            ("BILLING_URL", "https://billing.example.az/v1/"),
            ("OUTSIDE_RETRIES", "1"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(http.outside.billing.map(|b| b.retries), Some(1));
        assert!(settings(&[("BILLING_URL", "mailto:x@y")]).is_err());
        assert!(settings(&[("OUTSIDE_RETRIES", "9")]).is_err());
        assert!(settings(&[("OUTSIDE_TIMEOUT_MS", "0")]).is_err());
    }

    #[test]
    fn keys_come_from_one_source() {
        let jwks = settings(&[
            ("JWT_JWKS_URL", "http://127.0.0.1:9/jwks.json"),
            ("JWT_ALGORITHMS", "EdDSA,ES256"),
        ])
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            jwks.jwt.jwks.map(|j| j.algorithms),
            Some(vec![
                jsonwebtoken::Algorithm::EdDSA,
                jsonwebtoken::Algorithm::ES256
            ])
        );
        assert!(
            settings(&[
                ("JWT_JWKS_URL", "https://idp/jwks"),
                ("JWT_PUBLIC_KEY_FILE", "/k.pem")
            ])
            .is_err()
        );
        assert!(
            settings(&[
                ("JWT_JWKS_URL", "https://idp/jwks"),
                ("JWT_ALGORITHMS", "HS256")
            ])
            .is_err()
        );
        assert!(settings(&[("JWT_JWKS_URL", "ftp://idp/jwks")]).is_err());
    }

    #[test]
    fn a_configuration_file_holds_settings_by_name() {
        let path = Path::new("eservices.toml");
        let read = parse_config_file(
            "PORT = 9090\nDEMO_DATA = false\nFIXED_CLOCK = 2026-11-06T12:00:00Z\n\
             CORS_ALLOWED_ORIGINS = [\"https://e-gov.az\", \"https://a.az\"]\nMAIL_FROM = \"x <x@y.az>\"\n",
            path,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(read.get("PORT").map(String::as_str), Some("9090"));
        assert_eq!(read.get("DEMO_DATA").map(String::as_str), Some("false"));
        assert_eq!(
            read.get("CORS_ALLOWED_ORIGINS").map(String::as_str),
            Some("https://e-gov.az,https://a.az")
        );
        let settings = Settings::from_lookup(|name| read.get(name).cloned())
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(settings.port, 9090);
        assert_eq!(settings.cors_allowed_origins.len(), 2);
        assert!(settings.fixed_clock.is_some());
        for (bad, expected) in [
            ("PROT = 1", "PROT is not a setting"),
            ("RUST_LOG = \"debug\"", "RUST_LOG is not a setting"),
            ("PORT = 1.5", "not a fractional number"),
            ("[database]\nurl = 1", "database is not a setting"),
            (
                "CORS_ALLOWED_ORIGINS = [1]",
                "a list holding other than strings",
            ),
            (
                "PORT = ",
                "cannot read the configuration file eservices.toml",
            ),
        ] {
            let error = parse_config_file(bad, path).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains(expected)),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn a_setting_that_needs_another_is_refused_alone() {
        let error = settings(&[("SMTP_TLS", "none")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("SMTP_TLS is set but has no effect without SMTP_HOST")
        );
        assert!(settings(&[("SMTP_TLS", "none"), ("SMTP_HOST", "mail")]).is_ok());
        assert!(settings(&[("BILLING_TOKEN", "t")]).is_err());
    }

    #[test]
    fn production_refuses_the_development_issuer() {
        let error = settings(&[
            ("APP_MODE", "production"),
            ("DATABASE_URL", "postgres://db/e"),
            ("JWT_PUBLIC_KEY_FILE", "/keys/idp.pem"),
            ("JWT_ISSUER", DEV_ISSUER),
        ])
        .err()
        .map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.starts_with("JWT_ISSUER=")),
            "{error:?}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let error = settings(&[("PORT", "eighty")]).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("PORT=\"eighty\" is not valid: a number")
        );
        assert!(settings(&[("JWT_ALGORITHM", "HS256")]).is_err());
    }
}
