//! Webhooks to integrators: each event POSTed as JSON, signed with the subscription's secret.
//!
//! `Eservices-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
//! receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant
//! time, and refuses a timestamp older than a few minutes (a replay). The `id` of the body is the
//! event's and stays the same on every retry and redelivery: receivers deduplicate by it.

use crate::notify::channels::classify;
use domain::notifications::{AttemptOutcome, EventFacts, EventType};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "Eservices-Signature";
pub const EVENT_ID_HEADER: &str = "Eservices-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "Eservices-Event-Type";

/// The JSON body of a webhook call.
#[derive(Debug, serde::Serialize)]
pub struct WebhookBody<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// This delivery's attempt, from 1.
    pub attempt: u32,
    pub data: &'a EventFacts,
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={digest}")
}

#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
}

impl WebhookSender {
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "azerisiq-eservices-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { client })
    }

    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        body: &WebhookBody<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AttemptOutcome {
        let json = match serde_json::to_vec(body) {
            Ok(json) => json,
            Err(e) => return AttemptOutcome::Permanent(format!("body: {e}")),
        };
        let timestamp = now.timestamp();
        let sent = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(secret.as_bytes(), timestamp, &json),
            )
            .header(EVENT_ID_HEADER, body.id)
            .header(EVENT_TYPE_HEADER, body.event_type.as_str())
            .body(json)
            .send()
            .await;
        match sent {
            // A receiver that refuses may be misconfigured for a while: every failure is
            // retried until the attempts run out, and an admin can redeliver after that.
            Ok(response) => match classify(response, "webhook", |_| None).await {
                AttemptOutcome::Permanent(reason) => AttemptOutcome::Transient(reason),
                other => other,
            },
            Err(e) if e.is_timeout() => AttemptOutcome::Transient("webhook: timed out".to_owned()),
            Err(e) => AttemptOutcome::Transient(format!("webhook: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = signature(b"secret", 1_790_000_000, b"{\"id\":\"1\"}");
        assert!(a.starts_with("t=1790000000,v1="));
        assert_eq!(a.len(), "t=1790000000,v1=".len() + 64);
        assert_ne!(a, signature(b"secret", 1_790_000_001, b"{\"id\":\"1\"}"));
        assert_ne!(a, signature(b"secret", 1_790_000_000, b"{\"id\":\"2\"}"));
        assert_ne!(a, signature(b"other", 1_790_000_000, b"{\"id\":\"1\"}"));
        // The example of docs/NOTIFICATIONS.md, computed independently with Python's hmac.
        let documented = signature(
            b"whsec_0123456789abcdef0123456789abcdef",
            1_790_000_000,
            br#"{"id":"0b6f2c7e-3f0c-4c35-9d8e-5b1a2f6d7c10","type":"registered"}"#,
        );
        assert_eq!(
            documented,
            "t=1790000000,v1=987f601faaa960cd6da6cde223912955c063a69bfceacf560fc5ce7d2ad99812"
        );
    }
}
