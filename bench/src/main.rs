//! The benchmark (docs/BENCHMARKS.md): one command builds the service in release mode, makes a
//! PostgreSQL cluster of its own, loads a data set of each chosen size, starts the service, drives
//! each scenario from this process over loopback, captures the SQL the service issued for it and
//! replays that SQL with pgbench as the ceiling, and writes a report.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::float_arithmetic,
    clippy::as_conversions,
    reason = "a measuring tool: it prints its report, and rates and ratios are floats"
)]

mod capture;
mod cluster;
mod cpu;
mod drive;
mod pgbench;
mod report;
mod service;
mod stats;
mod workload;

use anyhow::{Context, Result, bail};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use workload::{Scenario, Workload};

#[derive(Debug, Parser)]
#[command(
    name = "eservices-bench",
    about = "The service under load, measured against pgbench replaying its own SQL (docs/BENCHMARKS.md)"
)]
struct Options {
    /// Data set sizes in applications, comma-separated; each gets a database of its own.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    applications: Vec<u64>,
    /// Database connections of the service's pool, and of pgbench.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Concurrent HTTP callers in the closed loop that finds the maximum throughput.
    #[arg(long, default_value_t = 16)]
    callers: usize,
    /// Seconds each measurement counts (after a warm-up of a third of it).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Sample requests captured per scenario (each becomes one pgbench script).
    #[arg(long, default_value_t = 16)]
    samples: usize,
    /// Where the report, the captured scripts and the logs go.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// A run of seconds that checks the benchmark works: a small data set, a debug build, one
    /// second a measurement. Its figures mean nothing.
    #[arg(long)]
    smoke: bool,
    /// Only these scenarios (my-applications, application-detail, inbox, debt-check, submit,
    /// and `floor`: `GET /health/live`, the cheapest request there is).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Port of the benchmark's own PostgreSQL.
    #[arg(long, default_value_t = 54329)]
    pg_port: u16,
    /// Port of the service.
    #[arg(long, default_value_t = 58080)]
    port: u16,
    /// Measure this `eservices` binary instead of building one: to compare two builds in one
    /// sitting (run-to-run spread on a shared machine is larger than many changes' effect).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Also run the lean reference program (`eservices-lean`) on the same database, each of the
    /// floor, my-applications, application-detail and submit right after the service's run of
    /// it, and report the two side by side. On with `--smoke`.
    #[arg(long)]
    side_by_side: bool,
    /// Measure this `eservices-lean` binary instead of building one.
    #[arg(long)]
    lean_binary: Option<PathBuf>,
    /// Port of the lean program.
    #[arg(long, default_value_t = 58081)]
    lean_port: u16,
}

/// The scenarios the lean program serves.
const LEAN_SCENARIOS: [Scenario; 4] = [
    Scenario::Floor,
    Scenario::MyApplications,
    Scenario::Detail,
    Scenario::Submit,
];

