//! R6 PSTN, R8 lint and R9 legacy policy rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::legacy::{
    BUILT_IN_INTEROP_POLICIES, built_in_interop_policy, convert_legacy, effective_calling_default,
    route_legacy_call,
};
use coexist_policy::lint::{LintUser, Severity, lint};
use coexist_policy::pstn::{
    LegacyCalling, PstnCallee, PstnCaller, calls_land_in_teams, check_pstn_outbound,
    route_pstn_inbound,
};
use coexist_policy::{
    Client, DefaultClient, Enablement, Homing, InteropPolicy, LegacyCaller, Method, Mode,
    RefusalCode, RuleId, UpgradePolicy, Voice,
};

fn callee(mode: Mode, voice: Voice) -> PstnCallee {
    PstnCallee {
        mode,
        homing: Homing::Online,
        voice,
        enabled: Enablement::default(),
        legacy: None,
    }
}

const TEAMS_TEAMS: InteropPolicy = InteropPolicy {
    chat_default_client: DefaultClient::Teams,
    calling_default_client: DefaultClient::Teams,
    allow_end_user_client_override: false,
};

#[test]
fn r6_1_inbound_pstn_calls_land_by_mode() {
    let lands = |mode| route_pstn_inbound(&callee(mode, Voice::Online)).lands_on();
    assert_eq!(lands(Mode::TeamsOnly), Some(Client::Teams));
    assert_eq!(lands(Mode::SfBOnly), Some(Client::Sfb));
    assert_eq!(
        lands(Mode::SfBWithTeamsCollabAndMeetings),
        Some(Client::Sfb)
    );
    assert_eq!(lands(Mode::Islands), Some(Client::Sfb));
    let v = route_pstn_inbound(&callee(Mode::TeamsOnly, Voice::Online));
    assert_eq!(v.method(), Some(Method::Pstn));
    assert!(v.trail.contains(RuleId::R6_1));
}

#[test]
fn r6_2_hybrid_voice_lands_in_sfb_and_teams_only_with_hybrid_voice_is_unreachable() {
    let v = route_pstn_inbound(&callee(Mode::Islands, Voice::Hybrid));
    assert_eq!(v.lands_on(), Some(Client::Sfb));
    assert!(v.trail.contains(RuleId::R6_2));
    let refusal = route_pstn_inbound(&callee(Mode::TeamsOnly, Voice::Hybrid))
        .refusal()
        .unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::UnreachableFromPstn, RuleId::R6_2)
    );
}

#[test]
fn r6_3_ip_phones_stop_ringing_when_calls_land_in_teams() {
    assert!(calls_land_in_teams(Mode::TeamsOnly, None));
    assert!(calls_land_in_teams(
        Mode::Islands,
        Some(DefaultClient::Teams)
    ));
    assert!(!calls_land_in_teams(Mode::Islands, None));
    assert!(
        !calls_land_in_teams(Mode::SfBOnly, Some(DefaultClient::Teams)),
        "modes win outside Islands"
    );
}

#[test]
fn r6_4_outbound_pstn_from_teams_needs_teams_only_with_online_voice() {
    let caller = |mode, client, voice| {
        check_pstn_outbound(PstnCaller {
            mode,
            client,
            voice,
        })
    };
    assert!(caller(Mode::TeamsOnly, Client::Teams, Voice::Online).is_ok());
    assert_eq!(
        caller(Mode::Islands, Client::Teams, Voice::Online)
            .unwrap_err()
            .code,
        RefusalCode::NoPstnOnThisClient
    );
    assert_eq!(
        caller(Mode::TeamsOnly, Client::Teams, Voice::Hybrid)
            .unwrap_err()
            .code,
        RefusalCode::NoPstnOnThisClient
    );
    assert!(caller(Mode::SfBOnly, Client::Sfb, Voice::Hybrid).is_ok());
    assert!(caller(Mode::Islands, Client::Sfb, Voice::Online).is_ok());
    assert_eq!(
        caller(Mode::TeamsOnly, Client::Sfb, Voice::Online)
            .unwrap_err()
            .code,
        RefusalCode::NoPstnOnThisClient
    );
    let refusal = caller(Mode::TeamsOnly, Client::Teams, Voice::None).unwrap_err();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::NoVoice, RuleId::R6_4)
    );
    assert_eq!(
        route_pstn_inbound(&callee(Mode::TeamsOnly, Voice::None))
            .refusal()
            .unwrap()
            .code,
        RefusalCode::NoVoice
    );
}

