//! pgbench replaying the captured scripts: the same statements, the same number of
//! connections, no HTTP, no Rust. Its throughput is the ceiling the service is measured against.

use crate::cluster::Cluster;
use crate::stats::Latencies;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Ceiling {
    pub transactions_per_second: f64,
    pub latencies: Latencies,
    pub failed: u64,
}

pub fn run(
    cluster: &Cluster,
    database: &str,
    scripts: &[PathBuf],
    definitions: &[(String, String)],
    connections: usize,
    duration: Duration,
    log_dir: &Path,
) -> Result<Ceiling> {
    if scripts.is_empty() {
        bail!("no scripts to replay");
    }
    if log_dir.exists() {
        std::fs::remove_dir_all(log_dir)?;
    }
    std::fs::create_dir_all(log_dir)?;
    let prefix = log_dir.join("pgbench");
    let mut command = cluster.client("pgbench");
    command.args([
        "-n",
        "-M",
        "prepared",
        "-c",
        &connections.to_string(),
        "-j",
        &connections.min(2).to_string(),
        "-T",
        &duration.as_secs().max(1).to_string(),
        "-l",
    ]);
    command.arg(format!("--log-prefix={}", prefix.display()));
    for script in scripts {
        command.arg("-f").arg(script);
    }
    for (name, value) in definitions {
        command.arg("-D").arg(format!("{name}={value}"));
    }
    command.arg(database);
    let output = command.output().context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}{stdout}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let transactions_per_second = stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("tps = ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|tps| tps.parse::<f64>().ok())
        })
        .with_context(|| format!("no tps in pgbench's output: {stdout}"))?;
    let failed = stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("number of failed transactions: ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or_default();
    // Per-transaction log lines: client, transaction, latency in µs, script, epoch, µs.
    let mut latencies = Latencies::default();
    for entry in std::fs::read_dir(log_dir)? {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        latencies.extend(
            text.lines()
                .filter_map(|line| line.split_whitespace().nth(2))
                .filter_map(|micros| micros.parse::<u64>().ok()),
        );
    }
    Ok(Ceiling {
        transactions_per_second,
        latencies,
        failed,
    })
}
