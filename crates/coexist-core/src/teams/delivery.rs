//! Delivery of a stored message: the `message` events to teams
//! recipients, the sfb delivery port for sfb ones (pending until it
//! reports), the missed-message safety net; and the sfb side's entry point
//! for IMs that land on teams.

use super::model::{
    Body, Delivery, DeliveryState, Member, Message, Thread, ThreadKind, ThreadState,
};
use super::ports::SfbMessage;
use super::presence::lock;
use super::writer::Op;
use super::{Result, Teams, TeamsError, new_id, party, route_new};
use crate::clock::Timestamp;
use coexist_policy::interop_limits::ContentType;
use coexist_policy::presence::presences_kept;
use coexist_policy::{Client, Outcome};
use serde_json::json;

/// Messages kept in `Teams::awaiting_sfb` at most (~300 B each).
const AWAITING_SFB_MAX: usize = 65_536;

impl Teams {
    /// Stores a message in `thread` from `me` and delivers it: durable
    /// first, then a `message` event to each teams recipient and the sfb
    /// delivery port for each sfb one, with the safety net's notices.
    pub(crate) async fn deliver(
        &self,
        thread: &Thread,
        me: &str,
        body: Body,
        converted_from: Option<ContentType>,
        attachments: Vec<serde_json::Value>,
    ) -> Result<Message> {
        let recipients: Vec<&Member> = thread.members.iter().filter(|m| m.upn != me).collect();
        let deliveries = recipients
            .iter()
            .map(|m| Delivery {
                upn: m.upn.clone(),
                client: m.client,
                state: match m.client {
                    Client::Teams => DeliveryState::Delivered,
                    Client::Sfb => DeliveryState::Pending,
                },
            })
            .collect();
        // Teams recipients, and the sender's own other teams connections
        // (the message shows on their phone too).
        let notify: Vec<String> = thread
            .members
            .iter()
            .filter(|m| m.client == Client::Teams)
            .map(|m| m.upn.clone())
            .collect();
        let message = Message {
            id: 0,
            chat_id: thread.id.clone(),
            from: me.to_owned(),
            created_at: self.now(),
            body,
            converted_from,
            attachments,
            deliveries,
        };
        let mut ops = vec![Op::NewMessage { message, notify }];
        let sfb_notices = self.safety_net(thread, me, &recipients, &mut ops);
        let committed = self.writer.write(ops).await?;
        let message = committed
            .messages
            .into_iter()
            .next()
            .ok_or_else(|| crate::ports::StoreError("the writer lost a message".into()))?;
        if recipients.iter().any(|m| m.client == Client::Sfb) {
            self.await_sfb(&message);
        }
        for member in recipients.iter().filter(|m| m.client == Client::Sfb) {
            self.sfb.deliver(SfbMessage {
                message_id: message.id,
                chat_id: message.chat_id.clone(),
                from: me.to_owned(),
                to: member.upn.clone(),
                text: message.body.content.clone(),
            });
        }
        for to in sfb_notices {
            self.sfb.notice(&to, me, &thread.id);
        }
        Ok(message)
    }

    /// The missed-message safety net: for each recipient with no live
    /// endpoint on the client the message lands on, not seen there for
    /// `notice_after`, and who keeps another client (R7.1's Islands users),
    /// one notice on that other client — never twice in a row for the same
    /// thread. Teams notices become events in `ops`; the sfb ones are
    /// returned for the delivery port.
    fn safety_net(
        &self,
        thread: &Thread,
        from: &str,
        recipients: &[&Member],
        ops: &mut Vec<Op>,
    ) -> Vec<String> {
        let now = self.now();
        let quiet_ms = i64::try_from(self.config.notice_after.as_millis()).unwrap_or(i64::MAX);
        let mut sfb = Vec::new();
        for member in recipients {
            let (live, seen) = match member.client {
                Client::Teams => (
                    self.hub.is_live(&member.upn),
                    self.hub.last_seen(&member.upn),
                ),
                Client::Sfb => (
                    self.sfb.has_live_endpoint(&member.upn),
                    self.sfb.last_seen(&member.upn),
                ),
            };
            if live || seen.is_some_and(|at: Timestamp| now.0.saturating_sub(at.0) < quiet_ms) {
                continue;
            }
            let other = member.client.other();
            let keeps_other = {
                let state = self.directory.read();
                party(&state, &member.upn).is_some_and(|p| {
                    presences_kept(p.mode).contains(&other)
                        && p.user.enablement().allows(other, p.user.sfb_homing)
                })
            };
            if !keeps_other {
                continue;
            }
            {
                let mut notices = self.notices.lock().unwrap_or_else(|p| p.into_inner());
                let key = (member.upn.clone(), other);
                if notices.get(&key) == Some(&thread.id) {
                    continue;
                }
                notices.insert(key, thread.id.clone());
            }
            match other {
                Client::Teams => ops.push(Op::event(
                    vec![member.upn.clone()],
                    "notice",
                    &json!({
                        "chat_id": thread.id,
                        "from": from,
                        "client": member.client,
                        "text": format!("{from} sent you a message in Skype for Business"),
                    }),
                )),
                Client::Sfb => sfb.push(member.upn.clone()),
            }
        }
        sfb
    }

