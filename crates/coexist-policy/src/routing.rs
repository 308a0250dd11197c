//! R3: where a new chat or call lands (R3.6: calls route exactly like
//! chats, so one procedure serves both).
//!
//! The procedure is checked cell for cell against tables 1a–2c of RULES.md
//! (tests/routing_tables.rs) and never allocates (tests/allocations.rs).

use crate::federation::FederationStatus;
use crate::mode_capabilities::mode_allows_client;
use crate::notes::Note;
use crate::refusal::RefusalCode;
use crate::rules::{RuleId, RuleTrail};
use crate::verdict::Verdict;
use crate::vocabulary::{Client, Enablement, Homing, Method, Mode, Scope, Topology};

/// Who starts the conversation, and from which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Originator {
    /// Effective mode (R1.3).
    pub mode: Mode,
    /// The client used.
    pub client: Client,
    /// Where the originator's SfB account lives.
    pub homing: Homing,
    /// Client enablement (R2.2).
    pub enabled: Enablement,
}

/// Who receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient {
    /// Effective mode (R1.3).
    pub mode: Mode,
    /// Where the recipient's SfB account lives.
    pub homing: Homing,
    /// Client enablement (R2.2, R10.1).
    pub enabled: Enablement,
}

impl Recipient {
    /// An online recipient enabled for both clients.
    pub const fn online(mode: Mode) -> Recipient {
        Recipient {
            mode,
            homing: Homing::Online,
            enabled: Enablement {
                teams: true,
                sfb: true,
            },
        }
    }
}

/// How the two parties relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// One tenant, of this topology (R3.3, R10.2).
    InTenant(Topology),
    /// Two tenants, whose settings R3.4 has judged.
    Federated(FederationStatus),
}

impl Reach {
    /// The scope.
    pub const fn scope(self) -> Scope {
        match self {
            Reach::InTenant(_) => Scope::InTenant,
            Reach::Federated(_) => Scope::Federated,
        }
    }
}

/// A new chat or call, not from an existing thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewConversation {
    /// The originator.
    pub from: Originator,
    /// The recipient.
    pub to: Recipient,
    /// In-tenant or federated.
    pub reach: Reach,
}

/// R3.1: the client a new conversation lands on, with the note saying why.
pub const fn landing_client(
    originator_client: Client,
    recipient_mode: Mode,
    scope: Scope,
) -> (Client, Note) {
    match (recipient_mode, scope) {
        (Mode::TeamsOnly, _) => (Client::Teams, Note::RecipientTeamsOnly),
        (Mode::SfBOnly | Mode::SfBWithTeamsCollab | Mode::SfBWithTeamsCollabAndMeetings, _) => {
            (Client::Sfb, Note::RecipientSfbStar)
        }
        (Mode::Islands, Scope::InTenant) => (
            originator_client,
            Note::RecipientIslandsClientOriginatorUsed,
        ),
        (Mode::Islands, Scope::Federated) => {
            (Client::Sfb, Note::RecipientIslandsFederatedAlwaysSfb)
        }
    }
}

/// The method of a conversation between these clients at this scope.
pub const fn method_between(from: Client, to: Client, scope: Scope) -> Method {
    match scope {
        Scope::Federated => Method::Federated,
        Scope::InTenant => {
            if matches!(
                (from, to),
                (Client::Teams, Client::Teams) | (Client::Sfb, Client::Sfb)
            ) {
                Method::Native
            } else {
                Method::Interop
            }
        }
    }
}

/// R3: routes a new conversation.
#[inline]
pub fn route(conversation: &NewConversation) -> Verdict {
    route_from(RuleTrail::new(), conversation)
}

/// R3 with a trail already begun (R4.3 starts one when a session expired).
pub(crate) fn route_from(mut trail: RuleTrail, conversation: &NewConversation) -> Verdict {
    let NewConversation { from, to, reach } = *conversation;

    if let Some(verdict) = check_originator(&mut trail, from) {
        return verdict;
    }

    let (client, note) = landing_client(from.client, to.mode, reach.scope());
    trail.push(RuleId::R3_1, note);
    lands_if_possible(trail, conversation, client)
}

