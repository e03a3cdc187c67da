//! Authentication: bearer JWTs verified with a public key (EdDSA or ES256 from a file), or with
//! the identity provider's JWKS (`jwks.rs`: by `kid`, EdDSA, ES256 or RS256 as allowed), `exp`/
//! `nbf` with a small leeway, `iss` and `aud`. `alg: none` and HMAC tokens never pass: only the
//! asymmetric algorithm of the verifying key is accepted. In development the service makes its
//! own Ed25519 key pair in the data folder and can sign tokens with it.

use crate::config::{JwtAlgorithm, JwtSettings};
use crate::jwks::{JwksKeys, VerificationKey};
use crate::problem::{ApiError, ErrorCode};
use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use domain::access_log::{Reader, ReaderKind};
use domain::back_office::Staff;
use domain::identity::{Applicant, LoginMethod, Pin, Role, Tin};
use domain::routing::DepartmentCode;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The claims this service reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The person's PIN (FİN).
    pub sub: String,
    /// The business's VÖEN, when the person acts for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tin: Option<String>,
    /// Roles; absent means `["applicant"]`, as in the portal's citizen tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The login method: `e-signature`, `asan-imza` or `password`, alone or as RFC 8176 list.
    /// Required of applicants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<AuthenticationMethods>,
    /// An operator's department code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// A service account's scopes, space-separated (`applications:read applications:write`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub iss: String,
    /// One audience or several (RFC 7519); jsonwebtoken checks it against the configured one.
    pub aud: Audience,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuthenticationMethods {
    One(String),
    Many(Vec<String>),
}

impl AuthenticationMethods {
    fn login_method(&self) -> Option<LoginMethod> {
        match self {
            Self::One(method) => LoginMethod::parse(method),
            Self::Many(methods) => methods.iter().find_map(|m| LoginMethod::parse(m)),
        }
    }
}

/// An applicant, from a verified token with the `applicant` role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub pin: Pin,
    pub tin: Option<Tin>,
    pub login_method: LoginMethod,
}

impl Principal {
    pub fn applicant(&self) -> Applicant {
        Applicant {
            pin: self.pin.clone(),
            tin: self.tin.clone(),
            login_method: self.login_method,
        }
    }
}

/// The checked claims of a token, before the operation says who it is for.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: Claims,
    roles: Vec<Role>,
}

/// An employee's, administrator's or client's identifier: 1 to 64 characters (not bytes: names
/// may be written in Azerbaijani letters), no control characters.
pub fn is_identifier(id: &str) -> bool {
    (1..=64).contains(&id.chars().count()) && !id.chars().any(char::is_control)
}

fn refuse(why: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, why.to_owned())
}

