//! Retries, limits, timeouts and shutdown: an `Idempotency-Key` makes a retry safe, one client
//! cannot take everyone's capacity, a stuck request is answered 503 instead of hanging, and a
//! stopping server finishes what it started.

use eservices_tests::outside::FakeOutside;
use eservices_tests::{
    Backend, demo, fresh_database, on_both_backends, spawn_app_with, test_settings,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const KEY: &str = "Idempotency-Key";

fn draft() -> Value {
    json!({"kind": "meter-damage-investigation"})
}

fn submission(code: &str) -> Value {
    json!({"kind": "meter-damage-investigation",
        "subscriber": {"type": "residential", "subscriber_code": code},
        "contact": {"mobile_numbers": ["0501234567"]}, "submit": true})
}

fn header(reply: &eservices_tests::Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

on_both_backends! {
    async fn a_retry_with_the_same_key_gets_the_same_answer_and_changes_nothing(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let key = [(KEY, "7c1e9a52-0d1b-4c55-9a0e-2f6b8e1d4a01")];
        let first = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&submission("1000000001")), &key).await;
        first.assert_status(201);
        assert_eq!(header(&first, "Idempotent-Replayed"), None);
        let again = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&submission("1000000001")), &key).await;
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.body, first.body, "the same response again");
        assert_eq!(header(&again, "Idempotent-Replayed").as_deref(), Some("true"));
        assert_eq!(header(&again, "location"), header(&first, "location"));
        assert_eq!(header(&again, "etag"), header(&first, "etag"));
        assert_eq!(app.my_application_count(&token).await, 1, "one application, not two");

        // The same key for another request: refused, nothing made.
        let other = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&submission("1000000002")), &key).await;
        assert_eq!(other.assert_problem(422, "idempotency-key-reused")["errors"][0]["field"], json!(KEY));
        assert_eq!(app.my_application_count(&token).await, 1);

        // Keys are the caller's own: another applicant's equal key is another request.
        let stranger = app.token(demo::NOBODY, None).await;
        let theirs = app.request_with(Method::POST, "/api/v1/applications", Some(&stranger), Some(&draft()), &key).await;
        assert_eq!(theirs.status, 201, "{}", theirs.text);
        assert_ne!(theirs.body["number"], first.body["number"]);

        // A refusal is given again too: the retry cannot slip past a validation.
        let bad = json!({"kind": "meter-damage-investigation", "contact": {"mobile_numbers": ["0121234567"]}});
        let key = [(KEY, "refused-once")];
        let refused = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&bad), &key).await;
        refused.assert_problem(422, "validation-failed");
        let refused_again = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&bad), &key).await;
        assert_eq!((refused_again.status, refused_again.body.clone()), (422, refused.body.clone()));
        assert_eq!(header(&refused_again, "Idempotent-Replayed").as_deref(), Some("true"));

        // The scheme's case does not matter (RFC 9110): a lower-case `bearer` keeps its key.
        let lower = app.client.post(app.url("/api/v1/applications"))
            .header("Authorization", format!("bearer {token}"))
            .header(KEY, "7c1e9a52-0d1b-4c55-9a0e-2f6b8e1d4a01")
            .json(&submission("1000000001"))
            .send().await.unwrap_or_else(|e| panic!("{e}"));
        let lower = eservices_tests::Reply::from(lower).await;
        assert_eq!((lower.status, lower.body["number"].clone()), (201, first.body["number"].clone()));
        assert_eq!(header(&lower, "Idempotent-Replayed").as_deref(), Some("true"));

        // Changes and actions take keys as well: a retried cancel is not a second cancel.
        let number = first.body["number"].as_str().unwrap_or_default().to_owned();
        let cancel = format!("/api/v1/applications/{number}/cancel");
        let key = [(KEY, "cancel-1")];
        let cancelled = app.request_with(Method::POST, &cancel, Some(&token), Some(&json!({"reason": "Bərpa olundu"})), &key).await;
        cancelled.assert_status(200);
        let retried = app.request_with(Method::POST, &cancel, Some(&token), Some(&json!({"reason": "Bərpa olundu"})), &key).await;
        assert_eq!((retried.status, retried.body.clone()), (200, cancelled.body.clone()), "not 409 action-not-allowed");
        // Without a key the same cancel is a new request, refused as the status says.
        app.post(&cancel, &token, json!({"reason": "Bərpa olundu"})).await.assert_problem(409, "action-not-allowed");
    }

    async fn simultaneous_requests_with_one_key_make_one_application(app) {
        let token = app.token(demo::RESIDENT, None).await;
        // A draft has no target, so nothing but the key keeps these from being ten drafts.
        let body = draft();
        let requests = (0..10).map(|_| {
            app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&body), &[(KEY, "double-click")])
        });
        let replies = futures_util::future::join_all(requests).await;
        let mut numbers = std::collections::BTreeSet::new();
        for reply in &replies {
            match reply.status {
                201 => {
                    numbers.insert(reply.body["number"].as_str().unwrap_or_default().to_owned());
                }
                409 => {
                    reply.assert_problem(409, "idempotency-request-in-progress");
                    assert!(header(reply, "retry-after").is_some(), "409 says when to retry");
                }
                other => panic!("unexpected {other}: {}", reply.text),
            }
        }
        assert_eq!(numbers.len(), 1, "every 201 names the same application: {numbers:?}");
        assert_eq!(app.my_application_count(&token).await, 1);
    }

    async fn idempotency_keys_are_checked(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let long = "k".repeat(256);
        for bad in ["", "with space", long.as_str(), "ключ"] {
            let reply = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&draft()), &[(KEY, bad)]).await;
            if reply.status != 400 {
                panic!("key {bad:?}: {} {}", reply.status, reply.text);
            }
            assert_eq!(reply.assert_problem(400, "invalid-idempotency-key")["errors"][0]["field"], json!(KEY));
        }
        let twice = app.request_with(Method::POST, "/api/v1/applications", Some(&token), Some(&draft()), &[(KEY, "a"), (KEY, "b")]).await;
        twice.assert_problem(400, "invalid-idempotency-key");
        assert_eq!(app.my_application_count(&token).await, 0, "nothing made by refused keys");
        // Without a valid token the key changes nothing: the operation answers 401.
        app.request_with(Method::POST, "/api/v1/applications", Some("not-a-token"), Some(&draft()), &[(KEY, "a")])
            .await
            .assert_problem(401, "unauthenticated");
        // A method the path does not serve is 405, key or not.
        app.request_with(Method::PUT, "/api/v1/applications", Some(&token), Some(&draft()), &[(KEY, "a")])
            .await
            .assert_problem(405, "method-not-allowed");
        // Reads ignore the header.
        app.request_with(Method::GET, "/api/v1/me/applications", Some(&token), None, &[(KEY, "with space")])
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn one_client_is_limited_and_told_when_to_come_back() {
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        // One a minute: no refill can fall inside the test, however slow the machine.
        &[("RATE_LIMIT_PER_MINUTE", "1"), ("RATE_LIMIT_BURST", "5")],
    )
    .await
    else {
        return;
    };
    // The dev-token route is anonymous: its client is the address. Take two tokens first.
    let token = app.token(demo::RESIDENT, None).await;
    let other = app.token(demo::NOBODY, None).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let reply = app.get("/api/v1/me/applications", Some(&token)).await;
        if reply.status == 429 {
            reply.assert_problem(429, "too-many-requests");
            let wait: u64 = header(&reply, "retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("429 without Retry-After"));
            assert!((1..=60).contains(&wait), "one request a minute: {wait}");
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429, 429],
        "the burst, then refused"
    );
    // Another client has an allowance of its own; a forged token spends the address's.
    app.get("/api/v1/me/applications", Some(&other))
        .await
        .assert_status(200);
    app.get("/api/v1/me/applications", Some("forged"))
        .await
        .assert_problem(401, "unauthenticated");
    // Health checks are never limited.
    for _ in 0..10 {
        app.get("/health", None).await.assert_status(200);
    }
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_503_and_the_server_goes_on() {
    let fake = FakeOutside::start("outside-token").await;
    let overrides = [
        ("CITIZEN_REGISTRY_URL", fake.base_url.as_str()),
        ("CITIZEN_REGISTRY_TOKEN", "outside-token"),
        ("OUTSIDE_TIMEOUT_MS", "10000"),
        ("OUTSIDE_RETRIES", "0"),
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("IDEMPOTENCY_LEASE_SECONDS", "2"),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        return;
    };
    let token = app.token(demo::RESIDENT, None).await;
    fake.behaviour.stall_ms.store(3000, Ordering::SeqCst);
    let started = Instant::now();
    let reply = app.get("/api/v1/me", Some(&token)).await;
    reply.assert_problem(503, "request-timeout");
    assert!(header(&reply, "retry-after").is_some());
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "answered at the timeout, not after the registry"
    );
    fake.behaviour.stall_ms.store(0, Ordering::SeqCst);
    app.get("/api/v1/me", Some(&token)).await.assert_status(200);
}

