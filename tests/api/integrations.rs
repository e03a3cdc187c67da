//! The HTTP adapters of the registries and billing, against a local server that plays them
//! (tests/src/outside.rs): each call, each failure (slow, 5xx, nonsense, unknown record, wrong
//! token), the circuit breaker, and a whole application submitted through them.

use domain::codes::{HeadCode, MeteringPointCode, SubscriberCode};
use domain::district::DistrictCode;
use domain::identity::{Pin, Tin};
use domain::ports::{Billing, CitizenRegistry, PropertyRegistry, Unavailable};
use domain::property::{PropertyKey, RegisterExtractNumber};
use eservices_tests::outside::FakeOutside;
use eservices_tests::{Backend, demo, spawn_app_with};
use integrations::{
    HttpBilling, HttpCitizenRegistry, HttpPropertyRegistry, HttpSystem, SystemSettings,
};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const TOKEN: &str = "outside-systems-token";

fn settings(
    fake: &FakeOutside,
    timeout_ms: u64,
    retries: u32,
    breaker_failures: u32,
) -> SystemSettings {
    SystemSettings {
        base_url: url::Url::parse(&fake.base_url).unwrap_or_else(|e| panic!("{e}")),
        token: Some(TOKEN.to_owned()),
        timeout: Duration::from_millis(timeout_ms),
        retries,
        backoff: Duration::from_millis(10),
        breaker_failures,
        breaker_open_for: Duration::from_secs(60),
    }
}

fn pin(s: &str) -> Pin {
    Pin::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs blocking adapter calls off the async threads (as the API does).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_adapter_reads_its_system() {
    let fake = FakeOutside::start(TOKEN).await;
    let s = settings(&fake, 2000, 0, 5);
    blocking(move || {
        let registry = HttpCitizenRegistry::new(
            HttpSystem::new("citizen-registry", s.clone()),
            Duration::ZERO,
        );
        let me = registry
            .main_information(&pin(demo::RESIDENT))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(me.map(|m| m.name.last_name), Some("Məmmədov".to_owned()));
        assert_eq!(
            registry.main_information(&pin(demo::UNKNOWN_PERSON)).ok(),
            Some(None),
            "unknown: None"
        );
        let tin = Tin::parse(demo::BUSINESS).unwrap_or_else(|e| panic!("{e}"));
        let business = registry
            .business(&tin)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no business"));
        assert_eq!(
            business.representatives,
            vec![pin(demo::BUSINESS_REPRESENTATIVE)]
        );

        let properties = HttpPropertyRegistry::new(HttpSystem::new("property-registry", s.clone()));
        let key = PropertyKey {
            district: DistrictCode::parse("AZ-BA-NRM").unwrap_or_else(|e| panic!("{e}")),
            registry_number: RegisterExtractNumber::parse("110033056204")
                .unwrap_or_else(|e| panic!("{e}")),
            registration_number: RegisterExtractNumber::parse("2026-203517")
                .unwrap_or_else(|e| panic!("{e}")),
        };
        let property = properties
            .property(&key)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no property"));
        assert!(property.owners.contains(&pin(demo::NEW_OWNER)));

        let billing = HttpBilling::new(HttpSystem::new("billing", s));
        let accounts = billing
            .residential_accounts(&pin(demo::RESIDENT))
            .unwrap_or_else(|e| panic!("{e}"));
        let codes: Vec<&str> = accounts.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, ["1000000001", "1000000002"]);
        let code = |c: &str| SubscriberCode::parse(c).unwrap_or_else(|e| panic!("{e}"));
        let debt = billing
            .debt(&code("1000000005"))
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|d| d.amount.value());
        assert_eq!(debt, Some(452_370));
        assert_eq!(billing.account(&code("1999999999")).ok(), Some(None));
        let heads = billing.head_codes(&tin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(heads.len(), 2);
        let head = HeadCode::parse("50000001").unwrap_or_else(|e| panic!("{e}"));
        assert!(billing.head_code(&head).ok().flatten().is_some());
        let points = billing
            .metering_points(&head)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!points.is_empty());
        let point =
            MeteringPointCode::parse(points[0].code.as_str()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            billing
                .metering_point(&point)
                .ok()
                .flatten()
                .map(|p| p.head_code),
            Some(head)
        );
    })
    .await;
    // A wrong base URL: a list answered 404 is an outage, not "no accounts".
    let mut wrong = settings(&fake, 2000, 0, 5);
    wrong.base_url =
        url::Url::parse(&fake.base_url.replace("/v1/", "/v0/")).unwrap_or_else(|e| panic!("{e}"));
    let lists = blocking(move || {
        HttpBilling::new(HttpSystem::new("billing", wrong))
            .residential_accounts(&pin(demo::RESIDENT))
    })
    .await;
    assert!(
        matches!(&lists, Err(Unavailable { system: "billing", reason }) if reason.contains("404")),
        "{lists:?}"
    );
}

