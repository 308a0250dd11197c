//! Calls between sfb users through the server as a back-to-back user agent
//! (RFC 3261 §6 B2BUA), so either side can later be a teams leg: the
//! caller's dialog (leg A, we are its UAS) and one outgoing INVITE per
//! registered contact of the callee (forks; the one that answers becomes
//! leg B). SDP is passed through untouched. In-dialog requests (BYE,
//! re-INVITE, REFER, NOTIFY, INFO, UPDATE) on one leg are relayed to the
//! other and their answer relayed back.

mod port;
mod routing;

use crate::engine::{Engine, EngineEvent, Pending};
use crate::headers::{NameAddr, NameAddrRef, Params};
use crate::message::{Method, SipMessage};
use crate::transport::Peer;
use std::collections::HashMap;
use std::time::Duration;

/// How a call placed through the delivery port goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// A contact is ringing (1xx).
    Ringing,
    /// A contact answered: its SDP answer.
    Answered(bytes::Bytes),
    /// Nobody answered: the final status (486 busy, 480 unavailable, …).
    Failed(u16),
    /// The call is over (either side hung up).
    Ended,
    /// The sfb party transfers the teams caller (a REFER, R3.6) to this
    /// address (a UPN or a number); answered with
    /// [`crate::Engine::port_refer_failed`] when that is refused.
    Transfer(String),
}

/// One side's dialog state.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
    pub(crate) remote_tag: Option<String>,
    /// Our URI on this leg (no tag).
    pub(crate) local_uri: String,
    /// The other end's URI (no tag).
    pub(crate) remote_uri: String,
    /// Where in-dialog requests go (the remote Contact).
    pub(crate) remote_target: String,
    pub(crate) peer: Peer,
    pub(crate) local_cseq: u32,
}

#[derive(Debug)]
struct Fork {
    leg: Leg,
    invite: SipMessage,
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

#[derive(Debug)]
struct Call {
    /// The delivery port's call id when the caller is the teams side (no SIP leg A).
    port: Option<u64>,
    a: Leg,
    invite: SipMessage,
    forks: Vec<Fork>,
    answered: Option<usize>,
    /// The caller got its final response.
    final_sent: bool,
    best: Option<u16>,
    /// The answering contact's SDP (re-INVITEs compare against it).
    remote_sdp: bytes::Bytes,
    /// A REFER from leg B waits for the teams side (R3.6).
    refer: bool,
}

/// Calls in progress.
#[derive(Debug, Default)]
pub struct Calls {
    calls: HashMap<u64, Call>,
    /// Calls from sfb whose other leg is on teams ([`crate::teams_calls`]).
    pub(crate) teams: HashMap<u64, crate::teams_calls::TeamsLeg>,
    /// (Call-ID, our tag) → call.
    pub(crate) dialogs: HashMap<(String, String), u64>,
}

impl Calls {
    /// Whether `request` belongs to a call's dialog (it carries our tag).
    pub fn owns(&self, request: &SipMessage) -> bool {
        self.find(request).is_some()
    }

    pub(crate) fn find(&self, request: &SipMessage) -> Option<u64> {
        // Every request asks (is it in one of our dialogs?): without
        // dialogs, or without a To tag, nothing is read or copied.
        if self.dialogs.is_empty() {
            return None;
        }
        let to = request.header("To").and_then(NameAddrRef::parse)?;
        let to_tag = to.tag()?;
        let call_id = request.call_id()?;
        self.dialogs
            .get(&(call_id.to_owned(), to_tag.to_owned()))
            .copied()
    }

    /// Whether the dialog with this Call-ID (either leg) is part of a call
    /// whose other party is on teams.
    pub(crate) fn has_teams_party(&self, call_id: &str) -> bool {
        self.teams.values().any(|t| t.call_id() == call_id)
            || self
                .calls
                .values()
                .any(|c| c.port.is_some() && c.forks.iter().any(|f| f.leg.call_id == call_id))
    }

    /// How many calls are in progress.
    pub fn len(&self) -> usize {
        self.calls.len() + self.teams.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.teams.is_empty()
    }

