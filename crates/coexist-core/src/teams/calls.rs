//! Calls, signalling only (the SDP is carried, media flows between the
//! endpoints): routed like chats (R3.6) or to a number (R6.4); every live
//! teams connection of the callee rings; answer, reject, hang up, forward
//! while ringing, transfer once connected; R5.4 on interop calls. Live calls
//! are kept in memory; their events are durable like every event.

mod ring_timer;
mod sfb;

pub(crate) use ring_timer::RingTimers;

use super::ports::SfbCall;
use super::writer::Op;
use super::{Result, Teams, TeamsError, new_id, party, route_new_call};
use crate::clock::Timestamp;
use coexist_policy::interop_limits::{check_call_escalation, check_screen_sharing};
use coexist_policy::pstn::{PstnCaller, check_pstn_outbound};
use coexist_policy::{Client, Method, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Largest SDP accepted (bytes).
const MAX_SDP: usize = 64 * 1024;

/// `POST /v1/calls`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    /// A UPN or an E.164 number (`+14255550100`).
    pub to: String,
    /// The SDP offer.
    pub sdp: String,
    /// Call from this 1:1 chat: the call goes the way the chat was created
    /// (R4.1), or is refused when R4.2 no longer allows it.
    #[serde(default)]
    pub chat_id: Option<String>,
}

/// How a call leg came to be.
#[derive(Debug, Default)]
struct Leg {
    transferred_from: Option<String>,
    escalated_from: Option<String>,
    chat_id: Option<String>,
    /// Already routed (from a chat): callee, client, method.
    routed: Option<(String, Option<Client>, Method)>,
}

/// `POST /v1/calls/{id}/answer`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The SDP answer.
    pub sdp: String,
}

/// `POST /v1/calls/{id}/forward|transfer|participants`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetRequest {
    /// A UPN or an E.164 number.
    pub to: String,
}

/// What the sfb side reports about a call it rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfbCallProgress {
    /// The callee's sfb client rings (a 180): the teams caller gets an
    /// `alerting` event; the call stays `ringing`.
    Alerting,
    /// Answered, with the SDP answer.
    Answered {
        /// The SDP answer.
        sdp: String,
    },
    /// Declined by the callee.
    Rejected,
    /// Could not be connected (no contact, an error).
    Failed,
    /// The sfb party hung up.
    Ended,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// The callee's endpoints ring.
    Ringing,
    /// Answered.
    Connected,
    /// Over (see `end_reason`).
    Ended,
}

/// A call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Call {
    /// `call:` and 24 hex digits.
    pub id: String,
    /// Caller UPN.
    pub from: String,
    /// The client the caller is on.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from_client: Client,
    /// Callee UPN or number.
    pub to: String,
    /// Where it lands for the callee (null: the phone network).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub to_client: Option<Client>,
    /// native, interop, federated or pstn.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub method: Method,
    /// ringing, connected, ended.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub state: CallState,
    /// no-answer, rejected, cancelled, hangup, transferred, forwarded.
    pub end_reason: Option<String>,
    /// The caller's SDP.
    pub offer_sdp: String,
    /// The callee's SDP, once answered.
    pub answer_sdp: Option<String>,
    /// When it was placed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    /// Who forwarded it here.
    pub forwarded_from: Option<String>,
    /// The call this one continues after a transfer.
    pub transferred_from: Option<String>,
    /// Where an sfb party was sent by a transfer (its client calls there
    /// itself: a REFER, R3.6).
    pub transferred_to: Option<String>,
    /// The call this one escalates.
    pub escalated_from: Option<String>,
    /// The chat it was placed from (its routing, R4.1).
    pub chat_id: Option<String>,
    /// Screen sharing on.
    pub screen_sharing: bool,
}

#[derive(Debug)]
pub(crate) struct CallEntry {
    call: Call,
    /// Bumped when the ringing restarts (forward), so a stale timer does
    /// nothing.
    generation: u64,
}

impl Call {
    fn teams_parties(&self) -> Vec<String> {
        let mut parties = Vec::with_capacity(2);
        if self.from_client == Client::Teams {
            parties.push(self.from.clone());
        }
        if self.to_client == Some(Client::Teams) {
            parties.push(self.to.clone());
        }
        parties
    }
}

