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
    pub floor: Option<FloorReport>,
    /// The lean reference program beside the service (`--side-by-side`).
    pub lean: Option<LeanReport>,
}

/// One program's figures in one scenario: the closed loop's rate and CPU, the open loop's
/// latency at half of that rate (none for the floor), and its failures.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub rate: f64,
    /// Requests counted in the closed loop (the CPU is divided by them).
    pub requests: u64,
    pub cpu: CpuUse,
    /// p50 and p99 at half load, ms.
    pub half: Option<(f64, f64)>,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Figures {
    pub fn of(busiest: &mut Outcome, half: Option<&mut Outcome>, cpu: CpuUse) -> Self {
        let errors = busiest.errors + half.as_ref().map_or(0, |h| h.errors);
        let first_error = busiest
            .first_error
            .clone()
            .or_else(|| half.as_ref().and_then(|h| h.first_error.clone()));
        Self {
            rate: rate(busiest),
            requests: busiest.latencies.len() as u64,
            cpu,
            half: half.map(|h| (h.latencies.percentile_ms(50), h.latencies.percentile_ms(99))),
            errors,
            first_error,
        }
    }

    fn per_request(&self, micros: u64) -> u64 {
        micros / self.requests.max(1)
    }
}

/// A scenario run against the service and then, back to back, against the lean program.
#[derive(Debug)]
pub struct SideBySide {
    pub scenario: Scenario,
    pub service: Figures,
    pub lean: Figures,
}

#[derive(Debug, Default)]
pub struct LeanReport {
    pub start_up: Duration,
    pub idle_kib: u64,
    pub load_kib: u64,
    pub rows: Vec<SideBySide>,
}

