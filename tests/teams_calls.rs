//! Call signalling through the real binary: every live teams endpoint of
//! the callee rings; answer, reject, hang up, forward (R3.6), transfer
//! (R3.6), ring timeout; routing refusals with the chat codes (R3.2),
//! calls to numbers (R6.4), and the R5.4 limits on interop calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server;
mod teams_support;

use serde_json::{Value, json};
use server::{Server, expect, problem};
use teams_support::{Events, login, world};

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn place(s: &Server, token: &str, to: &str) -> server::Answer {
    s.call(
        "POST",
        "/v1/calls",
        Some(token),
        Some(json!({"to": to, "sdp": OFFER})),
    )
}

fn act(s: &Server, token: &str, id: &str, action: &str, body: Value) -> server::Answer {
    s.call(
        "POST",
        &format!("/v1/calls/{id}/{action}"),
        Some(token),
        Some(body),
    )
}

fn call_id(answer: &server::Answer) -> String {
    expect(answer, 201)["id"].as_str().unwrap().to_owned()
}

#[test]
fn r3_6_a_call_rings_every_endpoint_is_answered_with_sdp_and_hung_up() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let dave = login(&s, "dave@contoso.test");
    let mut callers = Events::open(&s, &alice, None);
    let mut phone = Events::open(&s, &dave, None);
    let mut desk = Events::open(&s, &dave, None);
    let placed = place(&s, &alice, "dave@contoso.test");
    let id = call_id(&placed);
    assert_eq!(placed.body["method"], "native");
    assert_eq!(placed.body["state"], "ringing");
    for endpoint in [&mut phone, &mut desk] {
        let ring = endpoint.next_of("call");
        assert_eq!(ring["change"], "incoming");
        assert_eq!(ring["call"]["offer_sdp"], OFFER);
    }
    assert_eq!(callers.next_of("call")["change"], "ringing");
    let answered = act(&s, &dave, &id, "answer", json!({"sdp": ANSWER}));
    assert_eq!(expect(&answered, 200)["state"], "connected");
    let connected = callers.next_of("call");
    assert_eq!(connected["change"], "connected");
    assert_eq!(connected["call"]["answer_sdp"], ANSWER);
    // The other endpoint stops ringing: it hears the call was answered.
    assert_eq!(desk.next_of("call")["change"], "connected");
    // Only the callee answers, once.
    problem(
        &act(&s, &alice, &id, "answer", json!({"sdp": ANSWER})),
        409,
        "CallStateConflict",
    );
    let ended = act(&s, &alice, &id, "hangup", json!({}));
    assert_eq!(expect(&ended, 200)["end_reason"], "hangup");
    assert_eq!(phone.next_of("call")["change"], "connected");
    assert_eq!(phone.next_of("call")["change"], "ended");
    problem(
        &act(&s, &dave, &id, "hangup", json!({})),
        409,
        "CallStateConflict",
    );
    // Someone else cannot see or touch it.
    let bob = login(&s, "bob@contoso.test");
    problem(
        &s.call("GET", &format!("/v1/calls/{id}"), Some(&bob), None),
        404,
        "UnknownCall",
    );
}

#[test]
fn a_rejected_call_and_an_unanswered_one_end_with_their_reasons() {
    let (_dir, s) = world(&[("COEXIST_TEAMS_RING_TIMEOUT_MS", "300")]);
    let alice = login(&s, "alice@contoso.test");
    let dave = login(&s, "dave@contoso.test");
    let mut callers = Events::open(&s, &alice, None);
    let id = call_id(&place(&s, &alice, "dave@contoso.test"));
    let rejected = act(&s, &dave, &id, "reject", json!({}));
    assert_eq!(expect(&rejected, 200)["end_reason"], "rejected");
    let id = call_id(&place(&s, &alice, "bob@contoso.test"));
    loop {
        let event = callers.next_of("call");
        if event["call"]["id"] == id.as_str() && event["change"] == "ended" {
            assert_eq!(event["call"]["end_reason"], "no-answer");
            break;
        }
    }
    let call = s.call("GET", &format!("/v1/calls/{id}"), Some(&alice), None);
    assert_eq!(expect(&call, 200)["state"], "ended");
}

#[test]
fn r3_6_forward_while_ringing_and_transfer_once_connected() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let dave = login(&s, "dave@contoso.test");
    let bob = login(&s, "bob@contoso.test");
    let mut bobs = Events::open(&s, &bob, None);
    let id = call_id(&place(&s, &alice, "dave@contoso.test"));
    let forwarded = act(&s, &dave, &id, "forward", json!({"to": "bob@contoso.test"}));
    let forwarded = expect(&forwarded, 200).clone();
    assert_eq!(forwarded["to"], "bob@contoso.test");
    assert_eq!(forwarded["forwarded_from"], "dave@contoso.test");
    assert_eq!(bobs.next_of("call")["change"], "incoming");
    expect(&act(&s, &bob, &id, "answer", json!({"sdp": ANSWER})), 200);
    // dave is out of it now.
    problem(
        &act(&s, &dave, &id, "hangup", json!({})),
        404,
        "UnknownCall",
    );

    // bob transfers alice to an interop target: carol (SfB*), on sfb.
    let transferred = act(
        &s,
        &bob,
        &id,
        "transfer",
        json!({"to": "carol@contoso.test"}),
    );
    let new = expect(&transferred, 201).clone();
    assert_eq!(new["from"], "alice@contoso.test");
    assert_eq!(new["to_client"], "sfb");
    assert_eq!(new["method"], "interop");
    assert_eq!(new["transferred_from"], id.as_str());
    let old = s.call("GET", &format!("/v1/calls/{id}"), Some(&alice), None);
    assert_eq!(expect(&old, 200)["end_reason"], "transferred");
}

