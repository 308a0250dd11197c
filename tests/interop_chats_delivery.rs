//! Delivery across clients through the real `coexist serve` (issue 6):
//! nothing lost (a message for an sfb user with no registration waits,
//! across a restart too, and goes out in order when they register), the
//! R4.3 session expiring (a late sfb reply is a new conversation), R1.4
//! (the upgrade notice on the sfb client), and the missed-message safety
//! net with real sfb registrations. The teams client over HTTP and the
//! WebSocket, the sfb client as sipp.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_support;
mod server;
mod teams_support;

use coexist_policy::Mode;
use interop_support::{
    Sfb, delivery_state, free_port, person, received_messages, wait_delivery, world,
};
use serde_json::{Value, json};
use server::{Server, expect};
use std::time::Duration;
use teams_support::{Events, chat, login, send};

/// The next `message` event from `from` (not a delivery update).
fn message_from(events: &mut Events, from: &str) -> Value {
    loop {
        let event = events.next_of("message");
        if event["change"] != "delivery" && event["message"]["from"] == from {
            return event["message"].clone();
        }
    }
}

fn chat_id(server: &Server, token: &str, to: &str, method: &str) -> String {
    let created = chat(server, token, &[to]);
    let body = expect(&created, 201);
    assert_eq!(body["method"], method, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn sent_id(server: &Server, token: &str, chat: &str, text: &str) -> i64 {
    expect(&send(server, token, chat, text), 201)["id"]
        .as_i64()
        .unwrap()
}

/// alice (Islands, on teams) and carol (SfBOnly, no registration yet) in
/// their interop chat: alice, carol, alice's token, the chat id.
fn alice_and_carol_in_an_interop_chat(server: &Server) -> (String, String, String, String) {
    let alice = person(server, "alice", Mode::Islands, json!({}));
    let carol = person(server, "carol", Mode::SfBOnly, json!({}));
    let a = login(server, &alice);
    let id = chat_id(server, &a, &carol, "interop");
    (alice, carol, a, id)
}

#[test]
fn nothing_lost_messages_for_an_unregistered_sfb_user_wait_across_a_restart_and_arrive_in_order() {
    let (dir, server, _) = world(&[]);
    let (alice, carol, a, id) = alice_and_carol_in_an_interop_chat(&server);
    let first = sent_id(&server, &a, &id, "one");
    let second = sent_id(&server, &a, &id, "two");
    // Nobody to take them: pending, not failed.
    std::thread::sleep(Duration::from_millis(300));
    for message in [first, second] {
        assert_eq!(delivery_state(&server, &a, &id, message, &carol), "pending");
    }

    // A restart: what was pending is still pending, and more joins it.
    assert!(server.stop().success());
    let server = Server::start(&dir.path().join("data"));
    let sfb = Sfb::new(&server, dir.path());
    let a = login(&server, &alice);
    let third = sent_id(&server, &a, &id, "three");
    assert_eq!(delivery_state(&server, &a, &id, first, &carol), "pending");

    // carol registers: the three arrive on her sfb client, in order, from
    // alice, and alice sees them delivered.
    let port = free_port();
    assert!(sfb.register(&carol, port));
    let inbox = sfb.inbox(port, 3);
    let (ok, log) = inbox.finish();
    let got = received_messages(&log);
    let bodies: Vec<&str> = got.iter().map(|(_, _, body)| body.as_str()).collect();
    assert!(ok, "{got:?}");
    assert_eq!(bodies, ["one", "two", "three"]);
    assert!(
        got.iter()
            .all(|(from, _, _)| from.contains(&format!("sip:{alice}")))
    );
    for message in [first, second, third] {
        wait_delivery(&server, &a, &id, message, &carol, "delivered").unwrap();
    }
}

/// Nothing lost when only the store knows: a message pending before a
/// restart, and nothing sent after it, still reaches the sfb client when
/// its user registers (the teams side lists at start who has something
/// pending, and skips the store for every other registration).
#[test]
fn nothing_lost_what_was_pending_before_a_restart_alone_arrives_when_the_user_registers() {
    let (dir, server, _) = world(&[]);
    let (alice, carol, a, id) = alice_and_carol_in_an_interop_chat(&server);
    let only = sent_id(&server, &a, &id, "before the restart");
    assert_eq!(delivery_state(&server, &a, &id, only, &carol), "pending");

    assert!(server.stop().success());
    let server = Server::start(&dir.path().join("data"));
    let sfb = Sfb::new(&server, dir.path());
    let a = login(&server, &alice);
    let port = free_port();
    assert!(sfb.register(&carol, port));
    let inbox = sfb.inbox(port, 1);
    let (ok, log) = inbox.finish();
    let got = received_messages(&log);
    assert!(ok, "{got:?}");
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].2, "before the restart");
    wait_delivery(&server, &a, &id, only, &carol, "delivered").unwrap();
}

