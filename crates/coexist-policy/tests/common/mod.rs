//! The RULES.md tables, transcribed, and helpers shared by the table tests.

#![allow(dead_code)]

pub mod rules_md;

use coexist_policy::matrix::table_conversation;
use coexist_policy::{Client, Homing, Method, Mode, RefusalCode, RuleId, Scope, Verdict, route};

/// A cell of tables 1a–2c as RULES.md writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Teams,
    Sfb,
    TeamsInterop,
    SfbInterop,
    NotPossible,
}

impl Cell {
    pub fn parse(text: &str) -> Cell {
        match text {
            "teams" => Cell::Teams,
            "sfb" => Cell::Sfb,
            "teams (interop)" => Cell::TeamsInterop,
            "sfb (interop)" => Cell::SfbInterop,
            "not possible" => Cell::NotPossible,
            other => panic!("unknown cell '{other}' in RULES.md"),
        }
    }
}

/// An originator row: its modes (SfB* stands for three), client, homing.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub label: &'static str,
    pub modes: &'static [Mode],
    pub client: Client,
    pub homing: Homing,
}

pub const ISLANDS: &[Mode] = &[Mode::Islands];
pub const SFB_STAR: &[Mode] = &[
    Mode::SfBOnly,
    Mode::SfBWithTeamsCollab,
    Mode::SfBWithTeamsCollabAndMeetings,
];
pub const TEAMS_ONLY: &[Mode] = &[Mode::TeamsOnly];

/// The recipient groups of the columns 1a/2a, 1b/2b, 1c/2c.
pub const RECIPIENT_GROUPS: [&[Mode]; 3] = [ISLANDS, SFB_STAR, TEAMS_ONLY];

use Cell::{NotPossible as NP, Sfb, SfbInterop, Teams, TeamsInterop};

/// Tables 1a, 1b, 1c, 2a, 2b, 2c of RULES.md R3, transcribed.
/// (`rules_md_transcription_matches` checks this against RULES.md.)
pub const ROUTING_TABLE: [(Row, [Cell; 6]); 7] = [
    (
        Row {
            label: "Islands, teams, online",
            modes: ISLANDS,
            client: Client::Teams,
            homing: Homing::Online,
        },
        [Teams, SfbInterop, Teams, Sfb, Sfb, Teams],
    ),
    (
        Row {
            label: "Islands, sfb, online",
            modes: ISLANDS,
            client: Client::Sfb,
            homing: Homing::Online,
        },
        [Sfb, Sfb, TeamsInterop, Sfb, Sfb, Teams],
    ),
    (
        Row {
            label: "Islands, teams, onprem",
            modes: ISLANDS,
            client: Client::Teams,
            homing: Homing::OnPrem,
        },
        [Teams, NP, Teams, NP, NP, NP],
    ),
    (
        Row {
            label: "Islands, sfb, onprem",
            modes: ISLANDS,
            client: Client::Sfb,
            homing: Homing::OnPrem,
        },
        [Sfb, Sfb, TeamsInterop, Sfb, Sfb, Teams],
    ),
    (
        Row {
            label: "SfB*, sfb, online",
            modes: SFB_STAR,
            client: Client::Sfb,
            homing: Homing::Online,
        },
        [Sfb, Sfb, TeamsInterop, Sfb, Sfb, Teams],
    ),
    (
        Row {
            label: "SfB*, sfb, onprem",
            modes: SFB_STAR,
            client: Client::Sfb,
            homing: Homing::OnPrem,
        },
        [Sfb, Sfb, TeamsInterop, Sfb, Sfb, Teams],
    ),
    (
        Row {
            label: "TeamsOnly, teams, online",
            modes: TEAMS_ONLY,
            client: Client::Teams,
            homing: Homing::Online,
        },
        [Teams, SfbInterop, Teams, Sfb, Sfb, Teams],
    ),
];

/// The table cell for one originator and recipient mode, if the tables
/// have a row for the originator.
pub fn table_cell(from: (Mode, Client, Homing), to_mode: Mode, scope: Scope) -> Option<Cell> {
    let (row, cells) = ROUTING_TABLE.iter().find(|(row, _)| {
        row.modes.contains(&from.0) && row.client == from.1 && row.homing == from.2
    })?;
    let _ = row;
    let group = RECIPIENT_GROUPS.iter().position(|g| g.contains(&to_mode))?;
    let column = group + if scope == Scope::Federated { 3 } else { 0 };
    Some(cells[column])
}

/// Asserts that `verdict` is what `expected` says, at `scope`.
pub fn assert_verdict_is_cell(verdict: &Verdict, expected: Cell, scope: Scope, context: &str) {
    let (client, in_tenant_method) = match expected {
        Cell::Teams => (Some(Client::Teams), Method::Native),
        Cell::Sfb => (Some(Client::Sfb), Method::Native),
        Cell::TeamsInterop => (Some(Client::Teams), Method::Interop),
        Cell::SfbInterop => (Some(Client::Sfb), Method::Interop),
        Cell::NotPossible => (None, Method::Native),
    };
    assert_eq!(
        verdict.lands_on(),
        client,
        "{context}: lands on ({verdict})"
    );
    match client {
        Some(_) => {
            let method = if scope == Scope::Federated {
                Method::Federated
            } else {
                in_tenant_method
            };
            assert_eq!(
                verdict.method(),
                Some(method),
                "{context}: method ({verdict})"
            );
            assert!(
                verdict.trail.contains(RuleId::R3_1),
                "{context}: R3.1 decided ({verdict})"
            );
        }
        None => {
            let refusal = verdict
                .refusal()
                .unwrap_or_else(|| panic!("{context}: refused"));
            assert_eq!(
                refusal.code,
                RefusalCode::OriginatorHomedOnPrem,
                "{context}"
            );
            assert_eq!(refusal.rule, RuleId::R3_2, "{context}");
        }
    }
}

/// Routes every originator mode of `row` to every mode of recipient group
/// `group` at `scope`, and checks the table's cell.
pub fn check_routing_cell(row_index: usize, column: usize) {
    let (row, cells) = ROUTING_TABLE[row_index];
    let scope = if column >= 3 {
        Scope::Federated
    } else {
        Scope::InTenant
    };
    let expected = cells[column];
    for &from_mode in row.modes {
        for &to_mode in RECIPIENT_GROUPS[column % 3] {
            let verdict = route(&table_conversation(
                scope, from_mode, row.client, row.homing, to_mode,
            ));
            let context = format!("{} ({from_mode}) → {to_mode}, {scope}", row.label);
            assert_verdict_is_cell(&verdict, expected, scope, &context);
        }
    }
}
