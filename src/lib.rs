//! The `coexist` binary's library half: configuration, `coexist serve`
//! wiring and the `coexist admin` client, so tests and benches can start
//! the server in-process (`coexist::serve::run(config, listeners,
//! shutdown)`) as well as through the real binary.

pub mod admin_cli;
pub mod config;
pub mod interop;
pub mod serve;
