//! RFC 3261 §17 transactions, sans-IO: requests, responses and `now` in;
//! bytes to send and events out. Retransmissions happen over UDP only
//! (§17.1.1.2, §17.2.1); over TCP the timers that only absorb
//! retransmissions (D, I, J, K) are zero.
//!
//! Timer names follow the RFC: A/E retransmit a client request, B/F give
//! up on it, D/K keep a completed client transaction to absorb response
//! retransmissions, G retransmits a final INVITE response until the ACK,
//! H gives up waiting for it, I absorbs ACK retransmissions, J absorbs
//! non-INVITE request retransmissions.

use crate::headers::{NameAddr, ViaRef};
use crate::message::{Method, SipMessage};
use crate::transport::{Outgoing, Peer};
use bytes::Bytes;
use slabs::Slabs;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;
use wakeups::Wakeups;

mod client;
mod slabs;
mod wakeups;

pub use client::{ClientEvent, ClientTransactions, Owner, ack_for};

/// The RFC 3261 timer base values (§17.1.1.1, table 4).
#[derive(Debug, Clone, Copy)]
pub struct TimerValues {
    /// RTT estimate (500 ms).
    pub t1: Duration,
    /// Longest retransmit interval of non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// How long the network keeps a message (5 s).
    pub t4: Duration,
}

