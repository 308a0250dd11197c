//! The words of the rules: modes (R1.1), clients, homing, scope, topology
//! (R10.2), cloud instances (R3.4), routing methods (R3), voice (R6) and
//! presence availability (R7.3).

use crate::named::{ParseError, named_enum};

named_enum! {
    /// A user's coexistence mode (R1.1). `Islands` is the default.
    pub enum Mode as "mode" {
        Islands = "Islands",
        SfBOnly = "SfBOnly",
        SfBWithTeamsCollab = "SfBWithTeamsCollab",
        SfBWithTeamsCollabAndMeetings = "SfBWithTeamsCollabAndMeetings",
        TeamsOnly = "TeamsOnly",
    }
}

impl Default for Mode {
    /// R1.1, R1.3: a user with no grant at all is in Islands.
    fn default() -> Self {
        Mode::Islands
    }
}

impl Mode {
    /// One of the three SfB* modes (RULES.md vocabulary).
    pub const fn is_sfb_star(self) -> bool {
        matches!(
            self,
            Mode::SfBOnly | Mode::SfBWithTeamsCollab | Mode::SfBWithTeamsCollabAndMeetings
        )
    }

    /// Parses a mode as an import file may spell it: R1.1 accepts `Legacy`
    /// there only, converted to `Islands` with a note for the import report.
    pub fn parse_import(given: &str) -> Result<(Mode, Option<&'static str>), ParseError> {
        if given.trim().eq_ignore_ascii_case("Legacy") {
            return Ok((
                Mode::Islands,
                Some("R1.1: mode Legacy is deprecated and was converted to Islands"),
            ));
        }
        given.parse().map(|mode| (mode, None))
    }
}

named_enum! {
    /// The two clients a person can use.
    pub enum Client as "client" {
        Teams = "teams",
        Sfb = "sfb",
    }
}

impl Client {
    /// The other client.
    pub const fn other(self) -> Client {
        match self {
            Client::Teams => Client::Sfb,
            Client::Sfb => Client::Teams,
        }
    }
}

named_enum! {
    /// Where a user's SfB account lives.
    pub enum Homing as "homing" {
        Online = "online",
        OnPrem = "onprem",
    }
}

named_enum! {
    /// Whether the two parties are in one tenant or in two.
    pub enum Scope as "scope" {
        InTenant = "in-tenant",
        Federated = "federated",
    }
}

named_enum! {
    /// A tenant's topology (R10.2).
    pub enum Topology as "topology" {
        /// Everything served by this deployment.
        Online = "online",
        /// Has a hybrid peer: the onprem SIP server of its onprem-homed users.
        Hybrid = "hybrid",
        /// Everything onprem: no in-tenant interop (R3.3).
        OnPrem = "onprem",
    }
}

named_enum! {
    /// The cloud a tenant lives in. Federation crosses only within one
    /// cloud instance (R3.4).
    pub enum Cloud as "cloud" {
        Commercial = "commercial",
        Gcc = "gcc",
        GccHigh = "gcc-high",
        Dod = "dod",
        China = "china",
    }
}

impl Cloud {
    /// The cloud instance: GCC runs inside the multi-tenant (commercial)
    /// instance, the others are instances of their own.
    pub const fn instance(self) -> Cloud {
        match self {
            Cloud::Commercial | Cloud::Gcc => Cloud::Commercial,
            other => other,
        }
    }
}

named_enum! {
    /// How a conversation travels (R3): fixed on a teams thread for life (R4.1).
    pub enum Method as "method" {
        /// Same client at both ends, in-tenant.
        Native = "native",
        /// Different clients, in-tenant.
        Interop = "interop",
        /// Across tenants (over the SfB federation pipeline, R5.5).
        Federated = "federated",
        /// To or from the phone network (R6).
        Pstn = "pstn",
    }
}

impl Method {
    /// Interop and federated conversations carry the R5 limits.
    pub const fn is_limited(self) -> bool {
        matches!(self, Method::Interop | Method::Federated)
    }
}

named_enum! {
    /// A user's phone-system setup (R6).
    pub enum Voice as "voice" {
        None = "none",
        /// Phone System in the cloud.
        Online = "online",
        /// Hybrid Voice: CCE or onprem PSTN connectivity ("OPCH", R6.2).
        Hybrid = "hybrid",
    }
}

named_enum! {
    /// Presence states (R7.3).
    pub enum Availability as "availability" {
        Available = "Available",
        Busy = "Busy",
        DoNotDisturb = "DoNotDisturb",
        BeRightBack = "BeRightBack",
        Away = "Away",
        Offline = "Offline",
    }
}

/// Which clients a user is enabled for (R2.2, R10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enablement {
    /// Enabled for the teams client.
    pub teams: bool,
    /// Enabled for SfB online. A user homed onprem uses sfb through the
    /// tenant's onprem server whatever this says (R2.2).
    pub sfb: bool,
}

impl Default for Enablement {
    fn default() -> Self {
        Enablement {
            teams: true,
            sfb: true,
        }
    }
}

impl Enablement {
    /// R2.2: may this user use `client`, given their homing?
    pub const fn allows(self, client: Client, homing: Homing) -> bool {
        match client {
            Client::Teams => self.teams,
            Client::Sfb => self.sfb || matches!(homing, Homing::OnPrem),
        }
    }
}
