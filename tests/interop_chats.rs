//! Chats across clients through the real `coexist serve` (issue 6): the
//! teams client over HTTP and the WebSocket, the sfb client as sipp
//! (`tests/sipp/*.xml`, read back from sipp's message log). Every in-tenant
//! cell of RULES.md tables 1a–1c with an online originator, end to end and
//! back; the refusals on both protocols (R2.1, R3.2, R5.2, R5.3); R5.1 on
//! the way to sfb.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_support;
mod server;
mod teams_support;

use coexist_policy::matrix::{RoutingCell, routing_cells};
use coexist_policy::{Client, Homing, Method, Mode, Outcome, Scope};
use interop_support::{
    Sfb, all_cells_pass, free_port, person, received_messages, wait_delivery, world,
};
use serde_json::{Value, json};
use server::{Server, expect, problem};
use std::sync::Mutex;
use teams_support::{Events, chat, login, send};

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err(format!($($why)+));
        }
    };
}

/// The next `message` event whose message is from `from` in `chat` (when
/// given), skipping others.
fn message_from(events: &mut Events, from: &str, chat: Option<&str>) -> Result<Value, String> {
    for _ in 0..50 {
        let Some(event) = events.try_next(std::time::Duration::from_secs(10)) else {
            break;
        };
        let message = &event["message"];
        if event["type"] == "message"
            && event["change"] != "delivery"
            && message["from"] == from
            && chat.is_none_or(|c| message["chat_id"] == c)
        {
            return Ok(message.clone());
        }
    }
    Err(format!("no message from {from} reached the teams client"))
}

/// `token`'s user starts a 1:1 chat with `to`: created, with the table's
/// method (R4.1 fixes it for life); its id.
fn open_chat(server: &Server, token: &str, to: &str, method: Method) -> Result<String, String> {
    let created = chat(server, token, &[to]);
    ensure!(
        created.status == 201,
        "chat: {} {}",
        created.status,
        created.body
    );
    ensure!(
        created.body["method"] == method.to_string(),
        "method {} (table: {method})",
        created.body["method"]
    );
    Ok(created.body["id"].as_str().unwrap_or_default().to_owned())
}

fn mode_name(mode: Mode) -> String {
    mode.to_string()
}

fn cell_name(cell: &RoutingCell) -> String {
    let table = match cell.to_mode {
        Mode::Islands => "1a",
        Mode::TeamsOnly => "1c",
        _ => "1b",
    };
    format!(
        "{table} {} on {} → {}",
        mode_name(cell.from_mode),
        cell.from_client,
        mode_name(cell.to_mode)
    )
}

