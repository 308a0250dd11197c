//! Rule ids of RULES.md and the trail of rules behind a decision.
//!
//! The trail is a fixed-capacity array so that routing never allocates.

use crate::notes::Note;
use std::fmt;

macro_rules! rule_ids {
    ( $( $variant:ident = $text:literal : $title:literal ),+ $(,)? ) => {
        /// A rule of RULES.md, by its id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        pub enum RuleId { $( $variant ),+ }

        impl RuleId {
            /// Every rule id, in RULES.md order.
            pub const ALL: &'static [RuleId] = &[ $( RuleId::$variant ),+ ];

            /// The id as RULES.md writes it (`R3.2`).
            pub const fn as_str(self) -> &'static str {
                match self { $( RuleId::$variant => $text ),+ }
            }

            /// A few words saying what the rule is about.
            pub const fn title(self) -> &'static str {
                match self { $( RuleId::$variant => $title ),+ }
            }
        }
    };
}

rule_ids! {
    R1_1 = "R1.1": "modes",
    R1_2 = "R1.2": "built-in upgrade policy instances",
    R1_3 = "R1.3": "effective mode: user grant, else tenant-wide, else Islands",
    R1_4 = "R1.4": "NotifySfbUsers",
    R1_5 = "R1.5": "grant validation: TeamsOnly needs online homing",
    R2 = "R2": "what each mode lets each client do",
    R2_1 = "R2.1": "a mode that disables the client used refuses clearly",
    R2_2 = "R2.2": "the user must be enabled for the client",
    R3_1 = "R3.1": "the recipient's mode picks the client",
    R3_2 = "R3.2": "a teams originator homed onprem cannot interop or federate",
    R3_3 = "R3.3": "in-tenant interop needs an online or hybrid tenant",
    R3_4 = "R3.4": "federation needs both tenants to allow it, in one cloud",
    R3_5 = "R3.5": "combinations the table leaves out are refused",
    R3_6 = "R3.6": "calls route like chats",
    R4_1 = "R4.1": "a thread keeps its method for life",
    R4_2 = "R4.2": "a thread whose method is no longer possible is disabled",
    R4_3 = "R4.3": "sfb sessions end after 10 minutes without traffic",
    R4_4 = "R4.4": "teams persists every thread; sfb keeps no history",
    R5_1 = "R5.1": "interop and federated conversations carry plain text",
    R5_2 = "R5.2": "no attachments on interop or federated conversations",
    R5_3 = "R5.3": "a group chat holds participants of one client",
    R5_4 = "R5.4": "no screen sharing or escalation across clients",
    R5_5 = "R5.5": "native federation is a later capability",
    R6_1 = "R6.1": "inbound PSTN calls land by mode",
    R6_2 = "R6.2": "Hybrid Voice users receive PSTN calls in sfb",
    R6_3 = "R6.3": "IP phones stop ringing when calls land in teams",
    R6_4 = "R6.4": "outbound PSTN calls need voice on the client used",
    R7 = "R7": "presence follows where a new conversation would land",
    R7_1 = "R7.1": "Islands users have two presences",
    R7_2 = "R7.2": "presence in a thread follows the thread",
    R7_3 = "R7.3": "presence states; no live endpoint reads Offline",
    R8_1 = "R8.1": "onprem-homed user set to Teams cannot receive",
    R8_2 = "R8.2": "Hybrid Voice user whose calls land in teams",
    R8_3 = "R8.3": "onprem Islands users cannot reach SfB* users from teams",
    R8_4 = "R8.4": "legacy policy with different chat and calling clients",
    R8_5 = "R8.5": "specialised sfb workflow user not in an SfB* mode",
    R8_6 = "R8.6": "IP phones that will stop ringing",
    R9_1 = "R9.1": "legacy calls land by CallingDefaultClient",
    R9_2 = "R9.2": "legacy end-user override of the calling client",
    R9_3 = "R9.3": "legacy ChatDefaultClient does not route",
    R9_4 = "R9.4": "legacy policy to mode conversion",
    R10_1 = "R10.1": "interop needs teams and sfb enablement",
    R10_2 = "R10.2": "tenant topology",
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One step of a decision: the rule that applied and what it found.
/// Serialized as `{"rule":"R3.1","note":"recipient is SfB*"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// The rule.
    pub rule: RuleId,
    /// What the rule found here ("recipient is SfB*").
    pub note: Note,
}

/// The rules behind a decision, in the order they applied.
///
/// Fixed capacity ([`RuleTrail::CAPACITY`]) so that the routing path
/// never allocates; a decision never takes more steps than that.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RuleTrail {
    steps: [Step; RuleTrail::CAPACITY],
    len: u8,
}

impl RuleTrail {
    /// The most steps one decision records.
    pub const CAPACITY: usize = 6;

    const EMPTY_STEP: Step = Step {
        rule: RuleId::R1_1,
        note: Note::RecipientTeamsOnly,
    };

    /// An empty trail.
    pub const fn new() -> RuleTrail {
        RuleTrail {
            steps: [Self::EMPTY_STEP; Self::CAPACITY],
            len: 0,
        }
    }

    /// Records a step. A step past the capacity is dropped: the decisions in
    /// this crate take at most four (`tests/trail_capacity.rs` walks them).
    pub const fn push(&mut self, rule: RuleId, note: Note) {
        if (self.len as usize) < Self::CAPACITY {
            self.steps[self.len as usize] = Step { rule, note };
            self.len += 1;
        }
    }

    /// The trail with one more step.
    pub const fn with(mut self, rule: RuleId, note: Note) -> RuleTrail {
        self.push(rule, note);
        self
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps[..self.len as usize]
    }

    /// The rule ids, in order.
    pub fn rules(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.steps().iter().map(|step| step.rule)
    }

    /// Whether `rule` took part.
    pub fn contains(&self, rule: RuleId) -> bool {
        self.rules().any(|r| r == rule)
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no rule applied.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for RuleTrail {
    fn default() -> Self {
        RuleTrail::new()
    }
}

impl fmt::Debug for RuleTrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.steps()).finish()
    }
}

impl fmt::Display for RuleTrail {
    /// `R3.1 recipient is SfB*; R3.3 tenant is hybrid`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, step) in self.steps().iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", step.rule, step.note)?;
        }
        Ok(())
    }
}

/// Serialized as the list of rule ids (`["R3.1","R3.3"]`); the notes are
/// available through [`RuleTrail::steps`] for explain views.
impl serde::Serialize for RuleTrail {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.rules())
    }
}
