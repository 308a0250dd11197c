//! Calls across clients through the real binary (issue 6): a teams client
//! (HTTP + WebSocket) calling sfb clients (sipp) through the B2BUA, on the
//! table 1b cells (Islands and TeamsOnly originators on teams; recipients
//! SfBWithTeamsCollab and SfBOnly: sfb, interop), with ringing (180: `alerting`), answer (SDP both ways), reject,
//! hang-up both ways, CANCEL, transfer (REFER) and forwarding (R3.6); a
//! refused cell (R3.2) and R5.4 on the connected interop call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_calls_support;
mod server;
mod teams_support;

use interop_calls_support::{
    Sipp, act, call_id, connected_to_sfb, done, free_port, person, place, until,
};
use serde_json::json;
use server::{expect, problem};
use teams_support::{Events, login, world};

/// The next `call` event about `id` with this change.
#[test]
fn r3_6_teams_callers_ring_sfb_callees_answer_reject_hang_up_cancel_transfer_forward() {
    let (dir, s) = world(&[]);
    let sipp = Sipp::new(&s, dir.path());
    let alice = login(&s, "alice@contoso.test");
    let bob = login(&s, "bob@contoso.test");
    let mut alices = Events::open(&s, &alice, None);
    let mut bobs = Events::open(&s, &bob, None);
    // No sfb client registered: the call fails at once (480), it does not ring on.
    let id = call_id(&place(&s, &bob, "carol@contoso.test"));
    assert_eq!(until(&mut bobs, Some(&id), "ended")["end_reason"], "failed");
    let carol_port = free_port();
    sipp.register("carol@contoso.test", carol_port);
    let alice_rings = [
        ("caller", "alice@contoso.test"),
        ("offer", "o=teamscaller"),
        ("ruri", "carol@"),
    ];

    // 1b, Islands on teams → SfB*: carol's sfb client rings with alice's
    // SDP from sip:alice; it answers with its SDP; alice hangs up (BYE).
    let callee = sipp.callee("uas_answer.xml", carol_port, &alice_rings);
    let placed = place(&s, &alice, "carol@contoso.test");
    let id = call_id(&placed);
    assert_eq!(placed.body["to_client"], "sfb");
    assert_eq!(placed.body["method"], "interop");
    assert_eq!(until(&mut alices, Some(&id), "ringing")["state"], "ringing");
    // carol's 180: alice hears her sfb client ring.
    assert_eq!(
        until(&mut alices, Some(&id), "alerting")["state"],
        "ringing"
    );
    connected_to_sfb(&mut alices, &id);
    // R5.4: no escalation of this interop call to a multi-party call.
    let refused = problem(
        &act(
            &s,
            &alice,
            &id,
            "participants",
            json!({"to": "dave@contoso.test"}),
        ),
        403,
        "EscalationNotAllowedOnInterop",
    );
    assert_eq!(refused["rule"], "R5.4");
    done(&s, &alice, &id, "hangup", json!({}));
    callee.succeeds();

    // 1b, TeamsOnly on teams → SfB*: carol declines (486): rejected.
    let callee = sipp.callee(
        "uas_reject.xml",
        carol_port,
        &[
            ("caller", "bob@contoso.test"),
            ("offer", "o=teamscaller"),
            ("ruri", "carol@"),
        ],
    );
    let id = call_id(&place(&s, &bob, "carol@contoso.test"));
    let ended = until(&mut bobs, Some(&id), "ended");
    assert_eq!(ended["end_reason"], "rejected");
    callee.succeeds();

    // The caller gives up while it rings: CANCEL, 487.
    let callee = sipp.callee("uas_ring.xml", carol_port, &alice_rings);
    let id = call_id(&place(&s, &alice, "carol@contoso.test"));
    // Let the INVITE reach carol before giving up (sequencing, not timing).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let cancelled = act(&s, &alice, &id, "hangup", json!({}));
    assert_eq!(expect(&cancelled, 200)["end_reason"], "cancelled");
    callee.succeeds();

    // The sfb callee hangs up (BYE): the teams caller's call ends.
    let callee = sipp.callee("uas_hangup.xml", carol_port, &alice_rings);
    let id = call_id(&place(&s, &alice, "carol@contoso.test"));
    until(&mut alices, Some(&id), "connected");
    callee.succeeds();
    assert_eq!(
        until(&mut alices, Some(&id), "ended")["end_reason"],
        "hangup"
    );

    // Transfer: bob (teams) sends carol (sfb) on to dave: her client gets a
    // REFER to sip:dave, then BYE; bob's call ends `transferred`.
    let callee = sipp.callee(
        "uas_referred.xml",
        carol_port,
        &[
            ("caller", "bob@contoso.test"),
            ("offer", "o=teamscaller"),
            ("ruri", "carol@"),
            ("target", "sip:dave@contoso.test"),
        ],
    );
    let id = call_id(&place(&s, &bob, "carol@contoso.test"));
    until(&mut bobs, Some(&id), "connected");
    let transferred = act(
        &s,
        &bob,
        &id,
        "transfer",
        json!({"to": "dave@contoso.test"}),
    );
    let transferred = expect(&transferred, 201);
    assert_eq!(transferred["end_reason"], "transferred");
    assert_eq!(transferred["transferred_to"], "dave@contoso.test");
    callee.succeeds();

    // Forwarding: alice calls dave on teams (1a, native); dave forwards it
    // to carol, whose sfb client rings with alice's offer and answers.
    let dave = login(&s, "dave@contoso.test");
    let callee = sipp.callee("uas_answer.xml", carol_port, &alice_rings);
    let id = call_id(&place(&s, &alice, "dave@contoso.test"));
    let forwarded = act(
        &s,
        &dave,
        &id,
        "forward",
        json!({"to": "carol@contoso.test"}),
    );
    assert_eq!(expect(&forwarded, 200)["to_client"], "sfb");
    let connected = until(&mut alices, Some(&id), "connected");
    assert_eq!(connected["forwarded_from"], "dave@contoso.test");
    done(&s, &alice, &id, "hangup", json!({}));
    callee.succeeds();

    // 1b, TeamsOnly on teams → SfBOnly: the same through sofia's client.
    person(&s, "sofia@contoso.test", "SfBOnly");
    let sofia_port = free_port();
    sipp.register("sofia@contoso.test", sofia_port);
    let callee = sipp.callee(
        "uas_answer.xml",
        sofia_port,
        &[
            ("caller", "bob@contoso.test"),
            ("offer", "o=teamscaller"),
            ("ruri", "sofia@"),
        ],
    );
    let placed = place(&s, &bob, "sofia@contoso.test");
    assert_eq!(expect(&placed, 201)["method"], "interop");
    let id = call_id(&placed);
    until(&mut bobs, Some(&id), "connected");
    done(&s, &bob, &id, "hangup", json!({}));
    callee.succeeds();

    // A refused cell: an originator homed onprem on teams (R3.2).
    let erin = login(&s, "erin@contoso.test");
    let refused = problem(
        &place(&s, &erin, "carol@contoso.test"),
        403,
        "OriginatorHomedOnPrem",
    );
    assert_eq!(refused["rule"], "R3.2");
    assert!(s.stop().success());
}