    fn remove(&mut self, id: u64) {
        if let Some(call) = self.calls.remove(&id) {
            self.dialogs
                .remove(&(call.a.call_id.clone(), call.a.local_tag.clone()));
            for fork in call.forks {
                self.dialogs.remove(&(fork.leg.call_id, fork.leg.local_tag));
            }
        }
    }
}

pub(crate) fn without_tag(value: &str) -> String {
    match NameAddr::parse(value) {
        Some(mut addr) => {
            addr.params = Params(
                addr.params
                    .0
                    .into_iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("tag"))
                    .collect(),
            );
            addr.to_value()
        }
        None => value.to_owned(),
    }
}

pub(crate) fn contact_uri(message: &SipMessage) -> Option<String> {
    message
        .header_values("Contact")
        .into_iter()
        .next()
        .and_then(NameAddr::parse)
        .map(|a| a.uri)
}

pub(crate) fn copy_body(from: &SipMessage, to: &mut SipMessage) {
    if !from.body.is_empty() {
        let content_type = from.header("Content-Type").unwrap_or("application/sdp");
        to.set_body(content_type, from.body.clone());
    }
}

impl Engine {
    /// A request on `leg` (in its dialog).
    pub(crate) fn in_dialog_request(&mut self, leg: &mut Leg, method: Method) -> SipMessage {
        let cseq = if method == Method::Ack {
            leg.local_cseq
        } else {
            leg.local_cseq += 1;
            leg.local_cseq
        };
        let mut to = leg.remote_uri.clone();
        if let Some(tag) = &leg.remote_tag {
            to.push_str(";tag=");
            to.push_str(tag);
        }
        let via = self.our_via(leg.peer.transport);
        SipMessage::request(method.clone(), leg.remote_target.clone())
            .with("Via", via)
            .with("Max-Forwards", "70")
            .with("From", format!("{};tag={}", leg.local_uri, leg.local_tag))
            .with("To", to)
            .with("Call-ID", leg.call_id.clone())
            .with("CSeq", format!("{cseq} {method}"))
            .with("Contact", self.our_contact(leg.peer.transport))
    }

    pub(crate) fn on_invite(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        // Numbers: from a PSTN gateway, or an sfb user calling out (R6).
        if self.pstn_invite(now, peer, &request) {
            return;
        }
        // R5.4: no joining an interop call (RFC 3911 Join, RFC 3891 Replaces).
        if self.escalation_refused(now, &request) {
            return;
        }
        let Some((from, to)) = self.admit(now, peer, &request) else {
            return;
        };
        let contacts = self.registrar.targets(&to.upn, now);
        self.start_b2bua(now, peer, request, &from.upn, &to.upn, contacts);
    }

    /// Leg A is `request`'s dialog (we answer it); leg B candidates are one
    /// INVITE per `contacts` (the callee's registrations, or a gateway).
    /// `from_id` is the caller as written in the forks' From (`user@host`).
    pub(crate) fn start_b2bua(
        &mut self,
        now: Duration,
        peer: Peer,
        request: SipMessage,
        from_id: &str,
        to_upn: &str,
        contacts: Vec<(String, Peer)>,
    ) {
        if contacts.is_empty() {
            let response = request.response(480, "Temporarily Unavailable", None);
            self.reply(now, &request, response);
            return;
        }
        let trying = request.response(100, "Trying", None);
        self.reply(now, &request, trying);

        let id = self.id();
        let a = self.leg_a(peer, &request, from_id);
        self.calls
            .dialogs
            .insert((a.call_id.clone(), a.local_tag.clone()), id);
        let forks = self.start_forks(now, id, from_id, to_upn, contacts, &request);
        self.calls.calls.insert(
            id,
            Call {
                port: None,
                a,
                invite: request,
                forks,
                answered: None,
                final_sent: false,
                best: None,
                remote_sdp: bytes::Bytes::new(),
                refer: false,
            },
        );
    }

