//! R6: the phone network — inbound calls to a number, outbound calls, and
//! the SfB IP phones that stop ringing.

pub use crate::legacy::LegacyCalling;
use crate::legacy::{DefaultClient, LegacyCaller, effective_calling_default, legacy_call_lands};
use crate::mode_capabilities::mode_allows_client;
use crate::notes::Note;
use crate::refusal::{Refusal, RefusalCode};
use crate::rules::{RuleId, RuleTrail};
use crate::verdict::Verdict;
use crate::vocabulary::{Client, Enablement, Homing, Method, Mode, Voice};

/// The user a phone number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PstnCallee {
    /// Effective mode.
    pub mode: Mode,
    /// Homing.
    pub homing: Homing,
    /// Phone setup.
    pub voice: Voice,
    /// Enablement.
    pub enabled: Enablement,
    /// A legacy interop policy. It decides calls only while the user is in
    /// Islands (where `Legacy` users were converted, R1.1); a user in any
    /// other mode is routed by the mode.
    pub legacy: Option<LegacyCalling>,
}

/// R6.1, R6.2 (and R9.1/R9.2 for legacy-policy users): where an inbound
/// PSTN call to `callee`'s number lands.
pub fn route_pstn_inbound(callee: &PstnCallee) -> Verdict {
    let mut trail = RuleTrail::new();
    if matches!(callee.voice, Voice::None) {
        return Verdict::refused(
            RefusalCode::NoVoice,
            RuleId::R6_4,
            Note::UserHasNoPhoneService,
            trail,
        );
    }
    let client = match (callee.mode, callee.legacy) {
        (Mode::Islands, Some(legacy)) => {
            let calling = effective_calling_default(legacy.policy, legacy.user_choice);
            if calling != legacy.policy.calling_default_client {
                trail.push(RuleId::R9_2, Note::UserOwnCallingClientReplacesPolicy);
            }
            trail.push(
                RuleId::R9_1,
                Note::LegacyPolicyPSTNCallsLandCallingDefaultClient,
            );
            legacy_call_lands(LegacyCaller::Pstn, calling)
        }
        (Mode::TeamsOnly, _) => {
            trail.push(RuleId::R6_1, Note::TeamsOnlyPSTNCallsLandTeams);
            Client::Teams
        }
        (_, _) => {
            trail.push(RuleId::R6_1, Note::IslandsSfbStarPSTNCallsLandSfb);
            Client::Sfb
        }
    };
    let client = match (callee.voice, client) {
        (Voice::Hybrid, Client::Teams) => {
            return Verdict::refused(
                RefusalCode::UnreachableFromPstn,
                RuleId::R6_2,
                Note::HybridVoiceUsersCannotReceivePSTNCalls,
                trail,
            );
        }
        (Voice::Hybrid, Client::Sfb) => {
            trail.push(RuleId::R6_2, Note::HybridVoicePSTNCallsLandSfb);
            Client::Sfb
        }
        (_, client) => client,
    };
    if !callee.enabled.allows(client, callee.homing) {
        return Verdict::refused(
            RefusalCode::RecipientClientNotEnabled,
            RuleId::R2_2,
            Note::UserNotEnabledLandingClient,
            trail,
        );
    }
    Verdict::lands(client, Method::Pstn, trail)
}

/// Who places a call to a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PstnCaller {
    /// Effective mode.
    pub mode: Mode,
    /// The client used.
    pub client: Client,
    /// Phone setup.
    pub voice: Voice,
}

/// R6.4 **(inferred)**: from teams only for a TeamsOnly user with online
/// voice; from sfb for a user with voice (online or hybrid) whose mode lets
/// sfb place calls; a user with no voice cannot call numbers at all.
pub const fn check_pstn_outbound(caller: PstnCaller) -> Result<RuleTrail, Refusal> {
    let allowed = match (caller.voice, caller.client) {
        (Voice::None, _) => return Err(Refusal::new(RefusalCode::NoVoice, RuleId::R6_4)),
        (Voice::Online, Client::Teams) => matches!(caller.mode, Mode::TeamsOnly),
        (_, Client::Sfb) => mode_allows_client(caller.mode, Client::Sfb),
        (Voice::Hybrid, Client::Teams) => false,
    };
    if allowed {
        Ok(RuleTrail::new().with(RuleId::R6_4, Note::VoiceClientAllowsPhoneCalls))
    } else {
        Err(Refusal::new(RefusalCode::NoPstnOnThisClient, RuleId::R6_4))
    }
}

/// R6.3: whether calls for a user land in teams (all of them: TeamsOnly, or a
/// legacy-policy Islands user whose calling default is Teams), so that the
/// user's SfB IP phones no longer ring.
pub const fn calls_land_in_teams(mode: Mode, legacy_calling: Option<DefaultClient>) -> bool {
    matches!(
        (mode, legacy_calling),
        (Mode::TeamsOnly, _) | (Mode::Islands, Some(DefaultClient::Teams))
    )
}
