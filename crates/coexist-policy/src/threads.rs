//! R4: existing teams threads (R4.1, R4.2) and sfb sessions (R4.3).

use crate::federation::FederationStatus;
use crate::mode_capabilities::mode_allows_client;
use crate::notes::Note;
use crate::refusal::{Refusal, RefusalCode};
use crate::routing::{NewConversation, Reach, method_between, route_from};
use crate::rules::{RuleId, RuleTrail};
use crate::verdict::Verdict;
use crate::vocabulary::{Client, Enablement, Homing, Method, Mode, Topology};
use std::time::Duration;

/// One participant of an existing thread, as they are now, and the client
/// they are on in this thread (fixed when it was created).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadParty {
    /// Current effective mode.
    pub mode: Mode,
    /// Current homing.
    pub homing: Homing,
    /// Current enablement.
    pub enabled: Enablement,
    /// The client this party is on in the thread.
    pub client: Client,
}

/// A message or call from an existing thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadContinuation {
    /// The method fixed at creation (R4.1).
    pub method: Method,
    /// Who posts now.
    pub sender: ThreadParty,
    /// The other party.
    pub recipient: ThreadParty,
    /// How the two relate now.
    pub reach: Reach,
}

/// R4.1 and R4.2: a thread's later messages and calls go the way fixed at
/// creation if that is still possible; otherwise the thread is disabled
/// (`ThreadDisabled`: start a new one).
///
/// "Still possible" means each party's mode still allows the client it is
/// on in this thread (R2.1), both are still enabled for it (R2.2), the
/// method still matches the parties' clients and scope, and the gates of
/// R3.2–R3.4 still hold. So an interop thread to a user who became
/// TeamsOnly is disabled, and so — **(inferred, R4.2)** — is a native thread
/// to a user who moved to an SfB* mode.
pub fn continue_thread(thread: &ThreadContinuation) -> Verdict {
    let trail = RuleTrail::new().with(RuleId::R4_1, Note::ThreadKeepsMethodFixedAtCreation);
    let ThreadContinuation {
        method,
        sender,
        recipient,
        reach,
    } = *thread;

    let disabled = |trail: RuleTrail, note: Note| {
        Verdict::refused(RefusalCode::ThreadDisabled, RuleId::R4_2, note, trail)
    };

    if !mode_allows_client(sender.mode, sender.client) {
        return disabled(
            trail.with(RuleId::R2_1, Note::SenderModeNoLongerAllowsClient),
            Note::SenderNoLongerUseThreadClient,
        );
    }
    if !mode_allows_client(recipient.mode, recipient.client) {
        return disabled(
            trail.with(RuleId::R2_1, Note::RecipientModeNoLongerAllowsClient),
            Note::RecipientNoLongerReachedThreadClient,
        );
    }
    if !sender.enabled.allows(sender.client, sender.homing)
        || !recipient.enabled.allows(recipient.client, recipient.homing)
    {
        return disabled(
            trail.with(RuleId::R2_2, Note::PartyNoLongerEnabledClient),
            Note::PartyNoLongerEnabledThreadClient,
        );
    }
    if method_between(sender.client, recipient.client, reach.scope()) != method {
        return disabled(trail, Note::PartiesClientsOrTenantsNoLongerMatch);
    }
    if !matches!(method, Method::Native) {
        let teams_onprem = |party: ThreadParty| {
            matches!(
                (party.client, party.homing),
                (Client::Teams, Homing::OnPrem)
            )
        };
        if teams_onprem(sender) || teams_onprem(recipient) {
            return disabled(
                trail.with(RuleId::R3_2, Note::TeamsPartyNowHomedOnprem),
                Note::TeamsPartyHomedOnpremCannotTakePart,
            );
        }
    }
    let trail = match reach {
        Reach::InTenant(Topology::OnPrem) if matches!(method, Method::Interop) => {
            return disabled(
                trail.with(RuleId::R3_3, Note::TenantPurelyOnprem),
                Note::TenantNoLongerHasInTenantInterop,
            );
        }
        Reach::Federated(FederationStatus::NotAllowed(why)) => {
            return disabled(
                trail.with(RuleId::R3_4, why),
                Note::FederationNoLongerAllowed,
            );
        }
        Reach::Federated(FederationStatus::CrossCloud) => {
            return disabled(
                trail.with(RuleId::R3_4, Note::TenantsAreDifferentCloudInstances),
                Note::FederationNoLongerPossible,
            );
        }
        _ => trail,
    };
    Verdict::lands(recipient.client, method, trail)
}

/// R4.3: the default idle limit of an sfb conversation.
pub const SFB_SESSION_IDLE_LIMIT: Duration = Duration::from_secs(10 * 60);

/// An sfb conversation (R4.3): not persistent, it lives while there is
/// traffic. Times are durations since any fixed epoch the caller chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SfbSession {
    /// When the last message of the session passed.
    pub last_traffic: Duration,
    /// Where replies of the sfb party land while the session lives
    /// (the conversation's original routing).
    pub reply_lands_on: Client,
    /// The session's method.
    pub method: Method,
}

impl SfbSession {
    /// R4.3: whether the session still lives at `now`.
    pub fn is_live(&self, now: Duration, idle_limit: Duration) -> bool {
        now.saturating_sub(self.last_traffic) < idle_limit
    }

    /// When the session ends if nothing else passes (a timer for drivers).
    pub fn expires_at(&self, idle_limit: Duration) -> Duration {
        self.last_traffic.saturating_add(idle_limit)
    }
}

/// R4.3: routes a reply from an sfb client. While `session` lives, the reply
/// follows the conversation's original routing; after it expired (or with no
/// session at all) the reply is a new conversation from the sfb client (R3),
/// described by `as_new`.
pub fn route_sfb_reply(
    session: Option<&SfbSession>,
    now: Duration,
    idle_limit: Duration,
    as_new: &NewConversation,
) -> Verdict {
    match session {
        Some(session) if session.is_live(now, idle_limit) => Verdict::lands(
            session.reply_lands_on,
            session.method,
            RuleTrail::new().with(
                RuleId::R4_3,
                Note::SfbSessionLivesReplyFollowsOriginalRouting,
            ),
        ),
        Some(_) => route_from(
            RuleTrail::new().with(RuleId::R4_3, Note::SfbSessionExpiredReplyNewConversation),
            as_new,
        ),
        None => route_from(
            RuleTrail::new().with(RuleId::R4_3, Note::NoSfbSessionNewConversation),
            as_new,
        ),
    }
}

/// R4.1: a member may join an existing thread only if they would be reached
/// by the thread's own method; otherwise the thread would change how it
/// travels, which it never does (`MethodWouldChange`: start a new thread).
pub const fn check_member_method(
    thread_method: Method,
    member_method: Method,
) -> Result<(), Refusal> {
    if thread_method as u8 == member_method as u8 {
        Ok(())
    } else {
        Err(Refusal::new(RefusalCode::MethodWouldChange, RuleId::R4_1))
    }
}

/// R4.4: which client keeps a conversation's history.
pub const fn keeps_history(client: Client) -> bool {
    matches!(client, Client::Teams)
}
