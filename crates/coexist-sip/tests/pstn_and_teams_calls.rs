//! Sans-IO flows of issue 6 at the SIP edge: calls to and from a PSTN
//! gateway (R6), and calls from sfb that land on teams (R3.6, R6.3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_sip::auth::Algorithm;
use coexist_sip::{EngineEvent, Method, SipMessage};
use common::{Lab, Ua};

const SDP_A: &str = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";

/// `ua` invites `uri` (authorized); returns the INVITE as sent.
fn invite(lab: &mut Lab, ua: &mut Ua, uri: &str) -> SipMessage {
    let mut inv = ua.request("INVITE", uri, uri);
    inv.set_body("application/sdp", SDP_A);
    lab.send(ua.addr, &inv);
    let challenge = lab.response(ua.addr);
    assert_eq!(challenge.status(), Some(407));
    ua.authorize(&mut inv, &challenge, Algorithm::Sha256);
    lab.send(ua.addr, &inv);
    inv
}

#[test]
fn r6_4_an_sfb_call_to_a_number_goes_to_the_tenant_gateway() {
    let mut lab = Lab::new();
    let gateway: std::net::SocketAddr = "127.0.0.1:7900".parse().unwrap();
    lab.directory.set_gateway("contoso.test", gateway);
    let mut alice = Ua::new("alice", 7001);
    invite(&mut lab, &mut alice, "sip:+15550003@contoso.test");
    assert_eq!(lab.take(alice.addr)[0].status(), Some(100));
    let at_gateway = lab.take(gateway);
    assert_eq!(at_gateway.len(), 1, "{at_gateway:?}");
    assert_eq!(at_gateway[0].method(), Some(Method::Invite));
    assert!(
        at_gateway[0]
            .uri()
            .unwrap()
            .starts_with("sip:+15550003@127.0.0.1:7900")
    );
}

fn teams_calls(lab: &mut Lab) -> Vec<EngineEvent> {
    lab.engine
        .take_events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::TeamsCall { .. } | EngineEvent::TeamsCallEnded { .. }
            )
        })
        .collect()
}

#[test]
fn r3_6_r6_3_an_invite_to_a_teams_only_user_rings_teams_and_never_their_sfb_phone() {
    let mut lab = Lab::new();
    lab.directory
        .set_mode("bob@contoso.test", coexist_policy::Mode::TeamsOnly);
    let bob = Ua::new("bob", 7011).registered(&mut lab);
    let mut alice = Ua::new("alice", 7001);
    let inv = invite(&mut lab, &mut alice, "sip:bob@contoso.test");
    assert_eq!(lab.take(alice.addr)[0].status(), Some(100));
    assert!(lab.take(bob.addr).is_empty(), "R6.3: no sfb contact rings");
    let events = teams_calls(&mut lab);
    let [
        EngineEvent::TeamsCall {
            id,
            from,
            to,
            sdp,
            pstn,
        },
    ] = &events[..]
    else {
        panic!("{events:?}");
    };
    assert_eq!(
        (from.as_str(), to.as_str(), *pstn),
        ("alice@contoso.test", "bob@contoso.test", false)
    );
    assert_eq!(&sdp[..], SDP_A.as_bytes());
    let id = *id;
    lab.engine
        .teams_call_started(lab.now, id, coexist_sip::TeamsCallStart::Ringing);
    lab.advance(std::time::Duration::ZERO);
    assert_eq!(lab.response(alice.addr).status(), Some(180));
    // The caller gives up: 200 to the CANCEL, 487 to the INVITE, and the
    // teams side hears of it.
    let mut cancel = alice.request("CANCEL", "sip:bob@contoso.test", "sip:bob@contoso.test");
    for name in ["Via", "Call-ID", "From", "To"] {
        cancel.set(name, inv.header(name).unwrap().to_owned());
    }
    cancel.set("CSeq", format!("{} CANCEL", inv.cseq().unwrap().0));
    lab.send(alice.addr, &cancel);
    let answers: Vec<u16> = lab
        .take(alice.addr)
        .iter()
        .filter_map(SipMessage::status)
        .collect();
    assert_eq!(answers, vec![200, 487]);
    assert_eq!(
        teams_calls(&mut lab),
        vec![EngineEvent::TeamsCallEnded { id }]
    );
}

#[test]
fn r6_1_a_gateway_call_needs_no_credentials_but_must_come_from_the_gateway() {
    let mut lab = Lab::new();
    let gateway: std::net::SocketAddr = "127.0.0.1:7900".parse().unwrap();
    lab.directory.set_gateway("contoso.test", gateway);
    lab.directory.set_number("bob@contoso.test", "+14255550100");
    lab.directory
        .set_mode("bob@contoso.test", coexist_policy::Mode::TeamsOnly);
    let call = |lab: &mut Lab, from: std::net::SocketAddr| {
        let mut gw = Ua::new("gw", from.port());
        let mut inv = gw.request(
            "INVITE",
            "sip:+14255550100@contoso.test;user=phone",
            "sip:+14255550100@contoso.test",
        );
        inv.set("From", "<sip:+15550001@127.0.0.1;user=phone>;tag=gw1");
        inv.set_body("application/sdp", SDP_A);
        lab.send(from, &inv);
        lab.take(from)
    };
    let elsewhere: std::net::SocketAddr = "127.0.0.1:7901".parse().unwrap();
    let refused = call(&mut lab, elsewhere);
    assert_eq!(refused[0].status(), Some(403), "{refused:?}");
    assert!(teams_calls(&mut lab).is_empty());
    let trying = call(&mut lab, gateway);
    assert_eq!(trying[0].status(), Some(100));
    let events = teams_calls(&mut lab);
    let [EngineEvent::TeamsCall { from, to, pstn, .. }] = &events[..] else {
        panic!("{events:?}");
    };
    assert_eq!(
        (from.as_str(), to.as_str(), *pstn),
        ("+15550001", "bob@contoso.test", true)
    );
}

