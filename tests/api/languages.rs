//! Problems and status labels in the caller's language: Azerbaijani by default, English or
//! Russian by `Accept-Language`; the machine `code`s and fields never change.

use eservices_tests::{Reply, TestApp, demo, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn in_language(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    language: Option<&str>,
) -> Reply {
    let headers: Vec<(&str, &str)> = language
        .map(|l| vec![("Accept-Language", l)])
        .unwrap_or_default();
    app.request_with(method, path, Some(token), body.as_ref(), &headers)
        .await
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

on_both_backends! {
    async fn problems_speak_the_callers_language_and_keep_their_codes(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let missing = "/api/v1/applications/MD-2026-999999";
        for (language, content_language, title) in [
            (None, "az", "Belə müraciət yoxdur"),
            (Some("en"), "en", "No such application"),
            (Some("ru-RU,ru;q=0.9,en;q=0.5"), "ru", "Такого заявления нет"),
            (Some("fr-FR, de;q=0.8"), "az", "Belə müraciət yoxdur"),
            (Some("en;q=0.2, ru;q=0.7"), "ru", "Такого заявления нет"),
        ] {
            let reply = in_language(&app, Method::GET, missing, &token, None, language).await;
            let problem = reply.assert_problem(404, "application-not-found");
            assert_eq!(problem["title"], json!(title), "{language:?}");
            assert_eq!(problem["type"], json!("urn:azerisiq:eservices:problem:application-not-found"));
            assert_eq!(header(&reply, "content-language"), content_language, "{language:?}");
            assert!(header(&reply, "vary").to_ascii_lowercase().contains("accept-language"), "{language:?}");
        }

        // Field messages are translated by their code; the fields stay as they are.
        let bad = json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "contact": {"mobile_numbers": ["12345"], "email": "not-an-address"}});
        let az = in_language(&app, Method::POST, "/api/v1/applications", &token, Some(bad.clone()), None).await;
        let problem = az.assert_problem(422, "validation-failed");
        assert_eq!(problem["title"], json!("Bəzi sahələr düzgün deyil"));
        assert_eq!(az.fields_at_fault(), ["contact.mobile_numbers[0]", "contact.email"]);
        assert_eq!(problem["errors"][0]["code"], json!("invalid-mobile-number"));
        assert!(problem["errors"][0]["message"].as_str().is_some_and(|m| m.starts_with("Mobil nömrə")), "{problem}");
        assert_eq!(problem["errors"][1]["message"], json!("E-poçt ünvanı düzgün deyil"));
        assert_eq!(problem["detail"], json!("2 sahə düzgün deyil"));
        let en = in_language(&app, Method::POST, "/api/v1/applications", &token, Some(bad.clone()), Some("en")).await;
        let problem = en.assert_problem(422, "validation-failed");
        assert_eq!(problem["title"], json!("Some fields are not valid"));
        assert_eq!(en.fields_at_fault(), ["contact.mobile_numbers[0]", "contact.email"]);
        let ru = in_language(&app, Method::POST, "/api/v1/applications", &token, Some(bad), Some("ru")).await;
        assert_eq!(ru.assert_problem(422, "validation-failed")["errors"][1]["message"], json!("Адрес электронной почты недопустим"));
        assert_eq!(app.my_application_count(&token).await, 0, "refused, nothing written");
    }

    async fn a_debt_is_named_with_its_amount_in_every_language(app) {
        let token = app.token(demo::DEBTOR_PROPERTY_OWNER, None).await;
        let request = json!({"kind": "account-change",
            "account": {"variant": "transfer", "subscriber_code": "1000000005"},
            "property": {"district": "AZ-SM", "registry_number": "220011007893", "registration_number": "2026-198406", "property_type": "private-house"},
            "contact": {"mobile_numbers": ["050 123 45 67"]}, "submit": true});
        for (language, words) in [(None, "ödənilməmiş borc"), (Some("ru"), "неоплаченный долг"), (Some("en"), "unpaid debt")] {
            let reply = in_language(&app, Method::POST, "/api/v1/applications", &token, Some(request.clone()), language).await;
            let problem = reply.assert_problem(422, "debt-outstanding");
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("4523.70 AZN") && detail.contains(words), "{language:?}: {detail}");
            assert_eq!(problem["debt"]["amount_qapik"], json!(452370));
        }
    }

    async fn statuses_carry_a_label_in_the_callers_language(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let created = in_language(&app, Method::POST, "/api/v1/applications", &token,
            Some(json!({"kind": "meter-damage-investigation"})), None).await;
        let body = created.assert_status(201);
        assert_eq!((body["status"].clone(), body["status_label"].clone()), (json!("draft"), json!("Qaralama")));
        let number = body["number"].as_str().unwrap_or_default().to_owned();
        let path = format!("/api/v1/applications/{number}");
        let read = in_language(&app, Method::GET, &path, &token, None, Some("en")).await;
        assert_eq!(read.assert_status(200)["status_label"], json!("Draft"));
        let mine = in_language(&app, Method::GET, "/api/v1/me/applications", &token, None, Some("ru")).await;
        let items = mine.assert_status(200)["items"].as_array().cloned().unwrap_or_default();
        assert!(items.iter().any(|i| i["number"] == json!(number) && i["status_label"] == json!("Черновик")), "{items:?}");
        // Staff see the labels too.
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let counts = in_language(&app, Method::GET, "/api/v1/inbox/counts", &supervisor, None, Some("en")).await;
        let counts = counts.assert_status(200).as_array().cloned().unwrap_or_default();
        assert!(counts.iter().all(|c| c["status_label"].is_string()), "{counts:?}");
        assert!(counts.iter().any(|c| c["status"] == json!("submitted") && c["status_label"] == json!("Submitted")) || counts.iter().all(|c| c["status"] != json!("submitted")));
    }
}
