//! Reads the tables of `shared/spec/RULES.md` itself, so tests can check
//! that what we transcribed (and what the engine computes) is what the
//! rules say. Shared by the policy crate's tests and the CLI tests.

#![allow(dead_code)]

use std::path::PathBuf;

/// `shared/spec/RULES.md`, found beside the checkout (or `COEXIST_RULES_MD`).
pub fn rules_md_path() -> PathBuf {
    if let Some(path) = std::env::var_os("COEXIST_RULES_MD") {
        return PathBuf::from(path);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let candidate = dir.join("shared/spec/RULES.md");
        if candidate.is_file() {
            return candidate;
        }
        assert!(
            dir.pop(),
            "shared/spec/RULES.md not found above {} (set COEXIST_RULES_MD)",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

/// The text of RULES.md.
pub fn rules_md() -> String {
    let path = rules_md_path();
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The body rows of the markdown table whose header row starts with
/// `| {first_header} |`, each as trimmed cells (bold markers removed).
pub fn table(text: &str, first_header: &str) -> Vec<Vec<String>> {
    let header = format!("| {first_header} |");
    let mut lines = text.lines().skip_while(|line| !line.starts_with(&header));
    assert!(
        lines.next().is_some(),
        "no table headed '{first_header}' in RULES.md"
    );
    lines
        .skip(1) // the |---| line
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().replace("**", "").replace("\\*", "*"))
                .collect()
        })
        .collect()
}

/// All ids like `R3.2` that RULES.md defines (as list items `- R3.2 `).
pub fn rule_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("- R"))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|id| id.contains('.') && id.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(|id| format!("R{id}"))
        .collect()
}
