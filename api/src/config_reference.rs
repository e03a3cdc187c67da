//! Every setting the service reads, in one list: its name (an environment variable, or a key of
//! the configuration file), its default, what it accepts and what it does. `eservices --help`,
//! `docs/CONFIGURATION.md` and the configuration file's check of its keys are made from this
//! list, and a test fails when `config.rs` reads a name that is not here, or this list names one
//! it never reads.

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub group: Group,
    /// The value when unset; "required in production" and the like are said here too.
    pub default: &'static str,
    /// What it accepts.
    pub accepts: &'static str,
    pub description: &'static str,
    /// A password, token or key: never printed, better given by the environment or a secret
    /// store than written in a file.
    pub secret: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Service,
    Database,
    SignIn,
    OutsideSystems,
    Notifications,
    Limits,
    Workflow,
    Observability,
}

impl Group {
    pub const ALL: [Self; 8] = [
        Self::Service,
        Self::Database,
        Self::SignIn,
        Self::OutsideSystems,
        Self::Notifications,
        Self::Limits,
        Self::Workflow,
        Self::Observability,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Service => "The service",
            Self::Database => "The database",
            Self::SignIn => "Sign-in (JWT)",
            Self::OutsideSystems => "Outside systems (state registries, billing)",
            Self::Notifications => "Notifications (SMS, e-mail, webhooks)",
            Self::Limits => "Limits and timeouts",
            Self::Workflow => "Applications and documents",
            Self::Observability => "Logs and metrics",
        }
    }
}

const fn setting(
    name: &'static str,
    group: Group,
    default: &'static str,
    accepts: &'static str,
    description: &'static str,
) -> Setting {
    Setting {
        name,
        group,
        default,
        accepts,
        description,
        secret: false,
    }
}

const fn secret(
    name: &'static str,
    group: Group,
    default: &'static str,
    accepts: &'static str,
    description: &'static str,
) -> Setting {
    let mut setting = setting(name, group, default, accepts, description);
    setting.secret = true;
    setting
}

use Group as G;