/// The cheapest request, measured like a scenario's maximum (`Scenario::Floor`).
#[derive(Debug)]
pub struct FloorReport {
    pub busiest: Outcome,
    pub cpu: CpuUse,
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
        if let Some(floor) = &mut report.floor {
            write_floor(&mut text, floor, &report.scenarios);
        }
        if let Some(lean) = &report.lean {
            write_lean(&mut text, lean, &report.scenarios);
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

/// The floor, and what it allows each scenario at most: a request that cost no more than
/// `GET /health/live` (service and load generator) would still leave the database its replayed
/// work, so the ratio to the ceiling is bounded by the floor's rate over the ceiling's, and, in
/// CPU, by the ceiling's CPU over the floor's plus the replay's PostgreSQL CPU.
fn write_floor(text: &mut String, floor: &mut FloorReport, scenarios: &[ScenarioReport]) {
    let requests = floor.busiest.latencies.len().max(1) as u64;
    let max = rate(&floor.busiest);
    let cpu = floor.cpu;
    let floor_cpu = (cpu.service + cpu.generator) / requests;
    let failed = if floor.busiest.errors > 0 {
        format!(" {} requests failed.", floor.busiest.errors)
    } else {
        String::new()
    };
    let _ = writeln!(
        text,
        "\nThe floor, `GET /health/live` (no token, no database, the same middlewares and load \
         generator): {max:.0} req/s, p50 / p99 {:.2} / {:.2} ms; CPU per request {} µs in the \
         service, {} µs in the load generator.{failed}\n",
        floor.busiest.latencies.percentile_ms(50),
        floor.busiest.latencies.percentile_ms(99),
        cpu.service / requests,
        cpu.generator / requests,
    );
    if scenarios.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "| scenario | 70 % of the ceiling (req/s) | floor / ceiling | ceiling CPU / (floor CPU + replay's PostgreSQL CPU) |\n\
         |---|---:|---:|---:|"
    );
    for s in scenarios {
        let transactions = s.ceiling.latencies.len().max(1) as u64;
        let replay_all = (s.ceiling_cpu.postgres + s.ceiling_cpu.generator) / transactions;
        let replay_postgres = s.ceiling_cpu.postgres / transactions;
        let ceiling = s.ceiling.transactions_per_second.max(1e-9);
        let _ = writeln!(
            text,
            "| {} | {:.0} | {:.0} % | {:.0} % |",
            s.scenario.name(),
            ceiling * 0.7,
            max / ceiling * 100.0,
            replay_all as f64 / (floor_cpu + replay_postgres).max(1) as f64 * 100.0,
        );
    }
}

/// The lean reference program against the service, scenario by scenario.
fn write_lean(text: &mut String, lean: &LeanReport, scenarios: &[ScenarioReport]) {
    let _ = writeln!(
        text,
        "\nThe lean reference program (`eservices-lean`: actix-web and tokio-postgres, no blocking \
         pool, no middlewares or request log; bench/src/lean) beside the service, each scenario run \
         against the service and then against it, the same closed loop and an open loop at half of \
         each one's own maximum. Start-up {:.0} ms; resident memory {:.1} MB idle, {:.1} MB at most \
         under load. CPU per request at the maximum (µs).\n\n\
         | scenario | service req/s | lean req/s | service / lean | service CPU | lean CPU | service p99 at half (ms) | lean p99 at half (ms) | PostgreSQL CPU: service / lean | lean errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        lean.start_up.as_secs_f64() * 1000.0,
        lean.idle_kib as f64 / 1024.0,
        lean.load_kib as f64 / 1024.0,
    );
    let p99 = |f: &Figures| {
        f.half
            .map_or_else(|| "–".to_owned(), |(_, p99)| format!("{p99:.2}"))
    };
    for row in &lean.rows {
        let (s, l) = (&row.service, &row.lean);
        let _ = writeln!(
            text,
            "| {} | {:.0} | {:.0} | {:.0} % | {} | {} | {} | {} | {} / {} | {} |",
            row.scenario.name(),
            s.rate,
            l.rate,
            s.rate / l.rate.max(1e-9) * 100.0,
            s.per_request(s.cpu.service),
            l.per_request(l.cpu.service),
            p99(s),
            p99(l),
            s.per_request(s.cpu.postgres),
            l.per_request(l.cpu.postgres),
            l.errors,
        );
    }
    if let (Some(row), Some(ceiling)) = (
        lean.rows.iter().find(|r| r.scenario == Scenario::Submit),
        scenarios.iter().find(|s| s.scenario == Scenario::Submit),
    ) {
        let tps = ceiling.ceiling.transactions_per_second.max(1e-9);
        let _ = writeln!(
            text,
            "\nSubmit against its pgbench ceiling ({tps:.0} tx/s): the service {:.0} %, the lean \
             program {:.0} %.",
            row.service.rate / tps * 100.0,
            row.lean.rate / tps * 100.0,
        );
    }
    for row in &lean.rows {
        if let Some(error) = &row.lean.first_error {
            let _ = writeln!(
                text,
                "\nFirst error of the lean program in {}: {error}",
                row.scenario.name()
            );
        }
    }
}

/// The smoke run checks that every part ran and every request succeeded, not how fast.
pub fn check_smoke(reports: &[SizeReport]) -> Result<()> {
    for report in reports {
        if let Some(lean) = &report.lean {
            if lean.rows.is_empty() {
                bail!("the lean program ran no scenario");
            }
            for row in &lean.rows {
                let name = row.scenario.name();
                if row.lean.errors > 0 {
                    bail!(
                        "lean program, {name}: {} failed requests; first: {:?}",
                        row.lean.errors,
                        row.lean.first_error
                    );
                }
                if row.lean.requests == 0 {
                    bail!("lean program, {name}: no request was measured");
                }
            }
        }
        match &report.floor {
            Some(floor) if floor.busiest.errors > 0 => bail!(
                "floor: {} failed requests; first: {:?}",
                floor.busiest.errors,
                floor.busiest.first_error
            ),
            Some(floor) if floor.busiest.latencies.len() == 0 => {
                bail!("floor: no request was measured")
            }
            // Left out by `--only`.
            Some(_) | None => {}
        }
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
