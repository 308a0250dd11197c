//! The teams side's ports: the conversation store (threads, messages,
//! events, sessions; SQLite in `coexist-store`, [`MemoryConversations`] here
//! as the reference), and the sfb delivery port that the SIP edge
//! implements for messages, notices and calls whose verdict lands on sfb.

use super::model::{Message, Session, StoredEvent, Thread};
use crate::clock::Timestamp;
use crate::ports::StoreError;
use async_trait::async_trait;
use coexist_policy::Availability;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Everything the teams side keeps, as loaded at start-up (messages and
/// events stay in the store and are read by page).
#[derive(Debug, Clone, Default)]
pub struct ConversationSnapshot {
    /// All threads.
    pub threads: Vec<Thread>,
    /// Sessions not yet expired.
    pub sessions: Vec<Session>,
    /// The highest message id used (messages and events share one
    /// sequence).
    pub last_message_id: i64,
    /// The highest stored event id used.
    pub last_event_id: i64,
    /// The users with a message still pending for their sfb client (nothing
    /// lost: their next registration hands it over, after a restart too).
    pub sfb_pending: Vec<String>,
}

/// One durable row.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// Create or replace a thread.
    Thread(&'a Thread),
    /// Create or replace a message (a delivery state change replaces it).
    Message(&'a Message),
    /// Append an event.
    Event(&'a StoredEvent),
    /// Create or replace a session.
    Session(&'a Session),
}

/// Where threads, messages, events and sessions are kept.
#[async_trait]
pub trait ConversationStore: Send + Sync + std::fmt::Debug + 'static {
    /// Threads, live sessions and the last ids, at start-up.
    async fn load_conversations(&self, now: Timestamp) -> Result<ConversationSnapshot, StoreError>;

    /// Writes `rows` in one transaction: all durable when this returns `Ok`,
    /// or none.
    async fn commit_conversations(&self, rows: &[Row<'_>]) -> Result<(), StoreError>;

    /// A thread's messages, newest first: at most `limit` with an id below
    /// `before` (all when `None`).
    async fn messages(
        &self,
        thread: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;

    /// One message.
    async fn message(&self, id: i64) -> Result<Option<Message>, StoreError>;

    /// Messages of `threads` not sent by `not_from`, with an id above
    /// `after`, oldest first, at most `limit`: the `message` events of a
    /// user's stream, which are not stored twice.
    async fn messages_after(
        &self,
        threads: &[String],
        not_from: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;

    /// A user's events with an id above `after`, oldest first, at most
    /// `limit`.
    async fn events(
        &self,
        upn: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Messages whose delivery to `upn`'s sfb client is still pending,
    /// oldest first, at most `limit` (nothing lost: handed to the sfb side
    /// again when `upn` next registers).
    async fn pending_sfb(&self, upn: &str, limit: u32) -> Result<Vec<Message>, StoreError>;
}

/// Whether `message` still waits for `upn`'s sfb client.
pub fn pending_for_sfb(message: &Message, upn: &str) -> bool {
    sfb_pending_upns(message).any(|pending| pending == upn)
}

/// The users whose sfb client `message` still waits for.
pub fn sfb_pending_upns(message: &Message) -> impl Iterator<Item = &str> {
    message
        .deliveries
        .iter()
        .filter(|d| {
            d.client == coexist_policy::Client::Sfb
                && d.state == super::model::DeliveryState::Pending
        })
        .map(|d| d.upn.as_str())
}

#[derive(Debug, Default)]
struct MemoryInner {
    threads: BTreeMap<String, Thread>,
    messages: BTreeMap<i64, Message>,
    events: BTreeMap<i64, StoredEvent>,
    sessions: BTreeMap<String, Session>,
}

/// The conversation store in memory: the reference semantics, for tests.
#[derive(Debug, Default)]
pub struct MemoryConversations {
    inner: Mutex<MemoryInner>,
}

impl MemoryConversations {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ConversationStore for MemoryConversations {
    async fn load_conversations(&self, now: Timestamp) -> Result<ConversationSnapshot, StoreError> {
        let inner = self.lock();
        Ok(ConversationSnapshot {
            threads: inner.threads.values().cloned().collect(),
            sessions: inner
                .sessions
                .values()
                .filter(|s| s.expires_at > now && !s.revoked)
                .cloned()
                .collect(),
            last_message_id: inner.messages.keys().next_back().copied().unwrap_or(0),
            last_event_id: inner.events.keys().next_back().copied().unwrap_or(0),
            sfb_pending: inner
                .messages
                .values()
                .flat_map(sfb_pending_upns)
                .map(str::to_owned)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        })
    }

    async fn commit_conversations(&self, rows: &[Row<'_>]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for row in rows {
            match *row {
                Row::Thread(t) => {
                    inner.threads.insert(t.id.clone(), t.clone());
                }
                Row::Message(m) => {
                    inner.messages.insert(m.id, m.clone());
                }
                Row::Event(e) => {
                    inner.events.insert(e.id, e.clone());
                }
                Row::Session(s) => {
                    inner.sessions.insert(s.digest.clone(), s.clone());
                }
            }
        }
        Ok(())
    }

    async fn messages(
        &self,
        thread: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .messages
            .range(..before.unwrap_or(i64::MAX))
            .rev()
            .map(|(_, m)| m)
            .filter(|m| m.chat_id == thread)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn message(&self, id: i64) -> Result<Option<Message>, StoreError> {
        Ok(self.lock().messages.get(&id).cloned())
    }

    async fn messages_after(
        &self,
        threads: &[String],
        not_from: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .messages
            .range(after.saturating_add(1)..)
            .map(|(_, m)| m)
            .filter(|m| m.from != not_from && threads.contains(&m.chat_id))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn events(
        &self,
        upn: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .events
            .range(after.saturating_add(1)..)
            .map(|(_, e)| e)
            .filter(|e| e.upn == upn)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn pending_sfb(&self, upn: &str, limit: u32) -> Result<Vec<Message>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .messages
            .values()
            .filter(|m| pending_for_sfb(m, upn))
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

/// A message for a recipient whose client in the thread is sfb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfbMessage {
    /// The message id (report back with `Teams::record_sfb_delivery`).
    pub message_id: i64,
    /// The thread it belongs to.
    pub chat_id: String,
    /// Sender UPN.
    pub from: String,
    /// Recipient UPN.
    pub to: String,
    /// Plain text (R5.1 already applied).
    pub text: String,
}

/// A call leg whose verdict lands on sfb, or a call to a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfbCall {
    /// The call id.
    pub call_id: String,
    /// Caller UPN.
    pub from: String,
    /// Callee UPN or E.164 number.
    pub to: String,
    /// The caller's SDP offer.
    pub sdp: String,
}

/// The sfb side as the teams side needs it. The SIP edge implements it;
/// until it is wired, [`KeepPending`] keeps every message pending.
pub trait SfbDelivery: Send + Sync + std::fmt::Debug + 'static {
    /// Deliver a message to the recipient's sfb client (asynchronously;
    /// report the outcome with `Teams::record_sfb_delivery`).
    fn deliver(&self, message: SfbMessage);
    /// Deliver these messages one after the other, in this order (the
    /// retry of what was pending, `Teams::retry_sfb_deliveries`).
    fn deliver_in_order(&self, messages: Vec<SfbMessage>) {
        for message in messages {
            self.deliver(message);
        }
    }
    /// The missed-message safety net: a short notice to `to`'s sfb client
    /// that a message from `from` waits in teams (no body).
    fn notice(&self, to: &str, from: &str, chat_id: &str);
    /// Ring the callee's sfb endpoints (or the PSTN gateway).
    fn place_call(&self, call: SfbCall);
    /// A call with an sfb (or phone-network) party changed: answered on
    /// teams, rejected, hung up, forwarded, timed out.
    fn call_changed(&self, call: &super::Call);
    /// A user's teams presence as others see it (R7.1, R7.3), for the sfb
    /// watchers R7 points at it.
    fn teams_presence(&self, upn: &str, availability: Availability, note: Option<&str>);
    /// Whether the user has a live sfb endpoint (a registration).
    fn has_live_endpoint(&self, upn: &str) -> bool;
    /// When the user's sfb client was last seen, if ever.
    fn last_seen(&self, upn: &str) -> Option<Timestamp>;
    /// Whether one of the user's live sfb registrations is an IP phone
    /// (R6.3: it stops ringing when their calls land in teams; R8.6 lint).
    /// Default: none known.
    fn has_ip_phone(&self, _upn: &str) -> bool {
        false
    }
}

/// The delivery port before the SIP edge implements it: messages stay
/// pending, notices and calls go nowhere, nobody has an sfb endpoint. It
/// records what it was given, so tests can see it.
#[derive(Debug, Default)]
pub struct KeepPending {
    handed: Mutex<Vec<String>>,
}

impl KeepPending {
    /// What was handed over, as `message to …`, `notice to …`, `call to …`.
    pub fn handed(&self) -> Vec<String> {
        self.handed.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn push(&self, line: String) {
        if let Ok(mut handed) = self.handed.lock() {
            if handed.len() < 10_000 {
                handed.push(line);
            }
        }
    }
}

impl SfbDelivery for KeepPending {
    fn deliver(&self, message: SfbMessage) {
        self.push(format!("message to {} in {}", message.to, message.chat_id));
    }
    fn notice(&self, to: &str, from: &str, chat_id: &str) {
        self.push(format!("notice to {to} from {from} in {chat_id}"));
    }
    fn place_call(&self, call: SfbCall) {
        self.push(format!("call to {} from {}", call.to, call.from));
    }
    fn call_changed(&self, call: &super::Call) {
        self.push(format!("call {} {:?}", call.id, call.state));
    }
    fn teams_presence(&self, upn: &str, availability: Availability, _note: Option<&str>) {
        self.push(format!("presence of {upn}: {availability}"));
    }
    fn has_live_endpoint(&self, _upn: &str) -> bool {
        false
    }
    fn last_seen(&self, _upn: &str) -> Option<Timestamp> {
        None
    }
}
