//! A harness for black-box tests of `coexist serve`: the real binary on
//! port 0 in a temporary data directory, driven over HTTP.
#![allow(dead_code)]

mod ports;

#[allow(unused_imports)]
pub use ports::free_port;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The admin token (read from DATA_DIR/admin-token).
    pub token: String,
    /// What the server printed on stdout before listening.
    pub banner: Vec<String>,
    /// The data directory.
    pub data_dir: PathBuf,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
    pub www_authenticate: Option<String>,
}

impl Server {
    /// Starts `coexist serve` on port 0 with its data in `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with_env(data_dir, &[])
    }

    /// Starts it with extra environment variables (`COEXIST_TEAMS_…`).
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_coexist"))
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--sip",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir)
            .env_remove("COEXIST_ADMIN_TOKEN")
            .env_remove("COEXIST_HTTP")
            .env_remove("COEXIST_SIP")
            .env_remove("COEXIST_DATA_DIR")
            .env("COEXIST_LOG", "warn")
            .envs(env.iter().copied())
            .current_dir(data_dir.parent().unwrap_or(data_dir))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn coexist serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let url = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("coexist listening ") {
                let http = rest
                    .split(' ')
                    .find_map(|part| part.strip_prefix("http="))
                    .expect("http= in the listening line");
                assert!(rest.contains(" sip=127.0.0.1:"), "listening line: {line}");
                banner.push(line.clone());
                break format!("http://{http}");
            }
            banner.push(line);
        };
        let token = std::fs::read_to_string(data_dir.join("admin-token"))
            .expect("admin-token file")
            .trim()
            .to_owned();
        Server {
            child: Some(child),
            url,
            token,
            banner,
            data_dir: data_dir.to_owned(),
        }
    }

    /// Stops it with SIGTERM and waits: a graceful shutdown.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(killed.success());
        child.wait().expect("wait for the server")
    }

    /// A request with the admin token.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, Some(&self.token), body)
    }

    /// A request with `token` (or none).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let raw = body.map(|b| b.to_string().into_bytes());
        self.raw(method, path, token, raw.as_deref(), "application/json")
    }

    /// A request with a raw body.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
        content_type: &str,
    ) -> Answer {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let auth = token.map(|t| format!("Bearer {t}"));
        let response = match method {
            "GET" | "DELETE" => {
                let mut request = if method == "GET" {
                    agent.get(&url)
                } else {
                    agent.delete(&url)
                };
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
            _ => {
                let mut request = match method {
                    "PUT" => agent.put(&url),
                    "PATCH" => agent.patch(&url),
                    _ => agent.post(&url),
                };
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request = request.header("Content-Type", content_type);
                match body {
                    Some(bytes) => request.send(bytes),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = response.expect("HTTP exchange");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            body,
            content_type,
            www_authenticate,
        }
    }

    /// `coexist admin ARGS` against this server.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_coexist"))
            .arg("admin")
            .args(["--url", &self.url, "--token", &self.token])
            .args(args)
            .env_remove("COEXIST_URL")
            .env_remove("COEXIST_ADMIN_TOKEN")
            .output()
            .expect("run coexist admin")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A server in a fresh temporary directory (kept alive by the guard).
pub fn started() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"));
    (dir, server)
}

/// Asserts a status, showing the body when it differs.
#[track_caller]
pub fn expect(answer: &Answer, status: u16) -> &Value {
    assert_eq!(
        answer.status, status,
        "unexpected status; body: {}",
        answer.body
    );
    &answer.body
}

/// Asserts a problem document: status, code, and (when given) rule and field.
#[track_caller]
pub fn problem(answer: &Answer, status: u16, code: &str) -> Value {
    let body = expect(answer, status).clone();
    assert!(
        answer.content_type.starts_with("application/problem+json"),
        "content type {}",
        answer.content_type
    );
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "problem: {body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// Creates a tenant.
pub fn tenant(server: &Server, name: &str, domain: &str, topology: &str) {
    let answer = server.admin(
        "POST",
        "/v1/tenants",
        Some(serde_json::json!({"name": name, "domains": [domain], "topology": topology})),
    );
    expect(&answer, 201);
}

/// Creates a user with these extra fields.
pub fn user(server: &Server, tenant: &str, upn: &str, fields: Value) {
    let mut body = fields;
    body["upn"] = Value::String(upn.to_owned());
    let answer = server.admin("POST", &format!("/v1/tenants/{tenant}/users"), Some(body));
    expect(&answer, 201);
}

/// Grants a user an upgrade policy (or null).
pub fn grant(server: &Server, upn: &str, policy: Value) -> Answer {
    server.admin(
        "PUT",
        &format!("/v1/users/{upn}/upgrade-policy"),
        Some(serde_json::json!({ "policy": policy })),
    )
}

/// The number of audit entries the admin sees.
pub fn audit_len(server: &Server) -> usize {
    let answer = server.admin("GET", "/v1/audit?limit=1000", None);
    expect(&answer, 200)["entries"]
        .as_array()
        .map_or(0, Vec::len)
}
