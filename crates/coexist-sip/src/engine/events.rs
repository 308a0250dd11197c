//! What the engine tells its owner (the driver): the delivery port's
//! answers, and what the teams side must take or answer (interop).

/// Something the engine tells its owner (the delivery port's answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// A request placed by the delivery port got this final status.
    PortResult {
        /// The port's request id.
        id: u64,
        /// Final status (200 delivered, 480 nobody, 408 timeout…).
        status: u16,
    },
    /// A call placed by the delivery port progressed.
    Call {
        /// The port's call id.
        id: u64,
        /// What happened.
        event: crate::calls::CallEvent,
    },
    /// An IM from sfb that lands on teams: answer it with
    /// [`Engine::teams_message_answered`](crate::Engine::teams_message_answered).
    TeamsMessage {
        /// The id to answer with.
        id: u64,
        /// Sender UPN (authenticated).
        from: String,
        /// Recipient UPN.
        to: String,
        /// The MESSAGE's Content-Type.
        content_type: String,
        /// Its body.
        body: bytes::Bytes,
    },
    /// An sfb user's published presence or registration changed.
    SfbState(crate::teams_side::SfbState),
    /// A call from sfb (or a PSTN gateway) that lands on teams: answer with
    /// [`Engine::teams_call_started`](crate::Engine::teams_call_started), then [`Engine::teams_call_update`](crate::Engine::teams_call_update).
    TeamsCall {
        /// The call's id.
        id: u64,
        /// Caller UPN (authenticated), or the caller's number when `pstn`.
        from: String,
        /// Callee UPN.
        to: String,
        /// The caller's SDP offer.
        sdp: bytes::Bytes,
        /// From the phone network (R6.1).
        pstn: bool,
    },
    /// The sfb caller of a [`EngineEvent::TeamsCall`] cancelled or hung up.
    TeamsCallEnded {
        /// The call's id.
        id: u64,
    },
    /// The sfb caller of a [`EngineEvent::TeamsCall`] transfers the teams
    /// party (REFER, R3.6).
    TeamsCallRefer {
        /// The call's id.
        id: u64,
        /// `user@domain` or `+number@host`.
        target: String,
    },
}
