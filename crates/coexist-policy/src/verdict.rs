//! The answer to "where does this land?": a client and a method, or a
//! refusal — always with the rules that decided it.

use crate::notes::Note;
use crate::refusal::{Refusal, RefusalCode};
use crate::rules::{RuleId, RuleTrail};
use crate::vocabulary::{Client, Method};
use std::fmt;

/// Where a conversation lands, or why it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It lands on the recipient's `client`, travelling by `method`.
    Lands {
        /// The recipient's client.
        client: Client,
        /// How it travels.
        method: Method,
    },
    /// It is not possible.
    Refused(Refusal),
}

/// A decision and the rules behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub outcome: Outcome,
    /// The rules that decided it, in order.
    pub trail: RuleTrail,
}

impl Verdict {
    /// Lands on `client` by `method`.
    pub const fn lands(client: Client, method: Method, trail: RuleTrail) -> Verdict {
        Verdict {
            outcome: Outcome::Lands { client, method },
            trail,
        }
    }

    /// Refused by `rule` with `code`; the rule is appended to the trail.
    pub const fn refused(code: RefusalCode, rule: RuleId, note: Note, trail: RuleTrail) -> Verdict {
        Verdict {
            outcome: Outcome::Refused(Refusal::new(code, rule)),
            trail: trail.with(rule, note),
        }
    }

    /// Whether it lands somewhere.
    pub const fn is_possible(&self) -> bool {
        matches!(self.outcome, Outcome::Lands { .. })
    }

    /// The recipient's client, when it lands.
    pub const fn lands_on(&self) -> Option<Client> {
        match self.outcome {
            Outcome::Lands { client, .. } => Some(client),
            Outcome::Refused(_) => None,
        }
    }

    /// The method, when it lands.
    pub const fn method(&self) -> Option<Method> {
        match self.outcome {
            Outcome::Lands { method, .. } => Some(method),
            Outcome::Refused(_) => None,
        }
    }

    /// The refusal, when it does not land.
    pub const fn refusal(&self) -> Option<Refusal> {
        match self.outcome {
            Outcome::Lands { .. } => None,
            Outcome::Refused(refusal) => Some(refusal),
        }
    }
}

impl fmt::Display for Verdict {
    /// `sfb (interop) — R3.1 recipient is SfB*; R3.3 tenant allows interop`
    /// or `not possible: OriginatorHomedOnPrem (R3.2) — …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Lands { client, method } => write!(f, "{client} ({method}) — {}", self.trail),
            Outcome::Refused(refusal) => {
                write!(f, "not possible: {refusal}\n  rules: {}", self.trail)
            }
        }
    }
}

/// JSON shape shared by the CLI and the HTTP explain view:
/// `{"possible","lands_on","method","code","rule","reason","rules","steps"}`.
impl serde::Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let refusal = self.refusal();
        let mut state = serializer.serialize_struct("Verdict", 8)?;
        state.serialize_field("possible", &self.is_possible())?;
        state.serialize_field("lands_on", &self.lands_on())?;
        state.serialize_field("method", &self.method())?;
        state.serialize_field("code", &refusal.map(|r| r.code))?;
        state.serialize_field("rule", &refusal.map(|r| r.rule))?;
        state.serialize_field("reason", &refusal.map(|r| r.sentence()))?;
        state.serialize_field("rules", &self.trail)?;
        state.serialize_field("steps", self.trail.steps())?;
        state.end()
    }
}
