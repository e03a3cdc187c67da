//! The server as a separate process, for the tests that kill it (SIGKILL, SIGTERM) and start it
//! again on the same database.
#![allow(clippy::panic, reason = "a test harness fails tests by panicking")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static BINARY: OnceLock<PathBuf> = OnceLock::new();

/// The `eservices` binary of this build, built once per test run: cargo builds only the test
/// package's targets for `cargo test`, and the binary is the API package's. Its dependencies are
/// built already, so this links one binary.
pub fn server_binary() -> PathBuf {
    BINARY
        .get_or_init(|| {
            // The test executable is target/<profile>/deps/api-…; the binary goes to target/<profile>.
            let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
                .to_owned();
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
            let mut build = Command::new(cargo);
            build.args([
                "build",
                "--quiet",
                "-p",
                "eservices-api",
                "--bin",
                "eservices",
            ]);
            if release {
                build.arg("--release");
            }
            let status = build
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
            assert!(status.success(), "building the server binary failed");
            let binary = profile_dir.join("eservices");
            assert!(binary.exists(), "no binary at {}", binary.display());
            binary
        })
        .clone()
}

/// A running `eservices serve` process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub address: String,
    pub log: PathBuf,
}

/// The settings of a test server as environment variables (see `test_settings`).
pub fn environment(
    database_url: &str,
    data_dir: &Path,
    port: u16,
    overrides: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = [
        ("APP_MODE", "development"),
        ("HOST", "127.0.0.1"),
        ("WORKERS", "2"),
        ("DATABASE_POOL_SIZE", "4"),
        ("LOG_FORMAT", "text"),
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    values.push(("DATABASE_URL".to_owned(), database_url.to_owned()));
    values.push(("DATA_DIR".to_owned(), data_dir.display().to_string()));
    values.push(("PORT".to_owned(), port.to_string()));
    for (key, value) in overrides {
        values.retain(|(k, _)| k != key);
        values.push(((*key).to_owned(), (*value).to_owned()));
    }
    values
}

impl ServerProcess {
    /// Starts the server with exactly `environment` (plus PATH) and waits until it answers.
    pub async fn start(environment: &[(String, String)], log: &Path) -> Self {
        let port = environment
            .iter()
            .find(|(k, _)| k == "PORT")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("PORT must be set"));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{e}"));
        let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(server_binary())
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the server: {e}"));
        let server = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        server.wait_until_ready(Duration::from_secs(60)).await;
        server
    }

    async fn wait_until_ready(&self, limit: Duration) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < limit {
            let health = client
                .get(format!("{}/health", self.address))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the server did not start in {limit:?}; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`KILL`, `TERM`) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(sent.success(), "kill -{name} failed");
    }

    /// Waits up to `limit` for the process to end.
    pub async fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
