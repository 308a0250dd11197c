//! R2 and R3 beyond the table cells: refusals, topology, federation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::matrix::table_conversation;
use coexist_policy::mode_capabilities::{mode_allows_client, mode_capabilities};
use coexist_policy::{
    Client, Cloud, Enablement, FederationSettings, FederationSide, FederationStatus, Homing,
    Method, Mode, NewConversation, Reach, RefusalCode, RuleId, Scope, Topology, check_federation,
    route,
};

fn conversation(from: (Mode, Client, Homing), to: Mode, reach: Reach) -> NewConversation {
    let mut c = table_conversation(Scope::InTenant, from.0, from.1, from.2, to);
    c.reach = reach;
    c
}

#[test]
fn r2_each_mode_allows_chat_and_calls_on_the_clients_of_the_table() {
    assert!(mode_allows_client(Mode::Islands, Client::Teams));
    assert!(mode_allows_client(Mode::Islands, Client::Sfb));
    for mode in [
        Mode::SfBOnly,
        Mode::SfBWithTeamsCollab,
        Mode::SfBWithTeamsCollabAndMeetings,
    ] {
        assert!(!mode_allows_client(mode, Client::Teams), "{mode}");
        assert!(mode_allows_client(mode, Client::Sfb), "{mode}");
    }
    assert!(mode_allows_client(Mode::TeamsOnly, Client::Teams));
    assert!(!mode_allows_client(Mode::TeamsOnly, Client::Sfb));
    assert!(!mode_capabilities(Mode::SfBOnly).teams_and_channels);
    assert!(mode_capabilities(Mode::SfBWithTeamsCollab).teams_and_channels);
    assert!(
        mode_capabilities(Mode::SfBWithTeamsCollabAndMeetings)
            .meeting_scheduling
            .teams
    );
    assert!(
        !mode_capabilities(Mode::SfBWithTeamsCollab)
            .meeting_scheduling
            .teams
    );
    assert_eq!(
        mode_capabilities(Mode::TeamsOnly).presence_shown,
        Some(Client::Teams)
    );
    assert_eq!(mode_capabilities(Mode::Islands).presence_shown, None);
}

#[test]
fn r2_1_an_sfb_star_originator_on_teams_is_refused_client_disabled_by_mode() {
    for mode in [
        Mode::SfBOnly,
        Mode::SfBWithTeamsCollab,
        Mode::SfBWithTeamsCollabAndMeetings,
    ] {
        for to in Mode::ALL {
            let v = route(&conversation(
                (mode, Client::Teams, Homing::Online),
                *to,
                Reach::InTenant(Topology::Online),
            ));
            let refusal = v.refusal().unwrap();
            assert_eq!(
                (refusal.code, refusal.rule),
                (RefusalCode::ClientDisabledByMode, RuleId::R2_1)
            );
            assert!(v.trail.contains(RuleId::R3_5));
        }
    }
}

#[test]
fn r2_2_an_originator_not_enabled_for_the_client_is_refused() {
    let mut c = conversation(
        (Mode::Islands, Client::Teams, Homing::Online),
        Mode::Islands,
        Reach::InTenant(Topology::Online),
    );
    c.from.enabled = Enablement {
        teams: false,
        sfb: true,
    };
    assert_eq!(
        route(&c).refusal().unwrap().code,
        RefusalCode::ClientNotEnabled
    );
    // An onprem-homed user uses sfb through the onprem server whatever the online flag says.
    let mut c = conversation(
        (Mode::Islands, Client::Sfb, Homing::OnPrem),
        Mode::Islands,
        Reach::InTenant(Topology::Hybrid),
    );
    c.from.enabled = Enablement {
        teams: true,
        sfb: false,
    };
    assert!(route(&c).is_possible());
}

#[test]
fn r3_1_recipient_mode_picks_the_client_and_federated_islands_always_get_sfb() {
    let from = (Mode::Islands, Client::Teams, Homing::Online);
    let in_tenant = route(&conversation(
        from,
        Mode::Islands,
        Reach::InTenant(Topology::Online),
    ));
    assert_eq!(
        (in_tenant.lands_on(), in_tenant.method()),
        (Some(Client::Teams), Some(Method::Native))
    );
    let federated = route(&conversation(
        from,
        Mode::Islands,
        Reach::Federated(FederationStatus::Allowed),
    ));
    assert_eq!(
        (federated.lands_on(), federated.method()),
        (Some(Client::Sfb), Some(Method::Federated))
    );
    assert_eq!(
        federated.trail.steps()[0].note.text(),
        "recipient is Islands and federated: always sfb"
    );
}

