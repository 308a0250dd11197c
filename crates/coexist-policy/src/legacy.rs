//! R9: the 2017 TeamsInteropPolicy of legacy tenants, and its conversion to
//! modes.

use crate::named::named_enum;
use crate::notes::Note;
use crate::refusal::{Refusal, RefusalCode};
use crate::routing::{NewConversation, check_originator, lands_if_possible, method_between, route};
use crate::rules::{RuleId, RuleTrail};
use crate::upgrade_policy::UpgradePolicy;
use crate::verdict::{Outcome, Verdict};
use crate::vocabulary::{Client, Homing, Method, Mode, Scope};

named_enum! {
    /// `ChatDefaultClient` / `CallingDefaultClient` values.
    pub enum DefaultClient as "default client" {
        Default = "Default",
        SfB = "SfB",
        Teams = "Teams",
    }
}

named_enum! {
    /// Where a call to a legacy-policy user comes from (R9.1 rows).
    pub enum LegacyCaller as "caller" {
        Sfb = "sfb",
        Teams = "teams",
        Pstn = "pstn",
        FederatedSfb = "federated-sfb",
    }
}

impl LegacyCaller {
    /// The R9.1 row of a call from a user's `client`: a caller from another
    /// tenant is the "federated sfb" row whatever client they use (a
    /// federated call travels the SfB pipeline, R3.1).
    pub const fn of(client: Client, scope: Scope) -> LegacyCaller {
        match (scope, client) {
            (Scope::Federated, _) => LegacyCaller::FederatedSfb,
            (Scope::InTenant, Client::Teams) => LegacyCaller::Teams,
            (Scope::InTenant, Client::Sfb) => LegacyCaller::Sfb,
        }
    }
}

/// A TeamsInteropPolicy's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InteropPolicy {
    /// Stored and shown, not used for routing (R9.3).
    pub chat_default_client: DefaultClient,
    /// Decides where calls land (R9.1).
    pub calling_default_client: DefaultClient,
    /// Whether the user may choose their calling client (R9.2).
    pub allow_end_user_client_override: bool,
}

/// The built-in instances, by name. The first is the global default.
pub const BUILT_IN_INTEROP_POLICIES: [(&str, InteropPolicy); 4] = [
    (
        "DisallowOverrideCallingDefaultChatDefault",
        InteropPolicy {
            chat_default_client: DefaultClient::Default,
            calling_default_client: DefaultClient::Default,
            allow_end_user_client_override: false,
        },
    ),
    (
        "DisallowOverrideCallingSfbChatSfb",
        InteropPolicy {
            chat_default_client: DefaultClient::SfB,
            calling_default_client: DefaultClient::SfB,
            allow_end_user_client_override: false,
        },
    ),
    (
        "DisallowOverrideCallingTeamsChatTeams",
        InteropPolicy {
            chat_default_client: DefaultClient::Teams,
            calling_default_client: DefaultClient::Teams,
            allow_end_user_client_override: false,
        },
    ),
    (
        "AllowOverrideCallingDefaultChatTeams",
        InteropPolicy {
            chat_default_client: DefaultClient::Teams,
            calling_default_client: DefaultClient::Default,
            allow_end_user_client_override: true,
        },
    ),
];

/// A built-in instance by name (case-insensitive).
pub fn built_in_interop_policy(name: &str) -> Option<InteropPolicy> {
    BUILT_IN_INTEROP_POLICIES
        .iter()
        .find(|(built_in, _)| built_in.eq_ignore_ascii_case(name.trim()))
        .map(|(_, policy)| *policy)
}

/// R9.2: the calling default in force for a user: their own choice when the
/// policy allows an override and they made one, else the policy's.
pub const fn effective_calling_default(
    policy: InteropPolicy,
    user_choice: Option<Client>,
) -> DefaultClient {
    match (policy.allow_end_user_client_override, user_choice) {
        (true, Some(Client::Teams)) => DefaultClient::Teams,
        (true, Some(Client::Sfb)) => DefaultClient::SfB,
        _ => policy.calling_default_client,
    }
}

/// R9.1: the table — where a call lands for a receiver whose calling
/// default is `calling_default`.
pub const fn legacy_call_lands(caller: LegacyCaller, calling_default: DefaultClient) -> Client {
    match (caller, calling_default) {
        (LegacyCaller::FederatedSfb, _) => Client::Sfb,
        (_, DefaultClient::Teams) => Client::Teams,
        (_, DefaultClient::SfB) => Client::Sfb,
        (LegacyCaller::Teams, DefaultClient::Default) => Client::Teams,
        (LegacyCaller::Sfb | LegacyCaller::Pstn, DefaultClient::Default) => Client::Sfb,
    }
}

