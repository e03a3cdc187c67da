//! The company's side: routing, inbox, workflow, ETags, reassignment, and the account change's
//! effect on the subscriber account.

use eservices_tests::{TestApp, demo, on_both_backends};
use serde_json::{Value, json};

async fn submit_meter_damage(app: &TestApp, code: &str) -> String {
    let token = app.token(demo::RESIDENT, None).await;
    let reply = app
        .create(
            &token,
            json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": code},
            "contact": {"mobile_numbers": ["050 123 45 67"]}, "submit": true}),
        )
        .await;
    reply.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn submit_transfer(app: &TestApp) -> String {
    let token = app.token(demo::NEW_OWNER, None).await;
    let reply = app
        .create(&token, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"},
            "contact": {"mobile_numbers": ["051 234 56 78"]}, "submit": true}))
        .await;
    reply.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn actions(body: &Value) -> Vec<String> {
    body["allowed_actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

on_both_backends! {
    async fn meter_damage_from_submission_to_result(app) {
        let number = submit_meter_damage(&app, "1000000001").await;
        let applicant = app.token(demo::RESIDENT, None).await;
        let (mine, _) = app.read(&number, &applicant).await;
        assert_eq!(mine["work"]["department"], json!("BAKI-SEBEKE"), "routed by the supply address (Yasamal)");
        assert_eq!(mine["work"]["district"], json!("AZ-BA-YSM"));
        assert!(mine["work"]["due_at"].is_string(), "the applicant sees the due time");

        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let inbox = app.get("/api/v1/inbox", Some(&operator)).await;
        assert_eq!(inbox.assert_status(200)["total"], json!(1));
        assert_eq!(inbox.body["items"][0]["number"], json!(number));
        let (read, etag) = app.read(&number, &operator).await;
        assert_eq!(actions(&read), ["accept", "reject", "return-for-correction"]);
        assert!(etag.starts_with("\"v"), "{etag}");

        let accepted = app.act(&number, &operator, Some(&etag), json!({"action": "accept"})).await;
        assert_eq!(accepted.assert_status(200)["status"], json!("accepted"));
        assert_eq!(accepted.body["work"]["assignee"], json!("op-baku-1"), "who takes it, has it");
        let visit = json!({"date": eservices_tests::next_working_day(), "from": "10:00:00", "to": "13:00:00"});
        let scheduled = app.act(&number, &operator, Some(&accepted.etag()), json!({"action": "schedule-inspection", "visit": visit, "comment": "Zəng edildi."})).await;
        assert_eq!(scheduled.assert_status(200)["status"], json!("inspection-scheduled"));
        let findings = json!({"damage_found": true, "cause": "broken-seal", "act_number": "AKT-2026/0457", "readings": [{"register": "total", "value_kwh": 12345}]});
        let inspected = app.act(&number, &operator, Some(&scheduled.etag()), json!({"action": "record-inspection", "findings": findings})).await;
        assert_eq!(inspected.assert_status(200)["status"], json!("inspected"));
        let completed = app.act(&number, &operator, Some(&inspected.etag()), json!({"action": "complete", "result": "Sayğac dəyişdirildi, plomb bərpa olundu."})).await;
        assert_eq!(completed.assert_status(200)["status"], json!("completed"));
        assert_eq!(actions(&completed.body), Vec::<String>::new());

        let (seen, _) = app.read(&number, &applicant).await;
        assert_eq!(seen["status"], json!("completed"));
        assert_eq!(seen["work"]["inspection_visit"], visit);
        assert_eq!(seen["work"]["inspection_findings"], findings);
        assert_eq!(seen["work"]["result"], json!("Sayğac dəyişdirildi, plomb bərpa olundu."));
        assert!(seen["work"].get("assignee").is_none(), "the operator's id is for staff");
        let timeline: Vec<(String, String)> = seen["timeline"].as_array().into_iter().flatten()
            .map(|e| (e["action"].as_str().unwrap_or_default().to_owned(), e["actor_role"].as_str().unwrap_or_default().to_owned()))
            .collect();
        let expected: Vec<(String, String)> = [("create", "applicant"), ("submit", "applicant"), ("accept", "operator"), ("schedule-inspection", "operator"), ("record-inspection", "operator"), ("complete", "operator")]
            .iter().map(|(a, r)| ((*a).to_owned(), (*r).to_owned())).collect();
        assert_eq!(timeline, expected);
        assert_eq!(seen["timeline"][3]["comment"], json!("Zəng edildi."));
        assert_eq!(seen["timeline"][2]["actor"], json!("operator"), "applicants see the role, not the employee");
        let (for_staff, _) = app.read(&number, &operator).await;
        assert_eq!(for_staff["timeline"][2]["actor"], json!("op-baku-1"));
        // Once work has started the applicant cannot cancel.
        app.post(&format!("/api/v1/applications/{number}/cancel"), &applicant, json!({})).await.assert_problem(409, "action-not-allowed");
    }

    async fn approving_a_transfer_makes_the_applicant_the_holder(app) {
        let number = submit_transfer(&app).await;
        let operator = app.staff_token("op-qeydiyyat-1", "operator", Some("BAKI-QEYDIYYAT")).await;
        let (read, etag) = app.read(&number, &operator).await;
        assert_eq!(read["work"]["department"], json!("BAKI-QEYDIYYAT"), "routed by the property's district");
        let review = app.act(&number, &operator, Some(&etag), json!({"action": "start-review"})).await;
        assert_eq!(review.assert_status(200)["status"], json!("under-review"));
        let approved = app.act(&number, &operator, Some(&review.etag()), json!({"action": "approve"})).await;
        assert_eq!(approved.assert_status(200)["status"], json!("approved"));
        let new_holder = app.token(demo::NEW_OWNER, None).await;
        let accounts = app.get("/api/v1/me/subscriber-accounts", Some(&new_holder)).await;
        let accounts = accounts.assert_status(200).as_array().cloned().unwrap_or_default();
        assert_eq!(accounts.len(), 1);
        assert_eq!((accounts[0]["subscriber_code"].clone(), accounts[0]["holder"].clone()), (json!("1000000004"), json!("Tural Abbasov")));
        let previous = app.token(demo::PREVIOUS_OWNER, None).await;
        assert_eq!(app.get("/api/v1/me/subscriber-accounts", Some(&previous)).await.assert_status(200), &json!([]));
    }

    async fn approving_a_name_change_writes_the_new_name(app) {
        let token = app.token(demo::RENAMED, None).await;
        let created = app.create(&token, json!({"kind": "account-change",
            "account": {"variant": "name-change", "subscriber_code": "1000000003"},
            "property": {"district": "AZ-BA-NSM", "registry_number": "110022034718", "registration_number": "2019-117642", "property_type": "apartment"},
            "contact": {"mobile_numbers": ["077 555 44 33"]}, "submit": true})).await;
        let number = created.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let (_, etag) = app.read(&number, &supervisor).await;
        let review = app.act(&number, &supervisor, Some(&etag), json!({"action": "start-review"})).await;
        app.act(&number, &supervisor, Some(&review.etag()), json!({"action": "approve"})).await.assert_status(200);
        let accounts = app.get("/api/v1/me/subscriber-accounts", Some(&token)).await;
        assert_eq!(accounts.assert_status(200)[0]["holder"], json!("Nərmin Hüseynova"));
        // The name is now the registry's: a second name change has nothing to change.
        app.create(&token, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000003"}})).await
            .assert_problem(422, "name-unchanged");
    }

    async fn return_for_correction_and_resubmit(app) {
        let number = submit_meter_damage(&app, "1000000002").await;
        let applicant = app.token(demo::RESIDENT, None).await;
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let (_, etag) = app.read(&number, &operator).await;
        let returned = app.act(&number, &operator, Some(&etag), json!({"action": "return-for-correction",
            "correction": {"steps": ["contact"], "request": "Mobil nömrə cavab vermir, başqa nömrə yazın."}})).await;
        assert_eq!(returned.assert_status(200)["status"], json!("returned-for-correction"));
        let (mine, _) = app.read(&number, &applicant).await;
        assert_eq!(mine["work"]["correction"], json!({"steps": ["contact"], "request": "Mobil nömrə cavab vermir, başqa nömrə yazın."}));
        assert_eq!(actions(&mine), ["submit", "cancel", "resubmit"].iter().filter(|a| **a != "submit").map(|a| (*a).to_owned()).collect::<Vec<_>>());
        let path = format!("/api/v1/applications/{number}");
        app.patch(&path, &applicant, json!({"subscriber": {"type": "residential", "subscriber_code": "1000000001"}})).await
            .assert_problem(422, "step-not-requested");
        app.patch(&path, &applicant, json!({"contact": {"mobile_numbers": ["055 765 43 21"]}})).await.assert_status(200);
        let resubmitted = app.post(&format!("{path}/submit"), &applicant, json!({})).await;
        let body = resubmitted.assert_status(200);
        assert_eq!(body["status"], json!("submitted"));
        assert!(body["work"].get("correction").is_none());
        assert_eq!(body["work"]["department"], json!("BAKI-SEBEKE"), "stays with its department");
        let loop_actions: Vec<&str> = body["timeline"].as_array().into_iter().flatten().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(loop_actions, ["create", "submit", "return-for-correction", "resubmit"]);
        assert_eq!(body["timeline"][3]["comment"], json!("corrected: contact"));
        assert_eq!(body["timeline"][2]["comment"], json!("Mobil nömrə cavab vermir, başqa nömrə yazın."));
    }

    async fn stale_and_missing_etags_and_two_operators(app) {
        let number = submit_meter_damage(&app, "1000000001").await;
        let first = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let second = app.staff_token("op-baku-2", "operator", Some("BAKI-SEBEKE")).await;
        let (_, etag) = app.read(&number, &first).await;
        let (_, same_etag) = app.read(&number, &second).await;
        assert_eq!(etag, same_etag);
        app.act(&number, &first, None, json!({"action": "accept"})).await.assert_problem(428, "precondition-required");
        app.act(&number, &first, Some("\"nonsense\""), json!({"action": "accept"})).await.assert_problem(412, "precondition-failed");
        let (a, b) = tokio::join!(
            app.act(&number, &first, Some(&etag), json!({"action": "accept"})),
            app.act(&number, &second, Some(&same_etag), json!({"action": "reject", "reason": "Təkrar müraciət."}))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
        let loser = if a.status == 412 { &a } else { &b };
        loser.assert_problem(412, "precondition-failed");
        let (after, _) = app.read(&number, &first).await;
        assert_eq!(after["timeline"].as_array().map(Vec::len), Some(3), "exactly one action was taken");
    }

    async fn roles_and_departments_are_kept_apart(app) {
        let number = submit_meter_damage(&app, "1000000001").await;
        let applicant = app.token(demo::RESIDENT, None).await;
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let elsewhere = app.staff_token("op-sumqayit-1", "operator", Some("SUMQAYIT-SEBEKE")).await;
        let (_, etag) = app.read(&number, &operator).await;
        // An operator of another department sees nothing of it.
        app.get(&format!("/api/v1/applications/{number}"), Some(&elsewhere)).await.assert_problem(404, "application-not-found");
        app.act(&number, &elsewhere, Some(&etag), json!({"action": "accept"})).await.assert_problem(404, "application-not-found");
        assert_eq!(app.get("/api/v1/inbox", Some(&elsewhere)).await.assert_status(200)["total"], json!(0));
        // The applicant cannot take staff actions, nor read the inbox.
        app.act(&number, &applicant, Some(&etag), json!({"action": "accept"})).await.assert_problem(403, "forbidden-role");
        app.get("/api/v1/inbox", Some(&applicant)).await.assert_problem(403, "forbidden-role");
        // An action of the other kind, and a supervisor's action, are refused to an operator.
        app.act(&number, &operator, Some(&etag), json!({"action": "approve"})).await.assert_problem(409, "action-not-allowed");
        app.assign(&number, &operator, &etag, json!({"department": "SUMQAYIT-SEBEKE"})).await.assert_problem(403, "forbidden-role");
        app.act(&number, &operator, Some(&etag), json!({"action": "assign"})).await.assert_problem(400, "invalid-body");
        // An operator's token is for a department: the development route will not sign one without.
        let refused = app
            .request(reqwest::Method::POST, "/api/v1/dev/tokens", None, Some(json!({"employee_id": "op-x", "roles": ["operator"]})))
            .await;
        refused.assert_problem(422, "validation-failed");
        assert_eq!(refused.fields_at_fault(), ["department"]);
        // Action data is checked.
        let no_visit = app.act(&number, &operator, Some(&etag), json!({"action": "accept", "visit": null})).await;
        no_visit.assert_status(200);
        let missing = app.act(&number, &operator, Some(&no_visit.etag()), json!({"action": "schedule-inspection"})).await;
        missing.assert_problem(422, "validation-failed");
        assert_eq!(missing.fields_at_fault(), ["visit"]);
        let past = app.act(&number, &operator, Some(&no_visit.etag()), json!({"action": "schedule-inspection", "visit": {"date": "2020-01-01", "from": "10:00:00", "to": "12:00:00"}})).await;
        past.assert_problem(422, "validation-failed");
        let window = app.act(&number, &operator, Some(&no_visit.etag()), json!({"action": "schedule-inspection", "visit": {"date": eservices_tests::next_working_day(), "from": "14:00:00", "to": "12:00:00"}})).await;
        window.assert_problem(422, "validation-failed");
        let (unchanged, _) = app.read(&number, &operator).await;
        assert_eq!(unchanged["status"], json!("accepted"));
    }

    async fn a_supervisor_reassigns_to_another_department_and_operator(app) {
        let number = submit_meter_damage(&app, "1000000001").await;
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let (_, etag) = app.read(&number, &supervisor).await;
        app.assign(&number, &supervisor, &etag, json!({"department": "BAKI-QEYDIYYAT"})).await.assert_problem(422, "unknown-department");
        app.assign(&number, &supervisor, &etag, json!({"department": "NOWHERE"})).await.assert_problem(422, "unknown-department");
        app.assign(&number, &supervisor, &etag, json!({})).await.assert_problem(400, "invalid-body");
        app.assign(&number, &supervisor, &etag, json!({"assignee": "op-sumqayit-1"})).await.assert_problem(400, "invalid-body");
        let moved = app.assign(&number, &supervisor, &etag, json!({"department": "SUMQAYIT-SEBEKE", "assignee": "op-sumqayit-1", "comment": "Yerli briqada."})).await;
        let body = moved.assert_status(200);
        assert_eq!(body["status"], json!("submitted"));
        assert_eq!((body["work"]["department"].clone(), body["work"]["assignee"].clone()), (json!("SUMQAYIT-SEBEKE"), json!("op-sumqayit-1")));
        let last = body["timeline"].as_array().and_then(|t| t.last()).cloned().unwrap_or_default();
        assert_eq!((last["action"].clone(), last["from"].clone(), last["to"].clone()), (json!("assign"), json!("submitted"), json!("submitted")));
        let baku = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        app.get(&format!("/api/v1/applications/{number}"), Some(&baku)).await.assert_problem(404, "application-not-found");
        let sumqayit = app.staff_token("op-sumqayit-1", "operator", Some("SUMQAYIT-SEBEKE")).await;
        let mine = app.get("/api/v1/inbox?assignee=op-sumqayit-1", Some(&sumqayit)).await;
        assert_eq!(mine.assert_status(200)["total"], json!(1));
    }

    async fn the_inbox_filters_sorts_pages_and_counts(app) {
        let first = submit_meter_damage(&app, "1000000001").await;
        let second = submit_meter_damage(&app, "1000000002").await;
        let transfer = submit_transfer(&app).await;
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let all = app.get("/api/v1/inbox?limit=2", Some(&supervisor)).await;
        assert_eq!(all.assert_status(200)["total"], json!(3));
        let numbers: Vec<&str> = all.body["items"].as_array().into_iter().flatten().filter_map(|i| i["number"].as_str()).collect();
        assert_eq!(numbers, [first.as_str(), second.as_str()], "oldest first");
        let page_two = app.get("/api/v1/inbox?limit=2&page=2", Some(&supervisor)).await;
        assert_eq!(page_two.assert_status(200)["items"][0]["number"], json!(transfer));
        let by_kind = app.get("/api/v1/inbox?kind=account-change", Some(&supervisor)).await;
        assert_eq!(by_kind.assert_status(200)["total"], json!(1));
        let by_district = app.get("/api/v1/inbox?district=AZ-ABS", Some(&supervisor)).await;
        assert_eq!(by_district.assert_status(200)["items"][0]["number"], json!(second));
        let by_due = app.get("/api/v1/inbox?sort=due_at", Some(&supervisor)).await;
        assert_eq!(by_due.assert_status(200)["items"][0]["number"], json!(transfer), "account changes are due sooner");
        assert_eq!(app.get("/api/v1/inbox?overdue=true", Some(&supervisor)).await.assert_status(200)["total"], json!(0));
        let later = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let submitted_window = app.get(&format!("/api/v1/inbox?submitted_to={later}&status=submitted"), Some(&supervisor)).await;
        assert_eq!(submitted_window.assert_status(200)["total"], json!(3));
        app.get("/api/v1/inbox?district=AZ-XX", Some(&supervisor)).await.assert_problem(400, "invalid-query-parameter");
        app.get("/api/v1/inbox?page=0", Some(&supervisor)).await.assert_problem(400, "invalid-query-parameter");
        // The page is an int64 of the contract (found by the contract fuzzing: a larger one was echoed).
        app.get("/api/v1/inbox?page=9223372036854775808", Some(&supervisor)).await.assert_problem(400, "invalid-query-parameter");
        app.get("/api/v1/inbox?page=9223372036854775807", Some(&supervisor)).await.assert_status(200);
        let counts = app.get("/api/v1/inbox/counts", Some(&supervisor)).await;
        let submitted = counts.assert_status(200).as_array().into_iter().flatten().find(|c| c["status"] == json!("submitted")).cloned();
        assert_eq!(submitted, Some(json!({"status": "submitted", "status_label": "Göndərilib", "count": 3})));
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let theirs = app.get("/api/v1/inbox/counts", Some(&operator)).await;
        let submitted = theirs.assert_status(200).as_array().into_iter().flatten().find(|c| c["status"] == json!("submitted")).cloned();
        assert_eq!(submitted, Some(json!({"status": "submitted", "status_label": "Göndərilib", "count": 2})));
        let departments = app.get("/api/v1/departments", Some(&operator)).await;
        assert!(departments.assert_status(200).as_array().is_some_and(|d| d.len() == 5));
    }

    async fn rejection_carries_the_reason_to_the_applicant(app) {
        let number = submit_transfer(&app).await;
        let operator = app.staff_token("op-qeydiyyat-1", "operator", Some("BAKI-QEYDIYYAT")).await;
        let (_, etag) = app.read(&number, &operator).await;
        app.act(&number, &operator, Some(&etag), json!({"action": "reject"})).await.assert_problem(422, "validation-failed");
        let rejected = app.act(&number, &operator, Some(&etag), json!({"action": "reject", "reason": "Mülkiyyət çıxarışı etibarsızdır."})).await;
        assert_eq!(rejected.assert_status(200)["status"], json!("rejected"));
        let applicant = app.token(demo::NEW_OWNER, None).await;
        let (mine, _) = app.read(&number, &applicant).await;
        assert_eq!(mine["work"]["rejection_reason"], json!("Mülkiyyət çıxarışı etibarsızdır."));
        assert!(mine["work"]["decided_at"].is_string());
        // The subscriber account did not change, and the target is free again.
        let previous = app.token(demo::PREVIOUS_OWNER, None).await;
        assert_eq!(app.get("/api/v1/me/subscriber-accounts", Some(&previous)).await.assert_status(200)[0]["subscriber_code"], json!("1000000004"));
        submit_transfer(&app).await;
    }
}

on_both_backends! {
    async fn overdue_applications_are_flagged_and_filtered(app) {
        use diesel::RunQueryDsl;
        let late = submit_meter_damage(&app, "1000000001").await;
        submit_meter_damage(&app, "1000000002").await;
        // Let the first one's due time pass.
        let database = persistence::Database::connect(&app.database_url, persistence::PoolOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut conn = database.connection().unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(format!("UPDATE applications SET due_at = '2026-01-05 20:00:00' WHERE number = '{late}'"))
            .execute(&mut *conn)
            .unwrap_or_else(|e| panic!("{e}"));
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let overdue = app.get("/api/v1/inbox?overdue=true", Some(&operator)).await;
        assert_eq!(overdue.assert_status(200)["total"], json!(1));
        assert_eq!(overdue.body["items"][0]["number"], json!(late));
        assert_eq!(overdue.body["items"][0]["overdue"], json!(true));
        let all = app.get("/api/v1/inbox?sort=due_at", Some(&operator)).await;
        assert_eq!(all.assert_status(200)["items"][0]["number"], json!(late));
        assert_eq!(all.body["items"][1]["overdue"], json!(false));
    }
}

on_both_backends! {
    async fn a_corrected_subscriber_is_routed_again_and_reject_works_at_every_stage(app) {
        let number = submit_meter_damage(&app, "1000000001").await;
        let applicant = app.token(demo::RESIDENT, None).await;
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let (_, etag) = app.read(&number, &operator).await;
        let accepted = app.act(&number, &operator, Some(&etag), json!({"action": "accept"})).await;
        let returned = app.act(&number, &operator, Some(&accepted.etag()), json!({"action": "return-for-correction",
            "correction": {"steps": ["subscriber"], "request": "Sayğac başqa ünvandadır."}})).await;
        returned.assert_status(200);
        // While with the applicant the application is never overdue.
        let overdue = app.get("/api/v1/inbox?overdue=true", Some(&operator)).await;
        assert_eq!(overdue.assert_status(200)["total"], json!(0));
        let path = format!("/api/v1/applications/{number}");
        app.patch(&path, &applicant, json!({"subscriber": {"type": "residential", "subscriber_code": "1000000002"}})).await.assert_status(200);
        let resubmitted = app.post(&format!("{path}/submit"), &applicant, json!({})).await;
        let body = resubmitted.assert_status(200);
        assert_eq!(body["work"]["district"], json!("AZ-ABS"), "routed again by the corrected supply address");
        assert_eq!(body["timeline"].as_array().and_then(|t| t.last()).map(|e| e["comment"].clone()), Some(json!("corrected: subscriber")));
        let (_, etag) = app.read(&number, &operator).await;
        let rejected = app.act(&number, &operator, Some(&etag), json!({"action": "reject", "reason": "Sayğac abonentə məxsus deyil."})).await;
        assert_eq!(rejected.assert_status(200)["status"], json!("rejected"));

        // Rejected while back with the applicant, too.
        let second = submit_meter_damage(&app, "1000000001").await;
        let (_, etag) = app.read(&second, &operator).await;
        let returned = app.act(&second, &operator, Some(&etag), json!({"action": "return-for-correction",
            "correction": {"steps": ["contact"], "request": "Nömrəni yoxlayın."}})).await;
        let rejected = app.act(&second, &operator, Some(&returned.etag()), json!({"action": "reject", "reason": "Cavab verilmədi."})).await;
        assert_eq!(rejected.assert_status(200)["status"], json!("rejected"));
    }

    async fn account_changes_take_the_same_paths(app) {
        let number = submit_transfer(&app).await;
        let applicant = app.token(demo::NEW_OWNER, None).await;
        let operator = app.staff_token("op-qeydiyyat-1", "operator", Some("BAKI-QEYDIYYAT")).await;
        let elsewhere = app.staff_token("op-region-1", "operator", Some("REGION-QEYDIYYAT")).await;
        let (_, etag) = app.read(&number, &operator).await;
        app.act(&number, &elsewhere, Some(&etag), json!({"action": "start-review"})).await.assert_problem(404, "application-not-found");
        app.act(&number, &operator, Some(&etag), json!({"action": "accept"})).await.assert_problem(409, "action-not-allowed");
        let review = app.act(&number, &operator, Some(&etag), json!({"action": "start-review"})).await;
        app.act(&number, &operator, Some(&etag), json!({"action": "approve"})).await.assert_problem(412, "precondition-failed");
        let returned = app.act(&number, &operator, Some(&review.etag()), json!({"action": "return-for-correction",
            "correction": {"steps": ["contact"], "request": "E-poçt ünvanını əlavə edin."}})).await;
        assert_eq!(returned.assert_status(200)["status"], json!("returned-for-correction"));
        let path = format!("/api/v1/applications/{number}");
        app.patch(&path, &applicant, json!({"account": {"variant": "transfer", "subscriber_code": "1000000004"}})).await.assert_problem(422, "step-not-requested");
        app.patch(&path, &applicant, json!({"contact": {"mobile_numbers": ["051 234 56 78"], "email": "tural@example.az"}})).await.assert_status(200);
        app.post(&format!("{path}/submit"), &applicant, json!({})).await.assert_status(200);
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let (_, etag) = app.read(&number, &supervisor).await;
        let moved = app.assign(&number, &supervisor, &etag, json!({"department": "REGION-QEYDIYYAT", "assignee": "op-region-1"})).await;
        moved.assert_status(200);
        let (_, etag) = app.read(&number, &elsewhere).await;
        app.act(&number, &operator, Some(&etag), json!({"action": "start-review"})).await.assert_problem(404, "application-not-found");
        let review = app.act(&number, &elsewhere, Some(&etag), json!({"action": "start-review"})).await;
        let approved = app.act(&number, &elsewhere, Some(&review.etag()), json!({"action": "approve"})).await;
        assert_eq!(approved.assert_status(200)["status"], json!("approved"));

        // A submitted account change nobody has started can be cancelled; a cancelled draft is never the company's.
        let renamed = app.token(demo::RENAMED, None).await;
        let submitted = app.create(&renamed, json!({"kind": "account-change",
            "account": {"variant": "name-change", "subscriber_code": "1000000003"},
            "property": {"district": "AZ-BA-NSM", "registry_number": "110022034718", "registration_number": "2019-117642", "property_type": "apartment"},
            "contact": {"mobile_numbers": ["077 555 44 33"]}, "submit": true})).await;
        let submitted_number = submitted.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        let cancelled = app.post(&format!("/api/v1/applications/{submitted_number}/cancel"), &renamed, json!({})).await;
        assert_eq!(cancelled.assert_status(200)["status"], json!("cancelled"));
        let draft = app.create(&renamed, json!({"kind": "account-change"})).await;
        let draft_number = draft.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        app.post(&format!("/api/v1/applications/{draft_number}/cancel"), &renamed, json!({})).await.assert_status(200);
        app.get(&format!("/api/v1/applications/{draft_number}"), Some(&supervisor)).await.assert_problem(404, "application-not-found");
        let cancelled_count = app.get("/api/v1/inbox?status=cancelled", Some(&supervisor)).await;
        assert_eq!(cancelled_count.assert_status(200)["total"], json!(1), "only the submitted one");
    }
}

/// Due times over a weekend and a holiday, as stored and returned: the applications' clock stands
/// at Friday 6 November 2026, 12:00 in Baku; Monday 9th and Tuesday 10th are public holidays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_times_skip_weekends_and_holidays_on_both_backends() {
    for backend in [
        eservices_tests::Backend::Sqlite,
        eservices_tests::Backend::Postgres,
    ] {
        let Some(app) = eservices_tests::spawn_app_with(
            backend,
            &[("FIXED_CLOCK", "2026-11-06T12:00:00+04:00")],
        )
        .await
        else {
            continue;
        };
        let meter_damage = submit_meter_damage(&app, "1000000001").await;
        let transfer = submit_transfer(&app).await;
        let applicant = app.token(demo::RESIDENT, None).await;
        let (read, _) = app.read(&meter_damage, &applicant).await;
        // Ten working days: 11, 12, 13, 16, 17, 18, 19, 20, 23, 24 November; due at the end of the 24th.
        assert_eq!(
            read["work"]["due_at"],
            json!("2026-11-24T20:00:00Z"),
            "{backend:?}"
        );
        let new_owner = app.token(demo::NEW_OWNER, None).await;
        let (read, _) = app.read(&transfer, &new_owner).await;
        // Five working days: 11, 12, 13, 16, 17 November.
        assert_eq!(
            read["work"]["due_at"],
            json!("2026-11-17T20:00:00Z"),
            "{backend:?}"
        );
    }
}
