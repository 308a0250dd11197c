//! The teams side's records: threads (chats), messages with their
//! per-recipient delivery state, events (the per-user durable stream the
//! WebSocket serves), log-in sessions, and presence as published.

use crate::clock::Timestamp;
use coexist_policy::interop_limits::ContentType;
use coexist_policy::{Availability, Client, Method};
use serde::{Deserialize, Serialize};

/// A thread's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThreadKind {
    /// Two people.
    OneOnOne,
    /// More than two (R5.3: all on teams).
    Group,
}

impl ThreadKind {
    /// The spelling in JSON and in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            ThreadKind::OneOnOne => "oneOnOne",
            ThreadKind::Group => "group",
        }
    }
}

/// Whether a thread still accepts messages (R4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadState {
    /// Accepts messages.
    Active,
    /// Readable only: R4.2 no longer allows its method.
    Disabled,
}

/// A participant and the client they are on in this thread (fixed at
/// creation, R4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The UPN.
    pub upn: String,
    /// Where the thread lands for them.
    pub client: Client,
}

/// A persistent teams thread (R4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// `19:` and 24 hex digits.
    pub id: String,
    /// 1:1 or group.
    pub kind: ThreadKind,
    /// Group topic.
    pub topic: Option<String>,
    /// Fixed at creation for the thread's life (R4.1).
    pub method: Method,
    /// Everyone in it, creator first.
    pub members: Vec<Member>,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// R4.2.
    pub state: ThreadState,
    /// Why it is disabled: the refusal's sentence and the rules that fired.
    pub disabled_reason: Option<String>,
    /// The thread to use instead (R4.2: old and new are linked).
    pub replaced_by: Option<String>,
    /// The disabled thread this one continues.
    pub replaces: Option<String>,
}

impl Thread {
    /// The member with this UPN.
    pub fn member(&self, upn: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.upn == upn)
    }
}

/// A message body as sent (`{"contentType","content"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// text, html or markdown.
    #[serde(rename = "contentType")]
    pub content_type: ContentType,
    /// The content.
    pub content: String,
}

/// Where a message stands for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Handed to the sfb delivery port, no outcome yet.
    Pending,
    /// In the recipient's durable event stream (teams), or accepted by the
    /// recipient's sfb client.
    Delivered,
    /// The sfb side could not deliver it.
    Failed,
}

/// One recipient's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The recipient.
    pub upn: String,
    /// The client it lands on (the recipient's client in the thread).
    pub client: Client,
    /// Its state.
    pub state: DeliveryState,
}

/// A message in a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Increasing over the deployment.
    pub id: i64,
    /// The thread.
    pub chat_id: String,
    /// The sender.
    pub from: String,
    /// When it was accepted.
    pub created_at: Timestamp,
    /// The body as stored (after the R5.1 conversion, if any).
    pub body: Body,
    /// R5.1: the content type the sender used, when the body was converted
    /// to plain text on a non-native thread.
    pub converted_from: Option<ContentType>,
    /// Attachments as sent (native threads only, R5.2).
    pub attachments: Vec<serde_json::Value>,
    /// Per recipient.
    pub deliveries: Vec<Delivery>,
}

/// One durable event of a user's stream: its id orders the stream and
/// `payload` is the JSON text sent on the WebSocket
/// (`{"id","type","at",…}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Increasing over the deployment (so also per user).
    pub id: i64,
    /// Whose stream.
    pub upn: String,
    /// When.
    pub at: Timestamp,
    /// The JSON text.
    pub payload: String,
}

/// A log-in session: a bearer token's digest and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token (hex).
    pub digest: String,
    /// The user.
    pub upn: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Revoked by log-out.
    pub revoked: bool,
}

/// Presence as one client published it (R7.1: one per client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    /// R7.3.
    pub availability: Availability,
    /// Free text (`InACall`, `Presenting`, …).
    pub activity: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// When it was set.
    pub at: Timestamp,
}
