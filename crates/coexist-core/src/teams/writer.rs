//! Group commit and live delivery. Every durable teams write (threads,
//! messages, events, sessions) goes through one writer task: it takes
//! whatever jobs are queued, gives messages and events their ids, commits
//! them all in one transaction, and only then answers each job and pushes
//! the events to the live connections — in id order, so a user's stream
//! is the same live and on resume. Nothing is acknowledged before it is
//! committed; under load one commit carries many requests.

use super::model::{Message, Session, StoredEvent, Thread};
use super::ports::{ConversationStore, Row, sfb_pending_upns};
use super::sfb_pending::PendingSfb;
use crate::clock::{Clock, Timestamp};
use crate::ports::StoreError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Jobs taken into one commit at most.
const MAX_BATCH: usize = 1024;
/// Events a live connection may have queued before it is dropped (the
/// client then resumes from the store with `?since=`).
pub(crate) const LIVE_QUEUE: usize = 8192;

/// One write.
#[derive(Debug)]
pub(crate) enum Op {
    /// Create or replace a thread.
    Thread(Thread),
    /// Create or replace a session.
    Session(Session),
    /// A new message (its id is given here) with a `message` event to each
    /// of `notify`.
    NewMessage {
        message: Message,
        notify: Vec<String>,
    },
    /// A changed message (delivery state), with a `message` event.
    UpdateMessage {
        message: Message,
        notify: Vec<String>,
    },
    /// An event of `kind` with the members of `data_json` (an object's JSON
    /// text) to each of `to`. Made with `Op::event`.
    Event {
        to: Vec<String>,
        kind: &'static str,
        data_json: String,
    },
}

impl Op {
    /// An event of `kind` whose members are those of `data` (an object),
    /// rendered here, on the caller's task: the writer is one thread that
    /// every commit waits for, so it does no serialising it can avoid (it
    /// was a sixth of the CPU of sfb → teams calls, issue 6).
    pub(crate) fn event(to: Vec<String>, kind: &'static str, data: &impl serde::Serialize) -> Op {
        Op::Event {
            to,
            kind,
            data_json: serde_json::to_string(data).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// What a job got once committed.
#[derive(Debug, Default)]
pub(crate) struct Committed {
    /// The messages written, with their ids.
    pub messages: Vec<Message>,
}

#[derive(Debug)]
struct Job {
    ops: Vec<Op>,
    reply: oneshot::Sender<Result<Committed, StoreError>>,
}

/// The handle that queues jobs for the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task.
    pub(crate) fn start(
        store: Arc<dyn ConversationStore>,
        clock: Arc<dyn Clock>,
        hub: Arc<Hub>,
        sfb_pending: Arc<PendingSfb>,
        last_id: i64,
    ) -> Writer {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let writer = run(rx, store, clock, hub, sfb_pending, last_id);
        // The writer gets a thread and a runtime of its own: a commit is
        // several round trips to the database, and on a runtime busy with
        // thousands of HTTP tasks each would wait its turn, so commits would
        // take many times their real cost. It ends when every handle is gone.
        let spawned = std::thread::Builder::new()
            .name("teams-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(writer),
                    Err(error) => tracing::error!(%error, "teams writer runtime"),
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "teams writer thread");
        }
        Writer { tx }
    }

    /// Writes `ops` durably; returns once they are committed.
    pub(crate) async fn write(&self, ops: Vec<Op>) -> Result<Committed, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { ops, reply })
            .await
            .map_err(|_| StoreError("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError("the writer has stopped".into()))?
    }
}

/// `{"id":…,"type":…,"at":…}` followed by the members of `data_json` (an
/// object's JSON text).
fn payload(id: i64, kind: &str, at: Timestamp, data_json: &str) -> String {
    let rest = data_json.trim();
    let rest = rest.strip_prefix('{').unwrap_or("}");
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!("{{\"id\":{id},\"type\":\"{kind}\",\"at\":\"{at}\"{sep}{rest}")
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    store: Arc<dyn ConversationStore>,
    clock: Arc<dyn Clock>,
    hub: Arc<Hub>,
    sfb_pending: Arc<PendingSfb>,
    mut last_id: i64,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let now = clock.now();
        // One sequence for messages and events: a new message's id is the
        // id of its `message` event in each recipient's stream, so that event
        // is not stored twice (replay renders it from the message row).
        let mut id = last_id;
        let mut per_job: Vec<Vec<Message>> = Vec::with_capacity(jobs.len());
        let mut threads = Vec::new();
        let mut sessions = Vec::new();
        let mut messages: Vec<Message> = Vec::new();
        // Stored events, and live ones (stored or rendered from a message).
        let mut stored: Vec<StoredEvent> = Vec::new();
        let mut live: Vec<Arc<StoredEvent>> = Vec::new();
        for job in &mut jobs {
            let mut written = Vec::new();
            for op in std::mem::take(&mut job.ops) {
                match op {
                    Op::Thread(thread) => threads.push(thread),
                    Op::Session(session) => sessions.push(session),
                    Op::NewMessage {
                        mut message,
                        notify,
                    } => {
                        id += 1;
                        message.id = id;
                        if !notify.is_empty() {
                            let payload = message_payload(id, &message, "new", message.created_at);
                            for upn in notify {
                                live.push(Arc::new(StoredEvent {
                                    id,
                                    upn,
                                    at: message.created_at,
                                    payload: payload.clone(),
                                }));
                            }
                        }
                        written.push(message.clone());
                        messages.push(message);
                    }
                    Op::UpdateMessage { message, notify } => {
                        for upn in notify {
                            id += 1;
                            stored.push(StoredEvent {
                                id,
                                upn,
                                at: now,
                                payload: message_payload(id, &message, "delivery", now),
                            });
                        }
                        written.push(message.clone());
                        messages.push(message);
                    }
                    Op::Event {
                        to,
                        kind,
                        data_json,
                    } => {
                        for upn in to {
                            id += 1;
                            stored.push(StoredEvent {
                                id,
                                payload: payload(id, kind, now, &data_json),
                                upn,
                                at: now,
                            });
                        }
                    }
                }
            }
            per_job.push(written);
        }
        let mut rows: Vec<Row<'_>> =
            Vec::with_capacity(threads.len() + sessions.len() + messages.len() + stored.len());
        rows.extend(threads.iter().map(Row::Thread));
        rows.extend(sessions.iter().map(Row::Session));
        rows.extend(messages.iter().map(Row::Message));
        rows.extend(stored.iter().map(Row::Event));
        let outcome = store.commit_conversations(&rows).await;
        drop(rows);
        match outcome {
            Ok(()) => {
                last_id = id;
                // Nothing lost: here, not in the callers, because a caller
                // may be gone (a dropped request) once this is durable.
                for upn in messages.iter().flat_map(sfb_pending_upns) {
                    sfb_pending.mark(upn);
                }
                live.extend(stored.into_iter().map(Arc::new));
                live.sort_by_key(|event| event.id);
                hub.publish(live.into_iter());
                for (job, written) in jobs.drain(..).zip(per_job) {
                    let _ = job.reply.send(Ok(Committed { messages: written }));
                }
            }
            Err(error) => {
                tracing::error!(%error, "teams commit failed");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(StoreError(error.0.clone())));
                }
            }
        }
    }
}