#[test]
fn r3_2_a_teams_originator_homed_onprem_cannot_interop_but_teams_to_teams_works() {
    let from = (Mode::Islands, Client::Teams, Homing::OnPrem);
    let interop = route(&conversation(
        from,
        Mode::SfBWithTeamsCollab,
        Reach::InTenant(Topology::Hybrid),
    ));
    assert_eq!(
        interop.refusal().unwrap().code,
        RefusalCode::OriginatorHomedOnPrem
    );
    assert_eq!(interop.refusal().unwrap().rule, RuleId::R3_2);
    let native = route(&conversation(
        from,
        Mode::TeamsOnly,
        Reach::InTenant(Topology::Hybrid),
    ));
    assert_eq!(native.method(), Some(Method::Native));
    assert!(native.trail.contains(RuleId::R3_2));
    let federated = route(&conversation(
        from,
        Mode::TeamsOnly,
        Reach::Federated(FederationStatus::Allowed),
    ));
    assert_eq!(
        federated.refusal().unwrap().code,
        RefusalCode::OriginatorHomedOnPrem
    );
}

#[test]
fn r3_3_a_purely_onprem_tenant_has_no_in_tenant_interop_but_native_works() {
    let onprem = Reach::InTenant(Topology::OnPrem);
    let interop = route(&conversation(
        (Mode::Islands, Client::Sfb, Homing::OnPrem),
        Mode::TeamsOnly,
        onprem,
    ));
    let refusal = interop.refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::TenantNotHybrid, RuleId::R3_3)
    );
    let native = route(&conversation(
        (Mode::Islands, Client::Sfb, Homing::OnPrem),
        Mode::SfBOnly,
        onprem,
    ));
    assert_eq!(native.method(), Some(Method::Native));
    for topology in [Topology::Online, Topology::Hybrid] {
        let v = route(&conversation(
            (Mode::Islands, Client::Sfb, Homing::Online),
            Mode::TeamsOnly,
            Reach::InTenant(topology),
        ));
        assert_eq!(v.method(), Some(Method::Interop), "{topology}");
    }
}

fn side<'a>(domain: &'a str, cloud: Cloud, settings: &'a FederationSettings) -> FederationSide<'a> {
    FederationSide {
        domain,
        cloud,
        settings,
    }
}

#[test]
fn r3_4_federation_needs_both_pipelines_and_the_domain_allowed_on_both_sides() {
    let open = FederationSettings::open();
    let a = |s| side("contoso.test", Cloud::Commercial, s);
    let b = |s| side("fabrikam.test", Cloud::Commercial, s);
    assert_eq!(
        check_federation(a(&open), b(&open)),
        FederationStatus::Allowed
    );

    let no_teams = FederationSettings {
        teams_federation: false,
        ..FederationSettings::open()
    };
    assert!(matches!(
        check_federation(a(&open), b(&no_teams)),
        FederationStatus::NotAllowed(_)
    ));
    let no_sfb = FederationSettings {
        sfb_federation: false,
        ..FederationSettings::open()
    };
    assert!(matches!(
        check_federation(a(&no_sfb), b(&open)),
        FederationStatus::NotAllowed(_)
    ));

    let allow_list = FederationSettings {
        allowed_domains: Some(vec!["FABRIKAM.test".into()]),
        ..FederationSettings::open()
    };
    assert_eq!(
        check_federation(a(&allow_list), b(&open)),
        FederationStatus::Allowed
    );
    assert!(matches!(
        check_federation(a(&allow_list), side("other.test", Cloud::Commercial, &open)),
        FederationStatus::NotAllowed(_)
    ));
    let block_list = FederationSettings {
        blocked_domains: vec!["contoso.test".into()],
        ..FederationSettings::open()
    };
    assert!(matches!(
        check_federation(a(&open), b(&block_list)),
        FederationStatus::NotAllowed(_)
    ));
    assert_eq!(
        check_federation(side("x.test", Cloud::Commercial, &open), b(&block_list)),
        FederationStatus::Allowed
    );
}

