//! # coexist-policy — the coexistence rules as pure decisions
//!
//! Every chat, call and presence lookup of coexist is one call into this
//! crate. It has no I/O, no async runtime and no clock of its own (time is
//! passed in as `now`), and the routing path does not allocate. Every
//! decision returns the rule ids of `RULES.md` that made it, so any outcome
//! can be explained, and every refusal carries a stable [`RefusalCode`].
//!
//! | rules | module |
//! |---|---|
//! | R1.1 modes, vocabulary | [`vocabulary`] |
//! | R1.2–R1.5 upgrade policies, effective mode, grants | [`upgrade_policy`] |
//! | R2 what each mode allows | [`mode_capabilities`] |
//! | R3 new conversations | [`routing`], R3.4 in [`federation`] |
//! | R4 threads and sfb sessions | [`threads`] |
//! | R5 interop limits | [`interop_limits`] |
//! | R6 PSTN and phones | [`pstn`] |
//! | R7 presence | [`presence`] |
//! | R8 lint | [`lint`] |
//! | R9 the 2017 interop policy | [`legacy`] |
//! | the tables, cell by cell | [`matrix`] |

mod named;

pub mod federation;
pub mod interop_limits;
pub mod legacy;
pub mod lint;
pub mod matrix;
pub mod mode_capabilities;
pub mod notes;
pub mod presence;
pub mod pstn;
pub mod refusal;
pub mod routing;
pub mod rules;
pub mod threads;
pub mod upgrade_policy;
pub mod verdict;
pub mod vocabulary;

pub use federation::{FederationSettings, FederationSide, FederationStatus, check_federation};
pub use interop_limits::{BodyHandling, Capabilities, ContentType};
pub use legacy::{DefaultClient, InteropPolicy, LegacyCaller, LegacyCalling, route_call};
pub use named::ParseError;
pub use notes::Note;
pub use refusal::{Refusal, RefusalCode};
pub use routing::{NewConversation, Originator, Reach, Recipient, route};
pub use rules::{RuleId, RuleTrail, Step};
pub use threads::{SfbSession, ThreadContinuation, ThreadParty, continue_thread, route_sfb_reply};
pub use upgrade_policy::{EffectivePolicy, GrantSource, UpgradePolicy, effective_policy};
pub use verdict::{Outcome, Verdict};
pub use vocabulary::{
    Availability, Client, Cloud, Enablement, Homing, Method, Mode, Scope, Topology, Voice,
};
