//! What browsers see: security headers on every response, CORS for the configured frontends only.

use eservices_tests::{Backend, spawn_app, spawn_app_with};

const PORTAL: &str = "https://portal.e-gov.az";

fn header<'a>(reply: &'a reqwest::Response, name: &str) -> &'a str {
    reply
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        unreachable!()
    };
    for path in [
        "/api/v1/services",
        "/api/v1/me",
        "/api/v1/no-such-route",
        "/health",
    ] {
        let reply = app
            .client
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            header(&reply, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header(&reply, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&reply, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(
            header(&reply, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(
            header(&reply, "cache-control"),
            "no-store",
            "{path}: personal data is never cached"
        );
    }
    let docs = app
        .client
        .get(app.url("/swagger-ui/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docs.status().as_u16(), 200);
    assert!(
        header(&docs, "content-security-policy").contains("script-src 'self'"),
        "Swagger UI may run its scripts"
    );
    // Without configured origins, no browser on another origin is let in.
    let foreign = app
        .client
        .get(app.url("/api/v1/services"))
        .header("Origin", PORTAL)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header(&foreign, "access-control-allow-origin"), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_lets_in_the_configured_frontends_only() {
    let origins = format!("{PORTAL},http://localhost:5173");
    let Some(app) = spawn_app_with(
        Backend::Sqlite,
        &[("CORS_ALLOWED_ORIGINS", origins.as_str())],
    )
    .await
    else {
        unreachable!()
    };
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/applications"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, if-match",
            )
            .send()
    };
    let allowed = preflight(PORTAL).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(header(&allowed, "access-control-allow-origin"), PORTAL);
    assert!(header(&allowed, "access-control-allow-methods").contains("POST"));
    let refused = preflight("https://evil.example")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header(&refused, "access-control-allow-origin"), "");

    let simple = app
        .client
        .get(app.url("/api/v1/services"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        header(&simple, "access-control-allow-origin"),
        "http://localhost:5173"
    );
    assert!(
        header(&simple, "access-control-expose-headers")
            .to_ascii_lowercase()
            .contains("etag"),
        "frontends read the ETag"
    );
    let exposed = header(&simple, "access-control-expose-headers").to_ascii_lowercase();
    for name in ["retry-after", "location", "idempotent-replayed"] {
        assert!(exposed.contains(name), "frontends read {name}: {exposed}");
    }
}

#[test]
fn origins_are_checked_at_start() {
    let settings = |value: &str| {
        api::config::Settings::from_lookup(|name| {
            (name == "CORS_ALLOWED_ORIGINS").then(|| value.to_owned())
        })
    };
    assert!(settings("https://portal.e-gov.az, http://localhost:5173").is_ok());
    for bad in [
        "*",
        "https://portal.e-gov.az/",
        "portal.e-gov.az",
        "https://portal.e-gov.az/path",
    ] {
        assert!(settings(bad).is_err(), "{bad}");
    }
}