impl VerifiedToken {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The token's subject: a PIN, an employee id, or a service account's client id.
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }

    /// Who a request's `Idempotency-Key` (and rate limit) belongs to: the subject and the
    /// business it acts for; for a service account also the applicant and business it acts for
    /// (`X-On-Behalf-Of`, `-Tin`), so that a portal's applicants never share keys. As JSON: no
    /// separator inside a value can make two owners equal.
    pub fn key_owner(&self, headers: &actix_web::http::header::HeaderMap) -> String {
        let on_behalf = |name: &str| {
            self.integrator()
                .and(headers.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_ascii_uppercase)
        };
        serde_json::json!([
            self.claims.sub,
            self.claims.tin,
            on_behalf(ON_BEHALF_OF),
            on_behalf(ON_BEHALF_OF_TIN)
        ])
        .to_string()
    }

    /// Whether the token names the integrator role at all.
    fn claims_integrator(&self) -> bool {
        self.claims
            .roles
            .as_ref()
            .is_some_and(|roles| roles.iter().any(|r| r == INTEGRATOR_ROLE))
    }

    /// The client id of a service account, when this is one: `roles` exactly `["integrator"]`
    /// (a service account is never also a person, staff or admin) and no login method (it did
    /// not sign in as a person).
    pub fn integrator(&self) -> Option<&str> {
        let is_integrator = self
            .claims
            .roles
            .as_ref()
            .is_some_and(|roles| roles.len() == 1 && roles[0] == INTEGRATOR_ROLE)
            && self.claims.amr.is_none();
        let id = self.claims.sub.trim();
        (is_integrator && is_identifier(id)).then_some(id)
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.claims
            .scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|granted| granted == scope))
    }

    /// The applicant: the subject must be a PIN and the token must name the login method.
    pub fn applicant(&self) -> Result<Principal, ApiError> {
        if !self.has_role(Role::Applicant) || self.claims_integrator() {
            return Err(ApiError::new(
                ErrorCode::ForbiddenRole,
                "this operation is for applicants",
            ));
        }
        let pin =
            Pin::parse(&self.claims.sub).map_err(|_| refuse("the token's subject is not a PIN"))?;
        let tin = self
            .claims
            .tin
            .as_deref()
            .map(Tin::parse)
            .transpose()
            .map_err(|_| refuse("the token's tin is not a VÖEN"))?;
        let login_method = self
            .claims
            .amr
            .as_ref()
            .and_then(AuthenticationMethods::login_method)
            .ok_or_else(|| refuse("the token's amr names no known login method"))?;
        Ok(Principal {
            pin,
            tin,
            login_method,
        })
    }

    /// The staff member: a supervisor, or an operator with a department.
    pub fn staff(&self) -> Result<Staff, ApiError> {
        if self.claims_integrator() {
            return Err(ApiError::new(
                ErrorCode::ForbiddenRole,
                "a service account is not staff",
            ));
        }
        let role = if self.has_role(Role::Supervisor) {
            Role::Supervisor
        } else if self.has_role(Role::Operator) {
            Role::Operator
        } else {
            return Err(ApiError::new(
                ErrorCode::ForbiddenRole,
                "this operation is for the company's staff",
            ));
        };
        let id = self.claims.sub.trim();
        if !is_identifier(id) {
            return Err(refuse("the token's subject is not an employee identifier"));
        }
        let department = self
            .claims
            .department
            .as_deref()
            .map(DepartmentCode::parse)
            .transpose()
            .map_err(|_| refuse("the token's department is not a department code"))?;
        if role == Role::Operator && department.is_none() {
            return Err(ApiError::new(
                ErrorCode::NoDepartment,
                "an operator's token must name the department",
            ));
        }
        Ok(Staff {
            id: id.to_owned(),
            role,
            department,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the development key to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key in {path} is not a usable {algorithm} PEM key: {reason}")]
    Invalid {
        path: PathBuf,
        algorithm: &'static str,
        reason: String,
    },
    #[error(
        "JWT_PUBLIC_KEY_FILE={path} is the development key: production verifies the identity provider's key only"
    )]
    DevelopmentKeyInProduction { path: PathBuf },
}

/// Production refuses the development key: by its file name, or by its content when a copy of
/// the data folder's development key was put elsewhere. Whoever can read the data folder of a
/// development install can sign tokens for it.
pub fn refuse_development_key(public_key_file: &Path, data_dir: &Path) -> Result<(), KeyError> {
    let refused = || KeyError::DevelopmentKeyInProduction {
        path: public_key_file.to_owned(),
    };
    if public_key_file.file_name() == Some(std::ffi::OsStr::new(DEV_PUBLIC_KEY_FILE)) {
        return Err(refused());
    }
    let given = std::fs::read(public_key_file).map_err(|source| KeyError::Read {
        path: public_key_file.to_owned(),
        source,
    })?;
    match std::fs::read(data_dir.join(DEV_PUBLIC_KEY_FILE)) {
        Ok(development) if development == given => Err(refused()),
        _ => Ok(()),
    }
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct Authenticator {
    source: KeySource,
    validation: Validation,
    recent: Arc<RecentTokens>,
}

/// Tokens verified lately, by the SHA-256 of their exact text. A portal sends the same token
/// with every call of a session, and checking an Ed25519 or ES256 signature is the most costly
/// step of a small request; a token is taken from here only while it has not expired and for at
/// most `RECENT_TOKEN_SECONDS`, so that a key withdrawn from the identity provider's JWKS stops
/// being accepted within that time.
#[derive(Debug, Default)]
struct RecentTokens {
    entries:
        std::sync::Mutex<std::collections::HashMap<[u8; 32], (VerifiedToken, std::time::Instant)>>,
}

const RECENT_TOKEN_SECONDS: u64 = 60;
/// Beyond this many, the remembered tokens are forgotten at once (a simple bound on memory:
/// about 1 KB each).
const RECENT_TOKENS_MAX: usize = 10_000;

impl RecentTokens {
    fn get(&self, digest: &[u8; 32], leeway_seconds: u64) -> Option<VerifiedToken> {
        let entries = self.entries.lock().ok()?;
        let (token, verified_at) = entries.get(digest)?;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(leeway_seconds).unwrap_or(i64::MAX);
        let fresh = verified_at.elapsed().as_secs() < RECENT_TOKEN_SECONDS
            && now <= token.claims.exp.saturating_add(leeway);
        fresh.then(|| token.clone())
    }

    fn put(&self, digest: [u8; 32], token: &VerifiedToken) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= RECENT_TOKENS_MAX {
                entries.clear();
            }
            entries.insert(digest, (token.clone(), std::time::Instant::now()));
        }
    }
}