    /// The sfb side reports a message's outcome for one recipient; the
    /// sender sees it (a `message` event with `change: delivery`).
    pub async fn record_sfb_delivery(
        &self,
        message_id: i64,
        upn: &str,
        state: DeliveryState,
    ) -> Result<Message> {
        let cached = lock(&self.awaiting_sfb).remove(&message_id);
        let mut message = match cached {
            Some(message) => message,
            None => self
                .store
                .message(message_id)
                .await?
                .ok_or_else(|| TeamsError::not_found("message", &message_id.to_string()))?,
        };
        let delivery = message
            .deliveries
            .iter_mut()
            .find(|d| d.upn == upn && d.client == Client::Sfb)
            .ok_or_else(|| TeamsError::not_found("delivery", upn))?;
        delivery.state = state;
        let notify = vec![message.from.clone()];
        self.writer
            .write(vec![Op::UpdateMessage {
                message: message.clone(),
                notify,
            }])
            .await?;
        // Another sfb recipient of the same message still to report: keep
        // it (as now written) for them.
        if message
            .deliveries
            .iter()
            .any(|d| d.client == Client::Sfb && d.state == DeliveryState::Pending)
        {
            self.await_sfb(&message);
        }
        Ok(message)
    }

    /// Keeps `message` until its sfb delivery is recorded (while there is
    /// room: a miss reads the store).
    fn await_sfb(&self, message: &Message) {
        let mut awaiting = lock(&self.awaiting_sfb);
        if awaiting.len() < AWAITING_SFB_MAX {
            awaiting.insert(message.id, message.clone());
        }
    }

    /// Nothing lost (issue 6): hands every message still pending for
    /// `upn`'s sfb client to the delivery port again, oldest first, in one
    /// batch so they arrive in order. The SIP edge calls this when `upn`
    /// registers again (and for the registrations it restores at start, so
    /// what was pending before a restart goes out too). The count handed.
    ///
    /// The store is asked only for a user who may have something pending
    /// ([`may_have_pending_sfb`](Self::may_have_pending_sfb)); one it finds
    /// nothing for leaves that set (`sfb_pending.rs` says why no pending
    /// delivery can be missed).
    pub async fn retry_sfb_deliveries(&self, upn: &str) -> Result<usize> {
        const MAX_RETRIED: u32 = 1000;
        // Read before the query: a message committed after it marks again.
        let Some(mark) = self.sfb_pending.mark_of(upn) else {
            return Ok(0);
        };
        let pending = self.store.pending_sfb(upn, MAX_RETRIED).await?;
        if pending.is_empty() {
            self.sfb_pending.forget(upn, mark);
            return Ok(0);
        }
        let messages: Vec<SfbMessage> = pending
            .into_iter()
            .map(|m| SfbMessage {
                message_id: m.id,
                chat_id: m.chat_id,
                from: m.from,
                to: upn.to_owned(),
                text: m.body.content,
            })
            .collect();
        let count = messages.len();
        self.sfb.deliver_in_order(messages);
        Ok(count)
    }

    /// Whether `upn` may have a message pending for their sfb client: when
    /// not, [`retry_sfb_deliveries`](Self::retry_sfb_deliveries) has nothing
    /// to do, and the sfb port need not start it (a registration refresh of
    /// a user with nothing pending then costs a lookup, not a task and a
    /// query).
    pub fn may_have_pending_sfb(&self, upn: &str) -> bool {
        self.sfb_pending.mark_of(upn).is_some()
    }

