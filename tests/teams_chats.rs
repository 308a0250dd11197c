//! Chats and messages through the real binary over HTTP: routing at
//! creation (R3), the method kept for life (R4.1), threads disabled and
//! linked after a grant change (R4.2), the R5 limits on non-native threads,
//! refusals with their codes, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server;
mod teams_support;

use serde_json::json;
use server::{expect, grant, problem};
use teams_support::{chat, login, send, world};

#[test]
fn r3_1_chats_land_where_the_rules_say_and_r4_1_keep_their_method() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    // Islands teams → Islands in-tenant: teams, native.
    let native = chat(&s, &alice, &["dave@contoso.test"]);
    let native = expect(&native, 201).clone();
    assert_eq!(native["method"], "native");
    assert_eq!(native["state"], "active");
    assert_eq!(
        native["members"][1],
        json!({"upn": "dave@contoso.test", "client": "teams"})
    );
    // → SfB*: sfb, interop.
    let interop = expect(&chat(&s, &alice, &["carol@contoso.test"]), 201).clone();
    assert_eq!(interop["method"], "interop");
    assert_eq!(interop["members"][1]["client"], "sfb");
    // → federated Islands: always sfb (R3.1), federated.
    let federated = expect(&chat(&s, &alice, &["frank@fabrikam.test"]), 201).clone();
    assert_eq!(federated["method"], "federated");
    assert_eq!(federated["members"][1]["client"], "sfb");
    // → federated TeamsOnly: teams.
    let to_gina = expect(&chat(&s, &alice, &["gina@fabrikam.test"]), 201).clone();
    assert_eq!(to_gina["members"][1]["client"], "teams");

    // R4.1: a 1:1 chat with the same person returns the same thread.
    let again = chat(&s, &alice, &["DAVE@contoso.test", "alice@contoso.test"]);
    assert_eq!(expect(&again, 200)["id"], native["id"]);
    let listed = s.call("GET", "/v1/chats", Some(&alice), None);
    assert_eq!(expect(&listed, 200)["value"].as_array().unwrap().len(), 4);
    let one = s.call(
        "GET",
        &format!("/v1/chats/{}", interop["id"].as_str().unwrap()),
        Some(&alice),
        None,
    );
    assert_eq!(expect(&one, 200)["method"], "interop");
}