/// R9.1 with R9.2: a call to a legacy-policy user, as a verdict.
pub fn route_legacy_call(
    caller: LegacyCaller,
    policy: InteropPolicy,
    user_choice: Option<Client>,
) -> Verdict {
    let calling_default = effective_calling_default(policy, user_choice);
    let mut trail = RuleTrail::new();
    if calling_default != policy.calling_default_client {
        trail.push(RuleId::R9_2, Note::UserOwnCallingClientReplacesPolicy);
    }
    let client = legacy_call_lands(caller, calling_default);
    trail.push(RuleId::R9_1, Note::CallsLandReceiverCallingDefaultClient);
    let method = match caller {
        LegacyCaller::Pstn => Method::Pstn,
        LegacyCaller::FederatedSfb => Method::Federated,
        LegacyCaller::Sfb => method_between(Client::Sfb, client, Scope::InTenant),
        LegacyCaller::Teams => method_between(Client::Teams, client, Scope::InTenant),
    };
    Verdict::lands(client, method, trail)
}

/// A legacy-policy user's calling setup (R9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacyCalling {
    /// The user's TeamsInteropPolicy.
    pub policy: InteropPolicy,
    /// The user's own calling client choice (R9.2), if they made one.
    pub user_choice: Option<Client>,
}

/// R3.6 with R9.1/R9.2: where a new call from one user to another lands.
/// The one decision for such calls: the teams side, the SIP edge and the
/// admin's explain view all ask it, so they cannot disagree.
///
/// A callee whose legacy TeamsInteropPolicy decides their calls (`legacy`,
/// while their mode is Islands: where `Legacy` users were converted, R1.1)
/// is reached where [`route_legacy_call`] says; the originator's checks
/// (R2.1, R2.2) and those of the landing (R3.2 interop from a teams user
/// homed onprem, R3.3, R3.4 federation, the callee's enablement) still
/// apply. Everyone else is routed by R3 (calls route like chats); chats
/// always are (R9.3).
pub fn route_call(conversation: &NewConversation, legacy: Option<LegacyCalling>) -> Verdict {
    let legacy = match legacy {
        Some(legacy) if matches!(conversation.to.mode, Mode::Islands) => legacy,
        _ => return route(conversation),
    };
    let mut trail = RuleTrail::new();
    if let Some(refused) = check_originator(&mut trail, conversation.from) {
        return refused;
    }
    let caller = LegacyCaller::of(conversation.from.client, conversation.reach.scope());
    let decided = route_legacy_call(caller, legacy.policy, legacy.user_choice);
    let Outcome::Lands { client, .. } = decided.outcome else {
        return decided;
    };
    for step in decided.trail.steps() {
        trail.push(step.rule, step.note);
    }
    lands_if_possible(trail, conversation, client)
}

/// The result of converting one legacy policy to a mode (R9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Conversion {
    /// The upgrade policy to grant, unless refused.
    pub policy: Option<UpgradePolicy>,
    /// A note for the admin when the conversion is a guess.
    pub warning: Option<&'static str>,
    /// Why it cannot be converted (R1.5).
    pub refusal: Option<Refusal>,
}

/// R9.4: CallingSfb/ChatSfb → SfBWithTeamsCollab; CallingTeams/ChatTeams →
/// TeamsOnly (homed online only, R1.5); Default/Default → Islands; anything
/// else → Islands with a warning. Callers present this as a dry run first.
pub const fn convert_legacy(policy: InteropPolicy, homing: Homing) -> Conversion {
    const fn ok(policy: UpgradePolicy) -> Conversion {
        Conversion {
            policy: Some(policy),
            warning: None,
            refusal: None,
        }
    }
    match (policy.calling_default_client, policy.chat_default_client) {
        (DefaultClient::SfB, DefaultClient::SfB) => ok(UpgradePolicy::SfBWithTeamsCollab),
        (DefaultClient::Teams, DefaultClient::Teams) => match homing {
            Homing::Online => ok(UpgradePolicy::UpgradeToTeams),
            Homing::OnPrem => Conversion {
                policy: None,
                warning: None,
                refusal: Some(Refusal::new(
                    RefusalCode::TeamsOnlyNeedsOnlineHoming,
                    RuleId::R1_5,
                )),
            },
        },
        (DefaultClient::Default, DefaultClient::Default) => ok(UpgradePolicy::Islands),
        _ => Conversion {
            policy: Some(UpgradePolicy::Islands),
            warning: Some(
                "R9.4: chat and calling default clients differ or are mixed; converted to Islands — review this user's mode",
            ),
            refusal: None,
        },
    }
}
