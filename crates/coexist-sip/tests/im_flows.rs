//! Pager-mode MESSAGE (RFC 3428) through the engine, routed by R2.1, R3 and
//! the R4.3 sfb session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_policy::Mode;
use coexist_sip::{EngineEvent, Method, SipMessage, TeamsAnswer};
use common::{Lab, Ua};
use std::time::Duration;

fn message(from: &mut Ua, to: &str, text: &str) -> SipMessage {
    let mut m = from.request("MESSAGE", &format!("sip:{to}"), &format!("sip:{to}"));
    m.set_body("text/plain", text.to_owned());
    m
}

#[test]
fn a_message_needs_credentials_407_rfc3428() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 6001);
    let m = message(&mut alice, "bob@contoso.test", "hi");
    lab.send(alice.addr, &m);
    let challenge = lab.response(alice.addr);
    assert_eq!(challenge.status(), Some(407));
    assert_eq!(challenge.header_values("Proxy-Authenticate").len(), 2);
}

#[test]
fn a_message_reaches_every_contact_and_200_when_one_accepts() {
    let mut lab = Lab::new();
    let bob1 = Ua::new("bob", 6011).registered(&mut lab);
    let bob2 = Ua::new("bob", 6012).registered(&mut lab);
    let mut alice = Ua::new("alice", 6001);
    let m = message(&mut alice, "bob@contoso.test", "hello bob");
    lab.send(alice.addr, &m);
    let challenge = lab.response(alice.addr);
    let mut m = m;
    alice.authorize(&mut m, &challenge, coexist_sip::auth::Algorithm::Sha256);
    lab.send(alice.addr, &m);
    let at1 = lab.take(bob1.addr);
    let at2 = lab.take(bob2.addr);
    assert_eq!((at1.len(), at2.len()), (1, 1));
    assert_eq!(at1[0].method(), Some(Method::Message));
    assert_eq!(&at1[0].body[..], b"hello bob");
    assert!(
        at1[0]
            .header("From")
            .unwrap()
            .contains("alice@contoso.test")
    );
    // Nothing yet for alice: one contact says 486, the other 200.
    bob1.answer(&mut lab, &at1[0], 486, "Busy Here");
    assert!(lab.take(alice.addr).is_empty());
    bob2.answer(&mut lab, &at2[0], 200, "OK");
    assert_eq!(lab.response(alice.addr).status(), Some(200));
}

#[test]
fn a_message_to_someone_not_registered_is_480() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 6002);
    let m = message(&mut alice, "bob@contoso.test", "anyone?");
    assert_eq!(alice.send_authorized(&mut lab, m).status(), Some(480));
}

#[test]
fn a_message_to_an_unknown_user_is_404() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 6003);
    let m = message(&mut alice, "nobody@contoso.test", "?");
    assert_eq!(alice.send_authorized(&mut lab, m).status(), Some(404));
}

#[test]
fn when_no_contact_answers_the_sender_gets_480_after_timer_f() {
    let mut lab = Lab::new();
    let _bob = Ua::new("bob", 6013).registered(&mut lab);
    let mut alice = Ua::new("alice", 6004);
    let m = message(&mut alice, "bob@contoso.test", "silence");
    lab.send(alice.addr, &m);
    let challenge = lab.response(alice.addr);
    let mut m = m;
    alice.authorize(&mut m, &challenge, coexist_sip::auth::Algorithm::Md5);
    lab.send(alice.addr, &m);
    lab.advance(Duration::from_secs(33));
    let answers: Vec<u16> = lab
        .take(alice.addr)
        .iter()
        .filter_map(SipMessage::status)
        .collect();
    assert_eq!(answers, vec![480]);
    // Bob's contact saw the MESSAGE retransmitted over UDP (Timer E).
    assert!(lab.take("127.0.0.1:6013".parse().unwrap()).len() > 5);
}

#[test]
fn a_teams_only_user_on_sfb_is_refused_with_a_warning_r2_1() {
    let mut lab = Lab::new();
    let _bob = Ua::new("bob", 6014).registered(&mut lab);
    lab.directory
        .set_mode("alice@contoso.test", Mode::TeamsOnly);
    let mut alice = Ua::new("alice", 6005);
    let m = message(&mut alice, "bob@contoso.test", "from the wrong client");
    let refused = alice.send_authorized(&mut lab, m);
    assert_eq!(refused.status(), Some(403));
    let warning = refused.header("Warning").unwrap();
    assert!(
        warning.starts_with("399 coexist \"ClientDisabledByMode (R2.1): "),
        "{warning}"
    );
}

#[test]
fn a_message_to_a_teams_only_user_lands_on_teams_not_on_their_sfb_r3_1() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 6015).registered(&mut lab);
    lab.directory.set_mode("bob@contoso.test", Mode::TeamsOnly);
    let mut alice = Ua::new("alice", 6006);
    let m = message(&mut alice, "bob@contoso.test", "where are you");
    let id = handed_to_teams(&mut lab, &mut alice, m, "where are you");
    assert!(lab.take(bob.addr).is_empty(), "bob's sfb must not ring");
    // Durable in teams: the sender gets its 200 only now.
    lab.engine
        .teams_message_answered(lab.now, id, TeamsAnswer::Accepted);
    lab.advance(Duration::ZERO);
    assert_eq!(lab.response(alice.addr).status(), Some(200));
}