#[test]
fn r3_2_r2_1_refusals_carry_their_codes_and_nothing_is_created() {
    let (_dir, s) = world(&[]);
    // erin is homed onprem: from teams, no interop (R3.2) and no federation.
    let erin = login(&s, "erin@contoso.test");
    let refused = problem(
        &chat(&s, &erin, &["carol@contoso.test"]),
        403,
        "OriginatorHomedOnPrem",
    );
    assert_eq!(refused["rule"], "R3.2");
    assert_eq!(refused["upn"], "carol@contoso.test");
    problem(
        &chat(&s, &erin, &["frank@fabrikam.test"]),
        403,
        "OriginatorHomedOnPrem",
    );
    // teams → teams in-tenant is always possible.
    expect(&chat(&s, &erin, &["dave@contoso.test"]), 201);
    // carol (SfB*) cannot chat from teams (R2.1).
    let carol = login(&s, "carol@contoso.test");
    let refused = problem(
        &chat(&s, &carol, &["alice@contoso.test"]),
        403,
        "ClientDisabledByMode",
    );
    assert_eq!(refused["rule"], "R2.1");
    let listed = s.call("GET", "/v1/chats", Some(&carol), None);
    assert!(expect(&listed, 200)["value"].as_array().unwrap().is_empty());
    // Unknown people and bad input name the field; nothing changes.
    let alice = login(&s, "alice@contoso.test");
    problem(
        &chat(&s, &alice, &["nobody@contoso.test"]),
        404,
        "UnknownUser",
    );
    let bad = problem(
        &chat(&s, &alice, &["alice@contoso.test"]),
        400,
        "InvalidField",
    );
    assert_eq!(bad["field"], "members");
    let bad = s.call(
        "POST",
        "/v1/chats",
        Some(&alice),
        Some(json!({"members": "dave"})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "members");
    let bad = s.call(
        "POST",
        "/v1/chats",
        Some(&alice),
        Some(json!({"members": [], "colour": 1})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "colour");
    let listed = s.call("GET", "/v1/chats", Some(&alice), None);
    assert!(expect(&listed, 200)["value"].as_array().unwrap().is_empty());
}

#[test]
fn r5_3_group_chats_hold_only_members_on_teams() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let group = chat(&s, &alice, &["dave@contoso.test", "bob@contoso.test"]);
    let group = expect(&group, 201).clone();
    assert_eq!(group["kind"], "group");
    assert_eq!(group["method"], "native");
    // carol would land on sfb: refused, naming her; nothing created.
    let refused = problem(
        &chat(&s, &alice, &["dave@contoso.test", "carol@contoso.test"]),
        403,
        "ParticipantOnOtherClient",
    );
    assert_eq!(refused["rule"], "R5.3");
    assert_eq!(refused["upn"], "carol@contoso.test");
    let listed = s.call("GET", "/v1/chats", Some(&alice), None);
    assert_eq!(expect(&listed, 200)["value"].as_array().unwrap().len(), 1);
    // Adding someone later follows the same rule.
    let members = format!("/v1/chats/{}/members", group["id"].as_str().unwrap());
    let refused = s.call(
        "POST",
        &members,
        Some(&alice),
        Some(json!({"upn": "carol@contoso.test"})),
    );
    assert_eq!(
        problem(&refused, 403, "ParticipantOnOtherClient")["rule"],
        "R5.3"
    );
    let added = s.call(
        "POST",
        &members,
        Some(&alice),
        Some(json!({"upn": "erin@contoso.test"})),
    );
    assert_eq!(expect(&added, 200)["members"].as_array().unwrap().len(), 4);
    // R4.1: a federated member would change the native chat's method.
    let other_method = s.call(
        "POST",
        &members,
        Some(&alice),
        Some(json!({"upn": "gina@fabrikam.test"})),
    );
    let refused = problem(&other_method, 409, "MethodWouldChange");
    assert_eq!(refused["rule"], "R4.1");
    assert_eq!(refused["upn"], "gina@fabrikam.test");
    let erin = login(&s, "erin@contoso.test");
    let seen = s.call(
        "GET",
        &format!("/v1/chats/{}", group["id"].as_str().unwrap()),
        Some(&erin),
        None,
    );
    assert_eq!(expect(&seen, 200)["kind"], "group");
    // Everyone on teams in the group gets to read it.
    let bob = login(&s, "bob@contoso.test");
    let id = group["id"].as_str().unwrap();
    expect(&send(&s, &bob, id, "hello group"), 201);
    let read = s.call(
        "GET",
        &format!("/v1/chats/{id}/messages"),
        Some(&alice),
        None,
    );
    assert_eq!(
        expect(&read, 200)["value"][0]["body"]["content"],
        "hello group"
    );
}

#[test]
fn r5_1_rich_text_on_non_native_threads_becomes_plain_text_marked_in_the_message() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let interop = expect(&chat(&s, &alice, &["carol@contoso.test"]), 201)["id"].clone();
    let native = expect(&chat(&s, &alice, &["dave@contoso.test"]), 201)["id"].clone();
    let html =
        json!({"body": {"contentType": "html", "content": "<p>Ship <b>it</b> &amp; smile</p>"}});
    let sent = s.call(
        "POST",
        &format!("/v1/chats/{}/messages", interop.as_str().unwrap()),
        Some(&alice),
        Some(html.clone()),
    );
    let sent = expect(&sent, 201).clone();
    assert_eq!(
        sent["body"],
        json!({"contentType": "text", "content": "Ship it & smile"})
    );
    assert_eq!(sent["converted_from"], "html");
    let markdown = json!({"body": {"contentType": "markdown", "content": "**Ship** _it_ [now](https://x.test)"}});
    let sent = s.call(
        "POST",
        &format!("/v1/chats/{}/messages", interop.as_str().unwrap()),
        Some(&alice),
        Some(markdown),
    );
    let sent = expect(&sent, 201).clone();
    assert_eq!(sent["body"]["content"], "Ship it now (https://x.test)");
    assert_eq!(sent["converted_from"], "markdown");
    // A native thread keeps rich text as sent.
    let kept = s.call(
        "POST",
        &format!("/v1/chats/{}/messages", native.as_str().unwrap()),
        Some(&alice),
        Some(html),
    );
    let kept = expect(&kept, 201).clone();
    assert_eq!(kept["body"]["contentType"], "html");
    assert_eq!(kept["converted_from"], json!(null));
}