    /// The caller's dialog (we are its UAS) from its INVITE.
    pub(crate) fn leg_a(&mut self, peer: Peer, request: &SipMessage, from_id: &str) -> Leg {
        Leg {
            call_id: request.call_id().unwrap_or_default().to_owned(),
            local_tag: self.token(),
            remote_tag: request
                .header("From")
                .and_then(NameAddr::parse)
                .and_then(|a| a.tag().map(str::to_owned)),
            local_uri: without_tag(request.header("To").unwrap_or_default()),
            remote_uri: without_tag(request.header("From").unwrap_or_default()),
            remote_target: contact_uri(request).unwrap_or_else(|| format!("sip:{from_id}")),
            peer: self.server.peer_of(request).unwrap_or(peer),
            local_cseq: 0,
        }
    }

    /// One INVITE per contact of the callee (leg B candidates), carrying
    /// the caller's body.
    fn start_forks(
        &mut self,
        now: Duration,
        id: u64,
        from_upn: &str,
        to_upn: &str,
        contacts: Vec<(String, Peer)>,
        body_of: &SipMessage,
    ) -> Vec<Fork> {
        let mut forks = Vec::new();
        for (index, (contact, contact_peer)) in contacts.into_iter().enumerate() {
            let mut leg = Leg {
                call_id: format!("{}@coexist", self.token()),
                local_tag: self.token(),
                remote_tag: None,
                local_uri: format!("<sip:{from_upn}>"),
                remote_uri: format!("<sip:{to_upn}>"),
                remote_target: contact,
                peer: contact_peer,
                local_cseq: 0,
            };
            let mut invite = self.in_dialog_request(&mut leg, Method::Invite);
            copy_body(body_of, &mut invite);
            self.calls
                .dialogs
                .insert((leg.call_id.clone(), leg.local_tag.clone()), id);
            self.send_request(now, contact_peer, invite.clone(), Pending::Call(id, index));
            forks.push(Fork {
                leg,
                invite,
                done: false,
            });
        }
        forks
    }

    /// Tells the caller how the call goes: a SIP response on leg A, or an
    /// event for the delivery port.
    fn answer_caller(
        &mut self,
        now: Duration,
        id: u64,
        code: u16,
        reason: &str,
        from: Option<&SipMessage>,
    ) {
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        if let Some(port) = call.port {
            let event = match code {
                100..=199 => CallEvent::Ringing,
                200..=299 => CallEvent::Answered(from.map(|m| m.body.clone()).unwrap_or_default()),
                _ => CallEvent::Failed(code),
            };
            self.events.push(EngineEvent::Call { id: port, event });
            return;
        }
        let invite = call.invite.clone();
        let tag = call.a.local_tag.clone();
        let transport = call.a.peer.transport;
        let mut response = invite.response(code, reason, Some(&tag));
        if code < 300 {
            response.push("Contact", self.our_contact(transport));
        }
        if let Some(from) = from {
            copy_body(from, &mut response);
        }
        self.reply(now, &invite, response);
    }

    pub(crate) fn on_cancel(&mut self, now: Duration, _peer: Peer, request: SipMessage) {
        if self.cancel_teams_leg(now, &request) {
            return;
        }
        let number = request.cseq().map(|(n, _)| n);
        let call_id = request.call_id().map(str::to_owned);
        let found = self.calls.calls.iter().find_map(|(id, call)| {
            (Some(call.invite.call_id().map(str::to_owned)) == Some(call_id.clone())
                && call.invite.cseq().map(|(n, _)| n) == number
                && !call.final_sent)
                .then_some(*id)
        });
        let Some(id) = found else {
            let response = request.response(481, "Call/Transaction Does Not Exist", None);
            self.reply(now, &request, response);
            return;
        };
        let ok = request.response(200, "OK", None);
        self.reply(now, &request, ok);
        self.cancel_forks(now, id, None);
        if let Some(call) = self.calls.calls.get_mut(&id) {
            call.final_sent = true;
            let invite = call.invite.clone();
            let tag = call.a.local_tag.clone();
            let terminated = invite.response(487, "Request Terminated", Some(&tag));
            self.reply(now, &invite, terminated);
        }
    }

