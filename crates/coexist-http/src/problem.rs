//! RFC 9457 problem documents, and the one place where directory errors
//! become HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coexist_core::DirectoryError;
use serde_json::{Map, Value, json};

/// An HTTP error: status, stable `code`, optional `rule` and `field`, a
/// sentence, and extra members (the users concerned, an import report).
#[derive(Debug)]
pub struct Problem(Box<Details>);

#[derive(Debug)]
struct Details {
    status: StatusCode,
    code: String,
    detail: String,
    rule: Option<String>,
    field: Option<String>,
    extra: Map<String, Value>,
}

impl Problem {
    /// A problem with `status`, `code` and a sentence.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(Details {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            rule: None,
            field: None,
            extra: Map::new(),
        }))
    }

    /// A malformed or invalid field (400).
    pub fn invalid(field: &str, detail: impl Into<String>) -> Problem {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "InvalidField",
            format!("{field}: {}", detail.into()),
        );
        problem.0.field = Some(field.to_owned());
        problem
    }

    /// No or a wrong bearer token (401).
    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "a valid bearer token is required (Authorization: Bearer TOKEN)",
        )
    }

    /// Nothing at this path (404).
    pub fn no_route() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "NotFound", "no such endpoint")
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }
}

impl From<DirectoryError> for Problem {
    fn from(error: DirectoryError) -> Problem {
        let status = match &error {
            DirectoryError::Invalid { .. } => StatusCode::BAD_REQUEST,
            DirectoryError::UnknownTenant(_)
            | DirectoryError::UnknownUser(_)
            | DirectoryError::UnknownInteropPolicy(_)
            | DirectoryError::UnknownPeer(_) => StatusCode::NOT_FOUND,
            DirectoryError::Conflict { .. } | DirectoryError::Refused { .. } => {
                StatusCode::CONFLICT
            }
            DirectoryError::Forbidden(_) => StatusCode::FORBIDDEN,
            DirectoryError::ImportRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DirectoryError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let detail = match &error {
            // Internal details go to the log, never to the client.
            DirectoryError::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                "internal error; see the server log".to_owned()
            }
            DirectoryError::Refused { refusal, users } => format!(
                "{}; users concerned: {}",
                refusal.sentence(),
                users.join(", ")
            ),
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, error.code(), detail);
        problem.0.rule = error.rule().map(|r| r.as_str().to_owned());
        problem.0.field = error.field().map(str::to_owned);
        match error {
            DirectoryError::Refused { users, .. } => {
                problem.0.extra.insert("users".into(), json!(users));
            }
            DirectoryError::ImportRejected(report) => {
                if let Ok(Value::Object(members)) = serde_json::to_value(&*report) {
                    problem.0.extra.extend(members);
                }
            }
            _ => {}
        }
        problem
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let Details {
            status,
            code,
            detail,
            rule,
            field,
            extra,
        } = *self.0;
        let mut body = Map::new();
        body.insert(
            "type".into(),
            json!(format!("https://coexist.invalid/problems/{}", code)),
        );
        body.insert(
            "title".into(),
            json!(status.canonical_reason().unwrap_or("Error")),
        );
        body.insert("status".into(), json!(status.as_u16()));
        body.insert("detail".into(), json!(detail));
        body.insert("code".into(), json!(code));
        body.insert("rule".into(), json!(rule));
        if let Some(field) = field {
            body.insert("field".into(), json!(field));
        }
        body.extend(extra);
        let mut response = (status, axum::Json(Value::Object(body))).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"coexist\""),
            );
        }
        response
    }
}

/// Parses a JSON body, naming the offending field on error.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        // `unknown field `x`` errors name the field in the message.
        let field = if path == "." {
            message
                .split('`')
                .nth(1)
                .filter(|_| message.starts_with("unknown field"))
                .unwrap_or("body")
                .to_owned()
        } else {
            path
        };
        Problem::invalid(&field, message)
    })?;
    deserializer
        .end()
        .map_err(|e| Problem::invalid("body", e.to_string()))?;
    Ok(value)
}
