//! The black-box harness: `spawn_app` starts the real server on port 0 against a fresh
//! database (a new SQLite file, or a new PostgreSQL database on the server `TEST_DATABASE_URL`
//! names), loaded with the demo data, and gives an HTTP client for it.
#![allow(clippy::panic, reason = "a test harness fails tests by panicking")]

use api::config::Settings;
use api::startup::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and what a test needs to talk to it.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub backend: Backend,
    pub database_url: String,
    pub settings: Settings,
    /// Kept alive for the test's duration: the SQLite file and the key pair live here.
    pub data_dir: tempfile::TempDir,
}

static DATABASE_COUNTER: AtomicU32 = AtomicU32::new(0);
static STALE_DATABASES_DROPPED: OnceLock<()> = OnceLock::new();
static PROCESS_STARTED: OnceLock<i64> = OnceLock::new();
/// Test databases of runs started over two hours ago are dropped by the next run.
const STALE_AFTER_SECONDS: i64 = 2 * 3600;
const TEST_DATABASE_PREFIX: &str = "eservices_test_";

/// The PostgreSQL server for tests, if one is named. Under CI a missing one is an error, so that
/// the PostgreSQL half of the suite can never be skipped silently.
pub fn postgres_server() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => Some(url),
        None if std::env::var("CI").is_ok() => {
            panic!("TEST_DATABASE_URL must name a PostgreSQL server when CI is set")
        }
        None => None,
    }
}

fn with_database(server_url: &str, database: &str) -> String {
    let mut url = url::Url::parse(server_url)
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is not a URL: {e}"));
    url.set_path(database);
    url.to_string()
}

/// Creates a new, empty PostgreSQL database and returns its URL. The first call in a test
/// process drops the databases earlier runs left behind.
pub fn fresh_postgres_database(server_url: &str) -> String {
    let mut admin = PgConnection::establish(server_url)
        .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
    let started = *PROCESS_STARTED.get_or_init(|| chrono::Utc::now().timestamp());
    STALE_DATABASES_DROPPED.get_or_init(|| {
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let stale: Vec<Name> = diesel::sql_query(format!(
            "SELECT datname FROM pg_database WHERE datname LIKE '{TEST_DATABASE_PREFIX}%'"
        ))
        .load(&mut admin)
        .unwrap_or_default();
        // Only databases of runs that started long ago: a run going on beside this one keeps its own.
        let is_old = |name: &str| {
            name.strip_prefix(TEST_DATABASE_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|seconds| seconds.parse::<i64>().ok())
                .is_some_and(|seconds| started - seconds > STALE_AFTER_SECONDS)
        };
        for name in stale.into_iter().filter(|n| is_old(&n.datname)) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                name.datname
            ))
            .execute(&mut admin);
        }
    });
    let name = format!(
        "{TEST_DATABASE_PREFIX}{started}_{}_{}",
        std::process::id(),
        DATABASE_COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    with_database(server_url, &name)
}

/// A fresh database URL of `backend` (with its data folder), or `None` when PostgreSQL is not
/// configured outside CI.
pub fn fresh_database(backend: Backend) -> Option<(String, tempfile::TempDir)> {
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}",
            data_dir.path().join("eservices.sqlite").display()
        ),
        Backend::Postgres => fresh_postgres_database(&postgres_server()?),
    };
    Some((url, data_dir))
}

