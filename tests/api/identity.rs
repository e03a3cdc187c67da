//! Authentication: tokens refused in every way they can be wrong, and the development token
//! route that exists only in development mode.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eservices_tests::{Backend, demo, on_both_backends, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

fn claims(app: &eservices_tests::TestApp, changes: &serde_json::Value) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "sub": demo::RESIDENT, "roles": ["applicant"], "amr": ["asan-imza"],
        "iss": app.settings.jwt.issuer, "aud": app.settings.jwt.audience,
        "iat": now, "nbf": now, "exp": now + 600,
    });
    for (key, value) in changes.as_object().cloned().unwrap_or_default() {
        claims[key] = value;
    }
    claims
}

fn sign(app: &eservices_tests::TestApp, claims: &serde_json::Value) -> String {
    let pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE))
        .unwrap_or_default();
    let key = EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("dev key: {e}"));
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap_or_default()
}

on_both_backends! {
    async fn a_token_is_required_and_checked(app) {
        let none = app.get("/api/v1/me", None).await;
        none.assert_problem(401, "unauthenticated");
        assert_eq!(none.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
        app.get("/api/v1/me", Some("not-a-jwt")).await.assert_problem(401, "unauthenticated");
        let basic = app.client.get(app.url("/api/v1/me")).header("authorization", "Basic YTpi").send().await;
        assert_eq!(basic.map(|r| r.status().as_u16()).ok(), Some(401));
        let good = sign(&app, &claims(&app, &json!({})));
        app.get("/api/v1/me", Some(&good)).await.assert_status(200);
        // An audience list (RFC 7519) with ours in it, and no iat, are fine.
        let mut listed = claims(&app, &json!({"aud": ["another-service", app.settings.jwt.audience]}));
        listed.as_object_mut().map(|o| o.remove("iat"));
        app.get("/api/v1/me", Some(&sign(&app, &listed))).await.assert_status(200);
    }

    async fn hostile_tokens_are_all_refused(app) {
        let now = chrono::Utc::now().timestamp();
        let refused = [
            ("expired", sign(&app, &claims(&app, &json!({"exp": now - 3600, "nbf": now - 7200})))),
            ("not yet valid", sign(&app, &claims(&app, &json!({"nbf": now + 3600})))),
            ("wrong issuer", sign(&app, &claims(&app, &json!({"iss": "https://evil.example"})))),
            ("wrong audience", sign(&app, &claims(&app, &json!({"aud": "another-service"})))),
            ("no login method", sign(&app, &claims(&app, &json!({"amr": ["sms"]})))),
            ("subject not a PIN", sign(&app, &claims(&app, &json!({"sub": "admin"})))),
        ];
        for (why, token) in refused {
            app.get("/api/v1/me", Some(&token)).await.assert_problem(401, "unauthenticated");
            let _ = why;
        }
        // alg: none, with the payload of a valid token.
        let body = URL_SAFE_NO_PAD.encode(claims(&app, &json!({})).to_string());
        let unsigned = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#));
        app.get("/api/v1/me", Some(&unsigned)).await.assert_problem(401, "unauthenticated");
        // HS256 signed with the public key as the secret (the classic key confusion attack).
        let public = std::fs::read(app.data_dir.path().join(api::auth::DEV_PUBLIC_KEY_FILE)).unwrap_or_default();
        let hmac = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(&app, &json!({})), &EncodingKey::from_secret(&public)).unwrap_or_default();
        app.get("/api/v1/me", Some(&hmac)).await.assert_problem(401, "unauthenticated");
        // A valid token whose payload was changed after signing.
        let good = sign(&app, &claims(&app, &json!({})));
        let parts: Vec<&str> = good.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(claims(&app, &json!({"sub": demo::NOBODY})).to_string());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        app.get("/api/v1/me", Some(&tampered)).await.assert_problem(401, "unauthenticated");
        // Signed by another key.
        let other_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        api::auth::ensure_dev_key_pair(other_dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let other_pem = std::fs::read(other_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE)).unwrap_or_default();
        let foreign = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims(&app, &json!({})), &EncodingKey::from_ed_pem(&other_pem).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
        app.get("/api/v1/me", Some(&foreign)).await.assert_problem(401, "unauthenticated");
    }

    async fn staff_roles_may_not_use_the_applicant_operations(app) {
        let operator = sign(&app, &claims(&app, &json!({"roles": ["operator"]})));
        app.get("/api/v1/me/applications", Some(&operator)).await.assert_problem(403, "forbidden-role");
        let no_roles_claim = {
            let mut c = claims(&app, &json!({}));
            c.as_object_mut().map(|o| o.remove("roles"));
            sign(&app, &c)
        };
        app.get("/api/v1/me", Some(&no_roles_claim)).await.assert_status(200);
    }

    async fn staff_tokens_need_a_role_and_an_operator_a_department(app) {
        let now = chrono::Utc::now().timestamp();
        let staff = |extra: serde_json::Value| {
            let mut claims = json!({"sub": "op-1", "iss": app.settings.jwt.issuer, "aud": app.settings.jwt.audience, "iat": now, "exp": now + 600});
            for (key, value) in extra.as_object().cloned().unwrap_or_default() {
                claims[key] = value;
            }
            sign(&app, &claims)
        };
        let no_department = staff(json!({"roles": ["operator"]}));
        app.get("/api/v1/inbox", Some(&no_department)).await.assert_problem(403, "no-department");
        let bad_department = staff(json!({"roles": ["operator"], "department": "bakı şəbəkə"}));
        app.get("/api/v1/inbox", Some(&bad_department)).await.assert_problem(401, "unauthenticated");
        let admin = staff(json!({"roles": ["admin"]}));
        app.get("/api/v1/inbox", Some(&admin)).await.assert_problem(403, "forbidden-role");
        let operator = staff(json!({"roles": ["operator"], "department": "BAKI-SEBEKE"}));
        app.get("/api/v1/inbox", Some(&operator)).await.assert_status(200);
        app.get("/api/v1/inbox?assignee=%00", Some(&operator)).await.assert_problem(400, "invalid-query-parameter");
        // An operator reads no applicant's data.
        app.get("/api/v1/me", Some(&operator)).await.assert_problem(403, "forbidden-role");
    }

    async fn the_login_method_is_recorded_on_the_application(app) {
        let token = sign(&app, &claims(&app, &json!({"amr": "e-signature"})));
        let created = app.create(&token, json!({"kind": "meter-damage-investigation"})).await;
        assert_eq!(created.assert_status(201)["applicant"]["login_method"], json!("e-signature"));
    }

    async fn dev_tokens_check_their_input(app) {
        let reply = app.request(reqwest::Method::POST, "/api/v1/dev/tokens", None, Some(json!({"pin": "12", "tin": "x"}))).await;
        reply.assert_problem(422, "validation-failed");
        assert_eq!(reply.fields_at_fault(), ["pin", "tin"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_has_no_development_token_route_and_takes_configured_keys() {
    let key_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A key pair of the test's own, playing the identity provider's (made as the development
    // one is, and given another name: production refuses the development key by its name).
    let made = api::auth::ensure_dev_key_pair(key_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let public = key_dir.path().join("idp-ed25519-public.pem");
    std::fs::rename(&made, &public).unwrap_or_else(|e| panic!("{e}"));
    let public = public.display().to_string();
    // Production reads the registries over HTTP: a local server plays them.
    let outside = eservices_tests::outside::FakeOutside::start("registry-token").await;
    let mut overrides = eservices_tests::PRODUCTION_SETTINGS.to_vec();
    overrides.extend([
        ("JWT_PUBLIC_KEY_FILE", public.as_str()),
        ("CITIZEN_REGISTRY_URL", outside.base_url.as_str()),
        ("CITIZEN_REGISTRY_TOKEN", "registry-token"),
        ("PROPERTY_REGISTRY_URL", outside.base_url.as_str()),
        ("PROPERTY_REGISTRY_TOKEN", "registry-token"),
        ("BILLING_URL", outside.base_url.as_str()),
        ("BILLING_TOKEN", "registry-token"),
    ]);
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        unreachable!()
    };
    let route = app
        .request(
            reqwest::Method::POST,
            "/api/v1/dev/tokens",
            None,
            Some(json!({"pin": demo::RESIDENT})),
        )
        .await;
    route.assert_problem(404, "route-not-found");
    let document = app.get("/api-docs/openapi.json", None).await;
    assert!(document.body["paths"]["/api/v1/dev/tokens"].is_null());
    // No demo data in production: the registries are the outside systems, which know the
    // resident but not an unknown person.
    let now = chrono::Utc::now().timestamp();
    let pem =
        std::fs::read(key_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE)).unwrap_or_default();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &json!({"sub": demo::UNKNOWN_PERSON, "amr": "password", "iss": "https://idp.e-gov.example", "aud": "azerisiq", "iat": now, "exp": now + 60}),
        &EncodingKey::from_ed_pem(&pem).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    app.get("/api/v1/me", Some(&token))
        .await
        .assert_problem(404, "person-not-in-registry");
    assert_eq!(
        outside.calls_to(&format!("/v1/citizens/{}", demo::UNKNOWN_PERSON)),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_keys_from_configuration_verify_es256_tokens_only() {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let private_pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    let public_pem = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    let public_path = key_dir.path().join("idp-es256.pem");
    std::fs::write(&public_path, public_pem).unwrap_or_else(|e| panic!("{e}"));
    let public_path = public_path.display().to_string();
    let overrides = [
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY_FILE", public_path.as_str()),
        ("JWT_ISSUER", "https://idp.e-gov.example"),
        ("JWT_AUDIENCE", "azerisiq"),
    ];
    let Some(app) = spawn_app_with(Backend::Sqlite, &overrides).await else {
        unreachable!()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": demo::RESIDENT, "amr": ["asan-imza"], "iss": "https://idp.e-gov.example", "aud": "azerisiq", "iat": now, "exp": now + 60});
    let es256 = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    assert_eq!(
        app.get("/api/v1/me", Some(&es256)).await.assert_status(200)["pin"],
        json!(demo::RESIDENT)
    );
    // The development key still exists in the data folder, but only the configured key counts.
    let dev_pem = std::fs::read(app.data_dir.path().join(api::auth::DEV_PRIVATE_KEY_FILE))
        .unwrap_or_default();
    let eddsa = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_pem(&dev_pem).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    app.get("/api/v1/me", Some(&eddsa))
        .await
        .assert_problem(401, "unauthenticated");
}