    /// The sfb side's entry point for an IM from `from`'s sfb client to
    /// `to` (a new conversation, R3; or a reply in its session, R4.3) whose
    /// verdict lands on teams: kept in the 1:1 thread of these two with that
    /// method (created when there is none, R4.4) as plain text, and
    /// delivered like any message. One that lands on sfb is not the teams
    /// side's (`InvalidField` on `to`); a refusal carries its code.
    pub async fn receive_sfb_message(&self, from: &str, to: &str, text: &str) -> Result<Message> {
        if text.trim().is_empty() || text.len() > super::chats::MAX_CONTENT {
            return Err(TeamsError::invalid(
                "text",
                format!("1 to {} bytes", super::chats::MAX_CONTENT),
            ));
        }
        let (sender, recipient, method) = {
            let state = self.directory.read();
            let origin = party(&state, from).ok_or_else(|| TeamsError::not_found("user", from))?;
            let target = party(&state, to).ok_or_else(|| TeamsError::not_found("user", to))?;
            let verdict = route_new(&origin, Client::Sfb, &target);
            match verdict.outcome {
                Outcome::Lands {
                    client: Client::Teams,
                    method,
                } => (
                    origin.user.upn.clone(),
                    target.user.upn.clone(),
                    Some(method),
                ),
                // R4.3: a new conversation would land on sfb, so the SIP
                // edge sent it here because the sfb session of a teams
                // user's message is still alive: a reply, which belongs in
                // that message's thread (below).
                Outcome::Lands { .. } => (origin.user.upn.clone(), target.user.upn.clone(), None),
                Outcome::Refused(refusal) => {
                    return Err(TeamsError::refused(&verdict, refusal, Some(to)));
                }
            }
        };
        let thread = {
            let _lock = self.thread_lock.lock().await;
            let existing: Option<Thread> = {
                let cache = self.threads.read().unwrap_or_else(|p| p.into_inner());
                cache
                    .of_member(&recipient)
                    .filter(|t| {
                        t.kind == ThreadKind::OneOnOne
                            && t.state == ThreadState::Active
                            && method.is_none_or(|method| t.method == method)
                            && t.member(&sender).is_some_and(|m| m.client == Client::Sfb)
                            && t.member(&recipient)
                                .is_some_and(|m| m.client == Client::Teams)
                    })
                    .max_by(|a, b| a.created_at.cmp(&b.created_at))
                    .cloned()
            };
            let blocked = existing
                .as_ref()
                .and_then(|t| self.continuation(t, &sender));
            match (existing, blocked) {
                (Some(thread), None) => thread,
                // R4.3 then R4.2: the reply would follow its conversation,
                // which is no longer possible (a grant changed meanwhile).
                (Some(_), Some((verdict, refusal))) if method.is_none() => {
                    return Err(TeamsError::Refused {
                        refusal,
                        upn: None,
                        replaced_by: None,
                        rules: verdict.trail.to_string(),
                    });
                }
                _ if method.is_none() => {
                    return Err(TeamsError::invalid(
                        "to",
                        "this lands on the recipient's sfb client: the SIP edge delivers it",
                    ));
                }
                _ => {
                    let method = method.unwrap_or(coexist_policy::Method::Interop);
                    let thread = Thread {
                        id: new_id("19:"),
                        kind: ThreadKind::OneOnOne,
                        topic: None,
                        method,
                        members: vec![
                            Member {
                                upn: recipient.clone(),
                                client: Client::Teams,
                            },
                            Member {
                                upn: sender.clone(),
                                client: Client::Sfb,
                            },
                        ],
                        created_by: sender.clone(),
                        created_at: self.now(),
                        state: ThreadState::Active,
                        disabled_reason: None,
                        replaced_by: None,
                        replaces: None,
                    };
                    self.write_threads(Vec::new(), &thread, None).await?;
                    thread
                }
            }
        };
        let body = Body {
            content_type: ContentType::Text,
            content: text.to_owned(),
        };
        self.deliver(&thread, &sender, body, None, Vec::new()).await
    }
}
