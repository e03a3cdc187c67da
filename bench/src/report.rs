//! The report: per data set size, each scenario's throughput and latency against its ceiling,
//! memory and start-up; and the sizes side by side.

use crate::drive::Outcome;
use crate::pgbench::Ceiling;
use crate::workload::Scenario;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::time::Duration;

/// CPU microseconds used in a measurement window, by process.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuUse {
    pub service: u64,
    /// The load generator, or pgbench for the ceiling.
    pub generator: u64,
    pub postgres: u64,
}

#[derive(Debug)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    /// CPU of the closed loop's counted part.
    pub service_cpu: CpuUse,
    /// CPU of the pgbench run.
    pub ceiling_cpu: CpuUse,
    /// Statements the service runs for one request (the capture's average).
    pub statements: usize,
    /// The closed loop: the maximum throughput.
    pub busiest: Outcome,
    /// The open loop at half of it.
    pub half: Outcome,
    pub ceiling: Ceiling,
}

#[derive(Debug)]
pub struct SizeReport {
    pub applications: u64,
    /// "applications timeline-entries" as counted after loading.
    pub rows: String,
    pub load_time: Duration,
    pub start_up_empty: Duration,
    pub start_up_loaded: Duration,
    pub idle_kib: u64,
    pub load_kib: u64,
    pub scenarios: Vec<ScenarioReport>,
}

fn rate(outcome: &Outcome) -> f64 {
    outcome.latencies.len() as f64 / outcome.elapsed.as_secs_f64().max(1e-9)
}

pub fn markdown(
    connections: usize,
    callers: usize,
    seconds: u64,
    reports: &mut [SizeReport],
) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Pool and pgbench connections: {connections}; closed-loop callers: {callers}; {seconds} s a measurement.\n"
    );
    for report in reports.iter_mut() {
        let _ = writeln!(
            text,
            "## {} applications\n\nLoaded {} (applications, timeline entries) in {:.1} s. \
             Start-up: {:.0} ms on an empty database (migrations and demo seed), {:.0} ms on the loaded one. \
             Resident memory: {:.1} MB idle, {:.1} MB at most under load.\n",
            report.applications,
            report.rows.replace(' ', ", "),
            report.load_time.as_secs_f64(),
            report.start_up_empty.as_secs_f64() * 1000.0,
            report.start_up_loaded.as_secs_f64() * 1000.0,
            report.idle_kib as f64 / 1024.0,
            report.load_kib as f64 / 1024.0,
        );
        let _ = writeln!(
            text,
            "| scenario | SQL/request | service max (req/s) | p50 / p99 at max (ms) | ceiling (tx/s) | ceiling p50 / p99 (ms) | service / ceiling | rate at half (req/s) | p50 / p99 at half (ms) | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for s in &mut report.scenarios {
            let max = rate(&s.busiest);
            let half_rate = rate(&s.half);
            let ratio = max / s.ceiling.transactions_per_second.max(1e-9);
            let _ = writeln!(
                text,
                "| {} | {} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {:.0} % | {:.0} | {:.2} / {:.2} | {} |",
                s.scenario.name(),
                s.statements,
                max,
                s.busiest.latencies.percentile_ms(50),
                s.busiest.latencies.percentile_ms(99),
                s.ceiling.transactions_per_second,
                s.ceiling.latencies.percentile_ms(50),
                s.ceiling.latencies.percentile_ms(99),
                ratio * 100.0,
                half_rate,
                s.half.latencies.percentile_ms(50),
                s.half.latencies.percentile_ms(99),
                s.busiest.errors + s.half.errors + s.ceiling.failed,
            );
        }
        let _ = writeln!(
            text,
            "\nCPU time per request at the maximum (µs), and per replayed transaction:\n\n\
             | scenario | service | load generator | PostgreSQL | all | ceiling: PostgreSQL | pgbench | all |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for s in &report.scenarios {
            let requests = s.busiest.latencies.len().max(1) as u64;
            let transactions = s.ceiling.latencies.len().max(1) as u64;
            let c = s.service_cpu;
            let p = s.ceiling_cpu;
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                s.scenario.name(),
                c.service / requests,
                c.generator / requests,
                c.postgres / requests,
                (c.service + c.generator + c.postgres) / requests,
                p.postgres / transactions,
                p.generator / transactions,
                (p.postgres + p.generator) / transactions,
            );
        }
        for s in &report.scenarios {
            for outcome in [&s.busiest, &s.half] {
                if let Some(error) = &outcome.first_error {
                    let _ = writeln!(text, "\nFirst error of {}: {error}", s.scenario.name());
                }
            }
        }
        text.push('\n');
    }
    if reports.len() > 1 {
        let _ = writeln!(
            text,
            "## The sizes side by side (p50 at half of the maximum, ms)\n"
        );
        let _ = write!(text, "| scenario |");
        for report in reports.iter() {
            let _ = write!(text, " {} |", report.applications);
        }
        let _ = writeln!(text, " largest / smallest |");
        let _ = writeln!(text, "|---|{}---:|", "---:|".repeat(reports.len()));
        for scenario in Scenario::ALL {
            let mut values = Vec::new();
            for report in reports.iter_mut() {
                if let Some(s) = report.scenarios.iter_mut().find(|s| s.scenario == scenario) {
                    values.push(s.half.latencies.percentile_ms(50));
                }
            }
            let _ = write!(text, "| {} |", scenario.name());
            for v in &values {
                let _ = write!(text, " {v:.2} |");
            }
            let ratio = match (values.first(), values.last()) {
                (Some(first), Some(last)) if *first > 0.0 => last / first,
                _ => 0.0,
            };
            let _ = writeln!(text, " {ratio:.2} |");
        }
    }
    text
}

/// The smoke run checks that every part ran and every request succeeded, not how fast.
pub fn check_smoke(reports: &[SizeReport]) -> Result<()> {
    for report in reports {
        for s in &report.scenarios {
            let name = s.scenario.name();
            if s.busiest.errors + s.half.errors > 0 {
                bail!(
                    "{name}: {} failed requests; first: {:?}",
                    s.busiest.errors + s.half.errors,
                    s.busiest
                        .first_error
                        .as_ref()
                        .or(s.half.first_error.as_ref())
                );
            }
            if s.busiest.latencies.len() == 0 || s.half.latencies.len() == 0 {
                bail!("{name}: no request was measured");
            }
            if s.ceiling.latencies.len() == 0 || s.ceiling.failed > 0 {
                bail!("{name}: the pgbench replay did not run cleanly");
            }
            if s.statements == 0 {
                bail!("{name}: no SQL was captured");
            }
        }
    }
    Ok(())
}
