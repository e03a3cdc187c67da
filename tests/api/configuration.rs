//! The configuration as the people who run the service meet it: the real binary's `--help`
//! describes every setting, a configuration file is read and checked, a wrong value stops the
//! service with a message naming the setting, and production refuses what belongs to
//! development.

use api::config_reference::SETTINGS;
use eservices_tests::process::server_binary;
use eservices_tests::{Backend, fresh_database, test_settings};
use std::process::{Command, Output};

/// Runs the binary with exactly `environment` (PATH kept) and `args`.
fn run(args: &[&str], environment: &[(&str, &str)]) -> Output {
    Command::new(server_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(environment.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the eservices binary: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_describes_every_setting_at_the_root_and_in_each_command() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["worker", "--help"],
        vec!["migrate", "--help"],
        vec!["seed", "--help"],
        vec!["token", "--help"],
    ] {
        let output = run(&args, &[]);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        let help = text(&output.stdout);
        for setting in SETTINGS {
            assert!(
                help.contains(&format!("  {}", setting.name)),
                "{args:?} does not describe {}",
                setting.name
            );
        }
        assert!(help.contains("--config <FILE>"), "{args:?}");
    }
    // Every option of every command has words of its own.
    let token = text(&run(&["token", "--help"], &[]).stdout);
    for option in [
        "--pin",
        "--employee",
        "--department",
        "--tin",
        "--role",
        "--login-method",
        "--minutes",
    ] {
        let line = token
            .lines()
            .find(|l| l.trim_start().starts_with(option))
            .unwrap_or_else(|| panic!("{option} missing"));
        let described = line
            .split_once('>')
            .map(|(_, rest)| rest.trim())
            .unwrap_or_default();
        let next = token
            .lines()
            .skip_while(|l| !l.trim_start().starts_with(option))
            .nth(1)
            .unwrap_or_default();
        assert!(
            !described.is_empty()
                || !next.trim().is_empty() && !next.trim_start().starts_with("--"),
            "{option} has no description: {line}"
        );
    }
}

#[test]
fn a_configuration_file_is_read_and_the_environment_wins_over_it() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let from_file = data.path().join("from-file");
    let from_environment = data.path().join("from-environment");
    let file = data.path().join("eservices.toml");
    std::fs::write(
        &file,
        format!(
            "DATA_DIR = {:?}\nDATABASE_POOL_SIZE = 3\nDEMO_DATA = false\nCORS_ALLOWED_ORIGINS = [\"https://e-gov.az\", \"https://www.e-gov.az\"]\n",
            from_file.display().to_string()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file_arg = file.display().to_string();

    // The file alone: migrate makes the SQLite file in the DATA_DIR it names.
    let output = run(&["--config", &file_arg, "migrate"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(from_file.join("eservices.sqlite").exists());

    // ESERVICES_CONFIG names the file too; DATA_DIR from the environment wins over the file's.
    let environment_dir = from_environment.display().to_string();
    let output = run(
        &["migrate"],
        &[
            ("ESERVICES_CONFIG", &file_arg),
            ("DATA_DIR", &environment_dir),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(from_environment.join("eservices.sqlite").exists());
}

#[test]
fn wrong_settings_stop_the_service_naming_the_setting() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, content: &str| {
        let path = data.path().join(name);
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
        path.display().to_string()
    };
    let cases = [
        (
            write("port.toml", "PORT = \"eighty\"\n"),
            "PORT=\"eighty\" is not valid: a number",
        ),
        (
            write("typo.toml", "DATABSE_URL = \"sqlite://x\"\n"),
            "DATABSE_URL is not a setting of this service",
        ),
        (
            write("float.toml", "PORT = 80.5\n"),
            "PORT must be a string, number, boolean or list of strings, not a fractional number",
        ),
        (
            write("broken.toml", "PORT = \n"),
            "cannot read the configuration file",
        ),
        (
            write("mode.toml", "APP_MODE = \"staging\"\n"),
            "APP_MODE=\"staging\" is not valid: development or production",
        ),
        (
            write("range.toml", "REQUEST_TIMEOUT_SECONDS = 0\n"),
            "REQUEST_TIMEOUT_SECONDS=\"0\" is not valid: 1 to 300",
        ),
        (
            write("reads.toml", "DATABASE_ASYNC_READS = \"sometimes\"\n"),
            "DATABASE_ASYNC_READS=\"sometimes\" is not valid: true or false",
        ),
    ];
    for (file, expected) in &cases {
        let output = run(&["--config", file, "migrate"], &[]);
        assert!(!output.status.success(), "{file} was accepted");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{file}: {stderr}");
    }
    let missing = data.path().join("absent.toml").display().to_string();
    let output = run(&["--config", &missing, "migrate"], &[]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("cannot read the configuration file"));
    // From the environment, the same words.
    let output = run(
        &["migrate"],
        &[("SMTP_HOST", "127.0.0.1"), ("SMTP_TLS", "ssl3")],
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("SMTP_TLS=\"ssl3\" is not valid: starttls, tls or none"));
}

/// The settings production would start with, but for `overrides`.
fn production(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = eservices_tests::PRODUCTION_SETTINGS
        .iter()
        .chain(&[
            ("CITIZEN_REGISTRY_URL", "http://127.0.0.1:9/v1/"),
            ("PROPERTY_REGISTRY_URL", "http://127.0.0.1:9/v1/"),
            ("BILLING_URL", "http://127.0.0.1:9/v1/"),
        ])
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (key, value) in overrides {
        values.retain(|(k, _)| k != key);
        values.push(((*key).to_owned(), (*value).to_owned()));
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_the_development_key_and_issuer() {
    let Some((database_url, data_dir)) = fresh_database(Backend::Sqlite) else {
        unreachable!()
    };
    let data = data_dir.path().display().to_string();
    // The development key pair of this data folder, as a development run made it.
    let development_key =
        api::auth::ensure_dev_key_pair(data_dir.path()).unwrap_or_else(|e| panic!("{e}"));
    // The same key copied under another name is refused by its content.
    let copied = data_dir.path().join("idp-public.pem");
    std::fs::copy(&development_key, &copied).unwrap_or_else(|e| panic!("{e}"));
    for key in [
        development_key.display().to_string(),
        copied.display().to_string(),
    ] {
        let values = production(&[("JWT_PUBLIC_KEY_FILE", key.as_str())]);
        let pairs: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let settings = test_settings(&database_url, data_dir.path(), &pairs);
        let refused = api::startup::Application::build(settings)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|m| m.contains("is the development key")),
            "{key}: {refused:?}"
        );
    }
    // The development issuer, through the real binary: the message names the setting.
    let other_key = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let made = api::auth::ensure_dev_key_pair(other_key.path()).unwrap_or_else(|e| panic!("{e}"));
    let idp_key = other_key.path().join("idp.pem");
    std::fs::rename(&made, &idp_key).unwrap_or_else(|e| panic!("{e}"));
    let idp_key = idp_key.display().to_string();
    let values = production(&[
        ("JWT_PUBLIC_KEY_FILE", idp_key.as_str()),
        ("JWT_ISSUER", api::config::DEV_ISSUER),
        ("DATABASE_URL", database_url.as_str()),
        ("DATA_DIR", data.as_str()),
    ]);
    let pairs: Vec<(&str, &str)> = values
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let output = run(&["migrate"], &pairs);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("JWT_ISSUER=\"eservices-development\" is not valid"),
        "{}",
        text(&output.stderr)
    );
}
