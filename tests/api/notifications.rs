//! Notifications: the outbox written with every status change, the dispatcher delivering SMS and
//! e-mail to real local servers (aiosmtpd, a fake SMS gateway), retries, fallback, delivery
//! reports, and signed webhooks, on both backends; two dispatchers on one PostgreSQL.

use eservices_tests::fakes::{
    FakeSmsGateway, SmtpServer, WebhookReceiver, eventually, signature_verifies,
};
use eservices_tests::{Backend, TestApp, demo, spawn_app_with};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

const GATEWAY_TOKEN: &str = "gateway-token-for-tests";
const REPORT_TOKEN: &str = "delivery-report-token-for-tests";
const WEBHOOK_SECRET: &str = "whsec_0123456789abcdef0123456789abcdef";

struct World {
    app: TestApp,
    smtp: SmtpServer,
    gateway: FakeSmsGateway,
}

fn overrides(
    smtp: &SmtpServer,
    gateway: &FakeSmsGateway,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp.port.to_string()),
        ("SMTP_TLS", "none".to_owned()),
        ("SMS_GATEWAY_URL", gateway.url.clone()),
        ("SMS_GATEWAY_TOKEN", GATEWAY_TOKEN.to_owned()),
        ("SMS_DELIVERY_REPORT_TOKEN", REPORT_TOKEN.to_owned()),
        ("DISPATCH_INTERVAL_MS", "50".to_owned()),
        ("RETRY_BASE_MS", "20".to_owned()),
        ("RETRY_MAX_DELAY_MS", "100".to_owned()),
        ("SEND_TIMEOUT_MS", "2000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        all.retain(|(key, _)| key != k);
        all.push(((*k).to_owned(), (*v).to_owned()));
    }
    all
}

async fn world(backend: Backend, extra: &[(&str, &str)]) -> Option<World> {
    let smtp = SmtpServer::start().await;
    let gateway = FakeSmsGateway::start().await;
    let settings = overrides(&smtp, &gateway, extra);
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = spawn_app_with(backend, &pairs).await?;
    Some(World { app, smtp, gateway })
}

/// Runs each scenario on SQLite and on PostgreSQL (when configured).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(eservices_tests::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(eservices_tests::Backend::Postgres).await;
                }
            }
        )*
    };
}

on_both!(
    every_event_reaches_the_applicant_by_sms_and_email,
    a_failing_gateway_is_retried_then_failed_and_the_email_goes_instead,
    a_slow_gateway_times_out_and_the_sms_is_sent_on_the_next_attempt,
    status_change_and_outbox_rows_commit_or_roll_back_together,
    webhooks_are_signed_and_delivered_after_the_receiver_was_down,
);

