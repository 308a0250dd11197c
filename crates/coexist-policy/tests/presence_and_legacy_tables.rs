//! R7 tables 3 and 4, and the R9.1 table: every cell a named test, and the
//! transcription checked against RULES.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use coexist_policy::legacy::legacy_call_lands;
use coexist_policy::presence::presence_source;
use coexist_policy::{Client, DefaultClient, LegacyCaller, Mode, RuleId, Scope};
use common::{RECIPIENT_GROUPS, rules_md};

const TEAMS: Client = Client::Teams;
const SFB: Client = Client::Sfb;

/// Tables 3 (columns 0–2) and 4 (columns 3–5), rows: watcher sfb, teams.
const PRESENCE_TABLE: [(Client, [Client; 6]); 2] = [
    (SFB, [SFB, SFB, TEAMS, SFB, SFB, TEAMS]),
    (TEAMS, [TEAMS, SFB, TEAMS, SFB, SFB, TEAMS]),
];

fn check_presence_cell(row: usize, column: usize) {
    let (watcher, cells) = PRESENCE_TABLE[row];
    let scope = if column >= 3 {
        Scope::Federated
    } else {
        Scope::InTenant
    };
    for &publisher in RECIPIENT_GROUPS[column % 3] {
        let source = presence_source(watcher, publisher, scope);
        assert_eq!(
            source.client, cells[column],
            "watcher {watcher}, publisher {publisher}, {scope}"
        );
        assert!(source.trail.contains(RuleId::R7));
    }
}

macro_rules! presence_row_tests {
    ($( $row:ident = $index:expr; )*) => {$(
        mod $row {
            use super::check_presence_cell;
            #[test] fn table_3_in_tenant_publisher_islands() { check_presence_cell($index, 0) }
            #[test] fn table_3_in_tenant_publisher_sfb_star() { check_presence_cell($index, 1) }
            #[test] fn table_3_in_tenant_publisher_teams_only() { check_presence_cell($index, 2) }
            #[test] fn table_4_federated_publisher_islands() { check_presence_cell($index, 3) }
            #[test] fn table_4_federated_publisher_sfb_star() { check_presence_cell($index, 4) }
            #[test] fn table_4_federated_publisher_teams_only() { check_presence_cell($index, 5) }
        }
    )*};
}

presence_row_tests! {
    r7_watcher_on_sfb = 0;
    r7_watcher_on_teams = 1;
}

/// R9.1: rows sfb, teams, PSTN, federated sfb; columns Default, Teams, SfB
/// (the order RULES.md uses).
const LEGACY_TABLE: [(LegacyCaller, [Client; 3]); 4] = [
    (LegacyCaller::Sfb, [SFB, TEAMS, SFB]),
    (LegacyCaller::Teams, [TEAMS, TEAMS, SFB]),
    (LegacyCaller::Pstn, [SFB, TEAMS, SFB]),
    (LegacyCaller::FederatedSfb, [SFB, SFB, SFB]),
];
const LEGACY_COLUMNS: [DefaultClient; 3] = [
    DefaultClient::Default,
    DefaultClient::Teams,
    DefaultClient::SfB,
];

fn check_legacy_cell(row: usize, column: usize) {
    let (caller, cells) = LEGACY_TABLE[row];
    assert_eq!(
        legacy_call_lands(caller, LEGACY_COLUMNS[column]),
        cells[column],
        "caller {caller}, CallingDefaultClient {}",
        LEGACY_COLUMNS[column]
    );
}

macro_rules! legacy_row_tests {
    ($( $row:ident = $index:expr; )*) => {$(
        mod $row {
            use super::check_legacy_cell;
            #[test] fn r9_1_calling_default() { check_legacy_cell($index, 0) }
            #[test] fn r9_1_calling_teams() { check_legacy_cell($index, 1) }
            #[test] fn r9_1_calling_sfb() { check_legacy_cell($index, 2) }
        }
    )*};
}

legacy_row_tests! {
    legacy_caller_sfb = 0;
    legacy_caller_teams = 1;
    legacy_caller_pstn = 2;
    legacy_caller_federated_sfb = 3;
}

fn client_of(text: &str) -> Client {
    text.parse()
        .unwrap_or_else(|e| panic!("RULES.md cell: {e}"))
}

#[test]
fn rules_md_transcription_matches_tables_3_and_4() {
    let text = rules_md::rules_md();
    let rows = rules_md::table(&text, "Watcher client");
    assert_eq!(rows.len(), 2);
    for (row, (watcher, cells)) in rows.iter().zip(PRESENCE_TABLE.iter()) {
        assert_eq!(client_of(&row[0]), *watcher);
        let parsed: Vec<Client> = row[1..].iter().map(|c| client_of(c)).collect();
        assert_eq!(parsed, cells.to_vec(), "watcher {watcher}");
    }
}

#[test]
fn rules_md_transcription_matches_table_r9_1() {
    let text = rules_md::rules_md();
    let rows = rules_md::table(&text, "Caller from");
    assert_eq!(rows.len(), 4);
    for (row, (caller, cells)) in rows.iter().zip(LEGACY_TABLE.iter()) {
        let parsed_caller: LegacyCaller = row[0]
            .replace("PSTN", "pstn")
            .replace(' ', "-")
            .parse()
            .unwrap();
        assert_eq!(parsed_caller, *caller);
        let parsed: Vec<Client> = row[1..].iter().map(|c| client_of(c)).collect();
        assert_eq!(parsed, cells.to_vec(), "caller {caller}");
    }
    let header = text
        .lines()
        .find(|l| l.starts_with("| Caller from |"))
        .unwrap();
    assert_eq!(
        header, "| Caller from | Default | Teams | SfB |",
        "column order"
    );
}

#[test]
fn r7_presence_follows_where_the_watchers_new_conversation_lands() {
    for scope in Scope::ALL.iter().copied() {
        for watcher in Client::ALL.iter().copied() {
            for publisher in Mode::ALL.iter().copied() {
                let (lands, _) = coexist_policy::routing::landing_client(watcher, publisher, scope);
                assert_eq!(presence_source(watcher, publisher, scope).client, lands);
            }
        }
    }
}