const SDP_B: &str = "v=0\r\no=bob 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n";

#[test]
fn r3_6_r5_4_an_sfb_callee_of_a_teams_caller_refreshes_but_cannot_renegotiate_and_transfers_by_refer()
 {
    use coexist_sip::CallEvent;
    let mut lab = Lab::new();
    let bob = Ua::new("bob", 7021).registered(&mut lab);
    let now = lab.now;
    lab.engine.port_place_call(
        now,
        9,
        "teams@contoso.test",
        "bob@contoso.test",
        SDP_A.into(),
    );
    lab.advance(std::time::Duration::from_millis(1));
    let invite = lab.take(bob.addr).remove(0);
    let mut ok = invite.response(200, "OK", Some("bobtag"));
    ok.push("Contact", format!("<{}>", bob.contact()));
    ok.set_body("application/sdp", SDP_B);
    lab.send(bob.addr, &ok);
    assert_eq!(lab.take(bob.addr)[0].method(), Some(Method::Ack));
    let _ = lab.engine.take_events();
    let mut cseq = 1;
    let mut in_dialog = |lab: &mut Lab, method: Method, body: Option<&str>| {
        cseq += 1;
        let mut request = SipMessage::request(method.clone(), "sip:coexist@127.0.0.1:5060");
        request.push(
            "Via",
            format!("SIP/2.0/UDP {};branch=z9hG4bKmid{cseq};rport", bob.addr),
        );
        request.push("From", ok.header("To").unwrap().to_owned());
        request.push("To", invite.header("From").unwrap().to_owned());
        request.push("Call-ID", invite.call_id().unwrap().to_owned());
        request.push("CSeq", format!("{cseq} {method}"));
        request.push("Max-Forwards", "70");
        request.push("Refer-To", "<sip:dave@contoso.test>");
        if let Some(body) = body {
            request.set_body("application/sdp", body.to_owned());
        }
        lab.send(bob.addr, &request);
        lab.response(bob.addr)
    };
    // A refresh (the same o= line): 200 with the teams SDP.
    let refresh = in_dialog(&mut lab, Method::Invite, Some(SDP_B));
    assert_eq!(refresh.status(), Some(200));
    assert_eq!(&refresh.body[..], SDP_A.as_bytes());
    // A new offer: 488, with a Warning that says why.
    let changed = SDP_B.replace("o=bob 2 2", "o=bob 2 3");
    let refused = in_dialog(&mut lab, Method::Invite, Some(&changed));
    assert_eq!(refused.status(), Some(488));
    assert!(refused.header("Warning").unwrap().contains("renegotiate"));
    // R5.4: screen sharing.
    let sharing = format!("{changed}m=video 9 RTP/AVP 34\r\na=content:slides\r\n");
    let refused = in_dialog(&mut lab, Method::Invite, Some(&sharing));
    assert_eq!(refused.status(), Some(403));
    assert!(
        refused
            .header("Warning")
            .unwrap()
            .contains("ScreenSharingNotAllowedOnInterop (R5.4)")
    );
    // REFER: 202, and the port hears the transfer (R3.6).
    assert_eq!(in_dialog(&mut lab, Method::Refer, None).status(), Some(202));
    assert_eq!(
        lab.engine.take_events(),
        vec![EngineEvent::Call {
            id: 9,
            event: CallEvent::Transfer("dave@contoso.test".into())
        }]
    );
    // The teams side ends the call: NOTIFY 200 for the REFER, then BYE.
    let now = lab.now;
    lab.engine.port_hangup(now, 9);
    lab.advance(std::time::Duration::from_millis(1));
    let sent: Vec<Option<Method>> = lab.take(bob.addr).iter().map(SipMessage::method).collect();
    assert_eq!(sent, vec![Some(Method::Notify), Some(Method::Bye)]);
}

#[test]
fn r5_4_an_invite_that_would_join_a_call_with_a_teams_party_is_refused() {
    let mut lab = Lab::new();
    lab.directory
        .set_mode("bob@contoso.test", coexist_policy::Mode::TeamsOnly);
    let mut alice = Ua::new("alice", 7001);
    let inv = invite(&mut lab, &mut alice, "sip:bob@contoso.test");
    let _ = lab.take(alice.addr);
    let mut carol = Ua::new("carol", 7031);
    let mut join = carol.request("INVITE", "sip:alice@contoso.test", "sip:alice@contoso.test");
    join.push(
        "Join",
        format!("{};to-tag=x;from-tag=y", inv.call_id().unwrap()),
    );
    join.set_body("application/sdp", SDP_A);
    lab.send(carol.addr, &join);
    let refused = lab.response(carol.addr);
    assert_eq!(refused.status(), Some(403));
    assert!(
        refused
            .header("Warning")
            .unwrap()
            .contains("EscalationNotAllowedOnInterop (R5.4)")
    );
}
