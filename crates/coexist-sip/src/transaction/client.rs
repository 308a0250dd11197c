//! Client transactions (RFC 3261 §17.1): Timers A/E retransmit a request,
//! B/F give up on it, D/K absorb response retransmissions once completed.

use super::TimerValues;
use super::wakeups::{self, Wakeups};
use crate::headers::ViaRef;
use crate::message::{Method, SipMessage};
use crate::transport::{Outgoing, Peer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Who a client transaction reports to (the application's own id).
pub type Owner = u64;

#[derive(Debug)]
struct ClientTxn {
    owner: Owner,
    peer: Peer,
    request: SipMessage,
    bytes: Vec<u8>,
    invite: bool,
    /// Timers A/E: next retransmission and interval.
    retransmit: Option<(Duration, Duration)>,
    /// Timer B/F, then D/K once completed.
    end: Duration,
    completed: bool,
}

/// What happened to a request we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A response (provisional or final; retransmitted finals are absorbed).
    Response(Owner, SipMessage),
    /// No final response in time (Timer B/F): treat as 408.
    Timeout(Owner, SipMessage),
}

/// Client transactions.
#[derive(Debug, Default)]
pub struct ClientTransactions {
    timers: TimerValues,
    txns: HashMap<Arc<str>, ClientTxn>,
    wakeups: Wakeups<Arc<str>>,
}

impl ClientTxn {
    fn next_timer(&self) -> Duration {
        match self.retransmit {
            Some((at, _)) => at.min(self.end),
            None => self.end,
        }
    }
}

impl ClientTransactions {
    /// With these timer values.
    pub fn new(timers: TimerValues) -> ClientTransactions {
        ClientTransactions {
            timers,
            txns: HashMap::new(),
            wakeups: Wakeups::default(),
        }
    }

    fn schedule(&mut self, key: &str) {
        if let Some((key, txn)) = self.txns.get_key_value(key) {
            self.wakeups.at(Some(txn.next_timer()), key);
        }
    }

    /// Starts a transaction for `request` (whose top Via carries a fresh
    /// branch) to `peer`; returns the bytes to send. An ACK is sent once
    /// and is no transaction.
    pub fn send(
        &mut self,
        now: Duration,
        owner: Owner,
        peer: Peer,
        request: SipMessage,
    ) -> Outgoing {
        let bytes = request.to_bytes();
        let out = Outgoing {
            to: peer,
            bytes: bytes.clone(),
        };
        if request.method() == Some(Method::Ack) {
            return out;
        }
        let Some(branch) = request
            .top_via()
            .and_then(ViaRef::parse)
            .and_then(|v| v.branch().map(str::to_owned))
        else {
            return out;
        };
        let invite = request.method() == Some(Method::Invite);
        let t1 = self.timers.t1;
        // Keyed by branch and method: a CANCEL shares its INVITE's branch (§9.1).
        let key: Arc<str> = format!(
            "{branch}|{}",
            request.method().map(|m| m.to_string()).unwrap_or_default()
        )
        .into();
        self.txns.insert(
            key.clone(),
            ClientTxn {
                owner,
                peer,
                request,
                bytes,
                invite,
                retransmit: (!peer.transport.is_reliable()).then_some((now + t1, t1)),
                end: now + 64 * t1,
                completed: false,
            },
        );
        self.schedule(&key);
        out
    }

    /// Matches a response to its transaction (§17.1.3). Returns the event
    /// for the owner (None for strays and absorbed retransmissions) and
    /// bytes to send (the ACK of a non-2xx INVITE final response).
    pub fn on_response(
        &mut self,
        now: Duration,
        response: &SipMessage,
    ) -> (Option<ClientEvent>, Option<Outgoing>) {
        let Some(branch) = response
            .top_via()
            .and_then(ViaRef::parse)
            .and_then(|v| v.branch().map(str::to_owned))
        else {
            return (None, None);
        };
        let key = format!(
            "{branch}|{}",
            response.method().map(|m| m.to_string()).unwrap_or_default()
        );
        let Some(txn) = self.txns.get_mut(key.as_str()) else {
            return (None, None);
        };
        let code = response.status().unwrap_or(0);
        let reliable = txn.peer.transport.is_reliable();
        if code < 200 {
            if txn.completed {
                return (None, None);
            }
            // Proceeding: an INVITE stops retransmitting; a non-INVITE
            // goes on at T2 (§17.1.2.2).
            txn.retransmit = if txn.invite {
                None
            } else {
                txn.retransmit
                    .map(|_| (now + self.timers.t2, self.timers.t2))
            };
            return (
                Some(ClientEvent::Response(txn.owner, response.clone())),
                None,
            );
        }
        let ack = (txn.invite && code >= 300).then(|| Outgoing {
            to: txn.peer,
            bytes: ack_for(&txn.request, response).to_bytes(),
        });
        if txn.completed {
            // A retransmitted final response: absorb it (re-ACK a non-2xx).
            return (None, ack);
        }
        txn.completed = true;
        txn.retransmit = None;
        txn.end = if reliable || (txn.invite && code < 300) {
            now
        } else if txn.invite {
            now + Duration::from_secs(32) // Timer D
        } else {
            now + self.timers.t4 // Timer K
        };
        (
            Some(ClientEvent::Response(txn.owner, response.clone())),
            ack,
        )
    }

    /// Fires due timers.
    pub fn poll(&mut self, now: Duration) -> (Vec<Outgoing>, Vec<ClientEvent>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        let t2 = self.timers.t2;
        for key in self.wakeups.due(now) {
            let Some(txn) = self.txns.get_mut(&key) else {
                continue;
            };
            if txn.end <= now {
                if !txn.completed {
                    events.push(ClientEvent::Timeout(txn.owner, txn.request.clone()));
                }
                self.txns.remove(&key);
                continue;
            }
            if let Some((at, interval)) = txn.retransmit
                && at <= now
            {
                out.push(Outgoing {
                    to: txn.peer,
                    bytes: txn.bytes.clone(),
                });
                let next = if txn.invite {
                    interval * 2
                } else {
                    (interval * 2).min(t2)
                };
                txn.retransmit = Some((now + next, next));
            }
            self.schedule(&key);
        }
        wakeups::shrink_map(&mut self.txns);
        self.wakeups.shrink();
        (out, events)
    }

    /// The earliest timer (possibly a stale one: polling then is harmless).
    pub fn next_timeout(&self) -> Option<Duration> {
        self.wakeups.next()
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

/// The ACK of a non-2xx final response (§17.1.1.3): same Request-URI,
/// top Via, Call-ID, From and CSeq number; To from the response.
pub fn ack_for(request: &SipMessage, response: &SipMessage) -> SipMessage {
    let mut ack = SipMessage::request(Method::Ack, request.uri().unwrap_or("sip:invalid"));
    if let Some(via) = request.top_via() {
        ack.push("Via", via.to_owned());
    }
    for name in ["Max-Forwards", "From"] {
        if let Some(v) = request.header(name) {
            ack.push(name, v.to_owned());
        }
    }
    if let Some(to) = response.header("To") {
        ack.push("To", to.to_owned());
    }
    if let Some(v) = request.call_id() {
        ack.push("Call-ID", v.to_owned());
    }
    if let Some((n, _)) = request.cseq() {
        ack.push("CSeq", format!("{n} ACK"));
    }
    for route in request.header_values("Route") {
        ack.push("Route", route.to_owned());
    }
    ack
}