#[test]
fn a_teams_side_refusal_reaches_the_sfb_sender_with_its_warning_r3_1() {
    let mut lab = Lab::new();
    lab.directory.set_mode("bob@contoso.test", Mode::TeamsOnly);
    let mut alice = Ua::new("alice", 6018);
    let m = message(&mut alice, "bob@contoso.test", "hello");
    let id = handed_to_teams(&mut lab, &mut alice, m, "hello");
    let warning = "399 coexist \"ThreadDisabled (R4.2): no\"".to_owned();
    lab.engine.teams_message_answered(
        lab.now,
        id,
        TeamsAnswer::Refused {
            status: 403,
            reason: "Forbidden".into(),
            warning: Some(warning.clone()),
        },
    );
    lab.advance(Duration::ZERO);
    let answer = lab.response(alice.addr);
    assert_eq!(answer.status(), Some(403));
    assert_eq!(answer.header("Warning"), Some(warning.as_str()));
    // An answer for an id already answered changes nothing.
    lab.engine
        .teams_message_answered(lab.now, id, TeamsAnswer::Accepted);
    lab.advance(Duration::ZERO);
    assert!(lab.take(alice.addr).is_empty());
}

/// Sends `m` with its digest; the engine hands it to the teams side (one
/// `TeamsMessage` event carrying `text`) and has not answered yet.
fn handed_to_teams(lab: &mut Lab, ua: &mut Ua, m: SipMessage, text: &str) -> u64 {
    lab.send(ua.addr, &m);
    let challenge = lab.response(ua.addr);
    let mut m = m;
    ua.authorize(&mut m, &challenge, coexist_sip::auth::Algorithm::Sha256);
    lab.send(ua.addr, &m);
    assert!(
        lab.take(ua.addr).is_empty(),
        "no answer before the teams side's"
    );
    let handed: Vec<_> = lab
        .engine
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::TeamsMessage {
                id, from, to, body, ..
            } => Some((id, from, to, body)),
            _ => None,
        })
        .collect();
    assert_eq!(handed.len(), 1, "{handed:?}");
    let (id, from, to, body) = handed.into_iter().next().unwrap();
    assert_eq!(from, ua.upn);
    assert_eq!(to, "bob@contoso.test");
    assert_eq!(&body[..], text.as_bytes());
    id
}

#[test]
fn replies_follow_the_live_sfb_session_then_route_anew_after_it_expires_r4_3() {
    let mut lab = Lab::with_config(|c| c.session_idle = Duration::from_secs(20));
    let bob = Ua::new("bob", 6016).registered(&mut lab);
    let mut alice = Ua::new("alice", 6007);
    // A conversation starts on sfb.
    let m = message(&mut alice, "bob@contoso.test", "one");
    lab.send(alice.addr, &m);
    let ch = lab.response(alice.addr);
    let mut m = m;
    alice.authorize(&mut m, &ch, coexist_sip::auth::Algorithm::Sha256);
    lab.send(alice.addr, &m);
    let got = lab.take(bob.addr);
    bob.answer(&mut lab, &got[0], 200, "OK");
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    // Bob becomes TeamsOnly; within the session alice still reaches his sfb.
    lab.directory.set_mode("bob@contoso.test", Mode::TeamsOnly);
    lab.advance(Duration::from_secs(10));
    let m = message(&mut alice, "bob@contoso.test", "two");
    lab.send(alice.addr, &m);
    let ch = lab.response(alice.addr);
    let mut m = m;
    alice.authorize(&mut m, &ch, coexist_sip::auth::Algorithm::Sha256);
    lab.send(alice.addr, &m);
    let got = lab.take(bob.addr);
    assert_eq!(got.len(), 1, "the session routes to bob's sfb");
    bob.answer(&mut lab, &got[0], 200, "OK");
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    // 20 s of silence: the session is over; a new conversation lands on teams.
    lab.advance(Duration::from_secs(21));
    let m = message(&mut alice, "bob@contoso.test", "three");
    handed_to_teams(&mut lab, &mut alice, m, "three");
    assert!(lab.take(bob.addr).is_empty());
}

#[test]
fn a_retransmitted_message_is_answered_again_not_delivered_twice_rfc3261_17_2_2() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 6017).registered(&mut lab);
    let mut alice = Ua::new("alice", 6008);
    let m = message(&mut alice, "bob@contoso.test", "once");
    lab.send(alice.addr, &m);
    let ch = lab.response(alice.addr);
    let mut m = m;
    alice.authorize(&mut m, &ch, coexist_sip::auth::Algorithm::Sha256);
    lab.send(alice.addr, &m);
    let got = lab.take(bob.addr);
    bob.answer(&mut lab, &got[0], 200, "OK");
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    lab.send(alice.addr, &m);
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    assert!(lab.take(bob.addr).is_empty());
}
