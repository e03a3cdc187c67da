//! Who may call what: every operation of the OpenAPI document the service builds has a row in
//! `TABLE`, and every operation is called by every kind of caller. Callers not allowed get 401
//! (no or a bad token) or 403 (wrong role or scope), or 404 where the policy is that another's
//! object does not exist for them; allowed callers never get 401 or 403. A new operation without
//! a row, or a row without an operation, fails the test.

use eservices_tests::{Backend, Reply, TestApp, demo, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No `Authorization` header.
    Anonymous,
    /// A bearer token that is not a JWT.
    BadToken,
    /// The applicant who made the applications used (RESIDENT).
    Owner,
    /// Another applicant (NOBODY).
    Stranger,
    /// A representative signed in for their business (BUSINESS).
    Representative,
    /// The representative of another business (OTHER_BUSINESS).
    OtherBusiness,
    /// An operator of the department the applications are routed to (BAKI-SEBEKE).
    OperatorHere,
    /// An operator of another department (SUMQAYIT-SEBEKE).
    OperatorElsewhere,
    Supervisor,
    Admin,
    /// A service account with `applications:read`, for the owner.
    IntegratorRead,
    /// A service account with `applications:write` only, for the owner.
    IntegratorWrite,
    /// A service account with both scopes, for the stranger.
    IntegratorForStranger,
    /// The SMS gateway's shared token.
    SmsGateway,
}

const CALLERS: [Who; 14] = [
    Who::Anonymous,
    Who::BadToken,
    Who::Owner,
    Who::Stranger,
    Who::Representative,
    Who::OtherBusiness,
    Who::OperatorHere,
    Who::OperatorElsewhere,
    Who::Supervisor,
    Who::Admin,
    Who::IntegratorRead,
    Who::IntegratorWrite,
    Who::IntegratorForStranger,
    Who::SmsGateway,
];

/// The policies of the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Anyone, with or without a token.
    Public,
    /// Any applicant, for their own data (and service accounts with the read scope for them).
    ApplicantReads,
    /// Applicants signed in for a business, for their business's data.
    BusinessReads,
    /// The same, about one head code: another business's does not exist for them.
    HeadCodeReads,
    /// Any applicant (and service accounts with the write scope) makes an application.
    ApplicantCreates,
    /// The applicant who made the application (or a service account with the write scope for
    /// them); to anyone else it does not exist.
    OwnerChanges,
    /// The owner, the staff who may see it (operators of its department, supervisors) and
    /// service accounts with the read scope for the owner.
    ApplicationReads,
    /// The staff, each in their own scope.
    Staff,
    /// Operators of the application's department and supervisors.
    StaffActs,
    /// Supervisors only; an operator of another department does not see the application.
    SupervisorAssigns,
    /// Operators of the message's department and supervisors.
    StaffRetries,
    Admin,
    /// The SMS gateway's token only.
    Gateway,
}

