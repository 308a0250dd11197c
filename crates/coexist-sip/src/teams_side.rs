//! The teams side as the SIP edge needs it (issue 6, interop): the other
//! direction of [`crate::delivery`]. An sfb client's IM whose verdict lands
//! on teams (R3, R4.3) is handed to [`TeamsSide::message_from_sfb`] and the
//! sender gets the teams side's answer as the MESSAGE's final response
//! (200 once it is durable there; a refusal with its `Warning`). What an
//! sfb user PUBLISHes, and whether they have a live endpoint, goes to
//! [`TeamsSide::sfb_presence`] (R7.1: teams watchers of an SfB* user see
//! it).
//!
//! Sans-IO: the engine emits [`EngineEvent::TeamsMessage`] and
//! [`EngineEvent::SfbState`]; the driver calls the port and gives the
//! answer back with [`Engine::teams_message_answered`]. Without a port
//! (the SIP edge alone, as in this crate's tests) the driver answers 480.

use crate::engine::{Engine, EngineEvent};
use crate::message::SipMessage;
use coexist_policy::Availability;
use std::time::Duration;

/// The teams side's answer to an IM from sfb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamsAnswer {
    /// Kept in the teams thread (durable) and pushed to the recipient.
    Accepted,
    /// Not taken: the final status, its reason phrase, and the
    /// `Warning` value of a rule refusal (API.md: `399 coexist "CODE (RULE): …"`).
    Refused {
        /// A 4xx/5xx status.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// The Warning header value, for a rule refusal.
        warning: Option<String>,
    },
}

/// An sfb user's state as teams watchers need it (R7.1, R7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfbState {
    /// The user.
    pub upn: String,
    /// What they PUBLISHed (Available when nothing is published).
    pub availability: Availability,
    /// Their note.
    pub note: Option<String>,
    /// Whether they have a live registration.
    pub live: bool,
    /// When their last binding expires (wall clock since the epoch), if any.
    pub registered_until: Option<Duration>,
    /// Whether a live binding is an IP phone (R6.3, R8.6).
    pub has_phone: bool,
}

/// The port the SIP edge calls. The interop wiring (`coexist serve`)
/// implements it over `coexist_core::Teams`.
#[async_trait::async_trait]
pub trait TeamsSide: Send + Sync + std::fmt::Debug + 'static {
    /// An IM from `from`'s sfb client to `to` that the rules land on `to`'s
    /// teams client. `content_type` and `body` are the MESSAGE's.
    async fn message_from_sfb(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> TeamsAnswer;

    /// An sfb user's published presence or registration changed.
    fn sfb_presence(&self, state: SfbState);
}

impl Engine {
    /// A MESSAGE whose verdict lands on teams: remembered until the teams
    /// side answers, announced as [`EngineEvent::TeamsMessage`].
    pub(crate) fn message_to_teams(
        &mut self,
        now: Duration,
        from_upn: &str,
        to_upn: &str,
        request: SipMessage,
    ) {
        let id = self.id();
        // R4.3: the sender's replies (and this conversation) stay on teams
        // while the session lives.
        self.touch_session(now, to_upn, from_upn, coexist_policy::Client::Teams);
        let content_type = request
            .header("Content-Type")
            .unwrap_or("text/plain")
            .to_owned();
        self.events.push(EngineEvent::TeamsMessage {
            id,
            from: from_upn.to_owned(),
            to: to_upn.to_owned(),
            content_type,
            body: request.body.clone(),
        });
        self.to_teams.insert(id, request);
    }

    /// The teams side answered the MESSAGE announced with `id`.
    pub fn teams_message_answered(&mut self, now: Duration, id: u64, answer: TeamsAnswer) {
        let Some(request) = self.to_teams.remove(&id) else {
            return;
        };
        let tag = self.token();
        let response = match answer {
            TeamsAnswer::Accepted => request.response(200, "OK", Some(&tag)),
            TeamsAnswer::Refused {
                status,
                reason,
                warning,
            } => {
                let mut response = request.response(status, &reason, Some(&tag));
                if let Some(warning) = warning {
                    response.push("Warning", warning);
                }
                response
            }
        };
        self.reply(now, &request, response);
    }

    /// Announces `upn`'s sfb state to the teams side (after a PUBLISH, a
    /// registration change, an expiry).
    pub(crate) fn sfb_state_changed(&mut self, now: Duration, upn: &str) {
        let contacts = self.registrar.contacts(upn, now);
        let registered_until = contacts
            .iter()
            .map(|b| Duration::from_millis(b.expires_at_ms))
            .max();
        let has_phone = contacts.iter().any(|b| b.is_phone);
        let (availability, note) = self
            .presence
            .published_state(upn, now)
            .unwrap_or((Availability::Available, None));
        self.events.push(EngineEvent::SfbState(SfbState {
            upn: upn.to_owned(),
            availability,
            note,
            live: registered_until.is_some(),
            registered_until,
            has_phone,
        }));
    }

    /// Announces every registered user's sfb state: the teams side was just
    /// attached, and registrations restored from disk are news to it.
    pub fn report_all_sfb_states(&mut self, now: Duration) {
        let upns: Vec<String> = self.registrar.addresses().map(str::to_owned).collect();
        for upn in upns {
            self.sfb_state_changed(now, &upn);
        }
    }
}
