//! Refusals: a stable code, the rule that refused, and a sentence for people.
//! Edges map codes to SIP and HTTP statuses, each in one place.

use crate::named::named_enum;
use crate::rules::RuleId;
use std::fmt;

named_enum! {
    /// A stable refusal code. Clients and scripts match on these names:
    /// never rename one (API.md).
    pub enum RefusalCode as "refusal code" {
        ClientDisabledByMode = "ClientDisabledByMode",
        ClientNotEnabled = "ClientNotEnabled",
        RecipientClientNotEnabled = "RecipientClientNotEnabled",
        TeamsOnlyHomedOnPrem = "TeamsOnlyHomedOnPrem",
        OriginatorHomedOnPrem = "OriginatorHomedOnPrem",
        TenantNotHybrid = "TenantNotHybrid",
        FederationNotAllowed = "FederationNotAllowed",
        CrossCloudNotSupported = "CrossCloudNotSupported",
        ThreadDisabled = "ThreadDisabled",
        MethodWouldChange = "MethodWouldChange",
        AttachmentNotAllowedOnInterop = "AttachmentNotAllowedOnInterop",
        ParticipantOnOtherClient = "ParticipantOnOtherClient",
        ScreenSharingNotAllowedOnInterop = "ScreenSharingNotAllowedOnInterop",
        EscalationNotAllowedOnInterop = "EscalationNotAllowedOnInterop",
        UnreachableFromPstn = "UnreachableFromPstn",
        NoPstnOnThisClient = "NoPstnOnThisClient",
        NoVoice = "NoVoice",
        TeamsOnlyNeedsOnlineHoming = "TeamsOnlyNeedsOnlineHoming",
    }
}

impl RefusalCode {
    /// A sentence a person can act on.
    pub const fn sentence(self) -> &'static str {
        match self {
            RefusalCode::ClientDisabledByMode => {
                "the originator's coexistence mode does not allow chats or calls from this client"
            }
            RefusalCode::ClientNotEnabled => "the originator is not enabled for this client",
            RefusalCode::RecipientClientNotEnabled => {
                "the recipient is not enabled for the client this conversation would land on"
            }
            RefusalCode::TeamsOnlyHomedOnPrem => {
                "a TeamsOnly user homed onprem cannot take part in chats or calls; move the user online first"
            }
            RefusalCode::OriginatorHomedOnPrem => {
                "the originator's Skype for Business account is homed onprem, so the teams client cannot take part in interop or federation; use the Skype for Business client"
            }
            RefusalCode::TenantNotHybrid => {
                "the tenant is purely onprem, so it has no in-tenant interop between teams and sfb"
            }
            RefusalCode::FederationNotAllowed => {
                "federation between these tenants is not allowed by their federation settings"
            }
            RefusalCode::CrossCloudNotSupported => {
                "federation between different cloud instances is not supported"
            }
            RefusalCode::ThreadDisabled => {
                "this thread's routing is no longer possible; start a new thread"
            }
            RefusalCode::MethodWouldChange => {
                "this person would be reached by another method than the one this chat keeps for its life; start a new chat"
            }
            RefusalCode::AttachmentNotAllowedOnInterop => {
                "files and attachments cannot be sent on an interop or federated conversation"
            }
            RefusalCode::ParticipantOnOtherClient => {
                "a group chat holds participants of one client only; this participant would land on the other client"
            }
            RefusalCode::ScreenSharingNotAllowedOnInterop => {
                "screen sharing is not available on an interop or federated conversation"
            }
            RefusalCode::EscalationNotAllowedOnInterop => {
                "a call across clients cannot be escalated to a multi-party call"
            }
            RefusalCode::UnreachableFromPstn => {
                "a TeamsOnly user with Hybrid Voice cannot receive phone calls"
            }
            RefusalCode::NoPstnOnThisClient => {
                "this user cannot place phone calls from this client"
            }
            RefusalCode::NoVoice => "this user has no phone service",
            RefusalCode::TeamsOnlyNeedsOnlineHoming => {
                "UpgradeToTeams (TeamsOnly) cannot be granted to a user homed onprem; move the user online first"
            }
        }
    }
}

/// Why something cannot happen: a stable code and the rule that said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The stable code.
    pub code: RefusalCode,
    /// The deciding rule.
    pub rule: RuleId,
}

impl Refusal {
    /// A refusal by `rule`.
    pub const fn new(code: RefusalCode, rule: RuleId) -> Refusal {
        Refusal { code, rule }
    }

    /// The sentence for people.
    pub const fn sentence(self) -> &'static str {
        self.code.sentence()
    }
}

impl fmt::Display for Refusal {
    /// `OriginatorHomedOnPrem (R3.2): the originator's …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.rule, self.sentence())
    }
}

impl std::error::Error for Refusal {}
