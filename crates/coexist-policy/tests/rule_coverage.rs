//! Every rule id of RULES.md is known to the engine and named by a test
//! (a test function whose name starts `r3_2_` names R3.2).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use coexist_policy::RuleId;
use common::rules_md;
use std::path::Path;

#[test]
fn every_rule_id_of_rules_md_is_known_to_the_engine_and_back() {
    let text = rules_md::rules_md();
    let in_rules: Vec<String> = rules_md::rule_ids(&text);
    assert!(in_rules.len() >= 40, "parsed {} rule ids", in_rules.len());
    let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
    for id in &in_rules {
        assert!(
            known.contains(&id.as_str()),
            "{id} of RULES.md is not a RuleId"
        );
    }
    for id in known.iter().filter(|id| id.contains('.')) {
        assert!(
            in_rules.iter().any(|r| r == id),
            "RuleId {id} is not in RULES.md"
        );
    }
}

#[test]
fn every_rule_id_of_rules_md_is_named_by_a_test() {
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut sources = String::new();
    for entry in std::fs::read_dir(&tests_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let text = rules_md::rules_md();
    let missing: Vec<String> = rules_md::rule_ids(&text)
        .into_iter()
        .filter(|id| {
            let prefix = format!("fn {}_", id.to_lowercase().replace('.', "_"));
            !sources.contains(&prefix)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "rule ids with no test named after them: {missing:?}"
    );
}