/// Every operation and its policy.
const TABLE: &[(&str, &str, Policy)] = &[
    ("GET", "/health", Policy::Public),
    ("GET", "/health/live", Policy::Public),
    ("GET", "/health/ready", Policy::Public),
    // Open in development without METRICS_TOKEN (observability.rs tests the token).
    ("GET", "/metrics", Policy::Public),
    ("GET", "/api/v1/services", Policy::Public),
    ("GET", "/api/v1/districts", Policy::Public),
    ("GET", "/api/v1/me", Policy::ApplicantReads),
    (
        "GET",
        "/api/v1/me/subscriber-accounts",
        Policy::ApplicantReads,
    ),
    ("GET", "/api/v1/me/head-codes", Policy::BusinessReads),
    (
        "GET",
        "/api/v1/me/head-codes/{head_code}/metering-points",
        Policy::HeadCodeReads,
    ),
    (
        "GET",
        "/api/v1/subscriber-accounts/{code}/debt",
        Policy::ApplicantReads,
    ),
    ("GET", "/api/v1/me/applications", Policy::ApplicantReads),
    ("POST", "/api/v1/applications", Policy::ApplicantCreates),
    (
        "GET",
        "/api/v1/applications/{number}",
        Policy::ApplicationReads,
    ),
    (
        "PATCH",
        "/api/v1/applications/{number}",
        Policy::OwnerChanges,
    ),
    (
        "POST",
        "/api/v1/applications/{number}/submit",
        Policy::OwnerChanges,
    ),
    (
        "POST",
        "/api/v1/applications/{number}/cancel",
        Policy::OwnerChanges,
    ),
    (
        "PUT",
        "/api/v1/applications/{number}/language",
        Policy::OwnerChanges,
    ),
    ("GET", "/api/v1/inbox", Policy::Staff),
    ("GET", "/api/v1/inbox/counts", Policy::Staff),
    ("GET", "/api/v1/departments", Policy::Staff),
    (
        "POST",
        "/api/v1/applications/{number}/actions",
        Policy::StaffActs,
    ),
    (
        "POST",
        "/api/v1/applications/{number}/assignment",
        Policy::SupervisorAssigns,
    ),
    ("GET", "/api/v1/staff/notifications/failed", Policy::Staff),
    (
        "POST",
        "/api/v1/staff/notifications/{id}/retry",
        Policy::StaffRetries,
    ),
    ("POST", "/api/v1/callbacks/sms-delivery", Policy::Gateway),
    ("GET", "/api/v1/webhooks", Policy::Admin),
    ("POST", "/api/v1/webhooks", Policy::Admin),
    ("GET", "/api/v1/webhooks/{id}", Policy::Admin),
    ("DELETE", "/api/v1/webhooks/{id}", Policy::Admin),
    ("GET", "/api/v1/webhooks/{id}/deliveries", Policy::Admin),
    (
        "POST",
        "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
        Policy::Admin,
    ),
    ("GET", "/api/v1/admin/personal-data-reads", Policy::Admin),
    ("GET", "/api/v1/admin/delegated-calls", Policy::Admin),
    (
        "GET",
        "/api/v1/applications/{number}/documents",
        Policy::ApplicationReads,
    ),
    (
        "GET",
        "/api/v1/applications/{number}/documents/{id}",
        Policy::ApplicationReads,
    ),
    (
        "GET",
        "/api/v1/document-links/{number}/{id}",
        Policy::Public,
    ),
    ("POST", "/api/v1/dev/tokens", Policy::Public),
];

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Never 401 or 403, never a 5xx, and never the policy's "not found" of the object.
    Allow,
    /// 401 `unauthenticated`.
    Unauthenticated,
    /// 403 with this code.
    Forbidden(&'static str),
    /// 404 with this code: the object does not exist for this caller.
    Hidden(&'static str),
}

const ROLE: Rule = Rule::Forbidden("forbidden-role");
const SCOPE: Rule = Rule::Forbidden("insufficient-scope");
const NOT_YOURS: Rule = Rule::Hidden("application-not-found");

fn rule(policy: Policy, who: Who) -> Rule {
    use Who as W;
    if policy == Policy::Public {
        return Rule::Allow;
    }
    if policy == Policy::Gateway {
        return if who == W::SmsGateway {
            Rule::Allow
        } else {
            Rule::Unauthenticated
        };
    }
    if matches!(who, W::Anonymous | W::BadToken | W::SmsGateway) {
        return Rule::Unauthenticated;
    }
    let applicant = matches!(
        who,
        W::Owner | W::Stranger | W::Representative | W::OtherBusiness
    );
    let staff = matches!(who, W::OperatorHere | W::OperatorElsewhere | W::Supervisor);
    let integrator = matches!(
        who,
        W::IntegratorRead | W::IntegratorWrite | W::IntegratorForStranger
    );
    match policy {
        Policy::Public | Policy::Gateway => Rule::Allow,
        Policy::ApplicantReads => match who {
            W::IntegratorWrite => SCOPE,
            _ if applicant || integrator => Rule::Allow,
            _ => ROLE,
        },
        Policy::BusinessReads | Policy::HeadCodeReads => match who {
            W::IntegratorWrite => SCOPE,
            W::Representative => Rule::Allow,
            W::OtherBusiness if policy == Policy::BusinessReads => Rule::Allow,
            // Signed in for a business, but the head code is another business's.
            W::OtherBusiness => Rule::Hidden("head-code-not-found"),
            _ if applicant || integrator => Rule::Forbidden("business-required"),
            _ => ROLE,
        },
        Policy::ApplicantCreates => match who {
            W::IntegratorRead => SCOPE,
            _ if applicant || integrator => Rule::Allow,
            _ => ROLE,
        },
        Policy::OwnerChanges => match who {
            W::Owner | W::IntegratorWrite => Rule::Allow,
            W::IntegratorRead => SCOPE,
            _ if applicant || integrator => NOT_YOURS,
            _ => ROLE,
        },
        Policy::ApplicationReads => match who {
            W::Owner | W::IntegratorRead | W::OperatorHere | W::Supervisor => Rule::Allow,
            W::IntegratorWrite => SCOPE,
            _ if applicant || integrator || staff => NOT_YOURS,
            _ => ROLE,
        },
        Policy::Staff => {
            if staff {
                Rule::Allow
            } else {
                ROLE
            }
        }
        Policy::StaffActs => match who {
            W::OperatorHere | W::Supervisor => Rule::Allow,
            W::OperatorElsewhere => NOT_YOURS,
            _ => ROLE,
        },
        Policy::SupervisorAssigns => match who {
            W::Supervisor => Rule::Allow,
            W::OperatorElsewhere => NOT_YOURS,
            _ => ROLE,
        },
        Policy::StaffRetries => match who {
            W::OperatorHere | W::Supervisor => Rule::Allow,
            W::OperatorElsewhere => Rule::Hidden("message-not-found"),
            _ => ROLE,
        },
        Policy::Admin => {
            if who == W::Admin {
                Rule::Allow
            } else {
                ROLE
            }
        }
    }
}

/// The "not found" an allowed caller must never get, per policy.
fn hidden_code(policy: Policy) -> Option<&'static str> {
    match policy {
        Policy::OwnerChanges
        | Policy::ApplicationReads
        | Policy::StaffActs
        | Policy::SupervisorAssigns => Some("application-not-found"),
        Policy::StaffRetries => Some("message-not-found"),
        Policy::HeadCodeReads => Some("head-code-not-found"),
        Policy::Admin => Some("webhook-subscription-not-found"),
        _ => None,
    }
}

