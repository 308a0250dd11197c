//! R2: what each mode lets each client do.

use crate::vocabulary::{Client, Mode};

/// A set of clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ClientSet {
    /// The teams client.
    pub teams: bool,
    /// The sfb client.
    pub sfb: bool,
}

impl ClientSet {
    const BOTH: ClientSet = ClientSet {
        teams: true,
        sfb: true,
    };
    const TEAMS: ClientSet = ClientSet {
        teams: true,
        sfb: false,
    };
    const SFB: ClientSet = ClientSet {
        teams: false,
        sfb: true,
    };

    /// Whether `client` is in the set.
    pub const fn contains(self, client: Client) -> bool {
        match client {
            Client::Teams => self.teams,
            Client::Sfb => self.sfb,
        }
    }
}

/// One row of the R2 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ModeCapabilities {
    /// Clients that may start and receive chats and calls.
    pub chat_and_calls: ClientSet,
    /// Clients that schedule meetings.
    pub meeting_scheduling: ClientSet,
    /// Whether teams and channels are visible in the teams client.
    pub teams_and_channels: bool,
    /// The client whose presence others see; `None` for Islands, where it
    /// depends on the watcher (R7).
    pub presence_shown: Option<Client>,
}

/// R2: the capabilities of `mode`.
pub const fn mode_capabilities(mode: Mode) -> ModeCapabilities {
    match mode {
        Mode::Islands => ModeCapabilities {
            chat_and_calls: ClientSet::BOTH,
            meeting_scheduling: ClientSet::BOTH,
            teams_and_channels: true,
            presence_shown: None,
        },
        Mode::SfBOnly => ModeCapabilities {
            chat_and_calls: ClientSet::SFB,
            meeting_scheduling: ClientSet::SFB,
            teams_and_channels: false,
            presence_shown: Some(Client::Sfb),
        },
        Mode::SfBWithTeamsCollab => ModeCapabilities {
            chat_and_calls: ClientSet::SFB,
            meeting_scheduling: ClientSet::SFB,
            teams_and_channels: true,
            presence_shown: Some(Client::Sfb),
        },
        Mode::SfBWithTeamsCollabAndMeetings => ModeCapabilities {
            chat_and_calls: ClientSet::SFB,
            meeting_scheduling: ClientSet::TEAMS,
            teams_and_channels: true,
            presence_shown: Some(Client::Sfb),
        },
        Mode::TeamsOnly => ModeCapabilities {
            chat_and_calls: ClientSet::TEAMS,
            meeting_scheduling: ClientSet::TEAMS,
            teams_and_channels: true,
            presence_shown: Some(Client::Teams),
        },
    }
}

/// R2.1: whether `mode` lets `client` start (or receive) chats and calls.
/// Chat inside a meeting is not governed by this.
pub const fn mode_allows_client(mode: Mode, client: Client) -> bool {
    mode_capabilities(mode).chat_and_calls.contains(client)
}
