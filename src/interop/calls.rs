//! Calls across clients (issue 6, part 3) and the PSTN gateway (part 5):
//! the bridge between teams calls (`coexist_core::Teams`, signalling over
//! HTTP/WebSocket) and SIP calls (the SIP edge's B2BUA).
//!
//! - A teams caller whose callee lands on sfb (or calls a number, R6.4):
//!   [`CallBridge::place_call`] places a port call (every sfb contact rings,
//!   or the tenant's gateway); its progress becomes `record_sfb_call`
//!   (answered with the SDP, rejected on 486/603, failed otherwise, ended);
//!   what the teams side does next ([`CallBridge::call_changed`]) hangs it
//!   up (BYE, or CANCEL while it rings) or transfers the sfb party (REFER).
//! - An sfb caller (or a PSTN gateway) whose callee lands on teams: the SIP
//!   edge asks [`TeamsCallsPort`] (`coexist_sip::TeamsCalls`), which rings
//!   the teams callee (`place_call_from_sfb`, `place_call_from_pstn`); what
//!   the teams party does comes back through `call_changed` as a
//!   `TeamsCallUpdate` (200 with the teams SDP, 603, 480, BYE, REFER).
//!
//! A call is linked by its teams id to the port call or SIP call it has;
//! both links can exist at once (an sfb caller forwarded by a teams callee
//! to an sfb user), and each end is told independently.

use bytes::Bytes;
use coexist_core::teams::ports::SfbCall;
use coexist_core::teams::{Call, CallState, SfbCallProgress};
use coexist_core::{Teams, TeamsError};
use coexist_sip::{CallEvent, SipHandle, TeamsCallStart, TeamsCallUpdate, TeamsCalls};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The bridge between teams calls and SIP calls.
#[derive(Debug)]
pub struct CallBridge {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sip: SipHandle,
    teams: OnceLock<Weak<Teams>>,
    links: Mutex<Links>,
}

#[derive(Debug, Default)]
struct Links {
    /// Teams call → the port call ringing its sfb (or phone) callee.
    port: HashMap<String, u64>,
    /// Teams call → the SIP call of its sfb (or phone) caller.
    sfb: HashMap<String, u64>,
    /// The other way round.
    by_engine: HashMap<u64, String>,
    /// Changes of calls from sfb seen before their link was made.
    early: HashMap<String, Call>,
    /// SIP calls whose caller hung up (CANCEL) before the teams side
    /// answered `call_from_sfb`.
    gone: HashSet<u64>,
}

impl Inner {
    fn teams(&self) -> Option<Arc<Teams>> {
        self.teams.get().and_then(Weak::upgrade)
    }

    fn links(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the SIP caller of `call` what the teams side did.
    fn update_sfb_caller(&self, engine_id: u64, call: &Call) {
        let update = match call.state {
            CallState::Ringing => return,
            CallState::Connected => TeamsCallUpdate::Answered(Bytes::from(
                call.answer_sdp.clone().unwrap_or_default().into_bytes(),
            )),
            CallState::Ended => match (call.end_reason.as_deref(), &call.transferred_to) {
                (Some("transferred"), Some(target)) => {
                    TeamsCallUpdate::Transfer(sip_target(target, &call.from))
                }
                (Some("rejected"), _) => TeamsCallUpdate::Declined,
                (Some("no-answer"), _) => TeamsCallUpdate::NoAnswer,
                _ => TeamsCallUpdate::Ended,
            },
        };
        self.sip.teams_call_update(engine_id, update);
    }
}

/// A transfer target as the SIP edge writes it (`user@host`): a UPN as it
/// is, a number at the sfb party's domain.
fn sip_target(target: &str, sfb_party: &str) -> String {
    if target.starts_with('+') {
        let domain = sfb_party.rsplit_once('@').map_or("", |(_, d)| d);
        format!("{target}@{domain}")
    } else {
        target.to_owned()
    }
}

/// A REFER target (`user@host`) as the teams side takes it: a number
/// without its host.
fn teams_target(target: &str) -> &str {
    match target.split_once('@') {
        Some((number, _)) if number.starts_with('+') => number,
        _ => target,
    }
}

/// A teams-side error as a SIP status.
fn status_of(error: &TeamsError) -> u16 {
    match error {
        TeamsError::Refused { .. } | TeamsError::Forbidden(_) => 403,
        TeamsError::NotFound { .. } => 404,
        TeamsError::Invalid { .. } => 400,
        TeamsError::CallState(_) => 481,
        _ => 500,
    }
}

impl CallBridge {
    /// A bridge over `sip`.
    pub fn new(sip: SipHandle) -> CallBridge {
        CallBridge {
            inner: Arc::new(Inner {
                sip,
                teams: OnceLock::new(),
                links: Mutex::new(Links::default()),
            }),
        }
    }

