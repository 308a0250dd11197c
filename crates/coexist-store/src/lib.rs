//! # coexist-store — storage engines for coexist-core's ports
//!
//! [`SqliteStore`] implements [`coexist_core::DirectoryStore`] on SQLite in
//! WAL mode: the embedded default, so `coexist serve` needs no other
//! process. Queries are built at run time (no compile-time database) in SQL
//! that PostgreSQL also speaks (`ON CONFLICT … DO UPDATE`, BIGINT, BOOLEAN,
//! JSON as TEXT), and the schema lives in `migrations/`. What a
//! `PostgresStore` has to change is small and known: `$n` placeholders in the
//! hand-written queries (`QueryBuilder` ones adapt by themselves), the audit
//! id column (`AUTOINCREMENT` here, an identity column there), and a pool of
//! its own type. Everything else — the row mapping, the transaction per
//! commit, the conformance suite — carries over.
//!
//! Two SQLite-specific parts, both measured needs of the teams side's
//! durable rate (BENCHMARKS.md): the writer's group commits run on a
//! synchronous rusqlite connection (`sqlite/commit.rs`), and messages by
//! thread and events by user are indexed in batches with the newest rows in
//! memory (`sqlite/batched_index.rs`). A PostgreSQL engine would use plain
//! indexes.
//!
//! `tests/conformance.rs` and `tests/conversations_conformance.rs` are the
//! suites every engine must pass.

mod sqlite;

pub use sqlite::SqliteStore;
