//! Swagger UI in a real browser: Debian's Chromium, headless, driven by puppeteer-core
//! (`tests/browser/swagger-ui.mjs`), opens `/swagger-ui/` under a host name (as people reach it;
//! mapped to 127.0.0.1 inside Chromium, where no other name resolves), signs in through "Authorize" with a
//! development token, runs "My applications" through "Try it out" and "Execute", and must see a
//! 200 in the page's live response, with nothing refused by the page's Content-Security-Policy.
//! The full-page screenshot is kept at `target/test-artifacts/swagger-ui-my-applications.png`,
//! and one of the "My applications" block alone (readable: the full page is some 11000 pixels
//! tall) beside it, `swagger-ui-my-applications-operation.png`.
//!
//! The tools: Node.js (18 or later) with npm, and Chromium at `/usr/bin/chromium` (or where
//! `CHROMIUM` says). `.ci/run` installs Debian's `chromium`, `nodejs` and `npm`; when one is
//! missing and the test runs as root, it installs that Debian package itself, otherwise it fails
//! naming the package. puppeteer-core, pinned in `tests/browser/package.json` and its lock file,
//! is installed by `npm ci` under the build's target folder on first use (it brings no browser).
//! The test is never skipped.

use eservices_tests::{Backend, demo, spawn_app};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The folder with the script, its `package.json` and `package-lock.json`.
const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/browser");
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// The name the browser reaches the server by (mapped to 127.0.0.1 inside Chromium alone).
const HOST_NAME: &str = "eservices.test";
const ARTIFACT: &str = "swagger-ui-my-applications.png";
const OPERATION_ARTIFACT: &str = "swagger-ui-my-applications-operation.png";
/// The whole browser run may not take longer than this (each step has its own 60 s wait: the
/// rest of the suite runs beside it on 2 cores).
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// What the browser run needs.
#[derive(Debug)]
struct Tools {
    chromium: PathBuf,
    /// The folder whose `node_modules` holds puppeteer-core.
    prefix: PathBuf,
}

/// A line on the real standard error, which the test harness does not capture.
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn runs_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure `present()` holds: when it does not and this runs as root, installs the Debian
/// `packages` with apt-get (after `apt-get update`); otherwise fails naming them.
fn ensure(what: &str, packages: &[&str], present: impl Fn() -> bool) {
    if present() {
        return;
    }
    let names = packages.join(" ");
    assert!(
        runs_as_root(),
        "the Swagger UI browser test needs {what}: install Debian's {names} \
         (`apt-get install {names}`; `.ci/run` does), or run the tests as root to let it install them"
    );
    report(&format!(
        "installing Debian's {names} for the Swagger UI browser test"
    ));
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .stdin(Stdio::null())
        .status();
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status();
    assert!(
        present(),
        "the Swagger UI browser test needs {what}, and installing Debian's {names} did not bring it \
         (apt-get update: {update:?}, install: {install:?})"
    );
}

