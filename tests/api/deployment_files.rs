//! `docker-compose.yml` and the `Dockerfile` checked against what the binary really reads and
//! does (Docker cannot pull images on the machines that run this suite, so the files are read,
//! not run): every environment variable is a setting and the settings start, the services the
//! settings name exist with matching credentials and ports, everything has a health check and
//! starts in order, the image runs as a non-root user and holds every workspace member.

use api::config_reference::SETTINGS;
use eservices_tests::process::server_binary;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn repository_file(name: &str) -> String {
    let path = format!("{}/../{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    yaml_serde::from_str(&repository_file("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"))
}

/// A service's `environment`, as a map or as a list of `NAME=value`.
fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|item| item.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The last stage of the Dockerfile: the runtime image.
fn runtime_stage() -> Vec<String> {
    let dockerfile = repository_file("Dockerfile");
    // Continuation lines joined, comments left out.
    let joined = dockerfile.replace("\\\n", " ");
    let lines: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap_or_else(|| panic!("the Dockerfile has no FROM"));
    lines[last_from..].to_vec()
}

/// The runtime image's `ENV` values.
fn image_environment() -> BTreeMap<String, String> {
    runtime_stage()
        .iter()
        .filter_map(|l| l.strip_prefix("ENV "))
        .flat_map(|rest| rest.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_service_starts_with_the_settings_compose_gives_it() {
    let compose = compose();
    let services = compose["services"]
        .as_object()
        .unwrap_or_else(|| panic!("no services"));
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["eservices", "mailpit", "postgres"]));
    let eservices = &compose["services"]["eservices"];
    let given = environment(eservices);
    let known: BTreeSet<&str> = SETTINGS.iter().map(|s| s.name).collect();
    for name in given.keys().chain(image_environment().keys()) {
        assert!(
            known.contains(name.as_str()),
            "{name} is set for the service but it reads no such setting"
        );
    }
    // What the container sees: the image's ENV, then compose's environment over it.
    let mut seen = image_environment();
    seen.extend(given.clone());
    let settings = api::config::Settings::from_lookup(|name| seen.get(name).cloned())
        .unwrap_or_else(|e| panic!("the service would not start: {e}"));
    assert_eq!(
        settings.host, "0.0.0.0",
        "a container listens on every address"
    );

    // The database URL names the postgres service with its own user, password and database.
    let database = url::Url::parse(&settings.database_url).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(database.scheme(), "postgres");
    let postgres = environment(&compose["services"]["postgres"]);
    assert_eq!(database.host_str(), Some("postgres"));
    assert_eq!(
        Some(database.username()),
        postgres.get("POSTGRES_USER").map(String::as_str)
    );
    assert_eq!(
        database.password(),
        postgres.get("POSTGRES_PASSWORD").map(String::as_str)
    );
    assert_eq!(
        Some(database.path().trim_start_matches('/')),
        postgres.get("POSTGRES_DB").map(String::as_str)
    );
    assert_eq!(database.port().unwrap_or(5432), 5432);

    // E-mail goes to the mail catcher, on a port it listens on.
    let smtp = settings
        .notifications
        .smtp
        .unwrap_or_else(|| panic!("compose sends e-mail to Mailpit"));
    assert!(
        names.contains(smtp.host.as_str()),
        "SMTP_HOST={}",
        smtp.host
    );
    let mailpit_ports = container_ports(&compose["services"]["mailpit"]);
    assert!(mailpit_ports.contains(&smtp.port), "{mailpit_ports:?}");

    // The service's port is the one published, and the public address points at it.
    let published = published_ports(eservices);
    assert!(
        published
            .iter()
            .any(|(_, container)| *container == settings.port),
        "PORT={} is not published: {published:?}",
        settings.port
    );
    let public =
        url::Url::parse(&settings.notifications.public_base_url).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        published
            .iter()
            .any(|(host, _)| Some(*host) == public.port_or_known_default()),
        "PUBLIC_BASE_URL {} is not where the port is published: {published:?}",
        settings.notifications.public_base_url
    );
}

/// `HOST:CONTAINER` or `IP:HOST:CONTAINER` port mappings, as (host, container).
fn published_ports(service: &Value) -> Vec<(u16, u16)> {
    service["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|mapping| {
            let parts: Vec<&str> = mapping.split(':').collect();
            let container = parts.last()?.parse().ok()?;
            let host = parts.get(parts.len().checked_sub(2)?)?.parse().ok()?;
            Some((host, container))
        })
        .collect()
}

