//! What the people who run the service see: Prometheus metrics, and the W3C trace a request
//! carries to the outside systems.

use eservices_tests::outside::FakeOutside;
use eservices_tests::{Backend, TestApp, demo, on_both_backends, spawn_app_with};
use std::collections::{BTreeMap, BTreeSet};

/// The samples of a Prometheus text exposition, each line checked: every sample's family has
/// `# HELP` and `# TYPE`, every value is a number.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut described = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            described.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|e| panic!("{line}: the value is not a number: {e}"));
        let name = series.split('{').next().unwrap_or_default();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| described.contains(*base))
            })
            .unwrap_or(name);
        assert!(
            described.contains(family),
            "{name} has no # TYPE line before it"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

async fn scrape(app: &TestApp, token: Option<&str>) -> BTreeMap<String, f64> {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status().as_u16(), 200);
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = reply.text().await.unwrap_or_default();
    parse_exposition(&text)
}

on_both_backends! {
    async fn metrics_count_requests_by_route_template_and_show_the_pool_and_outbox(app) {
        let token = app.token(demo::RESIDENT, None).await;
        app.get("/api/v1/services", None).await.assert_status(200);
        app.get("/api/v1/no-such-route", None).await.assert_status(404);
        // A number in the path: the metrics keep the template only.
        app.get("/api/v1/applications/MD-2026-999999", Some(&token)).await.assert_status(404);
        let samples = scrape(&app, None).await;
        let count = |series: &str| samples.get(series).copied().unwrap_or_else(|| panic!("no {series} in {samples:#?}"));
        assert!(count(r#"eservices_http_requests_total{method="GET",route="/api/v1/services",status="200"}"#) >= 1.0);
        assert!(count(r#"eservices_http_requests_total{method="GET",route="(unmatched)",status="404"}"#) >= 1.0);
        assert!(count(r#"eservices_http_requests_total{method="GET",route="/api/v1/applications/{number}",status="404"}"#) >= 1.0);
        assert!(samples.keys().all(|s| !s.contains("MD-2026-999999") && !s.contains(demo::RESIDENT)), "no values from paths or tokens");
        // Latency: cumulative buckets ending in the count.
        let series = r#"method="GET",route="/api/v1/services""#;
        let inf = count(&format!("eservices_http_request_duration_seconds_bucket{{{series},le=\"+Inf\"}}"));
        assert_eq!(inf, count(&format!("eservices_http_request_duration_seconds_count{{{series}}}")));
        assert!(count(&format!("eservices_http_request_duration_seconds_bucket{{{series},le=\"0.001\"}}")) <= inf);
        assert!(count(&format!("eservices_http_request_duration_seconds_sum{{{series}}}")) > 0.0);
        // The pool and the outbox, read at scrape time.
        assert_eq!(count("eservices_db_pool_max_connections"), f64::from(app.settings.database_pool_size));
        assert!(count(r#"eservices_db_pool_connections{state="idle"}"#) >= 1.0 || count(r#"eservices_db_pool_connections{state="in-use"}"#) >= 1.0);
        // The async pool of the hot reads: on PostgreSQL only, as large as the other.
        match app.backend {
            Backend::Postgres => {
                assert_eq!(count("eservices_db_read_pool_max_connections"), f64::from(app.settings.database_pool_size));
                assert!(count(r#"eservices_db_read_pool_connections{state="idle"}"#) >= 1.0, "the read above left its connection");
            }
            Backend::Sqlite => assert!(!samples.keys().any(|s| s.starts_with("eservices_db_read_pool")), "no read pool on SQLite"),
        }
        assert_eq!(count("eservices_outbox_readable"), 1.0);
        assert!(count(r#"eservices_outbox_messages{status="queued"}"#) >= 0.0);
        assert!(count(r#"eservices_outbox_messages{status="failed"}"#) >= 0.0);
        // The scrape itself is counted by the next one.
        let again = scrape(&app, None).await;
        assert!(again.get(r#"eservices_http_requests_total{method="GET",route="/metrics",status="200"}"#).copied() >= Some(1.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_ask_for_the_configured_token() {
    const TOKEN: &str = "the-monitoring-scrape-token";
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("METRICS_TOKEN", TOKEN)]).await else {
        unreachable!()
    };
    app.get("/metrics", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get("/metrics", Some("not-the-token"))
        .await
        .assert_problem(401, "unauthenticated");
    let samples = scrape(&app, Some(TOKEN)).await;
    assert!(
        samples.iter().any(
            |(series, value)| series.starts_with("eservices_build_info{version=") && *value == 1.0
        ),
        "{samples:#?}"
    );
}

/// The registries and billing get the caller's trace with a span id of this service's; a request
/// without one starts a trace of its own. The calls are counted in the metrics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_goes_on_to_the_outside_systems() {
    const OUTSIDE_TOKEN: &str = "outside-token";
    const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let fake = FakeOutside::start(OUTSIDE_TOKEN).await;
    let overrides = [
        ("CITIZEN_REGISTRY_URL", fake.base_url.as_str()),
        ("CITIZEN_REGISTRY_TOKEN", OUTSIDE_TOKEN),
        ("PROPERTY_REGISTRY_URL", fake.base_url.as_str()),
        ("PROPERTY_REGISTRY_TOKEN", OUTSIDE_TOKEN),
        ("BILLING_URL", fake.base_url.as_str()),
        ("BILLING_TOKEN", OUTSIDE_TOKEN),
        ("MAIN_INFORMATION_CACHE_SECONDS", "0"),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        unreachable!()
    };
    let token = app.token(demo::RESIDENT, None).await;

    let traced = app
        .client
        .get(app.url("/api/v1/me/subscriber-accounts"))
        .bearer_auth(&token)
        .header(
            "traceparent",
            format!("00-{CALLER_TRACE}-00f067aa0ba902b7-01"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(traced.status().as_u16(), 200);
    let seen = fake.traceparents();
    assert!(!seen.is_empty(), "the registry was called");
    for header in &seen {
        let parts: Vec<&str> = header.split('-').collect();
        assert_eq!(parts.len(), 4, "{header}");
        assert_eq!(
            (parts[0], parts[1], parts[3]),
            ("00", CALLER_TRACE, "01"),
            "{header}"
        );
        assert_ne!(
            parts[2], "00f067aa0ba902b7",
            "this service's span is the parent: {header}"
        );
        assert_eq!(parts[2].len(), 16);
    }

    // No traceparent, or a broken one: a new trace, still a valid header.
    for incoming in [None, Some("00-zz-not-a-trace-01")] {
        let before = fake.traceparents().len();
        let mut request = app
            .client
            .get(app.url("/api/v1/me/subscriber-accounts"))
            .bearer_auth(&token);
        if let Some(incoming) = incoming {
            request = request.header("traceparent", incoming);
        }
        let reply = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status().as_u16(), 200);
        let new: Vec<String> = fake.traceparents().split_off(before);
        assert!(!new.is_empty());
        for header in &new {
            let parts: Vec<&str> = header.split('-').collect();
            assert_eq!(parts.len(), 4, "{header}");
            assert_eq!(parts[0], "00");
            assert_eq!(parts[1].len(), 32);
            assert_ne!(parts[1], CALLER_TRACE);
            assert_ne!(parts[1], "0".repeat(32));
        }
    }

    let samples = scrape(&app, None).await;
    // Counted per process: other tests' calls may be in it too, never fewer than these.
    let answered: f64 = samples
        .iter()
        .filter(|(series, _)| {
            series.starts_with("eservices_outside_calls_total{")
                && series.contains(r#"outcome="answered""#)
        })
        .map(|(_, count)| count)
        .sum();
    assert!(answered >= 3.0, "{samples:#?}");
}

/// The real binary's JSON log, as an operator's log shipper reads it: one `request done` line per
/// request with the route's template (not the path with its values), the status, the duration
/// and the request id, and neither the token nor the path's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_leaves_one_json_line_with_its_duration() {
    use eservices_tests::fakes::free_port;
    use eservices_tests::process::{ServerProcess, environment};
    const REQUEST_ID: &str = "log-line-check-7";
    let Some((database_url, data_dir)) = eservices_tests::fresh_database(Backend::Sqlite) else {
        unreachable!()
    };
    let log = data_dir.path().join("server.log");
    let server = ServerProcess::start(
        &environment(
            &database_url,
            data_dir.path(),
            free_port(),
            &[("LOG_FORMAT", "json"), ("RUST_LOG", "info")],
        ),
        &log,
    )
    .await;
    let reply = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/applications/MD-2026-000123",
            server.address
        ))
        .header("x-request-id", REQUEST_ID)
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status().as_u16(), 401);
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|line| line.contains(REQUEST_ID))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let done: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["message"] == "request done")
        .collect();
    assert_eq!(done.len(), 1, "{text}");
    let line = done[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["route"], "/api/v1/applications/{number}");
    assert_eq!(line["status"], 401);
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["request_id"], REQUEST_ID);
    assert!(
        line["span"]["trace_id"]
            .as_str()
            .is_some_and(|t| t.len() == 32),
        "{line}"
    );
    let duration = line["duration_us"].as_u64();
    assert!(duration.is_some_and(|d| d > 0 && d < 60_000_000), "{line}");
    assert!(
        !text.contains("not.a.token"),
        "the token was logged:\n{text}"
    );
    assert!(
        !text.contains("MD-2026-000123"),
        "the path's value was logged:\n{text}"
    );
}

/// `DATABASE_ASYNC_READS=false` on PostgreSQL: the hot reads run on the blocking pool, answer
/// the same, and no read pool is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hot_reads_can_be_kept_on_the_blocking_pool_on_postgres() {
    let Some(app) = spawn_app_with(Backend::Postgres, &[("DATABASE_ASYNC_READS", "false")]).await
    else {
        return;
    };
    let token = app.token(demo::RESIDENT, None).await;
    let created = app
        .create(&token, serde_json::json!({"kind": "account-change"}))
        .await;
    let number = created.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list = app.get("/api/v1/me/applications", Some(&token)).await;
    assert_eq!(list.assert_status(200)["total"], serde_json::json!(1));
    let read = app
        .get(&format!("/api/v1/applications/{number}"), Some(&token))
        .await;
    assert_eq!(read.assert_status(200)["number"], serde_json::json!(number));
    let samples = scrape(&app, None).await;
    assert!(
        !samples
            .keys()
            .any(|s| s.starts_with("eservices_db_read_pool")),
        "no read pool"
    );
    assert!(samples.contains_key("eservices_db_pool_max_connections"));
}
