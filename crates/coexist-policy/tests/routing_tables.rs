//! R3: every cell of tables 1a–2c as a named test, and the transcription
//! checked against RULES.md itself. R3.6: calls route exactly like chats,
//! so the same cells hold for calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use coexist_policy::matrix::routing_cells;
use common::{Cell, ROUTING_TABLE, check_routing_cell, rules_md};

/// One module per originator row, one test per table column.
macro_rules! routing_row_tests {
    ($( $row:ident = $index:expr; )*) => {$(
        mod $row {
            use super::check_routing_cell;
            #[test] fn table_1a_in_tenant_recipient_islands() { check_routing_cell($index, 0) }
            #[test] fn table_1b_in_tenant_recipient_sfb_star() { check_routing_cell($index, 1) }
            #[test] fn table_1c_in_tenant_recipient_teams_only() { check_routing_cell($index, 2) }
            #[test] fn table_2a_federated_recipient_islands() { check_routing_cell($index, 3) }
            #[test] fn table_2b_federated_recipient_sfb_star() { check_routing_cell($index, 4) }
            #[test] fn table_2c_federated_recipient_teams_only() { check_routing_cell($index, 5) }
        }
    )*};
}

routing_row_tests! {
    originator_islands_teams_online = 0;
    originator_islands_sfb_online = 1;
    originator_islands_teams_onprem = 2;
    originator_islands_sfb_onprem = 3;
    originator_sfb_star_sfb_online = 4;
    originator_sfb_star_sfb_onprem = 5;
    originator_teams_only_teams_online = 6;
}

#[test]
fn rules_md_transcription_matches_tables_1a_to_2c() {
    let text = rules_md::rules_md();
    let rows = rules_md::table(&text, "Originator");
    assert_eq!(rows.len(), ROUTING_TABLE.len(), "row count of tables 1a–2c");
    for (row, (transcribed, cells)) in rows.iter().zip(ROUTING_TABLE.iter()) {
        assert_eq!(row[0], transcribed.label);
        let parsed: Vec<Cell> = row[1..].iter().map(|c| Cell::parse(c)).collect();
        assert_eq!(parsed, cells.to_vec(), "row '{}'", row[0]);
    }
}

#[test]
fn r3_6_the_matrix_has_110_cells_and_every_possible_one_names_r3_1() {
    let cells: Vec<_> = routing_cells().collect();
    assert_eq!(cells.len(), 110);
    for cell in &cells {
        if cell.verdict.is_possible() {
            assert!(cell.verdict.trail.contains(coexist_policy::RuleId::R3_1));
        }
    }
    // 11 originators × 5 recipient modes × 2 scopes, each once.
    let mut keys: Vec<_> = cells
        .iter()
        .map(|c| {
            (
                c.scope,
                c.from_mode,
                c.from_client,
                c.from_homing,
                c.to_mode,
            )
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 110);
}
