//! The blocking HTTP client: where the server is, which token, and problem
//! documents turned into one readable error.

use super::AdminArgs;
use super::AdminError;
use super::render::problem_text;
use serde_json::Value;
use std::io::Read;
use std::path::PathBuf;

pub(super) struct Client {
    agent: ureq::Agent,
    url: String,
    token: String,
}

/// Percent-encodes a query value: like [`path_segment`], but `+` too (in a
/// query it would read as a space, and phone numbers start with one).
pub(super) fn query_value(value: &str) -> String {
    path_segment(value).replace('+', "%2B")
}

/// Percent-encodes a path segment, keeping what UPNs and numbers use.
pub(super) fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b'+' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Client {
    pub(super) fn new(args: &AdminArgs) -> Result<Client, AdminError> {
        let url = args
            .url
            .clone()
            .or_else(|| std::env::var("COEXIST_URL").ok())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let token = match args
            .token
            .clone()
            .or_else(|| std::env::var("COEXIST_ADMIN_TOKEN").ok())
        {
            Some(token) => token,
            None => {
                let dir = args
                    .data_dir
                    .clone()
                    .or_else(|| std::env::var_os("COEXIST_DATA_DIR").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("./coexist-data"));
                let path = dir.join("admin-token");
                std::fs::read_to_string(&path)
                    .map(|t| t.trim().to_owned())
                    .map_err(|e| {
                        AdminError::Failed(format!(
                            "no token: give --token, set COEXIST_ADMIN_TOKEN, or point --data-dir at the server's data ({}: {e})",
                            path.display()
                        ))
                    })?
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Client {
            agent,
            url: url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
    ) -> Result<Value, AdminError> {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let failed = |e: ureq::Error| AdminError::Failed(format!("{method} {url}: {e}"));
        let mut response = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (_, body) => {
                let request = match method {
                    "PUT" => self.agent.put(&url),
                    "PATCH" => self.agent.patch(&url),
                    _ => self.agent.post(&url),
                }
                .header("Authorization", &auth);
                match body {
                    Some(Body::Json(value)) => request.send_json(value),
                    Some(Body::Csv(reader)) => request
                        .header("Content-Type", "text/csv")
                        .send(ureq::SendBody::from_owned_reader(reader)),
                    None => request.send_empty(),
                }
            }
        }
        .map_err(failed)?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_string()
            .map_err(failed)?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            Ok(value)
        } else {
            Err(AdminError::Refused(problem_text(status.as_u16(), &value)))
        }
    }
}

pub(super) enum Body {
    Json(Value),
    Csv(Box<dyn Read + Send>),
}

#[cfg(test)]
mod tests {
    use super::{path_segment, query_value};

    #[test]
    fn path_segments_keep_upns_and_escape_the_rest() {
        assert_eq!(path_segment("alice@contoso.test"), "alice@contoso.test");
        assert_eq!(path_segment("+14255550100"), "+14255550100");
        assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(query_value("+14255550100"), "%2B14255550100");
    }
}