#[test]
fn r3_2_r6_4_calls_are_refused_with_the_same_codes_as_chats() {
    let (_dir, s) = world(&[]);
    let erin = login(&s, "erin@contoso.test");
    let refused = problem(
        &place(&s, &erin, "carol@contoso.test"),
        403,
        "OriginatorHomedOnPrem",
    );
    assert_eq!(refused["rule"], "R3.2");
    let carol = login(&s, "carol@contoso.test");
    problem(
        &place(&s, &carol, "alice@contoso.test"),
        403,
        "ClientDisabledByMode",
    );
    // Numbers: a user's number reaches the user (R3); others are the
    // phone network (R6.4).
    let alice = login(&s, "alice@contoso.test");
    let to_olga = place(&s, &alice, "+14255550100");
    assert_eq!(expect(&to_olga, 201)["to"], "olga@contoso.test");
    let olga = login(&s, "olga@contoso.test");
    let out = place(&s, &olga, "+14255550199");
    let out = expect(&out, 201).clone();
    assert_eq!(out["method"], "pstn");
    assert_eq!(out["to_client"], json!(null));
    // The same numbers as tel: URIs (RFC 3966), separators and all.
    let out = place(&s, &olga, "tel:+1-425-555-0199;phone-context=+1");
    assert_eq!(expect(&out, 201)["to"], "+14255550199");
    let to_olga = place(&s, &alice, "tel:+1.425.555.0100");
    assert_eq!(expect(&to_olga, 201)["to"], "olga@contoso.test");
    let nina = login(&s, "nina@contoso.test");
    assert_eq!(
        problem(&place(&s, &nina, "+14255550199"), 403, "NoVoice")["rule"],
        "R6.4"
    );
    problem(
        &place(&s, &alice, "+14255550199"),
        403,
        "NoPstnOnThisClient",
    );
    // Bad input names the field.
    let bad = place(&s, &alice, "+12");
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "to");
    let bad = s.call(
        "POST",
        "/v1/calls",
        Some(&alice),
        Some(json!({"to": "dave@contoso.test", "sdp": ""})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "sdp");
    let bad = s.call(
        "POST",
        "/v1/calls",
        Some(&alice),
        Some(json!({"to": "dave@contoso.test"})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "sdp");
    problem(
        &place(&s, &alice, "nobody@contoso.test"),
        404,
        "UnknownUser",
    );
}

#[test]
fn r5_4_no_screen_sharing_or_escalation_on_interop_calls() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let interop = place(&s, &alice, "carol@contoso.test");
    assert_eq!(expect(&interop, 201)["method"], "interop");
    let id = call_id(&interop);
    let refused = problem(
        &act(&s, &alice, &id, "screen-sharing", json!({})),
        403,
        "ScreenSharingNotAllowedOnInterop",
    );
    assert_eq!(refused["rule"], "R5.4");
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
    // A native call allows both once connected.
    let dave = login(&s, "dave@contoso.test");
    let id = call_id(&place(&s, &alice, "dave@contoso.test"));
    expect(&act(&s, &dave, &id, "answer", json!({"sdp": ANSWER})), 200);
    let shared = act(&s, &alice, &id, "screen-sharing", json!({}));
    assert_eq!(expect(&shared, 200)["screen_sharing"], true);
    let added = act(
        &s,
        &alice,
        &id,
        "participants",
        json!({"to": "bob@contoso.test"}),
    );
    assert_eq!(expect(&added, 201)["escalated_from"], id.as_str());
    problem(&act(&s, &alice, &id, "dance", json!({})), 404, "NotFound");
}

#[test]
fn r4_1_a_call_from_a_chat_goes_its_way_and_r4_2_refuses_it_once_disabled() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let chat = s.call(
        "POST",
        "/v1/chats",
        Some(&alice),
        Some(json!({"members": ["carol@contoso.test"]})),
    );
    let chat = expect(&chat, 201)["id"].as_str().unwrap().to_owned();
    let from_chat = json!({"to": "carol@contoso.test", "sdp": OFFER, "chat_id": chat});
    let placed = s.call("POST", "/v1/calls", Some(&alice), Some(from_chat.clone()));
    let placed = expect(&placed, 201).clone();
    assert_eq!(placed["method"], "interop");
    assert_eq!(placed["to_client"], "sfb");
    assert_eq!(placed["chat_id"], chat.as_str());
    let wrong = s.call(
        "POST",
        "/v1/calls",
        Some(&alice),
        Some(json!({"to": "dave@contoso.test", "sdp": OFFER, "chat_id": chat})),
    );
    assert_eq!(problem(&wrong, 400, "InvalidField")["field"], "to");
    expect(
        &server::grant(&s, "carol@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    let refused = s.call("POST", "/v1/calls", Some(&alice), Some(from_chat));
    let refused = problem(&refused, 409, "ThreadDisabled");
    assert_eq!(refused["rule"], "R4.2");
    assert!(refused["replaced_by"].is_string());
    // A new call (not from the chat) follows R3: carol is on teams now.
    let fresh = place(&s, &alice, "carol@contoso.test");
    assert_eq!(expect(&fresh, 201)["to_client"], "teams");
}
