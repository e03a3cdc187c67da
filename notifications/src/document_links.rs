//! Signed, expiring links to documents: what an SMS can carry, usable without a token. The link
//! names the application, the document and the expiry, signed with HMAC-SHA256 under a secret
//! of the service; an expired or altered link gets 403.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// The file in the data folder that keeps the development secret.
pub const DEV_SECRET_FILE: &str = "document-link-secret";
const SECRET_BYTES: usize = 32;

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// Not signed by this service, or altered.
    Invalid,
    /// Past its expiry.
    Expired,
}

#[derive(Clone)]
pub struct DocumentLinks {
    secret: Vec<u8>,
    lifetime: TimeDelta,
}

impl std::fmt::Debug for DocumentLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentLinks")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

impl DocumentLinks {
    pub fn new(secret: Vec<u8>, lifetime: TimeDelta) -> Self {
        Self { secret, lifetime }
    }

    /// The development secret in `data_dir`, made on first use.
    pub fn dev_secret(data_dir: &Path) -> std::io::Result<Vec<u8>> {
        let path = data_dir.join(DEV_SECRET_FILE);
        if let Some(secret) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| unhex(text.trim()))
        {
            return Ok(secret);
        }
        let secret: Vec<u8> = (0..SECRET_BYTES).map(|_| rand::random::<u8>()).collect();
        std::fs::create_dir_all(data_dir)?;
        std::fs::write(&path, hex(&secret))?;
        Ok(secret)
    }

    fn mac(&self, number: &str, id: i64, expires: i64) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(format!("{number}\n{id}\n{expires}").as_bytes());
        mac
    }

    /// A link to document `id` of application `number`, valid until now plus the lifetime.
    pub fn link(&self, number: &str, id: i64, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let expires_at = now + self.lifetime;
        let expires = expires_at.timestamp();
        let signature = hex(&self.mac(number, id, expires).finalize().into_bytes());
        (
            format!("/api/v1/document-links/{number}/{id}?expires={expires}&signature={signature}"),
            expires_at,
        )
    }

    /// Whether a link is this service's, unaltered and unexpired.
    pub fn verify(
        &self,
        number: &str,
        id: i64,
        expires: i64,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkRefused> {
        let signature = unhex(signature).ok_or(LinkRefused::Invalid)?;
        self.mac(number, id, expires)
            .verify_slice(&signature)
            .map_err(|_| LinkRefused::Invalid)?;
        if expires <= now.timestamp() {
            return Err(LinkRefused::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> DocumentLinks {
        DocumentLinks::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            TimeDelta::hours(72),
        )
    }

    fn parts(link: &str) -> (i64, String) {
        let query = link.split('?').nth(1).unwrap_or_default();
        let mut expires = 0;
        let mut signature = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("expires", value)) => expires = value.parse().unwrap_or_default(),
                Some(("signature", value)) => signature = value.to_owned(),
                _ => {}
            }
        }
        (expires, signature)
    }

    #[test]
    fn a_link_verifies_until_it_expires_and_not_when_altered() {
        let now = Utc::now();
        let (link, expires_at) = links().link("AC-2026-000001", 7, now);
        assert!(link.starts_with("/api/v1/document-links/AC-2026-000001/7?expires="));
        let (expires, signature) = parts(&link);
        assert_eq!(expires, expires_at.timestamp());
        assert!(
            links()
                .verify("AC-2026-000001", 7, expires, &signature, now)
                .is_ok()
        );
        let code = |r: Result<(), LinkRefused>| r.err();
        assert_eq!(
            code(links().verify("AC-2026-000001", 7, expires, &signature, expires_at)),
            Some(LinkRefused::Expired)
        );
        assert_eq!(
            code(links().verify("AC-2026-000001", 8, expires, &signature, now)),
            Some(LinkRefused::Invalid)
        );
        assert_eq!(
            code(links().verify("AC-2026-000002", 7, expires, &signature, now)),
            Some(LinkRefused::Invalid)
        );
        assert_eq!(
            code(links().verify("AC-2026-000001", 7, expires + 3600, &signature, now)),
            Some(LinkRefused::Invalid)
        );
        assert_eq!(
            code(links().verify("AC-2026-000001", 7, expires, "zz", now)),
            Some(LinkRefused::Invalid)
        );
        let other = DocumentLinks::new(
            b"another secret of thirty-two byt".to_vec(),
            TimeDelta::hours(72),
        );
        assert_eq!(
            code(other.verify("AC-2026-000001", 7, expires, &signature, now)),
            Some(LinkRefused::Invalid)
        );
    }
}
