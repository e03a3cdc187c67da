//! The personal-data access log: every registry or billing read recorded with who, whose, which
//! system, what and why; queried by admins only; never changed.

use eservices_tests::{TestApp, demo, on_both_backends};
use serde_json::{Value, json};

async fn reads(app: &TestApp, query: &str) -> Vec<Value> {
    let admin = app.staff_token("admin-01", "admin", None).await;
    let reply = app
        .get(
            &format!("/api/v1/admin/personal-data-reads?{query}"),
            Some(&admin),
        )
        .await;
    reply
        .assert_status(200)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn execute_fails(app: &TestApp, sql: &str) -> bool {
    use diesel::connection::SimpleConnection;
    let db = persistence::Database::connect(&app.database_url, persistence::PoolOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    conn.batch_execute(sql).is_err()
}

on_both_backends! {
    async fn every_read_is_recorded_with_who_whose_and_why(app) {
        let resident = app.token(demo::RESIDENT, None).await;
        app.get("/api/v1/me", Some(&resident)).await.assert_status(200);
        app.get("/api/v1/me/subscriber-accounts", Some(&resident)).await.assert_status(200);

        let mine = reads(&app, &format!("subject={}", demo::RESIDENT)).await;
        let summary: Vec<(String, String, String, String, String)> = mine
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (s("reader_kind"), s("reader_id"), s("registry"), s("data"), s("purpose"))
            })
            .collect();
        let expect = |registry: &str, data: &str, purpose: &str| {
            ("applicant".to_owned(), demo::RESIDENT.to_owned(), registry.to_owned(), data.to_owned(), purpose.to_owned())
        };
        assert!(summary.contains(&expect("citizen-registry", "main-information", "GET /api/v1/me")), "{summary:#?}");
        assert!(summary.contains(&expect("billing", "subscriber-accounts", "GET /api/v1/me/subscriber-accounts")), "{summary:#?}");

        // The staff's reads name the employee.
        let owner = app.token(demo::NEW_OWNER, None).await;
        let created = app.create(&owner, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"},
            "contact": {"mobile_numbers": ["051 234 56 78"]}, "submit": true})).await;
        let number = created.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        let supervisor = app.staff_token("sup-7", "supervisor", None).await;
        let (_, etag) = app.read(&number, &supervisor).await;
        let review = app.act(&number, &supervisor, Some(&etag), json!({"action": "start-review"})).await;
        app.act(&number, &supervisor, Some(&review.etag()), json!({"action": "approve"})).await.assert_status(200);
        let by_staff = reads(&app, "reader=sup-7").await;
        assert!(
            by_staff.iter().any(|r| r["reader_kind"] == json!("supervisor") && r["subject"] == json!(demo::NEW_OWNER)
                && r["purpose"] == json!(format!("POST /api/v1/applications/{number}/actions"))),
            "{by_staff:#?}"
        );

        // Admins only; bad filters are refused.
        app.get("/api/v1/admin/personal-data-reads", Some(&resident)).await.assert_problem(403, "forbidden-role");
        app.get("/api/v1/admin/personal-data-reads", Some(&supervisor)).await.assert_problem(403, "forbidden-role");
        let admin = app.staff_token("admin-01", "admin", None).await;
        app.get("/api/v1/admin/personal-data-reads?limit=0", Some(&admin)).await.assert_problem(400, "invalid-query-parameter");
        for query in ["subject=5R7KQ2M%00", "reader=%07", &format!("subject={}", "1".repeat(101))] {
            let refused = app.get(&format!("/api/v1/admin/personal-data-reads?{query}"), Some(&admin)).await;
            assert_eq!(refused.assert_problem(400, "invalid-query-parameter")["errors"][0]["field"], json!(query.split('=').next().unwrap_or_default()));
        }
        assert_eq!(reads(&app, "limit=1").await.len(), 1);

        // Nobody changes it, not even with SQL.
        assert!(execute_fails(&app, "UPDATE personal_data_reads SET reader_id = 'someone-else'"));
        assert!(execute_fails(&app, "DELETE FROM personal_data_reads"));
        if app.backend == eservices_tests::Backend::Postgres {
            assert!(execute_fails(&app, "TRUNCATE personal_data_reads"));
            assert!(execute_fails(&app, "TRUNCATE delegated_calls"));
        }
        assert_eq!(reads(&app, &format!("subject={}", demo::RESIDENT)).await.len(), mine.len());
    }
}
