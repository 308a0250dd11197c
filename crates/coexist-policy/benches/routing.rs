//! The routing decision over all 110 cells of tables 1a–2c.
//! Target (issue 2): ≤ 20 ns per decision (median); zero allocations is
//! asserted in tests/allocations.rs.
//!
//! Run: `cargo bench -p coexist-policy --bench routing`

#[path = "../tests/common/interop_thread.rs"]
mod interop_thread;

use coexist_policy::matrix::{cell_conversations, table_conversation};
use coexist_policy::presence::presence_source;
use coexist_policy::{Client, Homing, Mode, NewConversation, Scope, continue_thread, route};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn routing(c: &mut Criterion) {
    let cells: Vec<NewConversation> = cell_conversations().map(|(_, c)| c).collect();
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(cells.len() as u64));
    group.bench_function("all_110_cells", |b| {
        b.iter(|| {
            let mut landed = 0u32;
            for cell in &cells {
                landed += u32::from(route(black_box(cell)).is_possible());
            }
            landed
        })
    });
    group.finish();

    let mut group = c.benchmark_group("single");
    group.throughput(Throughput::Elements(1));
    let interop = table_conversation(
        Scope::InTenant,
        Mode::Islands,
        Client::Teams,
        Homing::Online,
        Mode::SfBOnly,
    );
    group.bench_function("route_interop_cell", |b| {
        b.iter(|| route(black_box(&interop)))
    });
    let thread = interop_thread::interop_thread();
    group.bench_function("continue_thread", |b| {
        b.iter(|| continue_thread(black_box(&thread)))
    });
    group.bench_function("presence_source", |b| {
        b.iter(|| {
            presence_source(
                black_box(Client::Teams),
                black_box(Mode::SfBOnly),
                black_box(Scope::InTenant),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
