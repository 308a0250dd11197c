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

use crate::message::{Method, SipMessage};
use crate::transport::{Outgoing, Peer};
use bytes::Bytes;
use hashbrown::HashTable;
use key::KeyMemo;
use slabs::Slabs;
use std::time::Duration;
use timers::Timers;

mod client;
mod key;
#[cfg(test)]
mod server_tests;
mod slabs;
mod timers;
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

impl TimerValues {
    /// How long a transaction waits for the TU's final answer: longer than
    /// any client transaction the TU may wait on (Timer B/F = 64·T1).
    fn until_answered(&self) -> Duration {
        128 * self.t1
    }
}

/// Where a timer finds its transaction: the key's hash and the
/// transaction's number (a later transaction under the same key is
/// another one). Numbers wrap after 2³² transactions, which no timer
/// outlives (the longest is 128·T1); a stale timer that found a newer
/// transaction would only check its timers early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TxnRef {
    hash: u64,
    id: u32,
}

#[derive(Debug)]
struct ServerTxn {
    /// The key's hash: the table rehashes with it.
    hash: u64,
    id: u32,
    /// The key (written by `key.rs`), in a slab ([`Slabs`]).
    key: Bytes,
    peer: Peer,
    invite: bool,
    /// The status code of `last`, 0 before any (apart from `last`, so that
    /// it fits beside `id` and an entry is no larger than when it was
    /// keyed by a separate `Bytes`: 184 bytes).
    code: u16,
    /// The last response sent, in a slab.
    last: Option<Bytes>,
    /// Timer G: next retransmission of a final INVITE response, and the interval.
    retransmit: Option<(Duration, Duration)>,
    /// When the transaction ends (until the TU answers, then Timers H, I, J).
    end: Duration,
    acked: bool,
}

impl ServerTxn {
    fn reference(&self) -> TxnRef {
        TxnRef {
            hash: self.hash,
            id: self.id,
        }
    }

    fn answered(&self) -> bool {
        self.code >= 200
    }

    fn next_timer(&self) -> Duration {
        match self.retransmit {
            Some((at, _)) => at.min(self.end),
            None => self.end,
        }
    }
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
    /// By key; keys and responses live in `slabs`. A table with the hash
    /// kept in each entry rather than a map: a key is hashed once per
    /// request, not at each of a transaction's lookups, insertion, removal
    /// and rehashes (SipHash was ≈ 2 800 instructions a transaction).
    txns: HashTable<ServerTxn>,
    /// Every timer a transaction has set (a stale one finds nothing due).
    wakeups: Timers<TxnRef>,
    slabs: Slabs,
    /// New transactions whose first timer is not scheduled yet: most are
    /// answered before the request's handling returns, and then only the
    /// answer's timer is (a scheduled "until the TU answers" timer would
    /// keep an entry for 64·T1, twice as long as Timer J).
    unarmed: Vec<TxnRef>,
    memo: KeyMemo,
    /// The number of the next transaction.
    next_id: u32,
}

fn find(txns: &HashTable<ServerTxn>, at: TxnRef) -> Option<&ServerTxn> {
    txns.find(at.hash, |txn| txn.id == at.id)
}

impl ServerTransactions {
    /// With these timer values.
    pub fn new(timers: TimerValues) -> ServerTransactions {
        ServerTransactions {
            timers,
            ..ServerTransactions::default()
        }
    }

    /// Schedules the first timer of new transactions still unanswered
    /// (the engine calls it once a request has been handled; polling does
    /// too).
    pub fn arm(&mut self) {
        let wait = self.timers.until_answered();
        for at in self.unarmed.drain(..) {
            if let Some(txn) = find(&self.txns, at).filter(|txn| !txn.answered()) {
                self.wakeups.after(wait, txn.end, at);
            }
        }
    }