/// The settings, grouped, in the order the documentation lists them.
pub const SETTINGS: &[Setting] = &[
    setting(
        "APP_MODE",
        G::Service,
        "development",
        "development or production",
        "Development makes a key pair, loads demo data and offers POST /api/v1/dev/tokens; production does none of that, and demands the settings it cannot guess.",
    ),
    setting(
        "HOST",
        G::Service,
        "127.0.0.1",
        "an address to listen on",
        "0.0.0.0 in a container.",
    ),
    setting(
        "PORT",
        G::Service,
        "8080",
        "a port number; 0 picks a free one",
        "The HTTP port.",
    ),
    setting(
        "WORKERS",
        G::Service,
        "the number of cores",
        "a positive number",
        "HTTP worker threads.",
    ),
    setting(
        "DATA_DIR",
        G::Service,
        "./data",
        "a folder",
        "Holds the SQLite file and, in development, the key pair and the document link secret.",
    ),
    setting(
        "PUBLIC_BASE_URL",
        G::Service,
        "http://HOST:PORT (development); required in production",
        "an http or https URL",
        "The service's public address, the start of the document links in SMS texts.",
    ),
    setting(
        "CORS_ALLOWED_ORIGINS",
        G::Service,
        "none",
        "origins like https://e-gov.az, separated by commas (no path, no *)",
        "The frontends that may call the API from a browser.",
    ),
    setting(
        "DATABASE_URL",
        G::Database,
        "sqlite://DATA_DIR/eservices.sqlite (development); required in production",
        "postgres://… or sqlite://…",
        "PostgreSQL in production; the embedded SQLite file for development.",
    ),
    setting(
        "DATABASE_POOL_SIZE",
        G::Database,
        "10",
        "a number",
        "The most connections one instance opens.",
    ),
    setting(
        "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
        G::Database,
        "5",
        "seconds",
        "How long a request waits for a free connection before it is answered 503 database-unavailable.",
    ),
    setting(
        "DATABASE_ASYNC_READS",
        G::Database,
        "true",
        "true or false",
        "On PostgreSQL, My applications and an application's page are read on the async driver, from a second pool of up to DATABASE_POOL_SIZE connections; false, or a URL with sslmode=require, reads them on the blocking pool.",
    ),
    setting(
        "JWT_ALGORITHM",
        G::SignIn,
        "EdDSA",
        "EdDSA or ES256",
        "The algorithm of JWT_PUBLIC_KEY_FILE.",
    ),
    setting(
        "JWT_PUBLIC_KEY_FILE",
        G::SignIn,
        "the development key in DATA_DIR (development); this or JWT_JWKS_URL in production",
        "a PEM file",
        "The identity provider's public key. Production refuses the development key.",
    ),
    setting(
        "JWT_JWKS_URL",
        G::SignIn,
        "unset",
        "an https URL (http in development); not with JWT_PUBLIC_KEY_FILE",
        "The identity provider's key set, fetched and refreshed, keys picked by kid.",
    ),
    setting(
        "JWT_ALGORITHMS",
        G::SignIn,
        "EdDSA,ES256,RS256",
        "a list of EdDSA, ES256, RS256",
        "The algorithms accepted from the key set.",
    ),
    setting(
        "JWKS_REFRESH_SECONDS",
        G::SignIn,
        "600",
        "seconds, at most a day",
        "How often the key set is fetched again.",
    ),
    setting(
        "JWKS_MIN_REFRESH_SECONDS",
        G::SignIn,
        "30",
        "seconds, at most a day",
        "The shortest wait between two fetches caused by unknown kids.",
    ),
    setting(
        "JWKS_TIMEOUT_MS",
        G::SignIn,
        "3000",
        "milliseconds, 100 to 30000",
        "The timeout of a key set fetch.",
    ),
    setting(
        "JWT_ISSUER",
        G::SignIn,
        "eservices-development (development); required in production",
        "the iss claim tokens must carry",
        "Production refuses the development issuer.",
    ),
    setting(
        "JWT_AUDIENCE",
        G::SignIn,
        "azerisiq-eservices (development); required in production",
        "the aud claim tokens must carry",
        "The service's name at the identity provider.",
    ),
    setting(
        "JWT_LEEWAY_SECONDS",
        G::SignIn,
        "30",
        "seconds",
        "Clock skew tolerated on exp and nbf.",
    ),
    setting(
        "CITIZEN_REGISTRY_URL",
        G::OutsideSystems,
        "unset: the local tables (development); required in production",
        "an https base URL (http in development, or to this host)",
        "The citizen and business registries (main information, representatives).",
    ),
    secret(
        "CITIZEN_REGISTRY_TOKEN",
        G::OutsideSystems,
        "unset",
        "a token",
        "Sent to the registries as a bearer token.",
    ),
    setting(
        "PROPERTY_REGISTRY_URL",
        G::OutsideSystems,
        "unset: the local tables (development); required in production",
        "an https base URL (http in development, or to this host)",
        "The property registry.",
    ),
    secret(
        "PROPERTY_REGISTRY_TOKEN",
        G::OutsideSystems,
        "unset",
        "a token",
        "Sent to the property registry as a bearer token.",
    ),
    setting(
        "BILLING_URL",
        G::OutsideSystems,
        "unset: the local tables (development); required in production",
        "an https base URL (http in development, or to this host)",
        "Billing: subscriber accounts, head codes, metering points, debt.",
    ),
    secret(
        "BILLING_TOKEN",
        G::OutsideSystems,
        "unset",
        "a token",
        "Sent to billing as a bearer token.",
    ),
    setting(
        "OUTSIDE_TIMEOUT_MS",
        G::OutsideSystems,
        "3000",
        "milliseconds, 1 to 60000",
        "The timeout of one call, connection included.",
    ),
    setting(
        "OUTSIDE_RETRIES",
        G::OutsideSystems,
        "2",
        "0 to 5",
        "Further tries of a read that timed out, could not connect or got a 5xx; a call with its retries and waits must fit in 30 s.",
    ),
    setting(
        "OUTSIDE_BACKOFF_MS",
        G::OutsideSystems,
        "100",
        "milliseconds, 1 to 10000",
        "The wait before the first retry, doubled for each next one.",
    ),
    setting(
        "OUTSIDE_BREAKER_FAILURES",
        G::OutsideSystems,
        "5",
        "at least 1",
        "Failed calls in a row that open a system's circuit breaker.",
    ),
    setting(
        "OUTSIDE_BREAKER_OPEN_MS",
        G::OutsideSystems,
        "30000",
        "milliseconds, 1 to 600000",
        "How long an open breaker answers 503 without calling.",
    ),
    setting(
        "MAIN_INFORMATION_CACHE_SECONDS",
        G::OutsideSystems,
        "300",
        "seconds",
        "How long main information read from the citizen registry is reused.",
    ),
    setting(
        "SMTP_HOST",
        G::Notifications,
        "unset: e-mails are written to the log (development); required in production",
        "a host name",
        "The SMTP server.",
    ),
    setting(
        "SMTP_PORT",
        G::Notifications,
        "587",
        "a port number",
        "The SMTP port.",
    ),
    setting(
        "SMTP_TLS",
        G::Notifications,
        "starttls",
        "starttls, tls or none",
        "none only for a server on the same host or network; production refuses it with credentials.",
    ),
    setting(
        "SMTP_USERNAME",
        G::Notifications,
        "unset",
        "a user name",
        "SMTP authentication.",
    ),
    secret(
        "SMTP_PASSWORD",
        G::Notifications,
        "unset",
        "a password",
        "SMTP authentication.",
    ),
    setting(
        "MAIL_FROM",
        G::Notifications,
        "Azərişıq e-xidmətlər <no-reply@azerisiq.az>",
        "a mailbox",
        "The sender of the e-mails.",
    ),
    setting(
        "SMS_GATEWAY_URL",
        G::Notifications,
        "unset: SMS texts are written to the log (development); required in production",
        "an http or https URL",
        "The SMS gateway.",
    ),
    secret(
        "SMS_GATEWAY_TOKEN",
        G::Notifications,
        "unset",
        "a token",
        "Sent to the SMS gateway as a bearer token.",
    ),
    setting(
        "SMS_SENDER",
        G::Notifications,
        "Azerishiq",
        "a sender name",
        "The SMS sender id.",
    ),
    setting(
        "SMS_MAX_SEGMENTS",
        G::Notifications,
        "4",
        "1 to 10",
        "The longest SMS, in segments.",
    ),
    secret(
        "SMS_DELIVERY_REPORT_TOKEN",
        G::Notifications,
        "unset: delivery reports are refused",
        "a token",
        "The bearer token the SMS gateway's delivery reports carry.",
    ),
    setting(
        "DISPATCHER",
        G::Notifications,
        "embedded",
        "embedded or off",
        "off when `eservices worker` delivers the outbox instead.",
    ),
    setting(
        "DISPATCH_INTERVAL_MS",
        G::Notifications,
        "1000",
        "milliseconds, 10 to 60000",
        "How long an idle dispatcher waits before looking again.",
    ),
    setting(
        "DISPATCH_BATCH_SIZE",
        G::Notifications,
        "50",
        "1 to 1000",
        "Messages claimed at once.",
    ),
    setting(
        "DISPATCH_LEASE_MS",
        G::Notifications,
        "300000",
        "milliseconds, 1000 to a day, more than three times SEND_TIMEOUT_MS",
        "How long a claimed message is held before another dispatcher may take it.",
    ),
    setting(
        "SEND_TIMEOUT_MS",
        G::Notifications,
        "10000",
        "milliseconds, 10 to 600000",
        "The timeout of each SMTP, SMS gateway and webhook call.",
    ),
    setting(
        "RETRY_BASE_MS",
        G::Notifications,
        "30000",
        "milliseconds, 1 to a day",
        "The first wait before a failed message is tried again.",
    ),
    setting(
        "RETRY_MAX_DELAY_MS",
        G::Notifications,
        "3600000",
        "milliseconds, at least RETRY_BASE_MS, at most a week",
        "The longest wait between tries.",
    ),
    setting(
        "RETRY_MAX_ATTEMPTS",
        G::Notifications,
        "8",
        "1 to 100",
        "Tries before a message fails for good (and the other channel is used).",
    ),
    setting(
        "REQUEST_TIMEOUT_SECONDS",
        G::Limits,
        "30",
        "1 to 300",
        "A request still running after this is answered 503 request-timeout; also PostgreSQL's lock_timeout.",
    ),
    setting(
        "SHUTDOWN_TIMEOUT_SECONDS",
        G::Limits,
        "30",
        "1 to 600",
        "On SIGTERM, how long requests in flight may take to finish.",
    ),
    setting(
        "KEEP_ALIVE_SECONDS",
        G::Limits,
        "75",
        "0 to 3600; 0 closes each connection after its answer",
        "How long an idle client connection stays open. Keep it longer than the idle timeout of the proxy or gateway in front (often 60 s): a connection the service closes as the proxy reuses it fails that request.",
    ),
    setting(
        "RATE_LIMIT_PER_MINUTE",
        G::Limits,
        "600",
        "0 to 1000000; 0 turns the limit off",
        "Requests a client may make per minute on average.",
    ),
    setting(
        "RATE_LIMIT_BURST",
        G::Limits,
        "60",
        "1 to 100000",
        "Requests a client may make at once above the average.",
    ),
    setting(
        "IDEMPOTENCY_KEY_HOURS",
        G::Limits,
        "24",
        "1 to 720",
        "How long an Idempotency-Key and its stored response are kept.",
    ),
    setting(
        "IDEMPOTENCY_LEASE_SECONDS",
        G::Limits,
        "60",
        "1 to 3600, more than REQUEST_TIMEOUT_SECONDS",
        "How long a running request holds its key before a retry may run it again.",
    ),
    setting(
        "MAX_BODY_BYTES",
        G::Limits,
        "65536",
        "bytes",
        "The largest JSON body accepted.",
    ),
    setting(
        "METER_DAMAGE_WORKING_DAYS",
        G::Workflow,
        "10",
        "working days",
        "The target duration of a meter damage investigation.",
    ),
    setting(
        "ACCOUNT_CHANGE_WORKING_DAYS",
        G::Workflow,
        "5",
        "working days",
        "The target duration of an account change.",
    ),
    setting(
        "HOLIDAYS_FILE",
        G::Workflow,
        "the built-in list",
        "a JSON file in config/holidays-az.json's format",
        "The public holidays that are not working days.",
    ),
    secret(
        "DOCUMENT_LINK_SECRET",
        G::Workflow,
        "made in DATA_DIR (development); required in production",
        "at least 32 characters",
        "Signs the document links.",
    ),
    setting(
        "DOCUMENT_LINK_HOURS",
        G::Workflow,
        "72",
        "hours",
        "How long a document link works.",
    ),
    setting(
        "DEMO_DATA",
        G::Workflow,
        "true (development); never in production",
        "true or false",
        "Load the demo registry data on first start.",
    ),
    setting(
        "FIXED_CLOCK",
        G::Workflow,
        "unset; refused in production",
        "an RFC 3339 time",
        "The applications' clock stands still at this instant (demos, tests of due times).",
    ),
    setting(
        "LOG_FORMAT",
        G::Observability,
        "text (development), json (production)",
        "text or json",
        "JSON lines carry the request id and trace id on every line.",
    ),
    secret(
        "METRICS_TOKEN",
        G::Observability,
        "unset: /metrics open in development, not served in production",
        "at least 16 ASCII characters",
        "The bearer token a Prometheus scraper sends to /metrics.",
    ),
];

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The settings as plain text, for `--help`.
pub fn help_text() -> String {
    let mut out = String::from(
        "SETTINGS\n\nEach setting is an environment variable, or a key of the TOML file that --config or \
         ESERVICES_CONFIG names (environment variables win). A wrong value stops the service with a \
         message naming the setting. RUST_LOG (environment only) filters the log. docs/CONFIGURATION.md \
         has the same list.\n",
    );
    for group in Group::ALL {
        out.push_str(&format!("\n{}:\n", group.title()));
        for s in SETTINGS.iter().filter(|s| s.group == group) {
            out.push_str(&format!(
                "  {}{}\n      {}\n      Accepts: {}. Default: {}.\n",
                s.name,
                if s.secret { " (secret)" } else { "" },
                s.description,
                s.accepts,
                s.default
            ));
        }
    }
    out
}

