//! Pager-mode IM (RFC 3428) between sfb users: authenticated (407), routed
//! by the rules (R2.1, R3, and the R4.3 sfb session), delivered to every
//! registered contact of the recipient: 200 when one accepts, 480 when
//! none is registered (or none answers).

use crate::directory::SipUser;
use crate::engine::{Engine, EngineEvent, Pending};
use crate::headers::{NameAddr, SipUri};
use crate::message::{Method, SipMessage};
use crate::transport::Peer;
use coexist_policy::mode_capabilities::mode_allows_client;
use coexist_policy::{
    Client, NewConversation, Originator, Outcome, Refusal, RefusalCode, RuleId, SfbSession,
    Verdict, route_sfb_reply,
};
use std::collections::HashMap;
use std::time::Duration;

/// Where a conversation from an sfb client lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// On the recipient's sfb client: here.
    Sfb,
    /// On the recipient's teams client: the teams side's business.
    Teams,
}

/// A verdict as the SIP edge acts on it.
pub(crate) fn landing(verdict: Verdict) -> Result<Landing, Refusal> {
    match verdict.outcome {
        Outcome::Lands {
            client: Client::Sfb,
            ..
        } => Ok(Landing::Sfb),
        Outcome::Lands {
            client: Client::Teams,
            ..
        } => Ok(Landing::Teams),
        Outcome::Refused(refusal) => Err(refusal),
    }
}

/// A MESSAGE being delivered to several contacts.
#[derive(Debug)]
pub(crate) struct Fork {
    /// The sender's request; `None` when the delivery port placed it.
    original: Option<SipMessage>,
    /// The delivery port's id for its answer.
    port_id: Option<u64>,
    from: String,
    to: String,
    outstanding: usize,
    answered: bool,
    best: Option<u16>,
}

/// The forks in flight.
pub(crate) type Forks = HashMap<u64, Fork>;

/// How a delivery-port request started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortStart {
    /// Sent to this many contacts; an [`EngineEvent::PortResult`] follows.
    Sent(usize),
    /// The recipient has no live contact (480).
    NoContact,
    /// No such user here (404).
    UnknownUser,
}

