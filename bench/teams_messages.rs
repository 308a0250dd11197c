//! Teams message benchmark (issue 4): N senders post messages over HTTP
//! (one keep-alive connection each, a minimal HTTP/1.1 client) to 1:1 chats;
//! their peers receive them over `/v1/events` WebSockets. The server runs in
//! process (`coexist::serve::run` on port 0, SQLite in WAL with
//! `synchronous=FULL`, so every 201 is a committed message), on its own
//! 2-thread runtime; the load generator runs on another, on the same 2 cores.
//!
//! ```text
//! cargo bench --bench teams_messages -- throughput [PAIRS] [SECONDS]
//! cargo bench --bench teams_messages -- latency [PAIRS] [SECONDS] [RATE]
//! ```
//!
//! `throughput`: every sender sends as fast as its 201s come back; reports
//! acknowledged (durable) messages per second and checks every one arrived.
//! `latency`: an open loop at RATE messages/s in all; reports send→receive
//! latency percentiles (send = just before the request is written,
//! receive = the WebSocket frame parsed by the peer).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "support.rs"]
mod support;

use futures_util::StreamExt;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN, Http, PASSWORD, start_server};

struct Pair {
    sender_token: String,
    receiver_token: String,
    chat: String,
}

async fn setup(addr: SocketAddr, pairs: usize) -> Vec<Pair> {
    let mut admin = Http::connect(addr).await;
    let (status, _) = admin
        .json(
            "POST",
            "/v1/tenants",
            ADMIN,
            json!({"name": "bench", "domains": ["bench.test"], "topology": "online"}),
        )
        .await;
    assert_eq!(status, 201);
    // Users by bulk import (CSV with passwords: SIP HA1, fast); the first
    // log-in upgrades each to an argon2 hash.
    let mut csv = String::from("upn,password\n");
    for i in 0..pairs {
        csv.push_str(&format!(
            "s{i}@bench.test,{PASSWORD}\nr{i}@bench.test,{PASSWORD}\n"
        ));
    }
    let (status, _) = admin
        .request(
            "POST",
            "/v1/tenants/bench/users/import",
            ADMIN,
            csv.as_bytes(),
        )
        .await;
    assert_eq!(status, 200, "import");
    let mut out = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let token = |upn: String| {
            let body = json!({"upn": upn, "password": PASSWORD});
            async move {
                let mut http = Http::connect(addr).await;
                let (status, reply) = http.json("POST", "/v1/auth/token", "", body).await;
                assert_eq!(status, 200, "log-in: {reply}");
                reply["access_token"].as_str().unwrap().to_owned()
            }
        };
        let sender_token = token(format!("s{i}@bench.test")).await;
        let receiver_token = token(format!("r{i}@bench.test")).await;
        let (status, chat) = admin
            .json(
                "POST",
                "/v1/chats",
                &sender_token,
                json!({"members": [format!("r{i}@bench.test")]}),
            )
            .await;
        assert_eq!(status, 201, "chat: {chat}");
        out.push(Pair {
            sender_token,
            receiver_token,
            chat: chat["id"].as_str().unwrap().to_owned(),
        });
    }
    out
}

/// Nanoseconds since `base`, as sent in the message body.
fn stamp(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Reads a receiver's events; records latencies (ns) of messages whose
/// content is a send stamp.
async fn receive(
    addr: SocketAddr,
    token: String,
    base: Instant,
    received: Arc<AtomicU64>,
    latencies: Option<Arc<std::sync::Mutex<Vec<u64>>>>,
    ready: tokio::sync::mpsc::Sender<()>,
) {
    let mut socket = support::events_socket(addr, &token).await;
    ready.send(()).await.unwrap();
    while let Some(Ok(frame)) = socket.next().await {
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
            continue;
        };
        let now = stamp(base);
        let text = text.as_str();
        if !text.starts_with("{\"id\":") || !text.contains("\"type\":\"message\"") {
            continue;
        }
        received.fetch_add(1, Ordering::Relaxed);
        if let Some(latencies) = &latencies {
            if let Some(sent) = text
                .split("\"content\":\"t")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|n| n.parse::<u64>().ok())
            {
                latencies.lock().unwrap().push(now.saturating_sub(sent));
            }
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mode = args.first().map_or("throughput", String::as_str).to_owned();
    let pairs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rate: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let started = start_server();
    let addr = started.http;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let setup_started = Instant::now();
        let pairs = setup(addr, pairs).await;
        println!("setup: {} pairs in {:.1} s", pairs.len(), setup_started.elapsed().as_secs_f64());
        let base = Instant::now();
        let received = Arc::new(AtomicU64::new(0));
        let latencies = (mode == "latency").then(|| Arc::new(std::sync::Mutex::new(Vec::new())));
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(pairs.len());
        for pair in &pairs {
            tokio::spawn(receive(
                addr,
                pair.receiver_token.clone(),
                base,
                received.clone(),
                latencies.clone(),
                ready_tx.clone(),
            ));
        }
        for _ in 0..pairs.len() {
            ready_rx.recv().await.unwrap();
        }
        let acked = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let per_sender_interval = (mode == "latency").then(|| {
            Duration::from_nanos(1_000_000_000 * pairs.len() as u64 / rate.max(1))
        });
        let mut senders = Vec::new();
        for (index, pair) in pairs.iter().enumerate() {
            let (token, chat) = (pair.sender_token.clone(), pair.chat.clone());
            let (acked, failed) = (acked.clone(), failed.clone());
            senders.push(tokio::spawn(async move {
                let mut http = Http::connect(addr).await;
                let path = format!("/v1/chats/{chat}/messages");
                let mut ticker = per_sender_interval.map(|every| {
                    // Spread the senders over one interval.
                    let offset = every.mul_f64(index as f64 / 64.0 % 1.0);
                    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    t
                });
                while Instant::now() < until {
                    if let Some(ticker) = &mut ticker {
                        ticker.tick().await;
                    }
                    let body = format!(
                        "{{\"body\":{{\"contentType\":\"text\",\"content\":\"t{}\"}}}}",
                        stamp(base)
                    );
                    let (status, _) = http.request("POST", &path, &token, body.as_bytes()).await;
                    if status == 201 {
                        acked.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for sender in senders {
            sender.await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let acked = acked.load(Ordering::Relaxed);
        // Let the last deliveries arrive.
        let wait_until = Instant::now() + Duration::from_secs(10);
        while received.load(Ordering::Relaxed) < acked && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let received = received.load(Ordering::Relaxed);
        println!(
            "{mode}: {} pairs, {:.1} s: {acked} messages acknowledged (201, durable) = {:.0} msg/s; {} failed; {received} received over WebSocket",
            pairs.len(),
            elapsed,
            acked as f64 / elapsed,
            failed.load(Ordering::Relaxed),
        );
        if let Some(latencies) = latencies {
            let mut all = std::mem::take(&mut *latencies.lock().unwrap());
            all.sort_unstable();
            println!(
                "latency send→receive over {} messages: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                all.len(),
                percentile(&all, 50.0),
                percentile(&all, 90.0),
                percentile(&all, 99.0),
                percentile(&all, 100.0),
            );
        }
    });
}
