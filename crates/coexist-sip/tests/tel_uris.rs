//! Sans-IO: RFC 3966 `tel:` Request-URIs reach the phone-network code (R6)
//! like `sip:+…;user=phone` ones — from a PSTN gateway (R6.1) and from an
//! sfb client dialling out (R6.4) or a colleague's number (R3.6); other
//! unknown schemes stay 416.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_policy::Mode;
use coexist_sip::auth::Algorithm;
use coexist_sip::{EngineEvent, Method, SipMessage};
use common::{Lab, Ua};
use std::net::SocketAddr;

const SDP: &str = "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
const GATEWAY: &str = "127.0.0.1:7900";

fn gateway() -> SocketAddr {
    GATEWAY.parse().unwrap()
}

/// A lab whose tenant has a gateway, and bob has +14255550100.
fn lab_with_gateway(bob_mode: Mode) -> Lab {
    let mut lab = Lab::new();
    lab.directory.set_gateway("contoso.test", gateway());
    lab.directory.set_number("bob@contoso.test", "+14255550100");
    lab.directory.set_mode("bob@contoso.test", bob_mode);
    lab.advance(std::time::Duration::ZERO);
    lab
}

/// The gateway sends `INVITE uri` (no credentials: it is the gateway).
fn gateway_invite(lab: &mut Lab, uri: &str) -> Vec<SipMessage> {
    let mut gw = Ua::new("gw", gateway().port());
    let mut inv = gw.request("INVITE", uri, uri);
    inv.set("From", "<tel:+15550001>;tag=gw1");
    inv.set_body("application/sdp", SDP);
    lab.send(gateway(), &inv);
    lab.take(gateway())
}

/// `ua` sends `INVITE uri` with credentials; what came back to it.
fn user_invite(lab: &mut Lab, ua: &mut Ua, uri: &str) -> Vec<SipMessage> {
    let mut inv = ua.request("INVITE", uri, uri);
    inv.set_body("application/sdp", SDP);
    lab.send(ua.addr, &inv);
    let challenge = lab.response(ua.addr);
    assert_eq!(challenge.status(), Some(407), "{challenge:?}");
    ua.authorize(&mut inv, &challenge, Algorithm::Sha256);
    lab.send(ua.addr, &inv);
    lab.take(ua.addr)
}

/// The one call the engine handed to the teams side: (from, to, pstn).
fn the_teams_call(lab: &mut Lab) -> (String, String, bool) {
    let calls: Vec<(String, String, bool)> = lab
        .engine
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::TeamsCall { from, to, pstn, .. } => Some((from, to, pstn)),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    calls.into_iter().next().unwrap()
}

fn no_teams_call(lab: &mut Lab) -> bool {
    !lab.engine
        .take_events()
        .iter()
        .any(|e| matches!(e, EngineEvent::TeamsCall { .. }))
}

#[test]
fn r6_1_a_gateway_call_to_a_tel_uri_lands_on_teams_for_a_teams_only_user() {
    let mut lab = lab_with_gateway(Mode::TeamsOnly);
    let answers = gateway_invite(&mut lab, "tel:+1-425-555-0100");
    assert_eq!(answers[0].status(), Some(100), "{answers:?}");
    assert_eq!(
        the_teams_call(&mut lab),
        ("+15550001".into(), "bob@contoso.test".into(), true)
    );
}

#[test]
fn r6_1_a_gateway_call_to_a_tel_uri_rings_the_sfb_client_of_an_islands_user() {
    let mut lab = lab_with_gateway(Mode::Islands);
    let bob = Ua::new("bob", 7011).registered(&mut lab);
    let answers = gateway_invite(&mut lab, "tel:+14255550100");
    assert_eq!(answers[0].status(), Some(100), "{answers:?}");
    let ringing = lab.take(bob.addr);
    assert_eq!(ringing.len(), 1, "{ringing:?}");
    assert_eq!(ringing[0].method(), Some(Method::Invite));
    assert!(ringing[0].header("From").unwrap().contains("+15550001@"));
    assert!(no_teams_call(&mut lab));
}

