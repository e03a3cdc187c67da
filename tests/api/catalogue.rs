use eservices_tests::on_both_backends;
use serde_json::json;

on_both_backends! {
    async fn services_and_districts_are_open_to_everyone(app) {
        let services = app.get("/api/v1/services", None).await;
        let body = services.assert_status(200);
        let kinds: Vec<&str> = body.as_array().into_iter().flatten().filter_map(|s| s["kind"].as_str()).collect();
        assert_eq!(kinds, ["meter-damage-investigation", "account-change"]);
        assert_eq!(body[1]["steps"][2]["id"], json!("property"));

        let districts = app.get("/api/v1/districts", None).await;
        let list = districts.assert_status(200).as_array().cloned().unwrap_or_default();
        assert!(list.len() > 80, "the whole country: {}", list.len());
        assert!(list.contains(&json!({"code": "AZ-BA-YSM", "name_az": "Yasamal", "name_en": "Yasamal", "kind": "city-district"})));
        assert!(list.iter().any(|d| d["code"] == json!("AZ-SM") && d["name_az"] == json!("Sumqayıt")));
    }

    async fn health_answers_when_the_database_does(app) {
        let health = app.get("/health", None).await;
        assert_eq!(health.assert_status(200), &json!({"status": "ok"}));
        let live = app.get("/health/live", None).await;
        assert_eq!(live.assert_status(200), &json!({"status": "ok"}));
        // Readiness checks the database and reports the outbox's backlog.
        let ready = app.get("/health/ready", None).await;
        let body = ready.assert_status(200);
        assert_eq!(body["status"], json!("ok"));
        assert_eq!(body["database"], json!("ok"));
        assert!(body["outbox"]["queued"].is_u64() && body["outbox"]["failed"].is_u64(), "{body}");
    }

    async fn swagger_ui_and_the_openapi_document_are_served(app) {
        let document = app.get("/api-docs/openapi.json", None).await;
        let body = document.assert_status(200);
        assert!(body["paths"]["/api/v1/applications"]["post"].is_object());
        assert!(body["paths"]["/api/v1/dev/tokens"]["post"].is_object(), "development mode documents its token route");
        let ui = app.get("/swagger-ui/", None).await;
        assert_eq!(ui.status, 200);
        assert!(ui.text.contains("swagger"), "{}", &ui.text[..ui.text.len().min(200)]);
    }
}