fn container_ports(service: &Value) -> Vec<u16> {
    published_ports(service)
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

#[test]
fn every_service_has_a_health_check_and_the_service_starts_after_its_dependencies() {
    let compose = compose();
    for name in ["postgres", "mailpit", "eservices"] {
        let test = &compose["services"][name]["healthcheck"]["test"];
        assert!(
            test.as_array().is_some_and(|t| t.len() >= 2),
            "{name} has no health check"
        );
    }
    // Images are pinned: `latest` would change what `docker compose up` runs without a commit.
    for name in ["postgres", "mailpit"] {
        let image = compose["services"][name]["image"]
            .as_str()
            .unwrap_or_default();
        let tag = image
            .rsplit_once(':')
            .map(|(_, tag)| tag)
            .unwrap_or_default();
        assert!(
            !tag.is_empty() && tag != "latest",
            "{name}: {image} is not pinned"
        );
    }
    let depends = &compose["services"]["eservices"]["depends_on"];
    for dependency in ["postgres", "mailpit"] {
        assert_eq!(
            depends[dependency]["condition"],
            Value::from("service_healthy"),
            "eservices must wait for {dependency} to be healthy"
        );
    }
    // The service's health check is a command the binary has.
    let test: Vec<String> = compose["services"]["eservices"]["healthcheck"]["test"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    assert_eq!(test, ["CMD", "eservices", "probe"]);
    let probe = std::process::Command::new(server_binary())
        .args(["probe", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(probe.status.success());
    assert_eq!(compose["services"]["eservices"]["build"], Value::from("."));
}

#[test]
fn the_image_runs_as_a_non_root_user_and_builds_the_whole_workspace() {
    let stage = runtime_stage();
    let user = stage
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .unwrap_or_else(|| panic!("the runtime stage sets no USER"));
    assert!(
        !matches!(user.trim(), "root" | "0" | "0:0"),
        "the service must not run as root"
    );
    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("HEALTHCHECK") && l.contains("\"eservices\", \"probe\"")),
        "the image checks its own health"
    );
    let environment = image_environment();
    let exposed: Vec<&str> = stage
        .iter()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .collect();
    assert_eq!(
        exposed,
        [environment
            .get("PORT")
            .map(String::as_str)
            .unwrap_or_default()]
    );
    assert_eq!(
        environment.get("APP_MODE").map(String::as_str),
        Some("production"),
        "an image listening on every address must not offer development tokens by default"
    );

    // The build stage copies every workspace member (Cargo resolves the whole workspace), and
    // its Rust is at least the workspace's rust-version.
    let dockerfile = repository_file("Dockerfile");
    let manifest: toml::Table = repository_file("Cargo.toml")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let members = manifest["workspace"]["members"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for member in members.iter().filter_map(toml::Value::as_str) {
        assert!(
            dockerfile.contains(&format!("COPY {member} ./{member}")),
            "the Dockerfile does not copy the workspace member {member}"
        );
    }
    let wanted = manifest["workspace"]["package"]["rust-version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let image = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .and_then(|rest| rest.split('-').next())
        .unwrap_or_default()
        .to_owned();
    let version = |v: &str| -> Vec<u32> { v.split('.').filter_map(|p| p.parse().ok()).collect() };
    assert!(
        version(&image) >= version(&wanted),
        "rust:{image} is older than rust-version {wanted}"
    );
    let ignored = repository_file(".dockerignore");
    for entry in ["target/", "data/", ".git/"] {
        assert!(
            ignored.lines().any(|l| l.trim() == entry),
            "{entry} is sent to the build"
        );
    }
}

/// `eservices probe`, the health check of the container, says yes to a live server and no to an
/// address where none listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_asks_the_server_it_runs_beside() {
    let Some(app) = eservices_tests::spawn_app(eservices_tests::Backend::Sqlite).await else {
        unreachable!()
    };
    let port = app
        .address
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let run = |port: String, path: &'static str| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(server_binary())
                .args(["probe", "--path", path, "--timeout", "5"])
                .env_clear()
                .env("HOST", "0.0.0.0")
                .env("PORT", port)
                .output()
                .unwrap_or_else(|e| panic!("{e}"))
        })
    };
    let ready = run(port.clone(), "/health/ready")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    let missing = run(port, "/no-such-route")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("404"));
    // Port 9 (discard) on loopback: nobody listens.
    let nobody = run("9".to_owned(), "/health/ready")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!nobody.status.success());
}