#[test]
fn r6_1_a_gateway_call_to_a_tel_number_nobody_has_is_404() {
    let mut lab = lab_with_gateway(Mode::TeamsOnly);
    let answers = gateway_invite(&mut lab, "tel:+14255550199");
    assert_eq!(answers[0].status(), Some(404), "{answers:?}");
}

#[test]
fn r6_4_an_sfb_call_to_a_tel_number_goes_out_through_the_gateway() {
    let mut lab = lab_with_gateway(Mode::Islands);
    let mut alice = Ua::new("alice", 7001);
    let answers = user_invite(&mut lab, &mut alice, "tel:+15550003");
    assert_eq!(answers[0].status(), Some(100), "{answers:?}");
    let out = lab.take(gateway());
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].method(), Some(Method::Invite));
    assert!(
        out[0]
            .uri()
            .unwrap()
            .starts_with("sip:+15550003@127.0.0.1:7900;user=phone"),
        "{:?}",
        out[0].uri()
    );
}

#[test]
fn r3_6_a_tel_uri_of_a_colleague_reaches_the_colleague() {
    let mut lab = lab_with_gateway(Mode::TeamsOnly);
    let mut alice = Ua::new("alice", 7001);
    let answers = user_invite(&mut lab, &mut alice, "tel:+14255550100");
    assert_eq!(answers[0].status(), Some(100), "{answers:?}");
    assert!(
        lab.take(gateway()).is_empty(),
        "a colleague is not the PSTN"
    );
    assert_eq!(
        the_teams_call(&mut lab),
        (
            "alice@contoso.test".into(),
            "bob@contoso.test".into(),
            false
        )
    );
}

#[test]
fn r6_a_local_tel_number_is_404_and_other_schemes_and_methods_stay_416() {
    let mut lab = lab_with_gateway(Mode::Islands);
    let mut alice = Ua::new("alice", 7001);
    // Nobody dials a local number (RFC 3966 §5.1.5): 404, before any
    // challenge, and nothing reaches the gateway.
    let mut local = alice.request(
        "INVITE",
        "tel:7042;phone-context=example.com",
        "tel:7042;phone-context=example.com",
    );
    local.set_body("application/sdp", SDP);
    lab.send(alice.addr, &local);
    assert_eq!(lab.response(alice.addr).status(), Some(404));
    assert!(lab.take(gateway()).is_empty());

    let message = alice.request("MESSAGE", "tel:+14255550100", "tel:+14255550100");
    lab.send(alice.addr, &message);
    assert_eq!(lab.response(alice.addr).status(), Some(416));
    let fax = alice.request("INVITE", "fax:+14255550100", "sip:bob@contoso.test");
    lab.send(alice.addr, &fax);
    assert_eq!(lab.response(alice.addr).status(), Some(416));
}

#[test]
fn r6_1_a_tel_call_from_the_gateway_can_be_cancelled() {
    let mut lab = lab_with_gateway(Mode::Islands);
    let bob = Ua::new("bob", 7011).registered(&mut lab);
    let mut gw = Ua::new("gw", gateway().port());
    let mut inv = gw.request("INVITE", "tel:+14255550100", "tel:+14255550100");
    inv.set("From", "<tel:+15550001>;tag=gw1");
    inv.set_body("application/sdp", SDP);
    lab.send(gateway(), &inv);
    assert_eq!(lab.take(gateway())[0].status(), Some(100));
    assert_eq!(lab.take(bob.addr).len(), 1);
    let mut cancel = gw.request("CANCEL", "tel:+14255550100", "tel:+14255550100");
    for name in ["Via", "Call-ID", "From", "To"] {
        cancel.set(name, inv.header(name).unwrap().to_owned());
    }
    cancel.set("CSeq", format!("{} CANCEL", inv.cseq().unwrap().0));
    lab.send(gateway(), &cancel);
    let statuses: Vec<u16> = lab
        .take(gateway())
        .iter()
        .filter_map(SipMessage::status)
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    // The fork to bob is cancelled too.
    let to_bob: Vec<_> = lab
        .take(bob.addr)
        .iter()
        .filter_map(SipMessage::method)
        .collect();
    assert_eq!(to_bob, vec![Method::Cancel]);
}
