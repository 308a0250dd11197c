//! Calls from sfb that land on teams (issue 6; R3.6 routes calls like
//! chats, R6.1 lands PSTN calls): the B2BUA keeps the caller's dialog (leg
//! A, we are its UAS) and the teams side rings the callee's teams
//! connections in its place. R6.3: such a call never forks to the callee's
//! sfb contacts, so their IP phones do not ring.
//!
//! Sans-IO like [`crate::teams_side`]: the engine emits
//! [`EngineEvent::TeamsCall`]; the driver asks the teams side
//! ([`TeamsCalls::call_from_sfb`]) and gives the answer back with
//! [`Engine::teams_call_started`]; what the teams party does next comes
//! with [`Engine::teams_call_update`]. What the sfb caller does (CANCEL,
//! BYE, REFER) goes out as [`EngineEvent::TeamsCallEnded`] and
//! [`EngineEvent::TeamsCallRefer`].
//!
//! Mid-call media (issue 5's question): the teams side has no way to
//! renegotiate a session, so a re-INVITE or UPDATE is answered by
//! `Engine::media_answer`: a refresh (no SDP, or the same session
//! version, RFC 3264 §8) gets 200 with the teams SDP; screen sharing is
//! refused by R5.4 (403); any other change gets 488 with a `Warning` that
//! says why.

use crate::calls::Leg;
use crate::engine::{Engine, EngineEvent, Pending};
use crate::headers::{NameAddr, SipUri};
use crate::message::{Method, SipMessage};
use crate::transport::Peer;
use coexist_policy::{Refusal, RefusalCode, RuleId};
use std::time::Duration;

/// How the teams side took a call from sfb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamsCallStart {
    /// The callee's teams connections ring.
    Ringing,
    /// Not placed: the final status, its reason phrase, and the `Warning`
    /// of a rule refusal.
    Refused {
        /// A 4xx/5xx/6xx status.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// The Warning header value, for a rule refusal.
        warning: Option<String>,
    },
}

/// What the teams party of a call from sfb did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamsCallUpdate {
    /// Answered, with the teams SDP answer: 200 to the INVITE.
    Answered(bytes::Bytes),
    /// Declined: 603.
    Declined,
    /// Nobody answered before the ring timeout: 480.
    NoAnswer,
    /// The teams party hung up: BYE (or 480 while it still rang).
    Ended,
    /// The teams party transfers the sfb caller: REFER to this address
    /// (`user@domain` or a number), then BYE.
    Transfer(String),
    /// The transfer the sfb caller asked for (REFER) was refused: NOTIFY
    /// with this status.
    TransferFailed(u16),
}

/// The teams side's calls, as the SIP edge needs them. The interop wiring
/// (`coexist serve`) implements it over `coexist_core::Teams`.
#[async_trait::async_trait]
pub trait TeamsCalls: Send + Sync + std::fmt::Debug + 'static {
    /// `from` (a UPN, or a number when `pstn`) calls `to`, whose verdict
    /// lands on teams, with this SDP offer. `id` names the call in later
    /// updates ([`crate::SipHandle::teams_call_update`]).
    async fn call_from_sfb(
        &self,
        id: u64,
        from: &str,
        to: &str,
        sdp: bytes::Bytes,
        pstn: bool,
    ) -> TeamsCallStart;

    /// The sfb caller cancelled or hung up.
    fn sfb_ended(&self, id: u64);

    /// The sfb caller transfers the teams party to `target` (REFER).
    fn sfb_refer(&self, id: u64, target: &str);
}

/// A call from sfb whose callee is on teams.
#[derive(Debug)]
pub(crate) struct TeamsLeg {
    a: Leg,
    invite: SipMessage,
    /// The caller got its final response.
    final_sent: bool,
    connected: bool,
    /// The teams SDP (once answered).
    local_sdp: bytes::Bytes,
    /// The caller's current SDP.
    remote_sdp: bytes::Bytes,
    /// A REFER from the caller waits for the teams side.
    refer: bool,
}

impl TeamsLeg {
    /// The caller's Call-ID.
    pub(crate) fn call_id(&self) -> &str {
        &self.a.call_id
    }
}

