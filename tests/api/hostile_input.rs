//! Hostile text in every text field of every request body, and in path and query parameters: SQL
//! metacharacters, very long strings, Azerbaijani letters, emoji, combining characters, control
//! characters, NUL, lone surrogates and bytes that are not UTF-8. Each is stored and returned
//! exactly as sent, or refused with a 4xx problem that names the field; never a 5xx, never a
//! silent change, and every answer is well-formed JSON. On both backends: PostgreSQL cannot store
//! NUL in text, so the service must refuse it before the database does.

use eservices_tests::{Reply, TestApp, demo, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

/// The hostile texts, by name. None has white space at either end (free texts are trimmed: a
/// documented normalisation).
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("sql-or", "' OR 1=1 --".to_owned()),
        ("sql-drop", "\"; DROP TABLE applications; --".to_owned()),
        (
            "sql-comment",
            "x'); DELETE FROM applications; /*".to_owned(),
        ),
        ("azerbaijani", "ə ğ ı ö ş ç ü Ə Ğ I İ Ö Ş Ç Ü".to_owned()),
        ("emoji", "😀🔌⚡ 👨‍👩‍👧 🇦🇿".to_owned()),
        (
            "combining",
            "e\u{301}\u{302} a\u{308}\u{20dd} Z\u{336}".to_owned(),
        ),
        (
            "bidi",
            "abc\u{202e}fed\u{202c} \u{200b}\u{feff}x".to_owned(),
        ),
        ("separators", "a\u{2028}b\u{2029}c".to_owned()),
        ("no-spaces", "ə'\";--😀e\u{301}<b>%00%zz&x=1#İ".to_owned()),
        (
            "markup",
            "</script><script>alert(1)</script> \\\" \\u0000 %00 ${x} {{x}}".to_owned(),
        ),
        ("soh", "a\u{1}b".to_owned()),
        ("escape", "a\u{1b}[31mb".to_owned()),
        ("delete", "a\u{7f}b".to_owned()),
        ("c1", "a\u{85}b\u{9b}c".to_owned()),
        ("nul", "a\u{0}b".to_owned()),
        ("nul-only", "\u{0}".to_owned()),
        ("long", "ə".repeat(5000)),
        ("very-long", "x".repeat(60 * 1024)),
    ]
}

/// What the sweep found.
#[derive(Default)]
struct Findings {
    cases: usize,
    failures: Vec<String>,
}

/// Whether `reported` (a field of a problem's `errors`) names `field` or the list it is in.
fn names(reported: &str, field: &str) -> bool {
    reported == field
        || field.split('[').next() == Some(reported)
        || reported.split('[').next() == Some(field)
}

impl Findings {
    fn fail(&mut self, case: &str, why: &str) {
        self.failures.push(format!("{case}: {why}"));
    }

    /// Every answer is JSON when it says so, and a problem when it is an error.
    fn well_formed(&mut self, case: &str, reply: &Reply) {
        let json_type = reply.content_type().contains("json");
        if json_type && !reply.text.is_empty() && reply.body.is_null() {
            self.fail(
                case,
                &format!("a JSON answer that does not parse: {}", reply.text),
            );
        }
        if reply.status >= 400 && reply.content_type() != "application/problem+json" {
            self.fail(
                case,
                &format!(
                    "a {} that is not problem+json: {}",
                    reply.status, reply.text
                ),
            );
        }
    }

    /// Judges an answer to input in `field`: `true` when it was accepted (then the caller
    /// compares what was stored), `false` when it was rightly refused; a 5xx, or a refusal that
    /// does not name the field, is a failure.
    fn judge(&mut self, case: &str, reply: &Reply, field: &str) -> bool {
        self.cases += 1;
        self.well_formed(case, reply);
        match reply.status {
            200..=299 => true,
            // Too large to read: no field can be named.
            413 => {
                if reply.body["code"] != json!("payload-too-large") {
                    self.fail(case, &format!("413 without its code: {}", reply.text));
                }
                false
            }
            400..=499 => {
                let named = reply.fields_at_fault().iter().any(|f| names(f, field));
                if !named {
                    self.fail(
                        case,
                        &format!(
                            "a {} that does not name {field}: {}",
                            reply.status, reply.text
                        ),
                    );
                }
                false
            }
            _ => {
                self.fail(case, &format!("{} {}", reply.status, reply.text));
                false
            }
        }
    }

