//! A minimal SIP user agent for the benchmarks, over UDP: digest (SHA-256)
//! with nonce reuse, one transaction at a time, retransmission every 500 ms
//! (T1); as a recipient it answers MESSAGE, INVITE and BYE with 200.
#![allow(dead_code)]

use super::support::PASSWORD;
use coexist_sip::auth::{Algorithm, client_response};
use coexist_sip::headers::digest_params;
use coexist_sip::wire::parse_datagram;
use coexist_sip::{Method, SipMessage};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// The SDP both sides offer and answer (no media flows).
pub const SDP: &str = "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A minimal SIP user agent over UDP: digest (SHA-256) with nonce reuse,
/// one transaction at a time, retransmission every 500 ms (T1).
pub struct Ua {
    socket: UdpSocket,
    server: SocketAddr,
    upn: String,
    /// (nonce, realm, header to answer with) of the last challenge.
    challenge: Option<(String, String, &'static str)>,
    nc: u32,
    seq: u64,
    /// This UA's part of every branch, Call-ID and tag: its port and a
    /// number no other UA of the process has. The port alone is not
    /// enough: a UA of a later flow may get the port of one that just
    /// closed, and its requests would then carry the branches of that
    /// one's, which the server rightly answers as retransmissions from
    /// its completed transactions (kept 32 s, Timer J) without handling
    /// them — acknowledged, never delivered.
    unique: String,
    buf: Vec<u8>,
}

/// Numbers the UAs of this process.
static UAS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Ua {
    pub async fn new(server: SocketAddr, upn: String) -> Ua {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let unique = format!(
            "{}u{}",
            socket.local_addr().unwrap().port(),
            UAS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Ua {
            socket,
            server,
            upn,
            challenge: None,
            nc: 0,
            seq: 0,
            unique,
            buf: vec![0; 65_536],
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// The Via of request `seq`: a branch no other request has.
    fn via(&self) -> String {
        format!(
            "SIP/2.0/UDP {};branch=z9hG4bKb{}x{};rport",
            self.local(),
            self.unique,
            self.seq
        )
    }

    pub fn request(&mut self, method: Method, uri: &str, to: &str) -> SipMessage {
        self.seq += 1;
        let cseq = format!("{} {method}", self.seq);
        SipMessage::request(method, uri.to_owned())
            .with("Via", self.via())
            .with("Max-Forwards", "70")
            .with("From", format!("<sip:{}>;tag=f{}", self.upn, self.unique))
            .with("To", format!("<{to}>"))
            .with("Call-ID", format!("c{}-{}@bench", self.unique, self.seq))
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
    pub async fn transact(&mut self, mut request: SipMessage) -> SipMessage {
        for _attempt in 0..3 {
            self.authorize(&mut request);
            let response = self.send_and_wait(&request).await;
            match response.status() {
                Some(401 | 407) => {
                    if request.method() == Some(Method::Invite) {
                        // A non-2xx final answer to an INVITE is ACKed in its
                        // transaction (RFC 3261 §17.1.1.3).
                        let mut ack = request.clone();
                        ack.start = coexist_sip::StartLine::Request {
                            method: Method::Ack,
                            uri: request.uri().unwrap_or_default().to_owned(),
                        };
                        ack.set("To", response.header("To").unwrap_or_default().to_owned());
                        let (n, _) = request.cseq().unwrap_or((1, Method::Invite));
                        ack.set("CSeq", format!("{n} ACK"));
                        ack.set_body("application/sdp", bytes::Bytes::new());
                        self.socket
                            .send_to(&ack.to_bytes(), self.server)
                            .await
                            .unwrap();
                    }
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
                    request.set("Via", self.via());
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
    pub async fn serve(mut self, received: Arc<AtomicU64>, last: Arc<AtomicU64>, base: Instant) {
        let mut seen = HashSet::new();
        loop {
            let Ok((n, from)) = self.socket.recv_from(&mut self.buf).await else {
                return;
            };
            let Ok(message) = parse_datagram(&self.buf[..n]) else {
                continue;
            };
            let ok = match message.method() {
                Some(Method::Message) => message.response(200, "OK", Some("uas")),
                Some(Method::Invite) => {
                    let mut ok = message.response(200, "OK", Some("uas"));
                    ok.push("Contact", format!("<sip:uas@{}>", self.local()));
                    ok.set_body("application/sdp", SDP);
                    ok
                }
                Some(Method::Bye) => message.response(200, "OK", Some("uas")),
                _ => continue,
            };
            let _ = self.socket.send_to(&ok.to_bytes(), from).await;
            if message.method() != Some(Method::Message) {
                continue;
            }
            if seen.insert(message.call_id().unwrap_or_default().to_owned()) {
                received.fetch_add(1, Ordering::Relaxed);
                last.fetch_max(base.elapsed().as_micros() as u64, Ordering::Relaxed);
            }
        }
    }

    /// One call to `target`: INVITE with SDP (answering the challenge and
    /// ACKing it), 200, ACK, then BYE; true when every step succeeded.
    pub async fn call(&mut self, target: &str) -> bool {
        let contact = format!("<sip:uac@{}>", self.local());
        let mut invite = self.request(Method::Invite, target, target);
        invite.push("Contact", contact);
        invite.set_body("application/sdp", SDP);
        let answer = self.transact(invite.clone()).await;
        if answer.status() != Some(200) {
            return false;
        }
        // The dialog: the callee's tag and target, the INVITE's Call-ID and
        // CSeq as sent last (the authorized one).
        let remote = answer
            .header("Contact")
            .and_then(|c| c.split('<').nth(1))
            .and_then(|c| c.split('>').next())
            .unwrap_or(target)
            .to_owned();
        let (cseq, _) = answer.cseq().unwrap_or((1, Method::Invite));
        let in_dialog = |ua: &mut Ua, method: Method, cseq: u32| {
            let mut request = ua.request(method.clone(), &remote, target);
            request.set("To", answer.header("To").unwrap_or_default().to_owned());
            request.set("Call-ID", answer.call_id().unwrap_or_default().to_owned());
            request.set("CSeq", format!("{cseq} {method}"));
            request
        };
        let ack = in_dialog(self, Method::Ack, cseq);
        self.socket
            .send_to(&ack.to_bytes(), self.server)
            .await
            .unwrap();
        let bye = in_dialog(self, Method::Bye, cseq + 1);
        self.transact(bye).await.status() == Some(200)
    }

    pub async fn register(&mut self) {
        let local = self.local();
        let upn = self.upn.clone();
        let mut register = self
            .request(
                Method::Register,
                &format!("sip:{}", upn.split('@').nth(1).unwrap_or_default()),
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
