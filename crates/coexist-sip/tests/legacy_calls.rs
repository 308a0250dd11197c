//! Sans-IO: an INVITE from an sfb client to a user whose legacy
//! TeamsInteropPolicy decides their calls lands by R9.1's "sfb" row, or by
//! their own calling client when the policy allows it (R9.2); chats to
//! them follow R3 (R9.3), and so do calls to users in any other mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_policy::legacy::built_in_interop_policy;
use coexist_policy::{Client, LegacyCalling, Mode};
use coexist_sip::auth::Algorithm;
use coexist_sip::{EngineEvent, Method, SipMessage};
use common::{Lab, Ua};
use std::sync::atomic::{AtomicU16, Ordering};

const SDP: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
const BOB: &str = "bob@contoso.test";
/// The built-in legacy policies: CallingDefaultClient Teams, SfB, and
/// Default with the end-user override allowed.
const CALLING_TEAMS: &str = "DisallowOverrideCallingTeamsChatTeams";
const CALLING_SFB: &str = "DisallowOverrideCallingSfbChatSfb";
const CALLING_ALLOW: &str = "AllowOverrideCallingDefaultChatTeams";

fn legacy(policy: &str, user_choice: Option<Client>) -> Option<LegacyCalling> {
    Some(LegacyCalling {
        policy: built_in_interop_policy(policy).unwrap(),
        user_choice,
    })
}

/// `ua` sends `method` to `uri` with its digest (after the 407).
fn send(lab: &mut Lab, ua: &mut Ua, method: &str, uri: &str, body: (&str, &str)) {
    let mut request = ua.request(method, uri, uri);
    request.set_body(body.0, body.1.to_owned());
    lab.send(ua.addr, &request);
    let challenge = lab.response(ua.addr);
    assert_eq!(challenge.status(), Some(407));
    ua.authorize(&mut request, &challenge, Algorithm::Sha256);
    lab.send(ua.addr, &request);
}

/// Where alice's INVITE to `uri` went: `Some(Client::Teams)` when the teams
/// side was asked to ring bob, `Some(Client::Sfb)` when bob's sfb contact
/// got it; `None` when neither did.
fn alice_calls(lab: &mut Lab, bob: &Ua, uri: &str) -> Option<Client> {
    // A new port each time: a new Call-ID, not a retransmission.
    static PORT: AtomicU16 = AtomicU16::new(7120);
    let mut alice = Ua::new("alice", PORT.fetch_add(1, Ordering::Relaxed));
    send(lab, &mut alice, "INVITE", uri, ("application/sdp", SDP));
    let to_teams: Vec<EngineEvent> = lab
        .engine
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, EngineEvent::TeamsCall { .. }))
        .collect();
    let at_sfb: Vec<SipMessage> = lab
        .take(bob.addr)
        .into_iter()
        .filter(|m| m.method() == Some(Method::Invite))
        .collect();
    lab.take(alice.addr);
    match (&to_teams[..], &at_sfb[..]) {
        ([EngineEvent::TeamsCall { to, pstn, .. }], []) => {
            assert_eq!((to.as_str(), *pstn), (BOB, false));
            Some(Client::Teams)
        }
        ([], [_]) => Some(Client::Sfb),
        ([], []) => None,
        _ => panic!("both sides rang: {to_teams:?} {at_sfb:?}"),
    }
}

/// Where alice's call to bob lands once bob holds `policy` and made
/// `choice` (R9.2).
fn calls_under(lab: &mut Lab, bob: &Ua, policy: &str, choice: Option<Client>) -> Option<Client> {
    lab.directory.set_legacy(BOB, legacy(policy, choice));
    alice_calls(lab, bob, "sip:bob@contoso.test")
}

#[test]
fn r9_1_an_sfb_call_to_a_calling_teams_user_rings_their_teams_client() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7111).registered(&mut lab);
    // R3 (1a): Islands on sfb → Islands lands on sfb.
    assert_eq!(
        alice_calls(&mut lab, &bob, "sip:bob@contoso.test"),
        Some(Client::Sfb)
    );
    assert_eq!(
        calls_under(&mut lab, &bob, CALLING_TEAMS, None),
        Some(Client::Teams),
        "R9.1: CallingDefaultClient Teams, caller on sfb → teams"
    );
    // CallingDefaultClient SfB (or Default) from sfb: sfb.
    assert_eq!(
        calls_under(&mut lab, &bob, CALLING_SFB, None),
        Some(Client::Sfb)
    );
}

#[test]
fn r9_1_a_colleagues_number_is_the_colleague_and_lands_by_their_policy() {
    let mut lab = Lab::new();
    lab.directory.set_number(BOB, "+14255550120");
    let bob = Ua::new("bob", 7112).registered(&mut lab);
    lab.directory.set_legacy(BOB, legacy(CALLING_TEAMS, None));
    assert_eq!(
        alice_calls(&mut lab, &bob, "sip:+14255550120@contoso.test;user=phone"),
        Some(Client::Teams)
    );
}

#[test]
fn r9_2_the_callees_own_calling_client_replaces_the_default_when_allowed() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7113).registered(&mut lab);
    assert_eq!(
        calls_under(&mut lab, &bob, CALLING_ALLOW, None),
        Some(Client::Sfb),
        "Default, caller on sfb → sfb"
    );
    assert_eq!(
        calls_under(&mut lab, &bob, CALLING_ALLOW, Some(Client::Teams)),
        Some(Client::Teams),
        "R9.2: bob chose teams"
    );
    // A policy without the override ignores a choice.
    assert_eq!(
        calls_under(&mut lab, &bob, CALLING_SFB, Some(Client::Teams)),
        Some(Client::Sfb)
    );
}

#[test]
fn r9_3_chats_to_a_legacy_user_and_calls_to_other_modes_follow_r3() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7114).registered(&mut lab);
    lab.directory.set_legacy(BOB, legacy(CALLING_TEAMS, None));
    // A MESSAGE is a chat: R3 (1a) lands it on bob's sfb client.
    let mut alice = Ua::new("alice", 7102);
    send(
        &mut lab,
        &mut alice,
        "MESSAGE",
        "sip:bob@contoso.test",
        ("text/plain", "hi"),
    );
    let at_bob = lab.take(bob.addr);
    assert_eq!(at_bob.len(), 1, "{at_bob:?}");
    assert_eq!(at_bob[0].method(), Some(Method::Message));
    assert!(
        lab.engine
            .take_events()
            .iter()
            .all(|e| !matches!(e, EngineEvent::TeamsMessage { .. }))
    );
    // The legacy policy decides only while bob is in Islands (R1.1).
    lab.directory.set_mode(BOB, Mode::SfBWithTeamsCollab);
    assert_eq!(
        alice_calls(&mut lab, &bob, "sip:bob@contoso.test"),
        Some(Client::Sfb)
    );
}
