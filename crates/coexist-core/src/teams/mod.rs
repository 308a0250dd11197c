//! The teams side: log-in sessions, chats as persistent threads (R4.1,
//! R4.2, R4.4), messages with the R5 limits, the durable per-user event
//! stream that the WebSocket serves, presence (R7), call signalling (R3.6,
//! R6.4) and the missed-message safety net.
//!
//! | concern | file |
//! |---|---|
//! | records | [`model`] |
//! | the conversation store and the sfb delivery port | [`ports`] |
//! | group commit, event ids, live connections | `writer.rs` |
//! | log-in, tokens, throttling | `auth.rs` |
//! | chats, messages, R4.2 replacement | `chats.rs` |
//! | delivery, the safety net's notices, IMs from sfb | `delivery.rs` |
//! | R5.1 rich text → plain text | `text.rs` |
//! | presence (R7) | `presence.rs` |
//! | who may have sfb deliveries pending (nothing lost) | `sfb_pending.rs` |
//! | calls | `calls.rs` |

pub mod model;
pub mod ports;

mod auth;
mod calls;
mod chats;
mod delivery;
mod presence;
mod sfb_pending;
mod text;
mod thread_cache;
mod writer;

pub use calls::{AnswerRequest, CallRequest, TargetRequest};
pub use calls::{Call, CallState, SfbCallProgress};
pub use chats::{BodyRequest, ChatRequest, MessageRequest, ThreadView};
pub use presence::{PresenceRequest, PresenceView};
pub use text::to_plain_text;
pub use writer::LiveRx;

use crate::clock::{Clock, Timestamp};
use crate::directory::Directory;
use crate::model::{Tenant, User};
use crate::ports::StoreError;
use crate::state::State;
use crate::views::effective_of;
use coexist_policy::federation::{FederationSide, check_federation};
use coexist_policy::routing::{NewConversation, Originator, Reach, Recipient, route};
use coexist_policy::{Client, Mode, Refusal, Verdict, route_call};
use ports::{ConversationStore, SfbDelivery};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use writer::{Hub, Writer};

/// The teams side's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamsConfig {
    /// How long a log-in token works.
    pub token_ttl: Duration,
    /// A call nobody answers ends after this.
    pub ring_timeout: Duration,
    /// The safety net: a recipient not seen on the landing client for this
    /// long gets a notice on their other client.
    pub notice_after: Duration,
    /// Failed log-ins per user within `login_window` before log-in is
    /// refused for the rest of the window (per source address: 4×).
    pub login_failures: u32,
    /// The throttling window.
    pub login_window: Duration,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            token_ttl: Duration::from_secs(24 * 3600),
            ring_timeout: Duration::from_secs(45),
            notice_after: Duration::from_secs(300),
            login_failures: 5,
            login_window: Duration::from_secs(300),
        }
    }
}

