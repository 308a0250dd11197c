//! The built-in TeamsUpgradePolicy instances (R1.2), effective mode (R1.3),
//! NotifySfbUsers (R1.4) and grant validation (R1.5).

use crate::named::named_enum;
use crate::refusal::{Refusal, RefusalCode};
use crate::rules::RuleId;
use crate::vocabulary::{Homing, Mode};

named_enum! {
    /// A built-in, read-only upgrade policy instance (R1.2), granted by name.
    pub enum UpgradePolicy as "upgrade policy" {
        Islands = "Islands",
        IslandsWithNotify = "IslandsWithNotify",
        SfBOnly = "SfBOnly",
        SfBOnlyWithNotify = "SfBOnlyWithNotify",
        SfBWithTeamsCollab = "SfBWithTeamsCollab",
        SfBWithTeamsCollabWithNotify = "SfBWithTeamsCollabWithNotify",
        SfBWithTeamsCollabAndMeetings = "SfBWithTeamsCollabAndMeetings",
        SfBWithTeamsCollabAndMeetingsWithNotify = "SfBWithTeamsCollabAndMeetingsWithNotify",
        /// Mode TeamsOnly; there is no TeamsOnly-with-notify.
        UpgradeToTeams = "UpgradeToTeams",
    }
}

impl UpgradePolicy {
    /// The mode this instance sets.
    pub const fn mode(self) -> Mode {
        match self {
            UpgradePolicy::Islands | UpgradePolicy::IslandsWithNotify => Mode::Islands,
            UpgradePolicy::SfBOnly | UpgradePolicy::SfBOnlyWithNotify => Mode::SfBOnly,
            UpgradePolicy::SfBWithTeamsCollab | UpgradePolicy::SfBWithTeamsCollabWithNotify => {
                Mode::SfBWithTeamsCollab
            }
            UpgradePolicy::SfBWithTeamsCollabAndMeetings
            | UpgradePolicy::SfBWithTeamsCollabAndMeetingsWithNotify => {
                Mode::SfBWithTeamsCollabAndMeetings
            }
            UpgradePolicy::UpgradeToTeams => Mode::TeamsOnly,
        }
    }

    /// R1.4: `NotifySfbUsers=true` — the user's sfb client is told that
    /// Teams will replace it.
    pub const fn notify_sfb_users(self) -> bool {
        matches!(
            self,
            UpgradePolicy::IslandsWithNotify
                | UpgradePolicy::SfBOnlyWithNotify
                | UpgradePolicy::SfBWithTeamsCollabWithNotify
                | UpgradePolicy::SfBWithTeamsCollabAndMeetingsWithNotify
        )
    }

    /// The instance without notification that sets `mode`.
    pub const fn for_mode(mode: Mode) -> UpgradePolicy {
        match mode {
            Mode::Islands => UpgradePolicy::Islands,
            Mode::SfBOnly => UpgradePolicy::SfBOnly,
            Mode::SfBWithTeamsCollab => UpgradePolicy::SfBWithTeamsCollab,
            Mode::SfBWithTeamsCollabAndMeetings => UpgradePolicy::SfBWithTeamsCollabAndMeetings,
            Mode::TeamsOnly => UpgradePolicy::UpgradeToTeams,
        }
    }
}

/// Where a user's effective policy came from (R1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantSource {
    /// The user's own grant.
    User,
    /// The tenant-wide (`Global`) grant.
    Tenant,
    /// Neither: the default, Islands.
    Default,
}

/// The result of R1.3 for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EffectivePolicy {
    /// The policy in force (`Islands` when nothing is granted).
    pub policy: UpgradePolicy,
    /// Where it came from.
    pub source: GrantSource,
}

impl EffectivePolicy {
    /// The mode in force.
    pub const fn mode(self) -> Mode {
        self.policy.mode()
    }
}

/// R1.3: the user's own grant, else the tenant-wide grant, else Islands.
pub const fn effective_policy(
    user_grant: Option<UpgradePolicy>,
    tenant_grant: Option<UpgradePolicy>,
) -> EffectivePolicy {
    match (user_grant, tenant_grant) {
        (Some(policy), _) => EffectivePolicy {
            policy,
            source: GrantSource::User,
        },
        (None, Some(policy)) => EffectivePolicy {
            policy,
            source: GrantSource::Tenant,
        },
        (None, None) => EffectivePolicy {
            policy: UpgradePolicy::Islands,
            source: GrantSource::Default,
        },
    }
}

/// R1.5: may `policy` be granted to one user with this homing?
/// `UpgradeToTeams` needs the user homed online first.
pub const fn validate_user_grant(policy: UpgradePolicy, homing: Homing) -> Result<(), Refusal> {
    match (policy.mode(), homing) {
        (Mode::TeamsOnly, Homing::OnPrem) => Err(Refusal::new(
            RefusalCode::TeamsOnlyNeedsOnlineHoming,
            RuleId::R1_5,
        )),
        _ => Ok(()),
    }
}

/// R1.5 for the tenant-wide slot: a TeamsOnly grant is refused while any
/// user of the tenant is homed onprem. On refusal, returns those users (in
/// the order given) so the error can name them.
pub fn validate_tenant_grant<'a, I>(policy: UpgradePolicy, users: I) -> Result<(), Vec<&'a str>>
where
    I: IntoIterator<Item = (&'a str, Homing)>,
{
    if policy.mode() != Mode::TeamsOnly {
        return Ok(());
    }
    let onprem: Vec<&str> = users
        .into_iter()
        .filter(|(_, homing)| *homing == Homing::OnPrem)
        .map(|(upn, _)| upn)
        .collect();
    if onprem.is_empty() {
        Ok(())
    } else {
        Err(onprem)
    }
}
