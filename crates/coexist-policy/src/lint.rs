//! R8: what an admin is warned about before it bites, over a snapshot of a
//! tenant (the real one, or one with proposed changes applied: a dry run).

use crate::legacy::{DefaultClient, InteropPolicy};
use crate::pstn::calls_land_in_teams;
use crate::rules::RuleId;
use crate::vocabulary::{Homing, Mode, Voice};

/// One user as lint sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintUser {
    /// The user's UPN.
    pub upn: String,
    /// Effective mode (R1.3).
    pub mode: Mode,
    /// Homing.
    pub homing: Homing,
    /// Phone setup.
    pub voice: Voice,
    /// A legacy interop policy, if one is assigned.
    pub legacy: Option<InteropPolicy>,
    /// Flagged as relying on specialised SfB workflows.
    pub specialized_workflow: bool,
    /// How many of the user's sfb registrations are IP phones (R6.3).
    pub ip_phones: u32,
}

impl LintUser {
    /// The legacy policy in force: only while the user is in Islands, where
    /// legacy users were converted (R1.1); modes decide for everyone else.
    fn legacy_in_force(&self) -> Option<InteropPolicy> {
        match self.mode {
            Mode::Islands => self.legacy,
            _ => None,
        }
    }

    fn calls_land_in_teams(&self) -> bool {
        calls_land_in_teams(
            self.mode,
            self.legacy_in_force().map(|p| p.calling_default_client),
        )
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Users will be unreachable.
    Error,
    /// Worth a look.
    Warning,
}

/// One lint finding, naming the users it concerns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The rule.
    pub rule: RuleId,
    /// A stable code for scripts.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The users concerned.
    pub users: Vec<String>,
    /// Other users involved (e.g. those that become unreachable, R8.3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
}

/// R8: every finding for a tenant's users, errors first, then by rule.
pub fn lint(users: &[LintUser]) -> Vec<Finding> {
    let select = |keep: &dyn Fn(&LintUser) -> bool| -> Vec<String> {
        users
            .iter()
            .filter(|u| keep(u))
            .map(|u| u.upn.clone())
            .collect()
    };
    let mut findings = Vec::new();
    let mut add = |severity, rule, code, message: String, users: Vec<String>, related| {
        if !users.is_empty() {
            findings.push(Finding {
                severity,
                rule,
                code,
                message,
                users,
                related,
            });
        }
    };

    let teams_default = |p: InteropPolicy| {
        p.chat_default_client == DefaultClient::Teams
            || p.calling_default_client == DefaultClient::Teams
    };
    add(
        Severity::Error,
        RuleId::R8_1,
        "OnPremUserSetToTeams",
        "users homed onprem are set to Teams (TeamsOnly, or a legacy policy with Teams as a default client): they are unable to receive chats and calls; move them online first".into(),
        select(&|u| {
            u.homing == Homing::OnPrem
                && (u.mode == Mode::TeamsOnly || u.legacy_in_force().is_some_and(teams_default))
        }),
        Vec::new(),
    );
    add(
        Severity::Error,
        RuleId::R8_2,
        "HybridVoiceCallsLandInTeams",
        "users with Hybrid Voice would get their calls in teams, where they cannot receive PSTN calls (R6.2): they are unreachable from the phone network".into(),
        select(&|u| u.voice == Voice::Hybrid && u.calls_land_in_teams()),
        Vec::new(),
    );
    let onprem_islands = select(&|u| u.mode == Mode::Islands && u.homing == Homing::OnPrem);
    let sfb_star = select(&|u| u.mode.is_sfb_star());
    if !sfb_star.is_empty() {
        // RULES.md names SfBOnly; table 1b makes every SfB* user unreachable
        // from these users' teams client, so all SfB* users are listed.
        add(
            Severity::Warning,
            RuleId::R8_3,
            "OnPremIslandsCannotReachSfbUsers",
            format!(
                "{} Islands users homed onprem cannot reach the {} SfB* users from their teams client (table 1b); consider SfBWithTeamsCollab for them",
                onprem_islands.len(),
                sfb_star.len()
            ),
            onprem_islands,
            sfb_star,
        );
    }
    add(
        Severity::Warning,
        RuleId::R8_4,
        "LegacyDefaultsDiffer",
        "users with a legacy interop policy whose ChatDefaultClient and CallingDefaultClient differ: chats and calls from one person land in different clients".into(),
        select(&|u| {
            u.legacy_in_force()
                .is_some_and(|p| p.chat_default_client != p.calling_default_client)
        }),
        Vec::new(),
    );
    add(
        Severity::Warning,
        RuleId::R8_5,
        "SpecializedWorkflowNotInSfbMode",
        "users flagged with specialised SfB workflows are not in an SfB* mode".into(),
        select(&|u| u.specialized_workflow && !u.mode.is_sfb_star()),
        Vec::new(),
    );
    add(
        Severity::Warning,
        RuleId::R8_6,
        "IpPhonesWillStopRinging",
        "these users' calls land in teams, so their SfB IP phones will no longer ring (R6.3)"
            .into(),
        select(&|u| u.ip_phones > 0 && u.calls_land_in_teams()),
        Vec::new(),
    );
    findings.sort_by_key(|f| (f.severity, f.rule));
    findings
}