    /// Closes the loop once the teams side is open: the SIP edge hands it
    /// calls from sfb that land on teams.
    pub fn attach(&self, teams: &Arc<Teams>) {
        let _ = self.inner.teams.set(Arc::downgrade(teams));
        self.inner
            .sip
            .attach_teams_calls(Arc::new(TeamsCallsPort(self.inner.clone())));
    }

    /// A teams caller's leg that lands on sfb (or a phone number): every
    /// sfb contact of the callee rings (or the tenant's PSTN gateway).
    pub fn place_call(&self, call: SfbCall) {
        let inner = self.inner.clone();
        let Some(teams) = inner.teams() else { return };
        let mut port = coexist_sip::SfbDelivery::place_call(
            &inner.sip,
            &call.from,
            &call.to,
            Bytes::from(call.sdp.into_bytes()),
        );
        let id = call.call_id;
        inner.links().port.insert(id.clone(), port.id);
        tokio::spawn(async move {
            while let Some(event) = port.events.recv().await {
                let progress = match event {
                    CallEvent::Ringing => SfbCallProgress::Alerting,
                    CallEvent::Answered(sdp) => SfbCallProgress::Answered {
                        sdp: String::from_utf8_lossy(&sdp).into_owned(),
                    },
                    CallEvent::Failed(486 | 600 | 603) => SfbCallProgress::Rejected,
                    CallEvent::Failed(_) => SfbCallProgress::Failed,
                    CallEvent::Ended => SfbCallProgress::Ended,
                    CallEvent::Transfer(target) => {
                        // R3.6: the sfb callee sends the teams caller on.
                        if let Err(error) =
                            teams.transfer_from_sfb(&id, teams_target(&target)).await
                        {
                            tracing::debug!(%id, %error, "transfer asked by sfb refused");
                            inner.sip.refer_failed(port.id, status_of(&error));
                        }
                        continue;
                    }
                };
                let last = !matches!(
                    progress,
                    SfbCallProgress::Answered { .. } | SfbCallProgress::Alerting
                );
                if last {
                    let mut links = inner.links();
                    if links.port.get(&id) == Some(&port.id) {
                        links.port.remove(&id);
                    }
                }
                // An error here is a call the teams side ended first.
                if let Err(error) = teams.record_sfb_call(&id, progress).await {
                    tracing::debug!(%id, %error, "sfb call progress");
                }
            }
        });
    }

