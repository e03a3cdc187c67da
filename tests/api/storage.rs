//! Storage on both backends: migrations up, down and up again; application numbers unique under
//! concurrency and across two service instances; the seed loader idempotent.

use eservices_tests::{
    Backend, demo, fresh_database, on_both_backends, postgres_server, start, test_settings,
};
use persistence::{Database, PoolOptions};
use serde_json::json;

fn database(url: &str) -> Database {
    Database::connect(url, PoolOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn migrations_round_trip(backend: Backend) {
    let Some((url, _dir)) = fresh_database(backend) else {
        return;
    };
    let db = database(&url);
    // One folder per migration and backend: the initial schema, the notifications, the access
    // log, the delegated calls, no TRUNCATE of the audit tables, idempotency keys, the inbox's
    // counts, the hot rows out of submitting (numbers from sequences, counts in slots).
    const MIGRATIONS: usize = 8;
    assert_eq!(db.migrate().map(|m| m.len()).ok(), Some(MIGRATIONS));
    assert_eq!(
        db.migrate().map(|m| m.len()).ok(),
        Some(0),
        "migrations apply once"
    );
    let reverted = db
        .revert_all_migrations()
        .unwrap_or_else(|e| panic!("down: {e}"));
    assert_eq!(reverted.len(), MIGRATIONS);
    assert_eq!(
        db.migrate().map(|m| m.len()).ok(),
        Some(MIGRATIONS),
        "up again after down"
    );
    let demo = persistence::seed::SeedFile::from_json(api::startup::DEMO_SEED)
        .unwrap_or_else(|e| panic!("{e}"));
    persistence::seed::load(&db, &demo).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn migrations_up_down_up_on_sqlite() {
    migrations_round_trip(Backend::Sqlite);
}

#[test]
fn migrations_up_down_up_on_postgres() {
    migrations_round_trip(Backend::Postgres);
}

fn seed_twice_changes_nothing(backend: Backend) {
    let Some((url, _dir)) = fresh_database(backend) else {
        return;
    };
    let db = database(&url);
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let file = persistence::seed::SeedFile::from_json(api::startup::DEMO_SEED)
        .unwrap_or_else(|e| panic!("{e}"));
    let registries = persistence::LocalRegistries::new(db.clone());
    use domain::ports::{Billing, CitizenRegistry, PropertyRegistry};
    let snapshot = |registries: &persistence::LocalRegistries| {
        let pin = domain::identity::Pin::parse(demo::NEW_OWNER).unwrap_or_else(|_| unreachable!());
        let tin = domain::identity::Tin::parse(demo::BUSINESS).unwrap_or_else(|_| unreachable!());
        let key = domain::property::PropertyData::parse(
            "AZ-BA-NRM",
            "110033056204",
            "2026-203517",
            "apartment",
        )
        .unwrap_or_else(|_| unreachable!())
        .key;
        format!(
            "{:?}|{:?}|{:?}|{:?}",
            registries.main_information(&pin),
            registries.business(&tin),
            registries.head_codes(&tin),
            registries.property(&key)
        )
    };
    let first = persistence::seed::load(&db, &file).unwrap_or_else(|e| panic!("{e}"));
    let after_first = snapshot(&registries);
    let second = persistence::seed::load(&db, &file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, second);
    assert_eq!(snapshot(&registries), after_first);
    assert!(after_first.contains("Tural"), "{after_first}");
    let bad = persistence::seed::SeedFile::from_json(
        r#"{"citizens": [{"pin": "1", "first_name": "a", "last_name": "b", "birth_date": "2000-01-01", "registered_address": "x"}]}"#,
    );
    assert!(bad.is_err(), "a malformed PIN is refused");
    let unknown_key = persistence::seed::SeedFile::from_json(r#"{"people": []}"#);
    assert!(unknown_key.is_err(), "unknown keys are refused");
    let dangling = persistence::seed::SeedFile::from_json(
        r#"{"subscriber_accounts": [{"code": "1000000099", "holder_pin": "1NOBODY", "holder_first_name": "A", "holder_last_name": "B", "address": "x", "district_code": "AZ-SM", "debt_qapik": 0, "debt_as_of": "2026-01-01T00:00:00Z"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        persistence::seed::load(&db, &dangling).is_err(),
        "an account of an unknown citizen is refused"
    );
    assert_eq!(
        snapshot(&registries),
        after_first,
        "a refused file changes nothing"
    );
}

#[test]
fn seed_is_idempotent_on_sqlite() {
    seed_twice_changes_nothing(Backend::Sqlite);
}

#[test]
fn seed_is_idempotent_on_postgres() {
    seed_twice_changes_nothing(Backend::Postgres);
}

on_both_backends! {
    async fn concurrent_creations_get_distinct_numbers(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let requests = (0..24).map(|_| app.create(&token, json!({"kind": "account-change"})));
        let replies = futures_util::future::join_all(requests).await;
        let mut numbers: Vec<String> = replies
            .iter()
            .map(|r| r.assert_status(201)["number"].as_str().unwrap_or_default().to_owned())
            .collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 24);
        let year = chrono::Utc::now().format("%Y").to_string();
        assert_eq!(numbers.first().map(String::as_str), Some(format!("AC-{year}-000001").as_str()));
        assert_eq!(numbers.last().map(String::as_str), Some(format!("AC-{year}-000024").as_str()));
    }
}

/// A second instance of the service on the first one's PostgreSQL database and key pair.
async fn second_instance(first: &eservices_tests::TestApp) -> (String, tempfile::TempDir) {
    let second_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for file in [
        api::auth::DEV_PRIVATE_KEY_FILE,
        api::auth::DEV_PUBLIC_KEY_FILE,
    ] {
        std::fs::copy(
            first.data_dir.path().join(file),
            second_dir.path().join(file),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let second = start(test_settings(&first.database_url, second_dir.path(), &[])).await;
    (second, second_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_give_unique_numbers() {
    if postgres_server().is_none() {
        return;
    }
    let Some(first) = eservices_tests::spawn_app(Backend::Postgres).await else {
        return;
    };
    let (second, _second_dir) = second_instance(&first).await;
    let token = first.token(demo::RESIDENT, None).await;
    let client = reqwest::Client::new();
    let requests = (0..30).map(|i| {
        let base = if i % 2 == 0 {
            first.address.clone()
        } else {
            second.clone()
        };
        let request = client
            .post(format!("{base}/api/v1/applications"))
            .bearer_auth(&token)
            .json(&json!({"kind": "meter-damage-investigation"}));
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(response.status().as_u16(), 201);
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            body["number"].as_str().unwrap_or_default().to_owned()
        }
    });
    let mut numbers = futures_util::future::join_all(requests).await;
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 30);
}

/// The hot rows are gone from submitting (numbers from a sequence, counts in per-connection
/// slots): two instances submitting and cancelling at once on one PostgreSQL never share a
/// number, and the inbox's counts stay equal to the applications counted one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_submitting_at_once_share_no_number_and_keep_the_counts_on_postgres() {
    use diesel::RunQueryDsl;
    if postgres_server().is_none() {
        return;
    }
    let Some(first) = eservices_tests::spawn_app(Backend::Postgres).await else {
        return;
    };
    let (second, _second_dir) = second_instance(&first).await;
    const SUBMISSIONS: usize = 48;
    let db = database(&first.database_url);
    {
        let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
        // Fresh accounts of the demo resident in a district a department serves: each
        // submission needs a target without an open application.
        diesel::sql_query(format!(
            "INSERT INTO subscriber_accounts (code, holder_pin, holder_first_name, holder_last_name, address, \
                 district_code, debt_qapik, debt_as_of) \
             SELECT (2000000000 + n)::TEXT, '{}', 'Rəşad', 'Məmmədov', 'Bakı', 'AZ-BA-YSM', 0, '2026-11-01' \
             FROM generate_series(1, {SUBMISSIONS}) AS n",
            demo::RESIDENT
        ))
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let token = first.token(demo::RESIDENT, None).await;
    let client = reqwest::Client::new();
    let base_of = |i: usize| {
        if i.is_multiple_of(2) {
            first.address.clone()
        } else {
            second.clone()
        }
    };
    let submissions = (0..SUBMISSIONS).map(|i| {
        let request = client
            .post(format!("{}/api/v1/applications", base_of(i)))
            .bearer_auth(&token)
            .json(&json!({
                "kind": "meter-damage-investigation",
                "subscriber": {"type": "residential", "subscriber_code": (2_000_000_001 + i).to_string()},
                "damage_description": "Sayğacın şüşəsi sınıb.",
                "contact": {"mobile_numbers": ["050 123 45 67"], "email": "resad@example.az"},
                "submit": true
            }));
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert_eq!(status, 201, "{body}");
            body["number"].as_str().unwrap_or_default().to_owned()
        }
    });
    let numbers = futures_util::future::join_all(submissions).await;
    let mut distinct = numbers.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), SUBMISSIONS, "{numbers:?}");
    // Every third withdrawn at once, from both instances: each moves a count from one status to
    // another.
    let cancellations = numbers.iter().enumerate().step_by(3).map(|(i, number)| {
        let request = client
            .post(format!(
                "{}/api/v1/applications/{number}/cancel",
                base_of(i + 1)
            ))
            .bearer_auth(&token)
            .json(&json!({}));
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(response.status().as_u16(), 200);
        }
    });
    futures_util::future::join_all(cancellations).await;

    #[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        department_code: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<Count> = diesel::sql_query(
        "SELECT department_code, status, CAST(sum(count) AS BIGINT) AS n FROM application_counts \
         GROUP BY 1, 2 HAVING sum(count) <> 0 ORDER BY 1, 2",
    )
    .load(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    let counted: Vec<Count> = diesel::sql_query(
        "SELECT COALESCE(department_code, '') AS department_code, status, count(*) AS n FROM applications \
         WHERE submitted_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .load(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kept, counted);
    let cancelled = counted
        .iter()
        .filter(|c| c.status == "cancelled")
        .map(|c| c.n)
        .sum::<i64>();
    assert_eq!(cancelled, 16, "{counted:?}");
    #[derive(diesel::QueryableByName)]
    struct Slots {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let slots: Vec<Slots> =
        diesel::sql_query("SELECT count(DISTINCT slot) AS n FROM application_counts")
            .load(&mut *conn)
            .unwrap_or_else(|e| panic!("{e}"));
    // Two instances' pools wrote the counts: more than one slot took them.
    assert!(slots.first().is_some_and(|s| s.n > 1));
}

/// Routing reads the departments at most once per refresh: a change of that master data is
/// seen after the refresh, not before, and not by a read that the kept copy answers.
fn departments_are_read_again_after_the_refresh(backend: Backend) {
    use diesel::RunQueryDsl;
    use domain::ports::DepartmentDirectory;
    let Some((url, _dir)) = fresh_database(backend) else {
        return;
    };
    let db = database(&url);
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let demo = persistence::seed::SeedFile::from_json(api::startup::DEMO_SEED)
        .unwrap_or_else(|e| panic!("{e}"));
    persistence::seed::load(&db, &demo).unwrap_or_else(|e| panic!("{e}"));
    let refresh = std::time::Duration::from_millis(400);
    let directory = persistence::DieselDepartments::refreshed_every(db.clone(), refresh);
    let districts = |directory: &persistence::DieselDepartments| -> usize {
        directory
            .departments()
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|d| d.districts.len())
            .sum()
    };
    let before = districts(&directory);
    assert!(before > 1, "the demo data routes districts");
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    let removed = diesel::sql_query(
        "DELETE FROM department_districts WHERE district_code = \
         (SELECT min(district_code) FROM department_districts)",
    )
    .execute(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(removed >= 1);
    assert_eq!(districts(&directory), before, "kept until the refresh");
    let clone = directory.clone();
    assert_eq!(districts(&clone), before, "clones share the kept copy");
    std::thread::sleep(refresh + std::time::Duration::from_millis(100));
    assert_eq!(
        districts(&directory),
        before - removed,
        "read again after it"
    );
    let uncached = persistence::DieselDepartments::refreshed_every(db, std::time::Duration::ZERO);
    assert_eq!(districts(&uncached), before - removed);
}

#[test]
fn departments_are_read_again_after_the_refresh_on_sqlite() {
    departments_are_read_again_after_the_refresh(Backend::Sqlite);
}

#[test]
fn departments_are_read_again_after_the_refresh_on_postgres() {
    departments_are_read_again_after_the_refresh(Backend::Postgres);
}

fn timeline_is_append_only(backend: Backend) {
    use diesel::RunQueryDsl;
    let Some((url, _dir)) = fresh_database(backend) else {
        return;
    };
    let db = database(&url);
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    for table in persistence::schema::TABLES {
        let counted =
            diesel::sql_query(format!("SELECT 1 FROM {table} LIMIT 1")).execute(&mut *conn);
        assert!(counted.is_ok(), "table {table} exists: {counted:?}");
    }
    diesel::sql_query(
        "INSERT INTO applications (number, kind, status, applicant_pin, login_method, created_at, updated_at, version) \
         VALUES ('MD-2026-000001', 'meter-damage-investigation', 'draft', '5R7KQ2M', 'password', '2026-11-23 10:00:00', '2026-11-23 10:00:00', 1)",
    )
    .execute(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(
        "INSERT INTO application_timeline (application_id, at, actor_id, actor_role, action, to_status) \
         SELECT id, '2026-11-23 10:00:00', '5R7KQ2M', 'applicant', 'create', 'draft' FROM applications",
    )
    .execute(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    let changed = diesel::sql_query("UPDATE application_timeline SET comment = 'rewritten'")
        .execute(&mut *conn);
    assert!(changed.is_err(), "an entry was changed");
    let removed = diesel::sql_query("DELETE FROM application_timeline").execute(&mut *conn);
    assert!(removed.is_err(), "an entry was removed");
}

#[test]
fn timeline_is_append_only_on_sqlite() {
    timeline_is_append_only(Backend::Sqlite);
}

#[test]
fn timeline_is_append_only_on_postgres() {
    timeline_is_append_only(Backend::Postgres);
}

/// The inbox's queries use their indexes on a million applications in five departments (PostgreSQL's plans; the queries are
/// those `DieselApplicationStore::inbox` and `counts` build).
#[test]
fn inbox_queries_use_their_indexes_on_postgres() {
    use diesel::RunQueryDsl;
    let Some((url, _dir)) = fresh_database(Backend::Postgres) else {
        return;
    };
    let db = database(&url);
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(
        "INSERT INTO applications (number, kind, status, applicant_pin, login_method, department_code, district_code, \
             due_at, submitted_at, created_at, updated_at, version) \
         SELECT 'MD-2026-' || lpad(n::text, 7, '0'), 'meter-damage-investigation', \
             (ARRAY['submitted','accepted','inspection-scheduled','inspected','completed','rejected','cancelled'])[1 + n % 7], \
             '5R7KQ2M', 'password', 'DEPT-' || (n % 5), 'AZ-BA-YSM', \
             timestamp '2026-01-01' + (n || ' minutes')::interval, timestamp '2025-12-01' + (n || ' minutes')::interval, \
             timestamp '2025-12-01', timestamp '2025-12-01', 1 \
         FROM generate_series(1, 1000000) AS n",
    )
    .execute(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    // The statement trigger counted the million in one go (a row trigger took minutes here).
    #[derive(diesel::QueryableByName)]
    struct Counted {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let counted: Vec<Counted> = diesel::sql_query(
        "SELECT CAST(sum(count) AS BIGINT) AS n FROM application_counts WHERE department_code = 'DEPT-3' \
         UNION ALL SELECT count(*) AS n FROM applications WHERE department_code = 'DEPT-3'",
    )
    .load(&mut *conn)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        counted.iter().map(|c| c.n).collect::<Vec<_>>(),
        vec![200_000, 200_000]
    );
    // As autovacuum leaves a table in service: statistics and the visibility map up to date.
    diesel::sql_query("VACUUM ANALYZE applications")
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    #[derive(diesel::QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let mut plan = |sql: &str| -> String {
        let lines: Vec<Plan> = diesel::sql_query(format!("EXPLAIN {sql}"))
            .load(&mut *conn)
            .unwrap_or_else(|e| panic!("{e}"));
        lines
            .into_iter()
            .map(|p| p.line)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let by_submission = plan(
        "SELECT * FROM applications WHERE submitted_at IS NOT NULL AND department_code = 'DEPT-3' AND status = 'submitted' \
         ORDER BY submitted_at ASC, id ASC LIMIT 20 OFFSET 0",
    );
    assert!(
        by_submission.contains("applications_inbox_by_submission")
            && !by_submission.contains("Seq Scan"),
        "{by_submission}"
    );
    let overdue = plan(
        "SELECT * FROM applications WHERE submitted_at IS NOT NULL AND department_code = 'DEPT-3' AND due_at < '2026-01-02' \
         AND status IN ('submitted','accepted','inspection-scheduled','inspected','under-review') \
         ORDER BY due_at ASC, id ASC LIMIT 20 OFFSET 0",
    );
    assert!(!overdue.contains("Seq Scan"), "{overdue}");
    let supervisor = plan(
        "SELECT * FROM applications WHERE submitted_at IS NOT NULL AND status = 'accepted' ORDER BY submitted_at ASC, id ASC LIMIT 20 OFFSET 0",
    );
    assert!(!supervisor.contains("Seq Scan"), "{supervisor}");
    // The defaults: a department's inbox and everything, without a status, oldest first or by due time.
    for (sql, index) in [
        (
            "SELECT * FROM applications WHERE submitted_at IS NOT NULL AND department_code = 'DEPT-3' ORDER BY submitted_at ASC, id ASC LIMIT 20 OFFSET 0",
            "applications_department_by_submission",
        ),
        (
            "SELECT * FROM applications WHERE submitted_at IS NOT NULL AND department_code = 'DEPT-3' ORDER BY due_at ASC, id ASC LIMIT 20 OFFSET 0",
            "applications_department_by_due",
        ),
        (
            "SELECT * FROM applications WHERE submitted_at IS NOT NULL ORDER BY submitted_at ASC, id ASC LIMIT 20 OFFSET 0",
            "applications_all_by_submission",
        ),
        (
            "SELECT * FROM applications WHERE submitted_at IS NOT NULL ORDER BY due_at ASC, id ASC LIMIT 20 OFFSET 0",
            "applications_all_by_due",
        ),
    ] {
        let chosen = plan(sql);
        // Pages come straight from an index in order: no scan of the table, no sort. (The
        // planner may pick another index that gives the order as well as `index` does.)
        assert!(
            !chosen.contains("Seq Scan") && !chosen.contains("Sort"),
            "{sql} (for {index})\n{chosen}"
        );
    }
    // Counting a department's applications per status reads its entries in an index, not the
    // table.
    let counts = plan(
        "SELECT status, count(*) FROM applications WHERE submitted_at IS NOT NULL AND department_code = 'DEPT-3' GROUP BY status",
    );
    assert!(
        counts.contains("Index Only Scan") && !counts.contains("Seq Scan"),
        "{counts}"
    );
}

// The hot reads (async on PostgreSQL, the blocking pool on SQLite) give what the store and
// the outbox give for the same data: every application with its timeline and its SMS and
// e-mail messages (not its webhooks), every page of every filter, and nothing for a
// number nobody has.
on_both_backends! {
    async fn the_hot_reads_answer_what_the_store_answers(app) {
        use domain::ports::{ApplicationQuery, ApplicationStore};
        use domain::reads::ApplicationReads;
        let resident = app.token(demo::RESIDENT, None).await;
        let mut numbers = Vec::new();
        for (code, email) in [("1000000001", None), ("1000000002", Some("tural@example.az"))] {
            let mut contact = json!({"mobile_numbers": ["050 123 45 67"]});
            if let Some(email) = email {
                contact["email"] = json!(email);
            }
            let submitted = app.create(&resident, json!({"kind": "meter-damage-investigation",
                "subscriber": {"type": "residential", "subscriber_code": code},
                "contact": contact, "submit": true})).await;
            numbers.push(submitted.assert_status(201)["number"].as_str().unwrap_or_default().to_owned());
        }
        let draft = app.create(&resident, json!({"kind": "account-change"})).await;
        numbers.push(draft.assert_status(201)["number"].as_str().unwrap_or_default().to_owned());
        let business = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let made_for_business = app.create(&business, json!({"kind": "meter-damage-investigation"})).await;
        numbers.push(made_for_business.assert_status(201)["number"].as_str().unwrap_or_default().to_owned());

        let db = database(&app.database_url);
        let reads = persistence::DieselApplicationReads::new(db.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reads.is_async(), app.backend == Backend::Postgres, "async exactly on PostgreSQL");
        reads.check().await.unwrap_or_else(|e| panic!("{e}"));
        let store = persistence::DieselApplicationStore::new(db.clone());
        let outbox = persistence::DieselOutbox::new(db);
        let mut messages_seen = 0;
        for number in &numbers {
            let number = domain::application::ApplicationNumber::parse(number).unwrap_or_else(|e| panic!("{e}"));
            let found = reads.find_with_messages(&number).await.unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("{number} is stored"));
            let stored = store.find(&number).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(Some(&found.application), stored.as_ref(), "{number}");
            assert!(!found.application.timeline.is_empty(), "{number} has its timeline");
            let messages = outbox.messages_of(&number, false).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(found.messages, messages, "{number}");
            messages_seen += messages.len();
        }
        // Both submissions told the applicant by SMS, the second by e-mail too.
        assert!(messages_seen >= 3, "{messages_seen} messages");
        let nobody = domain::application::ApplicationNumber::parse("MD-2026-999999").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reads.find_with_messages(&nobody).await.ok(), Some(None));

        let resident_pin = domain::identity::Pin::parse(demo::RESIDENT).unwrap_or_else(|e| panic!("{e}"));
        let business_pin = domain::identity::Pin::parse(demo::BUSINESS_REPRESENTATIVE).unwrap_or_else(|e| panic!("{e}"));
        let business_tin = domain::identity::Tin::parse(demo::BUSINESS).ok();
        let mut queries = Vec::new();
        for (applicant, acting_for) in [(resident_pin.clone(), None), (business_pin, business_tin), (resident_pin, domain::identity::Tin::parse(demo::BUSINESS).ok())] {
            for status in [None, Some(domain::status::Status::Draft), Some(domain::status::Status::Submitted)] {
                for kind in [None, Some(domain::application::ApplicationKind::MeterDamageInvestigation)] {
                    queries.push(ApplicationQuery { applicant: applicant.clone(), acting_for: acting_for.clone(), status, kind, limit: 1, after: None });
                }
            }
        }
        let mut pages = 0;
        for mut query in queries {
            loop {
                let read = reads.list(&query).await.unwrap_or_else(|e| panic!("{e}"));
                let stored = store.list(&query).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(read, stored, "{query:?}");
                pages += 1;
                match read.next_after {
                    Some(after) => query.after = Some(after),
                    None => break,
                }
            }
        }
        assert!(pages > 18, "the resident's applications span pages ({pages} pages)");
    }
}

/// A residential investigation created and submitted at once by the demo resident at `now`,
/// with `contact`, as the use case hands it to the store.
fn submitted_by_the_resident(
    now: chrono::DateTime<chrono::Utc>,
    contact: Option<domain::contact::ContactInformation>,
) -> domain::application::NewApplication {
    use domain::application::{Actor, NewApplication, Steps, TimelineEntry, Work};
    use domain::identity::{Applicant, LoginMethod, Pin, Role};
    use domain::status::{Action, Status};
    let applicant = Applicant {
        pin: Pin::parse(demo::RESIDENT).unwrap_or_else(|e| panic!("{e}")),
        tin: None,
        login_method: LoginMethod::AsanImza,
    };
    let entry = |action, from, to| TimelineEntry {
        at: now,
        actor: Actor {
            id: applicant.pin.to_string(),
            role: Role::Applicant,
        },
        action,
        from,
        to,
        comment: None,
    };
    NewApplication {
        status: Status::Submitted,
        applicant: applicant.clone(),
        steps: Steps::empty(domain::application::ApplicationKind::MeterDamageInvestigation),
        contact,
        work: Work::default(),
        created_at: now,
        submitted_at: Some(now),
        timeline: vec![
            entry(Action::Create, None, Status::Draft),
            entry(Action::Submit, Some(Status::Draft), Status::Submitted),
        ],
        language: domain::notifications::Language::Az,
    }
}

// The statements of a submission stay prepared on their connection (PostgreSQL plans each
// once, not at every call), and there are two: two submissions on a pool of one connection
// leave the number's and the one that writes the application with its timeline, events and
// messages each prepared once, and no other. Diesel prepares a statement anew each time when its
// text varies with the values (a DEFAULT for an empty field, a list of rows) or when it is
// `sql_query`.
#[test]
fn a_submissions_statements_are_prepared_once_a_connection_on_postgres() {
    use diesel::RunQueryDsl;
    use domain::ports::ApplicationStore;
    let Some((url, _dir)) = fresh_database(Backend::Postgres) else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let db = Database::connect(
        &url,
        PoolOptions {
            max_size: 1,
            async_reads: false,
            ..PoolOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let store = persistence::DieselApplicationStore::new(db.clone());
    let contact = domain::contact::ContactInformation::parse(
        &["050 123 45 67".to_owned()],
        Some("abonent@example.az"),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let now = chrono::Utc::now();
    let mut submitted = Vec::new();
    for _ in 0..2 {
        let created = store
            .create(submitted_by_the_resident(now, Some(contact.clone())))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.timeline.len(), 2);
        submitted.push(created);
    }
    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    let prepared: Vec<Prepared> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let submissions: Vec<&str> = prepared
        .iter()
        .map(|p| p.statement.trim_start())
        .filter(|statement| !statement.contains("__diesel_schema_migrations"))
        .collect();
    assert_eq!(submissions.len(), 2, "prepared: {submissions:#?}");
    for start in [
        "SELECT next_application_number(",
        "WITH app AS (INSERT INTO \"applications\"",
    ] {
        let found = prepared
            .iter()
            .filter(|p| p.statement.trim_start().starts_with(start))
            .count();
        assert_eq!(
            found,
            1,
            "{start}… prepared {found} times; prepared: {:#?}",
            prepared.iter().map(|p| &p.statement).collect::<Vec<_>>()
        );
    }
    drop(conn);
    // Built without reading the row back, the application as created is what a read gives.
    for created in submitted {
        let stored = store
            .find(&created.number)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.as_ref(), Some(&created));
    }
}

/// The outbox's writes that a request with an Idempotency-Key runs (registering and stopping a
/// webhook subscription, redelivering and retrying a message) mark the key committed in their
/// own transaction, as the application store's do; a key another request has taken over rolls
/// the write back. (`faults::a_webhook_write_killed_before_its_answer_is_not_done_twice` kills a
/// server at that point.)
fn the_outboxs_writes_mark_the_idempotency_key_in_their_transaction(backend: Backend) {
    use diesel::RunQueryDsl;
    use domain::notifications::EventType;
    use domain::ports::ApplicationStore;
    use persistence::idempotency::{Claim, ClaimTimes, Claimed, IdempotencyKeys, run_claimed};
    let Some((url, _dir)) = fresh_database(backend) else {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let db = database(&url);
    db.migrate().unwrap_or_else(|e| panic!("{e}"));
    let outbox = persistence::DieselOutbox::new(db.clone());
    let keys = IdempotencyKeys::new(db.clone());
    let now = chrono::Utc::now();
    let claim = |key: &str| -> Claim {
        let times = ClaimTimes {
            now,
            lease: chrono::TimeDelta::seconds(30),
            keep: chrono::TimeDelta::hours(1),
        };
        match keys.claim("admin-1", key, "hash", &format!("fence-{key}"), times) {
            Ok(Claimed::Run(claim)) => claim,
            other => panic!("{key}: {other:?}"),
        }
    };
    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let number = |sql: &str| -> i64 {
        let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(sql)
            .get_result::<Number>(&mut *conn)
            .map(|row| row.n)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let run = |sql: &str| {
        let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(sql)
            .execute(&mut *conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    let committed = |key: &str| {
        number(&format!(
            "SELECT count(*) AS n FROM idempotency_keys WHERE idempotency_key = '{key}' AND committed"
        ))
    };

    let new_subscription = persistence::outbox::NewSubscription {
        url: "http://127.0.0.1:9/hook".to_owned(),
        event_types: vec![EventType::Registered],
        secret: "whsec_0123456789abcdef0123456789abcdef".to_owned(),
        description: None,
        created_by: "admin-1".to_owned(),
        created_at: now,
    };
    let registered = claim("register");
    let subscription = run_claimed(Some(registered), || {
        outbox.create_subscription(&new_subscription)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(committed("register"), 1, "registering marks its key");

    // A submission raises an event that the subscription is sent.
    persistence::DieselApplicationStore::new(db.clone())
        .create(submitted_by_the_resident(now, None))
        .unwrap_or_else(|e| panic!("{e}"));
    let message = number("SELECT max(id) AS n FROM outbox_messages WHERE channel = 'webhook'");

    run(&format!(
        "UPDATE outbox_messages SET status = 'failed' WHERE id = {message}"
    ));
    let retried = run_claimed(Some(claim("retry")), || outbox.retry_failed(message, now));
    assert_eq!(retried.ok(), Some(true));
    assert_eq!(committed("retry"), 1, "a retry marks its key");

    run(&format!(
        "UPDATE outbox_messages SET status = 'sent' WHERE id = {message}"
    ));
    let redelivered = run_claimed(Some(claim("redeliver")), || outbox.redeliver(message, now));
    assert_eq!(redelivered.ok(), Some(true));
    assert_eq!(committed("redeliver"), 1, "a redelivery marks its key");

    // Taken over (another fence holds the key): the stop is rolled back.
    let mut taken_over = claim("stop");
    taken_over.fence = "another request's".to_owned();
    let stopped = run_claimed(Some(taken_over), || {
        outbox.deactivate_subscription(subscription.id)
    });
    assert!(stopped.is_err(), "{stopped:?}");
    let active = "SELECT count(*) AS n FROM webhook_subscriptions WHERE active";
    assert_eq!(number(active), 1, "not stopped");
    let stopped = run_claimed(Some(claim("stop-again")), || {
        outbox.deactivate_subscription(subscription.id)
    });
    assert_eq!(stopped.ok(), Some(true));
    assert_eq!((number(active), committed("stop-again")), (0, 1));
}

#[test]
fn the_outboxs_writes_mark_the_idempotency_key_in_their_transaction_on_sqlite() {
    the_outboxs_writes_mark_the_idempotency_key_in_their_transaction(Backend::Sqlite);
}

#[test]
fn the_outboxs_writes_mark_the_idempotency_key_in_their_transaction_on_postgres() {
    the_outboxs_writes_mark_the_idempotency_key_in_their_transaction(Backend::Postgres);
}