/// Where the verification keys come from.
#[derive(Clone)]
enum KeySource {
    /// One public key from a file (and the development key).
    Static(VerificationKey),
    /// The identity provider's JWKS, by `kid`.
    Jwks(Arc<JwksKeys>),
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            KeySource::Static(key) => format!("static {:?}", key.algorithm),
            KeySource::Jwks(keys) => format!("{keys:?}"),
        };
        f.debug_struct("Authenticator")
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

fn algorithm_of(algorithm: JwtAlgorithm) -> (Algorithm, &'static str) {
    match algorithm {
        JwtAlgorithm::EdDsa => (Algorithm::EdDSA, "EdDSA"),
        JwtAlgorithm::Es256 => (Algorithm::ES256, "ES256"),
    }
}

impl Authenticator {
    pub fn new(settings: &JwtSettings, public_key_file: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read(public_key_file).map_err(|source| KeyError::Read {
            path: public_key_file.to_owned(),
            source,
        })?;
        let (algorithm, name) = algorithm_of(settings.algorithm);
        let key = match settings.algorithm {
            JwtAlgorithm::EdDsa => DecodingKey::from_ed_pem(&pem),
            JwtAlgorithm::Es256 => DecodingKey::from_ec_pem(&pem),
        }
        .map_err(|error| KeyError::Invalid {
            path: public_key_file.to_owned(),
            algorithm: name,
            reason: error.to_string(),
        })?;
        Ok(Self {
            source: KeySource::Static(VerificationKey { key, algorithm }),
            validation: validation(settings, algorithm),
            recent: Arc::default(),
        })
    }

    /// Verifies with the identity provider's keys.
    pub fn with_jwks(settings: &JwtSettings, keys: Arc<JwksKeys>) -> Self {
        Self {
            source: KeySource::Jwks(keys),
            validation: validation(settings, Algorithm::EdDSA),
            recent: Arc::default(),
        }
    }