fn billing_of(
    fake: &FakeOutside,
    timeout_ms: u64,
    retries: u32,
    breaker_failures: u32,
) -> HttpBilling {
    HttpBilling::new(HttpSystem::new(
        "billing",
        settings(fake, timeout_ms, retries, breaker_failures),
    ))
}

fn debt_of(billing: &HttpBilling) -> Result<Option<i64>, Unavailable> {
    let code = SubscriberCode::parse("1000000005").unwrap_or_else(|e| panic!("{e}"));
    billing.debt(&code).map(|d| d.map(|d| d.amount.value()))
}

const DEBT_PATH: &str = "/v1/accounts/1000000005/debt";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_become_unavailable_naming_the_system() {
    let fake = FakeOutside::start(TOKEN).await;

    // Two 5xx, then an answer: the retries carry the read through.
    fake.behaviour.fail_first.store(2, Ordering::SeqCst);
    let billing = billing_of(&fake, 2000, 2, 10);
    let read = blocking(move || debt_of(&billing)).await;
    assert_eq!(read.ok(), Some(Some(452_370)));
    assert_eq!(fake.calls_to(DEBT_PATH), 3);

    // Down for good: unavailable after the retries, naming billing.
    fake.behaviour.down.store(true, Ordering::SeqCst);
    let billing = billing_of(&fake, 2000, 1, 10);
    let down = blocking(move || debt_of(&billing)).await;
    assert!(
        matches!(&down, Err(Unavailable { system: "billing", reason }) if reason.contains("503")),
        "{down:?}"
    );
    assert_eq!(fake.calls_to(DEBT_PATH), 5, "one call and one retry");
    fake.behaviour.down.store(false, Ordering::SeqCst);

    // Slower than the timeout: unavailable in about the timeout, not a hang.
    fake.behaviour.stall_ms.store(2000, Ordering::SeqCst);
    let billing = billing_of(&fake, 300, 0, 10);
    let started = Instant::now();
    let slow = blocking(move || debt_of(&billing)).await;
    assert!(
        matches!(
            &slow,
            Err(Unavailable {
                system: "billing",
                ..
            })
        ),
        "{slow:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    fake.behaviour.stall_ms.store(0, Ordering::SeqCst);

    // Nonsense: unavailable, and not retried (the system is up, it would say the same again).
    fake.behaviour.malformed.store(true, Ordering::SeqCst);
    let before = fake.calls_to(DEBT_PATH);
    let billing = billing_of(&fake, 2000, 2, 10);
    let nonsense = blocking(move || debt_of(&billing)).await;
    assert!(
        matches!(&nonsense, Err(Unavailable { reason, .. }) if reason.contains("does not parse")),
        "{nonsense:?}"
    );
    assert_eq!(fake.calls_to(DEBT_PATH), before + 1);
    fake.behaviour.malformed.store(false, Ordering::SeqCst);

    // A wrong token is refused by the system: unavailable, not "no such account".
    let mut wrong = settings(&fake, 2000, 0, 10);
    wrong.token = Some("wrong".to_owned());
    let billing = HttpBilling::new(HttpSystem::new("billing", wrong));
    let refused = blocking(move || debt_of(&billing)).await;
    assert!(
        matches!(&refused, Err(Unavailable { reason, .. }) if reason.contains("401")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_repeated_failures_and_calls_stop() {
    let fake = FakeOutside::start(TOKEN).await;
    fake.behaviour.down.store(true, Ordering::SeqCst);
    let billing = std::sync::Arc::new(billing_of(&fake, 2000, 0, 2));
    for _ in 0..2 {
        let b = billing.clone();
        assert!(blocking(move || debt_of(&b)).await.is_err());
    }
    let reached = fake.calls_to(DEBT_PATH);
    assert_eq!(reached, 2);
    fake.behaviour.down.store(false, Ordering::SeqCst);
    let b = billing.clone();
    let fast = blocking(move || debt_of(&b)).await;
    assert!(
        matches!(&fast, Err(Unavailable { reason, .. }) if reason.contains("repeated failures")),
        "{fast:?}"
    );
    assert_eq!(
        fake.calls_to(DEBT_PATH),
        reached,
        "an open circuit does not call"
    );
}

async fn a_whole_application_goes_through_the_http_adapters(backend: Backend) {
    let fake = FakeOutside::start(TOKEN).await;
    let overrides = [
        ("CITIZEN_REGISTRY_URL", fake.base_url.as_str()),
        ("CITIZEN_REGISTRY_TOKEN", TOKEN),
        ("PROPERTY_REGISTRY_URL", fake.base_url.as_str()),
        ("PROPERTY_REGISTRY_TOKEN", TOKEN),
        ("BILLING_URL", fake.base_url.as_str()),
        ("BILLING_TOKEN", TOKEN),
        ("OUTSIDE_TIMEOUT_MS", "1000"),
        ("OUTSIDE_RETRIES", "1"),
        ("OUTSIDE_BACKOFF_MS", "10"),
    ];
    let Some(app) = spawn_app_with(backend, &overrides).await else {
        return;
    };
    let token = app.token(demo::NEW_OWNER, None).await;

    // A transfer, step by step: main information, the account, the property, the debt.
    let draft = app.create(&token, json!({"kind": "account-change",
        "account": {"variant": "transfer", "subscriber_code": "1000000004"},
        "property": {"district": "AZ-BA-NRM", "registry_number": "110033056204", "registration_number": "2026-203517", "property_type": "apartment"},
        "contact": {"mobile_numbers": ["051 234 56 78"]}})).await;
    let number = draft.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(fake.calls_to("/v1/citizens/5T9BQ4E") >= 1);
    assert!(fake.calls_to("/v1/accounts/1000000004") >= 1);
    assert!(fake.calls_to("/v1/properties/AZ-BA-NRM/110033056204/2026-203517") >= 1);

    // The debt is read fresh at submission: a debt that appeared since the step refuses it.
    if let Ok(mut debts) = fake.debts.lock() {
        debts.insert("1000000004".to_owned(), 5000);
    }
    let path = format!("/api/v1/applications/{number}");
    app.post(&format!("{path}/submit"), &token, json!({}))
        .await
        .assert_problem(422, "debt-outstanding");
    if let Ok(mut debts) = fake.debts.lock() {
        debts.insert("1000000004".to_owned(), 0);
    }
    let submitted = app.post(&format!("{path}/submit"), &token, json!({})).await;
    assert_eq!(submitted.assert_status(200)["status"], json!("submitted"));
    assert!(
        fake.calls_to("/v1/accounts/1000000004/debt") >= 3,
        "never cached"
    );

    // Main information is reused for a while.
    let before = fake.calls_to("/v1/citizens/5T9BQ4E");
    app.get("/api/v1/me", Some(&token)).await.assert_status(200);
    app.get("/api/v1/me", Some(&token)).await.assert_status(200);
    assert_eq!(
        fake.calls_to("/v1/citizens/5T9BQ4E"),
        before,
        "served from the cache"
    );

    // Billing down: 503 naming it, with Retry-After; what is saved stays readable.
    fake.behaviour.down.store(true, Ordering::SeqCst);
    let down = app
        .get("/api/v1/me/subscriber-accounts", Some(&token))
        .await;
    down.assert_problem(503, "billing-unavailable");
    assert!(down.headers.contains_key("retry-after"));
    app.get(&path, Some(&token)).await.assert_status(200);
}

mod whole_application {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_whole_application_goes_through_the_http_adapters(eservices_tests::Backend::Sqlite)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_whole_application_goes_through_the_http_adapters(
            eservices_tests::Backend::Postgres,
        )
        .await;
    }
}
