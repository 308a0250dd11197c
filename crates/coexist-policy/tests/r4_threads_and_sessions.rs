//! R4: existing threads (R4.1, R4.2) and sfb sessions (R4.3, R4.4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::matrix::table_conversation;
use coexist_policy::threads::{SFB_SESSION_IDLE_LIMIT, keeps_history};
use coexist_policy::{
    Client, Enablement, FederationStatus, Homing, Method, Mode, Reach, RefusalCode, RuleId, Scope,
    SfbSession, ThreadContinuation, ThreadParty, Topology, continue_thread, route_sfb_reply,
};
use std::time::Duration;

fn party(mode: Mode, client: Client) -> ThreadParty {
    ThreadParty {
        mode,
        homing: Homing::Online,
        enabled: Enablement::default(),
        client,
    }
}

fn thread(method: Method, sender: ThreadParty, recipient: ThreadParty) -> ThreadContinuation {
    ThreadContinuation {
        method,
        sender,
        recipient,
        reach: Reach::InTenant(Topology::Online),
    }
}

#[test]
fn r4_1_a_thread_keeps_its_method_while_it_is_possible() {
    // Interop thread from an Islands teams user to an SfBOnly user; the
    // recipient moves to Islands: sfb is still possible for them.
    let t = thread(
        Method::Interop,
        party(Mode::Islands, Client::Teams),
        party(Mode::Islands, Client::Sfb),
    );
    let v = continue_thread(&t);
    assert_eq!(
        (v.lands_on(), v.method()),
        (Some(Client::Sfb), Some(Method::Interop))
    );
    assert!(v.trail.contains(RuleId::R4_1));
    // A new conversation between the same two would now be native on teams:
    // the thread still goes the way fixed at creation.
    let fresh = coexist_policy::route(&table_conversation(
        Scope::InTenant,
        Mode::Islands,
        Client::Teams,
        Homing::Online,
        Mode::Islands,
    ));
    assert_eq!(fresh.method(), Some(Method::Native));
}

#[test]
fn r4_1_an_interop_thread_started_from_sfb_takes_replies_from_its_teams_member() {
    // Islands user on sfb wrote to a TeamsOnly user: a teams interop thread.
    let reply = thread(
        Method::Interop,
        party(Mode::TeamsOnly, Client::Teams),
        party(Mode::Islands, Client::Sfb),
    );
    assert_eq!(continue_thread(&reply).lands_on(), Some(Client::Sfb));
}

#[test]
fn r4_1_a_member_reached_by_another_method_cannot_join_the_thread() {
    use coexist_policy::threads::check_member_method;
    assert!(check_member_method(Method::Native, Method::Native).is_ok());
    let refusal = check_member_method(Method::Native, Method::Federated).unwrap_err();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::MethodWouldChange, RuleId::R4_1)
    );
    assert!(refusal.sentence().contains("start a new chat"));
}

#[test]
fn r4_2_an_interop_thread_to_a_user_who_became_teams_only_is_disabled() {
    let t = thread(
        Method::Interop,
        party(Mode::Islands, Client::Teams),
        party(Mode::TeamsOnly, Client::Sfb),
    );
    let v = continue_thread(&t);
    let refusal = v.refusal().unwrap();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::ThreadDisabled, RuleId::R4_2)
    );
    assert!(refusal.sentence().contains("start a new thread"));
}

#[test]
fn r4_2_inferred_a_native_thread_to_a_user_who_moved_to_sfb_star_is_disabled() {
    for mode in [
        Mode::SfBOnly,
        Mode::SfBWithTeamsCollab,
        Mode::SfBWithTeamsCollabAndMeetings,
    ] {
        let t = thread(
            Method::Native,
            party(Mode::Islands, Client::Teams),
            party(mode, Client::Teams),
        );
        assert_eq!(
            continue_thread(&t).refusal().unwrap().code,
            RefusalCode::ThreadDisabled,
            "{mode}"
        );
    }
}