    /// The key a token is to be verified with: the static one, or the JWKS key its `kid`
    /// names (the set is refreshed once when the `kid` is not known yet).
    async fn key_for(&self, token: &str) -> Result<VerificationKey, ApiError> {
        let keys = match &self.source {
            KeySource::Static(key) => return Ok(key.clone()),
            KeySource::Jwks(keys) => keys,
        };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refuse("the bearer token is not valid"))?;
        if !keys.algorithms().contains(&header.alg) {
            return Err(refuse("the token's algorithm is not accepted"));
        }
        let kid = header
            .kid
            .filter(|k| !k.is_empty() && k.len() <= 200)
            .ok_or_else(|| refuse("the token names no key (kid)"))?;
        if let Some(key) = keys.key(&kid) {
            return Ok(key);
        }
        keys.refresh_if_due().await;
        if let Some(key) = keys.key(&kid) {
            return Ok(key);
        }
        if !keys.has_keys() {
            // Not the token's fault: the provider's keys could not be read.
            return Err(ApiError::new(
                ErrorCode::IdentityProviderUnavailable,
                "the identity provider's keys could not be read; try again shortly",
            ));
        }
        Err(refuse(
            "the token is signed by a key the identity provider does not list",
        ))
    }

    /// The checked claims of a bearer token, or why it is refused (always 401).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, ApiError> {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(verified) = self.recent.get(&digest, self.validation.leeway) {
            return Ok(verified);
        }
        let verified = self.verify_signature(token).await?;
        self.recent.put(digest, &verified);
        Ok(verified)
    }

    async fn verify_signature(&self, token: &str) -> Result<VerifiedToken, ApiError> {
        let VerificationKey { key, algorithm } = self.key_for(token).await?;
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|error| {
            tracing::info!(%error, "token refused");
            refuse("the bearer token is not valid")
        })?;
        let roles = match &data.claims.roles {
            None => vec![Role::Applicant],
            Some(names) => names.iter().filter_map(|n| Role::parse(n)).collect(),
        };
        Ok(VerifiedToken {
            claims: data.claims,
            roles,
        })
    }

    /// The request's verified token: the one the rate limit's middleware verified, or verified
    /// now.
    pub async fn verified(request: &HttpRequest) -> Result<VerifiedToken, ApiError> {
        if let Some(token) = request.extensions().get::<VerifiedToken>().cloned() {
            return Ok(token);
        }
        let (authenticator, token) = Self::bearer(request)?;
        authenticator.verify(&token).await
    }

    /// The request's bearer token and the authenticator, or why there is none (401).
    fn bearer(request: &HttpRequest) -> Result<(web::Data<Authenticator>, String), ApiError> {
        let authenticator = request
            .app_data::<web::Data<Authenticator>>()
            .ok_or_else(|| ApiError::internal("authenticator missing from app data"))?;
        let header = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "send Authorization: Bearer <token>",
                )
            })?;
        let token = header.to_str().ok().and_then(bearer_token).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header must be: Bearer <token>",
            )
        })?;
        Ok((authenticator.clone(), token.to_owned()))
    }

    /// Verifies the request's bearer token, then `then` says who it is for.
    fn from_request<T: 'static>(
        request: &HttpRequest,
        then: impl FnOnce(VerifiedToken) -> Result<T, ApiError> + 'static,
    ) -> LocalBoxFuture<'static, Result<T, ApiError>> {
        // Verified already by the rate limit's middleware, when the token is valid.
        if let Some(token) = request.extensions().get::<VerifiedToken>().cloned() {
            return Box::pin(async move { then(token) });
        }
        let bearer = Self::bearer(request);
        Box::pin(async move {
            let (authenticator, token) = bearer?;
            then(authenticator.verify(&token).await?)
        })
    }
}

fn validation(settings: &JwtSettings, algorithm: Algorithm) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = settings.leeway_seconds;
    validation.validate_nbf = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

fn applicant_reader(principal: &Principal) -> Reader {
    Reader {
        kind: ReaderKind::Applicant,
        id: principal.pin.as_str().to_owned(),
        on_behalf_of: principal.tin.as_ref().map(|t| t.as_str().to_owned()),
    }
}

fn staff_reader(staff: &Staff) -> Reader {
    Reader {
        kind: if staff.role == Role::Supervisor {
            ReaderKind::Supervisor
        } else {
            ReaderKind::Operator
        },
        id: staff.id.clone(),
        on_behalf_of: None,
    }
}

/// The token of an `Authorization` value: the scheme `Bearer` in any case (RFC 9110), then the
/// token.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The role of service accounts: outside systems that act for applicants.
pub const INTEGRATOR_ROLE: &str = "integrator";
/// Scopes of service accounts.
pub const SCOPE_READ: &str = "applications:read";
pub const SCOPE_WRITE: &str = "applications:write";
/// The headers with which a service account names the applicant it acts for.
pub const ON_BEHALF_OF: &str = "X-On-Behalf-Of";
pub const ON_BEHALF_OF_TIN: &str = "X-On-Behalf-Of-Tin";
pub const ON_BEHALF_OF_LOGIN_METHOD: &str = "X-On-Behalf-Of-Login-Method";