    /// CANCELs every unanswered fork except `keep`.
    fn cancel_forks(&mut self, now: Duration, id: u64, keep: Option<usize>) {
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let cancels: Vec<(Peer, SipMessage)> = call
            .forks
            .iter()
            .enumerate()
            .filter(|(i, f)| Some(*i) != keep && !f.done)
            .map(|(_, f)| {
                let mut cancel =
                    SipMessage::request(Method::Cancel, f.invite.uri().unwrap_or_default());
                for name in ["Via", "From", "To", "Call-ID"] {
                    if let Some(v) = f.invite.header(name) {
                        cancel.push(name, v.to_owned());
                    }
                }
                cancel.push("Max-Forwards", "70");
                cancel.push("CSeq", format!("{} CANCEL", f.leg.local_cseq));
                (f.leg.peer, cancel)
            })
            .collect();
        for (peer, cancel) in cancels {
            self.send_request(now, peer, cancel, Pending::Fire);
        }
    }

    pub(crate) fn call_response(
        &mut self,
        now: Duration,
        id: u64,
        fork: usize,
        response: SipMessage,
    ) {
        let code = response.status().unwrap_or(500);
        if code == 100 {
            return;
        }
        let Some(call) = self.calls.calls.get_mut(&id) else {
            return;
        };
        let Some(f) = call.forks.get_mut(fork) else {
            return;
        };
        if let Some(tag) = response
            .header("To")
            .and_then(NameAddr::parse)
            .and_then(|a| a.tag().map(str::to_owned))
        {
            f.leg.remote_tag = Some(tag);
        }
        if let Some(target) = contact_uri(&response) {
            f.leg.remote_target = target;
        }
        if code < 200 {
            if call.answered.is_none() && !call.final_sent {
                self.answer_caller(now, id, code, &reason_of(&response), Some(&response));
            }
            return;
        }
        f.done = true;
        if code < 300 {
            // ACK every 2xx on the B side ourselves (§13.2.2.4).
            let mut leg = f.leg.clone();
            let ack = self.in_dialog_request(&mut leg, Method::Ack);
            let peer = leg.peer;
            self.out.push(self.client.send(now, 0, peer, ack));
            let Some(call) = self.calls.calls.get_mut(&id) else {
                return;
            };
            if call.answered.is_some() || call.final_sent {
                // A second fork answered, or the caller gave up: hang it up.
                let mut leg = leg;
                let bye = self.in_dialog_request(&mut leg, Method::Bye);
                self.send_request(now, peer, bye, Pending::Fire);
                return;
            }
            call.answered = Some(fork);
            call.final_sent = true;
            call.remote_sdp = response.body.clone();
            self.answer_caller(now, id, 200, "OK", Some(&response));
            self.cancel_forks(now, id, Some(fork));
            return;
        }
        // A failure: keep the most telling one; answer when all forks failed.
        call.best = Some(match call.best {
            None => code,
            Some(best) if code == 486 || code >= 600 => code.max(best.min(code)),
            Some(best) => best,
        });
        let all_done = call.forks.iter().all(|f| f.done);
        if all_done && call.answered.is_none() {
            if !call.final_sent {
                call.final_sent = true;
                let code = match call.best {
                    Some(408) | None => 480,
                    Some(c) => c,
                };
                let reason = if code == 480 {
                    "Temporarily Unavailable".to_owned()
                } else {
                    reason_of(&response)
                };
                self.answer_caller(now, id, code, &reason, None);
            }
            self.calls.remove(id);
        }
    }

    /// A 2xx retransmitted by a callee whose INVITE transaction ended: ACK again.
    pub(crate) fn call_2xx_retransmission(&mut self, response: &SipMessage) {
        let call_id = response.call_id().unwrap_or_default();
        let found = self.calls.calls.values().find_map(|c| {
            c.forks
                .iter()
                .find(|f| f.leg.call_id == call_id)
                .map(|f| f.leg.clone())
        });
        if let Some(mut leg) = found {
            let ack = self.in_dialog_request(&mut leg, Method::Ack);
            let peer = leg.peer;
            self.out
                .push(self.client.send(Duration::ZERO, 0, peer, ack));
        }
    }

