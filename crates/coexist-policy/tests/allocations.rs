//! The routing path does not allocate (DESIGN.md): the count is
//! deterministic, so it is asserted here; speed is in benches/routing.rs.
//! This file holds one test so that no other test's allocations are counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/interop_thread.rs"]
mod interop_thread;

use coexist_policy::matrix::cell_conversations;
use coexist_policy::presence::presence_source;
use coexist_policy::{Client, Mode, NewConversation, Scope, continue_thread, route};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn r3_routing_all_110_cells_threads_and_presence_allocate_nothing() {
    let conversations: Vec<NewConversation> = cell_conversations().map(|(_, c)| c).collect();
    let thread = interop_thread::interop_thread();

    let region = Region::new(GLOBAL);
    let mut possible = 0usize;
    for conversation in &conversations {
        let verdict = route(black_box(conversation));
        possible += usize::from(verdict.is_possible());
        black_box(verdict.trail.steps());
    }
    black_box(continue_thread(black_box(&thread)));
    black_box(presence_source(
        Client::Teams,
        Mode::Islands,
        Scope::Federated,
    ));
    let change = region.change();

    assert_eq!(conversations.len(), 110);
    assert_eq!(
        possible,
        110 - 8,
        "8 cells are not possible (R3.2: 1b ×3, 2a, 2b ×3, 2c)"
    );
    assert_eq!(change.allocations, 0, "routing allocated: {change:?}");
    assert_eq!(change.reallocations, 0, "routing reallocated: {change:?}");
}
