//! R1: modes, built-in upgrade policies, effective mode, notify, grants.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::upgrade_policy::{validate_tenant_grant, validate_user_grant};
use coexist_policy::{
    GrantSource, Homing, Mode, RefusalCode, RuleId, UpgradePolicy, effective_policy,
};

#[test]
fn r1_1_modes_parse_case_insensitively_and_unknown_ones_list_the_valid_values() {
    assert_eq!("teamsonly".parse::<Mode>().unwrap(), Mode::TeamsOnly);
    assert_eq!(
        " SFBWITHTEAMSCOLLAB ".parse::<Mode>().unwrap(),
        Mode::SfBWithTeamsCollab
    );
    let error = "Hybrid".parse::<Mode>().unwrap_err();
    let message = error.to_string();
    for mode in Mode::NAMES {
        assert!(message.contains(mode), "{message} lists {mode}");
    }
    assert_eq!(Mode::default(), Mode::Islands);
}

#[test]
fn r1_1_legacy_is_accepted_on_import_only_and_becomes_islands_with_a_note() {
    assert!(
        "Legacy".parse::<Mode>().is_err(),
        "not a mode outside imports"
    );
    let (mode, note) = Mode::parse_import("legacy").unwrap();
    assert_eq!(mode, Mode::Islands);
    assert!(note.unwrap().contains("R1.1"));
    assert_eq!(
        Mode::parse_import("TeamsOnly").unwrap(),
        (Mode::TeamsOnly, None)
    );
}

#[test]
fn r1_2_built_in_policies_set_their_modes_and_there_is_no_teams_only_with_notify() {
    assert_eq!(UpgradePolicy::ALL.len(), 9);
    assert_eq!(UpgradePolicy::UpgradeToTeams.mode(), Mode::TeamsOnly);
    assert_eq!(
        "sfbwithteamscollabandmeetingswithnotify"
            .parse::<UpgradePolicy>()
            .unwrap()
            .mode(),
        Mode::SfBWithTeamsCollabAndMeetings
    );
    assert!("TeamsOnlyWithNotify".parse::<UpgradePolicy>().is_err());
    for mode in Mode::ALL {
        assert_eq!(UpgradePolicy::for_mode(*mode).mode(), *mode);
    }
}

#[test]
fn r1_3_effective_mode_is_the_user_grant_else_the_tenant_grant_else_islands() {
    let user = Some(UpgradePolicy::SfBOnly);
    let tenant = Some(UpgradePolicy::UpgradeToTeams);
    let both = effective_policy(user, tenant);
    assert_eq!(
        (both.mode(), both.source),
        (Mode::SfBOnly, GrantSource::User)
    );
    let tenant_only = effective_policy(None, tenant);
    assert_eq!(
        (tenant_only.mode(), tenant_only.source),
        (Mode::TeamsOnly, GrantSource::Tenant)
    );
    let neither = effective_policy(None, None);
    assert_eq!(
        (neither.mode(), neither.source),
        (Mode::Islands, GrantSource::Default)
    );
}

#[test]
fn r1_4_with_notify_policies_tell_the_sfb_client() {
    let notifying: Vec<_> = UpgradePolicy::ALL
        .iter()
        .filter(|p| p.notify_sfb_users())
        .map(|p| p.as_str())
        .collect();
    assert_eq!(notifying.len(), 4);
    assert!(notifying.iter().all(|name| name.ends_with("WithNotify")));
    assert!(!UpgradePolicy::UpgradeToTeams.notify_sfb_users());
}

#[test]
fn r1_5_upgrade_to_teams_is_refused_for_a_user_homed_onprem() {
    let refusal = validate_user_grant(UpgradePolicy::UpgradeToTeams, Homing::OnPrem).unwrap_err();
    assert_eq!(refusal.code, RefusalCode::TeamsOnlyNeedsOnlineHoming);
    assert_eq!(refusal.rule, RuleId::R1_5);
    assert!(validate_user_grant(UpgradePolicy::UpgradeToTeams, Homing::Online).is_ok());
    assert!(validate_user_grant(UpgradePolicy::SfBOnly, Homing::OnPrem).is_ok());
}

#[test]
fn r1_5_a_tenant_wide_teams_only_grant_is_refused_naming_the_onprem_users() {
    let users = [
        ("a@contoso.test", Homing::Online),
        ("b@contoso.test", Homing::OnPrem),
        ("c@contoso.test", Homing::OnPrem),
    ];
    assert_eq!(
        validate_tenant_grant(UpgradePolicy::UpgradeToTeams, users).unwrap_err(),
        vec!["b@contoso.test", "c@contoso.test"]
    );
    assert!(validate_tenant_grant(UpgradePolicy::Islands, users).is_ok());
    assert!(
        validate_tenant_grant(
            UpgradePolicy::UpgradeToTeams,
            [("a@x.test", Homing::Online)]
        )
        .is_ok()
    );
}
