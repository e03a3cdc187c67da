//! The query string extractor: every fault names the parameter at fault. A value that is not
//! UTF-8 once percent-decoded, or that holds a control character, is refused rather than changed
//! (the parser would put U+FFFD for the bytes) or passed on (PostgreSQL cannot even compare text
//! with NUL in it).

use crate::problem::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Ready, ready};
use serde::de::DeserializeOwned;

/// The request's query string as `T`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(request.query_string()).map(Self))
    }
}

/// `+` as a space and `%XX` as the byte, as in `application/x-www-form-urlencoded`; a `%` not
/// followed by two hex digits stands for itself.
fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (byte, hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).unwrap_or_default());
                index += 3;
            }
            (b'+', _, _) => {
                decoded.push(b' ');
                index += 1;
            }
            _ => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

/// Each name and value decoded: UTF-8 without control characters, or the parameter at fault.
fn check_text(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let field = String::from_utf8(percent_decode(name))
            .ok()
            .filter(|n| !n.chars().any(char::is_control))
            .ok_or_else(|| {
                ApiError::at_field(
                    ErrorCode::InvalidQueryParameter,
                    "query",
                    "a parameter name must be UTF-8 text without control characters",
                )
            })?;
        let refuse = |why: &str| ApiError::at_field(ErrorCode::InvalidQueryParameter, &field, why);
        let text = String::from_utf8(percent_decode(value))
            .map_err(|_| refuse("not UTF-8 text once percent-decoded"))?;
        if text.chars().any(char::is_control) {
            return Err(refuse("control characters are not allowed"));
        }
    }
    Ok(())
}

/// Parses a query string into `T`, naming the parameter at fault.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_text(query)?;
    let deserializer =
        serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let field = if path == "." || path.is_empty() {
            // A missing or unknown field is named in the message: `field_name`.
            message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("query")
                .to_owned()
        } else {
            path
        };
        ApiError::at_field(ErrorCode::InvalidQueryParameter, &field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        limit: Option<u32>,
        name: Option<String>,
    }

    fn fault(query: &str) -> Option<String> {
        parse::<Params>(query)
            .err()
            .and_then(|e| e.problem.errors.first().map(|f| f.field.clone()))
    }

    #[test]
    fn every_fault_names_its_parameter() {
        assert_eq!(fault("limit=abc").as_deref(), Some("limit"));
        assert_eq!(fault("limit=-1").as_deref(), Some("limit"));
        assert_eq!(fault("name=a%00b").as_deref(), Some("name"));
        assert_eq!(fault("name=%FF%FE").as_deref(), Some("name"));
        assert_eq!(fault("colour=blue").as_deref(), Some("colour"));
        assert_eq!(fault("limit=1&name=x"), None);
    }

    #[test]
    fn values_arrive_as_sent() {
        let params = parse::<Params>("name=%C9%99+%27+OR+1%3D1+--%20%F0%9F%98%80&limit=5").ok();
        assert_eq!(
            params.as_ref().and_then(|p| p.name.as_deref()),
            Some("ə ' OR 1=1 -- 😀")
        );
        assert_eq!(params.and_then(|p| p.limit), Some(5));
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
    }
}