async fn create_with_language(
    app: &TestApp,
    token: &str,
    language: Option<&str>,
    body: Value,
) -> Value {
    let mut request = app
        .client
        .post(app.url("/api/v1/applications"))
        .bearer_auth(token)
        .json(&body);
    if let Some(language) = language {
        request = request.header("Accept-Language", language);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.unwrap_or_else(|e| panic!("{e}"))
}

fn meter_damage(code: &str, email: Option<&str>) -> Value {
    let mut contact = json!({"mobile_numbers": ["050 123 45 67"]});
    if let Some(email) = email {
        contact["email"] = json!(email);
    }
    json!({"kind": "meter-damage-investigation",
        "subscriber": {"type": "residential", "subscriber_code": code},
        "contact": contact, "submit": true})
}

fn number_of(body: &Value) -> String {
    body["number"].as_str().unwrap_or_default().to_owned()
}

/// The application's messages once none is queued any more.
async fn settled_notifications(
    app: &TestApp,
    number: &str,
    token: &str,
    expected: usize,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..200 {
        let (body, _) = app.read(number, token).await;
        last = notifications_of(&body);
        if last.len() >= expected && last.iter().all(|n| n["status"] != json!("queued")) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the messages of {number} did not settle: {last:#?}");
}

/// The messages on the application's timeline, entry by entry.
fn notifications_of(body: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = body["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| {
            entry["notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    all.sort_by_key(|n| n["id"].as_i64());
    all
}

fn summary(notifications: &[Value]) -> Vec<(String, String, String)> {
    notifications
        .iter()
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_owned();
            (s("event"), s("channel"), s("status"))
        })
        .collect()
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

async fn every_event_reaches_the_applicant_by_sms_and_email(backend: Backend) {
    let Some(World { app, smtp, gateway }) = world(backend, &[]).await else {
        return;
    };
    let resident = app.token(demo::RESIDENT, None).await;
    let operator = app
        .staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE"))
        .await;
    let supervisor = app.staff_token("sup-1", "supervisor", None).await;

    // 1. In English, from registration to the result and its document.
    let first = create_with_language(
        &app,
        &resident,
        Some("en-GB,en;q=0.9,az;q=0.5"),
        meter_damage("1000000001", Some("resad@example.az")),
    )
    .await;
    assert_eq!(first["language"], json!("en"), "taken from Accept-Language");
    let first = number_of(&first);
    let (_, etag) = app.read(&first, &operator).await;
    let accepted = app
        .act(&first, &operator, Some(&etag), json!({"action": "accept"}))
        .await;
    let visit_date = eservices_tests::next_working_day();
    let visit = json!({"date": visit_date, "from": "10:00:00", "to": "13:00:00"});
    let scheduled = app
        .act(
            &first,
            &operator,
            Some(&accepted.etag()),
            json!({"action": "schedule-inspection", "visit": visit}),
        )
        .await;
    let findings = json!({"damage_found": true, "cause": "broken-seal", "act_number": "AKT-2026/0457", "readings": [{"register": "total", "value_kwh": 12345}]});
    let inspected = app
        .act(
            &first,
            &operator,
            Some(&scheduled.etag()),
            json!({"action": "record-inspection", "findings": findings}),
        )
        .await;
    app.act(
        &first,
        &operator,
        Some(&inspected.etag()),
        json!({"action": "complete", "result": "Sayğac dəyişdirildi, plomb bərpa olundu."}),
    )
    .await
    .assert_status(200);

    // 2. In Azerbaijani (no Accept-Language): returned, corrected, resubmitted, rejected.
    let second = create_with_language(
        &app,
        &resident,
        None,
        meter_damage("1000000002", Some("resad@example.az")),
    )
    .await;
    assert_eq!(second["language"], json!("az"));
    let second = number_of(&second);
    let (_, etag) = app.read(&second, &supervisor).await;
    let returned = app.act(&second, &supervisor, Some(&etag), json!({"action": "return-for-correction",
        "correction": {"steps": ["contact"], "request": "Mobil nömrə cavab vermir, başqa nömrə yazın."}})).await;
    returned.assert_status(200);
    let path = format!("/api/v1/applications/{second}");
    app.patch(
        &path,
        &resident,
        json!({"contact": {"mobile_numbers": ["055 765 43 21"], "email": "resad@example.az"}}),
    )
    .await
    .assert_status(200);
    app.post(&format!("{path}/submit"), &resident, json!({}))
        .await
        .assert_status(200);
    let (_, etag) = app.read(&second, &supervisor).await;
    app.act(
        &second,
        &supervisor,
        Some(&etag),
        json!({"action": "reject", "reason": "Sayğac abonentin mülkiyyətindədir."}),
    )
    .await
    .assert_status(200);

    // 3. In Russian, set after creation: an account transfer, approved (no e-mail given).
    let owner = app.token(demo::NEW_OWNER, None).await;
    let third = create_with_language(&app, &owner, None, json!({"kind": "account-change",
        "account": {"variant": "transfer", "subscriber_code": "1000000004"},
        "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"},
        "contact": {"mobile_numbers": ["051 234 56 78"]}})).await;
    let third = number_of(&third);
    let language = app
        .client
        .put(app.url(&format!("/api/v1/applications/{third}/language")))
        .bearer_auth(&owner)
        .json(&json!({"language": "ru"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(language.status().as_u16(), 200);
    app.post(
        &format!("/api/v1/applications/{third}/submit"),
        &owner,
        json!({}),
    )
    .await
    .assert_status(200);
    let (_, etag) = app.read(&third, &supervisor).await;
    let review = app
        .act(
            &third,
            &supervisor,
            Some(&etag),
            json!({"action": "start-review"}),
        )
        .await;
    app.act(
        &third,
        &supervisor,
        Some(&review.etag()),
        json!({"action": "approve"}),
    )
    .await
    .assert_status(200);

    let first_messages = settled_notifications(&app, &first, &resident, 8).await;
    assert_eq!(
        summary(&first_messages),
        triples(&[
            ("registered", "sms", "sent"),
            ("registered", "email", "sent"),
            ("accepted", "sms", "sent"),
            ("inspection-scheduled", "sms", "sent"),
            ("inspection-scheduled", "email", "sent"),
            ("completed", "sms", "sent"),
            ("completed", "email", "sent"),
            ("documents-ready", "sms", "sent"),
        ])
    );
    assert_eq!(
        first_messages[0]["recipient"],
        json!("+994*****4567"),
        "masked"
    );
    assert_eq!(first_messages[1]["recipient"], json!("r***@example.az"));
    let second_messages = settled_notifications(&app, &second, &resident, 7).await;
    assert_eq!(
        summary(&second_messages),
        triples(&[
            ("registered", "sms", "sent"),
            ("registered", "email", "sent"),
            ("returned-for-correction", "sms", "sent"),
            ("returned-for-correction", "email", "sent"),
            ("resubmitted", "sms", "sent"),
            ("rejected", "sms", "sent"),
            ("rejected", "email", "sent"),
        ])
    );
    let third_messages = settled_notifications(&app, &third, &owner, 3).await;
    assert_eq!(
        summary(&third_messages),
        triples(&[
            ("registered", "sms", "sent"),
            ("approved", "sms", "sent"),
            ("documents-ready", "sms", "sent"),
        ])
    );
    let (staff_view, _) = app.read(&third, &supervisor).await;
    assert_eq!(notifications_of(&staff_view).len(), 3, "staff see them too");
    let approve_entry = staff_view["timeline"]
        .as_array()
        .and_then(|t| t.iter().find(|e| e["action"] == json!("approve")))
        .cloned()
        .unwrap_or_default();
    let on_approve: Vec<&str> = approve_entry["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["event"].as_str())
        .collect();
    assert_eq!(
        on_approve,
        ["approved", "documents-ready"],
        "each message on the entry that raised it"
    );

    // What the gateway received: every SMS, with our token, in the applicant's language.
    let sms = gateway.requests();
    assert_eq!(sms.len(), 12, "{sms:#?}");
    let texts_of = |number: &str| -> Vec<Value> {
        sms.iter()
            .filter(|r| r["text"].as_str().is_some_and(|t| t.contains(number)))
            .cloned()
            .collect()
    };
    assert_eq!(texts_of(&first).len(), 5);
    assert_eq!(texts_of(&second).len(), 4);
    assert_eq!(texts_of(&third).len(), 3, "each SMS names its application");
    assert!(sms.iter().all(
        |r| r["authorization"] == json!(format!("Bearer {GATEWAY_TOKEN}"))
            && r["from"] == json!("Azerishiq")
    ));
    assert!(
        texts_of(&first)
            .iter()
            .all(|r| r["encoding"] == json!("gsm7")),
        "English goes as GSM-7"
    );
    assert!(
        texts_of(&second)
            .iter()
            .all(|r| r["encoding"] == json!("ucs2")),
        "Azerbaijani needs UCS-2"
    );
    assert!(
        texts_of(&third).iter().any(|r| r["text"]
            .as_str()
            .is_some_and(|t| t.chars().any(|c| ('а'..='я').contains(&c)))),
        "Russian"
    );
    assert!(
        sms.iter()
            .all(|r| r["to"].as_str().is_some_and(|t| t.starts_with("+994")))
    );
    assert!(
        texts_of(&first)
            .iter()
            .any(|r| r["text"].as_str().is_some_and(|t| t.contains(&visit_date))),
        "the visit date is in the SMS"
    );

    // The documents SMS carries a signed link that opens the PDF without a token.
    let documents_sms = texts_of(&third)
        .into_iter()
        .find(|r| {
            r["text"]
                .as_str()
                .is_some_and(|t| t.contains("/document-links/"))
        })
        .unwrap_or_else(|| panic!("no link in {sms:#?}"));
    let text = documents_sms["text"].as_str().unwrap_or_default();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/api/v1/document-links/"))
        .unwrap_or_default();
    let path = &link[link.find("/api/v1/").unwrap_or_default()..];
    let pdf = app.get(path, None).await;
    assert_eq!(
        (pdf.status, pdf.content_type()),
        (200, "application/pdf"),
        "{path}"
    );

    // What the SMTP server received: plain text and HTML, to the address given.
    let mails = smtp.messages();
    assert_eq!(mails.len(), 6, "{mails:#?}");
    assert!(mails.iter().all(|m| m.to.contains("resad@example.az")));
    assert!(
        mails
            .iter()
            .all(|m| !m.text.is_empty() && m.html.contains("<html") && !m.reference.is_empty())
    );
    let of = |number: &str| -> Vec<_> {
        mails
            .iter()
            .filter(|m| m.subject.contains(number))
            .collect()
    };
    assert_eq!((of(&first).len(), of(&second).len()), (3, 3));
    assert!(
        of(&first).iter().any(|m| m.text.contains(&visit_date)),
        "the visit date is in the e-mail"
    );
    assert!(
        of(&second)
            .iter()
            .any(|m| m.text.contains("Sayğac abonentin mülkiyyətindədir.")),
        "the reason is in the e-mail"
    );
    assert!(
        of(&second)
            .iter()
            .any(|m| m.html.contains("Mobil nömrə cavab vermir")),
        "the request is in the HTML part"
    );

    // The gateway's delivery report marks an SMS delivered; a wrong token is refused.
    let reference = format!("gw-{}", first_messages[0]["id"]);
    let report = |token: &str| {
        app.client
            .post(app.url("/api/v1/callbacks/sms-delivery"))
            .bearer_auth(token.to_owned())
            .json(&json!({"reference": reference, "status": "delivered"}))
            .send()
    };
    assert_eq!(
        report("wrong").await.map(|r| r.status().as_u16()).ok(),
        Some(401)
    );
    assert_eq!(
        report(REPORT_TOKEN).await.map(|r| r.status().as_u16()).ok(),
        Some(204)
    );
    // A reference no gateway gives (a NUL byte failed the lookup on PostgreSQL) is refused.
    let odd = app
        .client
        .post(app.url("/api/v1/callbacks/sms-delivery"))
        .bearer_auth(REPORT_TOKEN)
        .json(&json!({"reference": "gw-\u{0}1", "status": "failed"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eservices_tests::Reply::from(odd)
        .await
        .assert_problem(422, "validation-failed");
    let (body, _) = app.read(&first, &resident).await;
    let delivered = &notifications_of(&body)[0];
    assert_eq!(delivered["status"], json!("delivered"));
    assert!(delivered["delivered_at"].is_string());
}

async fn a_failing_gateway_is_retried_then_failed_and_the_email_goes_instead(backend: Backend) {
    let Some(World { app, smtp, gateway }) = world(backend, &[("RETRY_MAX_ATTEMPTS", "3")]).await
    else {
        return;
    };
    gateway.behaviour.always_fail.store(true, Ordering::SeqCst);
    let resident = app.token(demo::RESIDENT, None).await;
    let operator = app
        .staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE"))
        .await;
    let number = number_of(
        &create_with_language(
            &app,
            &resident,
            None,
            meter_damage("1000000001", Some("resad@example.az")),
        )
        .await,
    );
    let (_, etag) = app.read(&number, &operator).await;
    app.act(&number, &operator, Some(&etag), json!({"action": "accept"}))
        .await
        .assert_status(200);

    let messages = settled_notifications(&app, &number, &operator, 4).await;
    assert_eq!(
        summary(&messages),
        triples(&[
            ("registered", "sms", "failed"),
            ("registered", "email", "sent"),
            ("accepted", "sms", "failed"),
            ("accepted", "email", "sent"),
        ]),
        "the e-mail of registration goes anyway; the acceptance falls back to e-mail"
    );
    assert_eq!(messages[2]["attempts"], json!(3));
    assert!(
        messages[2]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("503") && e.contains("gave up after 3")),
        "{}",
        messages[2]
    );
    assert_eq!(messages[3]["fallback_of"], messages[2]["id"]);
    for failed in [&messages[0], &messages[2]] {
        let reference = failed["id"].to_string();
        let tries = gateway
            .requests()
            .iter()
            .filter(|r| r["reference"] == json!(reference))
            .count();
        assert_eq!(tries, 3, "three attempts, then it failed for good");
    }
    let fallback_reference = messages[3]["id"].to_string();
    assert!(
        smtp.messages()
            .iter()
            .any(|m| m.subject.contains(&number) && m.reference == fallback_reference)
    );

    // Staff see the failures and retry one once the gateway is back.
    let failed = app
        .get("/api/v1/staff/notifications/failed", Some(&operator))
        .await;
    assert_eq!(failed.assert_status(200).as_array().map(Vec::len), Some(2));
    assert_eq!(failed.body[0]["application"], json!(number));
    let elsewhere = app
        .staff_token("op-sumqayit", "operator", Some("SUMQAYIT-SEBEKE"))
        .await;
    let none = app
        .get("/api/v1/staff/notifications/failed", Some(&elsewhere))
        .await;
    assert_eq!(none.assert_status(200), &json!([]));
    let sms_id = messages[2]["id"].clone();
    app.post(
        &format!("/api/v1/staff/notifications/{sms_id}/retry"),
        &elsewhere,
        json!({}),
    )
    .await
    .assert_problem(404, "message-not-found");
    app.post(
        &format!("/api/v1/staff/notifications/{sms_id}/retry"),
        &resident,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden-role");
    let email_id = messages[3]["id"].clone();
    app.post(
        &format!("/api/v1/staff/notifications/{email_id}/retry"),
        &operator,
        json!({}),
    )
    .await
    .assert_problem(409, "message-not-failed");
    gateway.behaviour.always_fail.store(false, Ordering::SeqCst);
    app.post(
        &format!("/api/v1/staff/notifications/{sms_id}/retry"),
        &operator,
        json!({}),
    )
    .await
    .assert_status(202);
    let (mine, _) = app.read(&number, &resident).await;
    assert!(
        notifications_of(&mine)
            .iter()
            .all(|n| n.get("last_error").is_none()),
        "applicants see the state, not the gateway's words"
    );
    let after = settled_notifications(&app, &number, &resident, 4).await;
    assert_eq!(after[2]["status"], json!("sent"));
    assert_eq!(
        after.len(),
        4,
        "a retried message that succeeds queues no second fallback"
    );

    // A number the gateway refuses (4xx) fails at once, without retries.
    gateway.behaviour.refuse.store(true, Ordering::SeqCst);
    let (_, etag) = app.read(&number, &operator).await;
    let visit =
        json!({"date": eservices_tests::next_working_day(), "from": "10:00:00", "to": "13:00:00"});
    app.act(
        &number,
        &operator,
        Some(&etag),
        json!({"action": "schedule-inspection", "visit": visit}),
    )
    .await
    .assert_status(200);
    let refused = settled_notifications(&app, &number, &operator, 6).await;
    assert_eq!(refused[4]["status"], json!("failed"));
    assert_eq!(refused[4]["attempts"], json!(1));
    assert!(
        refused[4]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("400"))
    );
}

async fn a_slow_gateway_times_out_and_the_sms_is_sent_on_the_next_attempt(backend: Backend) {
    let Some(World { app, gateway, .. }) = world(backend, &[("SEND_TIMEOUT_MS", "300")]).await
    else {
        return;
    };
    gateway.behaviour.stall_ms.store(1500, Ordering::SeqCst);
    gateway.behaviour.stall_count.store(1, Ordering::SeqCst);
    let resident = app.token(demo::RESIDENT, None).await;
    let number = number_of(
        &create_with_language(&app, &resident, None, meter_damage("1000000001", None)).await,
    );
    let messages = settled_notifications(&app, &number, &resident, 1).await;
    assert_eq!(
        summary(&messages),
        triples(&[("registered", "sms", "sent")])
    );
    assert_eq!(
        messages[0]["attempts"],
        json!(2),
        "the stalled attempt timed out and was retried"
    );
    let reference = messages[0]["id"].to_string();
    assert_eq!(
        gateway
            .requests()
            .iter()
            .filter(|r| r["reference"] == json!(reference))
            .count(),
        2
    );
}

/// Runs SQL on the test's database.
fn execute(app: &TestApp, sql: &str) {
    use diesel::connection::SimpleConnection;
    let db = persistence::Database::connect(&app.database_url, persistence::PoolOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = db.connection().unwrap_or_else(|e| panic!("{e}"));
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn status_change_and_outbox_rows_commit_or_roll_back_together(backend: Backend) {
    let Some(World { app, .. }) = world(backend, &[]).await else {
        return;
    };
    let resident = app.token(demo::RESIDENT, None).await;
    let operator = app
        .staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE"))
        .await;
    let number = number_of(
        &create_with_language(&app, &resident, None, meter_damage("1000000001", None)).await,
    );
    settled_notifications(&app, &number, &resident, 1).await;
    let (before, etag) = app.read(&number, &operator).await;

    // The outbox refuses every row: the status change must not be kept without its messages.
    match backend {
        Backend::Sqlite => execute(
            &app,
            "CREATE TRIGGER outbox_refuses BEFORE INSERT ON outbox_messages BEGIN SELECT RAISE(ABORT, 'outbox refuses'); END;",
        ),
        Backend::Postgres => execute(
            &app,
            "CREATE FUNCTION outbox_refuses() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refuses'; END; $$ LANGUAGE plpgsql; \
            CREATE TRIGGER outbox_refuses BEFORE INSERT ON outbox_messages FOR EACH ROW EXECUTE FUNCTION outbox_refuses();",
        ),
    }
    app.act(&number, &operator, Some(&etag), json!({"action": "accept"}))
        .await
        .assert_problem(503, "database-unavailable");
    let (after, same_etag) = app.read(&number, &operator).await;
    assert_eq!(
        (after["status"].clone(), same_etag.clone()),
        (json!("submitted"), etag.clone()),
        "rolled back with the outbox"
    );
    assert_eq!(after["timeline"], before["timeline"]);

    match backend {
        Backend::Sqlite => execute(&app, "DROP TRIGGER outbox_refuses"),
        Backend::Postgres => execute(&app, "DROP TRIGGER outbox_refuses ON outbox_messages"),
    }
    let accepted = app
        .act(&number, &operator, Some(&etag), json!({"action": "accept"}))
        .await;
    assert_eq!(accepted.assert_status(200)["status"], json!("accepted"));
    let messages = settled_notifications(&app, &number, &resident, 2).await;
    assert_eq!(
        summary(&messages),
        triples(&[("registered", "sms", "sent"), ("accepted", "sms", "sent")])
    );
}

async fn admin(app: &TestApp) -> String {
    app.staff_token("admin-01", "admin", None).await
}

async fn webhooks_are_signed_and_delivered_after_the_receiver_was_down(backend: Backend) {
    let Some(World { app, .. }) = world(
        backend,
        &[("RETRY_MAX_ATTEMPTS", "30"), ("RETRY_BASE_MS", "50")],
    )
    .await
    else {
        return;
    };
    let receiver = WebhookReceiver::start().await;
    let admin = admin(&app).await;
    let resident = app.token(demo::RESIDENT, None).await;

    // Only admins, and only valid subscriptions.
    let request = json!({"url": receiver.url, "event_types": ["registered", "cancelled"], "secret": WEBHOOK_SECRET, "description": "e-gov.az"});
    app.post("/api/v1/webhooks", &resident, request.clone())
        .await
        .assert_problem(403, "forbidden-role");
    let bad = app.post("/api/v1/webhooks", &admin, json!({"url": "ftp://x", "event_types": ["registered", "registered"], "secret": "short"})).await;
    bad.assert_problem(422, "validation-failed");
    assert_eq!(bad.fields_at_fault(), ["url", "event_types[1]", "secret"]);
    let created = app.post("/api/v1/webhooks", &admin, request).await;
    let subscription = created.assert_status(201)["id"].clone();
    assert!(
        created.body.get("secret").is_none(),
        "the secret is never shown again"
    );
    let listed = app.get("/api/v1/webhooks", Some(&admin)).await;
    assert!(!listed.text.contains(WEBHOOK_SECRET));
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "the refused subscriptions stored nothing"
    );
    app.get("/api/v1/webhooks/999", Some(&admin))
        .await
        .assert_problem(404, "webhook-subscription-not-found");

    // The receiver is down: the event waits, retried, and arrives once it is back.
    receiver.down.store(true, Ordering::SeqCst);
    let number = number_of(
        &create_with_language(&app, &resident, None, meter_damage("1000000001", None)).await,
    );
    assert!(
        eventually(20, || receiver.refused.load(Ordering::SeqCst) >= 3).await,
        "retried while down"
    );
    receiver.down.store(false, Ordering::SeqCst);
    assert!(
        eventually(20, || receiver.calls().len() == 1).await,
        "delivered after the receiver came back"
    );
    let call = receiver.calls().remove(0);
    assert!(
        signature_verifies(WEBHOOK_SECRET, &call.signature, &call.body),
        "{}",
        call.signature
    );
    assert!(!signature_verifies(
        "another-secret-of-enough-length-000000",
        &call.signature,
        &call.body
    ));
    let body: Value = serde_json::from_slice(&call.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["type"], json!("registered"));
    assert_eq!(body["data"]["number"], json!(number));
    assert_eq!(body["data"]["status"], json!("submitted"));
    assert_eq!(body["id"], json!(call.event_id));
    assert!(body["attempt"].as_u64().is_some_and(|a| a >= 4));

    // Cancelling is an event too; the one not subscribed to (none here) would not come.
    app.post(
        &format!("/api/v1/applications/{number}/cancel"),
        &resident,
        json!({}),
    )
    .await
    .assert_status(200);
    assert!(eventually(20, || receiver.calls().len() == 2).await);
    let cancelled: Value =
        serde_json::from_slice(&receiver.calls()[1].body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cancelled["type"], json!("cancelled"));

    // The delivery log, and a redelivery with the same event id.
    let log = app
        .get(
            &format!("/api/v1/webhooks/{subscription}/deliveries"),
            Some(&admin),
        )
        .await;
    let deliveries = log
        .assert_status(200)
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(deliveries.len(), 2);
    let registered = &deliveries[1];
    assert_eq!(
        (registered["event"].clone(), registered["status"].clone()),
        (json!("registered"), json!("sent"))
    );
    let attempts = registered["attempts_log"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        attempts.len() >= 4
            && attempts
                .last()
                .is_some_and(|a| a["outcome"] == json!("sent")),
        "{attempts:#?}"
    );
    assert!(
        attempts[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("503"))
    );
    let delivery = registered["id"].clone();
    let redeliver = app
        .post(
            &format!("/api/v1/webhooks/{subscription}/deliveries/{delivery}/redeliver"),
            &admin,
            json!({}),
        )
        .await;
    redeliver.assert_status(202);
    assert!(eventually(20, || receiver.calls().len() == 3).await);
    assert_eq!(
        receiver.calls()[2].event_id,
        call.event_id,
        "the same event id: receivers deduplicate"
    );
    app.post(
        &format!("/api/v1/webhooks/{subscription}/deliveries/999999/redeliver"),
        &admin,
        json!({}),
    )
    .await
    .assert_problem(404, "message-not-found");

    // A stopped subscription gets nothing new.
    let stopped = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{subscription}")))
        .bearer_auth(&admin)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok();
    assert_eq!(stopped, Some(204));
    create_with_language(&app, &resident, None, meter_damage("1000000002", None)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.calls().len(), 3);
}

/// Two dispatchers on one PostgreSQL deliver each of a few hundred messages exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_on_one_postgres_deliver_each_message_once() {
    if eservices_tests::postgres_server().is_none() {
        eprintln!("TEST_DATABASE_URL is not set: skipped");
        return;
    }
    let smtp = SmtpServer::start().await;
    let gateway = FakeSmsGateway::start().await;
    let receiver = WebhookReceiver::start().await;
    let settings = overrides(
        &smtp,
        &gateway,
        &[
            ("DISPATCHER", "off"),
            ("DISPATCH_BATCH_SIZE", "7"),
            ("DISPATCH_INTERVAL_MS", "20"),
        ],
    );
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let Some(app) = spawn_app_with(Backend::Postgres, &pairs).await else {
        return;
    };
    let admin = admin(&app).await;
    app.post("/api/v1/webhooks", &admin, json!({"url": receiver.url, "event_types": ["registered", "cancelled"], "secret": WEBHOOK_SECRET}))
        .await.assert_status(201);

    let database =
        persistence::Database::connect(&app.database_url, persistence::PoolOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
    let links = notifications::document_links::DocumentLinks::new(
        b"0123456789abcdef0123456789abcdef".to_vec(),
        chrono::TimeDelta::hours(1),
    );
    let (_keep_running, running) = tokio::sync::watch::channel(false);
    for _ in 0..2 {
        let dispatcher =
            notifications::Dispatcher::new(&database, &app.settings.notifications, links.clone())
                .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(dispatcher.run(running.clone()));
    }

    let resident = app.token(demo::RESIDENT, None).await;
    const ROUNDS: usize = 60;
    for _ in 0..ROUNDS {
        for code in ["1000000001", "1000000002"] {
            let number = number_of(
                &create_with_language(
                    &app,
                    &resident,
                    None,
                    meter_damage(code, Some("resad@example.az")),
                )
                .await,
            );
            app.post(
                &format!("/api/v1/applications/{number}/cancel"),
                &resident,
                json!({}),
            )
            .await
            .assert_status(200);
        }
    }
    let outbox = persistence::DieselOutbox::new(database.clone());
    let drained = {
        let mut drained = false;
        for _ in 0..1200 {
            if outbox.backlog().map(|b| b.queued).ok() == Some(0) {
                drained = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        drained
    };
    assert!(drained, "the outbox did not drain");
    let applications = 2 * ROUNDS;
    let sms_references: Vec<String> = gateway
        .requests()
        .iter()
        .map(|r| r["reference"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mail_references: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| m.reference.clone())
        .collect();
    let webhook_ids: Vec<String> = receiver
        .calls()
        .iter()
        .map(|c| c.event_id.clone())
        .collect();
    let unique = |items: &[String]| items.iter().collect::<BTreeSet<_>>().len();
    assert_eq!(
        (sms_references.len(), unique(&sms_references)),
        (applications, applications),
        "each SMS once"
    );
    assert_eq!(
        (mail_references.len(), unique(&mail_references)),
        (applications, applications),
        "each e-mail once"
    );
    assert_eq!(
        (webhook_ids.len(), unique(&webhook_ids)),
        (2 * applications, 2 * applications),
        "each webhook once"
    );

    // Both dispatchers took part.
    use diesel::prelude::*;
    let mut conn = database.connection().unwrap_or_else(|e| panic!("{e}"));
    let workers: Vec<String> = persistence::schema::outbox_attempts::table
        .select(persistence::schema::outbox_attempts::worker)
        .distinct()
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(workers.len(), 2, "{workers:?}");
}