fn main() -> ExitCode {
    let mut options = Options::parse();
    if options.smoke {
        options.applications = vec![2000];
        options.seconds = 1;
        options.samples = 2;
        options.connections = options.connections.min(4);
        options.callers = options.callers.min(8);
        options.side_by_side = true;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("eservices-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eservices-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<()> {
    let root = service::workspace_root();
    let out = if options.out.is_absolute() {
        options.out.clone()
    } else {
        root.join(&options.out)
    };
    std::fs::create_dir_all(&out)?;
    let binary = if let Some(binary) = &options.binary {
        binary.clone()
    } else {
        eprintln!(
            "building the service ({})",
            if options.smoke { "debug" } else { "release" }
        );
        service::build(!options.smoke)?
    };
    let lean_binary = match (&options.lean_binary, options.side_by_side) {
        (Some(binary), _) => Some(binary.clone()),
        (None, true) => {
            eprintln!("building the lean program");
            Some(service::build_lean(!options.smoke)?)
        }
        (None, false) => None,
    };
    let cluster_dir = std::env::temp_dir().join(format!("eservices-bench-pg-{}", options.pg_port));
    eprintln!("starting PostgreSQL in {}", cluster_dir.display());
    let cluster = cluster::Cluster::create(&cluster_dir, options.pg_port)?;
    let mut reports = Vec::new();
    for &size in &options.applications {
        reports.push(
            run_size(
                options,
                &cluster,
                (&binary, lean_binary.as_deref()),
                &out,
                size,
            )
            .await?,
        );
    }
    cluster.stop()?;
    let text = report::markdown(
        options.connections,
        options.callers,
        options.seconds,
        &mut reports,
    );
    let name = if options.smoke {
        "smoke.md"
    } else {
        "report.md"
    };
    std::fs::write(out.join(name), &text)?;
    println!("{text}");
    eprintln!("written to {}", out.join(name).display());
    if options.smoke {
        report::check_smoke(&reports)?;
    }
    Ok(())
}

fn environment(
    options: &Options,
    database_url: &str,
    data_dir: &std::path::Path,
) -> Vec<(String, String)> {
    [
        ("APP_MODE", "development"),
        ("HOST", "127.0.0.1"),
        ("PORT", &options.port.to_string()),
        ("DATABASE_URL", database_url),
        ("DATA_DIR", &data_dir.display().to_string()),
        ("DATABASE_POOL_SIZE", &options.connections.to_string()),
        // The outbox is delivered by a worker of its own in this measurement: its sending is
        // not the request path the scenarios measure.
        ("DISPATCHER", "off"),
        // A few hundred callers send thousands of requests a second each: a per-caller limit
        // would measure the limiter.
        ("RATE_LIMIT_PER_MINUTE", "0"),
        ("LOG_FORMAT", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn run_size(
    options: &Options,
    cluster: &cluster::Cluster,
    (binary, lean_binary): (&std::path::Path, Option<&std::path::Path>),
    out: &std::path::Path,
    size: u64,
) -> Result<report::SizeReport> {
    let database = format!("bench_{size}");
    let dir = out.join(&database);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("service.log");
    let data_dir = dir.join("data");
    cluster.sql("postgres", &format!("DROP DATABASE IF EXISTS {database}"))?;
    cluster.sql("postgres", &format!("CREATE DATABASE {database}"))?;
    let env = environment(options, &cluster.url(&database), &data_dir);

    // Start-up on an empty database: the migrations and the demo seed run first.
    eprintln!("[{size}] start-up on an empty database");
    let first = service::Service::start(binary, &env, options.port, &log).await?;
    let start_up_empty = first.start_up;
    first.stop()?;

    eprintln!("[{size}] loading {size} applications");
    // Each submission takes a fresh account (four a submitter); side by side, the lean program
    // submits as many again.
    let submitters = if options.smoke { 1000 } else { 25_000 };
    let loading = Instant::now();
    let citizens = (size / 4).max(100);
    cluster.script(
        &database,
        &include_str!("../sql/dataset.sql")
            .replace("{applications}", &size.to_string())
            .replace("{citizens}", &citizens.to_string())
            .replace("{submitters}", &submitters.to_string()),
    )?;
    // A database in service has been vacuumed and checkpointed: without this, autovacuum's
    // first pass over the fresh rows and the checkpoint of the load's writes would fall into the
    // measurements.
    cluster.sql(&database, "VACUUM (ANALYZE)")?;
    cluster.sql(&database, "CHECKPOINT")?;
    let load_time = loading.elapsed();
    let counted = cluster.sql(
        &database,
        "SELECT (SELECT count(*) FROM applications) || ' ' || (SELECT count(*) FROM application_timeline)",
    )?;

    eprintln!("[{size}] start-up on the loaded database");
    let service = service::Service::start(binary, &env, options.port, &log).await?;
    let start_up_loaded = service.start_up;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_kib = service.resident_kib()?;

    let workload = Arc::new(
        Workload::prepare(
            cluster,
            &database,
            &service.base,
            1000,
            submitters.min(if lean_binary.is_some() { 10_000 } else { 5000 }),
        )
        .await?,
    );

    eprintln!("[{size}] capturing the SQL of each scenario");
    let captured = capture_all(options, cluster, &database, &service.base, &workload).await?;

    let mut lean = match lean_binary {
        Some(lean_binary) => {
            eprintln!("[{size}] starting the lean program");
            let mut lean_env = env.clone();
            for (name, value) in &mut lean_env {
                if name == "PORT" {
                    *value = options.lean_port.to_string();
                }
            }
            let lean = service::Service::start(
                lean_binary,
                &lean_env,
                options.lean_port,
                &dir.join("lean.log"),
            )
            .await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            same_answers(&service.base, &lean.base, &workload).await?;
            let report = report::LeanReport {
                start_up: lean.start_up,
                idle_kib: lean.resident_kib()?,
                ..Default::default()
            };
            Some((lean, report))
        }
        None => None,
    };
    let lean_peak = Arc::new(AtomicU64::new(0));

    let mut scenarios = Vec::new();
    let peak = Arc::new(AtomicU64::new(0));
    for scenario in Scenario::ALL {
        if !options.only.is_empty() && !options.only.iter().any(|o| o == scenario.name()) {
            continue;
        }
        eprintln!("[{size}] {}", scenario.name());
        let warm_up = Duration::from_millis(options.seconds * 1000 / 3);
        let measure = Duration::from_secs(options.seconds);
        let sampling = Arc::new(AtomicBool::new(true));
        let sampler = sample_memory(service.pid(), sampling.clone(), peak.clone());
        let postmaster = cluster.postmaster_pid()?;
        let window = cpu_window(service.pid(), postmaster, warm_up, measure);
        let mut busiest = drive::closed_loop(
            &service.base,
            &workload,
            scenario,
            options.callers,
            warm_up,
            measure,
        )
        .await?;
        let service_cpu = window.await?;
        let max_rate = busiest.latencies.len() as f64 / measure.as_secs_f64();
        let mut half = drive::open_loop(
            &service.base,
            &workload,
            scenario,
            (max_rate / 2.0).round().max(1.0) as u64,
            warm_up,
            measure,
        )
        .await?;
        sampling.store(false, Ordering::Relaxed);
        let _ = sampler.join();
        if let Some((program, report)) = &mut lean
            && LEAN_SCENARIOS.contains(&scenario)
        {
            eprintln!("[{size}] {} (lean)", scenario.name());
            let service = report::Figures::of(&mut busiest, Some(&mut half), service_cpu);
            let lean =
                measure_lean(options, program, cluster, &workload, scenario, &lean_peak).await?;
            report.rows.push(report::SideBySide {
                scenario,
                service,
                lean,
            });
        }
        write_timeline(
            &dir.join(format!("{}-half-load.csv", scenario.name())),
            &half.timeline,
        )?;
        let samples = captured
            .get(scenario.name())
            .context("a scenario without captured SQL")?;
        let (scripts, definitions) =
            capture::write_scripts(&dir.join("scripts"), scenario.name(), samples)?;
        // Warm the replay's connections and plans as the service's are warm.
        pgbench::run(
            cluster,
            &database,
            &scripts,
            &definitions,
            options.connections,
            warm_up.max(Duration::from_secs(1)),
            &dir.join("pgbench-warm-up"),
        )?;
        let (pg_before, bench_before) = (cpu::cluster_micros(postmaster), cpu::own_micros().1);
        let ceiling = pgbench::run(
            cluster,
            &database,
            &scripts,
            &definitions,
            options.connections,
            measure,
            &dir.join(format!("pgbench-{}", scenario.name())),
        )?;
        let ceiling_cpu = report::CpuUse {
            service: 0,
            generator: cpu::own_micros().1.saturating_sub(bench_before),
            postgres: cpu::cluster_micros(postmaster).saturating_sub(pg_before),
        };
        scenarios.push(report::ScenarioReport {
            scenario,
            service_cpu,
            ceiling_cpu,
            statements: samples.iter().map(|s| s.statements.len()).sum::<usize>()
                / samples.len().max(1),
            busiest,
            half,
            ceiling,
        });
    }
    let floor = if options.only.is_empty() || options.only.iter().any(|o| o == "floor") {
        eprintln!("[{size}] floor");
        let warm_up = Duration::from_millis(options.seconds * 1000 / 3);
        let measure = Duration::from_secs(options.seconds);
        let window = cpu_window(service.pid(), cluster.postmaster_pid()?, warm_up, measure);
        let mut busiest = drive::closed_loop(
            &service.base,
            &workload,
            Scenario::Floor,
            options.callers,
            warm_up,
            measure,
        )
        .await?;
        let cpu = window.await?;
        if let Some((program, report)) = &mut lean {
            eprintln!("[{size}] floor (lean)");
            let service = report::Figures::of(&mut busiest, None, cpu);
            let lean = measure_lean(
                options,
                program,
                cluster,
                &workload,
                Scenario::Floor,
                &lean_peak,
            )
            .await?;
            report.rows.push(report::SideBySide {
                scenario: Scenario::Floor,
                service,
                lean,
            });
        }
        Some(report::FloorReport { busiest, cpu })
    } else {
        None
    };
    let load_kib = peak.load(Ordering::Relaxed);
    service.stop()?;
    let lean = match lean {
        Some((program, mut report)) => {
            program.stop()?;
            report.load_kib = lean_peak.load(Ordering::Relaxed).max(report.idle_kib);
            // The floor comes last in the run but first in the table.
            report
                .rows
                .sort_by_key(|r| LEAN_SCENARIOS.iter().position(|s| *s == r.scenario));
            Some(report)
        }
        None => None,
    };
    Ok(report::SizeReport {
        applications: size,
        rows: counted.trim().to_owned(),
        load_time,
        start_up_empty,
        start_up_loaded,
        idle_kib,
        load_kib,
        scenarios,
        floor,
        lean,
    })
}

/// The lean program is a yardstick only if it answers what the service answers: the same
/// JSON for the same reads (a few callers of each), and a submission of the same shape (the same
/// fields, each of the same JSON type; numbers and times differ, so values are not compared).
async fn same_answers(service: &str, lean: &str, workload: &Workload) -> Result<()> {
    let client = drive::client(2)?;
    let answer = |base: &'static str, request: workload::Request| {
        let client = client.clone();
        let base = if base == "service" { service } else { lean }.to_owned();
        async move {
            let (status, body) = drive::send(&client, &base, request).await?;
            let value: serde_json::Value = serde_json::from_str(&body)
                .with_context(|| format!("the answer is not JSON: {body}"))?;
            Ok::<_, anyhow::Error>((status, value))
        }
    };
    for scenario in [Scenario::MyApplications, Scenario::Detail] {
        for i in 0..3 {
            let from_service = answer("service", workload.request(scenario, i)?).await?;
            let from_lean = answer("lean", workload.request(scenario, i)?).await?;
            if from_service != from_lean {
                bail!(
                    "{}: the lean program answers {} {}, the service {} {}",
                    scenario.name(),
                    from_lean.0,
                    from_lean.1,
                    from_service.0,
                    from_service.1
                );
            }
        }
    }
    let (service_status, from_service) =
        answer("service", workload.request(Scenario::Submit, 0)?).await?;
    let (lean_status, from_lean) = answer("lean", workload.request(Scenario::Submit, 0)?).await?;
    if (service_status, shape(&from_service)) != (lean_status, shape(&from_lean)) {
        bail!(
            "submit: the lean program answers {lean_status} {from_lean}, the service \
             {service_status} {from_service}"
        );
    }
    Ok(())
}

/// A JSON value's shape: every path with the type found there.
fn shape(value: &serde_json::Value) -> Vec<(String, &'static str)> {
    fn walk(value: &serde_json::Value, path: &str, out: &mut Vec<(String, &'static str)>) {
        use serde_json::Value;
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{i}"), out);
                }
                "array"
            }
            Value::Object(fields) => {
                for (name, field) in fields {
                    walk(field, &format!("{path}/{name}"), out);
                }
                "object"
            }
        };
        out.push((path.to_owned(), kind));
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out.sort();
    out
}

/// One scenario against the lean program: the closed loop (with the CPU of the lean program,
/// the generator and PostgreSQL over its counted part) and, but for the floor, the open loop at
/// half of the lean program's own maximum; its memory sampled meanwhile.
async fn measure_lean(
    options: &Options,
    lean: &service::Service,
    cluster: &cluster::Cluster,
    workload: &Arc<Workload>,
    scenario: Scenario,
    peak: &Arc<AtomicU64>,
) -> Result<report::Figures> {
    let warm_up = Duration::from_millis(options.seconds * 1000 / 3);
    let measure = Duration::from_secs(options.seconds);
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = sample_memory(lean.pid(), sampling.clone(), peak.clone());
    let window = cpu_window(lean.pid(), cluster.postmaster_pid()?, warm_up, measure);
    let mut busiest = drive::closed_loop(
        &lean.base,
        workload,
        scenario,
        options.callers,
        warm_up,
        measure,
    )
    .await?;
    let cpu = window.await?;
    let mut half = if scenario == Scenario::Floor {
        None
    } else {
        let max_rate = busiest.latencies.len() as f64 / measure.as_secs_f64();
        Some(
            drive::open_loop(
                &lean.base,
                workload,
                scenario,
                (max_rate / 2.0).round().max(1.0) as u64,
                warm_up,
                measure,
            )
            .await?,
        )
    };
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    Ok(report::Figures::of(&mut busiest, half.as_mut(), cpu))
}

/// The CPU time each process used from `warm_up` on, for `measure`: taken by a task of its own
/// while the load runs.
fn cpu_window(
    service: u32,
    postmaster: u32,
    warm_up: Duration,
    measure: Duration,
) -> tokio::task::JoinHandle<report::CpuUse> {
    let from = tokio::time::Instant::now() + warm_up;
    tokio::spawn(async move {
        tokio::time::sleep_until(from).await;
        let before = (
            cpu::process_micros(service, false),
            cpu::own_micros().0,
            cpu::cluster_micros(postmaster),
        );
        tokio::time::sleep_until(from + measure).await;
        report::CpuUse {
            service: cpu::process_micros(service, false).saturating_sub(before.0),
            generator: cpu::own_micros().0.saturating_sub(before.1),
            postgres: cpu::cluster_micros(postmaster).saturating_sub(before.2),
        }
    })
}

/// Sends `samples` requests of each scenario one at a time between markers, with statement
/// logging on, and reads back what the service's connections ran for each.
async fn capture_all(
    options: &Options,
    cluster: &cluster::Cluster,
    database: &str,
    base: &str,
    workload: &Workload,
) -> Result<std::collections::BTreeMap<String, Vec<capture::Captured>>> {
    let log = cluster.csv_log();
    let offset = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let client = drive::client(1)?;
    cluster.log_statements(true)?;
    let mut expected = Vec::new();
    for scenario in Scenario::ALL {
        for k in 0..options.samples {
            let marker = format!("{}:{}", scenario.name(), k);
            cluster.sql(database, &format!("SELECT '{}{marker}'", capture::MARKER))?;
            // Spread the samples over the callers, not the first few.
            let request = workload.request(scenario, k * 37)?;
            let code = request
                .body
                .as_ref()
                .and_then(|b| b.pointer("/subscriber/subscriber_code"))
                .and_then(serde_json::Value::as_str)
                // The target an open application holds (domain: Steps::target_key).
                .map(|code| format!("subscriber:{code}"));
            let (status, body) = drive::send(&client, base, request).await?;
            if status != scenario.expected_status() {
                cluster.log_statements(false)?;
                bail!("{} answered {status}: {body}", scenario.name());
            }
            let number = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|b| {
                    b.get("number")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                });
            expected.push((scenario, marker, number, code));
        }
    }
    cluster.sql(database, &format!("SELECT '{}end'", capture::MARKER))?;
    cluster.log_statements(false)?;
    // The collector writes the log a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut groups = capture::read_log(&log, offset, database)?;
    let mut captured: std::collections::BTreeMap<String, Vec<capture::Captured>> =
        Default::default();
    for (scenario, marker, number, code) in expected {
        let statements = groups.remove(&marker).unwrap_or_default();
        if statements.is_empty() {
            bail!("no statements were captured for {marker}: is the service on this cluster?");
        }
        let sample = if scenario == Scenario::Submit {
            capture::Captured {
                statements,
                unique_values: number.into_iter().collect(),
                unique_in_application_insert: code.into_iter().collect(),
            }
        } else {
            capture::Captured {
                statements,
                ..Default::default()
            }
        };
        captured
            .entry(scenario.name().to_owned())
            .or_default()
            .push(sample);
    }
    Ok(captured)
}

/// Samples the service's resident memory every 100 ms while `running`, keeping the peak.
fn sample_memory(
    pid: u32,
    running: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while running.load(Ordering::Relaxed) {
            if let Some(kib) = service::resident_kib(pid) {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

/// The open loop's requests as CSV (`due_ms,latency_ms,generator_late_ms`), for plotting or
/// finding stalls; the last column is the part of the latency before the request left the
/// generator (its thread waiting for a core, on a machine it shares with the service).
fn write_timeline(path: &std::path::Path, timeline: &[(u64, u64, u64)]) -> Result<()> {
    use std::fmt::Write as _;
    let ms = |micros: u64| micros as f64 / 1e3;
    let mut text = String::from("due_ms,latency_ms,generator_late_ms\n");
    for &(due, latency, late) in timeline {
        let _ = writeln!(text, "{:.3},{:.3},{:.3}", ms(due), ms(latency), ms(late));
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
