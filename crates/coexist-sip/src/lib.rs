//! # coexist-sip — the sfb side: a SIP server for real SIP clients
//!
//! | concern | module |
//! |---|---|
//! | our message type (the crate boundary) | [`message`] |
//! | bytes ↔ messages (over `sipx-sip`, replaceable) | [`wire`] |
//! | header grammars we interpret | [`headers`] |
//! | request sanity checks (400/416/420/482/483) | [`sanity`] |
//! | transports, peers | [`transport`] |
//! | RFC 3261 §17 transactions, sans-IO | [`transaction`] |
//! | digest auth (SHA-256 + MD5, stale nonces, replay, throttling) | [`auth`] |
//! | location service and its persistence port | [`registrar`] |
//! | the directory port and its adapters | [`directory`] |

pub mod auth;
pub mod directory;
pub mod headers;
pub mod message;
pub mod registrar;
pub mod sanity;
pub mod transaction;
pub mod transport;
pub mod wire;

pub use message::{Method, SipMessage, StartLine};
