//! `coexist route | matrix | presence` as a person or a script runs them:
//! the real binary, its JSON compared against the tables of RULES.md itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../crates/coexist-policy/tests/common/rules_md.rs"]
mod rules_md;

use serde_json::Value;
use std::process::{Command, Output};

fn coexist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(args)
        .output()
        .expect("run coexist")
}

fn json(args: &[&str]) -> Value {
    let output = coexist(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

const SFB_STAR: [&str; 3] = [
    "SfBOnly",
    "SfBWithTeamsCollab",
    "SfBWithTeamsCollabAndMeetings",
];

/// The RULES.md row label of a JSON row's originator.
fn row_label(cell: &Value) -> String {
    let mode = text(&cell["from_mode"]);
    let mode = if SFB_STAR.contains(&mode) {
        "SfB*"
    } else {
        mode
    };
    format!(
        "{mode}, {}, {}",
        text(&cell["from_client"]),
        text(&cell["from_homing"])
    )
}

/// The RULES.md column (1a … 2c) of a JSON row.
fn column(scope: &str, to_mode: &str) -> usize {
    let group = match to_mode {
        "Islands" => 0,
        "TeamsOnly" => 2,
        m if SFB_STAR.contains(&m) => 1,
        other => panic!("unknown mode {other}"),
    };
    group + if scope == "federated" { 3 } else { 0 }
}

#[test]
fn r3_matrix_routing_json_matches_tables_1a_to_2c_of_rules_md_in_every_cell() {
    let rules = rules_md::rules_md();
    let table = rules_md::table(&rules, "Originator");
    let cells = json(&["matrix", "routing", "--json"]);
    let cells = cells.as_array().unwrap();
    assert_eq!(cells.len(), 110);
    for cell in cells {
        let label = row_label(cell);
        let row = table
            .iter()
            .find(|r| r[0] == label)
            .unwrap_or_else(|| panic!("no row {label}"));
        let scope = text(&cell["scope"]);
        let expected = &row[1 + column(scope, text(&cell["to_mode"]))];
        let got = if cell["possible"].as_bool().unwrap() {
            let method = text(&cell["method"]);
            let wanted_method = if scope == "federated" {
                "federated"
            } else if expected.contains("interop") {
                "interop"
            } else {
                "native"
            };
            assert_eq!(method, wanted_method, "{cell}");
            assert!(cell["code"].is_null());
            let suffix = if method == "interop" {
                " (interop)"
            } else {
                ""
            };
            format!("{}{suffix}", text(&cell["lands_on"]))
        } else {
            assert!(cell["lands_on"].is_null() && cell["method"].is_null());
            assert_eq!(text(&cell["code"]), "OriginatorHomedOnPrem");
            "not possible".to_string()
        };
        assert_eq!(&got, expected, "{cell}");
        assert!(
            !cell["rules"].as_array().unwrap().is_empty(),
            "{cell} names its rules"
        );
    }
}

#[test]
fn r7_matrix_presence_json_matches_tables_3_and_4() {
    let rules = rules_md::rules_md();
    let table = rules_md::table(&rules, "Watcher client");
    let cells = json(&["matrix", "presence", "--json"]);
    let cells = cells.as_array().unwrap();
    assert_eq!(cells.len(), 20);
    for cell in cells {
        let row = table
            .iter()
            .find(|r| r[0] == text(&cell["watcher_client"]))
            .unwrap();
        let expected = &row[1 + column(text(&cell["scope"]), text(&cell["publisher_mode"]))];
        assert_eq!(text(&cell["shows"]), expected, "{cell}");
    }
}

#[test]
fn r9_1_matrix_legacy_calling_json_matches_the_table() {
    let rules = rules_md::rules_md();
    let table = rules_md::table(&rules, "Caller from");
    let columns = ["Default", "Teams", "SfB"];
    let cells = json(&["matrix", "legacy-calling", "--json"]);
    let cells = cells.as_array().unwrap();
    assert_eq!(cells.len(), 12);
    for cell in cells {
        let caller = match text(&cell["caller"]) {
            "pstn" => "PSTN".to_string(),
            other => other.replace('-', " "),
        };
        let row = table.iter().find(|r| r[0] == caller).unwrap();
        let index = columns
            .iter()
            .position(|c| *c == text(&cell["calling_default_client"]))
            .unwrap();
        assert_eq!(text(&cell["lands_on"]), row[1 + index], "{cell}");
    }
}

#[test]
fn r3_1_route_prints_where_it_lands_and_why() {
    let output = coexist(&[
        "route",
        "--from-mode",
        "Islands",
        "--from-client",
        "teams",
        "--from-homing",
        "online",
        "--to-mode",
        "SfBWithTeamsCollab",
    ]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("sfb (interop) — R3.1 recipient is SfB*"),
        "{stdout}"
    );
}

#[test]
fn r3_2_route_prints_the_refusal_with_its_code_and_rule() {
    let value = json(&[
        "route",
        "--from-mode",
        "islands",
        "--from-client",
        "teams",
        "--from-homing",
        "onprem",
        "--to-mode",
        "teamsonly",
        "--federated",
        "--json",
    ]);
    assert_eq!(value["possible"], false);
    assert_eq!(value["code"], "OriginatorHomedOnPrem");
    assert_eq!(value["rule"], "R3.2");
    assert_eq!(value["scope"], "federated");
}

#[test]
fn r3_3_route_topology_onprem_refuses_interop() {
    let value = json(&[
        "route",
        "--from-mode",
        "SfBOnly",
        "--from-client",
        "sfb",
        "--from-homing",
        "onprem",
        "--to-mode",
        "TeamsOnly",
        "--topology",
        "onprem",
        "--json",
    ]);
    assert_eq!(value["code"], "TenantNotHybrid");
}

#[test]
fn r7_presence_command_answers_for_one_watcher() {
    let value = json(&[
        "presence",
        "--watcher-client",
        "teams",
        "--publisher-mode",
        "Islands",
        "--federated",
        "--json",
    ]);
    assert_eq!(value["shows"], "sfb");
    let value = json(&[
        "presence",
        "--watcher-client",
        "teams",
        "--publisher-mode",
        "Islands",
        "--json",
    ]);
    assert_eq!(value["shows"], "teams");
}

fn failure(args: &[&str]) -> String {
    let output = coexist(args);
    assert_eq!(output.status.code(), Some(2), "{args:?} must exit 2");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn r1_1_an_unknown_mode_exits_non_zero_listing_the_valid_ones() {
    let stderr = failure(&[
        "route",
        "--from-mode",
        "Legacy",
        "--from-client",
        "teams",
        "--from-homing",
        "online",
        "--to-mode",
        "Islands",
    ]);
    for mode in [
        "Islands",
        "SfBOnly",
        "SfBWithTeamsCollab",
        "SfBWithTeamsCollabAndMeetings",
        "TeamsOnly",
    ] {
        assert!(stderr.contains(mode), "{stderr}");
    }
}

#[test]
fn a_missing_flag_exits_non_zero_naming_it() {
    let stderr = failure(&[
        "route",
        "--from-mode",
        "Islands",
        "--from-client",
        "teams",
        "--to-mode",
        "Islands",
    ]);
    assert!(stderr.contains("--from-homing"), "{stderr}");
    let stderr = failure(&[
        "presence",
        "--watcher-client",
        "skype",
        "--publisher-mode",
        "Islands",
    ]);
    assert!(stderr.contains("teams, sfb"), "{stderr}");
}

#[test]
fn r2_1_an_originator_the_rules_exclude_exits_non_zero_naming_the_rule() {
    let stderr = failure(&[
        "route",
        "--from-mode",
        "SfBOnly",
        "--from-client",
        "teams",
        "--from-homing",
        "online",
        "--to-mode",
        "Islands",
    ]);
    assert!(stderr.contains("R2.1"), "{stderr}");
    let stderr = failure(&[
        "route",
        "--from-mode",
        "TeamsOnly",
        "--from-client",
        "teams",
        "--from-homing",
        "onprem",
        "--to-mode",
        "Islands",
    ]);
    assert!(stderr.contains("R1.5"), "{stderr}");
}