/// One cell: the originator's client reaches the recipient's client the
/// table names (or is refused with the table's code), and the reply comes
/// back into the same conversation.
fn run_cell(server: &Server, sfb: &Sfb, index: usize, cell: &RoutingCell) -> Check {
    let from = person(server, &format!("o{index}"), cell.from_mode, json!({}));
    let to = person(server, &format!("r{index}"), cell.to_mode, json!({}));
    let text = format!("hello from cell {index}");
    let reply = format!("reply in cell {index}");
    match (cell.from_client, cell.verdict.outcome) {
        (Client::Teams, Outcome::Refused(refusal)) => {
            let token = login(server, &from);
            let answer = chat(server, &token, &[&to]);
            ensure!(
                answer.status == 403 && answer.body["code"] == refusal.code.to_string(),
                "expected a 403 {} problem, got {} {}",
                refusal.code,
                answer.status,
                answer.body
            );
            Ok(())
        }
        (Client::Sfb, Outcome::Refused(refusal)) => {
            let answered = sfb.im(&from, &to, "text/plain", &text);
            ensure!(
                answered.status == Some(403)
                    && answered
                        .warning
                        .as_deref()
                        .is_some_and(|w| w.contains(&refusal.code.to_string())),
                "expected 403 with a Warning naming {}, got {answered:?}",
                refusal.code
            );
            Ok(())
        }
        // Teams to teams (native): the WebSocket both ways.
        (
            Client::Teams,
            Outcome::Lands {
                client: Client::Teams,
                method,
            },
        ) => {
            let (a, b) = (login(server, &from), login(server, &to));
            let (mut a_events, mut b_events) = (
                Events::open(server, &a, None),
                Events::open(server, &b, None),
            );
            let id = open_chat(server, &a, &to, method)?;
            let sent = send(server, &a, &id, &text);
            ensure!(sent.status == 201, "send: {} {}", sent.status, sent.body);
            ensure!(
                sent.body["deliveries"][0]["state"] == "delivered",
                "teams delivery {}",
                sent.body["deliveries"]
            );
            let got = message_from(&mut b_events, &from, Some(&id))?;
            ensure!(got["body"]["content"] == text.as_str(), "got {got}");
            let back = send(server, &b, &id, &reply);
            ensure!(back.status == 201, "reply: {} {}", back.status, back.body);
            let got = message_from(&mut a_events, &to, Some(&id))?;
            ensure!(got["body"]["content"] == reply.as_str(), "reply got {got}");
            Ok(())
        }
        // Teams to sfb (interop): MESSAGE from sip:SENDER, plain text
        // (R5.1); delivered; the sfb reply lands in the same thread (R4.3).
        (
            Client::Teams,
            Outcome::Lands {
                client: Client::Sfb,
                method,
            },
        ) => {
            let port = free_port();
            ensure!(sfb.register(&to, port), "{to} could not register");
            let a = login(server, &from);
            let mut a_events = Events::open(server, &a, None);
            let id = open_chat(server, &a, &to, method)?;
            let inbox = sfb.inbox(port, 1);
            let sent = server.call(
                "POST",
                &format!("/v1/chats/{id}/messages"),
                Some(&a),
                Some(json!({"body": {"contentType": "html", "content": format!("<p><b>hello</b> from cell {index}</p>")}})),
            );
            ensure!(sent.status == 201, "send: {} {}", sent.status, sent.body);
            ensure!(
                sent.body["converted_from"] == "html",
                "R5.1 marker: {}",
                sent.body
            );
            let message_id = sent.body["id"].as_i64().unwrap_or_default();
            let (ok, log) = inbox.finish();
            let got = received_messages(&log);
            ensure!(ok && got.len() == 1, "the sfb client got {got:?}");
            let (from_header, content_type, body) = &got[0];
            ensure!(
                from_header.contains(&format!("sip:{from}")),
                "From: {from_header}"
            );
            ensure!(
                content_type.starts_with("text/plain"),
                "type {content_type}"
            );
            ensure!(body == &text, "body {body:?}");
            wait_delivery(server, &a, &id, message_id, &to, "delivered")?;
            let answered = sfb.im(&to, &from, "text/plain", &reply);
            ensure!(answered.status == Some(200), "reply answered {answered:?}");
            let got = message_from(&mut a_events, &to, Some(&id))?;
            ensure!(got["body"]["content"] == reply.as_str(), "reply got {got}");
            Ok(())
        }
        // Sfb to sfb (native): MESSAGE to the recipient's client and back.
        (
            Client::Sfb,
            Outcome::Lands {
                client: Client::Sfb,
                ..
            },
        ) => {
            let (from_port, to_port) = (free_port(), free_port());
            ensure!(sfb.register(&from, from_port), "{from} could not register");
            ensure!(sfb.register(&to, to_port), "{to} could not register");
            for (a, b, port, body) in [
                (&from, &to, to_port, &text),
                (&to, &from, from_port, &reply),
            ] {
                let inbox = sfb.inbox(port, 1);
                let answered = sfb.im(a, b, "text/plain", body);
                ensure!(answered.status == Some(200), "{a} → {b}: {answered:?}");
                let (ok, log) = inbox.finish();
                let got = received_messages(&log);
                ensure!(
                    ok && got.len() == 1
                        && got[0].2 == *body
                        && got[0].0.contains(&format!("sip:{a}")),
                    "{b}'s sfb client got {got:?}"
                );
            }
            Ok(())
        }
        // Sfb to teams (interop): kept in a teams thread of that method
        // (R4.1) before the 200; the teams reply reaches the sfb client.
        (
            Client::Sfb,
            Outcome::Lands {
                client: Client::Teams,
                method,
            },
        ) => {
            let from_port = free_port();
            ensure!(sfb.register(&from, from_port), "{from} could not register");
            let b = login(server, &to);
            let mut b_events = Events::open(server, &b, None);
            let answered = sfb.im(&from, &to, "text/plain", &text);
            ensure!(answered.status == Some(200), "answered {answered:?}");
            let got = message_from(&mut b_events, &from, None)?;
            ensure!(got["body"]["content"] == text.as_str(), "got {got}");
            let id = got["chat_id"].as_str().unwrap_or_default().to_owned();
            let thread = server.call("GET", &format!("/v1/chats/{id}"), Some(&b), None);
            ensure!(
                thread.status == 200 && thread.body["method"] == method.to_string(),
                "thread {}",
                thread.body
            );
            let inbox = sfb.inbox(from_port, 1);
            let back = send(server, &b, &id, &reply);
            ensure!(back.status == 201, "reply: {} {}", back.status, back.body);
            let message_id = back.body["id"].as_i64().unwrap_or_default();
            let (ok, log) = inbox.finish();
            let got = received_messages(&log);
            ensure!(
                ok && got.len() == 1
                    && got[0].2 == reply
                    && got[0].0.contains(&format!("sip:{to}")),
                "{from}'s sfb client got {got:?}"
            );
            wait_delivery(server, &b, &id, message_id, &from, "delivered")?;
            Ok(())
        }
    }
}

