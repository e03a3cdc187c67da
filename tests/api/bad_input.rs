//! Malformed requests get specific 4xx problems, never a 500.

use eservices_tests::{demo, on_both_backends};
use reqwest::Method;
use serde_json::json;

on_both_backends! {
    async fn malformed_bodies_are_named_problems(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let path = "/api/v1/applications";
        app.send_raw(Method::POST, path, &token, "application/json", b"{\"kind\": ".to_vec()).await.assert_problem(400, "malformed-json");
        app.send_raw(Method::POST, path, &token, "application/json", b"{\"kind\": \"account-change\"} {}".to_vec()).await.assert_problem(400, "malformed-json");
        app.send_raw(Method::POST, path, &token, "text/plain", b"{}".to_vec()).await.assert_problem(415, "unsupported-media-type");
        let big = format!("{{\"kind\": \"account-change\", \"damage_description\": \"{}\"}}", "a".repeat(70 * 1024));
        app.send_raw(Method::POST, path, &token, "application/json", big.into_bytes()).await.assert_problem(413, "payload-too-large");
        let unknown = app.create(&token, json!({"kind": "account-change", "colour": "blue"})).await;
        unknown.assert_problem(400, "unknown-field");
        assert_eq!(unknown.fields_at_fault(), ["colour"]);
        let nested = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": {"type": "residential", "subscriber_code": "1000000001", "x": 1}})).await;
        nested.assert_problem(400, "unknown-field");
        let wrong_type = app.create(&token, json!({"kind": "meter-damage-investigation", "contact": {"mobile_numbers": "0501234567"}})).await;
        wrong_type.assert_problem(400, "invalid-body");
        assert_eq!(wrong_type.fields_at_fault(), ["contact.mobile_numbers"]);
        let bad_kind = app.create(&token, json!({"kind": "pizza"})).await;
        bad_kind.assert_problem(400, "invalid-body");
        assert_eq!(bad_kind.fields_at_fault(), ["kind"]);
        app.create(&token, json!({})).await.assert_problem(400, "invalid-body");
        let control = app.create(&token, json!({"kind": "meter-damage-investigation", "damage_description": "a\u{0}b"})).await;
        control.assert_problem(422, "validation-failed");
        assert_eq!(app.my_application_count(&token).await, 0);
    }

    async fn unknown_routes_and_bad_parameters(app) {
        let token = app.token(demo::RESIDENT, None).await;
        app.get("/api/v1/nothing-here", Some(&token)).await.assert_problem(404, "route-not-found");
        let wrong_method = app.request(Method::DELETE, "/api/v1/services", None, None).await;
        wrong_method.assert_problem(405, "method-not-allowed");
        assert_eq!(wrong_method.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
        let on_application = app.request(Method::PUT, "/api/v1/applications/MD-2026-000001", Some(&token), None).await;
        on_application.assert_problem(405, "method-not-allowed");
        assert_eq!(on_application.headers.get("allow").and_then(|v| v.to_str().ok()), Some("GET, PATCH"));
        let bad_number = app.get("/api/v1/applications/12345", Some(&token)).await;
        bad_number.assert_problem(400, "invalid-path-parameter");
        assert_eq!(bad_number.fields_at_fault(), ["number"]);
        app.get("/api/v1/me/applications?limit=0", Some(&token)).await.assert_problem(400, "invalid-query-parameter");
        app.get("/api/v1/me/applications?limit=abc", Some(&token)).await.assert_problem(400, "invalid-query-parameter");
        app.get("/api/v1/me/applications?status=bogus", Some(&token)).await.assert_problem(400, "invalid-query-parameter");
        let cursor = app.get("/api/v1/me/applications?cursor=zzz", Some(&token)).await;
        cursor.assert_problem(400, "invalid-query-parameter");
        assert_eq!(cursor.fields_at_fault(), ["cursor"]);
    }

    async fn text_in_azerbaijani_and_sql_metacharacters_is_stored_as_given(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let text = "Sayğac yanıb; ' OR 1=1 -- \"ə ğ ı ö ş ç ü\" Ə Ğ İ Ö Ş Ç Ü 😀\nikinci sətir";
        let created = app.create(&token, json!({"kind": "meter-damage-investigation", "damage_description": text})).await;
        let path = format!("/api/v1/applications/{}", created.assert_status(201)["number"].as_str().unwrap_or_default());
        assert_eq!(app.get(&path, Some(&token)).await.body["damage_description"], json!(text));
    }
}
