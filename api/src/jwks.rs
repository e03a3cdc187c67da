//! Keys of the identity provider from its JWKS URL: fetched at start, refreshed on a schedule,
//! and refreshed when a token names a key not yet known (at most once per minimum interval, so
//! that made-up `kid`s cannot make the service hammer the provider). A key removed from the set
//! stops verifying at the next refresh. Only the configured asymmetric algorithms are accepted,
//! and a token's `alg` must be its key's.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A usable key and the one algorithm it verifies.
#[derive(Clone)]
pub struct VerificationKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct JwksSettings {
    pub url: url::Url,
    pub algorithms: Vec<Algorithm>,
    pub refresh_every: Duration,
    pub min_refresh_interval: Duration,
    pub timeout: Duration,
}

pub struct JwksKeys {
    settings: JwksSettings,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, VerificationKey>>,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for JwksKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksKeys")
            .field("url", &self.settings.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The algorithm a JWK is for: its `alg` when given, else what its key type implies.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        // Shorter RSA keys are breakable: a set that publishes one is not trusted with it.
        AlgorithmParameters::RSA(rsa) if rsa_bits(&rsa.n) >= 2048 => Algorithm::RS256,
        _ => return None,
    };
    match jwk.common.key_algorithm.map(|a| a.to_string()) {
        None => Some(implied),
        Some(named) if named == format!("{implied:?}") => Some(implied),
        // A key that says it is for something else than its type allows: not used.
        Some(_) => None,
    }
}

/// The size of an RSA modulus given base64url-encoded, in bits (leading zero bytes not counted).
fn rsa_bits(n: &str) -> usize {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(n.trim_end_matches('='))
        .map(|bytes| {
            let significant: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
            significant.len() * 8
        })
        .unwrap_or(0)
}

/// The most of a key set read.
const SET_LIMIT: usize = 256 * 1024;

impl JwksKeys {
    pub fn new(settings: JwksSettings) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect could lead from https to http, or elsewhere: the URL is the URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("JWKS client: {e}"))?;
        Ok(Arc::new(Self {
            settings,
            client,
            keys: RwLock::default(),
            last_fetch: tokio::sync::Mutex::default(),
        }))
    }

    pub fn algorithms(&self) -> &[Algorithm] {
        &self.settings.algorithms
    }

    pub fn key(&self, kid: &str) -> Option<VerificationKey> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// Fetches the set and replaces the keys. Keys without a `kid`, of other algorithms, or
    /// not meant for signatures are left out.
    pub async fn fetch(&self) -> Result<usize, String> {
        let mut response = self
            .client
            .get(self.settings.url.clone())
            .send()
            .await
            .map_err(|e| format!("JWKS: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("JWKS: HTTP {}", response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("JWKS: {}", e.without_url()))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > SET_LIMIT {
                return Err("JWKS: the key set is larger than 256 KiB".to_owned());
            }
        }
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| format!("JWKS: not a key set: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let for_signatures = !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            );
            let Some(algorithm) = algorithm_of(jwk)
                .filter(|a| for_signatures && self.settings.algorithms.contains(a))
            else {
                continue;
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, VerificationKey { key, algorithm });
                }
                Err(error) => tracing::warn!(%kid, %error, "JWKS: a key is not usable"),
            }
        }
        let count = keys.len();
        if count == 0 {
            // A provider's bad moment must not lock everyone out: the keys known stay.
            return Err("JWKS: the set has no usable key; the keys known stay".to_owned());
        }
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        tracing::info!(keys = count, "JWKS refreshed");
        Ok(count)
    }

    /// Whether any key is known (none: the provider was never reached).
    pub fn has_keys(&self) -> bool {
        !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Refreshes unless the last fetch was less than the minimum interval ago; whether it did.
    /// The fetch runs as a task of its own: a request that gives up cannot cancel it halfway
    /// and so use up the interval without a refresh.
    pub async fn refresh_if_due(self: &Arc<Self>) -> bool {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.settings.min_refresh_interval) {
            return false;
        }
        *last = Some(Instant::now());
        let keys = self.clone();
        let fetch = tokio::spawn(async move { keys.fetch().await });
        match fetch.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "JWKS refresh failed; the keys known stay"),
            Err(error) => tracing::warn!(%error, "JWKS refresh task failed"),
        }
        true
    }

    /// Refreshes on the schedule, for as long as the process runs.
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.settings.refresh_every).await;
            *self.last_fetch.lock().await = Some(Instant::now());
            if let Err(error) = self.fetch().await {
                tracing::warn!(%error, "scheduled JWKS refresh failed; the keys known stay");
            }
        }
    }
}