#[test]
fn r3_every_in_tenant_online_cell_of_tables_1a_to_1c_reaches_the_recipient_and_back() {
    let (_dir, server, sfb) = world(&[]);
    // The cells as the policy crate computes them (its own tests check
    // them against RULES.md cell for cell): in-tenant, originator online.
    let cells: Vec<RoutingCell> = routing_cells()
        .filter(|c| c.scope == Scope::InTenant && c.from_homing == Homing::Online)
        .collect();
    assert_eq!(
        cells.len(),
        6 * 5,
        "6 online originator rows × 5 recipient modes"
    );
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(cells.iter().enumerate());
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                loop {
                    let Some((index, cell)) = next.lock().unwrap().next() else {
                        break;
                    };
                    if let Err(why) = run_cell(&server, &sfb, index, cell) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: {why}", cell_name(cell)));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    all_cells_pass(&failures, cells.len());
}

/// The cells the table refuses or leaves out, on both protocols: R3.2 (a
/// teams originator homed onprem, table 1b), R2.1/R3.5 (an SfB* user on
/// teams, a TeamsOnly user on sfb).
#[test]
fn r3_2_and_r2_1_refusals_reach_the_client_with_their_code_on_both_protocols() {
    let (_dir, server, sfb) = world(&[]);
    let erin = person(
        &server,
        "erin",
        Mode::Islands,
        json!({"sfb_homing": "onprem"}),
    );
    let carol = person(&server, "carol", Mode::SfBWithTeamsCollab, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let dave = person(&server, "dave", Mode::Islands, json!({}));

    let erin_token = login(&server, &erin);
    let refused = problem(
        &chat(&server, &erin_token, &[&carol]),
        403,
        "OriginatorHomedOnPrem",
    );
    assert_eq!(refused["rule"], "R3.2");
    // teams → teams in-tenant is always possible (R3.2).
    assert_eq!(
        expect(&chat(&server, &erin_token, &[&bob]), 201)["method"],
        "native"
    );

    let carol_token = login(&server, &carol);
    let refused = problem(
        &chat(&server, &carol_token, &[&dave]),
        403,
        "ClientDisabledByMode",
    );
    assert_eq!(refused["rule"], "R2.1");

    let answered = sfb.im(&bob, &dave, "text/plain", "from a TeamsOnly sfb client");
    assert_eq!(answered.status, Some(403), "{answered:?}");
    let warning = answered.warning.expect("a Warning header");
    assert!(
        warning.starts_with("399 coexist \"ClientDisabledByMode (R2.1)"),
        "{warning}"
    );
}

/// R5.1 on the way to sfb (markdown), R5.2 on both protocols (attachments
/// over HTTP, a file MESSAGE over SIP), R5.3 (a group with a member on the
/// other client).
#[test]
fn r5_interop_limits_hold_on_both_protocols() {
    let (_dir, server, sfb) = world(&[]);
    let alice = person(&server, "alice", Mode::Islands, json!({}));
    let carol = person(&server, "carol", Mode::SfBOnly, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let carol_port = free_port();
    assert!(sfb.register(&carol, carol_port));
    let a = login(&server, &alice);
    let id = expect(&chat(&server, &a, &[&carol]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // R5.2 over HTTP: refused, nothing stored, nothing reaches sfb.
    let before = expect(
        &server.call("GET", &format!("/v1/chats/{id}/messages"), Some(&a), None),
        200,
    )["value"]
        .as_array()
        .unwrap()
        .len();
    let refused = server.call(
        "POST",
        &format!("/v1/chats/{id}/messages"),
        Some(&a),
        Some(json!({"body": {"contentType": "text", "content": "see file"},
                    "attachments": [{"name": "plan.pdf", "contentUrl": "https://x.test/plan.pdf"}]})),
    );
    let body = problem(&refused, 403, "AttachmentNotAllowedOnInterop");
    assert_eq!(body["rule"], "R5.2");
    let after = expect(
        &server.call("GET", &format!("/v1/chats/{id}/messages"), Some(&a), None),
        200,
    )["value"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "nothing half-sent");

    // R5.1: markdown reaches the sfb client as its words, plain.
    let inbox = sfb.inbox(carol_port, 1);
    let sent = server.call(
        "POST",
        &format!("/v1/chats/{id}/messages"),
        Some(&a),
        Some(json!({"body": {"contentType": "markdown", "content": "**Ship** it _today_"}})),
    );
    assert_eq!(expect(&sent, 201)["converted_from"], "markdown");
    let (ok, log) = inbox.finish();
    let got = received_messages(&log);
    assert!(ok, "{got:?}");
    assert_eq!(got.len(), 1);
    assert!(got[0].1.starts_with("text/plain"), "{got:?}");
    assert_eq!(got[0].2, "Ship it today");

    // R5.2 over SIP: a file body from sfb to a teams recipient is refused
    // with its code; nothing reaches teams.
    let b = login(&server, &bob);
    let mut b_events = Events::open(&server, &b, None);
    let answered = sfb.im(&carol, &bob, "application/octet-stream", "PK-not-text");
    assert_eq!(answered.status, Some(415), "{answered:?}");
    let warning = answered.warning.expect("Warning");
    assert!(
        warning.contains("AttachmentNotAllowedOnInterop (R5.2)"),
        "{warning}"
    );
    // R5.1 the other way: html from sfb arrives as plain text.
    let answered = sfb.im(&carol, &bob, "text/html", "<b>plain</b> words");
    assert_eq!(answered.status, Some(200), "{answered:?}");
    let got = message_from(&mut b_events, &carol, None).unwrap();
    assert_eq!(got["body"]["content"], "plain words");
    assert_eq!(got["body"]["contentType"], "text");

    // R5.3: a group holds members of one client only.
    let refused = chat(&server, &a, &[&bob, &carol]);
    let body = problem(&refused, 403, "ParticipantOnOtherClient");
    assert_eq!(body["rule"], "R5.3");
}

/// R4.2: a grant changed through the admin API mid-conversation disables
/// the thread; the next message is refused with the new-thread hint (and
/// the user, now TeamsOnly, can no longer chat from sfb: R2.1). The
/// inferred half: a native thread to a user who moved to SfB*.
#[test]
fn r4_2_a_grant_change_mid_conversation_refuses_the_next_message_with_the_new_thread() {
    let (_dir, server, sfb) = world(&[]);
    let alice = person(&server, "alice", Mode::Islands, json!({}));
    let carol = person(&server, "carol", Mode::SfBWithTeamsCollab, json!({}));
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let dave = person(&server, "dave", Mode::Islands, json!({}));
    let carol_port = free_port();
    assert!(sfb.register(&carol, carol_port));
    let a = login(&server, &alice);
    let created = chat(&server, &a, &[&carol]);
    assert_eq!(expect(&created, 201)["method"], "interop");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let inbox = sfb.inbox(carol_port, 1);
    expect(&send(&server, &a, &id, "before the upgrade"), 201);
    assert_eq!(received_messages(&inbox.finish().1).len(), 1);
    // carol's reply in the session lands in the thread (R4.3).
    assert_eq!(sfb.im(&carol, &alice, "text/plain", "ok").status, Some(200));

    expect(
        &server::grant(&server, &carol, json!("UpgradeToTeams")),
        200,
    );
    let refused = send(&server, &a, &id, "after the upgrade");
    let body = problem(&refused, 409, "ThreadDisabled");
    assert_eq!(body["rule"], "R4.2");
    let replaced_by = body["replaced_by"]
        .as_str()
        .expect("the new thread")
        .to_owned();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("new"),
        "{body}"
    );
    let old = expect(
        &server.call("GET", &format!("/v1/chats/{id}"), Some(&a), None),
        200,
    )
    .clone();
    assert_eq!(old["state"], "disabled");
    // The new thread goes to carol's teams client now (table 1c).
    let new = expect(
        &server.call("GET", &format!("/v1/chats/{replaced_by}"), Some(&a), None),
        200,
    )
    .clone();
    assert_eq!(new["replaces"], id.as_str());
    assert_eq!(new["method"], "native");
    expect(&send(&server, &a, &replaced_by, "in the new thread"), 201);
    // From sfb, carol (TeamsOnly now) is refused with the rule.
    let answered = sfb.im(&carol, &alice, "text/plain", "still on sfb");
    assert_eq!(answered.status, Some(403), "{answered:?}");
    assert!(
        answered
            .warning
            .unwrap_or_default()
            .contains("ClientDisabledByMode (R2.1)"),
    );

    // The other direction: an sfb reply inside its R4.3 session follows
    // the conversation to teams, which a grant has since made impossible
    // (frank's teams client no longer chats): refused with R4.2's code.
    let frank = person(&server, "frank", Mode::Islands, json!({}));
    let gail = person(&server, "gail", Mode::SfBWithTeamsCollab, json!({}));
    let gail_port = free_port();
    assert!(sfb.register(&gail, gail_port));
    let f = login(&server, &frank);
    let created = chat(&server, &f, &[&gail]);
    let id = expect(&created, 201)["id"].as_str().unwrap().to_owned();
    let inbox = sfb.inbox(gail_port, 1);
    expect(&send(&server, &f, &id, "before frank moves"), 201);
    assert_eq!(received_messages(&inbox.finish().1).len(), 1);
    expect(&server::grant(&server, &frank, json!("SfBOnly")), 200);
    let answered = sfb.im(&gail, &frank, "text/plain", "a reply in the session");
    assert_eq!(answered.status, Some(403), "{answered:?}");
    assert!(
        answered
            .warning
            .unwrap_or_default()
            .contains("ThreadDisabled (R4.2)"),
    );

    // (inferred) a native thread bob → dave, then dave moves to SfBOnly.
    let b = login(&server, &bob);
    let created = chat(&server, &b, &[&dave]);
    assert_eq!(expect(&created, 201)["method"], "native");
    let id = created.body["id"].as_str().unwrap().to_owned();
    expect(&send(&server, &b, &id, "native first"), 201);
    expect(&server::grant(&server, &dave, json!("SfBOnly")), 200);
    let body = problem(
        &send(&server, &b, &id, "native after"),
        409,
        "ThreadDisabled",
    );
    assert_eq!(body["rule"], "R4.2");
    assert!(body["replaced_by"].is_string(), "{body}");
}