/// What a service account's call needs from the request, taken before it is verified.
struct Delegation {
    /// A header sent more than once: refused rather than guessing which one counts.
    repeated: Option<&'static str>,
    /// A header sent with a value that is not visible ASCII: refused rather than taken as absent.
    unreadable: Option<&'static str>,
    pin: Option<String>,
    tin: Option<String>,
    login_method: Option<String>,
    method: actix_web::http::Method,
    path: String,
    log: Option<persistence::DieselDelegatedCalls>,
}

impl Delegation {
    fn of(request: &HttpRequest) -> Self {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        let repeated = [ON_BEHALF_OF, ON_BEHALF_OF_TIN, ON_BEHALF_OF_LOGIN_METHOD]
            .into_iter()
            .find(|name| request.headers().get_all(*name).count() > 1);
        let unreadable = [ON_BEHALF_OF, ON_BEHALF_OF_TIN, ON_BEHALF_OF_LOGIN_METHOD]
            .into_iter()
            .find(|name| {
                request
                    .headers()
                    .get_all(*name)
                    .any(|v| v.to_str().is_err())
            });
        Self {
            repeated,
            unreadable,
            pin: header(ON_BEHALF_OF),
            tin: header(ON_BEHALF_OF_TIN),
            login_method: header(ON_BEHALF_OF_LOGIN_METHOD),
            method: request.method().clone(),
            path: request.path().to_owned(),
            log: request
                .app_data::<web::Data<crate::state::AppState>>()
                .map(|state| state.delegated_calls.clone()),
        }
    }

    /// The applicant a service account acts for, after its scope is checked and the call is
    /// recorded with both identities (before it is carried out: no call goes unrecorded).
    async fn principal(self, client: String, token: &VerifiedToken) -> Result<Principal, ApiError> {
        let reading = matches!(
            self.method,
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
        let needed = if reading { SCOPE_READ } else { SCOPE_WRITE };
        if !token.has_scope(needed) {
            return Err(ApiError::new(
                ErrorCode::InsufficientScope,
                format!("this operation needs the scope {needed}"),
            ));
        }
        let invalid = |header: &str, why: &str| {
            ApiError::at_field(ErrorCode::InvalidOnBehalfOf, header, why.to_owned())
        };
        if let Some(header) = self.repeated {
            return Err(invalid(header, "send it once"));
        }
        if let Some(header) = self.unreadable {
            return Err(invalid(header, "the value must be visible ASCII text"));
        }
        let pin = self
            .pin
            .as_deref()
            .ok_or_else(|| invalid(ON_BEHALF_OF, "name the applicant's PIN"))
            .and_then(|p| Pin::parse(p).map_err(|_| invalid(ON_BEHALF_OF, "not a PIN")))?;
        let tin = self
            .tin
            .as_deref()
            .map(|t| Tin::parse(t).map_err(|_| invalid(ON_BEHALF_OF_TIN, "not a VÖEN")))
            .transpose()?;
        let login_method = self
            .login_method
            .as_deref()
            .and_then(LoginMethod::parse)
            .ok_or_else(|| {
                invalid(
                    ON_BEHALF_OF_LOGIN_METHOD,
                    "how the applicant signed in: e-signature, asan-imza or password",
                )
            })?;
        let log = self
            .log
            .ok_or_else(|| ApiError::internal("the delegated-call log is missing"))?;
        let call = persistence::access_log::DelegatedCall {
            at: chrono::Utc::now(),
            client_id: client.clone(),
            applicant_pin: pin.as_str().to_owned(),
            applicant_tin: tin.as_ref().map(|t| t.as_str().to_owned()),
            login_method: login_method.as_str().to_owned(),
            method: self.method.to_string(),
            path: self.path,
        };
        web::block(move || log.record(&call))
            .await
            .map_err(|_| ApiError::internal("a blocking task was cancelled"))?
            .map_err(|e| ApiError::unavailable(&e))?;
        crate::read_context::set_reader(Reader {
            kind: ReaderKind::Integrator,
            id: client,
            on_behalf_of: Some(match &tin {
                Some(tin) => format!("{pin} for {tin}"),
                None => pin.as_str().to_owned(),
            }),
        });
        Ok(Principal {
            pin,
            tin,
            login_method,
        })
    }
}

/// The applicant of a token: the person who signed in, or the one a service account acts for.
async fn applicant_of(token: VerifiedToken, delegation: Delegation) -> Result<Principal, ApiError> {
    if let Some(client) = token.integrator().map(str::to_owned) {
        return delegation.principal(client, &token).await;
    }
    if token.claims_integrator() {
        return Err(ApiError::new(
            ErrorCode::ForbiddenRole,
            "a service account's token names only the integrator role and no login method",
        ));
    }
    let principal = token.applicant()?;
    crate::read_context::set_reader(applicant_reader(&principal));
    Ok(principal)
}

/// An authenticated caller with the `applicant` role.
#[derive(Debug, Clone)]
pub struct ApplicantPrincipal(pub Principal);

impl FromRequest for ApplicantPrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let delegation = Delegation::of(request);
        let request = request.clone();
        Box::pin(async move {
            let token = Authenticator::verified(&request).await?;
            Ok(Self(applicant_of(token, delegation).await?))
        })
    }
}

