//! Faults from outside the code: the server killed with SIGKILL in the middle of a burst,
//! PostgreSQL restarted under load, and two servers on one database. Nothing acknowledged is
//! lost, nothing is done twice, and no fault turns into a 500.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use eservices_tests::fakes::{FakeSmsGateway, free_port};
use eservices_tests::process::{ServerProcess, environment};
use eservices_tests::{Reply, fresh_postgres_database, postgres_server, start, test_settings};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `count` applicants, each with one residential account of their own, as seed data.
fn applicants(count: usize) -> (Value, Vec<(String, String)>) {
    let mut citizens = Vec::new();
    let mut accounts = Vec::new();
    let mut people = Vec::new();
    for i in 0..count {
        let pin = format!("8{i:06}");
        let code = format!("3{i:09}");
        citizens.push(
            json!({"pin": pin, "first_name": "Aysel", "last_name": format!("Sınaq{i}"),
            "patronymic": "Elçin qızı", "birth_date": "1990-01-01",
            "registered_address": "Bakı şəhəri, Yasamal rayonu"}),
        );
        accounts.push(
            json!({"code": code, "holder_pin": pin, "holder_first_name": "Aysel",
            "holder_last_name": format!("Sınaq{i}"), "address": "Bakı şəhəri, Yasamal rayonu",
            "district_code": "AZ-BA-YSM", "property_registry_number": "110011012345",
            "debt_qapik": 0, "debt_as_of": "2026-11-01T00:00:00Z"}),
        );
        people.push((pin, code));
    }
    let seed = json!({"citizens": citizens, "businesses": [], "subscriber_accounts": accounts,
        "head_codes": [], "metering_points": [], "properties": [], "departments": []});
    (seed, people)
}

/// Migrates the database and loads the demo data and `extra`.
fn prepare(settings: &api::config::Settings, extra: &Value) {
    let database =
        api::startup::open_database(settings).unwrap_or_else(|e| panic!("open database: {e}"));
    for json in [api::startup::DEMO_SEED.to_owned(), extra.to_string()] {
        let file = persistence::seed::SeedFile::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
        persistence::seed::load(&database, &file).unwrap_or_else(|e| panic!("seed: {e}"));
    }
}

fn submission(code: &str) -> Value {
    json!({"kind": "meter-damage-investigation",
        "subscriber": {"type": "residential", "subscriber_code": code},
        "contact": {"mobile_numbers": ["0501234567"]}, "submit": true})
}

async fn token(client: &reqwest::Client, base: &str, pin: &str) -> String {
    dev_token(client, base, json!({"pin": pin})).await
}

