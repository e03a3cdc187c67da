//! The settings of the dispatcher and its channels, read by the service's configuration
//! (`api/src/config.rs`, where each is documented in `config_reference.rs`).

use std::time::Duration;

/// A value that never appears in logs or debug output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a server on the same host or network (Mailpit, tests).
    None,
    /// STARTTLS on the submission port (587), required.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct SmsGatewaySettings {
    pub url: url::Url,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<String>,
}

impl std::fmt::Debug for SmsGatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGatewaySettings")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Where the dispatcher runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatcherMode {
    /// In the server process (the default).
    Embedded,
    /// Not in the server: `eservices worker` runs it.
    Off,
}

#[derive(Debug, Clone)]
pub struct NotificationSettings {
    pub dispatcher: DispatcherMode,
    /// How long an idle dispatcher waits before looking again.
    pub poll_interval: Duration,
    pub batch_size: i64,
    /// How long a claimed message is held before another dispatcher may take it.
    pub lease: Duration,
    /// Retry schedule: first wait, longest wait, attempts.
    pub retry_base: Duration,
    pub retry_max_delay: Duration,
    pub retry_max_attempts: u32,
    /// E-mail over SMTP; unset: e-mails are written to the log (development only).
    pub smtp: Option<SmtpSettings>,
    pub mail_from: String,
    /// SMS through the HTTP gateway; unset: SMS texts are written to the log (development only).
    pub sms_gateway: Option<SmsGatewaySettings>,
    pub sms_sender: String,
    pub sms_max_segments: usize,
    /// The bearer token the SMS gateway's delivery reports carry; reports are refused unset.
    pub sms_delivery_report_token: Option<Secret>,
    /// Webhooks may go to loopback and private addresses (development and tests only; in
    /// production a subscription cannot reach the service's own network).
    pub private_webhooks: bool,
    /// Timeout of each SMTP, SMS gateway and webhook call.
    pub send_timeout: Duration,
    /// The service's public address, the start of document links in SMS texts.
    pub public_base_url: String,
}
