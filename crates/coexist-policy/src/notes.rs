//! What a rule found at one step of a decision, as a one-byte value (so a
//! verdict stays small and routing copies little), with its text for people.

macro_rules! notes {
    ( $( $variant:ident = $text:literal, )+ ) => {
        /// What a rule found at one step ("recipient is SfB*").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Note { $( $variant ),+ }

        impl Note {
            /// The words for people.
            pub const fn text(self) -> &'static str {
                match self { $( Note::$variant => $text ),+ }
            }
        }
    };
}

notes! {
    // R3
    RecipientTeamsOnly = "recipient is TeamsOnly",
    RecipientSfbStar = "recipient is SfB*",
    RecipientIslandsClientOriginatorUsed = "recipient is Islands: the client the originator used",
    RecipientIslandsFederatedAlwaysSfb = "recipient is Islands and federated: always sfb",
    TeamsOriginatorHomedOnpremNoInteropOr = "teams originator homed onprem: no interop or federation",
    TeamsToTeamsInTenantAlwaysPossible = "teams to teams in-tenant is always possible",
    TenantPurelyOnprem = "tenant is purely onprem",
    TenantOnlineOrHybridInteropAllowed = "tenant is online or hybrid: interop allowed",
    BothTenantsAllowFederation = "both tenants allow federation",
    TenantsAreDifferentCloudInstances = "the tenants are in different cloud instances",
    RoutingTablesHaveNoRowOriginator = "the routing tables have no row for this originator",
    OriginatorModeAllowsChatsCallsFromSfb = "the originator's mode allows chats and calls from sfb only",
    OriginatorModeAllowsChatsCallsFromTeams = "the originator's mode allows chats and calls from teams only",
    TeamsOnlyUserNeverHomedOnprem = "a TeamsOnly user is never homed onprem",
    TeamsOnlyOriginatorHomedOnprem = "TeamsOnly originator homed onprem",
    OriginatorNotEnabledClientUsed = "the originator is not enabled for the client used",
    RecipientTeamsOnlyButHomedOnpremUnableReceive = "recipient is TeamsOnly but homed onprem: unable to receive chats and calls",
    RecipientNotEnabledLandingClient = "the recipient is not enabled for the landing client",
    // R3.4 federation settings
    FederationSettingsForbid = "the tenants' federation settings do not allow it",
    SfBFederationOffOriginatorTenant = "SfB federation is off in the originator's tenant",
    TeamsFederationOffOriginatorTenant = "Teams federation is off in the originator's tenant",
    SfBFederationOffRecipientTenant = "SfB federation is off in the recipient's tenant",
    TeamsFederationOffRecipientTenant = "Teams federation is off in the recipient's tenant",
    OriginatorTenantDoesNotAllowRecipientDomain = "the originator's tenant does not allow the recipient's domain",
    RecipientTenantDoesNotAllowOriginatorDomain = "the recipient's tenant does not allow the originator's domain",
    // R4
    ThreadKeepsMethodFixedAtCreation = "the thread keeps the method fixed at creation",
    SenderModeNoLongerAllowsClient = "sender's mode no longer allows its client",
    SenderNoLongerUseThreadClient = "the sender can no longer use this thread's client",
    RecipientModeNoLongerAllowsClient = "recipient's mode no longer allows its client",
    RecipientNoLongerReachedThreadClient = "the recipient can no longer be reached on this thread's client",
    PartyNoLongerEnabledClient = "a party is no longer enabled for its client",
    PartyNoLongerEnabledThreadClient = "a party is no longer enabled for this thread's client",
    MemberNoLongerExists = "a member of the thread no longer exists",
    PartiesClientsOrTenantsNoLongerMatch = "the parties' clients or tenants no longer match the thread's method",
    TeamsPartyNowHomedOnprem = "a teams party is now homed onprem",
    TeamsPartyHomedOnpremCannotTakePart = "a teams party homed onprem cannot take part in interop or federation",
    TenantNoLongerHasInTenantInterop = "the tenant no longer has in-tenant interop",
    FederationNoLongerAllowed = "federation is no longer allowed",
    FederationNoLongerPossible = "federation is no longer possible",
    SfbSessionLivesReplyFollowsOriginalRouting = "the sfb session lives: the reply follows its original routing",
    SfbSessionExpiredReplyNewConversation = "the sfb session expired: the reply is a new conversation",
    NoSfbSessionNewConversation = "no sfb session: a new conversation",
    // R7
    PresenceClientNewConversationLands = "presence of the client a new conversation lands on",
    // R6, R9
    UserHasNoPhoneService = "the user has no phone service",
    UserOwnCallingClientReplacesPolicy = "the user's own calling client replaces the policy's",
    LegacyPolicyPSTNCallsLandCallingDefaultClient = "legacy policy: PSTN calls land by CallingDefaultClient",
    TeamsOnlyPSTNCallsLandTeams = "TeamsOnly: PSTN calls land in teams",
    IslandsSfbStarPSTNCallsLandSfb = "Islands and SfB*: PSTN calls land in sfb",
    HybridVoiceUsersCannotReceivePSTNCalls = "Hybrid Voice users cannot receive PSTN calls in teams",
    HybridVoicePSTNCallsLandSfb = "Hybrid Voice: PSTN calls land in sfb",
    UserNotEnabledLandingClient = "the user is not enabled for the landing client",
    VoiceClientAllowsPhoneCalls = "voice on this client allows phone calls",
    CallsLandReceiverCallingDefaultClient = "calls land by the receiver's CallingDefaultClient",
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

impl serde::Serialize for Note {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text())
    }
}