#[test]
fn r5_2_attachments_are_refused_on_interop_and_nothing_is_half_sent() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let interop = expect(&chat(&s, &alice, &["frank@fabrikam.test"]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_file = json!({"body": {"content": "see file"}, "attachments": [{"name": "a.pdf", "contentUrl": "https://x.test/a.pdf"}]});
    let path = format!("/v1/chats/{interop}/messages");
    let refused = problem(
        &s.call("POST", &path, Some(&alice), Some(with_file.clone())),
        403,
        "AttachmentNotAllowedOnInterop",
    );
    assert_eq!(refused["rule"], "R5.2");
    let read = s.call("GET", &path, Some(&alice), None);
    assert!(expect(&read, 200)["value"].as_array().unwrap().is_empty());
    // On a native thread the attachment is kept with the message.
    let native = expect(&chat(&s, &alice, &["dave@contoso.test"]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = s.call(
        "POST",
        &format!("/v1/chats/{native}/messages"),
        Some(&alice),
        Some(with_file),
    );
    assert_eq!(expect(&sent, 201)["attachments"][0]["name"], "a.pdf");
}

#[test]
fn r4_2_a_grant_change_mid_conversation_disables_the_thread_and_links_the_new_one() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let old = expect(&chat(&s, &alice, &["carol@contoso.test"]), 201).clone();
    let old_id = old["id"].as_str().unwrap().to_owned();
    assert_eq!(old["method"], "interop");
    expect(&send(&s, &alice, &old_id, "before the move"), 201);

    // The admin moves carol to TeamsOnly: the interop thread is no longer possible.
    expect(
        &grant(&s, "carol@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    let refused = problem(
        &send(&s, &alice, &old_id, "after the move"),
        409,
        "ThreadDisabled",
    );
    assert_eq!(refused["rule"], "R4.2");
    let new_id = refused["replaced_by"]
        .as_str()
        .expect("the thread to use instead")
        .to_owned();
    assert_ne!(new_id, old_id);

    let old = s.call("GET", &format!("/v1/chats/{old_id}"), Some(&alice), None);
    let old = expect(&old, 200).clone();
    assert_eq!(old["state"], "disabled");
    assert_eq!(old["replaced_by"], new_id.as_str());
    assert!(old["disabled_reason"].as_str().unwrap().contains("R4.2"));
    // Still readable: the history is not lost.
    let history = s.call(
        "GET",
        &format!("/v1/chats/{old_id}/messages"),
        Some(&alice),
        None,
    );
    assert_eq!(
        expect(&history, 200)["value"][0]["body"]["content"],
        "before the move"
    );

    let new = s.call("GET", &format!("/v1/chats/{new_id}"), Some(&alice), None);
    let new = expect(&new, 200).clone();
    assert_eq!(new["method"], "native");
    assert_eq!(new["replaces"], old_id.as_str());
    assert_eq!(new["members"][1]["client"], "teams");
    expect(&send(&s, &alice, &new_id, "after the move"), 201);
    // Asking for a chat with carol now gives the new thread, not a third one.
    assert_eq!(
        expect(&chat(&s, &alice, &["carol@contoso.test"]), 200)["id"],
        new_id.as_str()
    );
    // Posting to the old one stays refused, pointing at the new one.
    let again = problem(&send(&s, &alice, &old_id, "x"), 409, "ThreadDisabled");
    assert_eq!(again["replaced_by"], new_id.as_str());
}

#[test]
fn r4_2_inferred_a_native_thread_to_someone_moved_to_sfb_is_disabled() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let native = expect(&chat(&s, &alice, &["dave@contoso.test"]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(&grant(&s, "dave@contoso.test", json!("SfBOnly")), 200);
    let refused = problem(&send(&s, &alice, &native, "hi"), 409, "ThreadDisabled");
    // The new conversation lands on dave's sfb: an interop thread, linked.
    let new_id = refused["replaced_by"].as_str().unwrap().to_owned();
    let new = s.call("GET", &format!("/v1/chats/{new_id}"), Some(&alice), None);
    assert_eq!(expect(&new, 200)["method"], "interop");
}

#[test]
fn messages_to_sfb_stay_pending_per_recipient_and_page_newest_first() {
    let (_dir, s) = world(&[]);
    let alice = login(&s, "alice@contoso.test");
    let interop = expect(&chat(&s, &alice, &["carol@contoso.test"]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = send(&s, &alice, &interop, "to carol's sfb");
    assert_eq!(
        expect(&sent, 201)["deliveries"],
        json!([{"upn": "carol@contoso.test", "client": "sfb", "state": "pending"}])
    );
    let native = expect(&chat(&s, &alice, &["dave@contoso.test"]), 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..5 {
        let sent = send(&s, &alice, &native, &format!("m{i}"));
        assert_eq!(expect(&sent, 201)["deliveries"][0]["state"], "delivered");
    }
    let dave = login(&s, "dave@contoso.test");
    let page = s.call(
        "GET",
        &format!("/v1/chats/{native}/messages?limit=2"),
        Some(&dave),
        None,
    );
    let page = expect(&page, 200).clone();
    let contents: Vec<&str> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["m4", "m3"]);
    let next = page["nextLink"].as_str().unwrap();
    let page = s.call("GET", next, Some(&dave), None);
    let contents: Vec<String> = expect(&page, 200)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"]["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contents, ["m2", "m1"]);
    // Bad input: named fields, nothing stored.
    let bad = s.call(
        "POST",
        &format!("/v1/chats/{native}/messages"),
        Some(&alice),
        Some(json!({"body": {"contentType": "rtf", "content": "x"}})),
    );
    assert_eq!(
        problem(&bad, 400, "InvalidField")["field"],
        "body.contentType"
    );
    let bad = s.call(
        "POST",
        &format!("/v1/chats/{native}/messages"),
        Some(&alice),
        Some(json!({"body": {"content": "  "}})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "body.content");
    let bad = s.call(
        "GET",
        &format!("/v1/chats/{native}/messages?limit=0"),
        Some(&alice),
        None,
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "limit");
    let all = s.call(
        "GET",
        &format!("/v1/chats/{native}/messages?limit=200"),
        Some(&alice),
        None,
    );
    assert_eq!(expect(&all, 200)["value"].as_array().unwrap().len(), 5);
    // Someone else's chat does not exist for them.
    let bob = login(&s, "bob@contoso.test");
    problem(
        &s.call("GET", &format!("/v1/chats/{native}"), Some(&bob), None),
        404,
        "UnknownChat",
    );
    problem(&send(&s, &bob, &native, "intrude"), 404, "UnknownChat");
}
