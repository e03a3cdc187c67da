//! Webhooks to integrators: each event POSTed as JSON, signed with the subscription's secret.
//!
//! `Eservices-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
//! receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant
//! time, and refuses a timestamp older than a few minutes (a replay). The `id` of the body is the
//! event's and stays the same on every retry and redelivery: receivers deduplicate by it.

use crate::channels::classify;
use domain::notifications::{AttemptOutcome, EventFacts, EventType};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
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
    public_only: bool,
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// A resolver that keeps only public addresses.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

impl WebhookSender {
    /// `public_only` (production): connect only to public addresses, checked after every DNS
    /// resolution, so that a subscription cannot reach the service's own network.
    pub fn new(timeout: Duration, public_only: bool) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder();
        if public_only {
            builder = builder.dns_resolver(std::sync::Arc::new(PublicAddressesOnly));
        }
        let client = builder
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "azerisiq-eservices-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            client,
            public_only,
        })
    }

    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        body: &WebhookBody<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AttemptOutcome {
        // An address written as such is not resolved: check it here.
        if self.public_only {
            let literal = url::Url::parse(url).ok().and_then(|u| match u.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            });
            if literal.is_some_and(|ip| !is_public(ip)) {
                return AttemptOutcome::Permanent("webhook: not a public address".to_owned());
            }
        }
        let json = match serde_json::to_vec(body) {
            Ok(json) => json,
            Err(e) => return AttemptOutcome::Permanent(format!("body: {e}")),
        };
        let timestamp = now.timestamp();
        let sent = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("traceparent", integrations::trace::outgoing_header())
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
            Err(e) => AttemptOutcome::Transient(format!("webhook: {}", e.without_url())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        let public = |s: &str| s.parse().map(is_public).unwrap_or(false);
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "198.18.0.1",
        ] {
            assert!(!public(private), "{private}");
        }
        for open in ["8.8.8.8", "85.132.0.1", "2a00:1450:4001::1"] {
            assert!(public(open), "{open}");
        }
    }

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
