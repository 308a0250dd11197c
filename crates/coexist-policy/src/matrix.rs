//! Every cell of the RULES.md tables, computed by the procedures of this
//! crate: what `coexist matrix …` prints and what the table tests compare.

use crate::federation::FederationStatus;
use crate::legacy::{DefaultClient, LegacyCaller, legacy_call_lands};
use crate::presence::presence_source;
use crate::routing::{NewConversation, Originator, Reach, Recipient, route};
use crate::verdict::Verdict;
use crate::vocabulary::{Client, Enablement, Homing, Mode, Scope, Topology};

/// The originator rows of tables 1a–2c: every (mode, client, homing) the
/// rules allow (R3.5 leaves out SfB* on teams, TeamsOnly on sfb, and
/// TeamsOnly homed onprem).
pub const ORIGINATORS: [(Mode, Client, Homing); 11] = [
    (Mode::Islands, Client::Teams, Homing::Online),
    (Mode::Islands, Client::Sfb, Homing::Online),
    (Mode::Islands, Client::Teams, Homing::OnPrem),
    (Mode::Islands, Client::Sfb, Homing::OnPrem),
    (Mode::SfBOnly, Client::Sfb, Homing::Online),
    (Mode::SfBOnly, Client::Sfb, Homing::OnPrem),
    (Mode::SfBWithTeamsCollab, Client::Sfb, Homing::Online),
    (Mode::SfBWithTeamsCollab, Client::Sfb, Homing::OnPrem),
    (
        Mode::SfBWithTeamsCollabAndMeetings,
        Client::Sfb,
        Homing::Online,
    ),
    (
        Mode::SfBWithTeamsCollabAndMeetings,
        Client::Sfb,
        Homing::OnPrem,
    ),
    (Mode::TeamsOnly, Client::Teams, Homing::Online),
];

/// The conversation a table cell describes: a hybrid tenant in-tenant (so
/// both homings exist and interop is possible), federation allowed by both
/// tenants in one cloud, everyone enabled for both clients, the recipient
/// homed online.
pub const fn table_conversation(
    scope: Scope,
    from_mode: Mode,
    from_client: Client,
    from_homing: Homing,
    to_mode: Mode,
) -> NewConversation {
    NewConversation {
        from: Originator {
            mode: from_mode,
            client: from_client,
            homing: from_homing,
            enabled: Enablement {
                teams: true,
                sfb: true,
            },
        },
        to: Recipient::online(to_mode),
        reach: match scope {
            Scope::InTenant => Reach::InTenant(Topology::Hybrid),
            Scope::Federated => Reach::Federated(FederationStatus::Allowed),
        },
    }
}

/// One cell of tables 1a–2c.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingCell {
    /// In-tenant (tables 1) or federated (tables 2).
    pub scope: Scope,
    /// Originator mode.
    pub from_mode: Mode,
    /// Originator client.
    pub from_client: Client,
    /// Originator homing.
    pub from_homing: Homing,
    /// Recipient mode.
    pub to_mode: Mode,
    /// The decision.
    pub verdict: Verdict,
}

impl serde::Serialize for RoutingCell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("RoutingCell", 10)?;
        state.serialize_field("scope", &self.scope)?;
        state.serialize_field("from_mode", &self.from_mode)?;
        state.serialize_field("from_client", &self.from_client)?;
        state.serialize_field("from_homing", &self.from_homing)?;
        state.serialize_field("to_mode", &self.to_mode)?;
        state.serialize_field("possible", &self.verdict.is_possible())?;
        state.serialize_field("lands_on", &self.verdict.lands_on())?;
        state.serialize_field("method", &self.verdict.method())?;
        state.serialize_field("code", &self.verdict.refusal().map(|r| r.code))?;
        state.serialize_field("rules", &self.verdict.trail)?;
        state.end()
    }
}

/// The 110 cells' coordinates and conversations, in table order: in-tenant
/// then federated; originators as [`ORIGINATORS`]; recipient modes in R1.1
/// order.
pub fn cell_conversations()
-> impl Iterator<Item = ((Scope, Mode, Client, Homing, Mode), NewConversation)> {
    Scope::ALL.iter().flat_map(|&scope| {
        ORIGINATORS
            .iter()
            .flat_map(move |&(from_mode, from_client, from_homing)| {
                Mode::ALL.iter().map(move |&to_mode| {
                    (
                        (scope, from_mode, from_client, from_homing, to_mode),
                        table_conversation(scope, from_mode, from_client, from_homing, to_mode),
                    )
                })
            })
    })
}

/// All 110 cells with their verdicts.
pub fn routing_cells() -> impl Iterator<Item = RoutingCell> {
    cell_conversations().map(
        |((scope, from_mode, from_client, from_homing, to_mode), conversation)| RoutingCell {
            scope,
            from_mode,
            from_client,
            from_homing,
            to_mode,
            verdict: route(&conversation),
        },
    )
}

/// One cell of tables 3 and 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PresenceCell {
    /// In-tenant (table 3) or federated (table 4).
    pub scope: Scope,
    /// The watcher's client.
    pub watcher_client: Client,
    /// The publisher's mode.
    pub publisher_mode: Mode,
    /// Whose presence is shown.
    pub shows: Client,
}

/// All 20 cells of tables 3 and 4.
pub fn presence_cells() -> impl Iterator<Item = PresenceCell> {
    Scope::ALL.iter().flat_map(|&scope| {
        Client::ALL.iter().flat_map(move |&watcher_client| {
            Mode::ALL.iter().map(move |&publisher_mode| PresenceCell {
                scope,
                watcher_client,
                publisher_mode,
                shows: presence_source(watcher_client, publisher_mode, scope).client,
            })
        })
    })
}

/// One cell of the R9.1 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LegacyCallingCell {
    /// Where the call comes from.
    pub caller: LegacyCaller,
    /// The receiver's CallingDefaultClient.
    pub calling_default_client: DefaultClient,
    /// Where it lands.
    pub lands_on: Client,
}

/// All 12 cells of the R9.1 table.
pub fn legacy_calling_cells() -> impl Iterator<Item = LegacyCallingCell> {
    LegacyCaller::ALL.iter().flat_map(|&caller| {
        DefaultClient::ALL
            .iter()
            .map(move |&calling_default_client| LegacyCallingCell {
                caller,
                calling_default_client,
                lands_on: legacy_call_lands(caller, calling_default_client),
            })
    })
}
