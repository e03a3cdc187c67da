//! The service under test: the `eservices` binary of the chosen profile, started as its own
//! process so that its memory and start-up are its own.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds `eservices` with cargo in the chosen profile and gives its path.
pub fn build(release: bool) -> Result<PathBuf> {
    build_binary("eservices-api", "eservices", release)
}

/// Builds the lean reference program (`eservices-lean`, this crate's second binary) the same way.
pub fn build_lean(release: bool) -> Result<PathBuf> {
    build_binary("eservices-bench", "eservices-lean", release)
}

fn build_binary(package: &str, bin: &str, release: bool) -> Result<PathBuf> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", package, "--bin", bin]);
    if release {
        command.arg("--release");
    }
    let status = command
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("building {bin} failed");
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target
        .join(if release { "release" } else { "debug" })
        .join(bin);
    if !binary.exists() {
        bail!("no binary at {}", binary.display());
    }
    Ok(binary)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// Resident memory of a process now (VmRSS, from /proc), in KiB.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// A running `eservices serve`.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub base: String,
    /// From spawning the process to the first answer of `/health`.
    pub start_up: Duration,
}

impl Service {
    pub async fn start(
        binary: &Path,
        environment: &[(String, String)],
        port: u16,
        log: &Path,
    ) -> Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let err = out.try_clone()?;
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("starting the service")?;
        let mut service = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            start_up: Duration::ZERO,
        };
        let client = reqwest::Client::new();
        let deadline = started + Duration::from_secs(300);
        loop {
            if let Ok(response) = client
                .get(format!("{}/health", service.base))
                .timeout(Duration::from_millis(500))
                .send()
                .await
                && response.status().is_success()
            {
                service.start_up = started.elapsed();
                return Ok(service);
            }
            if let Some(status) = service.child.try_wait()? {
                bail!("the service exited with {status}: see {}", log.display());
            }
            if Instant::now() > deadline {
                bail!(
                    "the service did not answer in 5 minutes: see {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Resident memory now, from /proc.
    pub fn resident_kib(&self) -> Result<u64> {
        resident_kib(self.child.id()).context("no VmRSS in /proc/…/status")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the service as an orchestrator would (SIGTERM) and waits for it.
    pub fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the service did not stop on SIGTERM within 40 s")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