/// An authenticated operator (with a department) or supervisor.
#[derive(Debug, Clone)]
pub struct StaffPrincipal(pub Staff);

impl FromRequest for StaffPrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Authenticator::from_request(request, |token| {
            let staff = token.staff()?;
            crate::read_context::set_reader(staff_reader(&staff));
            Ok(Self(staff))
        })
    }
}

/// Whoever may read an application: the applicant, or the staff.
#[derive(Debug, Clone)]
pub enum Caller {
    Applicant(Principal),
    Staff(Staff),
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let delegation = Delegation::of(request);
        let request = request.clone();
        Box::pin(async move {
            let token = Authenticator::verified(&request).await?;
            if token.has_role(Role::Applicant) || token.claims_integrator() {
                Ok(Self::Applicant(applicant_of(token, delegation).await?))
            } else {
                let staff = token.staff()?;
                crate::read_context::set_reader(staff_reader(&staff));
                Ok(Self::Staff(staff))
            }
        })
    }
}

/// The development key pair's file names in the data folder.
pub const DEV_PRIVATE_KEY_FILE: &str = "dev-jwt-private.pem";
pub const DEV_PUBLIC_KEY_FILE: &str = "dev-jwt-public.pem";

/// Makes the development Ed25519 key pair in `data_dir` unless it is there; returns the public
/// key's path.
pub fn ensure_dev_key_pair(data_dir: &Path) -> Result<PathBuf, KeyError> {
    let private_path = data_dir.join(DEV_PRIVATE_KEY_FILE);
    let public_path = data_dir.join(DEV_PUBLIC_KEY_FILE);
    if private_path.exists() && public_path.exists() {
        return Ok(public_path);
    }
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| KeyError::Write { path, source }
    };
    std::fs::create_dir_all(data_dir).map_err(write_error(data_dir))?;
    let signing_key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let invalid = |path: &Path| {
        let path = path.to_owned();
        move |error: ed25519_dalek::pkcs8::Error| KeyError::Invalid {
            path,
            algorithm: "EdDSA",
            reason: error.to_string(),
        }
    };
    let private_pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(invalid(&private_path))?;
    let public_pem = signing_key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| KeyError::Invalid {
            path: public_path.clone(),
            algorithm: "EdDSA",
            reason: error.to_string(),
        })?;
    write_private(&private_path, private_pem.as_bytes()).map_err(write_error(&private_path))?;
    std::fs::write(&public_path, public_pem).map_err(write_error(&public_path))?;
    Ok(public_path)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Signs development tokens with the key pair in the data folder.
