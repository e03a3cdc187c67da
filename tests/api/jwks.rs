//! Tokens verified with the identity provider's JWKS: keys fetched at start, a new key picked up
//! when a token names it (rate-limited), a removed key refused after the scheduled refresh, the
//! algorithm allow-list, and `kid` required.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use eservices_tests::{Backend, demo, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) const ISSUER: &str = "https://idp.e-gov.example";
pub(crate) const AUDIENCE: &str = "azerisiq";

/// A local server that plays the identity provider's JWKS endpoint.
pub(crate) struct FakeJwks {
    pub(crate) url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

type JwksState = (Arc<Mutex<Vec<Value>>>, Arc<AtomicUsize>);

async fn serve_keys(state: web::Data<JwksState>) -> HttpResponse {
    state.1.fetch_add(1, Ordering::SeqCst);
    let keys = state.0.lock().map(|k| k.clone()).unwrap_or_default();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

impl FakeJwks {
    pub(crate) async fn start(keys: Vec<Value>) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches: Arc<AtomicUsize> = Arc::default();
        let state = web::Data::new((keys.clone(), fetches.clone()));
        let port = eservices_tests::fakes::serve(1, move |config| {
            config
                .app_data(state.clone())
                .route("/.well-known/jwks.json", web::get().to(serve_keys));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
            keys,
            fetches,
        }
    }

    fn set(&self, keys: Vec<Value>) {
        if let Ok(mut k) = self.keys.lock() {
            *k = keys;
        }
    }
}

/// An Ed25519 key pair: the private PEM for signing and the public JWK.
pub(crate) fn ed25519_key(kid: &str) -> (EncodingKey, Value) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let public = api::auth::ensure_dev_key_pair(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let private =
        std::fs::read(dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE)).unwrap_or_default();
    let public_pem = std::fs::read_to_string(public).unwrap_or_default();
    let der: String = public_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(der).unwrap_or_else(|e| panic!("{e}"));
    // The SPKI of an Ed25519 key ends with the 32 bytes of the key.
    let raw = &der[der.len() - 32..];
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(raw), "kid": kid, "use": "sig", "alg": "EdDSA"});
    (
        EncodingKey::from_ed_pem(&private).unwrap_or_else(|e| panic!("{e}")),
        jwk,
    )
}

/// A P-256 key pair for ES256.
fn es256_key(kid: &str) -> (EncodingKey, Value) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    let point = secret.public_key().to_encoded_point(false);
    let coordinate = |c: Option<&p256::FieldBytes>| {
        URL_SAFE_NO_PAD.encode(c.map(|c| c.to_vec()).unwrap_or_default())
    };
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": coordinate(point.x()), "y": coordinate(point.y()), "kid": kid, "use": "sig"});
    (
        EncodingKey::from_ec_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
        jwk,
    )
}

fn token(key: &EncodingKey, algorithm: Algorithm, kid: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": demo::RESIDENT, "amr": ["asan-imza"], "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600});
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, key).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_is_a_503_not_a_bad_token() {
    let (key, _) = ed25519_key("k1");
    let closed = eservices_tests::fakes::free_port();
    let url = format!("http://127.0.0.1:{closed}/jwks.json");
    let overrides = [
        ("JWT_JWKS_URL", url.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        unreachable!()
    };
    let reply = app
        .get(
            "/api/v1/me",
            Some(&token(&key, Algorithm::EdDSA, Some("k1"))),
        )
        .await;
    reply.assert_problem(503, "identity-provider-unavailable");
    assert!(reply.headers.contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_through_the_jwks() {
    let (first, first_jwk) = ed25519_key("2026-11-a");
    let (second, second_jwk) = es256_key("2026-11-b");
    let jwks = FakeJwks::start(vec![first_jwk.clone()]).await;
    let overrides = [
        ("JWT_JWKS_URL", jwks.url.as_str()),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
        ("JWKS_REFRESH_SECONDS", "1"),
        ("JWKS_MIN_REFRESH_SECONDS", "2"),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        unreachable!()
    };
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "fetched at start");
    let me = |token: String| {
        let app = &app;
        async move { app.get("/api/v1/me", Some(&token)).await.status }
    };

    // The key in the set verifies; the wrong algorithm for it, or no kid, do not.
    assert_eq!(
        me(token(&first, Algorithm::EdDSA, Some("2026-11-a"))).await,
        200
    );
    assert_eq!(
        me(token(&first, Algorithm::EdDSA, None)).await,
        401,
        "a kid is required"
    );
    let hmac = jsonwebtoken::encode(
        &{
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("2026-11-a".into());
            h
        },
        &json!({"sub": demo::RESIDENT, "iss": ISSUER, "aud": AUDIENCE, "exp": chrono::Utc::now().timestamp() + 600}),
        &EncodingKey::from_secret(first_jwk["x"].as_str().unwrap_or_default().as_bytes()),
    )
    .unwrap_or_default();
    assert_eq!(me(hmac).await, 401, "HS256 is never accepted");

    // A new key: the first token naming it makes the service fetch the set again.
    jwks.set(vec![first_jwk.clone(), second_jwk.clone()]);
    let fetched = jwks.fetches.load(Ordering::SeqCst);
    assert_eq!(
        me(token(&second, Algorithm::ES256, Some("2026-11-b"))).await,
        200,
        "picked up on its first use"
    );
    assert!(jwks.fetches.load(Ordering::SeqCst) > fetched);
    let es256 = token(&second, Algorithm::ES256, Some("2026-11-b"));
    let relabelled = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"EdDSA","kid":"2026-11-b"}"#),
        es256
            .split_once('.')
            .map(|(_, rest)| rest)
            .unwrap_or_default()
    );
    assert_eq!(me(relabelled).await, 401, "alg must be its key's");

    // Made-up kids do not make the service hammer the provider.
    let before = jwks.fetches.load(Ordering::SeqCst);
    for i in 0..20 {
        assert_eq!(
            me(token(
                &first,
                Algorithm::EdDSA,
                Some(&format!("unknown-{i}"))
            ))
            .await,
            401
        );
    }
    assert!(
        jwks.fetches.load(Ordering::SeqCst) <= before + 2,
        "rate-limited"
    );

    // RS256, the third algorithm of the allow-list: a fixed test key (tests/fixtures).
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("../fixtures/rsa-test-key.pem"))
        .unwrap_or_else(|e| panic!("{e}"));
    let rsa_jwk = json!({"kty": "RSA", "n": include_str!("../fixtures/rsa-test-key.n").trim(), "e": "AQAB", "kid": "2026-11-rsa", "alg": "RS256", "use": "sig"});
    jwks.set(vec![first_jwk.clone(), second_jwk.clone(), rsa_jwk]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        me(token(&rsa, Algorithm::RS256, Some("2026-11-rsa"))).await,
        200,
        "RS256 verifies"
    );

    // The old key removed: refused after the scheduled refresh.
    jwks.set(vec![second_jwk]);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        me(token(&first, Algorithm::EdDSA, Some("2026-11-a"))).await,
        401,
        "a removed key stops verifying"
    );
    assert_eq!(
        me(token(&second, Algorithm::ES256, Some("2026-11-b"))).await,
        200
    );
}