/// Why a teams request did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum TeamsError {
    /// A field is malformed or invalid.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as the request spells it.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Wrong UPN or password.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many failed log-ins.
    #[error("too many failed log-ins; try again in {0} s")]
    Throttled(u64),
    /// No such user, chat, message or call (or not one of the caller's).
    #[error("{what} '{id}' not found")]
    NotFound {
        /// `user`, `chat`, `call`.
        what: &'static str,
        /// What was asked for.
        id: String,
    },
    /// A rule refused it.
    #[error("{refusal}")]
    Refused {
        /// Code and rule.
        refusal: Refusal,
        /// Who it concerns (a member of a group, the callee).
        upn: Option<String>,
        /// The thread to use instead (R4.2).
        replaced_by: Option<String>,
        /// The rules that fired.
        rules: String,
    },
    /// The call is not in a state that allows this.
    #[error("{0}")]
    CallState(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TeamsError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> TeamsError {
        TeamsError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(what: &'static str, id: &str) -> TeamsError {
        TeamsError::NotFound {
            what,
            id: id.to_owned(),
        }
    }

    pub(crate) fn refused(verdict: &Verdict, refusal: Refusal, upn: Option<&str>) -> TeamsError {
        TeamsError::Refused {
            refusal,
            upn: upn.map(str::to_owned),
            replaced_by: None,
            rules: verdict.trail.to_string(),
        }
    }
}

/// Result of a teams operation.
pub type Result<T, E = TeamsError> = std::result::Result<T, E>;

/// The teams side of the server.
#[derive(Debug)]
pub struct Teams {
    directory: Arc<Directory>,
    store: Arc<dyn ConversationStore>,
    clock: Arc<dyn Clock>,
    config: TeamsConfig,
    writer: Writer,
    hub: Arc<Hub>,
    sfb: Arc<dyn SfbDelivery>,
    threads: RwLock<thread_cache::ThreadCache>,
    /// Serialises thread creation (1:1 de-duplication, R4.2 links).
    thread_lock: tokio::sync::Mutex<()>,
    sessions: RwLock<HashMap<String, model::Session>>,
    throttle: Mutex<HashMap<String, (u32, Timestamp)>>,
    presence: presence::PresenceHub,
    calls: Mutex<calls::Calls>,
    ring_timers: calls::RingTimers,
    /// The safety net's last notice per (user, client): a thread id.
    notices: Mutex<HashMap<(String, Client), String>>,
    /// Messages just handed to the sfb delivery port, by id, so that
    /// recording their delivery does not read them back from the store
    /// (measured: that read was ~10 % of the CPU of teams → sfb messages,
    /// `cargo bench --bench interop`). A miss (after a restart, a retry, or
    /// when full) reads the store as before.
    awaiting_sfb: Mutex<HashMap<i64, model::Message>>,
    /// Who may have a message pending for their sfb client, so that a
    /// registration of anyone else skips the store (`sfb_pending.rs`).
    sfb_pending: Arc<sfb_pending::PendingSfb>,
}

impl Teams {
    /// Loads threads and sessions from `store` and starts the writer.
    pub async fn open(
        directory: Arc<Directory>,
        store: Arc<dyn ConversationStore>,
        clock: Arc<dyn Clock>,
        config: TeamsConfig,
        sfb: Arc<dyn SfbDelivery>,
    ) -> Result<Arc<Teams>> {
        let snapshot = store.load_conversations(clock.now()).await?;
        let hub = Arc::new(Hub::default());
        let sfb_pending = Arc::new(sfb_pending::PendingSfb::new(snapshot.sfb_pending));
        let writer = Writer::start(
            store.clone(),
            clock.clone(),
            hub.clone(),
            sfb_pending.clone(),
            snapshot.last_message_id.max(snapshot.last_event_id),
        );
        Ok(Arc::new(Teams {
            directory,
            store,
            clock,
            config,
            writer,
            hub,
            sfb,
            threads: RwLock::new(thread_cache::ThreadCache::new(snapshot.threads)),
            thread_lock: tokio::sync::Mutex::new(()),
            sessions: RwLock::new(
                snapshot
                    .sessions
                    .into_iter()
                    .map(|s| (s.digest.clone(), s))
                    .collect(),
            ),
            throttle: Mutex::new(HashMap::new()),
            presence: presence::PresenceHub::default(),
            calls: Mutex::new(calls::Calls::default()),
            ring_timers: calls::RingTimers::default(),
            notices: Mutex::new(HashMap::new()),
            awaiting_sfb: Mutex::new(HashMap::new()),
            sfb_pending,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &TeamsConfig {
        &self.config
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Whether one of `upn`'s live sfb registrations is an IP phone, as the
    /// sfb side reports (R6.3; the R8.6 lint asks).
    pub fn has_ip_phone(&self, upn: &str) -> bool {
        self.sfb.has_ip_phone(upn)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The caller's own record (`GET /v1/me`).
    pub fn me(&self, upn: &str) -> Result<User> {
        self.directory
            .read()
            .user(upn)
            .cloned()
            .ok_or_else(|| TeamsError::not_found("user", upn))
    }
}

/// A user with their tenant and effective mode, as a decision needs them.
pub(crate) struct Party<'a> {
    pub user: &'a User,
    pub tenant: &'a Tenant,
    pub mode: Mode,
}

pub(crate) fn party<'a>(state: &'a State, upn: &str) -> Option<Party<'a>> {
    let user = state.user(upn)?;
    let tenant = state.tenant(&user.tenant)?;
    Some(Party {
        user,
        tenant,
        mode: effective_of(user, tenant).mode(),
    })
}

/// How two users relate now: same tenant (with its topology) or federated
/// (with the R3.4 check).
pub(crate) fn reach(a: &Party<'_>, b: &Party<'_>) -> Reach {
    if a.tenant.name == b.tenant.name {
        Reach::InTenant(a.tenant.topology)
    } else {
        Reach::Federated(check_federation(
            FederationSide {
                domain: a.user.domain(),
                cloud: a.tenant.cloud,
                settings: &a.tenant.federation,
            },
            FederationSide {
                domain: b.user.domain(),
                cloud: b.tenant.cloud,
                settings: &b.tenant.federation,
            },
        ))
    }
}

/// R3: a new conversation from `from` on `client` to `to`.
pub(crate) fn route_new(from: &Party<'_>, client: Client, to: &Party<'_>) -> Verdict {
    route(&conversation(from, client, to))
}

/// R3.6 with R9.1/R9.2: where a new call from `from`'s `client` to `to`
/// lands — by `to`'s legacy TeamsInteropPolicy while they are in Islands,
/// else like a chat. The same decision as the SIP edge's and explain's
/// (`coexist_policy::route_call`).
pub(crate) fn route_new_call(
    state: &State,
    from: &Party<'_>,
    client: Client,
    to: &Party<'_>,
) -> Verdict {
    route_call(
        &conversation(from, client, to),
        state.legacy_calling(to.user),
    )
}

fn conversation(from: &Party<'_>, client: Client, to: &Party<'_>) -> NewConversation {
    NewConversation {
        from: Originator {
            mode: from.mode,
            client,
            homing: from.user.sfb_homing,
            enabled: from.user.enablement(),
        },
        to: Recipient {
            mode: to.mode,
            homing: to.user.sfb_homing,
            enabled: to.user.enablement(),
        },
        reach: reach(from, to),
    }
}

/// A fresh id: `prefix` and 24 random hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    let secret = crate::credentials::random_secret("");
    format!("{prefix}{}", &secret[..24])
}
