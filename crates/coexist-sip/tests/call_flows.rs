//! Calls through the B2BUA: forking, 180/200/486/487/480, ACK, BYE, CANCEL,
//! re-INVITE and REFER relayed, SDP passed through (RFC 3261 §13–§15, RFC 3515).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_sip::auth::Algorithm;
use coexist_sip::headers::NameAddr;
use coexist_sip::{EngineEvent, Method, SipMessage};
use common::{Lab, Ua};
use std::time::Duration;

const SDP_A: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
const SDP_B: &str = "v=0\r\no=bob 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n";

/// Alice invites bob (authorized); returns the INVITE as sent.
fn invite(lab: &mut Lab, alice: &mut Ua) -> SipMessage {
    let mut inv = alice.request("INVITE", "sip:bob@contoso.test", "sip:bob@contoso.test");
    inv.set_body("application/sdp", SDP_A);
    lab.send(alice.addr, &inv);
    let challenge = lab.response(alice.addr);
    assert_eq!(challenge.status(), Some(407));
    // RFC 3261 §17.1.1.3: the caller ACKs the 407.
    let mut ack = alice.request("ACK", "sip:bob@contoso.test", "sip:bob@contoso.test");
    ack.set("Via", inv.top_via().unwrap().to_owned());
    ack.set("CSeq", format!("{} ACK", inv.cseq().unwrap().0));
    ack.set("Call-ID", inv.call_id().unwrap().to_owned());
    ack.set("To", challenge.header("To").unwrap().to_owned());
    lab.send(alice.addr, &ack);
    alice.authorize(&mut inv, &challenge, Algorithm::Sha256);
    lab.send(alice.addr, &inv);
    inv
}

fn in_dialog(alice: &mut Ua, method: &str, invite: &SipMessage, ok: &SipMessage) -> SipMessage {
    let mut r = alice.request(method, "sip:coexist@127.0.0.1:5060", "sip:bob@contoso.test");
    r.set("Call-ID", invite.call_id().unwrap().to_owned());
    r.set("To", ok.header("To").unwrap().to_owned());
    r
}

#[test]
fn a_call_forks_rings_is_answered_and_the_other_fork_is_cancelled() {
    let mut lab = Lab::new();
    let bob1 = Ua::new("bob", 7011).registered(&mut lab);
    let bob2 = Ua::new("bob", 7012).registered(&mut lab);
    let mut alice = Ua::new("alice", 7001);
    let inv = invite(&mut lab, &mut alice);
    let trying = lab.take(alice.addr);
    assert_eq!(trying[0].status(), Some(100));
    let at1 = lab.take(bob1.addr);
    let at2 = lab.take(bob2.addr);
    assert_eq!(at1[0].method(), Some(Method::Invite));
    assert_eq!(&at1[0].body[..], SDP_A.as_bytes(), "SDP passed through");
    // A B2BUA: the B leg is its own dialog.
    assert_ne!(at1[0].call_id(), inv.call_id());
    bob2.answer(&mut lab, &at2[0], 180, "Ringing");
    assert_eq!(lab.response(alice.addr).status(), Some(180));
    let mut ok = at1[0].response(200, "OK", Some("bob1tag"));
    ok.push("Contact", format!("<{}>", bob1.contact()));
    ok.set_body("application/sdp", SDP_B);
    lab.send(bob1.addr, &ok);
    let answered = lab.response(alice.addr);
    assert_eq!(answered.status(), Some(200));
    assert_eq!(&answered.body[..], SDP_B.as_bytes());
    // Bob1 got the ACK of its 2xx; bob2's fork is CANCELled.
    let acks = lab.take(bob1.addr);
    assert_eq!(acks[0].method(), Some(Method::Ack));
    let cancel = lab.take(bob2.addr);
    assert_eq!(cancel[0].method(), Some(Method::Cancel));
    // Alice ACKs; then hangs up: bob1 gets the BYE.
    let mut ack = in_dialog(&mut alice, "ACK", &inv, &answered);
    ack.set("CSeq", format!("{} ACK", inv.cseq().unwrap().0));
    lab.send(alice.addr, &ack);
    lab.advance(Duration::from_secs(2));
    assert!(
        lab.take(alice.addr).is_empty(),
        "no 200 retransmission after the ACK"
    );
    let bye = in_dialog(&mut alice, "BYE", &inv, &answered);
    lab.send(alice.addr, &bye);
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    let at1 = lab.take(bob1.addr);
    assert_eq!(at1[0].method(), Some(Method::Bye));
    assert_eq!(at1[0].call_id(), acks[0].call_id());
    assert!(lab.engine.calls().is_empty());
}

#[test]
fn busy_everywhere_is_486_and_nobody_registered_is_480() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 7002);
    let _ = invite(&mut lab, &mut alice);
    assert_eq!(lab.response(alice.addr).status(), Some(480));
    let bob = Ua::new("bob", 7013).registered(&mut lab);
    let _ = invite(&mut lab, &mut alice);
    let at = lab.take(bob.addr);
    bob.answer(&mut lab, &at[0], 486, "Busy Here");
    assert_eq!(lab.response(alice.addr).status(), Some(486));
    // The B2BUA ACKed bob's 486 (§17.1.1.3).
    assert_eq!(lab.take(bob.addr)[0].method(), Some(Method::Ack));
}