/// A `call` event: `{"change": …, "call": {…}}`.
fn call_event(to: Vec<String>, change: &str, call: &Call) -> Op {
    #[derive(Serialize)]
    struct CallChange<'a> {
        change: &'a str,
        call: &'a Call,
    }
    Op::event(to, "call", &CallChange { change, call })
}

/// How long an ended call stays in memory (readable, and late reports from
/// the sfb side answered "has ended") before it is dropped; its events stay
/// in the store. Without this every call ever made stayed in memory.
const ENDED_CALL_KEPT_MS: i64 = 60_000;

/// The calls in memory: the live ones, and the ended ones until they are
/// dropped (`ENDED_CALL_KEPT_MS`).
#[derive(Debug, Default)]
pub(crate) struct Calls {
    entries: HashMap<String, CallEntry>,
    /// Ended calls, oldest first: when each ended (ms) and its id.
    ended: VecDeque<(i64, String)>,
}

impl Calls {
    /// After a change to `call` at `now`: when it has ended, notes so and
    /// drops the calls that ended long enough ago.
    fn changed(&mut self, call: &Call, now: Timestamp) {
        if call.state != CallState::Ended {
            return;
        }
        let id = call.id.as_str();
        self.ended.push_back((now.millis(), id.to_owned()));
        while let Some((at, _)) = self.ended.front() {
            if now.millis() - at < ENDED_CALL_KEPT_MS {
                break;
            }
            if let Some((_, old)) = self.ended.pop_front() {
                self.entries.remove(&old);
            }
        }
    }
}

impl std::ops::Deref for Calls {
    type Target = HashMap<String, CallEntry>;
    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

impl std::ops::DerefMut for Calls {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.entries
    }
}

