//! A sans-IO harness: an [`Engine`] with an in-memory directory, and
//! simulated user agents that build requests, answer digest challenges and
//! read what the engine sent them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::Mode;
use coexist_sip::auth::{Algorithm, client_response};
use coexist_sip::headers::digest_params;
use coexist_sip::transport::{Outgoing, Peer};
use coexist_sip::wire::parse_datagram;
use coexist_sip::{Engine, MemoryDirectory, SipConfig, SipMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const SERVER: &str = "127.0.0.1:5060";
pub const T0: Duration = Duration::from_secs(1_800_000_000);

pub struct Lab {
    pub engine: Engine,
    pub directory: MemoryDirectory,
    pub now: Duration,
    /// Everything sent and not yet read, by destination.
    pub inbox: Vec<Outgoing>,
}

impl Lab {
    pub fn new() -> Lab {
        Lab::with_config(|_| {})
    }

    pub fn with_config(edit: impl FnOnce(&mut SipConfig)) -> Lab {
        let directory = MemoryDirectory::new();
        for user in ["alice", "bob", "carol", "dave"] {
            directory.add(&format!("{user}@contoso.test"), "pw", Mode::Islands);
        }
        let mut config = SipConfig::new(SERVER.parse().unwrap());
        edit(&mut config);
        let engine = Engine::new(
            config,
            Arc::new(directory.clone()),
            Box::new(coexist_sip::registrar::MemoryStore),
            T0,
        );
        Lab {
            engine,
            directory,
            now: T0,
            inbox: Vec::new(),
        }
    }

    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            match self.engine.next_timeout() {
                Some(t) if t <= end => {
                    self.now = t.max(self.now);
                    self.engine.poll(self.now);
                    self.collect();
                }
                _ => break,
            }
        }
        self.now = end;
        self.engine.poll(self.now);
        self.collect();
    }

    fn collect(&mut self) {
        self.inbox.extend(self.engine.take_output());
    }

    pub fn send(&mut self, from: SocketAddr, message: &SipMessage) {
        self.send_bytes(from, &message.to_bytes());
    }

    pub fn send_bytes(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.engine.receive(self.now, Peer::udp(from), bytes);
        self.collect();
    }

    /// Everything sent to `to` so far (and forget it).
    pub fn take(&mut self, to: SocketAddr) -> Vec<SipMessage> {
        let (mine, rest): (Vec<Outgoing>, Vec<Outgoing>) =
            self.inbox.drain(..).partition(|o| o.to.addr == to);
        self.inbox = rest;
        mine.into_iter()
            .map(|o| parse_datagram(&o.bytes).expect("engine output parses"))
            .collect()
    }

    /// The one response sent to `to`, skipping 100 Trying; requests to
    /// `to` stay in the inbox.
    pub fn response(&mut self, to: SocketAddr) -> SipMessage {
        let (mine, rest): (Vec<Outgoing>, Vec<Outgoing>) = self
            .inbox
            .drain(..)
            .partition(|o| o.to.addr == to && o.bytes.starts_with(b"SIP/2.0 "));
        self.inbox = rest;
        let got: Vec<SipMessage> = mine
            .into_iter()
            .map(|o| parse_datagram(&o.bytes).expect("engine output parses"))
            .filter(|m| m.status() != Some(100))
            .collect();
        assert_eq!(got.len(), 1, "expected one response to {to}, got {got:#?}");
        got.into_iter().next().unwrap()
    }
}

/// A simulated user agent.
pub struct Ua {
    pub upn: String,
    pub addr: SocketAddr,
    pub password: String,
    pub call_id: String,
    pub cseq: u32,
    pub nc: u32,
    branch: u32,
    pub tag: String,
}

impl Ua {
    pub fn new(user: &str, port: u16) -> Ua {
        Ua {
            upn: format!("{user}@contoso.test"),
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            password: "pw".into(),
            call_id: format!("{user}-{port}"),
            cseq: 0,
            nc: 0,
            branch: 0,
            tag: format!("t{port}"),
        }
    }

