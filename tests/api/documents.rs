//! Documents: produced on approval and completion, listed, read with a token or by a signed link,
//! and their PDF text holds the application number.

use eservices_tests::{Backend, TestApp, demo, on_both_backends, spawn_app_with};
use serde_json::json;

async fn approved_transfer(app: &TestApp) -> String {
    let token = app.token(demo::NEW_OWNER, None).await;
    let reply = app
        .create(&token, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"},
            "contact": {"mobile_numbers": ["051 234 56 78"]}, "submit": true}))
        .await;
    let number = reply.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let operator = app
        .staff_token("op-qeydiyyat-1", "operator", Some("BAKI-QEYDIYYAT"))
        .await;
    let (_, etag) = app.read(&number, &operator).await;
    let review = app
        .act(
            &number,
            &operator,
            Some(&etag),
            json!({"action": "start-review"}),
        )
        .await;
    app.act(
        &number,
        &operator,
        Some(&review.etag()),
        json!({"action": "approve"}),
    )
    .await
    .assert_status(200);
    number
}

async fn bytes(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default(),
    )
}

fn pdf_text(content: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(content)
        .unwrap_or_else(|e| panic!("the PDF does not parse: {e}"))
}

on_both_backends! {
    async fn approval_produces_the_confirmation(app) {
        let number = approved_transfer(&app).await;
        let applicant = app.token(demo::NEW_OWNER, None).await;
        let listed = app.get(&format!("/api/v1/applications/{number}/documents"), Some(&applicant)).await;
        let documents = listed.assert_status(200).as_array().cloned().unwrap_or_default();
        assert_eq!(documents.len(), 1);
        let document = &documents[0];
        assert_eq!(document["kind"], json!("account-change-confirmation"));
        assert_eq!(document["content_type"], json!("application/pdf"));
        assert_eq!(document["file_name"], json!(format!("{number}-confirmation.pdf")));

        let (status, content_type, content) = bytes(&app, document["url"].as_str().unwrap_or_default(), Some(&applicant)).await;
        assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
        assert_eq!(document["size"], json!(content.len()));
        let text = pdf_text(&content);
        assert!(text.contains(&number), "the application number is in the PDF text:\n{text}");
        assert!(text.contains("1000000004") && text.contains("Tural Abbasov"), "{text}");

        // The signed link works without a token; altered, it is refused.
        let link = document["signed_url"].as_str().unwrap_or_default().to_owned();
        let (status, _, by_link) = bytes(&app, &link, None).await;
        assert_eq!(status, 200);
        assert_eq!(by_link, content);
        let tampered = link.replacen(&format!("/{}?", document["id"]), "/999?", 1);
        app.get(&tampered, None).await.assert_problem(403, "link-invalid");
        let later = link.replacen("expires=", "expires=9", 1);
        app.get(&later, None).await.assert_problem(403, "link-invalid");
        let no_signature = link.split("&signature=").next().unwrap_or_default().to_owned();
        app.get(&no_signature, None).await.assert_problem(403, "link-invalid");
        // A query that does not even parse (found by the contract fuzzing) is no valid link either.
        let repeated = format!("{link}&expires=1");
        app.get(&repeated, None).await.assert_problem(403, "link-invalid");

        // Staff of the department read it; a stranger and another department do not.
        let operator = app.staff_token("op-qeydiyyat-1", "operator", Some("BAKI-QEYDIYYAT")).await;
        assert_eq!(bytes(&app, document["url"].as_str().unwrap_or_default(), Some(&operator)).await.0, 200);
        let stranger = app.token(demo::NOBODY, None).await;
        app.get(&format!("/api/v1/applications/{number}/documents"), Some(&stranger)).await.assert_problem(404, "application-not-found");
        app.get(document["url"].as_str().unwrap_or_default(), Some(&stranger)).await.assert_problem(404, "application-not-found");
        let elsewhere = app.staff_token("op-region", "operator", Some("REGION-QEYDIYYAT")).await;
        app.get(&format!("/api/v1/applications/{number}/documents"), Some(&elsewhere)).await.assert_problem(404, "application-not-found");
        app.get(&format!("/api/v1/applications/{number}/documents/999"), Some(&applicant)).await.assert_problem(404, "document-not-found");
        app.get(&format!("/api/v1/applications/{number}/documents/x"), Some(&applicant)).await.assert_problem(400, "invalid-path-parameter");
    }

    async fn completion_produces_the_inspection_result(app) {
        let applicant = app.token(demo::RESIDENT, None).await;
        let created = app.create(&applicant, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "contact": {"mobile_numbers": ["050 123 45 67"]}, "submit": true})).await;
        let number = created.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let (_, etag) = app.read(&number, &operator).await;
        let step = app.act(&number, &operator, Some(&etag), json!({"action": "accept"})).await;
        let date = eservices_tests::next_working_day();
        let step = app.act(&number, &operator, Some(&step.etag()), json!({"action": "schedule-inspection", "visit": {"date": date, "from": "09:00:00", "to": "11:00:00"}})).await;
        let step = app.act(&number, &operator, Some(&step.etag()), json!({"action": "record-inspection", "findings": {"damage_found": false, "act_number": "AKT-77", "readings": []}})).await;
        assert_eq!(app.get(&format!("/api/v1/applications/{number}/documents"), Some(&applicant)).await.assert_status(200), &json!([]));
        app.act(&number, &operator, Some(&step.etag()), json!({"action": "complete", "result": "Zədə aşkar edilmədi, sayğac işləkdir."})).await.assert_status(200);
        let listed = app.get(&format!("/api/v1/applications/{number}/documents"), Some(&applicant)).await;
        let document = listed.assert_status(200)[0].clone();
        assert_eq!(document["kind"], json!("inspection-result"));
        let (_, _, content) = bytes(&app, document["url"].as_str().unwrap_or_default(), Some(&applicant)).await;
        let text = pdf_text(&content);
        assert!(text.contains(&number) && text.contains("AKT-77"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_is_refused() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &[("DOCUMENT_LINK_HOURS", "0")]).await else {
        unreachable!()
    };
    let number = approved_transfer(&app).await;
    let applicant = app.token(demo::NEW_OWNER, None).await;
    let listed = app
        .get(
            &format!("/api/v1/applications/{number}/documents"),
            Some(&applicant),
        )
        .await;
    let link = listed.assert_status(200)[0]["signed_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get(&link, None)
        .await
        .assert_problem(403, "link-expired");
}