    /// Stored exactly as sent.
    fn same(&mut self, case: &str, stored: &Value, sent: &str) {
        if stored != &json!(sent) {
            let shown = |v: String| v.chars().take(200).collect::<String>();
            self.fail(
                case,
                &format!(
                    "stored {} for {}",
                    shown(stored.to_string()),
                    shown(json!(sent).to_string())
                ),
            );
        }
    }

    /// Any answer but a 5xx or a malformed one (for input no field can be blamed for, such as a
    /// path).
    fn no_server_error(&mut self, case: &str, reply: &Reply) {
        self.cases += 1;
        self.well_formed(case, reply);
        if reply.status >= 500 {
            self.fail(case, &format!("{} {}", reply.status, reply.text));
        }
    }

    fn finish(self, what: &str) {
        eprintln!("{what}: {} input cases checked", self.cases);
        assert!(
            self.failures.is_empty(),
            "{what}: {} of {} cases failed:\n{}",
            self.failures.len(),
            self.cases,
            self.failures.join("\n")
        );
    }
}

fn number_of(reply: &Reply) -> String {
    reply.body["number"].as_str().unwrap_or_default().to_owned()
}

fn last_comment(application: &Value) -> Value {
    application["timeline"]
        .as_array()
        .and_then(|t| t.last())
        .map(|e| e["comment"].clone())
        .unwrap_or(Value::Null)
}

/// A submitted meter damage application of the resident's for 1000000001 (BAKI-SEBEKE): the
/// one `current` names while it is still submitted, else a new one (the last was closed).
async fn submitted(app: &TestApp, current: &mut Option<String>) -> String {
    let supervisor = app.staff_token("sup-1", "supervisor", None).await;
    let owner = app.token(demo::RESIDENT, None).await;
    if let Some(number) = current.clone() {
        let (read, etag) = app.read(&number, &supervisor).await;
        let status = read["status"].as_str().unwrap_or_default().to_owned();
        if status == "submitted" {
            return number;
        }
        // Still open: closed, so that a new one may be made for the same account.
        if status == "returned-for-correction" {
            app.post(
                &format!("/api/v1/applications/{number}/cancel"),
                &owner,
                json!({}),
            )
            .await
            .assert_status(200);
        } else if !["rejected", "completed", "cancelled"].contains(&status.as_str()) {
            app.act(
                &number,
                &supervisor,
                Some(&etag),
                json!({"action": "reject", "reason": "Təkrar."}),
            )
            .await
            .assert_status(200);
        }
    }
    let created = app
        .create(
            &owner,
            json!({"kind": "meter-damage-investigation",
            "subscriber": {"type": "residential", "subscriber_code": "1000000001"},
            "contact": {"mobile_numbers": ["050 123 45 67"]}, "submit": true}),
        )
        .await;
    let number = number_of(&created);
    created.assert_status(201);
    *current = Some(number.clone());
    number
}

/// A staff action on the version just read.
async fn act(app: &TestApp, number: &str, token: &str, body: Value) -> Reply {
    let (_, etag) = app.read(number, token).await;
    app.act(number, token, Some(&etag), body).await
}

/// A submitted application taken to its scheduled inspection.
async fn scheduled(app: &TestApp, operator: &str, current: &mut Option<String>) -> String {
    let number = submitted(app, current).await;
    act(app, &number, operator, json!({"action": "accept"}))
        .await
        .assert_status(200);
    let visit =
        json!({"date": eservices_tests::next_working_day(), "from": "10:00:00", "to": "12:00:00"});
    act(
        app,
        &number,
        operator,
        json!({"action": "schedule-inspection", "visit": visit}),
    )
    .await
    .assert_status(200);
    number
}

const GATEWAY_TOKEN: &str = "gateway-shared-token-0123456789abcdef";

