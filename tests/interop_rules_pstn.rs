//! The phone network through the real binary, the gaps of issue 6: a PSTN
//! gateway configured by host name (resolved when set and at every start,
//! R6), `tel:` Request-URIs to and from it (RFC 3966), and a legacy-policy user's
//! calls landing by R9.1 — then by their own calling client once they
//! choose one (R9.2, `PUT /v1/me/calling-client`), as explain says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_calls_support;
mod server;
mod teams_support;

use interop_calls_support::{ANSWER, Sipp, done, free_port, incoming};
use serde_json::{Value, json};
use server::{Server, expect, problem, user};
use teams_support::{Events, PASSWORD, login, world};

const RITA: &str = "rita@contoso.test";
const RITAS_NUMBER: &str = "+14255550110";

/// The gateway at `port` calls rita's number with a `tel:` Request-URI.
fn tel_call(sipp: &Sipp, port: u16, answer: &str) -> interop_calls_support::Running {
    sipp.gateway(
        "gw_call_tel.xml",
        port,
        &[
            ("number", RITAS_NUMBER),
            ("caller", "+15550001"),
            ("answer", answer),
        ],
    )
}

/// What explain says of a PSTN call to rita (R9.1/R9.2).
fn rita_pstn_explained(s: &Server) -> Value {
    let answer = s.admin(
        "GET",
        &format!("/v1/routing/explain?from=alice@contoso.test&client=teams&to={RITA}"),
        None,
    );
    expect(&answer, 200)["legacy_calls"].clone()
}

#[test]
fn r6_r9_2_a_named_gateway_dials_tel_numbers_and_a_legacy_user_chooses_where_calls_land() {
    let (dir, s) = world(&[]);
    let sipp = Sipp::new(&s, dir.path());
    let gateway = free_port();

    // R6: a gateway by host name is resolved and kept with its addresses;
    // a name that does not resolve is refused naming the field.
    let peer = s.admin(
        "PUT",
        "/v1/tenants/contoso/peers/pstn/trunk",
        Some(json!({"address": format!("localhost:{gateway}")})),
    );
    let resolved = expect(&peer, 200)["resolved"].as_array().unwrap().clone();
    assert!(
        resolved.contains(&json!(format!("127.0.0.1:{gateway}"))),
        "{resolved:?}"
    );
    let unresolvable = s.admin(
        "PUT",
        "/v1/tenants/contoso/peers/pstn/other",
        Some(json!({"address": "gw.nowhere.invalid:5060"})),
    );
    let refused = problem(&unresolvable, 400, "InvalidField");
    assert_eq!(refused["field"], "address");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("does not resolve")
    );

    // rita: Islands, online voice, the legacy policy that lets users choose
    // (CallingDefaultClient Default: PSTN calls land on sfb, R9.1).
    user(
        &s,
        "contoso",
        RITA,
        json!({"password": PASSWORD, "voice": "online", "phone_number": RITAS_NUMBER}),
    );
    let legacy = s.admin(
        "PUT",
        &format!("/v1/users/{RITA}/interop-policy"),
        Some(json!({"policy": "AllowOverrideCallingDefaultChatTeams"})),
    );
    expect(&legacy, 200);
    let explained = rita_pstn_explained(&s);
    assert_eq!(explained["pstn_call"]["lands_on"], "sfb");
    assert_eq!(explained["pstn_call"]["rules"], json!(["R9.1"]));
    assert_eq!(explained["preferred_calling_client"], Value::Null);

    // R9.1: the gateway's tel: call rings rita's sfb client.
    let ritas_sfb = free_port();
    sipp.register(RITA, ritas_sfb);
    let callee = sipp.callee(
        "uas_answer.xml",
        ritas_sfb,
        &[
            ("caller", "\\+15550001@"),
            ("offer", "o=pstncaller"),
            ("ruri", "rita@"),
        ],
    );
    tel_call(&sipp, gateway, "o=sfbcallee").succeeds();
    callee.succeeds();

    // R9.2: only a user whose policy allows it may choose (olga has none).
    let olga = login(&s, "olga@contoso.test");
    let choose =
        |token: &str, body: Value| s.call("PUT", "/v1/me/calling-client", Some(token), Some(body));
    problem(&choose(&olga, json!({"client": "teams"})), 403, "Forbidden");
    let rita = login(&s, RITA);
    problem(
        &choose(&rita, json!({"client": "phone"})),
        400,
        "InvalidField",
    );
    let chosen = choose(&rita, json!({"client": "teams"}));
    assert_eq!(expect(&chosen, 200)["preferred_calling_client"], "teams");
    let explained = rita_pstn_explained(&s);
    assert_eq!(explained["pstn_call"]["lands_on"], "teams");
    assert_eq!(explained["pstn_call"]["rules"], json!(["R9.2", "R9.1"]));
    assert_eq!(explained["call"]["lands_on"], "teams");

    // Now the same tel: call lands on her teams client.
    let mut ritas = Events::open(&s, &rita, None);
    let call = tel_call(&sipp, gateway, "o=teamsanswer");
    let id = incoming(&mut ritas);
    done(&s, &rita, &id, "answer", json!({"sdp": ANSWER}));
    call.succeeds();

    // R6.4 out: an sfb client dials tel:+15550003; the call goes to the
    // named gateway's address as sip:+15550003@GATEWAY;user=phone.
    let at_gateway = sipp.callee(
        "uas_answer.xml",
        gateway,
        &[
            ("caller", "alice@contoso.test"),
            ("offer", "o=sfbcaller"),
            ("ruri", "sip:\\+15550003@127.0.0.1"),
        ],
    );
    sipp.caller(
        "uac_bye_tel.xml",
        "alice@contoso.test",
        "+15550003",
        &[("answer", "o=sfbcallee")],
    )
    .succeeds();
    at_gateway.succeeds();

    // The admin can change it for her (PATCH), and it is kept across a
    // restart, like the gateway, whose name is resolved again.
    let patched = s.admin(
        "PATCH",
        &format!("/v1/users/{RITA}"),
        Some(json!({"preferred_calling_client": "sfb"})),
    );
    assert_eq!(expect(&patched, 200)["preferred_calling_client"], "sfb");
    let bad = s.admin(
        "PATCH",
        &format!("/v1/users/{RITA}"),
        Some(json!({"preferred_calling_client": "fax"})),
    );
    assert_eq!(
        problem(&bad, 400, "InvalidField")["field"],
        "preferred_calling_client"
    );
    assert!(s.stop().success());
    let s = Server::start(&dir.path().join("data"));
    let rita = s.admin("GET", &format!("/v1/users/{RITA}"), None);
    assert_eq!(expect(&rita, 200)["preferred_calling_client"], "sfb");
    let peers = s.admin("GET", "/v1/tenants/contoso/peers", None);
    let peer = &expect(&peers, 200)["peers"][0];
    assert_eq!(peer["address"], format!("localhost:{gateway}"));
    assert!(
        peer["resolved"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("127.0.0.1:{gateway}")))
    );
    assert_eq!(rita_pstn_explained(&s)["pstn_call"]["lands_on"], "sfb");
}
