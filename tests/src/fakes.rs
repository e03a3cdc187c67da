//! Real local servers that play the outside systems: an SMTP server (Python's aiosmtpd writing a
//! maildir), an SMS gateway and a webhook receiver (small actix-web servers that record what
//! they get and can be told to fail, stall or go down).

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A port nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Serves `configure`'s routes on a free loopback port, in the background, for as long as the
/// test runs; the port. The fake outside systems of the tests are all served so.
pub fn serve(
    workers: usize,
    configure: impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(workers)
        .listen(listener)
        .unwrap_or_else(|e| panic!("{e}"))
        .run();
    tokio::spawn(server);
    port
}

/// A Python interpreter with aiosmtpd: Debian's (`python3-aiosmtpd`, installed by `.ci/run`),
/// or the one on PATH, which gets it from PyPI when it lacks it.
fn python_with_aiosmtpd() -> String {
    let has = |python: &str| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for python in ["/usr/bin/python3", "python3"] {
        if has(python) {
            return python.to_owned();
        }
    }
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if installed && has("python3") {
        return "python3".to_owned();
    }
    panic!("no Python with aiosmtpd: install python3-aiosmtpd (apt) or aiosmtpd (pip)")
}

/// An SMTP server on a free port that keeps every message in a maildir.
#[derive(Debug)]
pub struct SmtpServer {
    pub port: u16,
    process: Child,
    maildir: tempfile::TempDir,
}

/// A received e-mail, parsed.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub reference: String,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let port = free_port();
        let maildir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut process = Command::new(python_with_aiosmtpd())
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd: {e}"));
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    process,
                    maildir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = process.kill();
        let _ = process.wait();
        panic!("aiosmtpd did not start on port {port}");
    }

    fn files(&self) -> Vec<PathBuf> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(new)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.files()
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .map(|raw| parse_mail(&raw))
            .collect()
    }
}

fn parse_mail(raw: &[u8]) -> ReceivedMail {
    use mailparse::MailHeaderMap;
    let mail = mailparse::parse_mail(raw).unwrap_or_else(|e| panic!("not an e-mail: {e}"));
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let part = |mime: &str| {
        mail.subparts
            .iter()
            .find(|p| p.ctype.mimetype == mime)
            .and_then(|p| p.get_body().ok())
            .unwrap_or_default()
    };
    ReceivedMail {
        to: header("To"),
        subject: header("Subject"),
        text: part("text/plain"),
        html: part("text/html"),
        reference: header("X-Eservices-Message-Id"),
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// What the fake SMS gateway does with the next requests.
#[derive(Debug, Default)]
pub struct GatewayBehaviour {
    /// Answer this many requests with 503 first.
    pub fail_first: AtomicUsize,
    /// Answer every request with 503.
    pub always_fail: AtomicBool,
    /// Answer every request with 400 (a number the gateway refuses).
    pub refuse: AtomicBool,
    /// Wait this long (ms) before answering the next this-many requests.
    pub stall_ms: AtomicU64,
    pub stall_count: AtomicUsize,
}

/// A local HTTP server that plays the SMS gateway: records every request body and answers as
/// told.
#[derive(Debug, Clone)]
pub struct FakeSmsGateway {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
    pub behaviour: Arc<GatewayBehaviour>,
}

impl FakeSmsGateway {
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let behaviour: Arc<GatewayBehaviour> = Arc::default();
        let (r, b) = (received.clone(), behaviour.clone());
        let port = serve(1, move |config| {
            config
                .app_data(web::Data::new((r.clone(), b.clone())))
                .route("/send", web::post().to(gateway_send));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/send"),
            received,
            behaviour,
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

type GatewayState = (Arc<Mutex<Vec<Value>>>, Arc<GatewayBehaviour>);

async fn gateway_send(
    state: web::Data<GatewayState>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    let (received, behaviour) = state.get_ref();
    let mut body = body.into_inner();
    body["authorization"] = json!(
        request
            .headers()
            .get("Authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    );
    if let Ok(mut all) = received.lock() {
        all.push(body.clone());
    }
    let stall = behaviour.stall_count.load(Ordering::SeqCst);
    if stall > 0 {
        behaviour.stall_count.store(stall - 1, Ordering::SeqCst);
        let ms = behaviour.stall_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if behaviour.refuse.load(Ordering::SeqCst) {
        return HttpResponse::BadRequest().json(json!({"error": "invalid destination number"}));
    }
    let fail_first = behaviour.fail_first.load(Ordering::SeqCst);
    if fail_first > 0 {
        behaviour.fail_first.store(fail_first - 1, Ordering::SeqCst);
        return HttpResponse::ServiceUnavailable().json(json!({"error": "overloaded"}));
    }
    if behaviour.always_fail.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().json(json!({"error": "overloaded"}));
    }
    let reference = body["reference"].as_str().unwrap_or_default();
    HttpResponse::Accepted().json(json!({"message_id": format!("gw-{reference}")}))
}

/// A received webhook call.
#[derive(Debug, Clone)]
pub struct WebhookCall {
    pub signature: String,
    pub event_id: String,
    pub body: Vec<u8>,
}

/// A local HTTP server that plays an integrator's webhook receiver; it can be down (503).
#[derive(Debug, Clone)]
pub struct WebhookReceiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<WebhookCall>>>,
    pub down: Arc<AtomicBool>,
    /// Calls refused while down.
    pub refused: Arc<AtomicUsize>,
}

type ReceiverState = (
    Arc<Mutex<Vec<WebhookCall>>>,
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
);

impl WebhookReceiver {
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<WebhookCall>>> = Arc::default();
        let down: Arc<AtomicBool> = Arc::default();
        let refused: Arc<AtomicUsize> = Arc::default();
        let state = (received.clone(), down.clone(), refused.clone());
        let port = serve(1, move |config| {
            config
                .app_data(web::Data::new(state.clone()))
                .route("/hook", web::post().to(receive));
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            received,
            down,
            refused,
        }
    }

    pub fn calls(&self) -> Vec<WebhookCall> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

async fn receive(
    state: web::Data<ReceiverState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (received, down, refused) = state.get_ref();
    if down.load(Ordering::SeqCst) {
        refused.fetch_add(1, Ordering::SeqCst);
        return HttpResponse::ServiceUnavailable().finish();
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    if let Ok(mut all) = received.lock() {
        all.push(WebhookCall {
            signature: header("Eservices-Signature"),
            event_id: header("Eservices-Event-Id"),
            body: body.to_vec(),
        });
    }
    HttpResponse::NoContent().finish()
}

/// Checks a webhook signature as a receiver would, with its own HMAC: `t=…,v1=…` over
/// `"{t}.{body}"`.
pub fn signature_verifies(secret: &str, header: &str, body: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: Vec<u8> = (0..v1.len())
        .step_by(2)
        .filter_map(|i| {
            v1.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    mac.verify_slice(&expected).is_ok()
}

/// Waits until `done` holds, up to `seconds`.
pub async fn eventually(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..seconds * 20 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}
