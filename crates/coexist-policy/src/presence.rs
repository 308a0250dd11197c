//! R7: whose presence a watcher sees.

use crate::notes::Note;
use crate::routing::landing_client;
use crate::rules::{RuleId, RuleTrail};
use crate::vocabulary::{Availability, Client, Mode, Scope};

/// Whose presence is shown, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceSource {
    /// The publisher's client whose presence is shown.
    pub client: Client,
    /// The rules that decided it.
    pub trail: RuleTrail,
}

/// R7 (tables 3 and 4): a watcher sees the presence of the client where the
/// watcher's new conversation would land (R3.1), so presence and
/// reachability agree.
pub const fn presence_source(
    watcher_client: Client,
    publisher_mode: Mode,
    scope: Scope,
) -> PresenceSource {
    let (client, note) = landing_client(watcher_client, publisher_mode, scope);
    PresenceSource {
        client,
        trail: RuleTrail::new()
            .with(RuleId::R7, Note::PresenceClientNewConversationLands)
            .with(RuleId::R3_1, note),
    }
}

/// R7.2: inside an existing thread, presence follows the thread's routing:
/// the client the other party is on in the thread, or nothing when the
/// thread is disabled (it would be wrong).
pub const fn thread_presence_source(
    other_party_client: Client,
    thread_disabled: bool,
) -> Option<Client> {
    if thread_disabled {
        None
    } else {
        Some(other_party_client)
    }
}

/// R7.1: the clients whose presence a user of `mode` keeps. An Islands user
/// has two independent presences; the others have the one R2 shows.
pub const fn presences_kept(mode: Mode) -> &'static [Client] {
    match mode {
        Mode::Islands => &[Client::Teams, Client::Sfb],
        Mode::TeamsOnly => &[Client::Teams],
        Mode::SfBOnly | Mode::SfBWithTeamsCollab | Mode::SfBWithTeamsCollabAndMeetings => {
            &[Client::Sfb]
        }
    }
}

/// R7.3: a client with no live endpoint reads as Offline, whatever was
/// published last.
pub const fn shown_availability(published: Availability, has_live_endpoint: bool) -> Availability {
    if has_live_endpoint {
        published
    } else {
        Availability::Offline
    }
}