    /// A call with an sfb (or phone) party changed on the teams side.
    pub fn call_changed(&self, call: &Call) {
        let inner = &self.inner;
        let (port, engine) = {
            let mut links = inner.links();
            let port = match call.state {
                CallState::Ended => links.port.remove(&call.id),
                _ => None,
            };
            let engine = links.sfb.get(&call.id).copied();
            if engine.is_none() && call.from_client == coexist_policy::Client::Sfb {
                links.early.insert(call.id.clone(), call.clone());
            }
            if engine.is_some() && call.state == CallState::Ended {
                links.sfb.remove(&call.id);
                if let Some(engine) = engine {
                    links.by_engine.remove(&engine);
                }
            }
            (port, engine)
        };
        if let Some(port) = port {
            match (&call.end_reason.as_deref(), &call.transferred_to) {
                (Some("transferred"), Some(target)) => {
                    inner.sip.transfer(port, &sip_target(target, &call.to));
                }
                _ => coexist_sip::SfbDelivery::hangup(&inner.sip, port),
            }
        }
        if let Some(engine) = engine {
            inner.update_sfb_caller(engine, call);
        }
    }
}

/// The SIP edge's port for calls that land on teams.
#[derive(Debug)]
pub struct TeamsCallsPort(Arc<Inner>);

#[async_trait::async_trait]
impl TeamsCalls for TeamsCallsPort {
    async fn call_from_sfb(
        &self,
        id: u64,
        from: &str,
        to: &str,
        sdp: Bytes,
        pstn: bool,
    ) -> TeamsCallStart {
        let Some(teams) = self.0.teams() else {
            return TeamsCallStart::Refused {
                status: 480,
                reason: "Temporarily Unavailable (teams is not open)".into(),
                warning: None,
            };
        };
        let sdp = String::from_utf8_lossy(&sdp).into_owned();
        let placed = if pstn {
            teams.place_call_from_pstn(from, to, sdp).await
        } else {
            teams.place_call_from_sfb(from, to, sdp).await
        };
        match placed {
            Ok(call) => {
                let (early, gone) = {
                    let mut links = self.0.links();
                    links.sfb.insert(call.id.clone(), id);
                    links.by_engine.insert(id, call.id.clone());
                    (links.early.remove(&call.id), links.gone.remove(&id))
                };
                if gone {
                    // The caller gave up while the teams side placed it.
                    self.sfb_ended(id);
                } else if let Some(changed) = early {
                    self.0.update_sfb_caller(id, &changed);
                }
                TeamsCallStart::Ringing
            }
            Err(error) => {
                self.0.links().gone.remove(&id);
                let warning = match &error {
                    TeamsError::Refused { refusal, .. } => {
                        Some(coexist_sip::engine::warning(*refusal))
                    }
                    _ => None,
                };
                let status = match status_of(&error) {
                    400 => 488,
                    status => status,
                };
                TeamsCallStart::Refused {
                    status,
                    reason: format!("Refused ({error})").replace(['\r', '\n'], " "),
                    warning,
                }
            }
        }
    }

    fn sfb_ended(&self, id: u64) {
        let call_id = {
            let mut links = self.0.links();
            let call_id = links.by_engine.get(&id).cloned();
            if call_id.is_none() {
                links.gone.insert(id);
            }
            call_id
        };
        let Some(call_id) = call_id else {
            return;
        };
        let Some(teams) = self.0.teams() else { return };
        tokio::spawn(async move {
            if let Err(error) = teams
                .record_sfb_call(&call_id, SfbCallProgress::Ended)
                .await
            {
                tracing::debug!(%call_id, %error, "sfb caller hung up");
            }
        });
    }

    fn sfb_refer(&self, id: u64, target: &str) {
        let call_id = self.0.links().by_engine.get(&id).cloned();
        let (Some(call_id), Some(teams)) = (call_id, self.0.teams()) else {
            self.0
                .sip
                .teams_call_update(id, TeamsCallUpdate::TransferFailed(481));
            return;
        };
        let (inner, target) = (self.0.clone(), teams_target(target).to_owned());
        tokio::spawn(async move {
            if let Err(error) = teams.transfer_from_sfb(&call_id, &target).await {
                tracing::debug!(%call_id, %error, "transfer asked by sfb refused");
                inner
                    .sip
                    .teams_call_update(id, TeamsCallUpdate::TransferFailed(status_of(&error)));
            }
        });
    }
}
