//! The call flows of the interop benchmark: call setup and tear-down rate
//! (INVITE or `POST /v1/calls`, answer with SDP, hang up), closed loop per
//! caller, natively and across clients.

use super::sip_ua::{SDP, Ua};
use super::support::Http;
use super::{Side, token};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn events(http: SocketAddr, token: &str) -> Socket {
    super::support::events_socket(http, token).await
}

/// The next `call` event on `socket` (as JSON).
async fn next_call_event(socket: &mut Socket) -> Option<Value> {
    while let Some(Ok(frame)) = socket.next().await {
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
            continue;
        };
        if text.as_str().contains("\"type\":\"call\"") {
            return serde_json::from_str(text.as_str()).ok();
        }
    }
    None
}

/// A teams callee: answers every incoming call with SDP.
async fn teams_callee(http: SocketAddr, token: String, ready: tokio::sync::mpsc::Sender<()>) {
    let mut socket = events(http, &token).await;
    let mut client = Http::connect(http).await;
    ready.send(()).await.unwrap();
    while let Some(event) = next_call_event(&mut socket).await {
        if event["change"] == "incoming" {
            let id = event["call"]["id"].as_str().unwrap_or_default().to_owned();
            let path = format!("/v1/calls/{id}/answer");
            client
                .json("POST", &path, &token, json!({"sdp": SDP}))
                .await;
        }
    }
}

/// A teams caller's loop: call, wait until connected, hang up.
async fn teams_caller(
    http: SocketAddr,
    token: String,
    peer: String,
    until: Instant,
    done: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    let mut socket = events(http, &token).await;
    let mut client = Http::connect(http).await;
    while Instant::now() < until {
        let (status, call) = client
            .json("POST", "/v1/calls", &token, json!({"to": peer, "sdp": SDP}))
            .await;
        let id = call["id"].as_str().unwrap_or_default().to_owned();
        if status != 201 || id.is_empty() {
            failed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut connected = false;
        while let Some(event) =
            tokio::time::timeout(Duration::from_secs(5), next_call_event(&mut socket))
                .await
                .ok()
                .flatten()
        {
            if event["call"]["id"] != id.as_str() {
                continue;
            }
            match event["call"]["state"].as_str() {
                Some("connected") => {
                    connected = true;
                    break;
                }
                Some("ended") => break,
                _ => {}
            }
        }
        let path = format!("/v1/calls/{id}/hangup");
        let (status, _) = client.json("POST", &path, &token, json!({})).await;
        let counter = if connected && status < 300 {
            &done
        } else {
            &failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Calls completed (answered and hung up), calls failed, seconds.
pub async fn call_flow(
    http: SocketAddr,
    sip: SocketAddr,
    from: Side,
    to: Side,
    pairs: usize,
    seconds: u64,
    names: (&dyn Fn(usize) -> String, &dyn Fn(usize) -> String),
) -> (u64, u64, f64) {
    let (caller, callee) = names;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(pairs);
    let unused = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    for i in 0..pairs {
        match to {
            Side::Teams => {
                let token = token(http, &callee(i)).await;
                tokio::spawn(teams_callee(http, token, ready_tx.clone()));
            }
            Side::Sfb => {
                let mut ua = Ua::new(sip, callee(i)).await;
                ua.register().await;
                tokio::spawn(ua.serve(unused.0.clone(), unused.1.clone(), Instant::now()));
                ready_tx.send(()).await.unwrap();
            }
        }
    }
    for _ in 0..pairs {
        ready_rx.recv().await.unwrap();
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut callers = Vec::new();
    let mut tokens = Vec::new();
    if from == Side::Teams {
        for i in 0..pairs {
            tokens.push(token(http, &caller(i)).await);
        }
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    for i in 0..pairs {
        let (done, failed, peer) = (done.clone(), failed.clone(), callee(i));
        match from {
            Side::Teams => {
                callers.push(tokio::spawn(teams_caller(
                    http,
                    tokens.get(i).cloned().unwrap_or_default(),
                    peer,
                    until,
                    done,
                    failed,
                )));
            }
            Side::Sfb => {
                let mut ua = Ua::new(sip, caller(i)).await;
                callers.push(tokio::spawn(async move {
                    let target = format!("sip:{peer}");
                    while Instant::now() < until {
                        let counter = if ua.call(&target).await {
                            &done
                        } else {
                            &failed
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
        }
    }
    for caller in callers {
        caller.await.unwrap();
    }
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}
