//! A local HTTP server that plays the citizen and business registries, the property registry and
//! billing, in the formats of docs/INTEGRATIONS.md, answering from the demo data; it can be told
//! to stall, fail, answer nonsense, and it counts the calls it gets.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the fake systems answer next.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Answer this many calls with 503 first.
    pub fail_first: AtomicUsize,
    /// Answer every call with 503.
    pub down: AtomicBool,
    /// Answer 200 with a body that is not the expected JSON.
    pub malformed: AtomicBool,
    /// Wait this long (ms) before answering.
    pub stall_ms: AtomicU64,
}

#[derive(Debug, Clone)]
pub struct FakeOutside {
    pub base_url: String,
    pub behaviour: Arc<Behaviour>,
    /// Calls by path.
    pub calls: Arc<Mutex<BTreeMap<String, usize>>>,
    /// The debt billing reports, by subscriber code (changeable by tests).
    pub debts: Arc<Mutex<BTreeMap<String, i64>>>,
    /// The `traceparent` header of each call, in order (empty when a call had none).
    pub traceparents: Arc<Mutex<Vec<String>>>,
}

#[derive(Debug)]
struct Data {
    seed: Value,
    behaviour: Arc<Behaviour>,
    calls: Arc<Mutex<BTreeMap<String, usize>>>,
    debts: Arc<Mutex<BTreeMap<String, i64>>>,
    traceparents: Arc<Mutex<Vec<String>>>,
    token: String,
}

impl FakeOutside {
    /// Serves the demo data; every call must carry `Authorization: Bearer {token}`.
    pub async fn start(token: &str) -> Self {
        let seed: Value = serde_json::from_str(api::startup::DEMO_SEED)
            .unwrap_or_else(|e| panic!("demo seed: {e}"));
        let debts: BTreeMap<String, i64> = seed["subscriber_accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["code"].as_str().unwrap_or_default().to_owned(),
                    a["debt_qapik"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        let behaviour: Arc<Behaviour> = Arc::default();
        let calls: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
        let debts = Arc::new(Mutex::new(debts));
        let traceparents: Arc<Mutex<Vec<String>>> = Arc::default();
        let data = web::Data::new(Data {
            traceparents: traceparents.clone(),
            seed,
            behaviour: behaviour.clone(),
            calls: calls.clone(),
            debts: debts.clone(),
            token: token.to_owned(),
        });
        let port = crate::fakes::serve(2, move |config| {
            config
                .app_data(data.clone())
                .default_service(web::to(answer));
        });
        Self {
            base_url: format!("http://127.0.0.1:{port}/v1/"),
            behaviour,
            calls,
            debts,
            traceparents,
        }
    }

    /// The `traceparent` headers received so far.
    pub fn traceparents(&self) -> Vec<String> {
        self.traceparents
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// How many calls reached `path` (e.g. `/v1/citizens/5R7KQ2M`).
    pub fn calls_to(&self, path: &str) -> usize {
        self.calls
            .lock()
            .map(|c| c.get(path).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn total_calls(&self) -> usize {
        self.calls
            .lock()
            .map(|c| c.values().sum())
            .unwrap_or_default()
    }
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|item| item[key] == json!(value))
}

fn account(a: &Value) -> Value {
    json!({
        "code": a["code"], "holder_pin": a["holder_pin"],
        "holder_first_name": a["holder_first_name"], "holder_last_name": a["holder_last_name"],
        "address": a["address"], "district": a["district_code"],
        "property_registry_number": a["property_registry_number"],
    })
}

fn contract(c: &Value) -> Value {
    json!({"head_code": c["code"], "tin": c["tin"], "contract_name": c["contract_name"],
        "address": c["address"], "district": c["district_code"]})
}

async fn answer(data: web::Data<Data>, request: HttpRequest) -> HttpResponse {
    let path = request.path().to_owned();
    if let Ok(mut calls) = data.calls.lock() {
        *calls.entry(path.clone()).or_default() += 1;
    }
    if let Ok(mut traceparents) = data.traceparents.lock() {
        traceparents.push(
            request
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let authorised = request
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {}", data.token).as_str());
    if !authorised {
        return HttpResponse::Unauthorized().finish();
    }
    let b = &data.behaviour;
    let stall = b.stall_ms.load(Ordering::SeqCst);
    if stall > 0 {
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    if b.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let fail = b.fail_first.load(Ordering::SeqCst);
    if fail > 0 {
        b.fail_first.store(fail - 1, Ordering::SeqCst);
        return HttpResponse::BadGateway().finish();
    }
    if b.malformed.load(Ordering::SeqCst) {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body("{\"unexpected\": true");
    }
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(request.query_string().as_bytes())
            .into_owned()
            .collect();
    let seed = &data.seed;
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let found: Option<Value> = match parts.as_slice() {
        ["citizens", pin] => find(&seed["citizens"], "pin", pin).cloned(),
        ["businesses", tin] => find(&seed["businesses"], "tin", tin).map(|b| {
            json!({"tin": b["tin"], "name": b["name"], "representatives": b["representative_pins"]})
        }),
        ["properties", district, registry, registration] => seed["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| {
                p["district_code"] == json!(district)
                    && p["registry_number"] == json!(registry)
                    && p["registration_number"] == json!(registration)
            })
            .map(|p| json!({"property_type": p["property_type"], "address": p["address"], "owners": p["owner_pins"]})),
        ["accounts"] => {
            let holder = query.get("holder_pin").cloned().unwrap_or_default();
            Some(Value::Array(
                seed["subscriber_accounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| a["holder_pin"] == json!(holder))
                    .map(account)
                    .collect(),
            ))
        }
        ["accounts", code] => find(&seed["subscriber_accounts"], "code", code).map(account),
        ["accounts", code, "debt"] => find(&seed["subscriber_accounts"], "code", code).map(|a| {
            let amount = data
                .debts
                .lock()
                .ok()
                .and_then(|d| d.get(*code).copied())
                .unwrap_or_default();
            json!({"amount_qapik": amount, "as_of": a["debt_as_of"]})
        }),
        ["contracts"] => {
            let tin = query.get("tin").cloned().unwrap_or_default();
            Some(Value::Array(
                seed["head_codes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| c["tin"] == json!(tin))
                    .map(contract)
                    .collect(),
            ))
        }
        ["contracts", code] => find(&seed["head_codes"], "code", code).map(contract),
        ["contracts", code, "metering-points"] => Some(Value::Array(
            seed["metering_points"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["head_code"] == json!(code))
                .cloned()
                .collect(),
        )),
        ["metering-points", code] => find(&seed["metering_points"], "code", code).cloned(),
        _ => None,
    };
    match found {
        Some(body) => HttpResponse::Ok().json(body),
        None => HttpResponse::NotFound().json(json!({"error": "no such record"})),
    }
}