impl Teams {
    /// R3 (R3.6; R9.1/R9.2 to a legacy-policy user) to a user, R6.4 to a
    /// number no user has.
    fn route_call(
        &self,
        from: &str,
        from_client: Client,
        to: &str,
    ) -> Result<(String, Option<Client>, Method)> {
        let to = to.trim();
        // A `tel:` URI (RFC 3966) names the same number: its visual
        // separators and parameters are not part of it.
        let tel: Option<String> = to.strip_prefix("tel:").map(|uri| {
            let number = uri.split(';').next().unwrap_or_default();
            number
                .chars()
                .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
                .collect()
        });
        let to = tel.as_deref().unwrap_or(to);
        let state = self.directory.read();
        let origin = party(&state, from).ok_or_else(|| TeamsError::not_found("user", from))?;
        let target = if let Some(digits) = to.strip_prefix('+') {
            if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TeamsError::invalid(
                    "to",
                    "a number is E.164: + and 7-15 digits",
                ));
            }
            match state.user_by_number(to) {
                Some(user) => user.upn.clone(),
                None => {
                    return match check_pstn_outbound(PstnCaller {
                        mode: origin.mode,
                        client: from_client,
                        voice: origin.user.voice,
                    }) {
                        Ok(_) => Ok((to.to_owned(), None, Method::Pstn)),
                        Err(refusal) => Err(TeamsError::Refused {
                            refusal,
                            upn: None,
                            replaced_by: None,
                            rules: format!("{} calls to numbers", refusal.rule),
                        }),
                    };
                }
            }
        } else {
            to.to_ascii_lowercase()
        };
        if target == origin.user.upn {
            return Err(TeamsError::invalid("to", "you cannot call yourself"));
        }
        let callee =
            party(&state, &target).ok_or_else(|| TeamsError::not_found("user", &target))?;
        let verdict = route_new_call(&state, &origin, from_client, &callee);
        match verdict.outcome {
            Outcome::Lands { client, method } => {
                Ok((callee.user.upn.clone(), Some(client), method))
            }
            Outcome::Refused(refusal) => Err(TeamsError::refused(&verdict, refusal, Some(&target))),
        }
    }

    /// Places a call: the callee's teams connections ring (or the sfb side
    /// is asked to ring theirs); it ends unanswered after the ring timeout.
    pub async fn place_call(self: &Arc<Self>, me: &str, request: CallRequest) -> Result<Call> {
        let mut leg = Leg::default();
        if let Some(chat_id) = request.chat_id {
            leg.routed = Some(self.route_from_chat(me, &chat_id, &request.to).await?);
            leg.chat_id = Some(chat_id);
        }
        self.start_call(me, Client::Teams, request.to.trim(), request.sdp, leg)
            .await
    }

    async fn start_call(
        self: &Arc<Self>,
        from: &str,
        from_client: Client,
        to: &str,
        sdp: String,
        leg: Leg,
    ) -> Result<Call> {
        if sdp.trim().is_empty() || sdp.len() > MAX_SDP {
            return Err(TeamsError::invalid(
                "sdp",
                format!("1 to {MAX_SDP} bytes of SDP"),
            ));
        }
        let (to, to_client, method) = match leg.routed {
            Some(routed) => routed,
            None => self.route_call(from, from_client, to)?,
        };
        if from_client == Client::Sfb && to_client != Some(Client::Teams) {
            return Err(TeamsError::invalid(
                "to",
                "this call lands on sfb or the phone network: the SIP edge connects it",
            ));
        }
        let call = Call {
            id: new_id("call:"),
            from: from.to_owned(),
            from_client,
            to,
            to_client,
            method,
            state: CallState::Ringing,
            end_reason: None,
            offer_sdp: sdp,
            answer_sdp: None,
            created_at: self.now(),
            forwarded_from: None,
            transferred_from: leg.transferred_from,
            transferred_to: None,
            escalated_from: leg.escalated_from,
            chat_id: leg.chat_id,
            screen_sharing: false,
        };
        let mut ops = Vec::new();
        if call.from_client == Client::Teams {
            ops.push(call_event(vec![call.from.clone()], "ringing", &call));
        }
        if call.to_client == Some(Client::Teams) {
            ops.push(call_event(vec![call.to.clone()], "incoming", &call));
        }
        self.calls_lock().insert(
            call.id.clone(),
            CallEntry {
                call: call.clone(),
                generation: 0,
            },
        );
        if let Err(error) = self.writer.write(ops).await {
            self.calls_lock().remove(&call.id);
            return Err(error.into());
        }
        if call.to_client != Some(Client::Teams) {
            self.sfb.place_call(SfbCall {
                call_id: call.id.clone(),
                from: call.from.clone(),
                to: call.to.clone(),
                sdp: call.offer_sdp.clone(),
            });
        }
        self.arm(call.id.clone(), 0);
        Ok(call)
    }

    fn calls_lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether call `id` still rings at `generation` (its ring timeout is
    /// due).
    fn still_ringing(&self, id: &str, generation: u64) -> bool {
        self.calls_lock().get(id).is_some_and(|entry| {
            entry.generation == generation && entry.call.state == CallState::Ringing
        })
    }

    async fn ring_timed_out(&self, id: &str, generation: u64) {
        let ended = {
            let mut calls = self.calls_lock();
            match calls.get_mut(id) {
                Some(entry)
                    if entry.generation == generation && entry.call.state == CallState::Ringing =>
                {
                    entry.call.state = CallState::Ended;
                    entry.call.end_reason = Some("no-answer".into());
                    let call = entry.call.clone();
                    calls.changed(&call, self.now());
                    Some(call)
                }
                _ => None,
            }
        };
        if let Some(call) = ended {
            if call.from_client == Client::Sfb || call.to_client != Some(Client::Teams) {
                self.sfb.call_changed(&call);
            }
            if let Err(error) = self
                .writer
                .write(vec![call_event(call.teams_parties(), "ended", &call)])
                .await
            {
                tracing::warn!(%error, "call timeout event");
            }
        }
    }

    /// A call the caller takes part in (on teams).
    pub fn call(&self, me: &str, id: &str) -> Result<Call> {
        self.calls_lock()
            .get(id)
            .map(|e| e.call.clone())
            .filter(|c| c.teams_parties().iter().any(|p| p == me))
            .ok_or_else(|| TeamsError::not_found("call", id))
    }

    /// Changes a call under the lock with `change`, which checks the state
    /// and returns the event name; then writes the event to the parties it
    /// had before the change.
    async fn change_call(
        &self,
        me: &str,
        id: &str,
        change: impl FnOnce(&mut Call) -> Result<&'static str>,
    ) -> Result<Call> {
        let (call, name, to) = {
            let mut calls = self.calls_lock();
            let entry = calls
                .get_mut(id)
                .filter(|e| e.call.teams_parties().iter().any(|p| p == me))
                .ok_or_else(|| TeamsError::not_found("call", id))?;
            // The parties as they were: a forwarded call tells the old callee.
            let before = entry.call.teams_parties();
            let mut call = entry.call.clone();
            let name = change(&mut call)?;
            entry.call = call.clone();
            entry.generation += 1;
            calls.changed(&call, self.now());
            (call, name, before)
        };
        self.writer.write(vec![call_event(to, name, &call)]).await?;
        if call.from_client == Client::Sfb || call.to_client != Some(Client::Teams) {
            self.sfb.call_changed(&call);
        }
        Ok(call)
    }

    /// The callee answers with its SDP; the other endpoints stop ringing.
    pub async fn answer_call(&self, me: &str, id: &str, request: AnswerRequest) -> Result<Call> {
        if request.sdp.trim().is_empty() || request.sdp.len() > MAX_SDP {
            return Err(TeamsError::invalid(
                "sdp",
                format!("1 to {MAX_SDP} bytes of SDP"),
            ));
        }
        self.change_call(me, id, |call| {
            if call.to != me || call.state != CallState::Ringing {
                return Err(TeamsError::CallState(
                    "only the callee answers, while it rings".into(),
                ));
            }
            call.state = CallState::Connected;
            call.answer_sdp = Some(request.sdp);
            Ok("connected")
        })
        .await
    }

    /// The callee declines.
    pub async fn reject_call(&self, me: &str, id: &str) -> Result<Call> {
        self.change_call(me, id, |call| {
            if call.to != me || call.state != CallState::Ringing {
                return Err(TeamsError::CallState(
                    "only the callee rejects, while it rings".into(),
                ));
            }
            call.state = CallState::Ended;
            call.end_reason = Some("rejected".into());
            Ok("ended")
        })
        .await
    }

    /// Either party ends the call (the caller cancels a ringing one).
    pub async fn hang_up(&self, me: &str, id: &str) -> Result<Call> {
        self.change_call(me, id, |call| {
            let reason = match call.state {
                CallState::Ended => return Err(TeamsError::CallState("the call has ended".into())),
                CallState::Ringing if call.from == me => "cancelled",
                CallState::Ringing => "rejected",
                CallState::Connected => "hangup",
            };
            call.state = CallState::Ended;
            call.end_reason = Some(reason.into());
            Ok("ended")
        })
        .await
    }

    /// The ringing callee sends the call on to `to`, routed from the caller
    /// (R3.6); the ringing restarts there.
    pub async fn forward_call(
        self: &Arc<Self>,
        me: &str,
        id: &str,
        request: TargetRequest,
    ) -> Result<Call> {
        let current = self.call(me, id)?;
        if current.to != me || current.state != CallState::Ringing {
            return Err(TeamsError::CallState(
                "only the callee forwards, while it rings".into(),
            ));
        }
        let (to, to_client, method) =
            self.route_call(&current.from, current.from_client, &request.to)?;
        if to == current.from {
            return Err(TeamsError::invalid(
                "to",
                "a call cannot be forwarded to its caller",
            ));
        }
        let forwarded = self
            .change_call(me, id, |call| {
                if call.state != CallState::Ringing || call.to != me {
                    return Err(TeamsError::CallState("the call no longer rings".into()));
                }
                call.forwarded_from = Some(me.to_owned());
                call.to = to.clone();
                call.to_client = to_client;
                call.method = method;
                Ok("forwarded")
            })
            .await?;
        if forwarded.to_client == Some(Client::Teams) {
            self.writer
                .write(vec![call_event(
                    vec![forwarded.to.clone()],
                    "incoming",
                    &forwarded,
                )])
                .await?;
        } else {
            self.sfb.place_call(SfbCall {
                call_id: forwarded.id.clone(),
                from: forwarded.from.clone(),
                to: forwarded.to.clone(),
                sdp: forwarded.offer_sdp.clone(),
            });
        }
        let generation = self.calls_lock().get(id).map_or(0, |e| e.generation);
        self.arm(id.to_owned(), generation);
        Ok(forwarded)
    }

    /// A party of a connected call hands the other party to `to`: this call
    /// ends (`transferred`) and a new one rings from the other party,
    /// routed from the client they are on (R3.6). Returns the new call —
    /// except when the other party is on sfb: its own client places the new
    /// call (the SIP edge sends it a REFER), so this returns the ended call
    /// with `transferred_to` set.
    pub async fn transfer_call(
        self: &Arc<Self>,
        me: &str,
        id: &str,
        request: TargetRequest,
    ) -> Result<Call> {
        let current = self.call(me, id)?;
        if current.state != CallState::Connected {
            return Err(TeamsError::CallState(
                "only a connected call is transferred".into(),
            ));
        }
        let (other, other_client, other_sdp) = if current.from == me {
            match current.to_client {
                Some(client) => (
                    current.to.clone(),
                    client,
                    current.answer_sdp.clone().unwrap_or_default(),
                ),
                None => {
                    return Err(TeamsError::CallState(
                        "a phone-network party is not transferred from here".into(),
                    ));
                }
            }
        } else {
            (
                current.from.clone(),
                current.from_client,
                current.offer_sdp.clone(),
            )
        };
        // Route first: a refused transfer leaves the call as it was.
        let (target, _, _) = self.route_call(&other, other_client, &request.to)?;
        // An sfb party is sent on by its own client (a REFER): the SIP edge
        // does it when this call ends with `transferred_to`.
        let refer = (other_client == Client::Sfb).then_some(target);
        let ended = self
            .change_call(me, id, |call| {
                if call.state != CallState::Connected {
                    return Err(TeamsError::CallState(
                        "the call is no longer connected".into(),
                    ));
                }
                call.state = CallState::Ended;
                call.end_reason = Some("transferred".into());
                call.transferred_to.clone_from(&refer);
                Ok("ended")
            })
            .await?;
        if refer.is_some() {
            return Ok(ended);
        }
        let leg = Leg {
            transferred_from: Some(id.to_owned()),
            ..Leg::default()
        };
        self.start_call(&other, other_client, &request.to, other_sdp, leg)
            .await
    }

    /// R5.4: screen sharing, refused on interop and federated calls.
    pub async fn share_screen(&self, me: &str, id: &str) -> Result<Call> {
        let current = self.call(me, id)?;
        check_screen_sharing(current.method).map_err(|refusal| TeamsError::Refused {
            refusal,
            upn: None,
            replaced_by: None,
            rules: format!("R5.4 the call is {}", current.method),
        })?;
        self.change_call(me, id, |call| {
            if call.state != CallState::Connected {
                return Err(TeamsError::CallState(
                    "only a connected call shares a screen".into(),
                ));
            }
            call.screen_sharing = true;
            Ok("screen-sharing")
        })
        .await
    }

    /// R5.4: adding a third party, refused on interop and federated calls;
    /// on a native call the new party is rung (a call linked to this one).
    pub async fn add_participant(
        self: &Arc<Self>,
        me: &str,
        id: &str,
        request: TargetRequest,
    ) -> Result<Call> {
        let current = self.call(me, id)?;
        check_call_escalation(current.method).map_err(|refusal| TeamsError::Refused {
            refusal,
            upn: None,
            replaced_by: None,
            rules: format!("R5.4 the call is {}", current.method),
        })?;
        if current.state != CallState::Connected {
            return Err(TeamsError::CallState(
                "only a connected call takes more people".into(),
            ));
        }
        let sdp = if current.from == me {
            current.offer_sdp.clone()
        } else {
            current.answer_sdp.clone().unwrap_or_default()
        };
        let leg = Leg {
            escalated_from: Some(id.to_owned()),
            ..Leg::default()
        };
        self.start_call(me, Client::Teams, &request.to, sdp, leg)
            .await
    }
}
