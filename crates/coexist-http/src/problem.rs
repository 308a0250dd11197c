//! RFC 9457 problem documents, and the one place where directory errors
//! become HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coexist_core::{DirectoryError, TeamsError};
use coexist_policy::RefusalCode;
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
    retry_after: Option<u64>,
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
            retry_after: None,
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

impl From<TeamsError> for Problem {
    fn from(error: TeamsError) -> Problem {
        match error {
            TeamsError::Invalid { field, reason } => Problem::invalid(&field, reason),
            TeamsError::BadCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "InvalidCredentials",
                "wrong user name or password (or the user may not use the teams client, R2.2)",
            ),
            TeamsError::Throttled(seconds) => {
                let mut problem = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyAttempts",
                    format!(
                        "too many failed log-ins for this user or address; try again in {seconds} s"
                    ),
                );
                problem.0.retry_after = Some(seconds);
                problem.0.extra.insert("retry_after".into(), json!(seconds));
                problem
            }
            TeamsError::NotFound { what, id } => {
                let code = match what {
                    "user" => "UnknownUser",
                    "chat" => "UnknownChat",
                    "call" => "UnknownCall",
                    _ => "NotFound",
                };
                Problem::new(
                    StatusCode::NOT_FOUND,
                    code,
                    format!("{what} '{id}' not found"),
                )
            }
            TeamsError::Refused {
                refusal,
                upn,
                replaced_by,
                rules,
            } => {
                // A rule refused: 403, except where the chat itself decides
                // (R4.2 disabled, R4.1 its fixed method): 409, the
                // conversation goes on in another thread.
                let status = match refusal.code {
                    RefusalCode::ThreadDisabled | RefusalCode::MethodWouldChange => {
                        StatusCode::CONFLICT
                    }
                    _ => StatusCode::FORBIDDEN,
                };
                let detail = match &upn {
                    Some(upn) => format!("{} ({upn})", refusal.sentence()),
                    None => refusal.sentence().to_owned(),
                };
                let mut problem = Problem::new(status, refusal.code.as_str(), detail);
                problem.0.rule = Some(refusal.rule.as_str().to_owned());
                problem.0.extra.insert("rules".into(), json!(rules));
                if let Some(upn) = upn {
                    problem.0.extra.insert("upn".into(), json!(upn));
                }
                if refusal.code == RefusalCode::ThreadDisabled {
                    problem
                        .0
                        .extra
                        .insert("replaced_by".into(), json!(replaced_by));
                }
                problem
            }
            TeamsError::CallState(detail) => {
                Problem::new(StatusCode::CONFLICT, "CallStateConflict", detail)
            }
            TeamsError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "Forbidden", detail)
            }
            TeamsError::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    "internal error; see the server log",
                )
            }
        }
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
            retry_after,
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
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
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
        // `unknown field `x`` and `missing field `x`` errors name the field
        // in the message (under the path of the object that lacks it).
        let named = message.split('`').nth(1).filter(|_| {
            message.starts_with("unknown field") || message.starts_with("missing field")
        });
        let field = if let (Some(name), true) = (named, message.starts_with("missing field")) {
            if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        } else if path == "." {
            named.unwrap_or("body").to_owned()
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