/// A development token for `body` (as `POST /api/v1/dev/tokens` takes it).
async fn dev_token(client: &reqwest::Client, base: &str, body: Value) -> String {
    let reply: Value = client
        .post(format!("{base}/api/v1/dev/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    reply["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Result<Reply, reqwest::Error> {
    let mut request = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(20));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    Ok(Reply::from(request.send().await?).await)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(connection: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(connection)
        .map(|c| c.n)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// SIGKILL in the middle of a burst of submissions, then a restart: every submission that got a
/// 2xx is there with its timeline and its outbox messages, and retrying every submission with
/// its key creates no second application.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_burst_loses_nothing_it_acknowledged() {
    let Some(server) = postgres_server() else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    const APPLICANTS: usize = 80;
    let database_url = fresh_postgres_database(&server);
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let overrides = [
        ("REQUEST_TIMEOUT_SECONDS", "2"),
        ("IDEMPOTENCY_LEASE_SECONDS", "3"),
        ("DEMO_DATA", "false"),
    ];
    let (seed, people) = applicants(APPLICANTS);
    prepare(
        &test_settings(&database_url, data_dir.path(), &overrides),
        &seed,
    );
    let log = data_dir.path().join("server.log");
    let mut first = ServerProcess::start(
        &environment(&database_url, data_dir.path(), free_port(), &overrides),
        &log,
    )
    .await;
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for (pin, _) in &people {
        tokens.push(token(&client, &first.address, pin).await);
    }

    // The burst: every applicant submits at once, each with a key of its own.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let mut burst = Vec::new();
    for (i, (_, code)) in people.iter().enumerate() {
        let (client, base, token) = (client.clone(), first.address.clone(), tokens[i].clone());
        let (body, key, acknowledged) =
            (submission(code), format!("burst-{i}"), acknowledged.clone());
        burst.push(tokio::spawn(async move {
            let reply = send(
                &client,
                &base,
                Method::POST,
                "/api/v1/applications",
                &token,
                Some(&body),
                Some(&key),
            )
            .await;
            if reply.as_ref().is_ok_and(|r| r.status < 300) {
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            reply.ok()
        }));
    }
    let started = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < APPLICANTS / 4
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.signal("KILL");
    assert!(
        first.wait(Duration::from_secs(10)).await.is_some(),
        "the server did not die"
    );
    let mut first_replies: Vec<Option<Reply>> = Vec::new();
    for task in burst {
        first_replies.push(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let ok: BTreeMap<usize, String> = first_replies
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            r.as_ref()
                .filter(|r| r.status == 201)
                .map(|r| (i, r.body["number"].as_str().unwrap_or_default().to_owned()))
        })
        .collect();
    // Before the kill an answer is 201, or 503 under the burst's load (counted as cut off).
    for reply in first_replies.iter().flatten() {
        assert!(
            matches!(reply.status, 201 | 503),
            "before the kill: {} {}",
            reply.status,
            reply.text
        );
    }
    let cut_off = APPLICANTS - ok.len();
    assert!(
        !ok.is_empty() && cut_off > 0,
        "the kill fell in the middle: {} acknowledged of {APPLICANTS}",
        ok.len()
    );

    // The restart, on the same database.
    let second = ServerProcess::start(
        &environment(&database_url, data_dir.path(), free_port(), &overrides),
        &log,
    )
    .await;
    let mut connection = PgConnection::establish(&database_url).unwrap_or_else(|e| panic!("{e}"));
    for (i, number) in &ok {
        let read = send(
            &client,
            &second.address,
            Method::GET,
            &format!("/api/v1/applications/{number}"),
            &tokens[*i],
            None,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            read.status, 200,
            "acknowledged {number} is there: {}",
            read.text
        );
        assert_eq!(read.body["status"], json!("submitted"));
        let actions: Vec<&str> = read.body["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(actions, ["create", "submit"], "{number}'s timeline");
        let messages = count(
            &mut connection,
            &format!(
                "SELECT count(*) AS n FROM outbox_messages m JOIN notification_events e ON e.id = m.event_id \
             JOIN applications a ON a.id = e.application_id WHERE a.number = '{number}'"
            ),
        );
        assert!(messages >= 1, "{number} has its outbox messages");
    }

    // Every submission retried with its key, once the dead server's leases ran out.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut replayed, mut run_again, mut interrupted) = (0, 0, 0);
    for (i, (_, code)) in people.iter().enumerate() {
        let retry = send(
            &client,
            &second.address,
            Method::POST,
            "/api/v1/applications",
            &tokens[i],
            Some(&submission(code)),
            Some(&format!("burst-{i}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        match (retry.status, retry.body["code"].as_str()) {
            (201, _) if retry.headers.contains_key("idempotent-replayed") => {
                // Also replayed: a response stored just before the kill, that never reached us.
                if let Some(number) = ok.get(&i) {
                    assert_eq!(
                        Some(number.as_str()),
                        retry.body["number"].as_str(),
                        "the replay names the first answer's application"
                    );
                }
                replayed += 1;
            }
            (201, _) => {
                assert!(!ok.contains_key(&i), "an acknowledged submission ran again");
                run_again += 1;
            }
            (409, Some("idempotency-request-interrupted")) => {
                assert!(!ok.contains_key(&i));
                interrupted += 1;
            }
            (status, _) => panic!("retry {i}: {status} {}", retry.text),
        }
    }
    assert!(
        replayed >= ok.len(),
        "every acknowledged submission replayed"
    );
    let applications = count(&mut connection, "SELECT count(*) AS n FROM applications");
    let per_applicant = count(
        &mut connection,
        "SELECT count(*) AS n FROM (SELECT applicant_pin FROM applications GROUP BY applicant_pin HAVING count(*) > 1) d",
    );
    assert_eq!(per_applicant, 0, "no applicant has two applications");
    assert_eq!(
        usize::try_from(applications).unwrap_or(0),
        APPLICANTS,
        "every submission is there once"
    );
    eprintln!(
        "crash: {APPLICANTS} submissions, {} acknowledged before SIGKILL, {cut_off} cut off; \
         retried: {replayed} replayed, {run_again} ran again, {interrupted} interrupted; lost 0, doubled 0",
        ok.len()
    );
    drop(second);
}

/// A PostgreSQL cluster of the test's own, on its own port, that the test may stop and start.
struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_root: bool,
}

impl PrivateCluster {
    fn pg(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn create() -> Self {
        let versions = std::fs::read_dir("/usr/lib/postgresql")
            .unwrap_or_else(|e| panic!("PostgreSQL's programs are not installed: {e}"));
        let bin = versions
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .unwrap_or_else(|| panic!("no initdb under /usr/lib/postgresql"));
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        if as_root {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(owned.success(), "chown failed");
        }
        let cluster = Self {
            dir,
            bin,
            port: free_port(),
            as_root,
        };
        let initdb = cluster
            .pg("initdb")
            .arg("-D")
            .arg(cluster.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        cluster.start();
        cluster
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let started = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("postgres.log"))
            .args(["-w", "-o", &options, "start"])
            .output()
            .unwrap_or_else(|e| panic!("pg_ctl start: {e}"));
        assert!(
            started.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&started.stderr)
        );
    }

    fn stop(&self) {
        let stopped = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .unwrap_or_else(|e| panic!("pg_ctl stop: {e}"));
        assert!(
            stopped.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn owned_by_postgres(path: &Path) {
    let _ = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status();
}

/// PostgreSQL restarted during a burst: requests fail with 503 problems while it is down, never
/// a 500, and the service recovers by itself within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_under_load_gives_503s_and_the_service_recovers() {
    if postgres_server().is_none() {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    }
    let cluster = PrivateCluster::create();
    let mut admin =
        PgConnection::establish(&cluster.url("postgres")).unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query("CREATE DATABASE eservices")
        .execute(&mut admin)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(admin);
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = test_settings(
        &cluster.url("eservices"),
        data_dir.path(),
        &[
            ("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1"),
            ("REQUEST_TIMEOUT_SECONDS", "2"),
            ("IDEMPOTENCY_LEASE_SECONDS", "3"),
        ],
    );
    let base = start(settings).await;
    let client = reqwest::Client::new();
    let token = token(&client, &base, eservices_tests::demo::RESIDENT).await;

    // Four clients keep reading and creating drafts, with keys, through the restart.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, base, token, stop) =
            (client.clone(), base.clone(), token.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen: Vec<(Instant, u16, String)> = Vec::new();
            let mut created = BTreeSet::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let key = format!("c{c}-{i}");
                let reply = if i % 2 == 0 {
                    send(
                        &client,
                        &base,
                        Method::GET,
                        "/api/v1/me/applications",
                        &token,
                        None,
                        None,
                    )
                    .await
                } else {
                    send(
                        &client,
                        &base,
                        Method::POST,
                        "/api/v1/applications",
                        &token,
                        Some(&json!({"kind": "meter-damage-investigation"})),
                        Some(&key),
                    )
                    .await
                };
                let reply = reply.unwrap_or_else(|e| panic!("no answer at all: {e}"));
                if reply.status == 201 {
                    created.insert(reply.body["number"].as_str().unwrap_or_default().to_owned());
                }
                seen.push((
                    Instant::now(),
                    reply.status,
                    reply.body["code"].as_str().unwrap_or_default().to_owned(),
                ));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (seen, created)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.stop();
    let down_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    owned_by_postgres(cluster.dir.path());
    cluster.start();
    let up_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::SeqCst);

    let mut all = Vec::new();
    let mut created = BTreeSet::new();
    for task in clients {
        let (seen, made) = task.await.unwrap_or_else(|e| panic!("{e}"));
        all.extend(seen);
        created.extend(made);
    }
    let server_errors: Vec<_> = all
        .iter()
        .filter(|(_, s, _)| *s >= 500 && *s != 503)
        .collect();
    assert!(
        server_errors.is_empty(),
        "no 500 through the restart: {server_errors:?}"
    );
    let unavailable: Vec<_> = all.iter().filter(|(_, s, _)| *s == 503).collect();
    assert!(!unavailable.is_empty(), "the outage was seen as 503s");
    for (_, _, code) in &unavailable {
        assert!(
            matches!(code.as_str(), "database-unavailable" | "request-timeout"),
            "503 {code}"
        );
    }
    let others: Vec<_> = all
        .iter()
        .filter(|(_, s, _)| !matches!(*s, 200 | 201 | 503))
        .collect();
    assert!(others.is_empty(), "only successes and 503s: {others:?}");
    let first_success_after = all
        .iter()
        .filter(|(at, status, _)| *at > up_at && *status < 300)
        .map(|(at, _, _)| *at)
        .min()
        .unwrap_or_else(|| panic!("no success after the restart"));
    let recovery = first_success_after - up_at;
    assert!(
        recovery < Duration::from_secs(5),
        "recovered in {recovery:?}"
    );
    let last_failure = all
        .iter()
        .filter(|(_, s, _)| *s == 503)
        .map(|(at, _, _)| *at)
        .max();
    // Every 201 is stored: the acknowledged drafts are all there.
    let listed = send(
        &client,
        &base,
        Method::GET,
        "/api/v1/me/applications?limit=100",
        &token,
        None,
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let total = listed.body["total"].as_u64().unwrap_or_default();
    assert!(
        total >= u64::try_from(created.len()).unwrap_or(0),
        "{total} stored, {} acknowledged",
        created.len()
    );
    eprintln!(
        "postgres restart: {} requests, {} answered 503 during the outage ({:?} down), no 500; first success {:?} after the restart; last 503 {:?} after it",
        all.len(),
        unavailable.len(),
        up_at - down_at,
        recovery,
        last_failure.map(|at| at.saturating_duration_since(up_at))
    );
}

/// Two servers on one PostgreSQL take concurrent submissions: every number is unique and every
/// SMS is sent once, whichever server's dispatcher took it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_number_uniquely_and_send_once() {
    let Some(server) = postgres_server() else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    const APPLICANTS: usize = 60;
    let database_url = fresh_postgres_database(&server);
    let gateway = FakeSmsGateway::start().await;
    let overrides = [
        ("SMS_GATEWAY_URL", gateway.url.as_str()),
        ("SMS_GATEWAY_TOKEN", "gateway-token"),
        ("DISPATCH_INTERVAL_MS", "50"),
        ("DEMO_DATA", "false"),
    ];
    let (seed, people) = applicants(APPLICANTS);
    let dirs =
        [tempfile::tempdir(), tempfile::tempdir()].map(|d| d.unwrap_or_else(|e| panic!("{e}")));
    let settings: Vec<_> = dirs
        .iter()
        .map(|d| test_settings(&database_url, d.path(), &overrides))
        .collect();
    prepare(&settings[0], &seed);
    let bases = [
        start(settings[0].clone()).await,
        start(settings[1].clone()).await,
    ];
    let client = reqwest::Client::new();
    let mut submissions = Vec::new();
    for (i, (pin, code)) in people.iter().enumerate() {
        let base = bases[i % 2].clone();
        let token = token(&client, &base, pin).await;
        let (client, body) = (client.clone(), submission(code));
        submissions.push(tokio::spawn(async move {
            send(
                &client,
                &base,
                Method::POST,
                "/api/v1/applications",
                &token,
                Some(&body),
                Some(&format!("two-{i}")),
            )
            .await
        }));
    }
    let mut numbers = BTreeSet::new();
    for task in submissions {
        let reply = task
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.status, 201, "{}", reply.text);
        numbers.insert(reply.body["number"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(numbers.len(), APPLICANTS, "every number unique");

    let mut connection = PgConnection::establish(&database_url).unwrap_or_else(|e| panic!("{e}"));
    let sms = count(
        &mut connection,
        "SELECT count(*) AS n FROM outbox_messages WHERE channel = 'sms'",
    );
    assert!(
        sms >= i64::try_from(APPLICANTS).unwrap_or(0),
        "an SMS at least per submission: {sms}"
    );
    let started = Instant::now();
    while count(
        &mut connection,
        "SELECT count(*) AS n FROM outbox_messages WHERE status = 'queued'",
    ) > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the outbox did not drain"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let references: Vec<String> = gateway
        .requests()
        .iter()
        .map(|r| r["reference"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: BTreeSet<&String> = references.iter().collect();
    assert_eq!(
        (references.len(), unique.len()),
        (
            usize::try_from(sms).unwrap_or(0),
            usize::try_from(sms).unwrap_or(0)
        ),
        "each SMS sent once"
    );
    let workers = count(
        &mut connection,
        "SELECT count(DISTINCT worker) AS n FROM outbox_attempts",
    );
    eprintln!(
        "two servers: {APPLICANTS} submissions, {} numbers, {sms} SMS each sent once, {workers} dispatchers took part",
        numbers.len()
    );
}

/// SIGTERM: the process stops accepting, stops its dispatcher and exits with success.
#[tokio::test]
async fn sigterm_stops_the_process_cleanly() {
    let Some((database_url, data_dir)) =
        eservices_tests::fresh_database(eservices_tests::Backend::Sqlite)
    else {
        return;
    };
    let log = data_dir.path().join("server.log");
    let mut server = ServerProcess::start(
        &environment(
            &database_url,
            data_dir.path(),
            free_port(),
            &[("RUST_LOG", "info")],
        ),
        &log,
    )
    .await;
    let client = reqwest::Client::new();
    let token = token(&client, &server.address, eservices_tests::demo::RESIDENT).await;
    assert!(!token.is_empty());
    server.signal("TERM");
    let status = server.wait(Duration::from_secs(15)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?}"
    );
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log.contains("notification dispatcher stopped"), "{log}");
    assert!(
        log.lines()
            .any(|line| line.contains("eservices_api::startup")
                && line.trim_end().ends_with("stopped")),
        "the server's last line: {log}"
    );
}

/// Holds every stored answer of an Idempotency-Key (the UPDATE that writes its response) for a
/// minute, so that a server can be killed after an operation committed and before its answer
/// was kept.
const HOLD_ANSWERS: &str = "\
    CREATE FUNCTION hold_answers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
        IF NEW.response_status IS NOT NULL THEN PERFORM pg_sleep(60); END IF; RETURN NEW; \
    END $$; \
    CREATE TRIGGER hold_answers BEFORE UPDATE ON idempotency_keys \
        FOR EACH ROW EXECUTE FUNCTION hold_answers()";

/// The webhook operations that run outside the application store (registering and stopping a
/// subscription; redelivering and retrying a message work the same way, in
/// `storage::the_outboxs_writes_mark_the_idempotency_key_in_their_transaction`) mark their
/// Idempotency-Key in their own transaction: the server killed after the write committed and
/// before its answer was stored, a retry with the key after the lease gets 409
/// `idempotency-request-interrupted` and does not act a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_write_killed_before_its_answer_is_not_done_twice() {
    let Some(server) = postgres_server() else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let database_url = fresh_postgres_database(&server);
    let data_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let overrides = [
        ("REQUEST_TIMEOUT_SECONDS", "1"),
        ("IDEMPOTENCY_LEASE_SECONDS", "2"),
        ("DEMO_DATA", "false"),
    ];
    prepare(
        &test_settings(&database_url, data_dir.path(), &overrides),
        &json!({}),
    );
    let log = data_dir.path().join("server.log");
    let mut connection = PgConnection::establish(&database_url).unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    let registration = json!({"url": "http://127.0.0.1:9/hook", "event_types": ["registered"],
        "secret": "whsec_0123456789abcdef0123456789abcdef"});
    let subscriptions = "SELECT count(*) AS n FROM webhook_subscriptions";
    let active = "SELECT count(*) AS n FROM webhook_subscriptions WHERE active";
    let mut id = None;
    for (step, key) in [("register", "register-once"), ("stop", "stop-once")] {
        connection
            .batch_execute(HOLD_ANSWERS)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut first = ServerProcess::start(
            &environment(&database_url, data_dir.path(), free_port(), &overrides),
            &log,
        )
        .await;
        let admin = admin_token(&client, &first.address).await;
        let (method, path, body) = match id {
            None => (
                Method::POST,
                "/api/v1/webhooks".to_owned(),
                Some(registration.clone()),
            ),
            Some(id) => (Method::DELETE, format!("/api/v1/webhooks/{id}"), None),
        };
        let request = {
            let (client, base, admin) = (client.clone(), first.address.clone(), admin.clone());
            let (method, path, body) = (method.clone(), path.clone(), body.clone());
            tokio::spawn(async move {
                send(
                    &client,
                    &base,
                    method,
                    &path,
                    &admin,
                    body.as_ref(),
                    Some(key),
                )
                .await
            })
        };
        // The operation committed (its answer is being held): a new subscription, or none
        // active any more.
        let done = if id.is_none() { subscriptions } else { active };
        let expected = i64::from(id.is_none());
        let started = Instant::now();
        while count(&mut connection, done) != expected {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{step}: the operation never committed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Give the held UPDATE time to start: killed before it, the test proves less.
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.signal("KILL");
        assert!(
            first.wait(Duration::from_secs(10)).await.is_some(),
            "the server did not die"
        );
        assert!(
            request
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .map_or(true, |reply| reply.status >= 500),
            "{step}: no answer reached the client"
        );
        // The held UPDATE ends with its connection; the answer is not stored.
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&mut connection)
        .unwrap_or_else(|e| panic!("{e}"));
        connection
            .batch_execute(
                "DROP TRIGGER hold_answers ON idempotency_keys; DROP FUNCTION hold_answers()",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            count(&mut connection, subscriptions),
            1,
            "{step}: one subscription"
        );
        tokio::time::sleep(Duration::from_secs(3)).await;

        let second = ServerProcess::start(
            &environment(&database_url, data_dir.path(), free_port(), &overrides),
            &log,
        )
        .await;
        let admin = admin_token(&client, &second.address).await;
        let retry = send(
            &client,
            &second.address,
            method,
            &path,
            &admin,
            body.as_ref(),
            Some(key),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        retry.assert_problem(409, "idempotency-request-interrupted");
        assert_eq!(
            count(&mut connection, subscriptions),
            1,
            "{step}: still one subscription"
        );
        if id.is_none() {
            assert_eq!(count(&mut connection, active), 1);
            id = Some(count(
                &mut connection,
                "SELECT max(id) AS n FROM webhook_subscriptions",
            ));
        } else {
            assert_eq!(count(&mut connection, active), 0, "stopped once");
        }
        drop(second);
    }
}

/// A development token of an administrator, from the server at `base`.
async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    dev_token(
        client,
        base,
        json!({"employee_id": "admin-1", "roles": ["admin"]}),
    )
    .await
}
