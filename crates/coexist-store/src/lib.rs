//! # coexist-store — storage engines for coexist-core's ports
//!
//! [`SqliteStore`] implements [`coexist_core::DirectoryStore`] on SQLite in
//! WAL mode: the embedded default, so `coexist serve` needs no other
//! process. Queries are built at run time (no compile-time database) in SQL
//! that PostgreSQL also speaks (`ON CONFLICT … DO UPDATE`, BIGINT, BOOLEAN),
//! and the schema is one set of migrations in `migrations/`, so a
//! `PostgresStore` is the same file with another pool type.
//!
//! `tests/conformance.rs` is the suite every engine must pass.

mod sqlite;

pub use sqlite::SqliteStore;