fn user(upn: &str, mode: Mode, homing: Homing) -> LintUser {
    LintUser {
        upn: upn.into(),
        mode,
        homing,
        voice: Voice::None,
        legacy: None,
        specialized_workflow: false,
        ip_phones: 0,
    }
}

fn finding_users(users: &[LintUser], rule: RuleId) -> Vec<String> {
    lint(users)
        .into_iter()
        .filter(|f| f.rule == rule)
        .flat_map(|f| f.users)
        .collect()
}

#[test]
fn r8_1_onprem_users_set_to_teams_are_errors() {
    let mut legacy = user("legacy@x.test", Mode::Islands, Homing::OnPrem);
    legacy.legacy = Some(InteropPolicy {
        chat_default_client: DefaultClient::Teams,
        ..built_in_interop_policy("DisallowOverrideCallingDefaultChatDefault").unwrap()
    });
    let users = [
        user("t@x.test", Mode::TeamsOnly, Homing::OnPrem),
        legacy,
        user("ok@x.test", Mode::TeamsOnly, Homing::Online),
    ];
    assert_eq!(
        finding_users(&users, RuleId::R8_1),
        ["t@x.test", "legacy@x.test"]
    );
    assert_eq!(lint(&users)[0].severity, Severity::Error);
}

#[test]
fn r8_2_hybrid_voice_users_whose_calls_land_in_teams_are_errors() {
    let mut hv = user("hv@x.test", Mode::TeamsOnly, Homing::Online);
    hv.voice = Voice::Hybrid;
    let mut fine = user("fine@x.test", Mode::SfBOnly, Homing::Online);
    fine.voice = Voice::Hybrid;
    assert_eq!(finding_users(&[hv, fine], RuleId::R8_2), ["hv@x.test"]);
}

#[test]
fn r8_3_onprem_islands_users_mixed_with_sfb_only_users_warn() {
    let users = [
        user("i@x.test", Mode::Islands, Homing::OnPrem),
        user("s@x.test", Mode::SfBOnly, Homing::Online),
    ];
    let findings = lint(&users);
    let f = findings.iter().find(|f| f.rule == RuleId::R8_3).unwrap();
    assert_eq!(
        (f.severity, f.users.clone(), f.related.clone()),
        (
            Severity::Warning,
            vec!["i@x.test".to_string()],
            vec!["s@x.test".to_string()]
        )
    );
    assert!(
        finding_users(
            &[user("i@x.test", Mode::Islands, Homing::OnPrem)],
            RuleId::R8_3
        )
        .is_empty()
    );
}

#[test]
fn r8_4_legacy_policies_with_different_chat_and_calling_clients_warn() {
    let mut u = user("u@x.test", Mode::Islands, Homing::Online);
    u.legacy = built_in_interop_policy("AllowOverrideCallingDefaultChatTeams");
    let mut same = user("same@x.test", Mode::Islands, Homing::Online);
    same.legacy = Some(TEAMS_TEAMS);
    assert_eq!(finding_users(&[u, same], RuleId::R8_4), ["u@x.test"]);
}

#[test]
fn r8_5_specialised_workflow_users_not_in_sfb_star_warn() {
    let mut a = user("a@x.test", Mode::Islands, Homing::Online);
    a.specialized_workflow = true;
    let mut b = user("b@x.test", Mode::SfBWithTeamsCollab, Homing::Online);
    b.specialized_workflow = true;
    assert_eq!(finding_users(&[a, b], RuleId::R8_5), ["a@x.test"]);
}

#[test]
fn r8_6_ip_phones_that_will_stop_ringing_warn() {
    let mut a = user("a@x.test", Mode::TeamsOnly, Homing::Online);
    a.ip_phones = 2;
    let mut b = user("b@x.test", Mode::Islands, Homing::Online);
    b.ip_phones = 1;
    assert_eq!(finding_users(&[a, b], RuleId::R8_6), ["a@x.test"]);
    assert!(lint(&[]).is_empty());
}