/// Settings of a test server; `overrides` win over the defaults.
pub fn test_settings(
    database_url: &str,
    data_dir: &std::path::Path,
    overrides: &[(&str, &str)],
) -> Settings {
    let mut values: HashMap<String, String> = [
        ("APP_MODE", "development"),
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "2"),
        ("DATABASE_POOL_SIZE", "4"),
        ("LOG_FORMAT", "text"),
        // Tests drive many requests from one demo person; the rate-limit tests turn it on.
        ("RATE_LIMIT_PER_MINUTE", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    values.insert("DATABASE_URL".to_owned(), database_url.to_owned());
    values.insert("DATA_DIR".to_owned(), data_dir.display().to_string());
    for (key, value) in overrides {
        values.insert((*key).to_owned(), (*value).to_owned());
    }
    Settings::from_lookup(|name| values.get(name).cloned())
        .unwrap_or_else(|e| panic!("test settings: {e}"))
}

/// What production demands beside the keys and the outside systems' addresses (identity
/// provider, document links, SMTP, the SMS gateway, the public address), for tests that start
/// it; nothing listens at the SMS gateway's address.
pub const PRODUCTION_SETTINGS: &[(&str, &str)] = &[
    ("APP_MODE", "production"),
    ("JWT_ISSUER", "https://idp.e-gov.example"),
    ("JWT_AUDIENCE", "azerisiq"),
    (
        "DOCUMENT_LINK_SECRET",
        "a-production-secret-of-32-characters",
    ),
    ("SMTP_HOST", "127.0.0.1"),
    ("SMS_GATEWAY_URL", "http://127.0.0.1:9/sms"),
    ("PUBLIC_BASE_URL", "https://e-xidmet.azerisiq.az"),
];

/// Starts the server on an existing database with the given settings.
pub async fn start(settings: Settings) -> String {
    let application = Application::build(settings.clone())
        .await
        .unwrap_or_else(|e| panic!("the application did not start: {e}"));
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    address
}

/// Starts the real server on a fresh database of `backend` with the demo data, or `None` when
/// PostgreSQL is not configured (outside CI).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
    let (database_url, data_dir) = fresh_database(backend)?;
    let settings = test_settings(&database_url, data_dir.path(), overrides);
    let address = start(settings.clone()).await;
    Some(TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("http client: {e}")),
        backend,
        database_url,
        settings,
        data_dir,
    })
}

/// A response read whole: status, headers and body (JSON when it is JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `ETag` header.
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn from(response: Response) -> Self {
        Self::read(response).await
    }

    async fn read(response: Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem response with this status and code, and returns its body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            (self.status, self.body["code"].as_str().unwrap_or_default()),
            (status, code),
            "expected a {status} {code} problem, got: {}",
            self.text
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], json!(status));
        assert_eq!(
            self.body["type"],
            json!(format!("urn:azerisiq:eservices:problem:{code}"))
        );
        assert!(
            self.body["title"].is_string() && self.body["detail"].is_string(),
            "{}",
            self.text
        );
        &self.body
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "{}", self.text);
        &self.body
    }

    /// The fields named in a problem's `errors`.
    pub fn fields_at_fault(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Any request; `token` becomes `Authorization: Bearer …`; `body` is sent as JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.request_with(method, path, token, body.as_ref(), &[])
            .await
    }

    /// Any request with extra headers.
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Reply::read(
            request
                .send()
                .await
                .unwrap_or_else(|e| panic!("request to {path} failed: {e}")),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        Reply::read(
            request
                .send()
                .await
                .unwrap_or_else(|e| panic!("request to {path} failed: {e}")),
        )
        .await
    }

    /// A token from the development route.
    async fn dev_token(&self, body: Value) -> String {
        let reply = self
            .request(Method::POST, "/api/v1/dev/tokens", None, Some(body))
            .await;
        reply.assert_status(200);
        reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A development token for `pin` (and `tin`), from the development route.
    pub async fn token(&self, pin: &str, tin: Option<&str>) -> String {
        let mut body = json!({"pin": pin});
        if let Some(tin) = tin {
            body["tin"] = json!(tin);
        }
        self.dev_token(body).await
    }

    /// A development token for a staff member: `role` is `operator` (with a department) or
    /// `supervisor`.
    pub async fn staff_token(
        &self,
        employee_id: &str,
        role: &str,
        department: Option<&str>,
    ) -> String {
        let mut body = json!({"employee_id": employee_id, "roles": [role]});
        if let Some(department) = department {
            body["department"] = json!(department);
        }
        self.dev_token(body).await
    }

    /// A POST with `If-Match: etag` when one is given.
    async fn post_if_match(
        &self,
        path: &str,
        token: &str,
        etag: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut request = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        if let Some(etag) = etag {
            request = request.header("if-match", etag);
        }
        Reply::read(
            request
                .send()
                .await
                .unwrap_or_else(|e| panic!("request to {path} failed: {e}")),
        )
        .await
    }

    /// A staff action with `If-Match: etag`.
    pub async fn act(&self, number: &str, token: &str, etag: Option<&str>, body: Value) -> Reply {
        self.post_if_match(
            &format!("/api/v1/applications/{number}/actions"),
            token,
            etag,
            body,
        )
        .await
    }

    /// A supervisor's reassignment with `If-Match: etag`.
    pub async fn assign(&self, number: &str, token: &str, etag: &str, body: Value) -> Reply {
        self.post_if_match(
            &format!("/api/v1/applications/{number}/assignment"),
            token,
            Some(etag),
            body,
        )
        .await
    }

    /// Reads an application and returns it with its ETag.
    pub async fn read(&self, number: &str, token: &str) -> (Value, String) {
        let reply = self
            .get(&format!("/api/v1/applications/{number}"), Some(token))
            .await;
        reply.assert_status(200);
        let etag = reply
            .headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (reply.body, etag)
    }

    /// Creates an application and returns the reply.
    pub async fn create(&self, token: &str, body: Value) -> Reply {
        self.post("/api/v1/applications", token, body).await
    }

    /// The total of "My applications" for the token's applicant.
    pub async fn my_application_count(&self, token: &str) -> u64 {
        let reply = self.get("/api/v1/me/applications", Some(token)).await;
        reply.assert_status(200);
        reply.body["total"].as_u64().unwrap_or(u64::MAX)
    }
}

