//! Interop (issue 6): the two sides wired together by the rules.
//!
//! - [`SfbPort`] is the teams side's sfb delivery port
//!   (`coexist_core::teams::ports::SfbDelivery`) over the SIP edge's
//!   [`coexist_sip::SipHandle`]: a teams user's message that lands on sfb
//!   goes out as a MESSAGE from `sip:SENDER-UPN`, and its outcome comes back
//!   as the delivery state; teams presence is NOTIFYed to sfb watchers.
//! - [`TeamsPort`] is the SIP edge's teams port ([`coexist_sip::TeamsSide`])
//!   over [`coexist_core::Teams`]: an sfb user's IM that lands on teams is
//!   kept in a teams thread (R4.1, R4.3) before the MESSAGE gets its 200;
//!   sfb presence and registrations reach teams watchers (R7.1, R7.3).
//! - [`Endpoints`] is what both share: who has a live sfb registration and
//!   when their sfb client was last seen (the safety net, R6.3).
//!
//! Order at start-up: the SIP edge starts, the teams side opens with an
//! [`SfbPort`], then [`SfbPort::attach`] and
//! `SipHandle::attach_teams` close the loop.

mod calls;
mod endpoints;
mod sfb_port;
mod teams_port;

pub use calls::CallBridge;
pub use endpoints::{Endpoint, Endpoints};
pub use sfb_port::SfbPort;
pub use teams_port::TeamsPort;
