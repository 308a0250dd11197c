//! Interop benchmark (issue 6): message throughput across clients next to
//! the native paths, in one run, on one in-process server (SQLite, every
//! acknowledgement durable), with the load generator on the same 2 cores.
//!
//! ```text
//! cargo bench --bench interop -- [PAIRS] [SECONDS] [FLOWS]
//! ```
//!
//! FLOWS picks flows by number (1–4 the message flows in the table below,
//! 5–8 the same four as calls; e.g. `2,4`; all by default), for profiling
//! one path. A call flow sets a call up (INVITE or `POST /v1/calls` with SDP,
//! answered with SDP by a SIP UA or a teams client over its WebSocket) and
//! tears it down (BYE or `hangup`), closed loop per caller; it reports
//! completed calls per second.
//!
//! Four flows, each with PAIRS sender→recipient pairs, every sender closed
//! loop (the next message when the last one was acknowledged):
//!
//! | flow | sender | recipient | acknowledged by |
//! |---|---|---|---|
//! | teams → teams (native) | HTTP `POST …/messages` | WebSocket | 201 |
//! | teams → sfb (interop) | HTTP | SIP UA (200 to MESSAGE) | 201 |
//! | sfb → sfb (native) | SIP MESSAGE | SIP UA | 200 (relayed) |
//! | sfb → teams (interop) | SIP MESSAGE | WebSocket | 200 (durable in teams) |
//!
//! The rate reported is end to end: messages that reached their recipient
//! divided by the time from the first send to the last arrival (senders stop
//! after SECONDS; what is in flight then is waited for, up to 10 s).
//! SIP senders authenticate once and reuse the nonce with a rising
//! nonce-count, as SIP clients do; SIP recipients are registered UAs that
//! answer 200. Users: TeamsOnly on teams, SfBOnly on sfb (RULES.md 1a:
//! TeamsOnly → SfBOnly lands on sfb by interop, and the reverse on teams).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "interop_calls.rs"]
mod interop_calls;
#[path = "sip_ua.rs"]
mod sip_ua;
#[path = "support.rs"]
mod support;

use coexist_sip::Method;
use futures_util::StreamExt;
use serde_json::json;
use sip_ua::Ua;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN, Http, PASSWORD, start_server};

const DOMAIN: &str = "bench.test";

pub(crate) async fn token(http: SocketAddr, upn: &str) -> String {
    let mut client = Http::connect(http).await;
    let (status, reply) = client
        .json(
            "POST",
            "/v1/auth/token",
            "",
            json!({"upn": upn, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "log-in {upn}: {reply}");
    reply["access_token"].as_str().unwrap().to_owned()
}

/// What one pair's recipient reader saw, and what its sender had
/// acknowledged: to say, when some acknowledged messages did not arrive,
/// which pairs fell short and whether the server has them stored.
#[derive(Default)]
struct Counted {
    acked: AtomicU64,
    received: AtomicU64,
    last_id: std::sync::atomic::AtomicI64,
}

/// Whether an event frame is a new message (not a sender's delivery-state
/// update).
fn is_new_message(text: &str) -> bool {
    text.contains("\"type\":\"message\"") && text.contains("\"change\":\"new\"")
}

/// Counts the stored `message` events (change `new`) of a teams user, by
/// replaying their stream from the start (`?since=0`) until it is quiet
/// for a second.
async fn stored_messages(http: SocketAddr, token: &str) -> u64 {
    let Ok(mut socket) = support::events_socket_since(http, token, Some(0)).await else {
        return 0;
    };
    let mut count = 0;
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(1), socket.next()).await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
            if is_new_message(text.as_str()) {
                count += 1;
            }
        }
    }
    count
}

/// How many times a reader lost its WebSocket and resumed with `?since=`.
static RESUMES: AtomicU64 = AtomicU64::new(0);

