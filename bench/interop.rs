//! Interop benchmark (issue 6): message throughput across clients next to
//! the native paths, in one run, on one in-process server (SQLite, every
//! acknowledgement durable), with the load generator on the same 2 cores.
//!
//! ```text
//! cargo bench --bench interop -- [PAIRS] [SECONDS] [FLOWS]
//! ```
//!
//! FLOWS picks flows by number (1–4 in the table below, e.g. `2,4`; all by
//! default), for profiling one path.
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

#[path = "support.rs"]
mod support;

use coexist_sip::auth::{Algorithm, client_response};
use coexist_sip::headers::digest_params;
use coexist_sip::wire::parse_datagram;
use coexist_sip::{Method, SipMessage};
use futures_util::StreamExt;
use serde_json::json;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN, Http, PASSWORD, start_server};
use tokio::net::UdpSocket;

const DOMAIN: &str = "bench.test";

/// A minimal SIP user agent over UDP: digest (SHA-256) with nonce reuse,
/// one transaction at a time, retransmission every 500 ms (T1).
struct Ua {
    socket: UdpSocket,
    server: SocketAddr,
    upn: String,
    /// (nonce, realm, header to answer with) of the last challenge.
    challenge: Option<(String, String, &'static str)>,
    nc: u32,
    seq: u64,
    buf: Vec<u8>,
}

impl Ua {
    async fn new(server: SocketAddr, upn: String) -> Ua {
        Ua {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            server,
            upn,
            challenge: None,
            nc: 0,
            seq: 0,
            buf: vec![0; 65_536],
        }
    }