/// The SMS gateway's delivery reports: a reference or reason is refused naming the field, or
/// taken (then an unknown reference is "no such message"); never a 5xx. A reason taken is stored
/// exactly as the gateway sent it.
async fn gateway_reports(backend: eservices_tests::Backend) {
    let gateway = eservices_tests::fakes::FakeSmsGateway::start().await;
    let overrides = [
        ("SMS_GATEWAY_URL", gateway.url.as_str()),
        ("SMS_GATEWAY_TOKEN", "gateway-token-for-tests"),
        ("SMS_DELIVERY_REPORT_TOKEN", GATEWAY_TOKEN),
        ("DISPATCH_INTERVAL_MS", "50"),
    ];
    let Some(app) = eservices_tests::spawn_app_with(backend, &overrides).await else {
        eprintln!("TEST_DATABASE_URL is not set: the PostgreSQL run is skipped");
        return;
    };
    let report = |body: Value| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                "/api/v1/callbacks/sms-delivery",
                Some(GATEWAY_TOKEN),
                Some(body),
            )
            .await
        }
    };
    let mut found = Findings::default();
    for (name, text) in hostile() {
        for (field, body) in [
            (
                "reference",
                json!({"reference": text, "status": "delivered"}),
            ),
            (
                "reason",
                json!({"reference": "gw-1", "status": "failed", "reason": text}),
            ),
            ("status", json!({"reference": "gw-1", "status": text})),
        ] {
            let case = format!("sms report {field} {name}");
            let reply = report(body).await;
            if reply.status == 404 && field != "status" {
                // The field was taken; no SMS has that reference.
                found.no_server_error(&case, &reply);
                if reply.body["code"] != json!("message-not-found") {
                    found.fail(&case, &reply.text);
                }
            } else if found.judge(&case, &reply, field) {
                found.fail(&case, &format!("accepted: {}", reply.text));
            }
        }
    }

    // A reason taken is stored as sent: on a real SMS, read back by its department's operator.
    let operator = app
        .staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE"))
        .await;
    let mut current = None;
    let number = submitted(&app, &mut current).await;
    let mut sent = Value::Null;
    for _ in 0..200 {
        let (read, _) = app.read(&number, &operator).await;
        if let Some(sms) = read["timeline"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| e["notifications"].as_array().cloned().unwrap_or_default())
            .find(|n| n["channel"] == json!("sms") && n["status"] == json!("sent"))
        {
            sent = sms;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let id = sent["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no SMS was sent for {number}"));
    let reason =
        "Abonent əlçatan deyil: ' OR 1=1 -- \"; DROP TABLE x; -- Ə Ğ İ Ş Ç Ü 😀 e\u{301} \u{202e}";
    report(json!({"reference": format!("gw-{id}"), "status": "failed", "reason": reason}))
        .await
        .assert_status(204);
    let failed = app
        .get("/api/v1/staff/notifications/failed", Some(&operator))
        .await;
    let stored = failed
        .assert_status(200)
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == json!(id))
        .map(|m| m["last_error"].clone())
        .unwrap_or(Value::Null);
    found.same("sms report reason stored", &stored, reason);
    found.finish("gateway reports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_reports_sqlite() {
    gateway_reports(eservices_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_reports_postgres() {
    gateway_reports(eservices_tests::Backend::Postgres).await;
}

on_both_backends! {
    async fn applicant_fields_take_hostile_text_exactly_or_refuse_it(app) {
        let owner = app.token(demo::RESIDENT, None).await;
        let mut found = Findings::default();
        let draft = app.create(&owner, json!({"kind": "meter-damage-investigation"})).await;
        let draft_path = format!("/api/v1/applications/{}", number_of(&draft));
        let account_draft = app.create(&owner, json!({"kind": "account-change"})).await;
        let account_path = format!("/api/v1/applications/{}", number_of(&account_draft));
        for (name, text) in hostile() {
            // The damage description, on creation and on change.
            let case = format!("create damage_description {name}");
            let created = app.create(&owner, json!({"kind": "meter-damage-investigation", "damage_description": text})).await;
            if found.judge(&case, &created, "damage_description") {
                found.same(&case, &created.body["damage_description"], &text);
                let (read, _) = app.read(&number_of(&created), &owner).await;
                found.same(&format!("{case} (read back)"), &read["damage_description"], &text);
            }
            let case = format!("patch damage_description {name}");
            let changed = app.patch(&draft_path, &owner, json!({"damage_description": text})).await;
            if found.judge(&case, &changed, "damage_description") {
                let read = app.get(&draft_path, Some(&owner)).await;
                found.same(&case, &read.body["damage_description"], &text);
            }

            // Codes and contact data: each stored as sent (or in its documented normal form), or refused.
            let contact_cases = [
                ("contact.email", json!({"contact": {"mobile_numbers": ["0501234567"], "email": text}})),
                ("contact.mobile_numbers[0]", json!({"contact": {"mobile_numbers": [text]}})),
                ("subscriber.subscriber_code", json!({"subscriber": {"type": "residential", "subscriber_code": text}})),
                ("subscriber.head_code", json!({"subscriber": {"type": "non-residential", "head_code": text, "metering_point": "50000001-01"}})),
                ("subscriber.metering_point", json!({"subscriber": {"type": "non-residential", "head_code": "50000001", "metering_point": text}})),
            ];
            for (field, body) in contact_cases {
                let case = format!("patch {field} {name}");
                let reply = app.patch(&draft_path, &owner, body).await;
                if found.judge(&case, &reply, field) {
                    found.fail(&case, &format!("accepted: {}", reply.text));
                }
            }
            let account_cases = [
                ("account.subscriber_code", json!({"account": {"variant": "transfer", "subscriber_code": text}})),
                ("property.district", json!({"property": {"district": text, "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"}})),
                ("property.registry_number", json!({"property": {"district": "AZ-BA-NRM", "registry_number": text, "registration_number": "2026-203517", "property_type": "apartment"}})),
                ("property.registration_number", json!({"property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": text, "property_type": "apartment"}})),
                ("property.property_type", json!({"property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": text}})),
                ("account.variant", json!({"account": {"variant": text, "subscriber_code": "1000000004"}})),
            ];
            for (field, body) in account_cases {
                let case = format!("patch {field} {name}");
                let reply = app.patch(&account_path, &owner, body).await;
                if found.judge(&case, &reply, field) {
                    found.fail(&case, &format!("accepted: {}", reply.text));
                }
            }
            let case = format!("create kind {name}");
            let reply = app.create(&owner, json!({"kind": text})).await;
            if found.judge(&case, &reply, "kind") {
                found.fail(&case, &format!("accepted: {}", reply.text));
            }
            let case = format!("language {name}");
            let reply = app.request(Method::PUT, &format!("{draft_path}/language"), Some(&owner), Some(json!({"language": text}))).await;
            if found.judge(&case, &reply, "language") {
                found.fail(&case, &format!("accepted: {}", reply.text));
            }
            // A field of that name: unknown, and named in the refusal as sent.
            let case = format!("unknown field {name}");
            let mut body = json!({"kind": "account-change"});
            body[text.as_str()] = json!(1);
            let reply = app.create(&owner, body).await;
            if found.judge(&case, &reply, &text) {
                found.fail(&case, &format!("accepted: {}", reply.text));
            }

            // The cancel reason, each on a draft of its own.
            let fresh = app.create(&owner, json!({"kind": "account-change"})).await;
            let path = format!("/api/v1/applications/{}", number_of(&fresh));
            let case = format!("cancel reason {name}");
            let cancelled = app.post(&format!("{path}/cancel"), &owner, json!({"reason": text})).await;
            if found.judge(&case, &cancelled, "reason") {
                found.same(&case, &last_comment(&cancelled.body), &text);
                let read = app.get(&path, Some(&owner)).await;
                found.same(&format!("{case} (read back)"), &last_comment(&read.body), &text);
            }
        }
        // Whatever was refused left the draft as it was: nothing half-stored.
        let read = app.get(&draft_path, Some(&owner)).await;
        assert!(read.assert_status(200)["contact"].is_null(), "{}", read.text);
        found.finish("applicant fields");
    }

    async fn staff_fields_take_hostile_text_exactly_or_refuse_it(app) {
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let mut found = Findings::default();
        let mut current = None;
        for (name, text) in hostile() {
            // A comment, a rejection reason, and what a return for correction asks.
            let actions = [
                ("comment", json!({"action": "reject", "reason": "Rədd edildi.", "comment": text})),
                ("reason", json!({"action": "reject", "reason": text})),
                ("correction.request", json!({"action": "return-for-correction", "correction": {"steps": ["contact"], "request": text}})),
            ];
            for (field, body) in actions {
                let number = submitted(&app, &mut current).await;
                let (_, etag) = app.read(&number, &operator).await;
                let case = format!("action {field} {name}");
                let reply = app.act(&number, &operator, Some(&etag), body).await;
                if found.judge(&case, &reply, field) {
                    let (read, _) = app.read(&number, &operator).await;
                    found.same(&case, &last_comment(&read), &text);
                    let stored = match field {
                        "reason" => read["work"]["rejection_reason"].clone(),
                        "correction.request" => read["work"]["correction"]["request"].clone(),
                        _ => last_comment(&read),
                    };
                    found.same(&format!("{case} (work)"), &stored, &text);
                }
            }
            // The findings' act number and register, and the result, each on an application
            // taken to its inspection (and closed again when it took the text).
            let findings = [
                ("findings.act_number", json!({"damage_found": false, "act_number": text, "readings": []})),
                ("findings.readings", json!({"damage_found": false, "act_number": "AKT-1", "readings": [{"register": text, "value_kwh": 1}]})),
            ];
            for (field, findings) in findings {
                let number = scheduled(&app, &operator, &mut current).await;
                let case = format!("action {field} {name}");
                let reply = act(&app, &number, &operator, json!({"action": "record-inspection", "findings": findings})).await;
                if found.judge(&case, &reply, field) {
                    let (read, _) = app.read(&number, &operator).await;
                    let recorded = &read["work"]["inspection_findings"];
                    let stored = if field == "findings.act_number" { recorded["act_number"].clone() } else { recorded["readings"][0]["register"].clone() };
                    found.same(&case, &stored, &text);
                }
                act(&app, &number, &operator, json!({"action": "reject", "reason": "Təkrar."})).await.assert_status(200);
            }
            let number = scheduled(&app, &operator, &mut current).await;
            act(&app, &number, &operator, json!({"action": "record-inspection", "findings": {"damage_found": false, "act_number": "AKT-2", "readings": []}})).await.assert_status(200);
            let case = format!("action result {name}");
            let reply = act(&app, &number, &operator, json!({"action": "complete", "result": text})).await;
            if found.judge(&case, &reply, "result") {
                let (read, _) = app.read(&number, &operator).await;
                found.same(&case, &read["work"]["result"], &text);
            } else {
                act(&app, &number, &operator, json!({"action": "reject", "reason": "Təkrar."})).await.assert_status(200);
            }

            // A supervisor's reassignment: the comment, the operator, the department.
            let number = submitted(&app, &mut current).await;
            let assignments = [
                ("comment", json!({"department": "BAKI-SEBEKE", "comment": text})),
                ("assignee", json!({"department": "BAKI-SEBEKE", "assignee": text})),
                ("department", json!({"department": text})),
            ];
            for (field, body) in assignments {
                let (_, etag) = app.read(&number, &supervisor).await;
                let case = format!("assignment {field} {name}");
                let reply = app.assign(&number, &supervisor, &etag, body).await;
                if found.judge(&case, &reply, field) {
                    let (read, _) = app.read(&number, &supervisor).await;
                    match field {
                        "comment" => found.same(&case, &last_comment(&read), &format!("assigned to BAKI-SEBEKE: {text}")),
                        "assignee" => found.same(&case, &read["work"]["assignee"], &text),
                        _ => found.fail(&case, &format!("accepted: {}", reply.text)),
                    }
                }
            }
        }
        found.finish("staff fields");
    }

    async fn admin_and_callback_fields_take_hostile_text_exactly_or_refuse_it(app) {
        let admin = app.staff_token("admin-01", "admin", None).await;
        let mut found = Findings::default();
        for (name, text) in hostile() {
            let subscriptions = [
                ("description", json!({"url": "http://127.0.0.1:9/hook", "event_types": ["registered"], "secret": "s".repeat(32), "description": text})),
                ("url", json!({"url": format!("http://127.0.0.1:9/{text}"), "event_types": ["registered"], "secret": "s".repeat(32)})),
                ("secret", json!({"url": "http://127.0.0.1:9/hook", "event_types": ["registered"], "secret": format!("{text}{}", "s".repeat(32))})),
                ("event_types[0]", json!({"url": "http://127.0.0.1:9/hook", "event_types": [text], "secret": "s".repeat(32)})),
            ];
            for (field, body) in subscriptions {
                let case = format!("webhook {field} {name}");
                let reply = app.post("/api/v1/webhooks", &admin, body.clone()).await;
                if found.judge(&case, &reply, field) {
                    let id = reply.body["id"].as_i64().unwrap_or_default();
                    let read = app.get(&format!("/api/v1/webhooks/{id}"), Some(&admin)).await;
                    match field {
                        "description" | "url" => {
                            let sent = body[field].as_str().unwrap_or_default();
                            found.same(&case, &reply.body[field], sent);
                            found.same(&format!("{case} (read back)"), &read.body[field], sent);
                        }
                        "secret" => {
                            if read.text.contains(&text) && text.len() > 3 {
                                found.fail(&case, "the secret is shown");
                            }
                        }
                        _ => found.fail(&case, &format!("accepted: {}", reply.text)),
                    }
                }
            }

            // The development token route.
            for (field, body) in [
                ("pin", json!({"pin": text})),
                ("tin", json!({"pin": demo::RESIDENT, "tin": text})),
                ("employee_id", json!({"employee_id": text, "roles": ["supervisor"]})),
                ("department", json!({"employee_id": "op-1", "roles": ["operator"], "department": text})),
            ] {
                let case = format!("dev token {field} {name}");
                let reply = app.request(Method::POST, "/api/v1/dev/tokens", None, Some(body)).await;
                if found.judge(&case, &reply, field) && field != "employee_id" {
                    found.fail(&case, &format!("accepted: {}", reply.text));
                }
                if reply.status == 200 && field == "employee_id" {
                    // The identifier is the staff member's, exactly.
                    let token = reply.body["access_token"].as_str().unwrap_or_default().to_owned();
                    let inbox = app.get("/api/v1/inbox", Some(&token)).await;
                    found.no_server_error(&format!("{case} (used)"), &inbox);
                }
            }
        }
        found.finish("admin fields");
    }

    async fn query_and_path_parameters_are_refused_or_answered_never_a_5xx(app) {
        let owner = app.token(demo::RESIDENT, None).await;
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let admin = app.staff_token("admin-01", "admin", None).await;
        let mut found = Findings::default();
        let draft = app.create(&owner, json!({"kind": "meter-damage-investigation"})).await;
        let number = number_of(&draft);
        let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let mut values: Vec<(String, String)> = hostile()
            .into_iter()
            .filter(|(name, _)| *name != "very-long")
            .map(|(name, text)| (name.to_owned(), encode(&text)))
            .collect();
        values.extend([
            ("percent-nul".to_owned(), "%00".to_owned()),
            ("dot-dot".to_owned(), "..%2F..%2Fetc%2Fpasswd".to_owned()),
            ("bad-percent".to_owned(), "%ZZ%".to_owned()),
            ("not-utf8".to_owned(), "%FF%FE".to_owned()),
            ("lone-surrogate".to_owned(), "%ED%A0%80".to_owned()),
            ("huge-number".to_owned(), "99999999999999999999999".to_owned()),
            ("negative".to_owned(), "-1".to_owned()),
            ("long".to_owned(), "x".repeat(4000)),
        ]);
        // Query parameters: refused naming the parameter, or answered.
        let queries: [(&str, &str, &str); 13] = [
            ("/api/v1/me/applications", "status", "owner"),
            ("/api/v1/me/applications", "cursor", "owner"),
            ("/api/v1/me/applications", "limit", "owner"),
            ("/api/v1/inbox", "district", "operator"),
            ("/api/v1/inbox", "assignee", "operator"),
            ("/api/v1/inbox", "submitted_from", "operator"),
            ("/api/v1/inbox", "page", "operator"),
            ("/api/v1/inbox", "sort", "operator"),
            ("/api/v1/admin/personal-data-reads", "subject", "admin"),
            ("/api/v1/admin/personal-data-reads", "reader", "admin"),
            ("/api/v1/admin/personal-data-reads", "from", "admin"),
            ("/api/v1/admin/delegated-calls", "client", "admin"),
            ("/api/v1/admin/delegated-calls", "applicant", "admin"),
        ];
        for (name, value) in &values {
            for (path, parameter, who) in queries {
                let token = match who { "owner" => &owner, "operator" => &operator, _ => &admin };
                let case = format!("GET {path}?{parameter}= {name}");
                match app.client.get(app.url(&format!("{path}?{parameter}={value}"))).bearer_auth(token).send().await {
                    Ok(response) => { found.judge(&case, &Reply::from(response).await, parameter); }
                    Err(e) => found.fail(&case, &format!("no answer: {e}")),
                }
            }
            // Path parameters: refused, not found, or answered.
            for path in [
                format!("/api/v1/applications/{value}"),
                format!("/api/v1/applications/{number}{value}"),
                format!("/api/v1/applications/{value}/documents"),
                format!("/api/v1/applications/{number}/documents/{value}"),
                format!("/api/v1/me/head-codes/{value}/metering-points"),
                format!("/api/v1/subscriber-accounts/{value}/debt"),
                format!("/api/v1/document-links/{number}/{value}?expires={value}&signature={value}"),
                format!("/api/v1/document-links/{value}/1?expires=1&signature=00"),
                format!("/api/v1/webhooks/{value}"),
                format!("/api/v1/webhooks/1/deliveries/{value}/redeliver"),
                format!("/api/v1/staff/notifications/{value}/retry"),
            ] {
                let token = if path.contains("webhooks") { &admin } else if path.contains("staff/") { &operator } else { &owner };
                let method = if path.ends_with("retry") || path.ends_with("redeliver") { Method::POST } else { Method::GET };
                match app.client.request(method, app.url(&path)).bearer_auth(token).send().await {
                    Ok(response) => found.no_server_error(&path, &Reply::from(response).await),
                    // Longer than the client can send at all (over 64 KiB): nothing to judge.
                    Err(e) if e.is_builder() => {}
                    Err(e) => found.fail(&path.chars().take(120).collect::<String>(), &format!("no answer: {e}")),
                }
            }
        }
        // Service accounts' headers with hostile values.
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": "egov-portal", "roles": ["integrator"], "scope": "applications:read",
            "iss": app.settings.jwt.issuer, "aud": app.settings.jwt.audience, "iat": now, "exp": now + 600});
        let pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE)).unwrap_or_default();
        let key = jsonwebtoken::EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        let integrator = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA), &claims, &key).unwrap_or_default();
        for (name, text) in hostile() {
            for header in ["X-On-Behalf-Of", "X-On-Behalf-Of-Tin", "X-On-Behalf-Of-Login-Method"] {
                // Values no HTTP header can carry (line breaks, NUL) are not sent at all.
                let Ok(value) = reqwest::header::HeaderValue::from_bytes(text.as_bytes()) else { continue };
                let mut request = app.client.get(app.url("/api/v1/me")).bearer_auth(&integrator);
                for (name, default) in [("X-On-Behalf-Of", demo::RESIDENT), ("X-On-Behalf-Of-Login-Method", "asan-imza")] {
                    if name != header {
                        request = request.header(name, default);
                    }
                }
                let reply = Reply::from(request.header(header, value).send().await.unwrap_or_else(|e| panic!("{e}"))).await;
                let case = format!("{header} {name}");
                if found.judge(&case, &reply, header) {
                    found.fail(&case, &format!("accepted: {}", reply.text));
                }
            }
            let reply = Reply::from(app.client.get(app.url("/api/v1/services"))
                .header("Accept-Language", reqwest::header::HeaderValue::from_bytes(text.as_bytes()).unwrap_or(reqwest::header::HeaderValue::from_static("x")))
                .send().await.unwrap_or_else(|e| panic!("{e}"))).await;
            found.no_server_error(&format!("Accept-Language {name}"), &reply);
        }
        found.finish("parameters");
    }

    async fn raw_bodies_that_are_not_utf8_or_hold_lone_surrogates(app) {
        let owner = app.token(demo::RESIDENT, None).await;
        let mut found = Findings::default();
        let raw: [(&str, Vec<u8>); 9] = [
            ("lone leading surrogate", br#"{"kind": "meter-damage-investigation", "damage_description": "a\ud800b"}"#.to_vec()),
            ("lone trailing surrogate", br#"{"kind": "meter-damage-investigation", "damage_description": "a\udc00b"}"#.to_vec()),
            ("reversed pair", br#"{"kind": "meter-damage-investigation", "damage_description": "\ude00\ud83d"}"#.to_vec()),
            ("invalid UTF-8", b"{\"kind\": \"meter-damage-investigation\", \"damage_description\": \"a\xff\xfeb\"}".to_vec()),
            ("overlong UTF-8", b"{\"kind\": \"meter-damage-investigation\", \"damage_description\": \"\xc0\xaf\"}".to_vec()),
            ("encoded surrogate", b"{\"kind\": \"meter-damage-investigation\", \"damage_description\": \"\xed\xa0\x80\"}".to_vec()),
            ("truncated UTF-8", b"{\"kind\": \"meter-damage-investigation\", \"damage_description\": \"\xc9\"}".to_vec()),
            ("escaped NUL", br#"{"kind": "meter-damage-investigation", "damage_description": "a\u0000b"}"#.to_vec()),
            ("raw control", b"{\"kind\": \"meter-damage-investigation\", \"damage_description\": \"a\x01b\"}".to_vec()),
        ];
        let before = app.my_application_count(&owner).await;
        for (name, body) in raw {
            let reply = app.send_raw(Method::POST, "/api/v1/applications", &owner, "application/json", body).await;
            if found.judge(name, &reply, "damage_description") {
                found.fail(name, &format!("accepted: {}", reply.text));
            }
        }
        // A surrogate pair is one character, stored as such.
        let pair = app.send_raw(Method::POST, "/api/v1/applications", &owner, "application/json",
            br#"{"kind": "meter-damage-investigation", "damage_description": "\ud83d\ude00 \u0259"}"#.to_vec()).await;
        if found.judge("surrogate pair", &pair, "damage_description") {
            found.same("surrogate pair", &pair.body["damage_description"], "😀 ə");
        }
        assert_eq!(app.my_application_count(&owner).await, before + u64::from(pair.status == 201));
        // A megabyte: beyond the body limit, refused before it is read.
        let megabyte = json!({"kind": "meter-damage-investigation", "damage_description": "ə".repeat(512 * 1024)});
        let reply = app.create(&owner, megabyte).await;
        found.judge("a megabyte", &reply, "damage_description");
        if reply.status != 413 {
            found.fail("a megabyte", &format!("{} {}", reply.status, reply.text));
        }
        found.finish("raw bodies");
    }
}

on_both_backends! {
    async fn limits_are_counted_in_characters_not_bytes(app) {
        // At the documented maxLength in two-byte letters: taken whole; one more: refused.
        let owner = app.token(demo::RESIDENT, None).await;
        let operator = app.staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE")).await;
        let supervisor = app.staff_token("sup-1", "supervisor", None).await;
        let admin = app.staff_token("admin-01", "admin", None).await;
        let at = |n: usize| "ə".repeat(n);

        let created = app.create(&owner, json!({"kind": "meter-damage-investigation", "damage_description": at(2000)})).await;
        assert_eq!(created.assert_status(201)["damage_description"], json!(at(2000)));
        let over = app.create(&owner, json!({"kind": "meter-damage-investigation", "damage_description": at(2001)})).await;
        over.assert_problem(422, "validation-failed");
        assert_eq!(over.fields_at_fault(), ["damage_description"]);

        // The one documented change: white space at either end goes; inside, all stays.
        let padded = app.create(&owner, json!({"kind": "meter-damage-investigation", "damage_description": " \t ə\n\n  ğ \r\n"})).await;
        assert_eq!(padded.assert_status(201)["damage_description"], json!("ə\n\n  ğ"));

        let draft = app.create(&owner, json!({"kind": "account-change"})).await;
        let cancel = format!("/api/v1/applications/{}/cancel", number_of(&draft));
        app.post(&cancel, &owner, json!({"reason": at(501)})).await.assert_problem(422, "validation-failed");
        let cancelled = app.post(&cancel, &owner, json!({"reason": at(500)})).await;
        assert_eq!(last_comment(cancelled.assert_status(200)), json!(at(500)));

        let mut current = None;
        let number = submitted(&app, &mut current).await;
        let (_, etag) = app.read(&number, &supervisor).await;
        let over = app.assign(&number, &supervisor, &etag, json!({"department": "BAKI-SEBEKE", "assignee": at(65)})).await;
        over.assert_problem(422, "validation-failed");
        assert_eq!(over.fields_at_fault(), ["assignee"]);
        let assigned = app.assign(&number, &supervisor, &etag, json!({"department": "BAKI-SEBEKE", "assignee": at(64)})).await;
        assert_eq!(assigned.assert_status(200)["work"]["assignee"], json!(at(64)));
        app.get(&format!("/api/v1/inbox?assignee={}", at(65)), Some(&supervisor)).await
            .assert_problem(400, "invalid-query-parameter");
        let inbox = app.get(&format!("/api/v1/inbox?assignee={}", at(64)), Some(&supervisor)).await;
        assert_eq!(inbox.assert_status(200)["items"][0]["number"], json!(number));
        let (_, etag) = app.read(&number, &operator).await;
        let commented = app.act(&number, &operator, Some(&etag), json!({"action": "reject", "reason": at(2000), "comment": at(2000)})).await;
        assert_eq!(last_comment(commented.assert_status(200)), json!(at(2000)));

        let hook = |description: String| json!({"url": "http://127.0.0.1:9/hook", "event_types": ["registered"], "secret": at(32), "description": description});
        app.post("/api/v1/webhooks", &admin, hook(at(501))).await.assert_problem(422, "validation-failed");
        let created = app.post("/api/v1/webhooks", &admin, hook(at(500))).await;
        assert_eq!(created.assert_status(201)["description"], json!(at(500)));

        // A staff member's identifier of 64 letters is one (the token's subject).
        let long_id = app.staff_token(&at(64), "operator", Some("BAKI-SEBEKE")).await;
        app.get("/api/v1/inbox", Some(&long_id)).await.assert_status(200);
    }
}
