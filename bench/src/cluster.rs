//! A PostgreSQL cluster of the benchmark's own: made with initdb in the output folder, on its
//! own port, with known settings, so that figures do not depend on how the host's server is
//! tuned, and with its log as CSV, from which the capture reads the service's statements.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    as_root: bool,
}

/// The settings the benchmark runs PostgreSQL with: durable commits (fsync and synchronous
/// commit stay on, as in production), enough shared buffers for the 1 million data set, and
/// the CSV log the capture parses. Statement logging is switched on only while capturing.
const SETTINGS: &[&str] = &[
    "listen_addresses=127.0.0.1",
    "max_connections=200",
    "shared_buffers=512MB",
    "effective_cache_size=4GB",
    "work_mem=16MB",
    "maintenance_work_mem=512MB",
    "max_wal_size=4GB",
    "logging_collector=on",
    "log_destination=csvlog",
    "log_filename=postgres",
    "log_parameter_max_length=-1",
    // In the cluster's log, to tell whether a stall in the measurements was one of these.
    "log_checkpoints=on",
    "log_autovacuum_min_duration=0",
];

impl Cluster {
    /// Creates and starts the cluster in `dir` (removed first if it exists).
    pub fn create(dir: &Path, port: u16) -> Result<Self> {
        let versions = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL's programs are not installed (Debian's postgresql package)")?;
        let bin = versions
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pgbench").exists())
            .max()
            .context("no initdb and pgbench under /usr/lib/postgresql")?;
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("log"))?;
        if as_root {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir)
                    .output()?,
                "chown",
            )?;
        }
        let cluster = Self {
            dir: dir.to_owned(),
            bin,
            port,
            as_root,
        };
        check(
            cluster
                .tool("initdb")
                .arg("-D")
                .arg(cluster.data())
                .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
                .output()?,
            "initdb",
        )?;
        cluster.start()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The postmaster's process id (its backends are its children).
    pub fn postmaster_pid(&self) -> Result<u32> {
        let text = std::fs::read_to_string(self.data().join("postmaster.pid"))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .context("no process id in postmaster.pid")
    }

    /// The CSV log PostgreSQL writes (the capture reads it).
    pub fn csv_log(&self) -> PathBuf {
        self.dir.join("log").join("postgres.csv")
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// A client program (psql, pgbench): they connect over TCP and need no user switch.
    pub fn client(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
        ]);
        command
    }

    fn start(&self) -> Result<()> {
        let mut options = format!(
            "-p {} -k {} -c log_directory={}",
            self.port,
            self.dir.display(),
            self.dir.join("log").display()
        );
        for setting in SETTINGS {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        check(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("pg_ctl.log"))
                .args(["-w", "-o", &options, "start"])
                .output()?,
            "pg_ctl start",
        )
    }

    pub fn stop(&self) -> Result<()> {
        check(
            self.tool("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "stop"])
                .output()?,
            "pg_ctl stop",
        )
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL (one statement or a script) in `database` and gives back what it printed,
    /// unaligned and without headers.
    pub fn sql(&self, database: &str, sql: &str) -> Result<String> {
        let output = self
            .client("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database,
            ])
            .arg("-c")
            .arg(sql)
            .output()
            .context("running psql")?;
        check_ref(&output, "psql")?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a script file in one session (temporary tables live through it).
    pub fn script(&self, database: &str, script: &str) -> Result<()> {
        let path = self.dir.join("script.sql");
        std::fs::write(&path, script)?;
        let output = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f"])
            .arg(&path)
            .output()
            .context("running psql")?;
        check(output, "psql script")
    }

    /// Switches statement logging on or off for the whole cluster (the capture's window).
    pub fn log_statements(&self, on: bool) -> Result<()> {
        let value = if on { "all" } else { "none" };
        self.sql(
            "postgres",
            &format!("ALTER SYSTEM SET log_statement = '{value}'"),
        )?;
        self.sql("postgres", "SELECT pg_reload_conf()")?;
        // The reload reaches the other backends when they next read their configuration: at
        // their next command. Give the signal time to arrive.
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn check_ref(output: &Output, what: &str) -> Result<()> {
    if output.status.success() {
        Ok(())
    } else {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        )
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "takes what Command::output gives"
)]
fn check(output: Output, what: &str) -> Result<()> {
    check_ref(&output, what)
}