#[test]
fn r3_4_federation_across_cloud_instances_is_not_supported() {
    let open = FederationSettings::open();
    let status = check_federation(
        side("a.test", Cloud::GccHigh, &open),
        side("b.test", Cloud::Commercial, &open),
    );
    assert_eq!(status, FederationStatus::CrossCloud);
    // GCC lives in the multi-tenant instance.
    assert_eq!(
        check_federation(
            side("a.test", Cloud::Gcc, &open),
            side("b.test", Cloud::Commercial, &open)
        ),
        FederationStatus::Allowed
    );
    let from = (Mode::TeamsOnly, Client::Teams, Homing::Online);
    let v = route(&conversation(
        from,
        Mode::TeamsOnly,
        Reach::Federated(status),
    ));
    let refusal = v.refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::CrossCloudNotSupported, RuleId::R3_4)
    );
    let v = route(&conversation(
        from,
        Mode::TeamsOnly,
        Reach::Federated(FederationStatus::NotAllowed(
            coexist_policy::Note::FederationSettingsForbid,
        )),
    ));
    assert_eq!(v.refusal().unwrap().code, RefusalCode::FederationNotAllowed);
}

#[test]
fn r3_5_left_out_combinations_are_refused_and_teams_only_is_never_homed_onprem() {
    let v = route(&conversation(
        (Mode::TeamsOnly, Client::Sfb, Homing::Online),
        Mode::Islands,
        Reach::InTenant(Topology::Online),
    ));
    assert_eq!(v.refusal().unwrap().code, RefusalCode::ClientDisabledByMode);
    let v = route(&conversation(
        (Mode::TeamsOnly, Client::Teams, Homing::OnPrem),
        Mode::Islands,
        Reach::InTenant(Topology::Hybrid),
    ));
    let refusal = v.refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::TeamsOnlyHomedOnPrem, RuleId::R1_5)
    );
    assert!(v.trail.contains(RuleId::R3_5));
}

#[test]
fn r3_6_calls_route_exactly_like_chats_one_procedure_for_both() {
    // There is one routing procedure; a call is a NewConversation like a
    // chat. This pins that the verdict depends on nothing but the parties
    // and their relation: the same input gives the same verdict every time.
    let c = conversation(
        (Mode::Islands, Client::Sfb, Homing::Online),
        Mode::TeamsOnly,
        Reach::InTenant(Topology::Online),
    );
    assert_eq!(route(&c), route(&c));
    assert_eq!(route(&c).method(), Some(Method::Interop));
}

#[test]
fn r8_1_a_teams_only_recipient_homed_onprem_is_unable_to_receive() {
    let mut c = conversation(
        (Mode::Islands, Client::Teams, Homing::Online),
        Mode::TeamsOnly,
        Reach::InTenant(Topology::Hybrid),
    );
    c.to.homing = Homing::OnPrem;
    let refusal = route(&c).refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::TeamsOnlyHomedOnPrem, RuleId::R8_1)
    );
}

#[test]
fn r10_1_interop_needs_the_recipient_enabled_for_the_landing_client() {
    let mut c = conversation(
        (Mode::TeamsOnly, Client::Teams, Homing::Online),
        Mode::SfBOnly,
        Reach::InTenant(Topology::Online),
    );
    c.to.enabled = Enablement {
        teams: true,
        sfb: false,
    };
    let refusal = route(&c).refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::RecipientClientNotEnabled, RuleId::R10_1)
    );
    c.to.homing = Homing::OnPrem; // homed onprem in a hybrid tenant: reachable through the peer
    c.reach = Reach::InTenant(Topology::Hybrid);
    assert!(route(&c).is_possible());
}

#[test]
fn r10_2_topology_online_and_hybrid_allow_interop_onprem_does_not() {
    let names: Vec<_> = Topology::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, ["online", "hybrid", "onprem"]);
    let from = (Mode::TeamsOnly, Client::Teams, Homing::Online);
    let possible: Vec<bool> = Topology::ALL
        .iter()
        .map(|t| route(&conversation(from, Mode::SfBOnly, Reach::InTenant(*t))).is_possible())
        .collect();
    assert_eq!(possible, [true, true, false]);
}
