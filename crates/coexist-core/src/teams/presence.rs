//! Presence (R7): one published state per client (R7.1); a watcher on
//! teams sees the publisher's client where a new conversation from the
//! watcher would land (R7), or inside a thread the client the publisher is
//! on in it, and nothing in a disabled thread (R7.2). A client with no live
//! endpoint reads as Offline (R7.3). The sfb side publishes through
//! [`Teams::record_sfb_presence`].

use super::model::{Published, ThreadState};
use super::writer::{LiveRx, Op};
use super::{Result, Teams, TeamsError, party, reach};
use coexist_policy::presence::{presence_source, shown_availability, thread_presence_source};
use coexist_policy::{Availability, Client};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Most watchers kept per publisher.
const MAX_WATCHERS: usize = 10_000;

/// `PUT /v1/me/presence`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// Available, Busy, DoNotDisturb, BeRightBack, Away, Offline (R7.3).
    pub availability: String,
    /// Free text, at most 64 characters (`InACall`, `Presenting`).
    #[serde(default)]
    pub activity: Option<String>,
    /// A note, at most 280 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A publisher's presence as one watcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceView {
    /// The publisher.
    pub upn: String,
    /// Null when none may be shown (R7.2, disabled thread).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub availability: Option<Availability>,
    /// Activity.
    pub activity: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// Whose client's presence this is.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub client: Option<Client>,
    /// The rules that chose it.
    pub rules: String,
}

#[derive(Debug, Default)]
pub(crate) struct PresenceHub {
    teams: Mutex<HashMap<String, Published>>,
    /// What sfb clients published (R7.1), only for users whose state is
    /// not the default one (Available, no activity, no note): an absent
    /// entry reads as the default, so the many registered users who publish
    /// nothing cost nothing here. Whether they have a live endpoint (R7.3)
    /// is the sfb port's to say.
    sfb: Mutex<HashMap<Box<str>, Published>>,
    watchers: Mutex<HashMap<String, HashSet<String>>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `published` shows what no entry shows (R7.1: Available, no
/// activity, no note).
fn is_default(published: &Published) -> bool {
    published.availability == Availability::Available
        && published.activity.is_none()
        && published.note.is_none()
}

fn text_field(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => Err(
            TeamsError::invalid(field, format!("at most {max} printable characters")),
        ),
        Some(v) if v.is_empty() => Ok(None),
        other => Ok(other),
    }
}

impl Teams {
    /// What `client` of `upn` shows now.
    fn shown(&self, upn: &str, client: Client) -> (Availability, Option<String>, Option<String>) {
        let (published, live) = match client {
            Client::Teams => (
                lock(&self.presence.teams).get(upn).cloned(),
                self.hub.is_live(upn),
            ),
            Client::Sfb => (
                lock(&self.presence.sfb).get(upn).cloned(),
                self.sfb.has_live_endpoint(upn),
            ),
        };
        let availability = shown_availability(
            published
                .as_ref()
                .map_or(Availability::Available, |p| p.availability),
            live,
        );
        let activity = if live {
            published.as_ref().and_then(|p| p.activity.clone())
        } else {
            Some("Offline".to_owned())
        };
        (availability, activity, published.and_then(|p| p.note))
    }

    fn view(&self, watcher: &str, publisher: &str) -> Result<PresenceView> {
        let (client, rules, upn) = {
            let state = self.directory.read();
            let me =
                party(&state, watcher).ok_or_else(|| TeamsError::not_found("user", watcher))?;
            let them =
                party(&state, publisher).ok_or_else(|| TeamsError::not_found("user", publisher))?;
            let source = presence_source(Client::Teams, them.mode, reach(&me, &them).scope());
            (
                source.client,
                source.trail.to_string(),
                them.user.upn.clone(),
            )
        };
        let (availability, activity, note) = self.shown(&upn, client);
        Ok(PresenceView {
            upn,
            availability: Some(availability),
            activity,
            note,
            client: Some(client),
            rules,
        })
    }

    /// `publisher`'s presence as `watcher` (on teams) sees it (R7), or
    /// inside `thread` (R7.2). The watcher then gets `presence` events when
    /// it changes.
    pub async fn presence(
        &self,
        watcher: &str,
        publisher: &str,
        thread: Option<&str>,
    ) -> Result<PresenceView> {
        let publisher = publisher.trim().to_ascii_lowercase();
        let view = match thread {
            None => self.view(watcher, &publisher)?,
            Some(id) => {
                let thread = self.chat(watcher, id).await?;
                let member = thread.member(&publisher).ok_or_else(|| {
                    TeamsError::invalid("upn", format!("'{publisher}' is not in chat {id}"))
                })?;
                match thread_presence_source(member.client, thread.state == ThreadState::Disabled) {
                    None => PresenceView {
                        upn: publisher.clone(),
                        availability: None,
                        activity: None,
                        note: None,
                        client: None,
                        rules: "R7.2 no presence is shown in a disabled thread".to_owned(),
                    },
                    Some(client) => {
                        let (availability, activity, note) = self.shown(&publisher, client);
                        PresenceView {
                            upn: publisher.clone(),
                            availability: Some(availability),
                            activity,
                            note,
                            client: Some(client),
                            rules: format!(
                                "R7.2 in a thread the presence follows its routing: {publisher} is on {client} in it"
                            ),
                        }
                    }
                }
            }
        };
        let mut watchers = lock(&self.presence.watchers);
        let set = watchers.entry(publisher).or_default();
        if set.len() < MAX_WATCHERS {
            set.insert(watcher.to_owned());
        }
        Ok(view)
    }