/// A stuck database (a table locked by someone else) gives 503s within the timeout, never a
/// hang, and the service recovers by itself once the lock is gone.
#[tokio::test]
async fn a_locked_database_gives_503_not_a_hang() {
    use diesel::Connection;
    let Some(app) = spawn_app_with(
        Backend::Postgres,
        &[
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("IDEMPOTENCY_LEASE_SECONDS", "2"),
            ("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await
    else {
        return;
    };
    let token = app.token(demo::RESIDENT, None).await;
    app.create(&token, draft()).await.assert_status(201);
    let (locked, release) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let url = app.database_url.clone();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap_or_else(|e| panic!("{e}"));
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::RunQueryDsl::execute(
                diesel::sql_query("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE"),
                conn,
            )?;
            let _ = locked.send(());
            let _ = release_rx.recv_timeout(Duration::from_secs(30));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    });
    release.await.unwrap_or_else(|e| panic!("{e}"));
    // More requests than connections: the first ones wait on the lock, the rest on the pool.
    let started = Instant::now();
    let requests = (0..8).map(|_| app.get("/api/v1/me/applications", Some(&token)));
    for reply in futures_util::future::join_all(requests).await {
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert!(
            matches!(
                reply.body["code"].as_str(),
                Some("request-timeout" | "database-unavailable")
            ),
            "{}",
            reply.text
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
    let _ = release_tx.send(());
    holder
        .join()
        .unwrap_or_else(|_| panic!("the lock holder failed"));
    // Recovered by itself: the waiting work finishes and frees its connections.
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .get("/api/v1/me/applications", Some(&token))
            .await
            .status
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recovered,
        "the service did not recover after the lock was released"
    );
}

/// Stopping (as on SIGTERM): requests in flight finish, new ones are not taken, and the
/// server, the dispatcher and the key cleaner all end.
#[tokio::test]
async fn a_stopping_server_finishes_the_requests_in_flight() {
    let fake = FakeOutside::start("outside-token").await;
    let Some((database_url, data_dir)) = fresh_database(Backend::Sqlite) else {
        return;
    };
    let settings = test_settings(
        &database_url,
        data_dir.path(),
        &[
            ("CITIZEN_REGISTRY_URL", fake.base_url.as_str()),
            ("CITIZEN_REGISTRY_TOKEN", "outside-token"),
            ("OUTSIDE_TIMEOUT_MS", "10000"),
            ("OUTSIDE_RETRIES", "0"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "10"),
        ],
    );
    let application = api::startup::Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("http://127.0.0.1:{}", application.port());
    let handle = application.handle();
    let running = tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();
    let token = client
        .post(format!("{base}/api/v1/dev/tokens"))
        .json(&json!({"pin": demo::RESIDENT}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json::<Value>()
        .await
        .unwrap_or_else(|e| panic!("{e}"))["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    fake.behaviour.stall_ms.store(1500, Ordering::SeqCst);
    let calls_before = fake.total_calls();
    let in_flight = {
        let client = client.clone();
        let url = format!("{base}/api/v1/me");
        let token = token.clone();
        tokio::spawn(async move { client.get(url).bearer_auth(token).send().await })
    };
    // Stop once the request is in the server: the registry has been called and stalls.
    let before_stop = Instant::now();
    while fake.total_calls() == calls_before {
        assert!(
            before_stop.elapsed() < Duration::from_secs(10),
            "the request never reached the registry"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopping = tokio::spawn(handle.stop(true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = reqwest::Client::new()
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a stopping server takes no new connection"
    );
    let finished = in_flight
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("the request in flight was cut off: {e}"));
    assert_eq!(finished.status(), 200, "the request in flight finished");
    stopping.await.unwrap_or_else(|e| panic!("{e}"));
    let ended = tokio::time::timeout(Duration::from_secs(10), running).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the server and its background tasks ended: {ended:?}"
    );
}

/// Every answer names the request's id, the one on its log lines: the caller's when usable (so
/// one id follows a call from the portal through the service), otherwise one made for it.
#[tokio::test]
async fn every_answer_carries_the_request_id() {
    let Some(app) = eservices_tests::spawn_app(Backend::Sqlite).await else {
        return;
    };
    let id_of = |reply: &eservices_tests::Reply| {
        reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no X-Request-Id in {:?}", reply.headers))
    };
    // Made: a UUID, different each time; on successes and on refusals alike.
    let first = app.get("/api/v1/services", None).await;
    first.assert_status(200);
    let refused = app.get("/api/v1/me/applications", None).await;
    refused.assert_status(401);
    let (a, b) = (id_of(&first), id_of(&refused));
    assert_eq!(a.len(), 36, "{a}");
    assert_ne!(a, b);
    // Given: kept, on a refusal too.
    let given = app
        .request_with(
            Method::GET,
            "/api/v1/me/applications",
            None,
            None,
            &[("X-Request-Id", "portal-7f3a.2026:01_x")],
        )
        .await;
    given.assert_status(401);
    assert_eq!(id_of(&given), "portal-7f3a.2026:01_x");
    // Unusable in a log line (spaces, too long): replaced.
    for bad in ["two words", &"x".repeat(129)] {
        let reply = app
            .request_with(Method::GET, "/health", None, None, &[("X-Request-Id", bad)])
            .await;
        reply.assert_status(200);
        let id = id_of(&reply);
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36, "{id}");
    }
    // A route that does not exist.
    let missing = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(id_of(&missing).len(), 36);
}

/// Sends one keep-alive request on `stream` and reads its whole answer (`Content-Length`).
async fn get_on(stream: &mut tokio::net::TcpStream, path: &str) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: eservices\r\n\r\n").as_bytes())
        .await?;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if body.len() >= length {
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            return Ok(status);
        }
    }
}

/// An idle connection stays open past actix's default of 5 s (a proxy reusing it after 6 s gets
/// its answer), and is closed after `KEEP_ALIVE_SECONDS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_kept_open_for_the_configured_time() {
    for (keep_alive, idle, still_open) in [(None, 6, true), (Some("1"), 3, false)] {
        let overrides: Vec<(&str, &str)> = keep_alive
            .map(|v| ("KEEP_ALIVE_SECONDS", v))
            .into_iter()
            .collect();
        let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
            unreachable!()
        };
        let address = app.address.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(get_on(&mut stream, "/health/live").await.ok(), Some(200));
        tokio::time::sleep(Duration::from_secs(idle)).await;
        let again = get_on(&mut stream, "/health/live").await;
        if still_open {
            assert_eq!(again.ok(), Some(200), "closed after {idle} s idle");
        } else {
            assert!(again.is_err(), "still open after {idle} s idle: {again:?}");
        }
    }
}

/// A hot read cut off by the request timeout while PostgreSQL still works on it (here: waits
/// for a lock) leaves the reads answering right: the answers that come late on its async
/// connection (one a worker here) are never taken for the next read's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_read_cut_off_by_the_timeout_leaves_its_connection_answering_right_on_postgres() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let overrides = [
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("DATABASE_POOL_SIZE", "2"),
    ];
    let Some(app) = spawn_app_with(Backend::Postgres, &overrides).await else {
        return;
    };
    let token = app.token(demo::RESIDENT, None).await;
    let created = app.create(&token, json!({"kind": "account-change"})).await;
    let number = created.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let detail = format!("/api/v1/applications/{number}");
    // Both workers' connections are open and used once.
    for _ in 0..4 {
        app.get("/api/v1/me/applications", Some(&token))
            .await
            .assert_status(200);
    }
    let mut blocker =
        diesel::PgConnection::establish(&app.database_url).unwrap_or_else(|e| panic!("{e}"));
    blocker
        .batch_execute("BEGIN; LOCK TABLE applications IN ACCESS EXCLUSIVE MODE")
        .unwrap_or_else(|e| panic!("{e}"));
    let cut = futures_util::future::join_all((0..4).map(|i| {
        let path = if i % 2 == 0 {
            "/api/v1/me/applications".to_owned()
        } else {
            detail.clone()
        };
        let (app, token) = (&app, &token);
        async move { app.get(&path, Some(token)).await }
    }))
    .await;
    for reply in &cut {
        reply.assert_problem(503, "request-timeout");
    }
    blocker
        .batch_execute("ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..6 {
        let list = app.get("/api/v1/me/applications", Some(&token)).await;
        let body = list.assert_status(200);
        assert_eq!(body["total"], json!(1));
        assert_eq!(body["items"][0]["number"], json!(number));
        let read = app.get(&detail, Some(&token)).await;
        assert_eq!(read.assert_status(200)["number"], json!(number));
    }
}
