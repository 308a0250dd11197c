//! Prometheus metrics: requests by route and status, their total time, and
//! the directory's size and version. Text exposition format 0.0.4.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// (method, route, status).
type RequestKey = (String, String, u16);

/// Request counters: (count, seconds) by method, route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, (u64, f64)>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let entry = map
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        entry.0 += 1;
        entry.1 += seconds;
    }
}

/// Middleware: counts and times every request, and logs it.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, seconds);
    tracing::info!(%method, %route, status, ms = seconds * 1000.0, "http");
    response
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP coexist_http_requests_total HTTP requests by route and status."
    );
    let _ = writeln!(out, "# TYPE coexist_http_requests_total counter");
    let requests = state
        .metrics
        .requests
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone();
    for ((method, route, status), (count, _)) in &requests {
        let _ = writeln!(
            out,
            "coexist_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
            escape(route)
        );
    }
    let _ = writeln!(
        out,
        "# HELP coexist_http_request_seconds_total Time spent serving requests."
    );
    let _ = writeln!(out, "# TYPE coexist_http_request_seconds_total counter");
    for ((method, route, status), (_, seconds)) in &requests {
        let _ = writeln!(
            out,
            "coexist_http_request_seconds_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {seconds}",
            escape(route)
        );
    }
    let (tenants, users, version) = {
        let view = state.directory.read();
        (view.tenants().count(), view.total_users(), view.version)
    };
    for (name, help, value) in [
        (
            "coexist_directory_tenants",
            "Tenants in the directory.",
            tenants as u64,
        ),
        (
            "coexist_directory_users",
            "Users in the directory.",
            users as u64,
        ),
        (
            "coexist_directory_version",
            "Version of the in-memory directory view.",
            version,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
