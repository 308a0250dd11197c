//! The sfb side's entry points into calls (issue 6): calls from sfb
//! clients and PSTN gateways that ring on teams, what the sfb (or phone)
//! party of a call does, and the transfers an sfb party asks for (REFER,
//! R3.6).

use super::{Call, CallState, Leg, SfbCallProgress, call_event};
use crate::teams::{Result, Teams, TeamsError};
use coexist_policy::{Client, Method};
use std::sync::Arc;

impl Teams {
    /// The sfb side's entry point for an INVITE from `from`'s sfb client
    /// (R3.6) that lands on teams: every live teams connection of the
    /// callee rings; their answer reaches the sfb side through
    /// `SfbDelivery::call_changed`.
    pub async fn place_call_from_sfb(
        self: &Arc<Self>,
        from: &str,
        to: &str,
        sdp: String,
    ) -> Result<Call> {
        self.start_call(from, Client::Sfb, to, sdp, Leg::default())
            .await
    }

    /// The sfb side's entry point for a call from the phone network (a
    /// PSTN gateway) to `to`'s number, that R6.1/R6.2 landed on teams (the
    /// SIP edge decided): it rings like a call from sfb; `from` is the
    /// caller's number, the method `pstn`.
    pub async fn place_call_from_pstn(
        self: &Arc<Self>,
        from: &str,
        to: &str,
        sdp: String,
    ) -> Result<Call> {
        let upn = {
            let state = self.directory.read();
            state
                .user(to)
                .map(|u| u.upn.clone())
                .ok_or_else(|| TeamsError::not_found("user", to))?
        };
        let leg = Leg {
            routed: Some((upn.clone(), Some(Client::Teams), Method::Pstn)),
            ..Leg::default()
        };
        self.start_call(from, Client::Sfb, &upn, sdp, leg).await
    }

    /// The sfb party of a connected call transfers the teams party to `to`
    /// (a REFER, R3.6): this call ends (`transferred`) and a new one rings
    /// from the teams party, routed from teams. Returns the new call.
    pub async fn transfer_from_sfb(self: &Arc<Self>, id: &str, to: &str) -> Result<Call> {
        let current = self
            .calls_lock()
            .get(id)
            .map(|e| e.call.clone())
            .ok_or_else(|| TeamsError::not_found("call", id))?;
        let (teams_party, sdp) = match (current.from_client, current.to_client) {
            (Client::Teams, Some(Client::Sfb) | None) => {
                (current.from.clone(), current.offer_sdp.clone())
            }
            (Client::Sfb, Some(Client::Teams)) if current.method != Method::Pstn => (
                current.to.clone(),
                current.answer_sdp.clone().unwrap_or_default(),
            ),
            _ => {
                return Err(TeamsError::CallState(
                    "no teams party to transfer on this call".into(),
                ));
            }
        };
        if current.state != CallState::Connected {
            return Err(TeamsError::CallState(
                "only a connected call is transferred".into(),
            ));
        }
        self.route_call(&teams_party, Client::Teams, to)?;
        self.change_call(&teams_party, id, |call| {
            if call.state != CallState::Connected {
                return Err(TeamsError::CallState(
                    "the call is no longer connected".into(),
                ));
            }
            call.state = CallState::Ended;
            call.end_reason = Some("transferred".into());
            Ok("ended")
        })
        .await?;
        let leg = Leg {
            transferred_from: Some(id.to_owned()),
            ..Leg::default()
        };
        self.start_call(&teams_party, Client::Teams, to, sdp, leg)
            .await
    }

    /// The sfb side reports a call it rings for a teams caller (or the
    /// phone network does): answered with its SDP, rejected, failed or
    /// ended. The teams parties get the `call` event.
    pub async fn record_sfb_call(&self, id: &str, progress: SfbCallProgress) -> Result<Call> {
        if progress == SfbCallProgress::Alerting {
            return self.sfb_callee_alerting(id).await;
        }
        let call = {
            let mut calls = self.calls_lock();
            // The sfb (or phone) party: the callee of a teams caller, or
            // the caller of a call that rings on teams.
            let entry = calls
                .get_mut(id)
                .filter(|e| {
                    e.call.to_client != Some(Client::Teams) || e.call.from_client == Client::Sfb
                })
                .ok_or_else(|| TeamsError::not_found("call", id))?;
            let call = &mut entry.call;
            match (progress, call.state) {
                (SfbCallProgress::Alerting, _) => {
                    return Err(TeamsError::CallState("the call no longer rings".into()));
                }
                (_, CallState::Ended) => {
                    return Err(TeamsError::CallState("the call has ended".into()));
                }
                (SfbCallProgress::Answered { .. } | SfbCallProgress::Rejected, _)
                    if call.to_client == Some(Client::Teams) =>
                {
                    return Err(TeamsError::CallState(
                        "the callee is on teams: it answers there".into(),
                    ));
                }
                (SfbCallProgress::Answered { sdp }, CallState::Ringing) => {
                    call.state = CallState::Connected;
                    call.answer_sdp = Some(sdp);
                }
                (SfbCallProgress::Answered { .. }, CallState::Connected) => {
                    return Err(TeamsError::CallState(
                        "the call was answered already".into(),
                    ));
                }
                (SfbCallProgress::Rejected, _) => {
                    call.state = CallState::Ended;
                    call.end_reason = Some("rejected".into());
                }
                (SfbCallProgress::Failed, _) => {
                    call.state = CallState::Ended;
                    call.end_reason = Some("failed".into());
                }
                (SfbCallProgress::Ended, CallState::Ringing) => {
                    call.state = CallState::Ended;
                    call.end_reason = Some("cancelled".into());
                }
                (SfbCallProgress::Ended, _) => {
                    call.state = CallState::Ended;
                    call.end_reason = Some("hangup".into());
                }
            }
            entry.generation += 1;
            let call = entry.call.clone();
            calls.changed(&call, self.now());
            call
        };
        let change = match call.state {
            CallState::Connected => "connected",
            _ => "ended",
        };
        self.writer
            .write(vec![call_event(call.teams_parties(), change, &call)])
            .await?;
        if call.from_client == Client::Sfb {
            // Its caller is on sfb too (a call forwarded from teams to sfb).
            self.sfb.call_changed(&call);
        }
        Ok(call)
    }

    /// A 180 from the sfb callee of a teams caller: `alerting` for the
    /// teams caller while the call still rings.
    async fn sfb_callee_alerting(&self, id: &str) -> Result<Call> {
        let call = self
            .calls_lock()
            .get(id)
            .map(|e| e.call.clone())
            .filter(|c| c.to_client != Some(Client::Teams))
            .ok_or_else(|| TeamsError::not_found("call", id))?;
        if call.state != CallState::Ringing {
            return Err(TeamsError::CallState("the call no longer rings".into()));
        }
        self.writer
            .write(vec![call_event(call.teams_parties(), "alerting", &call)])
            .await?;
        Ok(call)
    }
}