    pub fn contact(&self) -> String {
        format!("sip:{}@{}", self.upn.split('@').next().unwrap(), self.addr)
    }

    pub fn request(&mut self, method: &str, uri: &str, to: &str) -> SipMessage {
        self.cseq += 1;
        self.branch += 1;
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK{}-{};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{}>;tag={}\r\nTo: <{to}>\r\nCall-ID: {}-{}\r\nCSeq: {} {method}\r\nContact: <{}>\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            self.tag,
            self.branch,
            self.upn,
            self.tag,
            self.call_id,
            method,
            self.cseq,
            self.contact()
        );
        parse_datagram(text.as_bytes()).unwrap()
    }

    pub fn register(&mut self, expires: u32) -> SipMessage {
        let mut r = self.request("REGISTER", "sip:contoso.test", &format!("sip:{}", self.upn));
        r.set("Call-ID", format!("{}-reg", self.call_id));
        r.set("Expires", expires.to_string());
        r
    }

    /// Adds credentials answering `challenge` (picking `algorithm`).
    pub fn authorize(
        &mut self,
        request: &mut SipMessage,
        challenge: &SipMessage,
        algorithm: Algorithm,
    ) {
        let (header, answer) = if challenge.status() == Some(401) {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let wanted = match algorithm {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        };
        let params = challenge
            .header_values(header)
            .into_iter()
            .filter_map(digest_params)
            .find(|p| p.iter().any(|(k, v)| k == "algorithm" && v == wanted))
            .expect("challenge for the algorithm");
        let get = |k: &str| params.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let (realm, nonce) = (get("realm"), get("nonce"));
        let ha1 = match algorithm {
            Algorithm::Sha256 => {
                coexist_core::credentials::ha1_sha256(&self.upn, &realm, &self.password)
            }
            Algorithm::Md5 => coexist_core::credentials::ha1_md5(&self.upn, &realm, &self.password),
        };
        self.nc += 1;
        let method = request.method().unwrap().to_string();
        let uri = request.uri().unwrap().to_owned();
        let response = client_response(algorithm, &ha1, &nonce, &method, &uri, self.nc, "cn");
        request.set(
            answer,
            format!(
                "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm={wanted}, qop=auth, nc={:08x}, cnonce=\"cn\"",
                self.upn, self.nc
            ),
        );
        // A new transaction for the authorized retry.
        self.cseq += 1;
        self.branch += 1;
        let (_, m) = request.cseq().unwrap();
        request.set("CSeq", format!("{} {m}", self.cseq));
        let via = request.top_via().unwrap().to_owned();
        let (head, _) = via.split_once(";branch=").unwrap();
        request.set(
            "Via",
            format!("{head};branch=z9hG4bK{}-{};rport", self.tag, self.branch),
        );
    }

    /// Sends `request`, answers the challenge, returns the final response.
    pub fn send_authorized(&mut self, lab: &mut Lab, mut request: SipMessage) -> SipMessage {
        lab.send(self.addr, &request);
        let challenge = lab.response(self.addr);
        assert!(
            matches!(challenge.status(), Some(401 | 407)),
            "expected a challenge, got {challenge}"
        );
        self.authorize(&mut request, &challenge, Algorithm::Sha256);
        lab.send(self.addr, &request);
        lab.response(self.addr)
    }

    pub fn registered(mut self, lab: &mut Lab) -> Ua {
        let r = self.register(600);
        let ok = self.send_authorized(lab, r);
        assert_eq!(ok.status(), Some(200), "{ok}");
        self
    }

    /// Answers a request the engine sent us.
    pub fn answer(&self, lab: &mut Lab, request: &SipMessage, code: u16, reason: &str) {
        let mut response = request.response(code, reason, Some(&self.tag));
        response.push("Contact", format!("<{}>", self.contact()));
        lab.send(self.addr, &response);
    }
}