/// Runs each test body on SQLite and on PostgreSQL (when configured): one module per scenario,
/// with a `sqlite` and a `postgres` test in it.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let Some($app) = $crate::spawn_app($crate::Backend::Sqlite).await else { return };
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) = $crate::spawn_app($crate::Backend::Postgres).await else {
                        eprintln!("TEST_DATABASE_URL is not set: the PostgreSQL run is skipped");
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

/// The first working day after today (Baku), weekends and the built-in holidays skipped: a
/// date an inspection visit may be scheduled on.
pub fn next_working_day() -> String {
    #[derive(serde::Deserialize)]
    struct Holidays {
        holidays: Vec<chrono::NaiveDate>,
    }
    let holidays: Holidays =
        serde_json::from_str(api::startup::DEFAULT_HOLIDAYS).unwrap_or_else(|e| panic!("{e}"));
    let calendar = domain::service_level::WorkingCalendar::new(holidays.holidays);
    let mut day = domain::service_level::baku_date(chrono::Utc::now());
    loop {
        day = day.succ_opt().unwrap_or(day);
        if calendar.is_working_day(day) {
            return day.format("%Y-%m-%d").to_string();
        }
    }
}

/// The demo people (docs/DEMO_DATA.md).
pub mod fakes;
pub mod outside;
pub mod process;
pub mod demo {
    /// Residential subscriber with two codes, 1000000001 and 1000000002, no debt.
    pub const RESIDENT: &str = "5R7KQ2M";
    /// Last name changed; account 1000000003 still under the old name.
    pub const RENAMED: &str = "5N3HV8A";
    /// New owner of the Nərimanov apartment whose account 1000000004 is held by PREVIOUS_OWNER.
    pub const NEW_OWNER: &str = "5T9BQ4E";
    pub const PREVIOUS_OWNER: &str = "5P2SF6L";
    /// Co-owner of the Sumqayıt property whose account 1000000005 has a debt of 452370 qəpik.
    pub const DEBTOR_PROPERTY_OWNER: &str = "5D6CF1J";
    /// Name changed, account 1000000006 with a debt of 1250 qəpik.
    pub const RENAMED_WITH_DEBT: &str = "5W8NR3V";
    /// Representative of BUSINESS (head codes 50000001 and 50000002).
    pub const BUSINESS_REPRESENTATIVE: &str = "5B1ZF9H";
    pub const BUSINESS: &str = "1700456782";
    /// Representative of OTHER_BUSINESS (head code 50000101).
    pub const OTHER_REPRESENTATIVE: &str = "5C2RZ4N";
    pub const OTHER_BUSINESS: &str = "1300987652";
    /// No accounts, no business.
    pub const NOBODY: &str = "5X0NT7Y";
    /// In no registry at all.
    pub const UNKNOWN_PERSON: &str = "9ZZZ999";
}
