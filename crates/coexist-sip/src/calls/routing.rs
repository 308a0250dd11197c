//! Where a call from an sfb client to a user lands: like a chat (R3.6),
//! except to a callee whose legacy TeamsInteropPolicy decides their calls
//! (R9.1, the "sfb" row — or "federated sfb" for a caller from another
//! tenant — with their own calling client when the policy allows it,
//! R9.2). The decision is `coexist_policy::route_call`, the one the teams
//! side routes its calls by and the admin's explain view shows.
//!
//! An R4.3 sfb session does not steer such a call: the session carries the
//! replies of a conversation, while R9.1 says where this user takes calls.
//! Chats (MESSAGE) never look at the legacy policy (R9.3).

use crate::directory::SipUser;
use crate::engine::Engine;
use crate::im::{Landing, landing};
use crate::message::{Method, SipMessage};
use coexist_policy::{Mode, Refusal, route_call};
use std::time::Duration;

impl Engine {
    /// R2.1, then R9.1/R9.2 for a legacy-policy callee in Islands, else R3
    /// with the R4.3 session ([`Engine::decide`]): where an INVITE from
    /// `from`'s sfb client to `to` lands.
    pub(crate) fn decide_call(
        &self,
        now: Duration,
        from: &SipUser,
        to: &SipUser,
    ) -> Result<Landing, Refusal> {
        let legacy = match to.mode {
            Mode::Islands => self.directory.legacy_calling(&to.upn),
            _ => None,
        };
        match legacy {
            Some(legacy) => landing(route_call(
                &self.conversation_from_sfb(from, to),
                Some(legacy),
            )),
            None => self.decide(now, from, to),
        }
    }

    /// [`Engine::decide_call`] for an INVITE, [`Engine::decide`] for
    /// anything else (a MESSAGE is a chat).
    pub(crate) fn decide_request(
        &self,
        now: Duration,
        request: &SipMessage,
        from: &SipUser,
        to: &SipUser,
    ) -> Result<Landing, Refusal> {
        match request.method() {
            Some(Method::Invite) => self.decide_call(now, from, to),
            _ => self.decide(now, from, to),
        }
    }
}
