//! The load generator: a closed loop (a fixed number of callers, each sending its next request
//! when the last is answered) finds the maximum throughput; an open loop (requests at a fixed
//! rate, latency counted from when each was due, so that a stall is not hidden) measures the
//! latency at a given load.

use crate::stats::Latencies;
use crate::workload::{Request, Scenario, Workload};
use anyhow::Result;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies: Latencies,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// The open loop's counted requests in the order they were due: (µs from the start of the
    /// count to when it was due, latency in µs, µs from when it was due to when the generator
    /// began sending it). Shows whether slow requests come together (a stall) or spread out, and
    /// whether a stall was the generator's own lateness. Empty for the closed loop.
    pub timeline: Vec<(u64, u64, u64)>,
}

pub fn client(connections: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

pub async fn send(client: &reqwest::Client, base: &str, request: Request) -> Result<(u16, String)> {
    let url = format!("{base}{}", request.path);
    let builder = if request.post {
        client.post(url)
    } else {
        client.get(url)
    };
    let builder = if request.token.is_empty() {
        builder
    } else {
        builder.bearer_auth(&request.token)
    };
    let builder = match &request.body {
        Some(body) => builder.json(body),
        None => builder,
    };
    let response = builder.send().await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok((status, body))
}

#[derive(Debug, Default)]
struct Shared {
    latencies: Mutex<Latencies>,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// See `Outcome::timeline`; only the open loop adds to it.
    timeline: Mutex<Vec<(u64, u64, u64)>>,
}

impl Shared {
    fn record(&self, scenario: Scenario, started: Instant, result: Result<(u16, String)>) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let failure = match result {
            Ok((status, _)) if status == scenario.expected_status() => None,
            Ok((status, body)) => Some(format!("{status}: {body}")),
            Err(error) => Some(error.to_string()),
        };
        if let Some(failure) = failure {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first_error.lock()
                && first.is_none()
            {
                *first = Some(failure);
            }
        } else if let Ok(mut latencies) = self.latencies.lock() {
            latencies.push(micros);
        }
    }

    fn outcome(&self, elapsed: Duration) -> Outcome {
        Outcome {
            latencies: self.latencies.lock().map(|l| l.clone()).unwrap_or_default(),
            errors: self.errors.load(Ordering::Relaxed),
            first_error: self.first_error.lock().ok().and_then(|f| f.clone()),
            elapsed,
            timeline: self
                .timeline
                .lock()
                .map(|t| {
                    let mut sorted = t.clone();
                    sorted.sort_unstable();
                    sorted
                })
                .unwrap_or_default(),
        }
    }
}

/// `callers` callers send requests back to back for `warm_up`, then for `measure`; only the
/// second part counts.
pub async fn closed_loop(
    base: &str,
    workload: &Arc<Workload>,
    scenario: Scenario,
    callers: usize,
    warm_up: Duration,
    measure: Duration,
) -> Result<Outcome> {
    let client = client(callers)?;
    let shared = Arc::new(Shared::default());
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let counted_from = start + warm_up;
    let end = counted_from + measure;
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (client, shared, next, workload) = (
            client.clone(),
            shared.clone(),
            next.clone(),
            workload.clone(),
        );
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let request = workload.request(scenario, next.fetch_add(1, Ordering::Relaxed))?;
                let started = Instant::now();
                let result = send(&client, &base, request).await;
                if started >= counted_from && Instant::now() <= end {
                    shared.record(scenario, started, result);
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(shared.outcome(measure))
}

/// Requests at `rate` a second for `measure` (after `warm_up` at the same rate); each one's
/// latency counts from when it was due. The due times come from a thread of their own that
/// sleeps to each (tokio's timer ticks by the millisecond, which would add up to a millisecond
/// of the generator's own lateness to every latency).
pub async fn open_loop(
    base: &str,
    workload: &Arc<Workload>,
    scenario: Scenario,
    rate: u64,
    warm_up: Duration,
    measure: Duration,
) -> Result<Outcome> {
    let rate = rate.max(1);
    let client = client(256)?;
    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let counted_from = start + warm_up;
    let end = counted_from + measure;
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let pacer = std::thread::spawn(move || {
        let mut n: u64 = 0;
        loop {
            let offset = Duration::from_nanos(n.saturating_mul(1_000_000_000) / rate);
            let due = start + offset;
            if due >= end {
                break;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send(due).is_err() {
                break;
            }
            n += 1;
        }
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0_usize;
    while let Some(due) = due_rx.recv().await {
        let request = workload.request(scenario, i)?;
        i += 1;
        let (client, shared) = (client.clone(), shared.clone());
        let base = base.to_owned();
        let counted = due >= counted_from;
        tasks.spawn(async move {
            let sending = Instant::now();
            let result = send(&client, &base, request).await;
            if counted {
                let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
                let point = (
                    micros(due - counted_from),
                    micros(due.elapsed()),
                    micros(sending.saturating_duration_since(due)),
                );
                if let Ok(mut timeline) = shared.timeline.lock() {
                    timeline.push(point);
                }
                shared.record(scenario, due, result);
            }
        });
        // Reap the finished ones so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let _ = pacer.join();
    Ok(shared.outcome(measure))
}