#[test]
fn r9_1_legacy_calls_land_by_calling_default_client_as_verdicts() {
    let v = route_legacy_call(LegacyCaller::Sfb, TEAMS_TEAMS, None);
    assert_eq!(
        (v.lands_on(), v.method()),
        (Some(Client::Teams), Some(Method::Interop))
    );
    assert!(v.trail.contains(RuleId::R9_1));
    let v = route_legacy_call(LegacyCaller::FederatedSfb, TEAMS_TEAMS, None);
    assert_eq!(
        (v.lands_on(), v.method()),
        (Some(Client::Sfb), Some(Method::Federated))
    );
    assert_eq!(
        BUILT_IN_INTEROP_POLICIES[0].0,
        "DisallowOverrideCallingDefaultChatDefault"
    );
}

#[test]
fn r9_2_an_end_user_override_replaces_the_calling_default_only_when_allowed() {
    let allow = built_in_interop_policy("allowoverridecallingdefaultchatteams").unwrap();
    assert_eq!(
        effective_calling_default(allow, Some(Client::Teams)),
        DefaultClient::Teams
    );
    assert_eq!(
        effective_calling_default(allow, None),
        DefaultClient::Default
    );
    assert_eq!(
        effective_calling_default(TEAMS_TEAMS, Some(Client::Sfb)),
        DefaultClient::Teams
    );
    let v = route_legacy_call(LegacyCaller::Pstn, allow, Some(Client::Teams));
    assert_eq!(v.lands_on(), Some(Client::Teams));
    assert!(v.trail.contains(RuleId::R9_2));
    let mut c = callee(Mode::Islands, Voice::Online);
    c.legacy = Some(LegacyCalling {
        policy: allow,
        user_choice: Some(Client::Teams),
    });
    let v = route_pstn_inbound(&c);
    assert_eq!(v.lands_on(), Some(Client::Teams));
    assert!(v.trail.contains(RuleId::R9_2) && v.trail.contains(RuleId::R9_1));
}

#[test]
fn r9_3_chat_default_client_does_not_route_chats() {
    // Two policies that differ only in ChatDefaultClient route calls the same.
    let chat_teams = InteropPolicy {
        chat_default_client: DefaultClient::Teams,
        ..built_in_interop_policy("DisallowOverrideCallingSfbChatSfb").unwrap()
    };
    let chat_sfb = built_in_interop_policy("DisallowOverrideCallingSfbChatSfb").unwrap();
    for caller in LegacyCaller::ALL {
        assert_eq!(
            route_legacy_call(*caller, chat_teams, None),
            route_legacy_call(*caller, chat_sfb, None)
        );
    }
    // Chats of a legacy user follow R3 as Islands: the legacy mode converts to Islands.
    assert_eq!(Mode::parse_import("Legacy").unwrap().0, Mode::Islands);
}

#[test]
fn r9_4_legacy_policies_convert_to_modes() {
    let by_name = |name| built_in_interop_policy(name).unwrap();
    assert_eq!(
        convert_legacy(by_name("DisallowOverrideCallingSfbChatSfb"), Homing::Online).policy,
        Some(UpgradePolicy::SfBWithTeamsCollab)
    );
    assert_eq!(
        convert_legacy(TEAMS_TEAMS, Homing::Online).policy,
        Some(UpgradePolicy::UpgradeToTeams)
    );
    let refused = convert_legacy(TEAMS_TEAMS, Homing::OnPrem);
    assert_eq!(
        (refused.policy, refused.refusal.unwrap().rule),
        (None, RuleId::R1_5)
    );
    assert_eq!(
        convert_legacy(
            by_name("DisallowOverrideCallingDefaultChatDefault"),
            Homing::Online
        )
        .policy,
        Some(UpgradePolicy::Islands)
    );
    let mixed = convert_legacy(
        by_name("AllowOverrideCallingDefaultChatTeams"),
        Homing::Online,
    );
    assert_eq!(mixed.policy, Some(UpgradePolicy::Islands));
    assert!(mixed.warning.is_some());
}
