//! Service 1: investigation of meter damage, residential and non-residential.

use eservices_tests::{demo, on_both_backends};
use serde_json::json;

fn residential(code: &str) -> serde_json::Value {
    json!({"type": "residential", "subscriber_code": code})
}

fn contact() -> serde_json::Value {
    json!({"mobile_numbers": ["050 123 45 67", "+994 (55) 765-43-21"], "email": "Resad@Example.AZ"})
}

on_both_backends! {
    async fn residential_step_by_step(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let year = chrono::Utc::now().format("%Y").to_string();
        let draft = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        let body = draft.assert_status(201).clone();
        let number = body["number"].as_str().unwrap_or_default().to_owned();
        assert_eq!(number, format!("MD-{year}-000001"), "the number is shown before submission");
        assert_eq!(draft.headers.get("location").and_then(|v| v.to_str().ok()), Some(format!("/api/v1/applications/{number}").as_str()));
        assert_eq!(body["status"], json!("draft"));
        assert_eq!(body["missing_steps"], json!(["subscriber", "contact"]));
        assert_eq!(body["allowed_actions"], json!(["submit", "cancel"]));

        let path = format!("/api/v1/applications/{number}");
        let step = app.patch(&path, &token, json!({"subscriber": residential("1000000002"), "damage_description": "Sayğacın şüşəsi sınıb, plomb qırılıb."})).await;
        assert_eq!(step.assert_status(200)["missing_steps"], json!(["contact"]));
        let step = app.patch(&path, &token, json!({"contact": contact()})).await;
        let body = step.assert_status(200);
        assert_eq!(body["contact"], json!({"mobile_numbers": ["+994501234567", "+994557654321"], "email": "Resad@example.az"}));
        assert_eq!(body["missing_steps"], json!([]));

        let submitted = app.post(&format!("{path}/submit"), &token, json!({})).await;
        let body = submitted.assert_status(200);
        assert_eq!(body["status"], json!("submitted"));
        assert_eq!(body["subscriber"], residential("1000000002"));
        assert_eq!(body["damage_description"], json!("Sayğacın şüşəsi sınıb, plomb qırılıb."));
        assert!(body["submitted_at"].is_string());
        let timeline = body["timeline"].as_array().cloned().unwrap_or_default();
        assert_eq!(timeline.len(), 2);
        assert_eq!(timeline[1]["action"], json!("submit"));
        assert_eq!(timeline[1]["from"], json!("draft"));
        assert_eq!(timeline[1]["to"], json!("submitted"));
        assert_eq!(timeline[1]["actor"], json!(demo::RESIDENT));
        assert_eq!(timeline[1]["actor_role"], json!("applicant"));

        let read = app.get(&path, Some(&token)).await;
        assert_eq!(read.assert_status(200)["status"], json!("submitted"));
        let mut read_timeline = read.body["timeline"].clone();
        for entry in read_timeline.as_array_mut().into_iter().flatten() {
            if let Some(entry) = entry.as_object_mut() {
                entry.remove("notifications");
            }
        }
        assert_eq!(read_timeline, json!(timeline), "reading shows the same timeline, with its messages");
        assert_eq!(read.body["timeline"][1]["notifications"][0]["event"], json!("registered"));
        // Submitted: no more changes, no second submission.
        app.patch(&path, &token, json!({"contact": contact()})).await.assert_problem(409, "application-not-editable");
        app.post(&format!("{path}/submit"), &token, json!({})).await.assert_problem(409, "action-not-allowed");
    }

    async fn residential_in_one_call(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let reply = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001"), "contact": contact(), "submit": true})).await;
        let body = reply.assert_status(201);
        assert_eq!(body["status"], json!("submitted"));
        assert_eq!(body["timeline"].as_array().map(Vec::len), Some(2));
    }

    async fn someone_elses_subscriber_code_is_refused_and_nothing_is_written(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let refused = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000003"), "contact": contact(), "submit": true})).await;
        refused.assert_problem(422, "subscriber-code-not-yours");
        assert_eq!(refused.fields_at_fault(), ["subscriber.subscriber_code"]);
        assert_eq!(app.my_application_count(&token).await, 0);

        let draft = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        let number = draft.body["number"].as_str().unwrap_or_default().to_owned();
        let path = format!("/api/v1/applications/{number}");
        app.patch(&path, &token, json!({"subscriber": residential("1000000003")})).await.assert_problem(422, "subscriber-code-not-yours");
        let unchanged = app.get(&path, Some(&token)).await;
        assert!(unchanged.body.get("subscriber").is_none(), "{}", unchanged.text);
        assert_eq!(unchanged.body["version"], draft.body["version"]);

        let nobody = app.token(demo::NOBODY, None).await;
        app.create(&nobody, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001")})).await
            .assert_problem(422, "subscriber-code-not-yours");
        assert_eq!(app.my_application_count(&nobody).await, 0);
    }

    async fn bad_contact_is_refused_field_by_field(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let reply = app.create(&token, json!({
            "kind": "meter-damage-investigation",
            "subscriber": residential("1000000001"),
            "contact": {"mobile_numbers": ["012 555 12 34", "050 12"], "email": "not-an-email"},
            "submit": true
        })).await;
        reply.assert_problem(422, "validation-failed");
        assert_eq!(reply.fields_at_fault(), ["contact.mobile_numbers[0]", "contact.mobile_numbers[1]", "contact.email"]);
        let codes: Vec<&str> = reply.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["code"].as_str()).collect();
        assert_eq!(codes, ["unknown-operator-code", "invalid-mobile-number", "invalid-email"]);
        let empty = app.create(&token, json!({"kind": "meter-damage-investigation", "contact": {"mobile_numbers": []}})).await;
        empty.assert_problem(422, "validation-failed");
        assert_eq!(empty.fields_at_fault(), ["contact.mobile_numbers"]);
        let long = "ə".repeat(2001);
        app.create(&token, json!({"kind": "meter-damage-investigation", "damage_description": long})).await
            .assert_problem(422, "validation-failed");
        assert_eq!(app.my_application_count(&token).await, 0);
    }

    async fn one_open_application_per_subscriber_code(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let first = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001"), "contact": contact(), "submit": true})).await;
        let number = first.assert_status(201)["number"].clone();
        let second = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001"), "contact": contact(), "submit": true})).await;
        assert_eq!(second.assert_problem(409, "open-application-exists")["open_application"], number);
        // Already at the step, not only at submission.
        let draft = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        let path = format!("/api/v1/applications/{}", draft.body["number"].as_str().unwrap_or_default());
        assert_eq!(app.patch(&path, &token, json!({"subscriber": residential("1000000001")})).await.assert_problem(409, "open-application-exists")["open_application"], number);
        // The other code is free, and an account change of the same code is another kind.
        app.patch(&path, &token, json!({"subscriber": residential("1000000002")})).await.assert_status(200);
        assert_eq!(app.my_application_count(&token).await, 2);
        // Once the first is cancelled, the code is free again.
        let first_path = format!("/api/v1/applications/{}", number.as_str().unwrap_or_default());
        app.post(&format!("{first_path}/cancel"), &token, json!({"reason": "Sayğac bərpa olundu."})).await.assert_status(200);
        app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001"), "contact": contact(), "submit": true})).await.assert_status(201);
    }

    async fn non_residential_head_code_and_metering_point(app) {
        let token = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let ok = app.create(&token, json!({
            "kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-02"},
            "contact": {"mobile_numbers": ["070 111 22 33"]},
            "submit": true
        })).await;
        let body = ok.assert_status(201);
        assert_eq!(body["subscriber"], json!({"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-02"}));
        assert_eq!(body["applicant"]["tin"], json!(demo::BUSINESS));

        let under_other_head = app.create(&token, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000002-01"}})).await;
        under_other_head.assert_problem(422, "metering-point-not-under-head-code");
        assert_eq!(under_other_head.fields_at_fault(), ["subscriber.metering_point"]);

        let other_business = app.create(&token, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000101", "metering_point": "50000101-01"}})).await;
        other_business.assert_problem(422, "head-code-not-yours");

        let same_point = app.create(&token, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-02"}})).await;
        same_point.assert_problem(409, "open-application-exists");

        let as_person = app.token(demo::BUSINESS_REPRESENTATIVE, None).await;
        app.create(&as_person, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-01"}})).await
            .assert_problem(403, "business-required");
        assert_eq!(app.my_application_count(&token).await, 1);

        let other = app.token(demo::OTHER_REPRESENTATIVE, Some(demo::OTHER_BUSINESS)).await;
        app.create(&other, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000101", "metering_point": "50000101-01"},
            "contact": {"mobile_numbers": ["099 765 43 21"]}, "submit": true})).await.assert_status(201);
    }

    async fn submitting_an_incomplete_application_names_the_missing_steps(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let draft = app.create(&token, json!({"kind": "meter-damage-investigation", "subscriber": residential("1000000001")})).await;
        let path = format!("/api/v1/applications/{}", draft.body["number"].as_str().unwrap_or_default());
        let reply = app.post(&format!("{path}/submit"), &token, json!({})).await;
        assert_eq!(reply.assert_problem(422, "application-incomplete")["missing_steps"], json!(["contact"]));
        assert_eq!(app.get(&path, Some(&token)).await.body["status"], json!("draft"));
        let at_once = app.create(&token, json!({"kind": "meter-damage-investigation", "submit": true})).await;
        assert_eq!(at_once.assert_problem(422, "application-incomplete")["missing_steps"], json!(["subscriber", "contact"]));
        assert_eq!(app.my_application_count(&token).await, 1);
    }

    async fn steps_of_the_other_service_are_refused(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let reply = app.create(&token, json!({"kind": "meter-damage-investigation",
            "property": {"district": "AZ-BA-YSM", "registry_number": "1", "registration_number": "2", "property_type": "apartment"}})).await;
        reply.assert_problem(422, "step-not-for-kind");
        assert_eq!(reply.fields_at_fault(), ["property"]);
        app.create(&token, json!({"kind": "account-change", "subscriber": residential("1000000001")})).await
            .assert_problem(422, "step-not-for-kind");
        assert_eq!(app.my_application_count(&token).await, 0);
    }

    async fn a_representative_acts_only_for_their_business(app) {
        let impostor = app.token(demo::RESIDENT, Some(demo::BUSINESS)).await;
        app.create(&impostor, json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-01"}})).await
            .assert_problem(403, "not-a-representative");
        assert_eq!(app.my_application_count(&impostor).await, 0);
    }

    async fn applications_belong_to_the_capacity_they_were_made_in(app) {
        let for_business = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let draft = app.create(&for_business, json!({"kind": "meter-damage-investigation"})).await;
        let path = format!("/api/v1/applications/{}", draft.assert_status(201)["number"].as_str().unwrap_or_default());
        let as_person = app.token(demo::BUSINESS_REPRESENTATIVE, None).await;
        app.get(&path, Some(&as_person)).await.assert_problem(404, "application-not-found");
        app.patch(&path, &as_person, json!({"subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": "50000001-01"}})).await
            .assert_problem(404, "application-not-found");
        assert_eq!(app.my_application_count(&as_person).await, 0);
        assert_eq!(app.my_application_count(&for_business).await, 1);
        app.get(&path, Some(&for_business)).await.assert_status(200);
    }

    async fn two_drafts_submitted_at_once_for_one_target_make_one_application(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let mut paths = Vec::new();
        for _ in 0..2 {
            let draft = app.create(&token, json!({"kind": "meter-damage-investigation",
                "subscriber": residential("1000000001"), "contact": contact()})).await;
            paths.push(format!("/api/v1/applications/{}/submit", draft.assert_status(201)["number"].as_str().unwrap_or_default()));
        }
        let (first, second) = tokio::join!(app.post(&paths[0], &token, json!({})), app.post(&paths[1], &token, json!({})));
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{} / {}", first.text, second.text);
        let loser = if first.status == 409 { &first } else { &second };
        loser.assert_problem(409, "open-application-exists");
        let submitted = app.get("/api/v1/me/applications?status=submitted", Some(&token)).await;
        assert_eq!(submitted.assert_status(200)["total"], json!(1));
    }
}

on_both_backends! {
    async fn every_read_and_change_carries_the_version_as_etag(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let created = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        assert_eq!(created.etag(), "\"v1\"");
        let path = format!("/api/v1/applications/{}", created.body["number"].as_str().unwrap_or_default());
        let changed = app.patch(&path, &token, json!({"contact": {"mobile_numbers": ["0501234567"]}})).await;
        assert_eq!((changed.etag(), changed.body["version"].clone()), ("\"v2\"".to_owned(), json!(2)));
        assert_eq!(app.get(&path, Some(&token)).await.etag(), "\"v2\"");
    }
}