/// The `message` event for `message`, as sent live and as rendered on
/// replay.
pub(crate) fn message_payload(id: i64, message: &Message, change: &str, at: Timestamp) -> String {
    #[derive(serde::Serialize)]
    struct Data<'a> {
        change: &'a str,
        message: &'a Message,
    }
    let data = serde_json::to_string(&Data { change, message }).unwrap_or_else(|_| "{}".into());
    payload(id, "message", at, &data)
}

/// A live connection's queue.
pub type LiveRx = mpsc::Receiver<Arc<StoredEvent>>;

#[derive(Debug, Default)]
struct Live {
    conns: Vec<(u64, mpsc::Sender<Arc<StoredEvent>>)>,
    last_seen: Option<Timestamp>,
}

/// The live teams connections of every user.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    users: Mutex<HashMap<String, Live>>,
    next: AtomicU64,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection; `true` when it is the user's first.
    pub(crate) fn connect(&self, upn: &str, now: Timestamp) -> (u64, LiveRx, bool) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(LIVE_QUEUE);
        let mut users = self.lock();
        let live = users.entry(upn.to_owned()).or_default();
        let first = live.conns.is_empty();
        live.conns.push((id, tx));
        live.last_seen = Some(now);
        (id, rx, first)
    }

    /// Removes a connection; `true` when the user has none left.
    pub(crate) fn disconnect(&self, upn: &str, id: u64, now: Timestamp) -> bool {
        let mut users = self.lock();
        let Some(live) = users.get_mut(upn) else {
            return false;
        };
        let had = live.conns.len();
        live.conns.retain(|(conn, _)| *conn != id);
        live.last_seen = Some(now);
        had > 0 && live.conns.is_empty()
    }

    /// Whether the user has a live teams connection.
    pub(crate) fn is_live(&self, upn: &str) -> bool {
        self.lock().get(upn).is_some_and(|l| !l.conns.is_empty())
    }

    /// How many live connections the user has.
    pub(crate) fn connections(&self, upn: &str) -> usize {
        self.lock().get(upn).map_or(0, |l| l.conns.len())
    }

    /// When the user's teams client was last seen (connected or left).
    pub(crate) fn last_seen(&self, upn: &str) -> Option<Timestamp> {
        self.lock().get(upn).and_then(|l| l.last_seen)
    }

    /// Pushes committed events to their users' connections, in order. A
    /// connection whose queue is full is dropped: its client resumes from
    /// the store.
    fn publish(&self, events: impl Iterator<Item = Arc<StoredEvent>>) {
        let mut users = self.lock();
        for event in events {
            if let Some(live) = users.get_mut(&event.upn) {
                live.conns
                    .retain(|(_, tx)| tx.try_send(event.clone()).is_ok());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::payload;
    use crate::clock::Timestamp;

    #[test]
    fn payload_puts_id_type_and_time_before_the_data() {
        let p = payload(7, "notice", Timestamp(0), r#"{"a":1}"#);
        assert_eq!(
            p,
            r#"{"id":7,"type":"notice","at":"1970-01-01T00:00:00.000Z","a":1}"#
        );
        let empty = payload(8, "thread", Timestamp(0), "{}");
        let parsed: serde_json::Value = serde_json::from_str(&empty).unwrap_or_default();
        assert_eq!(parsed["id"], 8);
    }
}