/// The settings as Markdown (`docs/CONFIGURATION.md`).
pub fn markdown() -> String {
    let mut out = String::from(
        "# Configuration\n\n\
         <!-- Generated from api/src/config_reference.rs by `UPDATE_DOCS=1 cargo test configuration_document`; do not edit. -->\n\n\
         Every setting is an environment variable, or a key of a TOML configuration file named by \
         `eservices --config FILE` or `ESERVICES_CONFIG=FILE`. The environment wins over the file, \
         and the file over the defaults. Each value is checked at start: a wrong one, or a key the \
         service does not know, stops it with a message that names the setting and what it expected. \
         `eservices --help` prints this list.\n\n\
         ```toml\n\
         # /etc/eservices/eservices.toml\n\
         APP_MODE = \"production\"\n\
         DATABASE_URL = \"postgres://eservices@db.internal/eservices\"\n\
         DATABASE_POOL_SIZE = 20\n\
         CORS_ALLOWED_ORIGINS = [\"https://e-gov.az\", \"https://www.e-gov.az\"]\n\
         ```\n\n\
         Numbers and booleans may be written as TOML numbers and booleans, lists of origins or \
         algorithms as arrays. Secrets (marked below) are better given by the environment from a \
         secret store than written in a file. Development and production differ only where the \
         defaults below say so: production demands what it cannot guess, never loads demo data, \
         refuses the development key and issuer, and does not serve `POST /api/v1/dev/tokens`.\n\n\
         `RUST_LOG` (environment only) filters the log, for example `RUST_LOG=info,api=debug`.\n",
    );
    for group in Group::ALL {
        out.push_str(&format!(
            "\n## {}\n\n| setting | default | accepts | what it does |\n|---|---|---|---|\n",
            group.title()
        ));
        for s in SETTINGS.iter().filter(|s| s.group == group) {
            out.push_str(&format!(
                "| `{}`{} | {} | {} | {} |\n",
                s.name,
                if s.secret { " (secret)" } else { "" },
                s.default.replace('|', "\\|"),
                s.accepts.replace('|', "\\|"),
                s.description.replace('|', "\\|"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    #[test]
    fn names_are_unique_and_in_the_environment_style() {
        let mut seen = BTreeSet::new();
        for s in SETTINGS {
            assert!(seen.insert(s.name), "{} twice", s.name);
            assert!(
                s.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                s.name
            );
            assert!(!s.description.is_empty() && !s.accepts.is_empty() && !s.default.is_empty());
        }
    }

    /// Reads settings through a lookup that records every name asked for.
    fn names_read(pairs: &[(&str, &str)]) -> BTreeSet<String> {
        let asked = Mutex::new(BTreeSet::new());
        let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        let _ = crate::config::Settings::from_lookup(|name| {
            if let Ok(mut asked) = asked.lock() {
                asked.insert(name.to_owned());
            }
            map.get(name).map(|v| (*v).to_owned())
        });
        asked.into_inner().unwrap_or_default()
    }

    #[test]
    fn the_list_names_exactly_what_the_configuration_reads() {
        let mut read = BTreeSet::new();
        // Development defaults, and the branches that read more: a key set, SMTP, the SMS gateway.
        read.extend(names_read(&[]));
        read.extend(names_read(&[
            ("JWT_JWKS_URL", "https://idp.example/jwks.json"),
            ("SMTP_HOST", "smtp.example"),
            ("SMS_GATEWAY_URL", "https://sms.example/send"),
            ("CITIZEN_REGISTRY_URL", "https://registry.example/v1/"),
            ("PROPERTY_REGISTRY_URL", "https://property.example/v1/"),
            ("BILLING_URL", "https://billing.example/v1/"),
            ("FIXED_CLOCK", "2026-11-06T12:00:00Z"),
            (
                "DOCUMENT_LINK_SECRET",
                "a-development-secret-of-32-characters",
            ),
            ("METRICS_TOKEN", "a-scrape-token-of-16"),
        ]));
        let listed: BTreeSet<String> = SETTINGS.iter().map(|s| s.name.to_owned()).collect();
        let unlisted: Vec<&String> = read.difference(&listed).collect();
        let unread: Vec<&String> = listed.difference(&read).collect();
        assert!(
            unlisted.is_empty(),
            "read but not in SETTINGS: {unlisted:?}"
        );
        assert!(unread.is_empty(), "in SETTINGS but never read: {unread:?}");
    }

    #[test]
    fn the_help_lists_every_setting() {
        let help = help_text();
        for s in SETTINGS {
            assert!(help.contains(&format!("  {}", s.name)), "{}", s.name);
        }
    }
}
