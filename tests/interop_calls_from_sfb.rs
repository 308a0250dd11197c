//! Calls from sfb clients (sipp) to teams clients (HTTP + WebSocket)
//! through the real binary (issue 6): table 1c cells (Islands,
//! SfBWithTeamsCollab and SfBOnly originators on sfb, a TeamsOnly
//! recipient: teams, interop) and 1a (Islands on sfb → Islands: sfb) — 100/180
//! while teams rings, answer (SDP both ways, ACK), decline (603), ring
//! timeout (480), CANCEL (487), hang-up both ways, transfer both ways
//! (REFER, R3.6), forwarding on teams; a refused cell on SIP (R2.1) with
//! its Warning; mid-call re-INVITEs and R5.4 on SIP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_calls_support;
mod server;
mod teams_support;

use interop_calls_support::{ANSWER, Sipp, act, done, free_port, incoming, person, until};
use serde_json::json;
use server::expect;
use teams_support::{Events, login, world};

/// The next `call` event with this change (about `id`, when given).
const ANSWERED: &[(&str, &str)] = &[("answer", "o=teamsanswer")];

#[test]
fn r3_6_sfb_callers_ring_teams_callees_answer_decline_cancel_time_out_hang_up() {
    let (dir, s) = world(&[("COEXIST_TEAMS_RING_TIMEOUT_MS", "4000")]);
    let sipp = Sipp::new(&s, dir.path());
    let bob = login(&s, "bob@contoso.test");
    let mut bobs = Events::open(&s, &bob, None);

    // 1c, Islands on sfb → TeamsOnly: bob's teams client rings with dave's
    // SDP; bob answers; dave's client gets 200 with bob's SDP, ACKs, and
    // hangs up (BYE): the teams call ends.
    let caller = sipp.caller("uac_bye.xml", "dave@contoso.test", "bob", ANSWERED);
    let rings = until(&mut bobs, None, "incoming");
    assert_eq!(rings["from"], "dave@contoso.test");
    assert_eq!(rings["from_client"], "sfb");
    assert_eq!(rings["to_client"], "teams");
    assert_eq!(rings["method"], "interop");
    assert!(rings["offer_sdp"].as_str().unwrap().contains("o=sfbcaller"));
    let id = rings["id"].as_str().unwrap().to_owned();
    done(&s, &bob, &id, "answer", json!({"sdp": ANSWER}));
    caller.succeeds();
    assert_eq!(until(&mut bobs, Some(&id), "ended")["end_reason"], "hangup");

    // 1c, SfB* on sfb → TeamsOnly: bob answers, then hangs up: BYE to carol.
    let caller = sipp.caller("uac_wait_bye.xml", "carol@contoso.test", "bob", ANSWERED);
    let id = incoming(&mut bobs);
    done(&s, &bob, &id, "answer", json!({"sdp": ANSWER}));
    done(&s, &bob, &id, "hangup", json!({}));
    caller.succeeds();

    // bob declines: 603.
    let caller = sipp.caller("uac_declined.xml", "dave@contoso.test", "bob", ANSWERED);
    let id = incoming(&mut bobs);
    done(&s, &bob, &id, "reject", json!({}));
    caller.succeeds();

    // dave gives up while it rings: CANCEL, 487; bob's call ends.
    let caller = sipp.caller("uac_cancel.xml", "dave@contoso.test", "bob", ANSWERED);
    let id = incoming(&mut bobs);
    caller.succeeds();
    assert_eq!(
        until(&mut bobs, Some(&id), "ended")["end_reason"],
        "cancelled"
    );

    // Nobody answers: 480 at the ring timeout.
    let caller = sipp.caller("uac_noanswer.xml", "carol@contoso.test", "bob", ANSWERED);
    let id = incoming(&mut bobs);
    caller.succeeds();
    assert_eq!(
        until(&mut bobs, Some(&id), "ended")["end_reason"],
        "no-answer"
    );

    // 1c, SfBOnly on sfb → TeamsOnly: sofia's call rings bob's teams.
    person(&s, "sofia@contoso.test", "SfBOnly");
    let caller = sipp.caller("uac_bye.xml", "sofia@contoso.test", "bob", ANSWERED);
    let rings = until(&mut bobs, None, "incoming");
    assert_eq!(
        (&rings["from"], &rings["method"]),
        (&json!("sofia@contoso.test"), &json!("interop"))
    );
    let id = rings["id"].as_str().unwrap().to_owned();
    done(&s, &bob, &id, "answer", json!({"sdp": ANSWER}));
    caller.succeeds();

    // 1a, Islands on sfb → Islands: lands on alice's sfb client (native,
    // through the B2BUA), not on teams.
    let alice_port = free_port();
    sipp.register("alice@contoso.test", alice_port);
    let callee = sipp.callee(
        "uas_answer.xml",
        alice_port,
        &[
            ("caller", "dave@contoso.test"),
            ("offer", "o=sfbcaller"),
            ("ruri", "alice@"),
        ],
    );
    sipp.caller(
        "uac_bye.xml",
        "dave@contoso.test",
        "alice",
        &[("answer", "o=sfbcallee")],
    )
    .succeeds();
    callee.succeeds();

    // A refused cell on SIP: a TeamsOnly user's sfb client cannot place
    // calls (R2.1): 403 with the Warning naming the code and rule.
    sipp.caller(
        "uac_refused.xml",
        "bob@contoso.test",
        "dave",
        &[("code", "ClientDisabledByMode \\(R2.1\\)")],
    )
    .succeeds();
    assert!(s.stop().success());
}

