//! R8.6 through the real binary: the lint reports the users whose calls
//! land in teams and who have an SfB IP phone registered (R6.3) — the SIP
//! edge knows the phone by its User-Agent — and nobody else: not a user
//! whose calls land on sfb (their phone keeps ringing), not a soft client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop_calls_support;
mod server;
mod teams_support;

use interop_calls_support::{Sipp, free_port};
use server::expect;
use teams_support::world;

/// The R8.6 finding of contoso's lint, if any: its users.
fn r8_6_users(s: &server::Server) -> Option<Vec<String>> {
    let lint = s.admin("GET", "/v1/tenants/contoso/lint", None);
    let findings = expect(&lint, 200)["findings"].as_array().unwrap().clone();
    findings.iter().find(|f| f["rule"] == "R8.6").map(|f| {
        f["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect()
    })
}

#[test]
fn r8_6_lint_names_a_teams_only_user_whose_sfb_ip_phone_will_stop_ringing() {
    let (dir, s) = world(&[]);
    let sipp = Sipp::new(&s, dir.path());
    assert_eq!(r8_6_users(&s), None, "no phone registered yet");
    // olga is TeamsOnly (her calls land on teams, R6.1); dave is Islands
    // (his land on sfb). Both register an IP phone; carol a soft client.
    sipp.register_phone("olga@contoso.test", free_port());
    sipp.register_phone("dave@contoso.test", free_port());
    sipp.register("carol@contoso.test", free_port());
    // Registrations reach the teams side asynchronously.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut users = r8_6_users(&s);
    while users.is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        users = r8_6_users(&s);
    }
    assert_eq!(users, Some(vec!["olga@contoso.test".to_owned()]));
}