/// The operations of the document the service serves in development mode (the mode of the test
/// servers; production's is the same less the development routes).
fn operations() -> BTreeSet<(String, String)> {
    let api = api::openapi::openapi(api::config::Mode::Development);
    let mut all = BTreeSet::new();
    for (template, item) in &api.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
            ("HEAD", item.head.is_some()),
            ("OPTIONS", item.options.is_some()),
            ("TRACE", item.trace.is_some()),
        ];
        for (method, present) in methods {
            if present {
                all.insert((method.to_owned(), template.clone()));
            }
        }
    }
    all
}

#[test]
fn every_operation_has_a_row_and_every_row_an_operation() {
    let served = operations();
    let listed: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(listed.len(), TABLE.len(), "a row is repeated");
    let without_row: Vec<_> = served.difference(&listed).collect();
    let without_operation: Vec<_> = listed.difference(&served).collect();
    assert!(
        without_row.is_empty(),
        "operations without a row in route_roles::TABLE: {without_row:?}"
    );
    assert!(
        without_operation.is_empty(),
        "rows of route_roles::TABLE naming no operation: {without_operation:?}"
    );
}

const GATEWAY_TOKEN: &str = "gateway-shared-token-0123456789abcdef";

/// The objects the operations are called on.
struct World {
    tokens: Vec<(Who, Option<String>)>,
    /// A submitted meter damage application of the owner, in BAKI-SEBEKE.
    submitted: String,
    /// A completed one of the owner, with its inspection result document.
    completed: String,
    document: i64,
    signed_url: String,
    /// An SMS about the submitted application (queued: the dispatcher is off).
    message: i64,
    subscription: i64,
    /// Another subscription, for the DELETE.
    doomed_subscription: i64,
    delivery: i64,
}