#[derive(Clone)]
pub struct DevTokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for DevTokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevTokenIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// What a development token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The PIN of an applicant, or a staff member's identifier.
    pub subject: String,
    pub tin: Option<Tin>,
    pub roles: Vec<Role>,
    pub login_method: LoginMethod,
    /// An operator's department.
    pub department: Option<DepartmentCode>,
    pub lifetime_seconds: i64,
}

impl DevTokenIssuer {
    pub fn new(settings: &JwtSettings, data_dir: &Path) -> Result<Self, KeyError> {
        ensure_dev_key_pair(data_dir)?;
        let path = data_dir.join(DEV_PRIVATE_KEY_FILE);
        let pem = std::fs::read(&path).map_err(|source| KeyError::Read {
            path: path.clone(),
            source,
        })?;
        let key = EncodingKey::from_ed_pem(&pem).map_err(|error| KeyError::Invalid {
            path,
            algorithm: "EdDSA",
            reason: error.to_string(),
        })?;
        Ok(Self {
            key,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    pub fn issue(
        &self,
        request: &TokenRequest,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, ApiError> {
        let claims = Claims {
            sub: request.subject.clone(),
            tin: request.tin.as_ref().map(ToString::to_string),
            roles: Some(
                request
                    .roles
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect(),
            ),
            amr: Some(AuthenticationMethods::Many(vec![
                request.login_method.as_str().to_owned(),
            ])),
            department: request.department.as_ref().map(ToString::to_string),
            scope: None,
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            exp: now.timestamp() + request.lifetime_seconds,
            nbf: Some(now.timestamp()),
            iat: Some(now.timestamp()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .map_err(|_| ApiError::internal("signing a development token"))
    }
}

/// An authenticated administrator, by their identifier (the token's subject).
#[derive(Debug, Clone)]
pub struct AdminPrincipal(pub String);

impl FromRequest for AdminPrincipal {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Authenticator::from_request(request, |token| {
            if !token.has_role(Role::Admin) || token.claims_integrator() {
                return Err(ApiError::new(
                    ErrorCode::ForbiddenRole,
                    "this operation is for administrators",
                ));
            }
            let id = token.claims.sub.trim();
            if !is_identifier(id) {
                return Err(refuse(
                    "the token's subject is not an administrator identifier",
                ));
            }
            crate::read_context::set_reader(Reader {
                kind: ReaderKind::Admin,
                id: id.to_owned(),
                on_behalf_of: None,
            });
            Ok(Self(id.to_owned()))
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    fn token_expiring_at(exp: i64) -> VerifiedToken {
        VerifiedToken {
            claims: Claims {
                sub: "5R7KQ2M".to_owned(),
                tin: None,
                roles: None,
                amr: None,
                department: None,
                scope: None,
                iss: "iss".to_owned(),
                aud: Audience::One("aud".to_owned()),
                exp,
                nbf: None,
                iat: None,
            },
            roles: vec![Role::Applicant],
        }
    }

    #[test]
    fn a_remembered_token_is_given_back_only_until_it_expires() {
        let recent = RecentTokens::default();
        let now = chrono::Utc::now().timestamp();
        recent.put([1; 32], &token_expiring_at(now + 600));
        recent.put([2; 32], &token_expiring_at(now - 60));
        assert!(recent.get(&[1; 32], 30).is_some());
        // Expired a minute ago: past a 30 s leeway, within a 120 s one.
        assert!(recent.get(&[2; 32], 30).is_none());
        assert!(recent.get(&[2; 32], 120).is_some());
        assert!(recent.get(&[3; 32], 30).is_none());
    }

    #[test]
    fn the_remembered_tokens_are_bounded() {
        let recent = RecentTokens::default();
        let exp = chrono::Utc::now().timestamp() + 600;
        for i in 0..=RECENT_TOKENS_MAX {
            let mut digest = [0_u8; 32];
            digest[..8].copy_from_slice(&u64::try_from(i).unwrap_or_default().to_le_bytes());
            recent.put(digest, &token_expiring_at(exp));
        }
        let kept = recent.entries.lock().map(|e| e.len()).unwrap_or(usize::MAX);
        assert!(kept <= RECENT_TOKENS_MAX, "{kept}");
    }
}