/// A WebSocket reader counting `message` events.
async fn websocket(
    http: SocketAddr,
    token: String,
    received: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    base: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
    mine: Arc<Counted>,
) {
    let mut socket = support::events_socket(http, &token).await;
    ready.send(()).await.unwrap();
    // A reader that falls behind is closed by the server ("reconnect with
    // ?since="); it resumes like a real client, and counts each event once.
    let mut seen: i64 = 0;
    loop {
        while let Some(Ok(frame)) = socket.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
                continue;
            };
            let text = text.as_str();
            let id = text
                .strip_prefix("{\"id\":")
                .and_then(|rest| rest.split(',').next())
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0);
            if id <= seen {
                continue;
            }
            seen = id;
            mine.last_id.store(id, Ordering::Relaxed);
            if is_new_message(text) {
                mine.received.fetch_add(1, Ordering::Relaxed);
                received.fetch_add(1, Ordering::Relaxed);
                last.fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
        }
        RESUMES.fetch_add(1, Ordering::Relaxed);
        // Like a client: a refused reconnect is tried again (and said), not
        // given up, or what was missed would look lost.
        socket = loop {
            match support::events_socket_since(http, &token, Some(seen)).await {
                Ok(socket) => break socket,
                Err(error) => {
                    println!("resume after {seen} refused ({error}); trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        };
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Teams,
    Sfb,
}

struct Outcome {
    acked: u64,
    failed: u64,
    received: u64,
    seconds: f64,
}

/// One flow: PAIRS senders on `from` to recipients on `to`.
async fn flow(
    http: SocketAddr,
    sip: SocketAddr,
    from: Side,
    to: Side,
    pairs: usize,
    seconds: u64,
    round: usize,
) -> Outcome {
    let sender = |i: usize| match from {
        Side::Teams => format!("t{i}@{DOMAIN}"),
        Side::Sfb => format!("s{i}@{DOMAIN}"),
    };
    // Recipients are distinct per flow so no flow sees another's messages.
    let recipient = |i: usize| match to {
        Side::Teams => format!("rt{round}x{i}@{DOMAIN}"),
        Side::Sfb => format!("rs{round}x{i}@{DOMAIN}"),
    };
    let base = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(pairs);
    let counted: Vec<Arc<Counted>> = (0..pairs).map(|_| Arc::default()).collect();
    let mut recipient_tokens = Vec::new();
    for (i, mine) in counted.iter().enumerate() {
        match to {
            Side::Teams => {
                let token = token(http, &recipient(i)).await;
                recipient_tokens.push(token.clone());
                tokio::spawn(websocket(
                    http,
                    token,
                    received.clone(),
                    last.clone(),
                    base,
                    ready_tx.clone(),
                    mine.clone(),
                ));
            }
            Side::Sfb => {
                let mut ua = Ua::new(sip, recipient(i)).await;
                ua.register().await;
                tokio::spawn(ua.serve(received.clone(), last.clone(), base));
                ready_tx.send(()).await.unwrap();
            }
        }
    }
    for _ in 0..pairs {
        ready_rx.recv().await.unwrap();
    }
    // Senders log in and open their chats before the clock starts.
    enum Sender {
        Teams(Http, String, String),
        Sfb(Ua, String),
    }
    let mut prepared = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let (me, peer) = (sender(i), recipient(i));
        prepared.push(match from {
            Side::Teams => {
                let token = token(http, &me).await;
                let mut client = Http::connect(http).await;
                let (status, chat) = client
                    .json("POST", "/v1/chats", &token, json!({"members": [peer]}))
                    .await;
                assert_eq!(status, 201, "chat {me} → {peer}: {chat}");
                let path = format!("/v1/chats/{}/messages", chat["id"].as_str().unwrap());
                Sender::Teams(client, token, path)
            }
            Side::Sfb => Sender::Sfb(Ua::new(sip, me).await, format!("sip:{peer}")),
        });
    }
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = base.elapsed();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut senders = Vec::new();
    for (prepared, mine) in prepared.into_iter().zip(counted.iter().cloned()) {
        let (acked, failed) = (acked.clone(), failed.clone());
        senders.push(tokio::spawn(async move {
            let mut n = 0u64;
            match prepared {
                Sender::Teams(mut client, token, path) => {
                    while Instant::now() < until {
                        n += 1;
                        let body = format!(
                            "{{\"body\":{{\"contentType\":\"text\",\"content\":\"m{n}\"}}}}"
                        );
                        let (status, _) =
                            client.request("POST", &path, &token, body.as_bytes()).await;
                        let counter = if status == 201 { &acked } else { &failed };
                        counter.fetch_add(1, Ordering::Relaxed);
                        if status == 201 {
                            mine.acked.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Sender::Sfb(mut ua, target) => {
                    while Instant::now() < until {
                        n += 1;
                        let mut message = ua.request(Method::Message, &target, &target);
                        message.set_body("text/plain", format!("m{n}"));
                        let answer = ua.transact(message).await;
                        let counter = if answer.status() == Some(200) {
                            mine.acked.fetch_add(1, Ordering::Relaxed);
                            &acked
                        } else {
                            &failed
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.load(Ordering::Relaxed);
    let wait_until = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < acked && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if received.load(Ordering::Relaxed) < acked {
        // Which pairs fell short, and does the server have their messages?
        for (i, mine) in counted.iter().enumerate() {
            let (sent, got) = (
                mine.acked.load(Ordering::Relaxed),
                mine.received.load(Ordering::Relaxed),
            );
            if got >= sent {
                continue;
            }
            let stored = match recipient_tokens.get(i) {
                Some(token) => stored_messages(http, token).await.to_string(),
                None => "n/a".into(),
            };
            println!(
                "  pair {i}: {sent} acknowledged, {got} received live (last event id {}), {stored} stored",
                mine.last_id.load(Ordering::Relaxed)
            );
        }
    }
    let end = Duration::from_micros(last.load(Ordering::Relaxed));
    Outcome {
        acked,
        failed: failed.load(Ordering::Relaxed),
        received: received.load(Ordering::Relaxed),
        seconds: end.saturating_sub(started).as_secs_f64(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let pairs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let only: Vec<usize> = args
        .get(2)
        .map(|a| a.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| (1..=8).collect());
    let started = start_server();
    let (http, sip) = (started.http, started.sip);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut admin = Http::connect(http).await;
        let (status, _) = admin
            .json("POST", "/v1/tenants", ADMIN, json!({"name": "bench", "domains": [DOMAIN], "topology": "online"}))
            .await;
        assert_eq!(status, 201);
        let mut csv = String::from("upn,password,policy\n");
        for i in 0..pairs {
            csv.push_str(&format!("t{i}@{DOMAIN},{PASSWORD},TeamsOnly\ns{i}@{DOMAIN},{PASSWORD},SfBOnly\n"));
            for round in 0..8 {
                csv.push_str(&format!("rt{round}x{i}@{DOMAIN},{PASSWORD},TeamsOnly\nrs{round}x{i}@{DOMAIN},{PASSWORD},SfBOnly\n"));
            }
        }
        let (status, report) = admin.request("POST", "/v1/tenants/bench/users/import", ADMIN, csv.as_bytes()).await;
        assert_eq!(status, 200, "import: {}", String::from_utf8_lossy(report));
        println!("# {} pairs a flow, {seconds} s each; server and load on the same {} cores", pairs, std::thread::available_parallelism().map_or(0, |n| n.get()));
        let flows = [
            ("teams -> teams (native) ", Side::Teams, Side::Teams),
            ("teams -> sfb   (interop)", Side::Teams, Side::Sfb),
            ("sfb   -> sfb   (native) ", Side::Sfb, Side::Sfb),
            ("sfb   -> teams (interop)", Side::Sfb, Side::Teams),
        ];
        let mut rates = [f64::NAN; 4];
        for (round, (name, from, to)) in flows.into_iter().enumerate() {
            if !only.contains(&(round + 1)) {
                continue;
            }
            let outcome = flow(http, sip, from, to, pairs, seconds, round).await;
            let rate = outcome.received as f64 / outcome.seconds.max(1e-9);
            println!(
                "{name}: {} acknowledged, {} failed, {} received in {:.1} s = {:.0} msg/s end to end",
                outcome.acked, outcome.failed, outcome.received, outcome.seconds, rate
            );
            if outcome.received < outcome.acked {
                println!(
                    "WARNING: {} acknowledged messages had not arrived 10 s after the senders stopped ({} WebSocket resumes so far)",
                    outcome.acked - outcome.received,
                    RESUMES.load(Ordering::Relaxed)
                );
            }
            rates[round] = rate;
        }
        if rates.iter().any(|r| !r.is_nan()) {
            println!(
                "message ratios: teams->sfb / teams->teams = {:.2}; sfb->teams / sfb->sfb = {:.2}; sfb->teams / teams->teams = {:.2}",
                rates[1] / rates[0],
                rates[3] / rates[2],
                rates[3] / rates[0]
            );
        }
        let calls = [
            ("teams -> teams (native) ", Side::Teams, Side::Teams),
            ("teams -> sfb   (interop)", Side::Teams, Side::Sfb),
            ("sfb   -> sfb   (native) ", Side::Sfb, Side::Sfb),
            ("sfb   -> teams (interop)", Side::Sfb, Side::Teams),
        ];
        let mut call_rates = [f64::NAN; 4];
        for (index, (name, from, to)) in calls.into_iter().enumerate() {
            let round = index + 4;
            if !only.contains(&(round + 1)) {
                continue;
            }
            let caller = move |i: usize| match from {
                Side::Teams => format!("t{i}@{DOMAIN}"),
                Side::Sfb => format!("s{i}@{DOMAIN}"),
            };
            let callee = move |i: usize| match to {
                Side::Teams => format!("rt{round}x{i}@{DOMAIN}"),
                Side::Sfb => format!("rs{round}x{i}@{DOMAIN}"),
            };
            let (done, failed, elapsed) =
                interop_calls::call_flow(http, sip, from, to, pairs, seconds, (&caller, &callee)).await;
            let rate = done as f64 / elapsed.max(1e-9);
            println!("calls {name}: {done} set up and torn down, {failed} failed in {elapsed:.1} s = {rate:.0} calls/s");
            call_rates[index] = rate;
        }
        if call_rates.iter().any(|r| !r.is_nan()) {
            println!(
                "call ratios: teams->sfb / teams->teams = {:.2}; sfb->teams / sfb->sfb = {:.2}",
                call_rates[1] / call_rates[0],
                call_rates[3] / call_rates[2]
            );
        }
    });
}