    /// Sets the caller's teams presence; returns it as others see it.
    pub async fn set_presence(&self, me: &str, request: PresenceRequest) -> Result<PresenceView> {
        let availability: Availability =
            request
                .availability
                .parse()
                .map_err(|e: coexist_policy::ParseError| {
                    TeamsError::invalid("availability", e.to_string())
                })?;
        let activity = text_field("activity", request.activity, 64)?;
        let note = text_field("note", request.note, 280)?;
        lock(&self.presence.teams).insert(
            me.to_owned(),
            Published {
                availability,
                activity,
                note,
                at: self.now(),
            },
        );
        self.presence_changed(me, Client::Teams).await?;
        let (availability, activity, note) = self.shown(me, Client::Teams);
        Ok(PresenceView {
            upn: me.to_owned(),
            availability: Some(availability),
            activity,
            note,
            client: Some(Client::Teams),
            rules: "R7.1 the teams client's own state; R7.3 Offline without a live connection"
                .to_owned(),
        })
    }

    /// The sfb side's port: `upn`'s sfb client published `published`;
    /// `live_changed` when they just got or lost their last live endpoint
    /// (R7.3; whether they have one is then the sfb port's
    /// `has_live_endpoint`).
    ///
    /// Returns whether watchers must hear of it: a registration refresh
    /// reports the same state again and gets `false`, so the sfb port
    /// spawns no task for it; on `true` it calls
    /// [`sfb_presence_changed`](Self::sfb_presence_changed).
    pub fn record_sfb_presence(&self, upn: &str, published: Published, live_changed: bool) -> bool {
        {
            let mut sfb = lock(&self.presence.sfb);
            let same = |old: &Published| {
                old.availability == published.availability
                    && old.activity == published.activity
                    && old.note == published.note
            };
            let unchanged = sfb.get(upn).map_or(is_default(&published), same);
            // A registration refresh reports the same state again: watchers
            // hear of changes only.
            if unchanged && !live_changed {
                return false;
            }
            if is_default(&published) {
                sfb.remove(upn);
            } else {
                sfb.insert(upn.into(), published);
            }
        }
        true
    }

    /// Tells every watcher of `upn`'s sfb presence what they now see (after
    /// [`record_sfb_presence`](Self::record_sfb_presence) said so).
    pub async fn sfb_presence_changed(&self, upn: &str) -> Result<()> {
        self.presence_changed(upn, Client::Sfb).await
    }

    /// Tells every watcher who sees `publisher`'s `client` presence (and
    /// the sfb side, for teams presence).
    async fn presence_changed(&self, publisher: &str, client: Client) -> Result<()> {
        if client == Client::Teams {
            let (availability, _, note) = self.shown(publisher, Client::Teams);
            self.sfb
                .teams_presence(publisher, availability, note.as_deref());
        }
        let watchers: Vec<String> = lock(&self.presence.watchers)
            .get(publisher)
            .map(|w| w.iter().cloned().collect())
            .unwrap_or_default();
        let mut ops = Vec::new();
        for watcher in watchers {
            if let Ok(view) = self.view(&watcher, publisher) {
                if view.client == Some(client) {
                    ops.push(Op::event(
                        vec![watcher],
                        "presence",
                        &serde_json::json!({ "presence": view }),
                    ));
                }
            }
        }
        if !ops.is_empty() {
            self.writer.write(ops).await?;
        }
        Ok(())
    }

    /// A teams connection opens: its live queue (events after commit).
    pub async fn connect(&self, upn: &str) -> (u64, LiveRx) {
        let (id, rx, first) = self.hub.connect(upn, self.now());
        if first {
            if let Err(error) = self.presence_changed(upn, Client::Teams).await {
                tracing::warn!(%error, "presence event on connect");
            }
        }
        (id, rx)
    }

    /// A teams connection closed.
    pub async fn disconnect(&self, upn: &str, id: u64) {
        if self.hub.disconnect(upn, id, self.now()) {
            if let Err(error) = self.presence_changed(upn, Client::Teams).await {
                tracing::warn!(%error, "presence event on disconnect");
            }
        }
    }

    /// A user's events after `after`, oldest first (at most `limit`): the
    /// stored ones merged with the `message` events, rendered from the
    /// messages of the user's teams threads (their own included: they show
    /// on every device).
    pub async fn events_after(
        &self,
        upn: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<super::model::StoredEvent>> {
        let threads: Vec<String> = {
            let cache = self.threads.read().unwrap_or_else(|p| p.into_inner());
            cache
                .of_member(upn)
                .filter(|t| t.member(upn).is_some_and(|m| m.client == Client::Teams))
                .map(|t| t.id.clone())
                .collect()
        };
        let mut events = self.store.events(upn, after, limit).await?;
        if !threads.is_empty() {
            let messages = self
                .store
                .messages_after(&threads, "", after, limit)
                .await?;
            events.extend(messages.iter().map(|m| super::model::StoredEvent {
                id: m.id,
                upn: upn.to_owned(),
                at: m.created_at,
                payload: super::writer::message_payload(m.id, m, "new", m.created_at),
            }));
            events.sort_by_key(|e| e.id);
            events.truncate(limit as usize);
        }
        Ok(events)
    }

    /// How many live teams connections a user has.
    pub fn live_connections(&self, upn: &str) -> usize {
        self.hub.connections(upn)
    }
}