    fn local(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    fn request(&mut self, method: Method, uri: &str, to: &str) -> SipMessage {
        self.seq += 1;
        let local = self.local();
        let cseq = format!("{} {method}", self.seq);
        SipMessage::request(method, uri.to_owned())
            .with(
                "Via",
                format!(
                    "SIP/2.0/UDP {local};branch=z9hG4bKb{}x{};rport",
                    local.port(),
                    self.seq
                ),
            )
            .with("Max-Forwards", "70")
            .with("From", format!("<sip:{}>;tag=f{}", self.upn, local.port()))
            .with("To", format!("<{to}>"))
            .with("Call-ID", format!("c{}-{}@bench", local.port(), self.seq))
            .with("CSeq", cseq)
    }

    fn authorize(&mut self, request: &mut SipMessage) {
        let Some((nonce, realm, header)) = self.challenge.clone() else {
            return;
        };
        self.nc += 1;
        let ha1 = coexist_core::credentials::ha1_sha256(&self.upn, &realm, PASSWORD);
        let method = request.method().unwrap().to_string();
        let uri = request.uri().unwrap().to_owned();
        let response = client_response(
            Algorithm::Sha256,
            &ha1,
            &nonce,
            &method,
            &uri,
            self.nc,
            "bc",
        );
        let header = if method == "REGISTER" {
            "Authorization"
        } else {
            header
        };
        request.set(
            header,
            format!(
                "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=SHA-256, qop=auth, nc={:08x}, cnonce=\"bc\"",
                self.upn, self.nc
            ),
        );
    }

    /// Sends `request` (answering challenges) until a final response.
    async fn transact(&mut self, mut request: SipMessage) -> SipMessage {
        for _attempt in 0..3 {
            self.authorize(&mut request);
            let response = self.send_and_wait(&request).await;
            match response.status() {
                Some(401 | 407) => {
                    let (name, answer) = if response.status() == Some(401) {
                        ("WWW-Authenticate", "Authorization")
                    } else {
                        ("Proxy-Authenticate", "Proxy-Authorization")
                    };
                    let params = response
                        .header_values(name)
                        .into_iter()
                        .filter_map(digest_params)
                        .find(|p| p.iter().any(|(k, v)| k == "algorithm" && v == "SHA-256"))
                        .expect("a SHA-256 challenge");
                    let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
                    self.challenge = Some((get("nonce"), get("realm"), answer));
                    self.nc = 0;
                    // A new transaction for the retry.
                    self.seq += 1;
                    let local = self.local();
                    request.set(
                        "Via",
                        format!(
                            "SIP/2.0/UDP {local};branch=z9hG4bKb{}x{};rport",
                            local.port(),
                            self.seq
                        ),
                    );
                    let method = request.method().unwrap();
                    request.set("CSeq", format!("{} {method}", self.seq));
                }
                _ => return response,
            }
        }
        panic!("{} could not authenticate", self.upn);
    }

    async fn send_and_wait(&mut self, request: &SipMessage) -> SipMessage {
        let bytes = request.to_bytes();
        for _ in 0..7 {
            self.socket.send_to(&bytes, self.server).await.unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
            loop {
                let received =
                    tokio::time::timeout_at(deadline, self.socket.recv_from(&mut self.buf)).await;
                let Ok(Ok((n, _))) = received else { break };
                let Ok(message) = parse_datagram(&self.buf[..n]) else {
                    continue;
                };
                // A late answer to an earlier (retransmitted) request is not
                // this one's.
                let ours = message.call_id() == request.call_id()
                    && message.header("CSeq") == request.header("CSeq");
                if ours && message.status().is_some_and(|s| s >= 200) {
                    return message;
                }
            }
        }
        panic!("{}: no final response", self.upn);
    }

    /// Registers, then answers every MESSAGE 200 for ever, counting new ones.
    async fn serve(mut self, received: Arc<AtomicU64>, last: Arc<AtomicU64>, base: Instant) {
        let mut seen = HashSet::new();
        loop {
            let Ok((n, from)) = self.socket.recv_from(&mut self.buf).await else {
                return;
            };
            let Ok(message) = parse_datagram(&self.buf[..n]) else {
                continue;
            };
            if message.method() != Some(Method::Message) {
                continue;
            }
            let ok = message.response(200, "OK", Some("uas"));
            let _ = self.socket.send_to(&ok.to_bytes(), from).await;
            if seen.insert(message.call_id().unwrap_or_default().to_owned()) {
                received.fetch_add(1, Ordering::Relaxed);
                last.fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
        }
    }

    async fn register(&mut self) {
        let local = self.local();
        let upn = self.upn.clone();
        let mut register = self
            .request(
                Method::Register,
                &format!("sip:{DOMAIN}"),
                &format!("sip:{upn}"),
            )
            .with(
                "Contact",
                format!("<sip:{}@{local}>", upn.split('@').next().unwrap()),
            )
            .with("Expires", "3600");
        register.set("To", format!("<sip:{upn}>"));
        let answer = self.transact(register).await;
        assert_eq!(answer.status(), Some(200), "REGISTER {upn}: {answer}");
    }
}

async fn token(http: SocketAddr, upn: &str) -> String {
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

/// A WebSocket reader counting `message` events.
async fn websocket(
    http: SocketAddr,
    token: String,
    received: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    base: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
) {
    let url = format!("ws://{http}/v1/events?access_token={token}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ready.send(()).await.unwrap();
    while let Some(Ok(frame)) = socket.next().await {
        let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
            continue;
        };
        // New messages only (not the sender's delivery-state updates).
        if text.as_str().contains("\"type\":\"message\"")
            && text.as_str().contains("\"change\":\"new\"")
        {
            received.fetch_add(1, Ordering::Relaxed);
            last.fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
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
    for i in 0..pairs {
        match to {
            Side::Teams => {
                let token = token(http, &recipient(i)).await;
                tokio::spawn(websocket(
                    http,
                    token,
                    received.clone(),
                    last.clone(),
                    base,
                    ready_tx.clone(),
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
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = base.elapsed();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut senders = Vec::new();
    for i in 0..pairs {
        let (acked, failed) = (acked.clone(), failed.clone());
        let (me, peer) = (sender(i), recipient(i));
        match from {
            Side::Teams => {
                let token = token(http, &me).await;
                let mut client = Http::connect(http).await;
                let (status, chat) = client
                    .json("POST", "/v1/chats", &token, json!({"members": [peer]}))
                    .await;
                assert_eq!(status, 201, "chat {me} → {peer}: {chat}");
                let path = format!("/v1/chats/{}/messages", chat["id"].as_str().unwrap());
                senders.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        n += 1;
                        let body = format!(
                            "{{\"body\":{{\"contentType\":\"text\",\"content\":\"m{n}\"}}}}"
                        );
                        let (status, _) =
                            client.request("POST", &path, &token, body.as_bytes()).await;
                        let counter = if status == 201 { &acked } else { &failed };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            Side::Sfb => {
                let mut ua = Ua::new(sip, me).await;
                senders.push(tokio::spawn(async move {
                    let target = format!("sip:{peer}");
                    let mut n = 0u64;
                    while Instant::now() < until {
                        n += 1;
                        let mut message = ua.request(Method::Message, &target, &target);
                        message.set_body("text/plain", format!("m{n}"));
                        let answer = ua.transact(message).await;
                        let counter = if answer.status() == Some(200) {
                            &acked
                        } else {
                            &failed
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
        }
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let acked = acked.load(Ordering::Relaxed);
    let wait_until = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < acked && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
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
        .unwrap_or_else(|| vec![1, 2, 3, 4]);
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
            for round in 0..4 {
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
            rates[round] = rate;
        }
        println!(
            "ratios: teams->sfb / teams->teams = {:.2}; sfb->teams / sfb->sfb = {:.2}",
            rates[1] / rates[0],
            rates[3] / rates[2]
        );
    });
}