/// An SDP's `o=` line (RFC 4566 §5.2): unchanged, with its session
/// version, when the offer changes nothing (RFC 3264 §8).
fn origin(sdp: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(sdp).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("o="))
        .map(|o| o.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl Engine {
    /// Leg A of a call from sfb (or a PSTN gateway) that lands on teams:
    /// 100 now, then the teams side's answer.
    pub(crate) fn invite_to_teams(
        &mut self,
        now: Duration,
        peer: Peer,
        request: &SipMessage,
        from: &str,
        to_upn: &str,
        pstn: bool,
    ) {
        if request.body.is_empty() {
            let tag = self.token();
            let mut refused = request.response(488, "Not Acceptable Here", Some(&tag));
            refused.push(
                "Warning",
                "399 coexist \"a call to a teams user needs an SDP offer in the INVITE\"",
            );
            self.reply(now, request, refused);
            return;
        }
        let trying = request.response(100, "Trying", None);
        self.reply(now, request, trying);
        let id = self.id();
        let a = self.leg_a(peer, request, from);
        self.calls
            .dialogs
            .insert((a.call_id.clone(), a.local_tag.clone()), id);
        self.calls.teams.insert(
            id,
            TeamsLeg {
                a,
                invite: request.clone(),
                final_sent: false,
                connected: false,
                local_sdp: bytes::Bytes::new(),
                remote_sdp: request.body.clone(),
                refer: false,
            },
        );
        self.events.push(EngineEvent::TeamsCall {
            id,
            from: from.to_owned(),
            to: to_upn.to_owned(),
            sdp: request.body.clone(),
            pstn,
        });
    }

    /// A final or provisional response to the caller's INVITE.
    fn answer_teams_caller(&mut self, now: Duration, id: u64, code: u16, reason: &str) {
        let Some(leg) = self.calls.teams.get_mut(&id) else {
            return;
        };
        if leg.final_sent {
            return;
        }
        leg.final_sent = code >= 200;
        leg.connected = (200..300).contains(&code);
        let (invite, tag, transport) = (
            leg.invite.clone(),
            leg.a.local_tag.clone(),
            leg.a.peer.transport,
        );
        let body = leg.local_sdp.clone();
        let mut response = invite.response(code, reason, Some(&tag));
        if code < 300 {
            response.push("Contact", self.our_contact(transport));
        }
        if (200..300).contains(&code) {
            response.set_body("application/sdp", body);
        }
        self.reply(now, &invite, response);
        if code >= 300 {
            self.remove_teams_leg(id);
        }
    }

    fn remove_teams_leg(&mut self, id: u64) {
        if let Some(leg) = self.calls.teams.remove(&id) {
            self.calls.dialogs.remove(&(leg.a.call_id, leg.a.local_tag));
        }
    }

    /// The teams side placed the call (it rings: 180) or refused it.
    pub fn teams_call_started(&mut self, now: Duration, id: u64, start: TeamsCallStart) {
        match start {
            TeamsCallStart::Ringing => self.answer_teams_caller(now, id, 180, "Ringing"),
            TeamsCallStart::Refused {
                status,
                reason,
                warning,
            } => {
                let Some(leg) = self.calls.teams.get_mut(&id) else {
                    return;
                };
                if leg.final_sent {
                    return;
                }
                leg.final_sent = true;
                let (invite, tag) = (leg.invite.clone(), leg.a.local_tag.clone());
                let mut response = invite.response(status, &reason, Some(&tag));
                if let Some(warning) = warning {
                    response.push("Warning", warning);
                }
                self.reply(now, &invite, response);
                self.remove_teams_leg(id);
            }
        }
    }

    /// What the teams party did (answer, decline, hang up, transfer).
    pub fn teams_call_update(&mut self, now: Duration, id: u64, update: TeamsCallUpdate) {
        let Some(leg) = self.calls.teams.get_mut(&id) else {
            return;
        };
        match update {
            TeamsCallUpdate::Answered(sdp) => {
                leg.local_sdp = sdp;
                self.answer_teams_caller(now, id, 200, "OK");
            }
            TeamsCallUpdate::Declined => self.answer_teams_caller(now, id, 603, "Decline"),
            TeamsCallUpdate::NoAnswer => {
                self.answer_teams_caller(now, id, 480, "Temporarily Unavailable (no answer)");
            }
            TeamsCallUpdate::TransferFailed(status) => {
                leg.refer = false;
                let mut a = leg.a.clone();
                self.notify_refer(now, &mut a, status);
                if let Some(leg) = self.calls.teams.get_mut(&id) {
                    leg.a.local_cseq = a.local_cseq;
                }
            }
            TeamsCallUpdate::Ended | TeamsCallUpdate::Transfer(_) if !leg.connected => {
                self.answer_teams_caller(now, id, 480, "Temporarily Unavailable");
            }
            TeamsCallUpdate::Ended | TeamsCallUpdate::Transfer(_) => {
                let mut a = leg.a.clone();
                if leg.refer {
                    self.notify_refer(now, &mut a, 200);
                }
                if let TeamsCallUpdate::Transfer(target) = update {
                    self.send_refer(now, &mut a, &target);
                }
                let bye = self.in_dialog_request(&mut a, Method::Bye);
                self.send_request(now, a.peer, bye, Pending::Fire);
                self.remove_teams_leg(id);
            }
        }
    }

    /// CANCEL of a call that rings on teams: 200, 487, and the teams side
    /// stops ringing. False when the CANCEL is not for such a call.
    pub(crate) fn cancel_teams_leg(&mut self, now: Duration, request: &SipMessage) -> bool {
        let number = request.cseq().map(|(n, _)| n);
        let call_id = request.call_id();
        let found = self.calls.teams.iter().find_map(|(id, leg)| {
            (leg.invite.call_id() == call_id && leg.invite.cseq().map(|(n, _)| n) == number)
                .then_some(*id)
        });
        let Some(id) = found else {
            return false;
        };
        let ok = request.response(200, "OK", None);
        self.reply(now, request, ok);
        if self.calls.teams.get(&id).is_some_and(|l| !l.final_sent) {
            self.answer_teams_caller(now, id, 487, "Request Terminated");
            self.events.push(EngineEvent::TeamsCallEnded { id });
        }
        true
    }

    /// A request in the caller's dialog of a call whose callee is on teams.
    pub(crate) fn teams_leg_request(&mut self, now: Duration, id: u64, request: SipMessage) {
        let Some(leg) = self.calls.teams.get(&id) else {
            return;
        };
        match request.method().unwrap_or(Method::Ack) {
            Method::Ack => {
                let invite = leg.invite.clone();
                self.server.acked_2xx(&invite);
            }
            Method::Bye => {
                let ok = request.response(200, "OK", None);
                self.reply(now, &request, ok);
                self.events.push(EngineEvent::TeamsCallEnded { id });
                self.remove_teams_leg(id);
            }
            Method::Refer => match self.refer_target(&request) {
                Ok(target) => {
                    if let Some(leg) = self.calls.teams.get_mut(&id) {
                        leg.refer = true;
                    }
                    let accepted = request.response(202, "Accepted", None);
                    self.reply(now, &request, accepted);
                    self.events.push(EngineEvent::TeamsCallRefer { id, target });
                }
                Err(refused) => self.reply(now, &request, refused),
            },
            Method::Notify => {
                // The outcome of a REFER we sent: noted, nothing to relay.
                let ok = request.response(200, "OK", None);
                self.reply(now, &request, ok);
            }
            _ => {
                let (local, remote) = (leg.local_sdp.clone(), leg.remote_sdp.clone());
                let (answer, accepted) = self.media_answer(&request, &local, &remote);
                if accepted
                    && !request.body.is_empty()
                    && let Some(leg) = self.calls.teams.get_mut(&id)
                {
                    leg.remote_sdp = request.body.clone();
                }
                self.reply(now, &request, answer);
            }
        }
    }

    /// The answer to a re-INVITE or UPDATE on a call with a teams party
    /// (`local`: the teams SDP; `remote`: the sfb party's current SDP), and
    /// whether it was accepted. Teams cannot renegotiate media, so: a
    /// refresh (no SDP, or the same session version) → 200 with the teams
    /// SDP; screen sharing (an `m=application` stream, or `a=content:slides`)
    /// → 403, R5.4; any other change → 488 with a `Warning`. Other methods
    /// (INFO, …) → 488: nothing is relayed to teams.
    pub(crate) fn media_answer(
        &mut self,
        request: &SipMessage,
        local: &bytes::Bytes,
        remote: &bytes::Bytes,
    ) -> (SipMessage, bool) {
        let method = request.method().unwrap_or(Method::Ack);
        let text = String::from_utf8_lossy(&request.body).to_ascii_lowercase();
        if !matches!(method, Method::Invite | Method::Update) {
            let mut refused = request.response(488, "Not Acceptable Here", None);
            refused.push(
                "Warning",
                format!("399 coexist \"{method} is not carried to a teams party\""),
            );
            return (refused, false);
        }
        if text.contains("m=application") || text.contains("a=content:slides") {
            let refusal = Refusal::new(RefusalCode::ScreenSharingNotAllowedOnInterop, RuleId::R5_4);
            return (self.refusal_response(request, refusal), false);
        }
        let refresh = request.body.is_empty()
            || (origin(&request.body).is_some() && origin(&request.body) == origin(remote));
        if !refresh {
            let mut refused = request.response(488, "Not Acceptable Here", None);
            refused.push(
                "Warning",
                "399 coexist \"the teams party cannot renegotiate media: only a session refresh \
                 (no SDP, or the same o= version) is accepted\"",
            );
            return (refused, false);
        }
        let mut ok = request.response(200, "OK", None);
        let transport = self
            .server
            .peer_of(request)
            .map(|p| p.transport)
            .unwrap_or(crate::transport::Transport::Udp);
        ok.push("Contact", self.our_contact(transport));
        if method == Method::Invite && !local.is_empty() {
            ok.set_body("application/sdp", local.clone());
        }
        (ok, true)
    }

    /// R5.4: an INVITE that would join a call with a teams party (a `Join`
    /// or `Replaces` header naming its dialog) and so make it multi-party
    /// across clients is refused 403 with the Warning. False when the
    /// INVITE is not one.
    pub(crate) fn escalation_refused(&mut self, now: Duration, request: &SipMessage) -> bool {
        let joins = ["Join", "Replaces"].into_iter().any(|name| {
            request.header(name).is_some_and(|value| {
                let call_id = value.split(';').next().unwrap_or_default().trim();
                self.calls.has_teams_party(call_id)
            })
        });
        if joins {
            let refusal = Refusal::new(RefusalCode::EscalationNotAllowedOnInterop, RuleId::R5_4);
            let refused = self.refusal_response(request, refusal);
            self.reply(now, request, refused);
        }
        joins
    }

    /// The target of a REFER as `user@host` (a UPN or `+number@host`), or
    /// the refusal: 400 without a usable Refer-To; R5.4 (403) for an
    /// attended transfer (`Replaces`) or a conference, which would join a
    /// teams party to a multi-party call across clients.
    pub(crate) fn refer_target(&mut self, request: &SipMessage) -> Result<String, SipMessage> {
        let refer_to = request.header("Refer-To").and_then(NameAddr::parse);
        let Some(refer_to) = refer_to else {
            return Err(request.response(400, "Bad Request (Refer-To)", None));
        };
        let lower = refer_to.uri.to_ascii_lowercase();
        if lower.contains("replaces") || lower.contains("conf") || lower.contains("focus") {
            let refusal = Refusal::new(RefusalCode::EscalationNotAllowedOnInterop, RuleId::R5_4);
            return Err(self.refusal_response(request, refusal));
        }
        SipUri::parse(&refer_to.uri)
            .and_then(|u| u.address_of_record())
            .ok_or_else(|| request.response(400, "Bad Request (Refer-To is not a sip: URI)", None))
    }

    /// REFER `leg`'s remote party to `target` (`user@host`).
    pub(crate) fn send_refer(&mut self, now: Duration, leg: &mut Leg, target: &str) {
        let mut refer = self.in_dialog_request(leg, Method::Refer);
        refer.push("Refer-To", format!("<sip:{target}>"));
        refer.push("Referred-By", leg.local_uri.clone());
        self.send_request(now, leg.peer, refer, Pending::Fire);
    }

    /// RFC 3515 §2.4.5: the final NOTIFY of a REFER we accepted.
    pub(crate) fn notify_refer(&mut self, now: Duration, leg: &mut Leg, status: u16) {
        let mut notify = self.in_dialog_request(leg, Method::Notify);
        notify.push("Event", "refer");
        notify.push("Subscription-State", "terminated;reason=noresource");
        let reason = if status < 300 { "OK" } else { "Forbidden" };
        notify.set_body(
            "message/sipfrag;version=2.0",
            format!("SIP/2.0 {status} {reason}\r\n").into_bytes(),
        );
        self.send_request(now, leg.peer, notify, Pending::Fire);
    }
}
