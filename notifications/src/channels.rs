//! The applicant's channels: e-mail over SMTP (lettre) and SMS through the company's HTTP
//! gateway, each with a log stand-in for development. Each call has a timeout and says whether
//! a failure is worth retrying.
//!
//! The SMS gateway contract (docs/NOTIFICATIONS.md): `POST {SMS_GATEWAY_URL}` with
//! `{"from", "to", "text", "encoding": "gsm7"|"ucs2", "segments", "reference"}` and
//! `Authorization: Bearer {SMS_GATEWAY_TOKEN}`; a 2xx answer accepts it and may name the
//! gateway's `message_id`; 408, 429 and 5xx are retried, any other status is final.

use crate::settings::{SmsGatewaySettings, SmtpSettings, SmtpTls};
use domain::notifications::AttemptOutcome;
use domain::notifications::sms::SmsLength;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// An e-mail ready to send.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Our id of the message, as a header for tracing.
    pub reference: &'a str,
}

pub enum EmailChannel {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// Development without an SMTP server: the e-mail goes to the log.
    Log,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { from, .. } => write!(f, "EmailChannel::Smtp(from {from})"),
            Self::Log => write!(f, "EmailChannel::Log"),
        }
    }
}

impl EmailChannel {
    pub fn smtp(settings: &SmtpSettings, from: &str, timeout: Duration) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM {from:?}: {e}"))?;
        let builder = match settings.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(|e| format!("SMTP_HOST {}: {e}", settings.host))?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("SMTP_HOST {}: {e}", settings.host))?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self::Smtp {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, email: &Email<'_>) -> AttemptOutcome {
        match self {
            Self::Log => {
                tracing::info!(
                    channel = "email",
                    reference = email.reference,
                    subject = email.subject,
                    "e-mail written to the log (no SMTP_HOST)"
                );
                AttemptOutcome::Sent { reference: None }
            }
            Self::Smtp { transport, from } => {
                let to: Mailbox = match email.to.parse() {
                    Ok(to) => to,
                    Err(e) => return AttemptOutcome::Permanent(format!("recipient: {e}")),
                };
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject)
                    .header(ReferenceHeader(email.reference.to_owned()))
                    .multipart(MultiPart::alternative_plain_html(
                        email.text.to_owned(),
                        email.html.to_owned(),
                    ));
                let message = match message {
                    Ok(message) => message,
                    Err(e) => return AttemptOutcome::Permanent(format!("message: {e}")),
                };
                match transport.send(message).await {
                    Ok(response) => AttemptOutcome::Sent {
                        reference: response.message().next().map(str::to_owned),
                    },
                    Err(e) if e.is_permanent() => AttemptOutcome::Permanent(format!("smtp: {e}")),
                    Err(e) => AttemptOutcome::Transient(format!("smtp: {e}")),
                }
            }
        }
    }
}

/// `X-Eservices-Message-Id`: our id of the message, so that a bounce or a complaint can be
/// traced back to it.
#[derive(Debug, Clone)]
struct ReferenceHeader(String);

impl header::Header for ReferenceHeader {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("X-Eservices-Message-Id")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// An SMS ready to send.
#[derive(Debug, Clone)]
pub struct Sms<'a> {
    pub to: &'a str,
    pub text: &'a str,
    pub length: SmsLength,
    pub reference: &'a str,
}

#[derive(Debug)]
pub enum SmsChannel {
    Gateway(SmsGateway),
    /// Development without a gateway: the SMS goes to the log.
    Log,
}

impl SmsChannel {
    pub async fn send(&self, sms: &Sms<'_>) -> AttemptOutcome {
        match self {
            Self::Gateway(gateway) => gateway.send(sms).await,
            Self::Log => {
                tracing::info!(
                    channel = "sms",
                    reference = sms.reference,
                    segments = sms.length.segments,
                    text = sms.text,
                    "SMS written to the log (no SMS_GATEWAY_URL)"
                );
                AttemptOutcome::Sent { reference: None }
            }
        }
    }
}

#[derive(Debug)]
pub struct SmsGateway {
    client: reqwest::Client,
    settings: SmsGatewaySettings,
    sender: String,
}

#[derive(serde::Serialize)]
struct GatewayRequest<'a> {
    from: &'a str,
    to: &'a str,
    text: &'a str,
    encoding: &'a str,
    segments: usize,
    reference: &'a str,
}

#[derive(serde::Deserialize)]
struct GatewayResponse {
    #[serde(default)]
    message_id: Option<String>,
}

/// The longest piece of an error body kept in the delivery log.
const BODY_EXCERPT: usize = 200;

impl SmsGateway {
    pub fn new(
        settings: SmsGatewaySettings,
        sender: String,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("SMS gateway client: {e}"))?;
        Ok(Self {
            client,
            settings,
            sender,
        })
    }

    async fn send(&self, sms: &Sms<'_>) -> AttemptOutcome {
        let mut request = self
            .client
            .post(self.settings.url.clone())
            // A delivery starts a trace of its own: it runs after the request that queued it.
            .header("traceparent", integrations::trace::outgoing_header())
            .json(&GatewayRequest {
                from: &self.sender,
                to: sms.to,
                text: sms.text,
                encoding: sms.length.encoding.as_str(),
                segments: sms.length.segments,
                reference: sms.reference,
            });
        if let Some(token) = &self.settings.token {
            request = request.bearer_auth(token);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return AttemptOutcome::Transient("SMS gateway: timed out".to_owned());
            }
            Err(e) => {
                return AttemptOutcome::Transient(format!("SMS gateway: {}", e.without_url()));
            }
        };
        classify(response, "SMS gateway", |body| {
            serde_json::from_str::<GatewayResponse>(body)
                .ok()
                .and_then(|r| r.message_id)
        })
        .await
    }
}

/// The most of an answer read: enough for a gateway's id or an error's first words, never a
/// whole page an outside server chooses to send.
const ANSWER_LIMIT: usize = 4096;

async fn read_limited(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= ANSWER_LIMIT {
            bytes.truncate(ANSWER_LIMIT);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// 2xx is accepted; 408, 429 and 5xx are worth retrying; any other status is final.
pub async fn classify(
    response: reqwest::Response,
    system: &str,
    reference: impl Fn(&str) -> Option<String>,
) -> AttemptOutcome {
    let status = response.status();
    let body = match read_limited(response).await {
        Ok(body) => body,
        Err(e) if status.is_success() => {
            return AttemptOutcome::Transient(format!(
                "{system}: reading the answer: {}",
                e.without_url()
            ));
        }
        Err(_) => String::new(),
    };
    if status.is_success() {
        return AttemptOutcome::Sent {
            reference: reference(&body),
        };
    }
    let excerpt: String = body.chars().take(BODY_EXCERPT).collect();
    let reason = format!("{system}: HTTP {} {}", status.as_u16(), excerpt.trim());
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        AttemptOutcome::Transient(reason)
    } else {
        AttemptOutcome::Permanent(reason)
    }
}
