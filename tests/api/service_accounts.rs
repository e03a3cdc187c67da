//! Service accounts: an outside system (the e-gov portal) acting for an applicant it names, with
//! scopes; every call recorded with both identities.

use eservices_tests::{TestApp, demo, on_both_backends};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn integrator_token(app: &TestApp, scope: &str) -> String {
    signed(app, &["integrator"], scope)
}

fn signed(app: &TestApp, roles: &[&str], scope: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "egov-portal", "roles": roles, "scope": scope,
        "iss": app.settings.jwt.issuer, "aud": app.settings.jwt.audience, "iat": now, "exp": now + 600});
    let pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE))
        .unwrap_or_default();
    let key = EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key).unwrap_or_default()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> eservices_tests::Reply {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    eservices_tests::Reply::from(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

on_both_backends! {
    async fn a_portals_applicants_never_share_idempotency_keys(app) {
        let writer = integrator_token(&app, "applications:read applications:write");
        let body = json!({"kind": "meter-damage-investigation"});
        let mut numbers = Vec::new();
        for pin in [demo::RESIDENT, demo::NOBODY] {
            let headers = [("X-On-Behalf-Of", pin), ("X-On-Behalf-Of-Login-Method", "asan-imza"), ("Idempotency-Key", "form-1")];
            let created = call(&app, reqwest::Method::POST, "/api/v1/applications", &writer, &headers, Some(body.clone())).await;
            assert_eq!(created.status, 201, "{}", created.text);
            assert!(!created.headers.contains_key("idempotent-replayed"), "not another applicant's answer");
            assert_eq!(created.body["applicant"]["pin"], json!(pin));
            numbers.push(created.body["number"].clone());
        }
        assert_ne!(numbers[0], numbers[1]);
        // The same applicant again through the portal: the same answer.
        let headers = [("X-On-Behalf-Of", demo::RESIDENT), ("X-On-Behalf-Of-Login-Method", "asan-imza"), ("Idempotency-Key", "form-1")];
        let again = call(&app, reqwest::Method::POST, "/api/v1/applications", &writer, &headers, Some(body)).await;
        assert_eq!((again.status, again.body["number"].clone()), (201, numbers[0].clone()));
        assert!(again.headers.contains_key("idempotent-replayed"));
    }

    async fn a_service_account_acts_for_the_applicant_it_names(app) {
        let writer = integrator_token(&app, "applications:read applications:write");
        let reader = integrator_token(&app, "applications:read");
        let as_resident = [("X-On-Behalf-Of", demo::RESIDENT), ("X-On-Behalf-Of-Login-Method", "asan-imza")];
        let body = json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "contact": {"mobile_numbers": ["050 123 45 67"]}, "submit": true});

        // Naming the applicant is required, and the scope must cover the operation.
        let nameless = call(&app, reqwest::Method::POST, "/api/v1/applications", &writer, &[], Some(body.clone())).await;
        nameless.assert_problem(400, "invalid-on-behalf-of");
        assert_eq!(nameless.fields_at_fault(), ["X-On-Behalf-Of"]);
        let no_method = call(&app, reqwest::Method::POST, "/api/v1/applications", &writer, &[("X-On-Behalf-Of", demo::RESIDENT)], Some(body.clone())).await;
        assert_eq!(no_method.assert_problem(400, "invalid-on-behalf-of")["errors"][0]["field"], json!("X-On-Behalf-Of-Login-Method"));
        call(&app, reqwest::Method::POST, "/api/v1/applications", &reader, &as_resident, Some(body.clone())).await
            .assert_problem(403, "insufficient-scope");
        call(&app, reqwest::Method::GET, "/api/v1/inbox", &writer, &as_resident, None).await
            .assert_problem(403, "forbidden-role");

        // Made for the resident, as if the resident had made it.
        let created = call(&app, reqwest::Method::POST, "/api/v1/applications", &writer, &as_resident, Some(body)).await;
        let number = created.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        assert_eq!(created.body["applicant"]["pin"], json!(demo::RESIDENT));
        assert_eq!(created.body["applicant"]["login_method"], json!("asan-imza"));
        let resident = app.token(demo::RESIDENT, None).await;
        app.get(&format!("/api/v1/applications/{number}"), Some(&resident)).await.assert_status(200);
        let mine = call(&app, reqwest::Method::GET, "/api/v1/me/applications", &reader, &as_resident, None).await;
        assert_eq!(mine.assert_status(200)["total"], json!(1), "read scope reads");
        let someone_else = [("X-On-Behalf-Of", demo::NOBODY), ("X-On-Behalf-Of-Login-Method", "password")];
        call(&app, reqwest::Method::GET, &format!("/api/v1/applications/{number}"), &reader, &someone_else, None).await
            .assert_problem(404, "application-not-found");

        let twice = [("X-On-Behalf-Of", demo::RESIDENT), ("X-On-Behalf-Of", demo::NOBODY), ("X-On-Behalf-Of-Login-Method", "asan-imza")];
        let repeated = call(&app, reqwest::Method::GET, "/api/v1/me/applications", &reader, &twice, None).await;
        assert_eq!(repeated.assert_problem(400, "invalid-on-behalf-of")["errors"][0]["field"], json!("X-On-Behalf-Of"));

        // A service account is never also staff or admin, and a token mixing roles is refused.
        let mixed = signed(&app, &["integrator", "admin"], "applications:read applications:write");
        call(&app, reqwest::Method::GET, "/api/v1/webhooks", &mixed, &[], None).await.assert_problem(403, "forbidden-role");
        call(&app, reqwest::Method::GET, "/api/v1/me/applications", &mixed, &as_resident, None).await.assert_problem(403, "forbidden-role");
        let as_staff = signed(&app, &["integrator", "supervisor"], "applications:read");
        call(&app, reqwest::Method::GET, "/api/v1/inbox", &as_staff, &[], None).await.assert_problem(403, "forbidden-role");

        // Both identities are on record: every call, and every personal-data read.
        let admin = app.staff_token("admin-01", "admin", None).await;
        let calls = app.get("/api/v1/admin/delegated-calls?client=egov-portal", Some(&admin)).await;
        let calls = calls.assert_status(200).as_array().cloned().unwrap_or_default();
        assert!(calls.iter().any(|c| c["method"] == json!("POST") && c["path"] == json!("/api/v1/applications") && c["applicant_pin"] == json!(demo::RESIDENT)), "{calls:#?}");
        assert!(calls.iter().any(|c| c["applicant_pin"] == json!(demo::NOBODY)));
        assert!(calls.iter().all(|c| c["client_id"] == json!("egov-portal")));
        let reads = app.get("/api/v1/admin/personal-data-reads?reader=egov-portal", Some(&admin)).await;
        let reads = reads.assert_status(200).as_array().cloned().unwrap_or_default();
        assert!(!reads.is_empty());
        assert!(reads.iter().all(|r| r["reader_kind"] == json!("integrator")));
        assert!(reads.iter().any(|r| r["on_behalf_of"] == json!(demo::RESIDENT)));

        // Filters that no id can match are refused, not sent to the database (where PostgreSQL
        // fails on a NUL byte: a 503 found by the contract fuzzing).
        for query in ["client=egov%00portal", "applicant=5R7KQ2M0", "client=a%0Ab"] {
            let refused = app.get(&format!("/api/v1/admin/delegated-calls?{query}"), Some(&admin)).await;
            refused.assert_problem(400, "invalid-query-parameter");
        }
    }
}