#[test]
fn r4_2_a_thread_is_disabled_when_its_gates_close() {
    // The sender's own mode no longer allows teams.
    let t = thread(
        Method::Native,
        party(Mode::SfBOnly, Client::Teams),
        party(Mode::Islands, Client::Teams),
    );
    assert!(!continue_thread(&t).is_possible());
    // The tenant became purely onprem: no more interop.
    let mut t = thread(
        Method::Interop,
        party(Mode::TeamsOnly, Client::Teams),
        party(Mode::SfBOnly, Client::Sfb),
    );
    t.reach = Reach::InTenant(Topology::OnPrem);
    assert!(continue_thread(&t).trail.contains(RuleId::R3_3));
    // Federation was switched off.
    let mut t = thread(
        Method::Federated,
        party(Mode::TeamsOnly, Client::Teams),
        party(Mode::Islands, Client::Sfb),
    );
    t.reach = Reach::Federated(FederationStatus::NotAllowed(
        coexist_policy::Note::FederationSettingsForbid,
    ));
    assert_eq!(
        continue_thread(&t).refusal().unwrap().code,
        RefusalCode::ThreadDisabled
    );
    t.reach = Reach::Federated(FederationStatus::Allowed);
    assert_eq!(continue_thread(&t).method(), Some(Method::Federated));
    // The teams party was moved onprem: interop closes (R3.2).
    let mut t = thread(
        Method::Interop,
        party(Mode::Islands, Client::Teams),
        party(Mode::SfBOnly, Client::Sfb),
    );
    t.sender.homing = Homing::OnPrem;
    assert!(continue_thread(&t).trail.contains(RuleId::R3_2));
}

fn session(last_traffic_secs: u64) -> SfbSession {
    SfbSession {
        last_traffic: Duration::from_secs(last_traffic_secs),
        reply_lands_on: Client::Teams,
        method: Method::Interop,
    }
}

#[test]
fn r4_3_a_reply_within_ten_minutes_follows_the_original_routing() {
    assert_eq!(SFB_SESSION_IDLE_LIMIT, Duration::from_secs(600));
    // SfBOnly user replying to an Islands teams user's interop message.
    let as_new = table_conversation(
        Scope::InTenant,
        Mode::SfBOnly,
        Client::Sfb,
        Homing::Online,
        Mode::Islands,
    );
    let s = session(1000);
    let v = route_sfb_reply(
        Some(&s),
        Duration::from_secs(1000 + 599),
        SFB_SESSION_IDLE_LIMIT,
        &as_new,
    );
    assert_eq!(
        (v.lands_on(), v.method()),
        (Some(Client::Teams), Some(Method::Interop))
    );
    assert!(v.trail.contains(RuleId::R4_3));
    assert_eq!(
        s.expires_at(SFB_SESSION_IDLE_LIMIT),
        Duration::from_secs(1600)
    );
}

#[test]
fn r4_3_after_expiry_a_reply_is_a_new_conversation_from_sfb() {
    let as_new = table_conversation(
        Scope::InTenant,
        Mode::SfBOnly,
        Client::Sfb,
        Homing::Online,
        Mode::Islands,
    );
    let s = session(1000);
    let v = route_sfb_reply(
        Some(&s),
        Duration::from_secs(1600),
        SFB_SESSION_IDLE_LIMIT,
        &as_new,
    );
    assert_eq!(
        (v.lands_on(), v.method()),
        (Some(Client::Sfb), Some(Method::Native))
    );
    assert_eq!(v.trail.steps()[0].rule, RuleId::R4_3);
    assert!(v.trail.contains(RuleId::R3_1));
    // Unless the remote is TeamsOnly.
    let to_teams_only = table_conversation(
        Scope::InTenant,
        Mode::SfBOnly,
        Client::Sfb,
        Homing::Online,
        Mode::TeamsOnly,
    );
    let v = route_sfb_reply(None, Duration::ZERO, SFB_SESSION_IDLE_LIMIT, &to_teams_only);
    assert_eq!(v.lands_on(), Some(Client::Teams));
    // The limit is configurable (tests use seconds).
    assert!(!s.is_live(Duration::from_secs(1003), Duration::from_secs(3)));
    assert!(s.is_live(Duration::from_secs(1002), Duration::from_secs(3)));
}

#[test]
fn r4_4_teams_keeps_history_and_sfb_does_not() {
    assert!(keeps_history(Client::Teams));
    assert!(!keeps_history(Client::Sfb));
}