/// The delivery state the sender sees follows what the sfb client did:
/// `delivered` when it took the MESSAGE, `failed` when it refused it, as
/// `message` events (`change: delivery`) on the sender's WebSocket and on
/// the API. The other way, the sfb sender's 200 means the message is
/// already kept in the teams thread.
#[test]
fn sfb_delivery_outcomes_reach_the_teams_sender_and_an_sfb_sender_gets_200_once_durable() {
    let (_dir, server, sfb) = world(&[]);
    let alice = person(&server, "alice", Mode::Islands, json!({}));
    let carol = person(&server, "carol", Mode::SfBOnly, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let port = free_port();
    assert!(sfb.register(&carol, port));
    let a = login(&server, &alice);
    let mut a_events = Events::open(&server, &a, None);
    let id = chat_id(&server, &a, &carol, "interop");
    for (takes, text, state) in [(true, "taken", "delivered"), (false, "refused", "failed")] {
        let inbox = if takes {
            sfb.inbox(port, 1)
        } else {
            sfb.refusing_inbox(port, 1)
        };
        let message = sent_id(&server, &a, &id, text);
        let (ok, log) = inbox.finish();
        assert!(ok && received_messages(&log).len() == 1);
        let update = loop {
            let event = a_events.next_of("message");
            if event["change"] == "delivery" && event["message"]["id"] == message {
                break event;
            }
        };
        assert_eq!(
            update["message"]["deliveries"][0]["state"], state,
            "{update}"
        );
        assert_eq!(delivery_state(&server, &a, &id, message, &carol), state);
    }

    // sfb → teams: once the 200 is in, the message is in bob's thread.
    let b = login(&server, &bob);
    assert_eq!(
        sfb.im(&carol, &bob, "text/plain", "kept first").status,
        Some(200)
    );
    let chats = expect(&server.call("GET", "/v1/chats", Some(&b), None), 200).clone();
    let thread = chats["value"]
        .as_array()
        .or_else(|| chats.as_array())
        .and_then(|list| {
            list.iter()
                .find(|c| c["members"].to_string().contains(&carol))
                .cloned()
        })
        .expect("a thread with carol");
    assert_eq!(thread["method"], "interop");
    let messages = server.call(
        "GET",
        &format!("/v1/chats/{}/messages", thread["id"].as_str().unwrap()),
        Some(&b),
        None,
    );
    assert_eq!(
        expect(&messages, 200)["value"][0]["body"]["content"],
        "kept first"
    );
}

/// Messages written quickly one after the other reach the sfb client in
/// that order (one sender per recipient, each waiting for the previous
/// outcome), and all read delivered.
#[test]
fn messages_to_an_sfb_client_arrive_in_the_order_they_were_written() {
    let (_dir, server, sfb) = world(&[]);
    let alice = person(&server, "alice", Mode::TeamsOnly, json!({}));
    let carol = person(
        &server,
        "carol",
        Mode::SfBWithTeamsCollabAndMeetings,
        json!({}),
    );
    let port = free_port();
    assert!(sfb.register(&carol, port));
    let a = login(&server, &alice);
    let id = chat_id(&server, &a, &carol, "interop");
    let inbox = sfb.inbox(port, 8);
    let texts: Vec<String> = (1..=8).map(|i| format!("line {i}")).collect();
    let ids: Vec<i64> = texts.iter().map(|t| sent_id(&server, &a, &id, t)).collect();
    let (ok, log) = inbox.finish();
    let got: Vec<String> = received_messages(&log).into_iter().map(|m| m.2).collect();
    assert!(ok, "{got:?}");
    assert_eq!(got, texts);
    for message in ids {
        wait_delivery(&server, &a, &id, message, &carol, "delivered").unwrap();
    }
}

#[test]
fn r4_3_a_late_sfb_reply_after_the_session_expires_is_a_new_conversation() {
    // R4.3: the session idle time is configurable for tests.
    let (_dir, server, sfb) = world(&[("COEXIST_SIP_SESSION_IDLE_SECS", "1")]);
    let alice = person(&server, "alice", Mode::Islands, json!({}));
    let carol = person(&server, "carol", Mode::SfBWithTeamsCollab, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let (alice_port, carol_port) = (free_port(), free_port());
    assert!(sfb.register(&alice, alice_port));
    assert!(sfb.register(&carol, carol_port));
    let (a, b) = (login(&server, &alice), login(&server, &bob));
    let (mut a_events, mut b_events) = (
        Events::open(&server, &a, None),
        Events::open(&server, &b, None),
    );
    let with_alice = chat_id(&server, &a, &carol, "interop");
    let with_bob = chat_id(&server, &b, &carol, "interop");
    let inbox = sfb.inbox(carol_port, 2);
    sent_id(&server, &a, &with_alice, "from alice's teams");
    sent_id(&server, &b, &with_bob, "from bob's teams");
    assert_eq!(received_messages(&inbox.finish().1).len(), 2);

    // Within the session the replies follow the conversation: to teams.
    assert_eq!(
        sfb.im(&carol, &alice, "text/plain", "quick reply").status,
        Some(200)
    );
    let got = message_from(&mut a_events, &carol);
    assert_eq!(got["chat_id"], with_alice.as_str());

    // After it (1 s idle), a reply is a new conversation from sfb (R3):
    // to an Islands user it lands on their sfb client (table 1a) …
    std::thread::sleep(Duration::from_millis(2500));
    let inbox = sfb.inbox(alice_port, 1);
    assert_eq!(
        sfb.im(&carol, &alice, "text/plain", "late reply").status,
        Some(200)
    );
    let got = received_messages(&inbox.finish().1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].2, "late reply");
    assert!(got[0].0.contains(&format!("sip:{carol}")));
    assert!(a_events.none_of("message", Duration::from_millis(500)));
    // … and to a TeamsOnly user on teams, in the thread R4.1 keeps.
    assert_eq!(
        sfb.im(&carol, &bob, "text/plain", "late to bob").status,
        Some(200)
    );
    let got = message_from(&mut b_events, &carol);
    assert_eq!(got["chat_id"], with_bob.as_str());
    assert_eq!(got["body"]["content"], "late to bob");
}

#[test]
fn r1_4_a_with_notify_policy_sends_the_upgrade_notice_to_the_sfb_client_on_registration_and_on_grant()
 {
    let (_dir, server, sfb) = world(&[]);
    let carol = person(&server, "carol", Mode::Islands, json!({}));
    let dave = person(&server, "dave", Mode::SfBOnly, json!({}));
    expect(
        &server::grant(&server, &carol, json!("SfBOnlyWithNotify")),
        200,
    );
    let effective = server.admin("GET", &format!("/v1/users/{carol}/effective"), None);
    assert_eq!(
        expect(&effective, 200)["TeamsUpgradeNotificationsEnabled"],
        true
    );
    let port = free_port();
    assert!(sfb.register(&carol, port));
    let (ok, log) = sfb.inbox(port, 1).finish();
    let got = received_messages(&log);
    assert!(ok, "{got:?}");
    assert!(got[0].0.contains("sip:coexist@contoso.test"), "{got:?}");
    assert!(got[0].2.contains("Teams"), "{got:?}");

    // Without …WithNotify, no notice; granted one while registered, the
    // notice comes then.
    let port = free_port();
    assert!(sfb.register(&dave, port));
    let inbox = sfb.inbox(port, 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(received_messages(&inbox.so_far()).is_empty());
    expect(
        &server::grant(&server, &dave, json!("SfBOnlyWithNotify")),
        200,
    );
    let (ok, log) = inbox.finish();
    let got = received_messages(&log);
    assert!(ok, "{got:?}");
    assert!(got[0].0.contains("sip:coexist@contoso.test"), "{got:?}");
    assert!(got[0].2.contains("Teams"), "{got:?}");
}

/// The safety net with real sfb endpoints: dave (Islands) chats from sfb
/// with bob (TeamsOnly); bob's replies land on dave's sfb client. While
/// dave is registered nothing else happens; once he is not, his teams
/// client gets one notice, and the reply waits for his next registration.
#[test]
fn safety_net_a_reply_to_an_unregistered_sfb_client_notifies_teams_and_a_registered_one_does_not() {
    let (_dir, server, sfb) = world(&[("COEXIST_TEAMS_NOTICE_AFTER_SECS", "0")]);
    let dave = person(&server, "dave", Mode::Islands, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let port = free_port();
    assert!(sfb.register(&dave, port));
    let (d, b) = (login(&server, &dave), login(&server, &bob));
    let (mut d_events, mut b_events) = (
        Events::open(&server, &d, None),
        Events::open(&server, &b, None),
    );
    assert_eq!(
        sfb.im(&dave, &bob, "text/plain", "hi from sfb").status,
        Some(200)
    );
    let id = message_from(&mut b_events, &dave)["chat_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Registered: delivered to sfb, no notice.
    let inbox = sfb.inbox(port, 1);
    let first = sent_id(&server, &b, &id, "while registered");
    assert_eq!(received_messages(&inbox.finish().1).len(), 1);
    wait_delivery(&server, &b, &id, first, &dave, "delivered").unwrap();
    assert!(d_events.none_of("notice", Duration::from_millis(700)));

    // Not registered: one notice on teams (no body), the message waits.
    assert!(sfb.unregister(&dave, port));
    let second = sent_id(&server, &b, &id, "while away");
    let notice = d_events.next_of("notice");
    assert_eq!(notice["chat_id"], id.as_str(), "{notice}");
    assert_eq!(notice["from"], bob.as_str());
    assert!(!notice.to_string().contains("while away"), "{notice}");
    assert_eq!(delivery_state(&server, &b, &id, second, &dave), "pending");
    // Never twice in a row for the same thread.
    sent_id(&server, &b, &id, "still away");
    assert!(d_events.none_of("notice", Duration::from_millis(700)));

    // Back on sfb: both arrive, in order.
    assert!(sfb.register(&dave, port));
    let got = received_messages(&sfb.inbox(port, 2).finish().1);
    let bodies: Vec<&str> = got.iter().map(|(_, _, body)| body.as_str()).collect();
    assert_eq!(bodies, ["while away", "still away"]);
    wait_delivery(&server, &b, &id, second, &dave, "delivered").unwrap();
}
