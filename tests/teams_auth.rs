//! Log-in and tokens through the real binary: tokens work, expire with
//! log-out, stop when the user is disabled for Teams (R2.2); failed
//! log-ins are throttled per user and per source address.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server;
mod teams_support;

use serde_json::json;
use server::{expect, problem};
use teams_support::{Events, PASSWORD, login, world};

fn attempt(s: &server::Server, upn: &str, password: &str) -> server::Answer {
    s.call(
        "POST",
        "/v1/auth/token",
        None,
        Some(json!({"upn": upn, "password": password})),
    )
}

#[test]
fn a_token_identifies_the_user_until_log_out() {
    let (_dir, s) = world(&[]);
    let token = login(&s, "Alice@Contoso.test");
    let me = s.call("GET", "/v1/me", Some(&token), None);
    let me = expect(&me, 200).clone();
    assert_eq!(me["upn"], "alice@contoso.test");
    assert_eq!(me["mode"], "Islands");
    assert!(me.get("password_hash").is_none());
    // A user token is not an admin token, and the admin token is not a user.
    problem(
        &s.call("GET", "/v1/tenants", Some(&token), None),
        401,
        "Unauthorized",
    );
    problem(
        &s.call("GET", "/v1/me", Some(&s.token), None),
        401,
        "Unauthorized",
    );
    problem(&s.call("GET", "/v1/me", None, None), 401, "Unauthorized");
    // Log-out revokes it, and its open event stream ends.
    let mut events = Events::open(&s, &token, None);
    let out = s.call("DELETE", "/v1/auth/token", Some(&token), None);
    assert_eq!(out.status, 204);
    problem(
        &s.call("GET", "/v1/me", Some(&token), None),
        401,
        "Unauthorized",
    );
    problem(
        &s.call("DELETE", "/v1/auth/token", Some(&token), None),
        401,
        "Unauthorized",
    );
    assert!(events.closed_by_server().contains("log in again"));
}

#[test]
fn r2_2_a_user_disabled_for_teams_loses_their_tokens_and_cannot_log_in() {
    let (_dir, s) = world(&[]);
    let token = login(&s, "dave@contoso.test");
    let disabled = s.admin(
        "PATCH",
        "/v1/users/dave@contoso.test",
        Some(json!({"teams_enabled": false})),
    );
    expect(&disabled, 200);
    problem(
        &s.call("GET", "/v1/me", Some(&token), None),
        401,
        "Unauthorized",
    );
    problem(
        &attempt(&s, "dave@contoso.test", PASSWORD),
        401,
        "InvalidCredentials",
    );
    // A deleted user's tokens stop too.
    let token = login(&s, "alice@contoso.test");
    expect(
        &s.admin("DELETE", "/v1/users/alice@contoso.test", None),
        204,
    );
    problem(
        &s.call("GET", "/v1/me", Some(&token), None),
        401,
        "Unauthorized",
    );
}

#[test]
fn wrong_passwords_and_unknown_users_look_alike_and_bad_bodies_name_the_field() {
    let (_dir, s) = world(&[]);
    let wrong = problem(
        &attempt(&s, "alice@contoso.test", "nope"),
        401,
        "InvalidCredentials",
    );
    let unknown = problem(
        &attempt(&s, "zed@contoso.test", "nope"),
        401,
        "InvalidCredentials",
    );
    assert_eq!(wrong["detail"], unknown["detail"]);
    let bad = s.call(
        "POST",
        "/v1/auth/token",
        None,
        Some(json!({"upn": "alice@contoso.test"})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "password");
    let bad = s.call(
        "POST",
        "/v1/auth/token",
        None,
        Some(json!({"upn": "", "password": "x"})),
    );
    assert_eq!(problem(&bad, 400, "InvalidField")["field"], "upn");
}

#[test]
fn repeated_failures_are_throttled_per_user_then_per_source_address() {
    let (_dir, s) = world(&[("COEXIST_TEAMS_LOGIN_FAILURES", "3")]);
    for _ in 0..3 {
        problem(
            &attempt(&s, "alice@contoso.test", "guess"),
            401,
            "InvalidCredentials",
        );
    }
    // Locked for this user, even with the right password.
    let answer = attempt(&s, "alice@contoso.test", PASSWORD);
    let locked = problem(&answer, 429, "TooManyAttempts");
    assert!(locked["retry_after"].as_u64().unwrap() >= 1);
    // Others are not locked out by alice's failures.
    login(&s, "dave@contoso.test");
    // From one address, 4 × 3 failures over many users lock the address.
    let users = [
        "bob", "carol", "erin", "olga", "nina", "frank", "gina", "dave", "zed",
    ];
    let mut locked_address = false;
    for (i, name) in users.iter().cycle().take(12).enumerate() {
        let domain = if *name == "frank" || *name == "gina" {
            "fabrikam.test"
        } else {
            "contoso.test"
        };
        let answer = attempt(&s, &format!("{name}@{domain}"), &format!("guess{i}"));
        if answer.status == 429 {
            locked_address = true;
        }
    }
    assert!(locked_address, "the source address was never throttled");
    problem(
        &attempt(&s, "gina@fabrikam.test", PASSWORD),
        429,
        "TooManyAttempts",
    );
}

#[test]
fn the_openapi_document_describes_the_teams_api() {
    let (_dir, s) = world(&[]);
    let openapi = s.call("GET", "/v1/openapi.json", None, None);
    let doc = expect(&openapi, 200).clone();
    for path in [
        "/v1/auth/token",
        "/v1/me",
        "/v1/me/presence",
        "/v1/users/{upn}/presence",
        "/v1/chats",
        "/v1/chats/{id}",
        "/v1/chats/{id}/members",
        "/v1/chats/{id}/messages",
        "/v1/calls",
        "/v1/calls/{id}",
        "/v1/calls/{id}/{action}",
        "/v1/events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    for schema in [
        "TokenRequest",
        "ChatRequest",
        "MessageRequest",
        "PresenceView",
        "CallRequest",
        "Call",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "OpenAPI lacks schema {schema}"
        );
    }
    // Log-in needs no token.
    assert_eq!(
        doc["paths"]["/v1/auth/token"]["post"]["security"],
        json!([{}])
    );
}
