//! Service 2: transfer of the personal account, or its update after a name change.

use eservices_tests::{demo, on_both_backends};
use serde_json::json;

fn property(district: &str, registry: &str, registration: &str, kind: &str) -> serde_json::Value {
    json!({"district": district, "registry_number": registry, "registration_number": registration, "property_type": kind})
}

fn new_owners_apartment() -> serde_json::Value {
    property("AZ-BA-NRM", "110033056204", "2026-203517", "apartment")
}

fn contact() -> serde_json::Value {
    json!({"mobile_numbers": ["051 234 56 78"], "email": "tural.abbasov@example.az"})
}

on_both_backends! {
    async fn transfer_to_the_new_owner(app) {
        let token = app.token(demo::NEW_OWNER, None).await;
        let year = chrono::Utc::now().format("%Y").to_string();
        let draft = app.create(&token, json!({"kind": "account-change"})).await;
        let number = draft.assert_status(201)["number"].as_str().unwrap_or_default().to_owned();
        assert_eq!(number, format!("AC-{year}-000001"));
        assert_eq!(draft.body["missing_steps"], json!(["account", "property", "contact"]));
        let path = format!("/api/v1/applications/{number}");

        let account = app.patch(&path, &token, json!({"account": {"variant": "transfer", "subscriber_code": "1000000004"}})).await;
        let body = account.assert_status(200);
        assert_eq!(body["debt_check"]["amount_qapik"], json!(0));
        assert_eq!(body["debt_check"]["currency"], json!("AZN"));
        assert!(body["debt_check"]["checked_at"].is_string());

        app.patch(&path, &token, json!({"property": new_owners_apartment(), "contact": contact()})).await.assert_status(200);
        let submitted = app.post(&format!("{path}/submit"), &token, json!({})).await;
        let body = submitted.assert_status(200);
        assert_eq!(body["status"], json!("submitted"));
        assert_eq!(body["account"], json!({"variant": "transfer", "subscriber_code": "1000000004"}));
        assert_eq!(body["property"], new_owners_apartment());
        assert_eq!(body["allowed_actions"], json!(["cancel"]));
    }

    async fn a_debt_refuses_the_step_and_the_submission_with_the_amount(app) {
        let token = app.token(demo::DEBTOR_PROPERTY_OWNER, None).await;
        let refused = app.create(&token, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000005"},
            "property": property("AZ-SM", "220011007893", "2026-198406", "private-house"),
            "contact": contact(), "submit": true})).await;
        let problem = refused.assert_problem(422, "debt-outstanding");
        assert_eq!(problem["debt"], json!({"amount_qapik": 452370, "currency": "AZN", "as_of": "2026-11-01T00:00:00Z"}));
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("4523.70 AZN")));
        assert_eq!(refused.fields_at_fault(), ["account.subscriber_code"]);
        assert_eq!(app.my_application_count(&token).await, 0, "nothing was written");

        let draft = app.create(&token, json!({"kind": "account-change"})).await;
        let path = format!("/api/v1/applications/{}", draft.body["number"].as_str().unwrap_or_default());
        app.patch(&path, &token, json!({"account": {"variant": "transfer", "subscriber_code": "1000000005"}})).await
            .assert_problem(422, "debt-outstanding");
        let unchanged = app.get(&path, Some(&token)).await;
        assert!(unchanged.body.get("account").is_none() && unchanged.body.get("debt_check").is_none(), "{}", unchanged.text);

        let renamed = app.token(demo::RENAMED_WITH_DEBT, None).await;
        let small = app.create(&renamed, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000006"}})).await;
        assert_eq!(small.assert_problem(422, "debt-outstanding")["debt"]["amount_qapik"], json!(1250));
    }

    async fn a_debt_that_appears_after_the_step_refuses_the_submission(app) {
        let token = app.token(demo::NEW_OWNER, None).await;
        let draft = app.create(&token, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": new_owners_apartment(), "contact": contact()})).await;
        let path = format!("/api/v1/applications/{}", draft.assert_status(201)["number"].as_str().unwrap_or_default());
        // Billing records a new debt on the account (the local billing is the seed tables).
        let seed = json!({"citizens": [], "subscriber_accounts": [{
            "code": "1000000004", "holder_pin": demo::PREVIOUS_OWNER, "holder_first_name": "Pərvin", "holder_last_name": "Səfərova",
            "address": "Bakı şəhəri, Nərimanov rayonu, Təbriz küç. 94, mənzil 41", "district_code": "AZ-BA-NRM", "property_registry_number": "110033056204",
            "debt_qapik": 9999, "debt_as_of": "2026-11-20T00:00:00Z"}]});
        let database = persistence::Database::connect(&app.database_url, persistence::PoolOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let file = persistence::seed::SeedFile::from_json(&seed.to_string()).unwrap_or_else(|e| panic!("{e}"));
        persistence::seed::load(&database, &file).unwrap_or_else(|e| panic!("{e}"));
        let refused = app.post(&format!("{path}/submit"), &token, json!({})).await;
        assert_eq!(refused.assert_problem(422, "debt-outstanding")["debt"]["amount_qapik"], json!(9999));
        assert_eq!(app.get(&path, Some(&token)).await.body["status"], json!("draft"));
    }

    async fn transfer_needs_the_applicant_among_the_owners(app) {
        let nobody = app.token(demo::NOBODY, None).await;
        let reply = app.create(&nobody, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": new_owners_apartment()})).await;
        reply.assert_problem(422, "not-property-owner");
        assert_eq!(reply.fields_at_fault(), ["property"]);
        let token = app.token(demo::NEW_OWNER, None).await;
        app.create(&token, json!({"kind": "account-change", "property": property("AZ-BA-NRM", "110033056204", "9999-999999", "apartment")})).await
            .assert_problem(422, "property-not-found");
        app.create(&token, json!({"kind": "account-change", "property": property("AZ-BA-NRM", "110033056204", "2026-203517", "private-house")})).await
            .assert_problem(422, "property-type-mismatch");
        let own_account = app.token(demo::RESIDENT, None).await;
        app.create(&own_account, json!({"kind": "account-change", "account": {"variant": "transfer", "subscriber_code": "1000000001"}})).await
            .assert_problem(422, "account-already-yours");
        app.create(&token, json!({"kind": "account-change", "account": {"variant": "transfer", "subscriber_code": "1999999999"}})).await
            .assert_problem(422, "subscriber-code-unknown");
        app.create(&token, json!({"kind": "account-change", "property": property("AZ-XX", "1", "2", "apartment")})).await
            .assert_problem(422, "validation-failed");
        assert_eq!(app.my_application_count(&nobody).await + app.my_application_count(&token).await, 0);
    }

    async fn name_change_by_the_holder_whose_name_changed(app) {
        let token = app.token(demo::RENAMED, None).await;
        let accounts = app.get("/api/v1/me/subscriber-accounts", Some(&token)).await;
        let code = accounts.body[0]["subscriber_code"].as_str().unwrap_or_default().to_owned();
        let own_property = app.create(&token, json!({"kind": "account-change",
            "account": {"variant": "name-change", "subscriber_code": code},
            "property": property("AZ-BA-NSM", "110022034718", "2019-117642", "apartment"),
            "contact": {"mobile_numbers": ["+994 77 555 44 33"]}, "submit": true})).await;
        assert_eq!(own_property.assert_status(201)["status"], json!("submitted"));

        let unchanged = app.token(demo::RESIDENT, None).await;
        app.create(&unchanged, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000001"}})).await
            .assert_problem(422, "name-unchanged");
        let not_holder = app.token(demo::NEW_OWNER, None).await;
        app.create(&not_holder, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000004"}})).await
            .assert_problem(422, "subscriber-code-not-yours");
    }

    async fn one_open_account_change_per_subscriber_code(app) {
        let token = app.token(demo::NEW_OWNER, None).await;
        let body = json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000004"},
            "property": new_owners_apartment(), "contact": contact(), "submit": true});
        let first = app.create(&token, body.clone()).await;
        let number = first.assert_status(201)["number"].clone();
        let second = app.create(&token, body).await;
        assert_eq!(second.assert_problem(409, "open-application-exists")["open_application"], number);
        // The holder's own name change of the same code meets the open transfer, whose number is
        // another person's and is not revealed.
        let holder = app.token(demo::PREVIOUS_OWNER, None).await;
        let blocked = app.create(&holder, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000004"}})).await;
        if blocked.status == 409 {
            let problem = blocked.assert_problem(409, "open-application-exists");
            assert!(problem.get("open_application").is_none(), "{}", blocked.text);
            assert!(!blocked.text.contains(number.as_str().unwrap_or("-")), "{}", blocked.text);
        } else {
            // The holder's registry name equals the account's, so the step may be refused first.
            blocked.assert_problem(422, "name-unchanged");
        }
    }

    async fn the_account_must_supply_the_property(app) {
        // T owns the Nərimanov apartment; 1000000003 is another account (in Nəsimi).
        let token = app.token(demo::NEW_OWNER, None).await;
        let reply = app.create(&token, json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000003"},
            "property": new_owners_apartment()})).await;
        reply.assert_problem(422, "account-not-at-property");
        assert_eq!(reply.fields_at_fault(), ["property.district"]);
        // R owns a flat in Yasamal and a house in Abşeron: his Yasamal account does not supply the house.
        let resident = app.token(demo::RESIDENT, None).await;
        let renamed = app.token(demo::RENAMED, None).await;
        let not_supplied = app.create(&renamed, json!({"kind": "account-change",
            "account": {"variant": "name-change", "subscriber_code": "1000000003"},
            "property": property("AZ-BA-YSM", "110011012345", "2015-048213", "apartment")})).await;
        not_supplied.assert_problem(422, "account-not-at-property");
        assert_eq!(app.my_application_count(&token).await + app.my_application_count(&resident).await + app.my_application_count(&renamed).await, 0);
    }

    async fn steps_are_checked_on_patch_as_on_create(app) {
        let token = app.token(demo::NEW_OWNER, None).await;
        let draft = app.create(&token, json!({"kind": "account-change"})).await;
        let path = format!("/api/v1/applications/{}", draft.assert_status(201)["number"].as_str().unwrap_or_default());
        let bad_mobile = app.patch(&path, &token, json!({"contact": {"mobile_numbers": ["+994 40 123 45 67"]}})).await;
        bad_mobile.assert_problem(422, "validation-failed");
        assert_eq!(bad_mobile.fields_at_fault(), ["contact.mobile_numbers[0]"]);
        app.patch(&path, &token, json!({"property": property("AZ-BA-NRM", "110033056204", "2026-203517", "private-house")})).await
            .assert_problem(422, "property-type-mismatch");
        let read = app.get(&path, Some(&token)).await;
        assert_eq!(read.body["version"], draft.body["version"], "refused steps change nothing");
        let unknown = app.token(demo::UNKNOWN_PERSON, None).await;
        app.create(&unknown, json!({"kind": "account-change", "account": {"variant": "name-change", "subscriber_code": "1000000001"}})).await
            .assert_problem(404, "person-not-in-registry");
    }
}