impl Engine {
    /// The delivery port, sans-IO: the teams side (issue 4) delivers a
    /// message whose verdict landed on sfb to every contact of `to`. The
    /// answer comes as [`EngineEvent::PortResult`] with `id`. R4.3: the
    /// recipient's replies follow this conversation (to teams) while the
    /// session lives.
    pub fn port_deliver_message(
        &mut self,
        now: Duration,
        id: u64,
        from_upn: &str,
        to_upn: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> PortStart {
        let Some(to) = self.directory.user(to_upn) else {
            return PortStart::UnknownUser;
        };
        let key = self.id();
        let sent = self.deliver_message(
            now,
            from_upn,
            &to.upn,
            "",
            content_type,
            body,
            Pending::Message(key),
        );
        if sent == 0 {
            return PortStart::NoContact;
        }
        self.touch_session(now, from_upn, &to.upn, Client::Teams);
        self.im.insert(
            key,
            Fork {
                original: None,
                port_id: Some(id),
                from: from_upn.to_owned(),
                to: to.upn,
                outstanding: sent,
                answered: false,
                best: None,
            },
        );
        PortStart::Sent(sent)
    }

    /// R2.1, then R3 with the R4.3 session: where a chat or call from
    /// `from`'s sfb client to `to` lands.
    pub(crate) fn decide(
        &self,
        now: Duration,
        from: &SipUser,
        to: &SipUser,
    ) -> Result<Landing, Refusal> {
        if !mode_allows_client(from.mode, Client::Sfb) {
            return Err(Refusal::new(
                RefusalCode::ClientDisabledByMode,
                RuleId::R2_1,
            ));
        }
        let conversation = self.conversation_from_sfb(from, to);
        let session = self.sessions.get(&(from.upn.clone(), to.upn.clone()));
        landing(route_sfb_reply(
            session,
            now,
            self.config.session_idle,
            &conversation,
        ))
    }

    /// A new conversation from `from`'s sfb client to `to`.
    pub(crate) fn conversation_from_sfb(&self, from: &SipUser, to: &SipUser) -> NewConversation {
        NewConversation {
            from: Originator {
                mode: from.mode,
                client: Client::Sfb,
                homing: from.homing,
                enabled: from.enabled,
            },
            to: to.recipient(),
            reach: self.directory.reach(from, to),
        }
    }

    /// R4.3: traffic between two users keeps their sfb session alive; the
    /// session of `to` towards `from` says where `to`'s replies land.
    pub(crate) fn touch_session(
        &mut self,
        now: Duration,
        from: &str,
        to: &str,
        from_client: Client,
    ) {
        let method = coexist_policy::Method::Native;
        for (key, lands_on) in [
            ((to.to_owned(), from.to_owned()), from_client),
            ((from.to_owned(), to.to_owned()), Client::Sfb),
        ] {
            let entry = self.sessions.entry(key).or_insert(SfbSession {
                last_traffic: now,
                reply_lands_on: lands_on,
                method,
            });
            entry.last_traffic = now;
        }
    }

    /// The recipient of a request: the Request-URI's user, if local.
    pub(crate) fn recipient_of(
        &self,
        request: &SipMessage,
    ) -> Result<SipUser, (u16, &'static str)> {
        let uri = request
            .uri()
            .and_then(SipUri::parse)
            .ok_or((416, "Unsupported URI Scheme"))?;
        if !self.directory.is_local_domain(&uri.host) && !self.is_us(&uri) {
            return Err((404, "Not Found (domain not served here)"));
        }
        // A request to our own address (after a Route) names the user in To.
        let aor = if self.is_us(&uri) {
            request
                .header("To")
                .and_then(NameAddr::parse)
                .and_then(|a| SipUri::parse(&a.uri))
                .and_then(|u| u.address_of_record())
        } else {
            uri.address_of_record()
        };
        aor.and_then(|aor| self.directory.user(&aor))
            .ok_or((404, "Not Found"))
    }

    fn is_us(&self, uri: &SipUri) -> bool {
        let local = self.config.local;
        uri.host == local.ip().to_string() && uri.port.unwrap_or(5060) == local.port()
    }

    /// Authenticates the sender, finds the recipient and asks the rules
    /// where a new chat or call lands (R3.6: calls route like chats, but
    /// by R9.1/R9.2 to a legacy-policy callee: `calls/routing.rs`). On
    /// `None` the request has been answered (challenge, 404, refusal, or
    /// 480 for a conversation that lands on teams).
    pub(crate) fn admit(
        &mut self,
        now: Duration,
        peer: Peer,
        request: &SipMessage,
    ) -> Option<(SipUser, SipUser)> {
        let refused = match self.authenticate(now, peer, request, false) {
            Err(response) => Err(response),
            Ok(from) => match self.recipient_of(request) {
                Err((code, reason)) => Err(request.response(code, reason, None)),
                Ok(to) => match self.decide_request(now, request, &from, &to) {
                    Err(refusal) => Err(self.refusal_response(request, refusal)),
                    // The teams side takes IMs through its port (interop);
                    // calls to teams come with the B2BUA's teams leg.
                    Ok(Landing::Teams) if request.method() == Some(Method::Message) => {
                        self.message_to_teams(now, &from.upn, &to.upn, request.clone());
                        return None;
                    }
                    Ok(Landing::Teams) if request.method() == Some(Method::Invite) => {
                        self.invite_to_teams(now, peer, request, &from.upn, &to.upn, false);
                        return None;
                    }
                    Ok(Landing::Teams) => {
                        Err(request.response(480, "Temporarily Unavailable (lands on teams)", None))
                    }
                    Ok(Landing::Sfb) => Ok((from, to)),
                },
            },
        };
        match refused {
            Ok(pair) => Some(pair),
            Err(response) => {
                self.reply(now, request, response);
                None
            }
        }
    }

    pub(crate) fn on_message(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        let Some((from, to)) = self.admit(now, peer, &request) else {
            return;
        };
        let body = request.body.clone();
        let content_type = request
            .header("Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        let id = self.id();
        let started = self.deliver_message(
            now,
            &from.upn,
            &to.upn,
            request.header("From").unwrap_or_default(),
            &content_type,
            body,
            Pending::Message(id),
        );
        if started == 0 {
            let response = request.response(480, "Temporarily Unavailable", None);
            self.reply(now, &request, response);
            return;
        }
        self.im.insert(
            id,
            Fork {
                original: Some(request),
                port_id: None,
                from: from.upn,
                to: to.upn,
                outstanding: started,
                answered: false,
                best: None,
            },
        );
    }

    /// Sends a MESSAGE to every live contact of `to`; returns how many.
    /// `pending` is cloned per contact (ids for forks or the port).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn deliver_message(
        &mut self,
        now: Duration,
        from_upn: &str,
        to: &str,
        from_header: &str,
        content_type: &str,
        body: bytes::Bytes,
        pending: Pending,
    ) -> usize {
        let contacts = self.registrar.targets(to, now);
        let call_id = format!("{}@coexist", self.token());
        let from_header = if from_header.is_empty() {
            let tag = self.token();
            format!("<sip:{from_upn}>;tag={tag}")
        } else {
            from_header.to_owned()
        };
        for (contact, peer) in &contacts {
            let via = self.our_via(peer.transport);
            let mut message = SipMessage::request(Method::Message, contact.clone())
                .with("Via", via)
                .with("Max-Forwards", "70")
                .with("From", from_header.clone())
                .with("To", format!("<sip:{to}>"))
                .with("Call-ID", call_id.clone())
                .with("CSeq", "1 MESSAGE");
            message.set_body(content_type, body.clone());
            let pending = match &pending {
                Pending::Message(id) => Pending::Message(*id),
                _ => Pending::Fire,
            };
            self.send_request(now, *peer, message, pending);
        }
        contacts.len()
    }

    pub(crate) fn message_fork_done(&mut self, now: Duration, id: u64, response: &SipMessage) {
        let Some(fork) = self.im.get_mut(&id) else {
            return;
        };
        fork.outstanding = fork.outstanding.saturating_sub(1);
        let code = response.status().unwrap_or(500);
        let mut answer = None;
        if (200..300).contains(&code) && !fork.answered {
            fork.answered = true;
            answer = Some(200);
        } else if code >= 300 {
            // Keep the most telling failure: a 6xx, else the lowest 4xx/5xx
            // that is not a timeout (RFC 3261 §16.7 step 6, simplified).
            let better = match fork.best {
                None => true,
                Some(best) => {
                    code >= 600
                        || (best == 408 && code != 408)
                        || (code < best && best < 600 && code != 408)
                }
            };
            if better {
                fork.best = Some(code);
            }
        }
        if fork.outstanding == 0 && !fork.answered {
            answer = Some(match fork.best {
                Some(408) | None => 480,
                Some(code) => code,
            });
        }
        let done = fork.outstanding == 0;
        let (original, port_id, from, to, answered) = (
            fork.original.clone(),
            fork.port_id,
            fork.from.clone(),
            fork.to.clone(),
            fork.answered,
        );
        if done {
            self.im.remove(&id);
        }
        let Some(code) = answer else {
            return;
        };
        if answered {
            self.touch_session(now, &from, &to, Client::Sfb);
        }
        let Some(original) = original else {
            self.events.push(EngineEvent::PortResult {
                id: port_id.unwrap_or(id),
                status: code,
            });
            return;
        };
        let tag = self.token();
        let reason = match code {
            200 => "OK",
            480 => "Temporarily Unavailable",
            486 => "Busy Here",
            403 => "Forbidden",
            404 => "Not Found",
            _ => "Request Failed",
        };
        let response = original.response(code, reason, Some(&tag));
        self.reply(now, &original, response);
    }
}
