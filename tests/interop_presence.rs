//! Presence across clients through the real `coexist serve` (issue 6,
//! RULES R7): every in-tenant cell of table 3 with a real watcher on each
//! client (the teams client over HTTP and the WebSocket, the sfb client as
//! sipp SUBSCRIBE/NOTIFY), R7.1 (an Islands user's two presences), R7.3
//! (Offline without a live endpoint), and changes reaching watchers on the
//! other client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_support;
mod server;
mod teams_support;

use coexist_policy::matrix::presence_cells;
use coexist_policy::{Client, Mode, Scope};
use interop_support::{all_cells_pass, free_port, notified, person, world};
use serde_json::{Value, json};
use server::expect;
use std::collections::HashMap;
use teams_support::{Events, login};

fn teams_presence(server: &server::Server, token: &str, upn: &str) -> Value {
    expect(
        &server.call(
            "GET",
            &format!("/v1/users/{upn}/presence"),
            Some(token),
            None,
        ),
        200,
    )
    .clone()
}

/// The next `presence` event about `upn` whose availability is `wanted`.
fn presence_event(events: &mut Events, upn: &str, wanted: &str) -> Value {
    loop {
        let event = events.next_of("presence");
        if event["presence"]["upn"] == upn && event["presence"]["availability"] == wanted {
            return event["presence"].clone();
        }
    }
}

/// Table 3: each publisher mode shows one presence on its teams client
/// (Away, note `teams-side`) and another on its sfb client (Busy, note
/// `sfb-side`); a teams watcher and an sfb watcher see the one the table
/// names. For an Islands publisher the two differ (R7.1).
#[test]
fn r7_1_every_in_tenant_cell_of_table_3_shows_the_watcher_the_client_the_table_names() {
    let (_dir, server, sfb) = world(&[]);
    let teams_watcher = person(&server, "tw", Mode::Islands, json!({}));
    let sfb_watcher = person(&server, "sw", Mode::Islands, json!({}));
    let watcher_token = login(&server, &teams_watcher);
    let modes = [
        Mode::Islands,
        Mode::SfBOnly,
        Mode::SfBWithTeamsCollab,
        Mode::SfBWithTeamsCollabAndMeetings,
        Mode::TeamsOnly,
    ];
    // Each publisher: live on both clients with different states. A side
    // the mode does not show may refuse the publication; only the side the
    // table names is asserted.
    let mut publishers = HashMap::new();
    let mut sockets = Vec::new();
    for (index, mode) in modes.into_iter().enumerate() {
        let upn = person(&server, &format!("p{index}"), mode, json!({}));
        let port = free_port();
        assert!(sfb.register(&upn, port), "{upn} registers");
        sfb.publish(&upn, port, "busy", "sfb-side");
        let token = login(&server, &upn);
        sockets.push(Events::open(&server, &token, None));
        server.call(
            "PUT",
            "/v1/me/presence",
            Some(&token),
            Some(json!({"availability": "Away", "note": "teams-side"})),
        );
        publishers.insert(mode, upn);
    }
    let cells: Vec<_> = presence_cells()
        .filter(|c| c.scope == Scope::InTenant)
        .collect();
    assert_eq!(cells.len(), 2 * 5);
    let mut failures = Vec::new();
    for cell in &cells {
        let upn = &publishers[&cell.publisher_mode];
        let (availability, side) = match cell.shows {
            Client::Teams => ("Away", "teams-side"),
            Client::Sfb => ("Busy", "sfb-side"),
        };
        let name = format!(
            "table 3: {} watcher of {}",
            cell.watcher_client, cell.publisher_mode
        );
        match cell.watcher_client {
            Client::Teams => {
                let seen = teams_presence(&server, &watcher_token, upn);
                if seen["client"] != cell.shows.to_string()
                    || seen["availability"] != availability
                    || seen["note"] != side
                {
                    failures.push(format!("{name}: table says {}, saw {seen}", cell.shows));
                }
            }
            Client::Sfb => {
                let (ok, log) = sfb.watch(&sfb_watcher, upn, free_port(), 0).finish();
                let notes = notified(&log);
                let wanted = format!("{availability}: {side}");
                if !ok || notes.first() != Some(&wanted) {
                    failures.push(format!(
                        "{name}: table says {} ({wanted}), NOTIFY showed {notes:?}",
                        cell.shows
                    ));
                }
            }
        }
    }
    all_cells_pass(&failures, cells.len());
}

/// An sfb watcher of a TeamsOnly user gets a NOTIFY when the teams
/// presence changes (`PUT /v1/me/presence`), and another when the teams
/// client goes away (R7.3: Offline).
#[test]
fn r7_an_sfb_watcher_of_a_teams_only_user_is_notified_of_each_teams_presence_change() {
    let (_dir, server, sfb) = world(&[]);
    let bob = person(&server, "bob", Mode::TeamsOnly, json!({}));
    let carol = person(&server, "carol", Mode::SfBOnly, json!({}));
    let b = login(&server, &bob);
    let bob_client = Events::open(&server, &b, None);
    let watch = sfb.watch(&carol, &bob, free_port(), 1);
    assert!(watch.wait_received("NOTIFY", 1), "the first NOTIFY");
    expect(
        &server.call(
            "PUT",
            "/v1/me/presence",
            Some(&b),
            Some(json!({"availability": "Busy", "note": "in a call"})),
        ),
        200,
    );
    let (ok, log) = watch.finish();
    assert!(ok);
    assert_eq!(notified(&log), ["Available", "Busy: in a call"]);

    let watch = sfb.watch(&carol, &bob, free_port(), 1);
    assert!(watch.wait_received("NOTIFY", 1));
    bob_client.close();
    let (ok, log) = watch.finish();
    assert!(ok);
    assert_eq!(notified(&log), ["Busy: in a call", "Offline: in a call"]);
}

/// A teams watcher of an SfB* user sees Offline while the user has no sfb
/// registration (R7.3), then what the user's sfb client PUBLISHes, as
/// `presence` events on the WebSocket.
#[test]
fn r7_3_a_teams_watcher_of_an_sfb_user_sees_offline_then_what_the_sfb_client_publishes() {
    let (_dir, server, sfb) = world(&[]);
    let alice = person(&server, "alice", Mode::Islands, json!({}));
    let carol = person(&server, "carol", Mode::SfBWithTeamsCollab, json!({}));
    let a = login(&server, &alice);
    let seen = teams_presence(&server, &a, &carol);
    assert_eq!(seen["client"], "sfb");
    assert_eq!(seen["availability"], "Offline");
    let mut events = Events::open(&server, &a, None);

    let port = free_port();
    assert!(sfb.register(&carol, port));
    presence_event(&mut events, &carol, "Available");
    assert!(sfb.publish(&carol, port, "busy", "on the phone"));
    let shown = presence_event(&mut events, &carol, "Busy");
    assert_eq!(shown["note"], "on the phone");
    assert_eq!(shown["client"], "sfb");
    assert!(sfb.unregister(&carol, port));
    presence_event(&mut events, &carol, "Offline");
}