fn service_account_token(app: &TestApp, scope: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "egov-portal", "roles": ["integrator"], "scope": scope,
        "iss": app.settings.jwt.issuer, "aud": app.settings.jwt.audience, "iat": now, "exp": now + 3600});
    let pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE))
        .unwrap_or_default();
    let key = EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn on_behalf_of(who: Who) -> Option<&'static str> {
    match who {
        Who::IntegratorRead | Who::IntegratorWrite => Some(demo::RESIDENT),
        Who::IntegratorForStranger => Some(demo::NOBODY),
        _ => None,
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: Who,
    world_tokens: &[(Who, Option<String>)],
    headers: &[(&str, String)],
    body: Option<Value>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path));
    let token = world_tokens
        .iter()
        .find(|(w, _)| *w == who)
        .and_then(|(_, t)| t.clone());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(pin) = on_behalf_of(who) {
        request = request
            .header("X-On-Behalf-Of", pin)
            .header("X-On-Behalf-Of-Login-Method", "asan-imza");
    }
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Reply::from(
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}")),
    )
    .await
}

async fn submit_meter_damage(app: &TestApp, owner: &str, code: &str) -> String {
    let reply = app
        .create(
            owner,
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

async fn build_world(app: &TestApp) -> World {
    let owner = app.token(demo::RESIDENT, None).await;
    let supervisor = app.staff_token("sup-1", "supervisor", None).await;
    let operator = app
        .staff_token("op-baku-1", "operator", Some("BAKI-SEBEKE"))
        .await;
    let admin = app.staff_token("admin-01", "admin", None).await;

    // Subscriptions first, so that the submissions below are delivered to them.
    let closed = eservices_tests::fakes::free_port();
    let mut subscriptions = Vec::new();
    for _ in 0..2 {
        let created = app
            .post(
                "/api/v1/webhooks",
                &admin,
                json!({"url": format!("http://127.0.0.1:{closed}/hook"), "event_types": ["registered"],
                    "secret": "s".repeat(32)}),
            )
            .await;
        subscriptions.push(
            created.assert_status(201)["id"]
                .as_i64()
                .unwrap_or_default(),
        );
    }

    let submitted = submit_meter_damage(app, &owner, "1000000001").await;
    let completed = submit_meter_damage(app, &owner, "1000000002").await;
    let step = |body: Value| {
        let number = completed.clone();
        let operator = operator.clone();
        async move {
            let (_, etag) = app.read(&number, &operator).await;
            app.act(&number, &operator, Some(&etag), body)
                .await
                .assert_status(200);
        }
    };
    step(json!({"action": "accept"})).await;
    step(json!({"action": "schedule-inspection", "visit": {"date": eservices_tests::next_working_day(), "from": "10:00:00", "to": "13:00:00"}})).await;
    step(json!({"action": "record-inspection", "findings": {"damage_found": false, "act_number": "AKT-1", "readings": []}})).await;
    step(json!({"action": "complete", "result": "Sayğac qaydasındadır."})).await;
    let documents = app
        .get(
            &format!("/api/v1/applications/{completed}/documents"),
            Some(&owner),
        )
        .await;
    let document = documents.assert_status(200)[0].clone();

    let (read, _) = app.read(&submitted, &supervisor).await;
    let message = read["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["notifications"].as_array().cloned().unwrap_or_default())
        .find(|n| n["channel"] == json!("sms"))
        .and_then(|n| n["id"].as_i64())
        .unwrap_or_else(|| panic!("no SMS about {submitted}: {read}"));
    let deliveries = app
        .get(
            &format!("/api/v1/webhooks/{}/deliveries", subscriptions[0]),
            Some(&admin),
        )
        .await;
    let delivery = deliveries.assert_status(200)[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no delivery: {}", deliveries.text));

    let tokens = vec![
        (Who::Anonymous, None),
        (Who::BadToken, Some("not-a-jwt".to_owned())),
        (Who::Owner, Some(owner)),
        (Who::Stranger, Some(app.token(demo::NOBODY, None).await)),
        (
            Who::Representative,
            Some(
                app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS))
                    .await,
            ),
        ),
        (
            Who::OtherBusiness,
            Some(
                app.token(demo::OTHER_REPRESENTATIVE, Some(demo::OTHER_BUSINESS))
                    .await,
            ),
        ),
        (Who::OperatorHere, Some(operator)),
        (
            Who::OperatorElsewhere,
            Some(
                app.staff_token("op-sumqayit-1", "operator", Some("SUMQAYIT-SEBEKE"))
                    .await,
            ),
        ),
        (Who::Supervisor, Some(supervisor)),
        (Who::Admin, Some(admin)),
        (
            Who::IntegratorRead,
            Some(service_account_token(app, "applications:read")),
        ),
        (
            Who::IntegratorWrite,
            Some(service_account_token(app, "applications:write")),
        ),
        (
            Who::IntegratorForStranger,
            Some(service_account_token(
                app,
                "applications:read applications:write",
            )),
        ),
        (Who::SmsGateway, Some(GATEWAY_TOKEN.to_owned())),
    ];
    World {
        tokens,
        submitted,
        completed,
        document: document["id"].as_i64().unwrap_or_default(),
        signed_url: document["signed_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        message,
        subscription: subscriptions[0],
        doomed_subscription: subscriptions[1],
        delivery,
    }
}

/// The path of an operation with its parameters filled with the world's objects.
fn fill(world: &World, method: &str, template: &str) -> String {
    if template == "/api/v1/document-links/{number}/{id}" {
        return world.signed_url.clone();
    }
    let documents = template.starts_with("/api/v1/applications/{number}/documents");
    let number = if documents {
        &world.completed
    } else {
        &world.submitted
    };
    let id = if documents {
        world.document
    } else if template.starts_with("/api/v1/staff/notifications/") {
        world.message
    } else if template.starts_with("/api/v1/webhooks/") {
        if method == "DELETE" {
            world.doomed_subscription
        } else {
            world.subscription
        }
    } else {
        0
    };
    let path = template
        .replace("{number}", number)
        .replace("{head_code}", "50000001")
        .replace("{code}", "1000000001")
        .replace("{delivery}", &world.delivery.to_string())
        .replace("{id}", &id.to_string());
    assert!(
        !path.contains('{') && !path.ends_with("/0") && !path.contains("/0/"),
        "no value for a parameter of {method} {template}: give one in route_roles::fill"
    );
    path
}

/// A body with which an allowed caller reaches the operation's decision (and changes as little
/// as possible).
fn body_of(method: &str, template: &str) -> Option<Value> {
    Some(match (method, template) {
        ("POST", "/api/v1/applications") => json!({"kind": "account-change"}),
        ("PATCH", "/api/v1/applications/{number}") => json!({"damage_description": "Yoxlama."}),
        ("POST", "/api/v1/applications/{number}/cancel") => json!({"reason": "Lazım deyil."}),
        ("PUT", "/api/v1/applications/{number}/language") => json!({"language": "ru"}),
        // Not possible while submitted: a 409 once the caller is let in, and nothing changes.
        ("POST", "/api/v1/applications/{number}/actions") => {
            json!({"action": "complete", "result": "Yoxlandı."})
        }
        // No such department: a 422 once the caller is let in, and nothing changes.
        ("POST", "/api/v1/applications/{number}/assignment") => {
            json!({"department": "NOWHERE-SEBEKE"})
        }
        ("POST", "/api/v1/callbacks/sms-delivery") => {
            json!({"reference": "gw-none", "status": "delivered"})
        }
        ("POST", "/api/v1/webhooks") => json!({"url": "http://127.0.0.1:9/hook",
            "event_types": ["approved"], "secret": "t".repeat(32)}),
        ("POST", "/api/v1/dev/tokens") => json!({"pin": demo::RESIDENT}),
        _ => return None,
    })
}

/// The version and status of the submitted application, as the supervisor reads them.
async fn state_of(app: &TestApp, world: &World, number: &str) -> (Value, Value) {
    let supervisor = world
        .tokens
        .iter()
        .find(|(w, _)| *w == Who::Supervisor)
        .and_then(|(_, t)| t.clone())
        .unwrap_or_default();
    let (read, _) = app.read(number, &supervisor).await;
    (read["version"].clone(), read["status"].clone())
}

async fn sweep(app: TestApp) {
    let world = build_world(&app).await;
    let served = operations();
    let mut pairs = 0;
    let mut failures = Vec::new();
    for (method, template) in &served {
        let policy = TABLE
            .iter()
            .find(|(m, p, _)| m == method && p == template)
            .map(|(_, _, policy)| *policy)
            .unwrap_or_else(|| panic!("{method} {template} has no row"));
        let path = fill(&world, method, template);
        // Refused callers first, so that they meet the objects as the allowed ones left them
        // least; then the allowed ones.
        let mut order: Vec<Who> = CALLERS
            .iter()
            .copied()
            .filter(|w| rule(policy, *w) != Rule::Allow)
            .collect();
        order.extend(
            CALLERS
                .iter()
                .copied()
                .filter(|w| rule(policy, *w) == Rule::Allow),
        );
        let number = template
            .contains("{number}")
            .then(|| path.split('/').nth(4).unwrap_or_default().to_owned());
        for who in order {
            let expected = rule(policy, who);
            let mut headers = Vec::new();
            if template.ends_with("/actions") || template.ends_with("/assignment") {
                let supervisor = world
                    .tokens
                    .iter()
                    .find(|(w, _)| *w == Who::Supervisor)
                    .and_then(|(_, t)| t.clone())
                    .unwrap_or_default();
                let number = number.clone().unwrap_or_default();
                headers.push(("If-Match", app.read(&number, &supervisor).await.1));
            }
            let before = match (&number, method.as_str(), expected) {
                (Some(n), "POST" | "PATCH" | "PUT" | "DELETE", rule) if rule != Rule::Allow => {
                    Some(state_of(&app, &world, n).await)
                }
                _ => None,
            };
            let method_value =
                Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{method}: {e}"));
            let reply = send(
                &app,
                method_value,
                &path,
                who,
                &world.tokens,
                &headers,
                body_of(method, template),
            )
            .await;
            pairs += 1;
            let code = reply.body["code"].as_str().unwrap_or_default().to_owned();
            let ok = match expected {
                Rule::Allow => {
                    reply.status != 401
                        && reply.status != 403
                        && reply.status < 500
                        && !(reply.status == 404 && Some(code.as_str()) == hidden_code(policy))
                }
                Rule::Unauthenticated => reply.status == 401 && code == "unauthenticated",
                Rule::Forbidden(expected_code) => reply.status == 403 && code == expected_code,
                Rule::Hidden(expected_code) => reply.status == 404 && code == expected_code,
            };
            if !ok {
                failures.push(format!(
                    "{method} {template} by {who:?}: expected {expected:?}, got {} {}",
                    reply.status,
                    reply.text.chars().take(300).collect::<String>()
                ));
            }
            if reply.status >= 400 && reply.content_type() != "application/problem+json" {
                failures.push(format!(
                    "{method} {template} by {who:?}: a {} that is not a problem: {}",
                    reply.status, reply.text
                ));
            }
            if let (Some(before), Some(n)) = (before, &number) {
                let after = state_of(&app, &world, n).await;
                if after != before {
                    failures.push(format!(
                        "{method} {template} by {who:?} was refused but changed {n}: {before:?} -> {after:?}"
                    ));
                }
            }
        }
    }
    // The objects of the sweep are in one department's view and not in another's.
    let token = |who: Who| {
        world
            .tokens
            .iter()
            .find(|(w, _)| *w == who)
            .and_then(|(_, t)| t.clone())
            .unwrap_or_default()
    };
    let elsewhere = app
        .get("/api/v1/inbox", Some(&token(Who::OperatorElsewhere)))
        .await;
    let listed = elsewhere.assert_status(200).to_string();
    assert!(
        !listed.contains(&world.submitted) && !listed.contains(&world.completed),
        "another department's inbox lists them: {listed}"
    );
    let here = app
        .get("/api/v1/inbox", Some(&token(Who::OperatorHere)))
        .await;
    assert!(
        here.assert_status(200)
            .to_string()
            .contains(&world.submitted)
    );
    let stranger_list = app
        .get("/api/v1/me/applications", Some(&token(Who::Stranger)))
        .await;
    assert!(
        !stranger_list
            .assert_status(200)
            .to_string()
            .contains(&world.submitted)
    );
    eprintln!(
        "route roles: {} operations, {pairs} (operation, caller) pairs checked",
        served.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {pairs} calls broke the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const OVERRIDES: [(&str, &str); 2] = [
    ("DISPATCHER", "off"),
    ("SMS_DELIVERY_REPORT_TOKEN", GATEWAY_TOKEN),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_by_every_caller_sqlite() {
    let Some(app) = spawn_app_with(Backend::Sqlite, &OVERRIDES).await else {
        return;
    };
    sweep(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_by_every_caller_postgres() {
    let Some(app) = spawn_app_with(Backend::Postgres, &OVERRIDES).await else {
        eprintln!("TEST_DATABASE_URL is not set: the PostgreSQL run is skipped");
        return;
    };
    sweep(app).await;
}

/// A token for the resident with this header (`kid` and all), signed with `key`.
fn with_header(key: &EncodingKey, header: &Header, issuer: &str, audience: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": demo::RESIDENT, "amr": ["asan-imza"], "iss": issuer, "aud": audience,
        "iat": now, "exp": now + 600});
    jsonwebtoken::encode(header, &claims, key).unwrap_or_else(|e| panic!("{e}"))
}

fn header_with_kid(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header
}

/// `kid`s that name no key: made up, empty, huge, path-like, with control characters.
fn unknown_kids() -> Vec<String> {
    vec![
        "no-such-key".to_owned(),
        String::new(),
        "k".repeat(201),
        "k".repeat(20_000),
        "../../../../etc/passwd".to_owned(),
        "' OR 1=1 --".to_owned(),
        "k1\u{0}".to_owned(),
        "k1\u{1b}[2J".to_owned(),
        "kid-ə-😀".to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_jwks_a_kid_it_does_not_list_is_a_401() {
    use crate::jwks::{AUDIENCE, FakeJwks, ISSUER, ed25519_key};
    let (key, jwk) = ed25519_key("k1");
    let jwks = FakeJwks::start(vec![jwk]).await;
    let overrides = [
        ("JWT_JWKS_URL", jwks.url.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        return;
    };
    let good = with_header(&key, &header_with_kid("k1"), ISSUER, AUDIENCE);
    app.get("/api/v1/me", Some(&good)).await.assert_status(200);
    for kid in unknown_kids() {
        // Signed by the listed key, but naming another: the key it names decides.
        let token = with_header(&key, &header_with_kid(&kid), ISSUER, AUDIENCE);
        let reply = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (401, json!("unauthenticated")),
            "kid {:?}: {}",
            kid.chars().take(40).collect::<String>(),
            reply.text
        );
    }
    // A kid that is not a string at all.
    let payload = with_header(&key, &header_with_kid("k1"), ISSUER, AUDIENCE);
    let rest = payload.split_once('.').map(|(_, r)| r).unwrap_or_default();
    for header in [
        r#"{"alg":"EdDSA","kid":17}"#,
        r#"{"alg":"EdDSA","kid":null}"#,
        r#"{"alg":"EdDSA","kid":["k1"]}"#,
    ] {
        let token = format!(
            "{}.{rest}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        );
        app.get("/api/v1/me", Some(&token))
            .await
            .assert_problem(401, "unauthenticated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_jwks_the_kid_is_not_looked_at() {
    // The policy (auth.rs): one key from a file verifies every token; a `kid` chooses nothing.
    // So a token of that key is good whatever its kid says, and one of another key is bad.
    let Some(app) = spawn_app_with(Backend::Sqlite, &[]).await else {
        return;
    };
    let issuer = app.settings.jwt.issuer.clone();
    let audience = app.settings.jwt.audience.clone();
    let pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE))
        .unwrap_or_default();
    let ours = EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
    let (theirs, _) = crate::jwks::ed25519_key("k1");
    for kid in unknown_kids() {
        let shown = kid.chars().take(40).collect::<String>();
        let good = with_header(&ours, &header_with_kid(&kid), &issuer, &audience);
        let reply = app.get("/api/v1/me", Some(&good)).await;
        assert_eq!(reply.status, 200, "kid {shown:?}: {}", reply.text);
        let foreign = with_header(&theirs, &header_with_kid(&kid), &issuer, &audience);
        let reply = app.get("/api/v1/me", Some(&foreign)).await;
        assert_eq!(
            (reply.status, reply.body["code"].clone()),
            (401, json!("unauthenticated")),
            "kid {shown:?}: {}",
            reply.text
        );
    }
}

eservices_tests::on_both_backends! {
    async fn a_person_and_the_business_they_act_for_keep_their_applications_apart(app) {
        // An application belongs to the person and the business they signed in for, together
        // (Application::belongs_to): the same person in another capacity does not see it.
        let for_business = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let as_person = app.token(demo::BUSINESS_REPRESENTATIVE, None).await;
        let other_business = app.token(demo::OTHER_REPRESENTATIVE, Some(demo::OTHER_BUSINESS)).await;
        let business_draft = app.create(&for_business, json!({"kind": "meter-damage-investigation"})).await;
        let personal_draft = app.create(&as_person, json!({"kind": "meter-damage-investigation"})).await;
        let path = |reply: &Reply| format!("/api/v1/applications/{}", reply.body["number"].as_str().unwrap_or_default());
        for (owner, path, others) in [
            (&for_business, path(&business_draft), [&as_person, &other_business]),
            (&as_person, path(&personal_draft), [&for_business, &other_business]),
        ] {
            app.get(&path, Some(owner)).await.assert_status(200);
            for other in others {
                app.get(&path, Some(other)).await.assert_problem(404, "application-not-found");
                app.patch(&path, other, json!({"damage_description": "x"})).await.assert_problem(404, "application-not-found");
                app.get(&format!("{path}/documents"), Some(other)).await.assert_problem(404, "application-not-found");
                app.post(&format!("{path}/cancel"), other, json!({})).await.assert_problem(404, "application-not-found");
            }
            assert_eq!(app.get(&path, Some(owner)).await.body["status"], json!("draft"));
        }
        assert_eq!(app.my_application_count(&for_business).await, 1);
        assert_eq!(app.my_application_count(&as_person).await, 1);
        assert_eq!(app.my_application_count(&other_business).await, 0);

        // A person's token with a service account's headers is still that person.
        let resident = app.token(demo::RESIDENT, None).await;
        let request = app.client.get(app.url("/api/v1/me")).bearer_auth(&resident)
            .header("X-On-Behalf-Of", demo::NOBODY)
            .header("X-On-Behalf-Of-Login-Method", "password");
        let reply = Reply::from(request.send().await.unwrap_or_else(|e| panic!("{e}"))).await;
        assert_eq!(reply.assert_status(200)["pin"], json!(demo::RESIDENT));
    }
}