/// The major version of `node`, if it runs.
fn node_major() -> Option<u32> {
    let output = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Whether `dir` holds a complete install of exactly this lock file.
fn installed(dir: &Path, lock: &[u8]) -> bool {
    std::fs::read(dir.join("package-lock.json")).is_ok_and(|l| l == lock)
        && dir
            .join("node_modules/puppeteer-core/package.json")
            .is_file()
}

/// puppeteer-core of the committed lock file, installed by `npm ci` under the target folder (once
/// per lock file); the folder to give the script as `BROWSER_TEST_PREFIX`.
fn puppeteer_prefix() -> PathBuf {
    let source = Path::new(BROWSER_DIR);
    let lock = std::fs::read(source.join("package-lock.json"))
        .unwrap_or_else(|e| panic!("{BROWSER_DIR}/package-lock.json: {e}"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-tests");
    if installed(&target, &lock) {
        return target;
    }
    // Into a folder of its own first, renamed when complete: a run stopped halfway leaves no
    // broken install behind, and another test process installing beside this one is harmless.
    let partial = target.with_file_name(format!("browser-tests.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).unwrap_or_else(|e| panic!("{}: {e}", partial.display()));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), partial.join(file))
            .unwrap_or_else(|e| panic!("copying {file} to {}: {e}", partial.display()));
    }
    report(&format!(
        "installing puppeteer-core (tests/browser/package-lock.json) into {}",
        target.display()
    ));
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .args(["--loglevel", "error"])
        .current_dir(&partial)
        .stdin(Stdio::null())
        .status();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        let _ = std::fs::remove_dir_all(&partial);
        panic!(
            "`npm ci` of tests/browser/package-lock.json failed ({status:?}): the Swagger UI browser \
             test needs npm and the npm registry"
        );
    }
    if !installed(&target, &lock) {
        let _ = std::fs::remove_dir_all(&target);
        if std::fs::rename(&partial, &target).is_err() && !installed(&target, &lock) {
            panic!(
                "cannot move the install from {} to {}",
                partial.display(),
                target.display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&partial);
    assert!(
        installed(&target, &lock),
        "puppeteer-core is not installed in {}",
        target.display()
    );
    target
}

/// Node.js with npm, Chromium and puppeteer-core: found, or installed (once per test process).
fn tools() -> &'static Tools {
    static FOUND: OnceLock<Tools> = OnceLock::new();
    FOUND.get_or_init(|| {
        ensure("Node.js 18 or later", &["nodejs"], || {
            node_major().is_some_and(|major| major >= 18)
        });
        ensure("npm", &["npm"], || succeeds("npm", &["--version"]));
        let chromium = match std::env::var_os("CHROMIUM").filter(|c| !c.is_empty()) {
            Some(named) => {
                let named = PathBuf::from(named);
                assert!(
                    named.is_file(),
                    "CHROMIUM names {}, which is not a file",
                    named.display()
                );
                named
            }
            None => {
                ensure(
                    &format!("Chromium at {DEFAULT_CHROMIUM}"),
                    &["chromium"],
                    || Path::new(DEFAULT_CHROMIUM).is_file(),
                );
                PathBuf::from(DEFAULT_CHROMIUM)
            }
        };
        Tools {
            chromium,
            prefix: puppeteer_prefix(),
        }
    })
}

/// `target/test-artifacts`, beside the build's temporary folder `target/tmp`.
fn artifacts_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// The width and height of the PNG at `path`, which must be over `min_bytes` long.
fn png(path: &Path, min_bytes: usize) -> (u32, u32) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    let size = png_size(&bytes);
    assert!(
        bytes.len() > min_bytes,
        "{} is {} bytes: not a screenshot",
        path.display(),
        bytes.len()
    );
    size.unwrap_or_else(|| panic!("{} is not a PNG", path.display()))
}

/// The width and height of a PNG, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let signature: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(signature) || bytes.get(12..16) != Some(b"IHDR".as_slice()) {
        return None;
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes)
    };
    Some((word(16)?, word(20)?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_applications_runs_from_swagger_ui_in_chromium() {
    // The tools first: installing them blocks, and the server is not up yet.
    let tools = tools();
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        unreachable!("SQLite needs no configuration")
    };
    let started = Instant::now();
    // A development token of a demo resident, as a Swagger UI user gets one, and an application
    // of theirs for "My applications" to list.
    let token = app.token(demo::RESIDENT, None).await;
    assert!(!token.is_empty(), "the development route gave no token");
    let created = app
        .create(&token, json!({"kind": "meter-damage-investigation"}))
        .await;
    let number = created.assert_status(201)["number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let screenshot = artifacts_dir().join(ARTIFACT);
    let operation_shot = artifacts_dir().join(OPERATION_ARTIFACT);
    // A screenshot of an earlier run never passes for this one's.
    let _ = std::fs::remove_file(&screenshot);
    let _ = std::fs::remove_file(&operation_shot);
    let logs = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let stdout_path = logs.path().join("stdout");
    let stderr_path = logs.path().join("stderr");
    let stdout = std::fs::File::create(&stdout_path).unwrap_or_else(|e| panic!("{e}"));
    let stderr = std::fs::File::create(&stderr_path).unwrap_or_else(|e| panic!("{e}"));
    // The server under a host name, as people reach it: Swagger UI hides some of what it does on
    // 127.0.0.1 (its online validator badge, which the page's CSP refused).
    let port = app.address.rsplit(':').next().unwrap_or_default();
    let base = format!("http://{HOST_NAME}:{port}");
    let mut child = Command::new("node")
        .arg(Path::new(BROWSER_DIR).join("swagger-ui.mjs"))
        .arg(&base)
        .arg(&screenshot)
        .arg(&operation_shot)
        .env("SWAGGER_UI_TOKEN", &token)
        .env("SWAGGER_UI_RESOLVE", format!("{HOST_NAME}=127.0.0.1"))
        .env("CHROMIUM", &tools.chromium)
        .env("BROWSER_TEST_PREFIX", &tools.prefix)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"));
    // Polled, not waited for: the server under test runs on this test's runtime.
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > RUN_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the browser run took over {RUN_LIMIT:?}:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            Ok(None) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => panic!("waiting for node: {e}"),
        }
    };
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let outcome: Value = out
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("the browser run ({status}) printed no outcome:\n{out}\n{err}"));
    assert!(
        status.success(),
        "the browser run failed ({status}), screenshot {}:\n{err}\n{outcome:#}",
        screenshot.display()
    );
    assert_eq!(
        outcome["status"],
        json!(200),
        "Swagger UI showed another status for \"My applications\":\n{outcome:#}"
    );
    assert!(
        outcome["request_url"]
            .as_str()
            .is_some_and(|u| u == format!("{base}/api/v1/me/applications")),
        "{outcome:#}"
    );
    assert!(
        outcome["body"]
            .as_str()
            .is_some_and(|b| b.contains(&number)),
        "the response shown does not list the resident's application {number}:\n{outcome:#}"
    );
    assert_eq!(
        outcome["csp_violations"],
        json!([]),
        "the Content-Security-Policy of /swagger-ui/ refused what Swagger UI needs:\n{outcome:#}"
    );

    // The full page is the viewport's width and taller than it; the block is a part of it.
    let (width, height) = png(&screenshot, 20_000);
    assert!(
        width >= 1280 && height > 900,
        "{} is not a full-page screenshot: {width}x{height}",
        screenshot.display()
    );
    let (block_width, block_height) = png(&operation_shot, 5_000);
    assert!(
        block_width <= width && block_height < height && block_height > 200,
        "{} is not the operation's block: {block_width}x{block_height}",
        operation_shot.display()
    );
    let errors = outcome["console_errors"].as_array().map_or(0, Vec::len);
    report(&format!(
        "Swagger UI in {}: \"My applications\" answered {} in {:.1?} ({errors} console errors); \
         screenshots {} and {}",
        tools.chromium.display(),
        outcome["status"],
        started.elapsed(),
        screenshot.display(),
        operation_shot.display()
    ));
}
