//! # coexist-sip — the sfb side: a SIP server for real SIP clients
//!
//! | concern | module |
//! |---|---|
//! | our message type (the crate boundary) | [`message`] |
//! | bytes ↔ messages (our datagram parser; `sipx-sip` frames TCP) | [`wire`] |
//! | header grammars we interpret | [`headers`] |
//! | request sanity checks (400/416/420/482/483) | [`sanity`] |
//! | transports, peers | [`transport`] |
//! | RFC 3261 §17 transactions, sans-IO | [`transaction`] |
//! | digest auth (SHA-256 + MD5, stale nonces, replay, throttling) | [`auth`] |
//! | location service and its persistence port | [`registrar`] |
//! | the directory port and its adapters | [`directory`] |
//! | the server as a sans-IO state machine | [`engine`] |
//! | REGISTER | [`register`] |
//! | MESSAGE (RFC 3428), R2.1/R3/R4.3 routing | [`im`] |
//! | INVITE B2BUA | [`calls`] |
//! | calls from sfb that land on teams (interop) | [`teams_calls`] |
//! | the PSTN gateway (R6) | [`pstn`] |
//! | PUBLISH / SUBSCRIBE / NOTIFY, R7 | [`presence`] |
//! | the delivery port the teams side calls | [`delivery`] |
//! | the teams side's port the SIP edge calls (interop) | [`teams_side`] |
//! | the tokio driver (UDP, TCP) | [`driver`] |
//! | binding UDP and TCP on one port | `bind.rs`, [`bind_udp_and_tcp`] |

pub mod auth;
mod bind;
pub mod calls;
pub mod delivery;
pub mod directory;
pub mod driver;
pub mod engine;
mod header_names;
pub mod headers;
pub mod im;
pub mod message;
pub mod presence;
pub mod pstn;
pub mod register;
pub mod registrar;
pub mod sanity;
pub mod teams_calls;
pub mod teams_side;
pub mod transaction;
pub mod transport;
pub mod wire;

pub use bind::bind_udp_and_tcp;
pub use calls::CallEvent;
pub use delivery::{Delivery, PortCall, SfbDelivery};
pub use directory::{CoreDirectory, MemoryDirectory, SipDirectory, SipUser};
pub use driver::{SipHandle, SipServer};
pub use engine::{Engine, EngineEvent, SipConfig};
pub use message::{Method, SipMessage, StartLine};
pub use teams_calls::{TeamsCallStart, TeamsCallUpdate, TeamsCalls};
pub use teams_side::{SfbState, TeamsAnswer, TeamsSide};
