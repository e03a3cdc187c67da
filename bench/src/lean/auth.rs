//! Bearer tokens checked as the service checks them (api/src/auth.rs): EdDSA (or ES256) with the
//! configured public key (the development key in DATA_DIR by default), `iss`, `aud`, `exp` and
//! `nbf` with a leeway; verified tokens remembered for at most a minute and never past `exp`.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            Self::One(one) => vec![one.as_str()],
            Self::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    tin: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    amr: Option<OneOrMany>,
    exp: i64,
}

/// An applicant: who signed in, for which business, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub pin: String,
    pub tin: Option<String>,
    pub login_method: &'static str,
}

/// Why a token is refused: 401 `unauthenticated`, or 403 `forbidden-role` for a valid token of
/// someone who is not an applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unauthenticated,
    NotAnApplicant,
}

const RECENT_SECONDS: u64 = 60;
const RECENT_MAX: usize = 10_000;

/// A token's verdict, its expiry (Unix seconds) and when it was checked.
type Verdict = (Result<Principal, Refusal>, i64, Instant);

pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    leeway: i64,
    recent: Mutex<HashMap<String, Verdict>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(
        pem: &[u8],
        es256: bool,
        issuer: &str,
        audience: &str,
        leeway: u64,
    ) -> anyhow::Result<Self> {
        let (key, algorithm) = if es256 {
            (DecodingKey::from_ec_pem(pem)?, Algorithm::ES256)
        } else {
            (DecodingKey::from_ed_pem(pem)?, Algorithm::EdDSA)
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.leeway = leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self {
            key,
            validation,
            leeway: i64::try_from(leeway).unwrap_or(i64::MAX),
            recent: Mutex::default(),
        })
    }

    /// The applicant of an `Authorization` header's value.
    pub fn applicant(&self, authorization: Option<&str>) -> Result<Principal, Refusal> {
        let token = authorization
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(Refusal::Unauthenticated)?;
        let now = chrono::Utc::now().timestamp();
        if let Ok(recent) = self.recent.lock()
            && let Some((answer, exp, at)) = recent.get(token)
            && at.elapsed() < Duration::from_secs(RECENT_SECONDS)
            && now <= exp.saturating_add(self.leeway)
        {
            return answer.clone();
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|_| Refusal::Unauthenticated)?
            .claims;
        let answer = principal_of(&claims);
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() >= RECENT_MAX {
                recent.clear();
            }
            recent.insert(
                token.to_owned(),
                (answer.clone(), claims.exp, Instant::now()),
            );
        }
        answer
    }
}

/// The applicant a verified token names (api/src/auth.rs, `VerifiedToken::applicant`; service
/// accounts acting for someone are not served here).
fn principal_of(claims: &Claims) -> Result<Principal, Refusal> {
    let roles: Vec<&str> = match &claims.roles {
        None => vec!["applicant"],
        Some(roles) => roles.iter().map(String::as_str).collect(),
    };
    if !roles.contains(&"applicant") || roles.contains(&"integrator") {
        return Err(Refusal::NotAnApplicant);
    }
    let pin = claims.sub.trim().to_ascii_uppercase();
    if pin.len() != 7
        || !pin
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(Refusal::Unauthenticated);
    }
    let tin = match claims.tin.as_deref().map(str::trim) {
        None => None,
        Some(tin) if tin.len() == 10 && tin.chars().all(|c| c.is_ascii_digit()) => {
            Some(tin.to_owned())
        }
        Some(_) => return Err(Refusal::Unauthenticated),
    };
    let login_method = claims
        .amr
        .as_ref()
        .and_then(|amr| {
            amr.items().into_iter().find_map(|m| match m {
                "e-signature" => Some("e-signature"),
                "asan-imza" => Some("asan-imza"),
                "password" => Some("password"),
                _ => None,
            })
        })
        .ok_or(Refusal::Unauthenticated)?;
    Ok(Principal {
        pin,
        tin,
        login_method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(roles: Option<Vec<&str>>, amr: &str) -> Claims {
        Claims {
            sub: "5r7kq2m".to_owned(),
            tin: None,
            roles: roles.map(|r| r.into_iter().map(str::to_owned).collect()),
            amr: Some(OneOrMany::Many(vec![amr.to_owned()])),
            exp: 0,
        }
    }

    #[test]
    fn applicants_only() {
        assert_eq!(
            principal_of(&claims(None, "asan-imza")),
            Ok(Principal {
                pin: "5R7KQ2M".to_owned(),
                tin: None,
                login_method: "asan-imza"
            })
        );
        assert_eq!(
            principal_of(&claims(Some(vec!["operator"]), "password")),
            Err(Refusal::NotAnApplicant)
        );
        assert_eq!(
            principal_of(&claims(None, "fingerprint")),
            Err(Refusal::Unauthenticated)
        );
    }
}