    pub(crate) fn call_in_dialog(&mut self, now: Duration, _peer: Peer, request: SipMessage) {
        let Some(id) = self.calls.find(&request) else {
            return;
        };
        if self.calls.teams.contains_key(&id) {
            self.teams_leg_request(now, id, request);
            return;
        }
        let Some(call) = self.calls.calls.get(&id) else {
            return;
        };
        let method = request.method().unwrap_or(Method::Ack);
        let call_id = request.call_id().unwrap_or_default();
        let side = if call_id == call.a.call_id {
            Side::A
        } else {
            Side::B
        };
        if method == Method::Ack {
            if side == Side::A {
                let invite = call.invite.clone();
                self.server.acked_2xx(&invite);
            }
            return;
        }
        if let (Some(port), Side::B) = (call.port, side) {
            self.port_leg_request(now, id, port, request);
            return;
        }
        // The other leg: B if the request came on A, A otherwise.
        let other = match side {
            Side::A => call
                .answered
                .and_then(|i| call.forks.get(i))
                .map(|f| f.leg.clone()),
            Side::B => Some(call.a.clone()),
        };
        let Some(mut other) = other else {
            let response = request.response(481, "Call/Transaction Does Not Exist", None);
            self.reply(now, &request, response);
            return;
        };
        let mut relayed = self.in_dialog_request(&mut other, method.clone());
        for name in [
            "Event",
            "Subscription-State",
            "Refer-To",
            "Referred-By",
            "Replaces",
            "Reason",
        ] {
            for value in request.header_values(name) {
                relayed.push(name, value.to_owned());
            }
        }
        copy_body(&request, &mut relayed);
        // Store the advanced CSeq back on the leg.
        if let Some(call) = self.calls.calls.get_mut(&id) {
            match side {
                Side::A => {
                    if let Some(f) = call.answered.and_then(|i| call.forks.get_mut(i)) {
                        f.leg.local_cseq = other.local_cseq;
                    }
                }
                Side::B => call.a.local_cseq = other.local_cseq,
            }
        }
        let peer = other.peer;
        if method == Method::Bye {
            // Answer the BYE at once; the call is over whatever the other side says.
            let ok = request.response(200, "OK", None);
            self.reply(now, &request, ok);
            self.send_request(now, peer, relayed, Pending::Fire);
            self.calls.remove(id);
            return;
        }
        self.send_request(now, peer, relayed, Pending::Relay(Box::new(request)));
    }

    /// The answer to a relayed in-dialog request: pass it back.
    pub(crate) fn relay_done(
        &mut self,
        now: Duration,
        original: &SipMessage,
        response: &SipMessage,
    ) {
        let code = response.status().unwrap_or(500);
        if original.method() == Some(Method::Invite) && (200..300).contains(&code) {
            // The re-INVITE's 2xx from the other leg: ACK it ourselves.
            let call_id = response.call_id().unwrap_or_default().to_owned();
            let leg = self.calls.calls.values().find_map(|c| {
                if c.a.call_id == call_id {
                    Some(c.a.clone())
                } else {
                    c.forks
                        .iter()
                        .find(|f| f.leg.call_id == call_id)
                        .map(|f| f.leg.clone())
                }
            });
            if let Some(mut leg) = leg {
                let ack = self.in_dialog_request(&mut leg, Method::Ack);
                let peer = leg.peer;
                self.out.push(self.client.send(now, 0, peer, ack));
            }
        }
        let mut answer = original.response(code, &reason_of(response), None);
        if original.method() == Some(Method::Invite) && code < 300 {
            let transport = self
                .server
                .peer_of(original)
                .map(|p| p.transport)
                .unwrap_or(crate::transport::Transport::Udp);
            answer.push("Contact", self.our_contact(transport));
        }
        copy_body(response, &mut answer);
        self.reply(now, original, answer);
    }
}

fn reason_of(response: &SipMessage) -> String {
    match &response.start {
        crate::message::StartLine::Response { reason, .. } if !reason.is_empty() => reason.clone(),
        _ => "Response".to_owned(),
    }
}