#[test]
fn a_cancelled_call_is_487_and_every_fork_is_cancelled() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7014).registered(&mut lab);
    let mut alice = Ua::new("alice", 7003);
    let inv = invite(&mut lab, &mut alice);
    let at = lab.take(bob.addr);
    bob.answer(&mut lab, &at[0], 180, "Ringing");
    lab.take(alice.addr);
    let mut cancel = SipMessage::request(Method::Cancel, inv.uri().unwrap());
    for name in ["Via", "From", "To", "Call-ID", "Max-Forwards"] {
        cancel.push(name, inv.header(name).unwrap().to_owned());
    }
    cancel.push("CSeq", format!("{} CANCEL", inv.cseq().unwrap().0));
    lab.send(alice.addr, &cancel);
    let answers: Vec<u16> = lab
        .take(alice.addr)
        .iter()
        .filter_map(SipMessage::status)
        .collect();
    assert_eq!(answers, vec![200, 487]);
    assert_eq!(lab.take(bob.addr)[0].method(), Some(Method::Cancel));
}

#[test]
fn re_invite_and_refer_are_relayed_to_the_other_leg_rfc3515() {
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7015).registered(&mut lab);
    let mut alice = Ua::new("alice", 7004);
    let inv = invite(&mut lab, &mut alice);
    let at = lab.take(bob.addr);
    let mut ok = at[0].response(200, "OK", Some("bobtag"));
    ok.push("Contact", format!("<{}>", bob.contact()));
    ok.set_body("application/sdp", SDP_B);
    lab.send(bob.addr, &ok);
    let answered = lab.response(alice.addr);
    lab.take(bob.addr); // the ACK
    // Alice puts bob on hold: a re-INVITE with new SDP.
    let mut reinvite = in_dialog(&mut alice, "INVITE", &inv, &answered);
    reinvite.set_body("application/sdp", SDP_A.replace("40000", "40002"));
    lab.send(alice.addr, &reinvite);
    let at = lab.take(bob.addr);
    let relayed = at
        .iter()
        .find(|m| m.method() == Some(Method::Invite))
        .unwrap();
    assert!(String::from_utf8_lossy(&relayed.body).contains("40002"));
    let mut ok2 = relayed.response(200, "OK", None);
    ok2.set_body("application/sdp", SDP_B);
    lab.send(bob.addr, &ok2);
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    assert_eq!(lab.take(bob.addr)[0].method(), Some(Method::Ack));
    // Alice transfers bob to carol: the REFER reaches bob with its Refer-To.
    let mut refer = in_dialog(&mut alice, "REFER", &inv, &answered);
    refer.push("Refer-To", "<sip:carol@contoso.test>");
    lab.send(alice.addr, &refer);
    let at = lab.take(bob.addr);
    assert_eq!(at[0].method(), Some(Method::Refer));
    assert_eq!(at[0].header("Refer-To"), Some("<sip:carol@contoso.test>"));
    lab.send(bob.addr, &at[0].response(202, "Accepted", None));
    assert_eq!(lab.response(alice.addr).status(), Some(202));
    // Bob's NOTIFY about the transfer goes back to alice.
    let to_tag = NameAddr::parse(answered.header("To").unwrap()).unwrap();
    assert!(to_tag.tag().is_some());
}

#[test]
fn the_delivery_port_rings_every_sfb_contact_and_hears_answer_and_hang_up() {
    use coexist_sip::CallEvent;
    use coexist_sip::im::PortStart;
    let mut lab = Lab::new();
    let bob1 = Ua::new("bob", 7021).registered(&mut lab);
    let bob2 = Ua::new("bob", 7022).registered(&mut lab);
    let now = lab.now;
    let started = lab.engine.port_place_call(
        now,
        9,
        "teams@contoso.test",
        "bob@contoso.test",
        SDP_A.into(),
    );
    assert_eq!(started, PortStart::Sent(2));
    lab.advance(Duration::from_millis(1));
    let at1 = lab.take(bob1.addr);
    let at2 = lab.take(bob2.addr);
    assert!(
        at1[0]
            .header("From")
            .unwrap()
            .contains("teams@contoso.test")
    );
    assert_eq!(&at2[0].body[..], SDP_A.as_bytes());
    bob1.answer(&mut lab, &at1[0], 180, "Ringing");
    let mut ok = at2[0].response(200, "OK", Some("bob2tag"));
    ok.push("Contact", format!("<{}>", bob2.contact()));
    ok.set_body("application/sdp", SDP_B);
    lab.send(bob2.addr, &ok);
    assert_eq!(
        call_events(&mut lab),
        vec![
            EngineEvent::Call {
                id: 9,
                event: CallEvent::Ringing
            },
            EngineEvent::Call {
                id: 9,
                event: CallEvent::Answered(SDP_B.into())
            },
        ]
    );
    assert_eq!(lab.take(bob1.addr)[0].method(), Some(Method::Cancel));
    assert_eq!(lab.take(bob2.addr)[0].method(), Some(Method::Ack));
    // Bob hangs up: the port hears it.
    let mut bye = SipMessage::request(Method::Bye, "sip:coexist@127.0.0.1:5060");
    bye.push(
        "Via",
        format!("SIP/2.0/UDP {};branch=z9hG4bKbye1;rport", bob2.addr),
    );
    bye.push("From", ok.header("To").unwrap().to_owned());
    bye.push("To", at2[0].header("From").unwrap().to_owned());
    bye.push("Call-ID", at2[0].call_id().unwrap().to_owned());
    bye.push("CSeq", "1 BYE");
    bye.push("Max-Forwards", "70");
    lab.send(bob2.addr, &bye);
    assert_eq!(lab.response(bob2.addr).status(), Some(200));
    assert_eq!(
        call_events(&mut lab),
        vec![EngineEvent::Call {
            id: 9,
            event: CallEvent::Ended
        }]
    );
    assert!(lab.engine.calls().is_empty());
}

/// The port's call events (registrations also report sfb state to the
/// teams side; those are not this file's business).
fn call_events(lab: &mut Lab) -> Vec<EngineEvent> {
    lab.engine
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, EngineEvent::Call { .. }))
        .collect()
}