    /// Classifies an arriving request.
    pub fn on_request(&mut self, now: Duration, request: &SipMessage, peer: Peer) -> Arrival {
        let Some((hash, key)) = self.memo.key_of(request) else {
            return Arrival::New;
        };
        let is_ack = request.method() == Some(Method::Ack);
        match self.txns.find_mut(hash, |txn| *txn.key == *key) {
            Some(txn) if is_ack => {
                if txn.invite && txn.code >= 300 {
                    txn.acked = true;
                    txn.retransmit = None;
                    // Timer I: absorb ACK retransmissions (zero over TCP).
                    let t4 = if peer.transport.is_reliable() {
                        Duration::ZERO
                    } else {
                        self.timers.t4
                    };
                    txn.end = now + t4;
                    self.wakeups.after(t4, txn.end, txn.reference());
                    Arrival::AckAbsorbed
                } else {
                    Arrival::New // an ACK for a 2xx is the dialog's business
                }
            }
            Some(txn) => Arrival::Retransmission(txn.last.as_ref().map(|bytes| Outgoing {
                to: txn.peer,
                bytes: bytes.to_vec(),
            })),
            None if is_ack => Arrival::New,
            None => {
                let id = self.next_id;
                self.next_id = id.wrapping_add(1);
                let txn = ServerTxn {
                    hash,
                    id,
                    key: self.slabs.keep(now, key),
                    peer,
                    invite: request.method() == Some(Method::Invite),
                    code: 0,
                    last: None,
                    retransmit: None,
                    end: now + self.timers.until_answered(),
                    acked: false,
                };
                self.txns.insert_unique(hash, txn, |txn| txn.hash);
                self.unarmed.push(TxnRef { hash, id });
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
        let (hash, key) = self.memo.key_of(request)?;
        let txn = self.txns.find_mut(hash, |txn| *txn.key == *key)?;
        let code = response.status()?;
        let bytes = response.to_bytes();
        let reliable = txn.peer.transport.is_reliable();
        let at = txn.reference();
        if code >= 200 {
            let t1 = self.timers.t1;
            let linger = if txn.invite {
                // Timer G (UDP) until the ACK, Timer H to give up. A 2xx
                // is retransmitted the same way until its ACK (§13.3.1.4).
                if !reliable {
                    txn.retransmit = Some((now + t1, t1));
                    self.wakeups.at(now + t1, at);
                }
                64 * t1
            } else if reliable {
                Duration::ZERO
            } else {
                64 * t1 // Timer J: absorb request retransmissions.
            };
            txn.end = now + linger;
            self.wakeups.after(linger, txn.end, at);
        }
        txn.code = code;
        txn.last = Some(self.slabs.keep(now, &bytes));
        Some(Outgoing {
            to: txn.peer,
            bytes,
        })
    }

    /// The ACK of a 2xx arrived (matched by the dialog): stop retransmitting.
    pub fn acked_2xx(&mut self, invite: &SipMessage) {
        let Some((hash, key)) = self.memo.key_of(invite) else {
            return;
        };
        if let Some(txn) = self.txns.find_mut(hash, |txn| *txn.key == *key) {
            txn.retransmit = None;
            txn.acked = true;
            txn.end = Duration::ZERO;
            self.wakeups.at(txn.end, txn.reference());
        }
    }

    /// The peer an arriving request's transaction answers to.
    pub fn peer_of(&self, request: &SipMessage) -> Option<Peer> {
        let (hash, key) = self.memo.key_for(request)?;
        self.txns
            .find(hash, |txn| *txn.key == *key)
            .map(|txn| txn.peer)
    }

    /// Fires due timers: retransmissions to send.
    pub fn poll(&mut self, now: Duration) -> Vec<Outgoing> {
        self.arm();
        let mut out = Vec::new();
        let t2 = self.timers.t2;
        while let Some(at) = self.wakeups.pop_due(now) {
            let Ok(entry) = self.txns.find_entry(at.hash, |txn| txn.id == at.id) else {
                continue;
            };
            if entry.get().end <= now {
                entry.remove();
                continue;
            }
            let txn = entry.into_mut();
            if let Some((due, interval)) = txn.retransmit
                && due <= now
                && !txn.acked
            {
                if let Some(bytes) = &txn.last {
                    out.push(Outgoing {
                        to: txn.peer,
                        bytes: bytes.to_vec(),
                    });
                }
                let next = (interval * 2).min(t2);
                txn.retransmit = Some((now + next, next));
                self.wakeups.at(now + next, at);
            }
        }
        if let Some(target) = wakeups::shrunk_capacity(self.txns.len(), self.txns.capacity()) {
            self.txns.shrink_to(target, |txn| txn.hash);
        }
        self.wakeups.shrink();
        out
    }

    /// The earliest timer (possibly a stale one: polling then is harmless).
    pub fn next_timeout(&self) -> Option<Duration> {
        let unarmed = self
            .unarmed
            .iter()
            .filter_map(|at| find(&self.txns, *at).map(ServerTxn::next_timer));
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
