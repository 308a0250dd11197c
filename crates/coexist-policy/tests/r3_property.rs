//! R3: the procedure agrees with tables 1a–2c cell for cell, for any
//! originator and recipient (property test), and refuses by R2.1/R1.5 the
//! originators the tables leave out (R3.5).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use coexist_policy::matrix::table_conversation;
use coexist_policy::{Client, Homing, Mode, RefusalCode, RuleId, Scope, route};
use common::{assert_verdict_is_cell, table_cell};
use proptest::prelude::*;
use proptest::sample::select;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn r3_procedure_agrees_with_the_tables_cell_for_cell(
        from_mode in select(Mode::ALL),
        from_client in select(Client::ALL),
        from_homing in select(Homing::ALL),
        to_mode in select(Mode::ALL),
        scope in select(Scope::ALL),
    ) {
        let verdict = route(&table_conversation(scope, from_mode, from_client, from_homing, to_mode));
        let context = format!("{from_mode}/{from_client}/{from_homing} → {to_mode}, {scope}");
        match table_cell((from_mode, from_client, from_homing), to_mode, scope) {
            Some(cell) => assert_verdict_is_cell(&verdict, cell, scope, &context),
            None => {
                let refusal = verdict.refusal().unwrap();
                let expected = if from_mode == Mode::TeamsOnly && from_client == Client::Teams {
                    (RefusalCode::TeamsOnlyHomedOnPrem, RuleId::R1_5)
                } else {
                    (RefusalCode::ClientDisabledByMode, RuleId::R2_1)
                };
                prop_assert_eq!((refusal.code, refusal.rule), expected, "{}", context);
                prop_assert!(verdict.trail.contains(RuleId::R3_5));
            }
        }
    }
}
