//! `GET /v1/events`: the caller's durable event stream over a WebSocket.
//! With `?since=ID` the connection first replays every stored event after
//! ID, then continues live; events are sent in id order and each id once.
//! The live queue is registered before the replay is read, and the writer
//! publishes only committed events in id order, so nothing falls between
//! the two and nothing is sent twice.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coexist_core::Teams;
use futures_util::SinkExt;
use std::collections::HashMap;
use std::sync::Arc;

/// Events read from the store per page on resume.
const PAGE: u32 = 1000;
/// The WebSocket read buffer (bytes).
const READ_BUFFER: usize = 4096;
/// How often an open stream checks that its token still works.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(5);
/// Live events written before one flush.
const BURST: usize = 256;

/// Opens the event stream (WebSocket). The token is the usual bearer
/// header or `?access_token=` (browsers cannot set headers on WebSockets).
#[utoipa::path(get, path = "/v1/events", tag = "teams",
    params(("since" = Option<i64>, Query, description = "resume after this event id"),
           ("access_token" = Option<String>, Query, description = "the token, when no header can be sent")),
    responses((status = 101, description = "WebSocket: JSON text frames `{\"id\",\"type\":\"message|presence|call|thread|notice\",\"at\",…}`"),
              (status = 401, description = "no valid token", body = crate::admin::ProblemDoc),
              (status = 426, description = "not a WebSocket request", body = crate::admin::ProblemDoc)))]
pub async fn events(
    State(s): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let token = crate::auth::bearer(&headers)
        .map(str::to_owned)
        .or_else(|| query.get("access_token").cloned());
    let (token, upn) = token
        .and_then(|t| s.teams.authenticate(&t).map(|upn| (t, upn)))
        .ok_or_else(Problem::unauthorized)?;
    let since = query
        .get("since")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Problem::invalid("since", format!("'{v}' is not an event id")))
        })
        .transpose()?;
    let upgrade = upgrade.map_err(|_| {
        Problem::new(
            StatusCode::UPGRADE_REQUIRED,
            "WebSocketRequired",
            "GET /v1/events is a WebSocket: send Connection: Upgrade, Upgrade: websocket",
        )
    })?;
    let teams = s.teams.clone();
    Ok(upgrade
        // Clients send little (pings, close); tungstenite zeroes its whole
        // read buffer before every read, so a large one costs on each poll.
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            stream(teams, token, upn, since, socket).await;
        })
        .into_response())
}

async fn stream(
    teams: Arc<Teams>,
    token: String,
    upn: String,
    since: Option<i64>,
    mut socket: WebSocket,
) {
    let (id, mut live) = teams.connect(&upn).await;
    // A revoked or expired token, or a user no longer enabled for Teams,
    // loses the stream within a recheck.
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    let mut last = since.unwrap_or(0);
    let outcome = async {
        if since.is_some() {
            loop {
                let page = teams
                    .events_after(&upn, last, PAGE)
                    .await
                    .map_err(|e| e.to_string())?;
                let full = page.len() == PAGE as usize;
                for event in page {
                    socket
                        .feed(Message::Text(event.payload.into()))
                        .await
                        .map_err(|e| e.to_string())?;
                    last = event.id;
                }
                socket.flush().await.map_err(|e| e.to_string())?;
                if !full {
                    break;
                }
            }
        }
        loop {
            tokio::select! {
                _ = recheck.tick() => {
                    if teams.authenticate(&token).is_none() {
                        let _ = socket.send(Message::Close(Some(CloseFrame {
                            code: 1008,
                            reason: "the token no longer works; log in again".into(),
                        }))).await;
                        return Ok(());
                    }
                }
                event = live.recv() => {
                    let Some(first) = event else {
                        // Too slow: the client resumes from the store.
                        let _ = socket.send(Message::Close(Some(CloseFrame {
                            code: 1013,
                            reason: format!("reconnect with ?since={last}").into(),
                        }))).await;
                        return Ok::<(), String>(());
                    };
                    let mut next = Some(first);
                    let mut sent = 0;
                    while let Some(event) = next.take() {
                        if event.id > last {
                            socket
                                .feed(Message::Text(event.payload.clone().into()))
                                .await
                                .map_err(|e| e.to_string())?;
                            last = event.id;
                        }
                        sent += 1;
                        if sent < BURST {
                            next = live.try_recv().ok();
                        }
                    }
                    socket.flush().await.map_err(|e| e.to_string())?;
                }
                incoming = socket.recv() => match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    .await;
    if let Err(error) = outcome {
        tracing::debug!(%error, %upn, "event stream closed");
    }
    teams.disconnect(&upn, id).await;
}
