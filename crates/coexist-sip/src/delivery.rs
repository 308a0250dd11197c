//! The delivery port: how the teams side (issue 4) reaches sfb users. A
//! message or call whose verdict lands on sfb goes out here to every
//! registered contact of the recipient; the teams side also reports its users' teams
//! presence here, for sfb watchers that R7 points at it. Implemented by
//! [`crate::driver::SipHandle`]; the sans-IO form is
//! [`crate::Engine::port_deliver_message`] and
//! [`crate::Engine::set_teams_presence`].

use crate::calls::CallEvent;
use coexist_policy::Availability;
use tokio::sync::mpsc;

/// A call placed through the port: its id (for [`SfbDelivery::hangup`])
/// and its progress (ringing, answered with the SDP answer, failed, ended).
#[derive(Debug)]
pub struct PortCall {
    /// The call's id.
    pub id: u64,
    /// Its progress; the last event is `Failed` or `Ended`.
    pub events: mpsc::UnboundedReceiver<CallEvent>,
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A contact of the recipient accepted it (2xx).
    Delivered,
    /// The recipient has no registered contact (or none answered).
    NoContact,
    /// No such user.
    UnknownUser,
    /// Every contact refused it; the most telling status.
    Failed(u16),
}

/// The port the teams side calls.
#[async_trait::async_trait]
pub trait SfbDelivery: Send + Sync + std::fmt::Debug {
    /// Delivers a pager-mode MESSAGE from `from` (any UPN) to the sfb
    /// contacts of `to`. The R4.3 session it opens sends `to`'s replies
    /// back to teams while it lives.
    async fn deliver_message(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> Delivery;

    /// Reports a user's teams presence (R7.1), NOTIFYing sfb watchers that
    /// see it (R7).
    fn set_teams_presence(&self, upn: &str, availability: Availability, note: Option<String>);

    /// Calls the sfb contacts of `to` (every one rings; the first to answer
    /// wins) with the teams side's SDP offer; `from` is the caller's UPN.
    fn place_call(&self, from: &str, to: &str, sdp: bytes::Bytes) -> PortCall;

    /// Hangs up (or stops ringing) a call placed with [`place_call`](Self::place_call).
    fn hangup(&self, call: u64);
}