#[test]
fn r3_6_r5_4_transfers_both_ways_forwarding_and_mid_call_requests_on_sfb_to_teams_calls() {
    let (dir, s) = world(&[]);
    let sipp = Sipp::new(&s, dir.path());
    let bob = login(&s, "bob@contoso.test");
    let olga = login(&s, "olga@contoso.test");
    let mut bobs = Events::open(&s, &bob, None);
    let mut olgas = Events::open(&s, &olga, None);

    // dave (sfb) → bob (teams), answered. A session refresh re-INVITE gets
    // 200 with bob's SDP; a changed offer 488; screen sharing and an
    // attended transfer are refused by R5.4 (403 with the Warning); then
    // dave transfers bob to olga (REFER): 202, NOTIFY 200, BYE. bob's call
    // ends `transferred` and a new call from bob rings olga.
    let mut keys = ANSWERED.to_vec();
    keys.push(("target", "olga@contoso.test"));
    let caller = sipp.caller("uac_midcall.xml", "dave@contoso.test", "bob", &keys);
    let id = incoming(&mut bobs);
    done(&s, &bob, &id, "answer", json!({"sdp": ANSWER}));
    caller.succeeds();
    assert_eq!(
        until(&mut bobs, Some(&id), "ended")["end_reason"],
        "transferred"
    );
    let rings = until(&mut olgas, None, "incoming");
    assert_eq!(rings["from"], "bob@contoso.test");
    assert_eq!(rings["transferred_from"], id.as_str());
    let new = rings["id"].as_str().unwrap().to_owned();
    done(&s, &olga, &new, "reject", json!({}));

    // carol (sfb) → bob, answered; bob transfers carol to dave: carol's
    // client gets a REFER to sip:dave, then BYE.
    let mut keys = ANSWERED.to_vec();
    keys.push(("target", "sip:dave@contoso.test"));
    let caller = sipp.caller("uac_referred.xml", "carol@contoso.test", "bob", &keys);
    let id = incoming(&mut bobs);
    done(&s, &bob, &id, "answer", json!({"sdp": ANSWER}));
    let transferred = act(
        &s,
        &bob,
        &id,
        "transfer",
        json!({"to": "dave@contoso.test"}),
    );
    assert_eq!(
        expect(&transferred, 201)["transferred_to"],
        "dave@contoso.test"
    );
    caller.succeeds();

    // Forwarding on teams: dave (sfb) → bob; bob forwards to olga, who
    // answers: dave's client gets olga's SDP, then hangs up.
    let caller = sipp.caller("uac_bye.xml", "dave@contoso.test", "bob", ANSWERED);
    let id = incoming(&mut bobs);
    let forwarded = act(&s, &bob, &id, "forward", json!({"to": "olga@contoso.test"}));
    assert_eq!(expect(&forwarded, 200)["to"], "olga@contoso.test");
    until(&mut olgas, Some(&id), "incoming");
    done(&s, &olga, &id, "answer", json!({"sdp": ANSWER}));
    caller.succeeds();
    assert_eq!(
        until(&mut olgas, Some(&id), "ended")["end_reason"],
        "hangup"
    );
    assert!(s.stop().success());
}