/// R3.2–R3.4 and the recipient's checks (R8.1, R2.2, R10.1) for a
/// conversation whose landing client is decided (by R3.1, or by R9.1 for
/// a legacy-policy callee): lands there, or the refusal.
pub(crate) fn lands_if_possible(
    mut trail: RuleTrail,
    conversation: &NewConversation,
    client: Client,
) -> Verdict {
    let NewConversation { from, to, reach } = *conversation;
    let method = method_between(from.client, client, reach.scope());

    if matches!((from.client, from.homing), (Client::Teams, Homing::OnPrem)) {
        if !matches!(method, Method::Native) {
            return Verdict::refused(
                RefusalCode::OriginatorHomedOnPrem,
                RuleId::R3_2,
                Note::TeamsOriginatorHomedOnpremNoInteropOr,
                trail,
            );
        }
        trail.push(RuleId::R3_2, Note::TeamsToTeamsInTenantAlwaysPossible);
    }

    match reach {
        Reach::InTenant(topology) => {
            if matches!(method, Method::Interop) {
                if matches!(topology, Topology::OnPrem) {
                    return Verdict::refused(
                        RefusalCode::TenantNotHybrid,
                        RuleId::R3_3,
                        Note::TenantPurelyOnprem,
                        trail,
                    );
                }
                trail.push(RuleId::R3_3, Note::TenantOnlineOrHybridInteropAllowed);
            }
        }
        Reach::Federated(status) => match status {
            FederationStatus::Allowed => trail.push(RuleId::R3_4, Note::BothTenantsAllowFederation),
            FederationStatus::NotAllowed(why) => {
                return Verdict::refused(
                    RefusalCode::FederationNotAllowed,
                    RuleId::R3_4,
                    why,
                    trail,
                );
            }
            FederationStatus::CrossCloud => {
                return Verdict::refused(
                    RefusalCode::CrossCloudNotSupported,
                    RuleId::R3_4,
                    Note::TenantsAreDifferentCloudInstances,
                    trail,
                );
            }
        },
    }

    if let Some(verdict) = check_recipient(trail, to, client, method) {
        return verdict;
    }
    Verdict::lands(client, method, trail)
}

/// R2.1, R3.5, R1.5, R2.2 for the originator: `Some` refuses.
pub(crate) fn check_originator(trail: &mut RuleTrail, from: Originator) -> Option<Verdict> {
    if !mode_allows_client(from.mode, from.client) {
        trail.push(RuleId::R3_5, Note::RoutingTablesHaveNoRowOriginator);
        let note = match from.client {
            Client::Teams => Note::OriginatorModeAllowsChatsCallsFromSfb,
            Client::Sfb => Note::OriginatorModeAllowsChatsCallsFromTeams,
        };
        return Some(Verdict::refused(
            RefusalCode::ClientDisabledByMode,
            RuleId::R2_1,
            note,
            *trail,
        ));
    }
    if matches!((from.mode, from.homing), (Mode::TeamsOnly, Homing::OnPrem)) {
        trail.push(RuleId::R3_5, Note::TeamsOnlyUserNeverHomedOnprem);
        return Some(Verdict::refused(
            RefusalCode::TeamsOnlyHomedOnPrem,
            RuleId::R1_5,
            Note::TeamsOnlyOriginatorHomedOnprem,
            *trail,
        ));
    }
    if !from.enabled.allows(from.client, from.homing) {
        return Some(Verdict::refused(
            RefusalCode::ClientNotEnabled,
            RuleId::R2_2,
            Note::OriginatorNotEnabledClientUsed,
            *trail,
        ));
    }
    None
}

/// R8.1, R2.2 and R10.1 for the recipient: `Some` refuses.
fn check_recipient(
    trail: RuleTrail,
    to: Recipient,
    client: Client,
    method: Method,
) -> Option<Verdict> {
    if matches!((to.mode, to.homing), (Mode::TeamsOnly, Homing::OnPrem)) {
        return Some(Verdict::refused(
            RefusalCode::TeamsOnlyHomedOnPrem,
            RuleId::R8_1,
            Note::RecipientTeamsOnlyButHomedOnpremUnableReceive,
            trail,
        ));
    }
    if !to.enabled.allows(client, to.homing) {
        let rule = if matches!(method, Method::Interop) {
            RuleId::R10_1
        } else {
            RuleId::R2_2
        };
        return Some(Verdict::refused(
            RefusalCode::RecipientClientNotEnabled,
            rule,
            Note::RecipientNotEnabledLandingClient,
            trail,
        ));
    }
    None
}
