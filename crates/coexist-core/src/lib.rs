//! # coexist-core — the coexistence domain
//!
//! The directory of tenants and users with their grants, federation
//! settings and legacy interop policies; the audit log of every admin
//! change; credentials; and the storage port that engines implement.
//!
//! | concern | module |
//! |---|---|
//! | records (tenant, user, token, audit entry, actor) | [`model`] |
//! | request fields and their validation, naming the field | [`fields`] |
//! | the service: validate → commit (with audit) → apply to the view | [`directory`] |
//! | the in-memory, versioned view (lookups by UPN, number, domain) | [`state`] |
//! | effective mode (R1.3), explain (R3), lint (R8), R9.4 dry run | [`views`] |
//! | bulk CSV import, per-line report, all-or-nothing | [`import`] |
//! | the storage port and an in-memory reference store | [`ports`] |
//! | password hash and SIP digest HA1 | [`credentials`] |
//! | the teams side: log-in, chats, messages, events, presence, calls | [`teams`] |
//! | time | [`clock`] |
//! | errors with stable codes | [`error`] |

pub mod clock;
pub mod credentials;
pub mod directory;
pub mod error;
pub mod fields;
pub mod import;
pub mod model;
pub mod ports;
pub mod state;
pub mod teams;
pub mod views;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use directory::{Directory, PeerFields};
pub use error::DirectoryError;
pub use fields::{TenantFields, UserFields};
pub use import::{ImportReport, LineIssue};
pub use model::{Actor, AuditEntry, AuditQuery, Peer, PeerKind, Tenant, TenantToken, User};
pub use ports::{Change, DirectoryStore, MemoryStore, Snapshot, StoreError};
pub use teams::{Teams, TeamsConfig, TeamsError};
pub use views::{ConversionLine, EffectiveView, RefusalView};
