//! The delivery port's calls (the teams side is leg A, issue 6): a teams
//! caller rings an sfb callee's contacts, or a PSTN gateway for a number
//! (R6.4); hang-up (BYE, or CANCEL while it rings), transfer both ways
//! (REFER, R3.6), and what the sfb callee may do in the dialog.

use super::{Call, CallEvent, Leg};
use crate::engine::{Engine, EngineEvent, Pending};
use crate::im::PortStart;
use crate::message::{Method, SipMessage};
use crate::transport::Peer;
use std::time::Duration;

impl Engine {
    /// The delivery port: the teams side calls `to`'s sfb contacts with
    /// `sdp` (the caller is `from`, any UPN). Progress comes as
    /// [`EngineEvent::Call`] events with `port_id`.
    pub fn port_place_call(
        &mut self,
        now: Duration,
        port_id: u64,
        from_upn: &str,
        to_upn: &str,
        sdp: bytes::Bytes,
    ) -> PortStart {
        // R6.4 (checked by the teams side): a number goes to the caller's
        // tenant's PSTN gateway.
        let (to, contacts, from_id) = if to_upn.starts_with('+') {
            match self.gateway_target(from_upn, to_upn) {
                Some((to, contact)) => (to, vec![contact], self.caller_id(from_upn)),
                None => return PortStart::NoContact,
            }
        } else {
            let Some(to) = self.directory.user(to_upn) else {
                return PortStart::UnknownUser;
            };
            let contacts = self.registrar.targets(&to.upn, now);
            (to.upn, contacts, from_upn.to_owned())
        };
        if contacts.is_empty() {
            return PortStart::NoContact;
        }
        let id = self.id();
        let mut offer = SipMessage::request(Method::Invite, format!("sip:{to}"));
        offer.set_body("application/sdp", sdp);
        let sent = contacts.len();
        let forks = self.start_forks(now, id, &from_id, &to, contacts, &offer);
        let a = Leg {
            call_id: format!("port-{port_id}"),
            local_tag: self.token(),
            remote_tag: None,
            local_uri: format!("<sip:{to}>"),
            remote_uri: format!("<sip:{from_upn}>"),
            remote_target: format!("sip:{from_upn}"),
            peer: Peer::udp(self.config.local),
            local_cseq: 0,
        };
        self.calls.calls.insert(
            id,
            Call {
                port: Some(port_id),
                a,
                invite: offer,
                forks,
                answered: None,
                final_sent: false,
                best: None,
                remote_sdp: bytes::Bytes::new(),
                refer: false,
            },
        );
        PortStart::Sent(sent)
    }

    /// The delivery port hangs up (or gives up ringing) a call it placed.
    pub fn port_hangup(&mut self, now: Duration, port_id: u64) {
        self.port_end(now, port_id, None);
    }

    /// The teams party transfers the sfb callee of a call the port placed
    /// (R3.6): a REFER to `target` on leg B, then BYE.
    pub fn port_transfer(&mut self, now: Duration, port_id: u64, target: &str) {
        self.port_end(now, port_id, Some(target));
    }

    /// The teams side refused the transfer an sfb callee asked for with
    /// REFER: its NOTIFY says so (`status`); the call goes on.
    pub fn port_refer_failed(&mut self, now: Duration, port_id: u64, status: u16) {
        let Some(call) = self
            .calls
            .calls
            .values_mut()
            .find(|c| c.port == Some(port_id))
        else {
            return;
        };
        call.refer = false;
        let Some(fork) = call.answered.and_then(|i| call.forks.get_mut(i)) else {
            return;
        };
        let mut leg = fork.leg.clone();
        self.notify_refer(now, &mut leg, status);
        if let Some(fork) = self
            .calls
            .calls
            .values_mut()
            .find(|c| c.port == Some(port_id))
            .and_then(|c| c.answered.and_then(|i| c.forks.get_mut(i)))
        {
            fork.leg.local_cseq = leg.local_cseq;
        }
    }

    fn port_end(&mut self, now: Duration, port_id: u64, transfer_to: Option<&str>) {
        let Some((&id, call)) = self
            .calls
            .calls
            .iter()
            .find(|(_, c)| c.port == Some(port_id))
        else {
            return;
        };
        let refer = call.refer;
        match call
            .answered
            .and_then(|i| call.forks.get(i))
            .map(|f| f.leg.clone())
        {
            Some(mut leg) => {
                if refer {
                    // The REFER it sent succeeded: say so before the BYE.
                    self.notify_refer(now, &mut leg, 200);
                }
                if let Some(target) = transfer_to {
                    self.send_refer(now, &mut leg, target);
                }
                let bye = self.in_dialog_request(&mut leg, Method::Bye);
                self.send_request(now, leg.peer, bye, Pending::Fire);
            }
            None => self.cancel_forks(now, id, None),
        }
        self.events.push(EngineEvent::Call {
            id: port_id,
            event: CallEvent::Ended,
        });
        self.calls.remove(id);
    }

    /// A request from the sfb callee of a call the teams side placed (leg
    /// A is teams): BYE ends it; REFER asks the teams side to transfer its
    /// caller (R3.6); a re-INVITE or UPDATE gets the answer
    /// [`Engine::media_answer`] gives (R5.4; no renegotiation with teams).
    pub(crate) fn port_leg_request(
        &mut self,
        now: Duration,
        id: u64,
        port: u64,
        request: SipMessage,
    ) {
        let method = request.method().unwrap_or(Method::Ack);
        match method {
            Method::Bye => {
                let ok = request.response(200, "OK", None);
                self.reply(now, &request, ok);
                self.events.push(EngineEvent::Call {
                    id: port,
                    event: CallEvent::Ended,
                });
                self.calls.remove(id);
            }
            Method::Refer => match self.refer_target(&request) {
                Ok(target) => {
                    if let Some(call) = self.calls.calls.get_mut(&id) {
                        call.refer = true;
                    }
                    let accepted = request.response(202, "Accepted", None);
                    self.reply(now, &request, accepted);
                    self.events.push(EngineEvent::Call {
                        id: port,
                        event: CallEvent::Transfer(target),
                    });
                }
                Err(refused) => self.reply(now, &request, refused),
            },
            _ => {
                let Some(call) = self.calls.calls.get(&id) else {
                    return;
                };
                let (local, remote) = (call.invite.body.clone(), call.remote_sdp.clone());
                let (answer, accepted) = self.media_answer(&request, &local, &remote);
                if accepted
                    && !request.body.is_empty()
                    && let Some(call) = self.calls.calls.get_mut(&id)
                {
                    call.remote_sdp = request.body.clone();
                }
                self.reply(now, &request, answer);
            }
        }
    }
}
