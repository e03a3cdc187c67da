//! Nobody reads or changes another applicant's application: it is "not found".

use eservices_tests::{demo, on_both_backends};
use serde_json::json;

on_both_backends! {
    async fn another_applicants_application_is_not_found(app) {
        let owner = app.token(demo::RESIDENT, None).await;
        let created = app.create(&owner, json!({"kind": "meter-damage-investigation"})).await;
        let path = format!("/api/v1/applications/{}", created.body["number"].as_str().unwrap_or_default());
        let stranger = app.token(demo::NOBODY, None).await;
        app.get(&path, Some(&stranger)).await.assert_problem(404, "application-not-found");
        app.patch(&path, &stranger, json!({"contact": {"mobile_numbers": ["0501234567"]}})).await.assert_problem(404, "application-not-found");
        app.post(&format!("{path}/submit"), &stranger, json!({})).await.assert_problem(404, "application-not-found");
        app.post(&format!("{path}/cancel"), &stranger, json!({})).await.assert_problem(404, "application-not-found");
        assert_eq!(app.my_application_count(&stranger).await, 0);
        let mine = app.get(&path, Some(&owner)).await;
        assert_eq!(mine.assert_status(200)["version"], created.body["version"], "the stranger changed nothing");
        assert_eq!(mine.body["status"], json!("draft"));
        app.get("/api/v1/applications/MD-2026-999999", Some(&owner)).await.assert_problem(404, "application-not-found");
    }

    async fn cancel_until_work_has_started(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let draft = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        let path = format!("/api/v1/applications/{}", draft.body["number"].as_str().unwrap_or_default());
        // No body at all is a cancel without a reason.
        let cancelled = app.request(reqwest::Method::POST, &format!("{path}/cancel"), Some(&token), None).await;
        let body = cancelled.assert_status(200);
        assert_eq!(body["status"], json!("cancelled"));
        assert_eq!(body["allowed_actions"], json!([]));
        app.post(&format!("{path}/cancel"), &token, json!({})).await.assert_problem(409, "action-not-allowed");
        app.post(&format!("{path}/submit"), &token, json!({})).await.assert_problem(409, "action-not-allowed");

        let submitted = app.create(&token, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "contact": {"mobile_numbers": ["0501234567"]}, "submit": true})).await;
        let path = format!("/api/v1/applications/{}", submitted.body["number"].as_str().unwrap_or_default());
        let reply = app.post(&format!("{path}/cancel"), &token, json!({"reason": "Sayğac bərpa olundu."})).await;
        let timeline = reply.assert_status(200)["timeline"].as_array().cloned().unwrap_or_default();
        assert_eq!(timeline.last().map(|e| (e["action"].clone(), e["from"].clone(), e["to"].clone(), e["comment"].clone())),
            Some((json!("cancel"), json!("submitted"), json!("cancelled"), json!("Sayğac bərpa olundu."))));
        app.post(&format!("{path}/cancel"), &token, json!({"reason": "x", "extra": 1})).await.assert_problem(400, "unknown-field");
        // An empty body sent as JSON is a cancel without a reason too.
        let draft = app.create(&token, json!({"kind": "account-change"})).await;
        let path = format!("/api/v1/applications/{}", draft.body["number"].as_str().unwrap_or_default());
        let null = app.create(&token, json!({"kind": "account-change"})).await;
        let null_path = format!("/api/v1/applications/{}/cancel", null.body["number"].as_str().unwrap_or_default());
        let cancelled = app.send_raw(reqwest::Method::POST, &null_path, &token, "application/json", b"null".to_vec()).await;
        assert_eq!(cancelled.assert_status(200)["status"], json!("cancelled"), "a null body is no body");
        let empty = app.send_raw(reqwest::Method::POST, &format!("{path}/cancel"), &token, "application/json", Vec::new()).await;
        assert_eq!(empty.assert_status(200)["status"], json!("cancelled"));
    }
}