impl Default for TimerValues {
    fn default() -> TimerValues {
        TimerValues {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// The server-transaction key of a request (RFC 3261 §17.2.3): top Via
/// branch and sent-by, and the method with ACK matching its INVITE.
pub fn server_key(request: &SipMessage) -> Option<String> {
    // Written without `format!` and from a borrowed Via: this runs twice
    // per request (receive and respond).
    let via = ViaRef::parse(request.top_via()?)?;
    let method = match request.method()? {
        Method::Ack => Method::Invite,
        m => m,
    };
    let (host, port) = (via.host, via.port.unwrap_or(5060));
    match via.branch() {
        Some(branch) if branch.starts_with("z9hG4bK") => {
            let mut key = String::with_capacity(branch.len() + host.len() + 20);
            key.push_str(branch);
            key.push('|');
            key.push_str(host);
            let _ = write!(key, ":{port}|");
            key.push_str(method.as_str());
            Some(key)
        }
        // RFC 2543 peers (§17.2.3 fallback): Call-ID, CSeq number, From tag.
        _ => {
            let from_tag = request
                .header("From")
                .and_then(NameAddr::parse)
                .and_then(|a| a.tag().map(str::to_owned))
                .unwrap_or_default();
            let (cseq, _) = request.cseq()?;
            Some(format!(
                "2543|{}|{cseq}|{from_tag}|{host}:{port}|{method}",
                request.call_id()?
            ))
        }
    }
}

#[derive(Debug)]
struct ServerTxn {
    peer: Peer,
    invite: bool,
    /// The last response sent, in a slab ([`Slabs`]).
    last: Option<(u16, Bytes)>,
    /// Timer G: next retransmission of a final INVITE response, and the interval.
    retransmit: Option<(Duration, Duration)>,
    /// When the transaction ends (Timers H, I, J).
    end: Option<Duration>,
    acked: bool,
}

/// What a request means to the transaction layer.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A new request: give it to the application.
    New,
    /// A retransmission: here is what to resend (if anything yet).
    Retransmission(Option<Outgoing>),
    /// The ACK of a non-2xx final response: absorbed.
    AckAbsorbed,
}

/// Server transactions.
#[derive(Debug, Default)]
pub struct ServerTransactions {
    timers: TimerValues,
    /// By key; keys and responses live in `slabs`.
    txns: HashMap<Bytes, ServerTxn>,
    wakeups: Wakeups<Bytes>,
    slabs: Slabs,
    /// New transactions whose first timer is not scheduled yet: most are
    /// answered before the request's handling returns, and then only the
    /// answer's timer is (a scheduled "until the TU answers" timer would
    /// keep its key alive for 64·T1, twice as long as Timer J).
    unarmed: Vec<Bytes>,
    memo: KeyMemo,
}

/// The key last computed for a request with an RFC 3261 branch, with the
/// top Via text and method it came from. A handler's reply finds its
/// transaction by comparing that text instead of parsing the Via and
/// building the key again (about 4 500 instructions a request, callgrind);
/// the buffers are reused, so a hit or a miss allocates nothing.
#[derive(Debug, Default)]
struct KeyMemo {
    /// Whether `via` and `method` identify `key` (false after an RFC 2543
    /// key, which also depends on Call-ID, CSeq and From).
    valid: bool,
    via: String,
    method: Option<Method>,
    key: String,
}

impl KeyMemo {
    /// The server key of `request` (see [`server_key`]).
    fn key_of(&mut self, request: &SipMessage) -> Option<&str> {
        let via = request.top_via()?;
        let method = request.method();
        if self.valid && self.via == via && self.method == method {
            return Some(&self.key);
        }
        self.key = server_key(request)?;
        self.valid = self.key.starts_with("z9hG4bK");
        self.via.clear();
        self.via.push_str(via);
        self.method = method;
        Some(&self.key)
    }
}

impl ServerTxn {
    fn next_timer(&self) -> Option<Duration> {
        match (self.end, self.retransmit.map(|(at, _)| at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Schedules the next timer of the transaction under `key`.
fn schedule_in(txns: &HashMap<Bytes, ServerTxn>, wakeups: &mut Wakeups<Bytes>, key: &[u8]) {
    if let Some((key, txn)) = txns.get_key_value(key) {
        wakeups.at(txn.next_timer(), key);
    }
}

impl ServerTransactions {
    /// With these timer values.
    pub fn new(timers: TimerValues) -> ServerTransactions {
        ServerTransactions {
            timers,
            txns: HashMap::new(),
            wakeups: Wakeups::default(),
            slabs: Slabs::default(),
            unarmed: Vec::new(),
            memo: KeyMemo::default(),
        }
    }

    fn schedule(&mut self, key: &[u8]) {
        schedule_in(&self.txns, &mut self.wakeups, key);
    }

    /// Schedules the first timer of new transactions still unanswered
    /// (the engine calls it once a request has been handled; polling does
    /// too).
    pub fn arm(&mut self) {
        for key in std::mem::take(&mut self.unarmed) {
            if self.txns.get(&key).is_some_and(|txn| txn.last.is_none()) {
                self.schedule(&key);
            }
        }
    }

    /// Classifies an arriving request.
    pub fn on_request(&mut self, now: Duration, request: &SipMessage, peer: Peer) -> Arrival {
        let Some(key) = self.memo.key_of(request) else {
            return Arrival::New;
        };
        let is_ack = request.method() == Some(Method::Ack);
        match self.txns.get_mut(key.as_bytes()) {
            Some(txn) if is_ack => {
                if txn.invite && txn.last.as_ref().is_some_and(|(c, _)| *c >= 300) {
                    txn.acked = true;
                    txn.retransmit = None;
                    // Timer I: absorb ACK retransmissions (zero over TCP).
                    let t4 = if peer.transport.is_reliable() {
                        Duration::ZERO
                    } else {
                        self.timers.t4
                    };
                    txn.end = Some(now + t4);
                    schedule_in(&self.txns, &mut self.wakeups, key.as_bytes());
                    Arrival::AckAbsorbed
                } else {
                    Arrival::New // an ACK for a 2xx is the dialog's business
                }
            }
            Some(txn) => Arrival::Retransmission(txn.last.as_ref().map(|(_, bytes)| Outgoing {
                to: txn.peer,
                bytes: bytes.to_vec(),
            })),
            None if is_ack => Arrival::New,
            None => {
                let key = self.slabs.keep(now, key.as_bytes());
                self.txns.insert(
                    key.clone(),
                    ServerTxn {
                        peer,
                        invite: request.method() == Some(Method::Invite),
                        last: None,
                        retransmit: None,
                        // Until the TU answers: longer than any client
                        // transaction it may wait on (Timer B/F = 64*T1).
                        end: Some(now + 128 * self.timers.t1),
                        acked: false,
                    },
                );
                self.unarmed.push(key);
                Arrival::New
            }
        }
    }

    /// Records a response sent for `request`; returns what to send now.
    pub fn respond(
        &mut self,
        now: Duration,
        request: &SipMessage,
        response: &SipMessage,
    ) -> Option<Outgoing> {
        let key = self.memo.key_of(request)?;
        let txn = self.txns.get_mut(key.as_bytes())?;
        let code = response.status()?;
        let bytes = response.to_bytes();
        let reliable = txn.peer.transport.is_reliable();
        if code >= 200 {
            if txn.invite {
                // Timer G (UDP) until the ACK, Timer H to give up. A 2xx
                // is retransmitted the same way until its ACK (§13.3.1.4).
                if !reliable {
                    txn.retransmit = Some((now + self.timers.t1, self.timers.t1));
                }
                txn.end = Some(now + 64 * self.timers.t1);
            } else {
                // Timer J: absorb request retransmissions.
                let j = if reliable {
                    Duration::ZERO
                } else {
                    64 * self.timers.t1
                };
                txn.end = Some(now + j);
            }
        }
        txn.last = Some((code, self.slabs.keep(now, &bytes)));
        let out = Outgoing {
            to: txn.peer,
            bytes,
        };
        schedule_in(&self.txns, &mut self.wakeups, key.as_bytes());
        Some(out)
    }

    /// The ACK of a 2xx arrived (matched by the dialog): stop retransmitting.
    pub fn acked_2xx(&mut self, invite: &SipMessage) {
        let Some(key) = server_key(invite) else {
            return;
        };
        if let Some(txn) = self.txns.get_mut(key.as_bytes()) {
            txn.retransmit = None;
            txn.acked = true;
            txn.end = Some(Duration::ZERO);
            self.schedule(key.as_bytes());
        }
    }

    /// The peer an arriving request's transaction answers to.
    pub fn peer_of(&self, request: &SipMessage) -> Option<Peer> {
        server_key(request)
            .and_then(|k| self.txns.get(k.as_bytes()))
            .map(|t| t.peer)
    }

    /// Fires due timers: retransmissions to send.
    pub fn poll(&mut self, now: Duration) -> Vec<Outgoing> {
        self.arm();
        let mut out = Vec::new();
        let t2 = self.timers.t2;
        for key in self.wakeups.due(now) {
            let Some(txn) = self.txns.get_mut(&key) else {
                continue;
            };
            if txn.end.is_some_and(|end| end <= now) {
                self.txns.remove(&key);
                continue;
            }
            if let Some((at, interval)) = txn.retransmit
                && at <= now
                && !txn.acked
            {
                if let Some((_, bytes)) = &txn.last {
                    out.push(Outgoing {
                        to: txn.peer,
                        bytes: bytes.to_vec(),
                    });
                }
                let next = (interval * 2).min(t2);
                txn.retransmit = Some((now + next, next));
            }
            self.schedule(&key);
        }
        wakeups::shrink_map(&mut self.txns);
        self.wakeups.shrink();
        out
    }

    /// The earliest timer (possibly a stale one: polling then is harmless).
    pub fn next_timeout(&self) -> Option<Duration> {
        let unarmed = self
            .unarmed
            .iter()
            .filter_map(|key| self.txns.get(key).and_then(ServerTxn::next_timer));
        unarmed.chain(self.wakeups.next()).min()
    }

    /// How many transactions are live.
    pub fn len(&self) -> usize {
        self.txns.len()
    }

    /// Whether none is live.
    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::wire::parse_datagram;

    fn peer() -> Peer {
        Peer::udp("127.0.0.1:5070".parse().unwrap())
    }

    fn req(method: &str) -> SipMessage {
        let text = format!(
            "{method} sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKt1\r\nFrom: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: t\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        parse_datagram(text.as_bytes()).unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A request whose Via has no RFC 3261 branch (an RFC 2543 peer).
    fn old_style(call_id: &str) -> SipMessage {
        let text = format!(
            "MESSAGE sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070\r\nFrom: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
        );
        parse_datagram(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_reply_finds_its_own_transaction_whatever_the_last_key_was() {
        let mut s = ServerTransactions::new(TimerValues::default());
        // Same top Via, different methods: two transactions (§17.2.3).
        let (invite, options) = (req("INVITE"), req("OPTIONS"));
        assert_eq!(s.on_request(ms(0), &invite, peer()), Arrival::New);
        assert_eq!(s.on_request(ms(0), &options, peer()), Arrival::New);
        // Same Via without a branch, different Call-IDs: two more (RFC 2543).
        let (first, second) = (old_style("one"), old_style("two"));
        assert_eq!(s.on_request(ms(0), &first, peer()), Arrival::New);
        assert_eq!(s.on_request(ms(0), &second, peer()), Arrival::New);
        assert_eq!(s.len(), 4);
        for (request, code) in [
            (&invite, 180),
            (&first, 200),
            (&options, 200),
            (&second, 404),
        ] {
            let response = request.response(code, "X", Some("t"));
            assert!(s.respond(ms(1), request, &response).is_some());
        }
        // Each retransmission gets its own transaction's answer back.
        for (request, code) in [
            (&second, "404"),
            (&invite, "180"),
            (&first, "200"),
            (&options, "200"),
        ] {
            match s.on_request(ms(2), request, peer()) {
                Arrival::Retransmission(Some(again)) => {
                    let text = String::from_utf8(again.bytes).unwrap();
                    assert!(text.starts_with(&format!("SIP/2.0 {code} ")), "{text}");
                    assert_eq!(
                        parse_datagram(text.as_bytes()).unwrap().call_id(),
                        request.call_id()
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn non_invite_server_absorbs_retransmissions_until_timer_j_rfc3261_17_2_2() {
        let mut s = ServerTransactions::new(TimerValues::default());
        let r = req("MESSAGE");
        assert_eq!(s.on_request(ms(0), &r, peer()), Arrival::New);
        assert_eq!(
            s.on_request(ms(10), &r, peer()),
            Arrival::Retransmission(None)
        );
        let ok = r.response(200, "OK", Some("x"));
        let sent = s.respond(ms(20), &r, &ok).unwrap();
        match s.on_request(ms(30), &r, peer()) {
            Arrival::Retransmission(Some(again)) => assert_eq!(again.bytes, sent.bytes),
            other => panic!("{other:?}"),
        }
        assert!(s.poll(ms(20 + 32_000)).is_empty());
        assert_eq!(s.len(), 0); // Timer J = 64*T1 fired
    }

    #[test]
    fn invite_server_retransmits_final_until_ack_timers_g_h_i() {
        let mut s = ServerTransactions::new(TimerValues::default());
        let invite = req("INVITE");
        s.on_request(ms(0), &invite, peer());
        s.respond(
            ms(0),
            &invite,
            &invite.response(486, "Busy Here", Some("x")),
        );
        assert_eq!(s.poll(ms(500)).len(), 1); // G after T1
        assert_eq!(s.poll(ms(900)).len(), 0);
        assert_eq!(s.poll(ms(1500)).len(), 1); // then 2*T1
        let ack = req("ACK");
        assert_eq!(s.on_request(ms(1600), &ack, peer()), Arrival::AckAbsorbed);
        assert!(s.poll(ms(5000)).is_empty());
        s.poll(ms(1600 + 5001));
        assert_eq!(s.len(), 0); // Timer I = T4
    }

    #[test]
    fn non_invite_client_retransmits_then_times_out_timers_e_f() {
        let mut c = ClientTransactions::new(TimerValues::default());
        c.send(ms(0), 7, peer(), req("MESSAGE"));
        let mut sent = 0;
        let mut timeout = None;
        for t in (0..=33_000).step_by(100) {
            let (out, events) = c.poll(ms(t));
            sent += out.len();
            if let Some(e) = events.into_iter().next() {
                timeout = Some((t, e));
            }
        }
        // 500, 1500, 3500, 7500, then every 4 s up to 32 s.
        assert!((9..=12).contains(&sent), "retransmissions: {sent}");
        let (at, event) = timeout.unwrap();
        assert_eq!(at, 32_000);
        assert!(matches!(event, ClientEvent::Timeout(7, _)));
    }

    #[test]
    fn reliable_transport_never_retransmits_rfc3261_17_1_1_2() {
        let mut c = ClientTransactions::new(TimerValues::default());
        let tcp = Peer::tcp("127.0.0.1:5070".parse().unwrap(), 1);
        c.send(ms(0), 1, tcp, req("MESSAGE"));
        let (out, _) = c.poll(ms(10_000));
        assert!(out.is_empty());
    }

    #[test]
    fn invite_client_acks_a_non_2xx_and_absorbs_its_retransmission_rfc3261_17_1_1_3() {
        let mut c = ClientTransactions::new(TimerValues::default());
        let invite = req("INVITE");
        c.send(ms(0), 3, peer(), invite.clone());
        let busy = invite.response(486, "Busy Here", Some("callee"));
        let (event, ack) = c.on_response(ms(100), &busy);
        assert!(matches!(event, Some(ClientEvent::Response(3, _))));
        let ack = parse_datagram(&ack.unwrap().bytes).unwrap();
        assert_eq!(ack.method(), Some(Method::Ack));
        assert_eq!(ack.cseq(), Some((1, Method::Ack)));
        assert!(ack.header("To").unwrap().contains("tag=callee"));
        let (again, ack2) = c.on_response(ms(200), &busy);
        assert!(again.is_none() && ack2.is_some());
    }
}
