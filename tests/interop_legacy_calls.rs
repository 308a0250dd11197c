//! Calls between users under the legacy 2017 TeamsInteropPolicy through the
//! real binary (issue 6): a call to a user whose policy decides their calls
//! lands by R9.1 (the receiver's CallingDefaultClient) — a teams caller
//! reaches a CallingDefaultClient SfB user on their sfb client (sipp), an
//! sfb caller (sipp) reaches a CallingDefaultClient Teams user on teams —
//! and by the user's own calling client once they choose one (R9.2), as
//! the admin's explain view says. The R9.2 choice also comes in a CSV
//! import.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_calls_support;
mod server;
mod teams_support;

use interop_calls_support::{
    ANSWER, Sipp, call_id, connected_to_sfb, done, free_port, place, until,
};
use serde_json::{Value, json};
use server::{Server, expect, problem, user};
use teams_support::{Events, PASSWORD, login, world};

const RITA: &str = "rita@contoso.test";
const DAVE: &str = "dave@contoso.test";

/// rita holds the legacy policy `policy`.
fn rita_holds(s: &Server, policy: &str) {
    let answer = s.admin(
        "PUT",
        &format!("/v1/users/{RITA}/interop-policy"),
        Some(json!({"policy": policy})),
    );
    expect(&answer, 200);
}

/// Where explain says a call from `from`'s `client` to rita lands.
fn explained(s: &Server, from: &str, client: &str) -> Value {
    let answer = s.admin(
        "GET",
        &format!("/v1/routing/explain?from={from}&client={client}&to={RITA}"),
        None,
    );
    expect(&answer, 200)["legacy_calls"]["call"].clone()
}

/// dave's sfb client calls rita and her teams client rings (never her sfb
/// client: nothing answers there); she answers, dave hangs up. The call as
/// it rang.
#[track_caller]
fn dave_rings_ritas_teams(s: &Server, sipp: &Sipp, rita: &str, ritas: &mut Events) -> Value {
    let answered = [("answer", "o=teamsanswer")];
    let caller = sipp.caller("uac_bye.xml", DAVE, "rita", &answered);
    let rings = until(ritas, None, "incoming");
    let id = rings["id"].as_str().unwrap().to_owned();
    done(s, rita, &id, "answer", json!({"sdp": ANSWER}));
    caller.succeeds();
    assert_eq!(until(ritas, Some(&id), "ended")["end_reason"], "hangup");
    rings
}

#[test]
fn r9_1_r9_2_calls_to_a_legacy_policy_user_land_by_their_calling_client() {
    let (dir, s) = world(&[]);
    let sipp = Sipp::new(&s, dir.path());
    // rita: Islands, her sfb client registered.
    user(&s, "contoso", RITA, json!({"password": PASSWORD}));
    let ritas_sfb = free_port();
    sipp.register(RITA, ritas_sfb);
    let at_ritas_sfb = |caller: &str, offer: &str| {
        let keys = [("caller", caller), ("offer", offer), ("ruri", "rita@")];
        sipp.callee("uas_answer.xml", ritas_sfb, &keys)
    };
    let alice = login(&s, "alice@contoso.test");
    let mut alices = Events::open(&s, &alice, None);

    // R9.1, teams row × SfB: alice's teams call goes to rita's sfb client
    // (interop, through the B2BUA); it answers with its SDP. R3 alone
    // would have rung rita's teams client (1a).
    rita_holds(&s, "DisallowOverrideCallingSfbChatSfb");
    let said = explained(&s, "alice@contoso.test", "teams");
    assert_eq!(
        (&said["lands_on"], &said["method"]),
        (&json!("sfb"), &json!("interop"))
    );
    let callee = at_ritas_sfb("alice@contoso.test", "o=teamscaller");
    let placed = place(&s, &alice, RITA);
    let id = call_id(&placed);
    assert_eq!(placed.body["to_client"], "sfb");
    assert_eq!(placed.body["method"], "interop");
    connected_to_sfb(&mut alices, &id);
    done(&s, &alice, &id, "hangup", json!({}));
    callee.succeeds();

    // R9.1, sfb row × Teams: dave's sfb call rings rita's teams client
    // (interop, through the bridge).
    rita_holds(&s, "DisallowOverrideCallingTeamsChatTeams");
    assert_eq!(explained(&s, DAVE, "sfb")["lands_on"], "teams");
    let rita = login(&s, RITA);
    let mut ritas = Events::open(&s, &rita, None);
    let rang = dave_rings_ritas_teams(&s, &sipp, &rita, &mut ritas);
    assert_eq!(
        (&rang["from"], &rang["from_client"], &rang["to_client"]),
        (&json!(DAVE), &json!("sfb"), &json!("teams"))
    );
    assert_eq!(rang["method"], "interop");

    // R9.2: under a policy that lets her choose (CallingDefaultClient
    // Default), dave's sfb call lands on her sfb client...
    rita_holds(&s, "AllowOverrideCallingDefaultChatTeams");
    assert_eq!(explained(&s, DAVE, "sfb")["lands_on"], "sfb");
    let callee = at_ritas_sfb(DAVE, "o=sfbcaller");
    let answered = [("answer", "o=sfbcallee")];
    sipp.caller("uac_bye.xml", DAVE, "rita", &answered)
        .succeeds();
    callee.succeeds();
    // ...until she chooses teams: the same call now rings her teams client.
    let chosen = json!({"client": "teams"});
    let chosen = s.call("PUT", "/v1/me/calling-client", Some(&rita), Some(chosen));
    expect(&chosen, 200);
    let said = explained(&s, DAVE, "sfb");
    assert_eq!(said["lands_on"], "teams");
    assert_eq!(said["rules"][0], "R9.2");
    let rang = dave_rings_ritas_teams(&s, &sipp, &rita, &mut ritas);
    assert_eq!(rang["to_client"], "teams");

    // The R9.2 choice comes in a CSV import too: a bad value is an error on
    // its line, naming the column; nothing is imported until it is right.
    let import = |csv: &str| {
        let path = "/v1/tenants/contoso/users/import";
        s.raw(
            "POST",
            path,
            Some(&s.token),
            Some(csv.as_bytes()),
            "text/csv",
        )
    };
    let bad = "upn,preferred_calling_client\numa@contoso.test,teams\nvic@contoso.test,fax\n";
    let refused = problem(&import(bad), 422, "ImportRejected");
    let errors = refused["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{refused}");
    assert_eq!(
        (&errors[0]["line"], &errors[0]["field"]),
        (&json!(3), &json!("preferred_calling_client"))
    );
    let good = "upn,preferred_calling_client\numa@contoso.test,teams\nvic@contoso.test,\n";
    expect(&import(good), 200);
    let uma = s.admin("GET", "/v1/users/uma@contoso.test", None);
    assert_eq!(expect(&uma, 200)["preferred_calling_client"], "teams");
    assert!(s.stop().success());
}
