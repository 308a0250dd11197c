//! Chats: persistent threads routed at creation (R3) with the method fixed
//! for life (R4.1), disabled and replaced when that is no longer possible
//! (R4.2); messages with the R5 limits; the missed-message safety net.

use super::model::{Body, Member, Message, Thread, ThreadKind, ThreadState};
use super::writer::Op;
use super::{Party, Result, Teams, TeamsError, new_id, party, reach, route_new};
use coexist_policy::interop_limits::{
    BodyHandling, ContentType, body_handling, check_attachments, check_group_member,
};
use coexist_policy::threads::{
    ThreadContinuation, ThreadParty, check_member_method, continue_thread,
};
use coexist_policy::{Client, Method, Note, Refusal, RefusalCode, RuleId, RuleTrail, Verdict};
use serde::Deserialize;
use serde_json::json;

/// Largest message body (bytes), as Teams.
pub(crate) const MAX_CONTENT: usize = 28 * 1024;
/// Most members of a group chat.
const MAX_MEMBERS: usize = 250;
/// Most attachments on one message, and their total JSON size.
const MAX_ATTACHMENTS: usize = 10;
const MAX_ATTACHMENT_BYTES: usize = 64 * 1024;

/// `POST /v1/chats`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The other people (UPNs); the caller may be listed too.
    pub members: Vec<String>,
    /// A topic makes it a group chat even with one other person.
    #[serde(default)]
    pub topic: Option<String>,
}

/// A message body as sent.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BodyRequest {
    /// `text` (default), `html` or `markdown`.
    #[serde(rename = "contentType", default)]
    pub content_type: Option<String>,
    /// The content (at most 28 KiB).
    pub content: String,
}

/// `POST /v1/chats/{id}/messages`.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    /// The body.
    pub body: BodyRequest,
    /// Attachments (objects); refused on interop and federated threads
    /// (R5.2).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub attachments: Vec<serde_json::Value>,
}

/// A thread as a viewer sees it.
pub type ThreadView = Thread;

fn normalise_upn(given: &str) -> String {
    given.trim().to_ascii_lowercase()
}

impl Teams {
    fn cached(&self, id: &str) -> Option<Thread> {
        self.threads
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    fn cache(&self, threads: &[&Thread]) {
        let mut cache = self.threads.write().unwrap_or_else(|p| p.into_inner());
        for thread in threads {
            cache.insert((*thread).clone());
        }
    }

    /// A thread the caller is on teams in; 404 otherwise (nobody learns
    /// which threads exist).
    fn visible(&self, me: &str, id: &str) -> Result<Thread> {
        self.cached(id)
            .filter(|t| {
                t.member(me)
                    .is_some_and(|m| matches!(m.client, Client::Teams))
            })
            .ok_or_else(|| TeamsError::not_found("chat", id))
    }

    /// R4.1/R4.2 for `sender` posting to `thread` now: `None` when every
    /// other member is still reachable the way fixed at creation.
    pub(crate) fn continuation(&self, thread: &Thread, sender: &str) -> Option<(Verdict, Refusal)> {
        let state = self.directory.read();
        let gone = || {
            let verdict = Verdict::refused(
                RefusalCode::ThreadDisabled,
                RuleId::R4_2,
                Note::MemberNoLongerExists,
                RuleTrail::new(),
            );
            Some((
                verdict,
                Refusal::new(RefusalCode::ThreadDisabled, RuleId::R4_2),
            ))
        };
        let (Some(me), Some(my_member)) = (party(&state, sender), thread.member(sender)) else {
            return gone();
        };
        let as_party = |p: &Party<'_>, client: Client| ThreadParty {
            mode: p.mode,
            homing: p.user.sfb_homing,
            enabled: p.user.enablement(),
            client,
        };
        for member in thread.members.iter().filter(|m| m.upn != sender) {
            let Some(other) = party(&state, &member.upn) else {
                return gone();
            };
            let verdict = continue_thread(&ThreadContinuation {
                method: thread.method,
                sender: as_party(&me, my_member.client),
                recipient: as_party(&other, member.client),
                reach: reach(&me, &other),
            });
            if let Some(refusal) = verdict.refusal() {
                return Some((verdict, refusal));
            }
        }
        None
    }

    /// Creates a chat, or returns the existing routable 1:1 thread with
    /// that person and method: `(thread, created)`.
    pub async fn create_chat(&self, me: &str, request: ChatRequest) -> Result<(Thread, bool)> {
        if request.members.len() > MAX_MEMBERS {
            return Err(TeamsError::invalid(
                "members",
                format!("at most {MAX_MEMBERS} people"),
            ));
        }
        let topic = request.topic.map(|t| t.trim().to_owned());
        if topic.as_ref().is_some_and(|t| {
            t.is_empty() || t.chars().count() > 256 || t.chars().any(char::is_control)
        }) {
            return Err(TeamsError::invalid(
                "topic",
                "must be 1-256 printable characters",
            ));
        }
        let mut others: Vec<String> = Vec::new();
        for given in &request.members {
            let upn = normalise_upn(given);
            if upn != me && !others.contains(&upn) {
                others.push(upn);
            }
        }
        if others.is_empty() {
            return Err(TeamsError::invalid(
                "members",
                "name at least one person other than yourself",
            ));
        }
        let kind = if others.len() == 1 && topic.is_none() {
            ThreadKind::OneOnOne
        } else {
            ThreadKind::Group
        };
        // Route every member (R3); a group holds teams members only (R5.3).
        let (members, method) = {
            let state = self.directory.read();
            let origin = party(&state, me).ok_or_else(|| TeamsError::not_found("user", me))?;
            let mut members = vec![Member {
                upn: origin.user.upn.clone(),
                client: Client::Teams,
            }];
            let mut method = Method::Native;
            for upn in &others {
                let other = party(&state, upn).ok_or_else(|| TeamsError::not_found("user", upn))?;
                let verdict = route_new(&origin, Client::Teams, &other);
                let (client, landed) = match verdict.outcome {
                    coexist_policy::Outcome::Lands { client, method } => (client, method),
                    coexist_policy::Outcome::Refused(refusal) => {
                        return Err(TeamsError::refused(&verdict, refusal, Some(upn)));
                    }
                };
                if kind == ThreadKind::Group {
                    if let Err(refusal) = check_group_member(Client::Teams, client) {
                        return Err(TeamsError::Refused {
                            refusal,
                            upn: Some(upn.clone()),
                            replaced_by: None,
                            rules: format!("{}; R5.3 {upn} lands on {client}", verdict.trail),
                        });
                    }
                }
                if method == Method::Native {
                    method = landed;
                }
                members.push(Member {
                    upn: other.user.upn.clone(),
                    client,
                });
            }
            (members, method)
        };
        let _lock = self.thread_lock.lock().await;
        let mut predecessor = None;
        if kind == ThreadKind::OneOnOne {
            let other = &members[1];
            let candidates: Vec<Thread> = {
                let cache = self.threads.read().unwrap_or_else(|p| p.into_inner());
                cache
                    .of_member(me)
                    .filter(|t| {
                        t.kind == ThreadKind::OneOnOne
                            && t.member(me).is_some_and(|m| m.client == Client::Teams)
                            && t.member(&other.upn).is_some()
                    })
                    .cloned()
                    .collect()
            };
            for mut thread in candidates {
                let same = thread.method == method
                    && thread.member(&other.upn).map(|m| m.client) == Some(other.client);
                if thread.state == ThreadState::Active {
                    match self.continuation(&thread, me) {
                        None if same => return Ok((thread, false)),
                        None => {}
                        Some((verdict, refusal)) => {
                            self.mark_disabled(&mut thread, &verdict, refusal);
                            predecessor = Some(thread);
                        }
                    }
                } else if thread.replaced_by.is_none() {
                    predecessor = Some(thread);
                }
            }
        }
        let now = self.now();
        let mut thread = Thread {
            id: new_id("19:"),
            kind,
            topic,
            method,
            members,
            created_by: me.to_owned(),
            created_at: now,
            state: ThreadState::Active,
            disabled_reason: None,
            replaced_by: None,
            replaces: None,
        };
        let mut ops = Vec::new();
        if let Some(mut old) = predecessor {
            old.replaced_by = Some(thread.id.clone());
            thread.replaces = Some(old.id.clone());
            ops.push(Op::event(
                teams_members(&old),
                "thread",
                &json!({"change": "disabled", "chat": old}),
            ));
            ops.push(Op::Thread(old.clone()));
            self.write_threads(ops, &thread, Some(&old)).await?;
        } else {
            self.write_threads(ops, &thread, None).await?;
        }
        Ok((thread, true))
    }

    pub(crate) async fn write_threads(
        &self,
        mut ops: Vec<Op>,
        thread: &Thread,
        old: Option<&Thread>,
    ) -> Result<()> {
        ops.push(Op::Thread(thread.clone()));
        ops.push(Op::event(
            teams_members(thread),
            "thread",
            &json!({"change": "created", "chat": thread}),
        ));
        self.writer.write(ops).await?;
        match old {
            Some(old) => self.cache(&[old, thread]),
            None => self.cache(&[thread]),
        }
        Ok(())
    }

    fn mark_disabled(&self, thread: &mut Thread, verdict: &Verdict, refusal: Refusal) {
        thread.state = ThreadState::Disabled;
        thread.disabled_reason = Some(format!(
            "{} ({}): {}; start a new thread. Rules: {}",
            refusal.code,
            refusal.rule,
            refusal.sentence(),
            verdict.trail
        ));
    }

    /// R4.2: disables `thread` and, for a 1:1 thread, links it to the thread
    /// a new conversation from `viewer` would use (created if needed, when
    /// R3 allows one).
    async fn disable_and_replace(
        &self,
        thread: Thread,
        viewer: &str,
        verdict: &Verdict,
        refusal: Refusal,
    ) -> Result<Thread> {
        if thread.kind == ThreadKind::OneOnOne {
            let other = thread
                .members
                .iter()
                .find(|m| m.upn != viewer)
                .map(|m| m.upn.clone())
                .unwrap_or_default();
            let possible = {
                let state = self.directory.read();
                match (party(&state, viewer), party(&state, &other)) {
                    (Some(a), Some(b)) => route_new(&a, Client::Teams, &b).is_possible(),
                    _ => false,
                }
            };
            if possible {
                // Creating the new thread disables and links the old one.
                let request = ChatRequest {
                    members: vec![other],
                    topic: None,
                };
                self.create_chat(viewer, request).await?;
                return self
                    .cached(&thread.id)
                    .ok_or_else(|| TeamsError::not_found("chat", &thread.id));
            }
        }
        let _lock = self.thread_lock.lock().await;
        let mut current = self.cached(&thread.id).unwrap_or(thread);
        if current.state == ThreadState::Disabled {
            return Ok(current);
        }
        self.mark_disabled(&mut current, verdict, refusal);
        self.writer
            .write(vec![
                Op::Thread(current.clone()),
                Op::event(
                    teams_members(&current),
                    "thread",
                    &json!({"change": "disabled", "chat": current}),
                ),
            ])
            .await?;
        self.cache(&[&current]);
        Ok(current)
    }

    /// Adds someone to a group chat: they must land on teams (R5.3) the way
    /// the chat was created (R4.1). Adding a member already there changes
    /// nothing.
    pub async fn add_member(&self, me: &str, id: &str, upn: &str) -> Result<Thread> {
        let upn = normalise_upn(upn);
        let thread = self.visible(me, id)?;
        if thread.kind != ThreadKind::Group {
            return Err(TeamsError::invalid(
                "upn",
                "a 1:1 chat takes no more people; start a group chat",
            ));
        }
        self.ensure_open(&thread, me).await?;
        let member = {
            let state = self.directory.read();
            let origin = party(&state, me).ok_or_else(|| TeamsError::not_found("user", me))?;
            let other = party(&state, &upn).ok_or_else(|| TeamsError::not_found("user", &upn))?;
            let verdict = route_new(&origin, Client::Teams, &other);
            let (client, method) = match verdict.outcome {
                coexist_policy::Outcome::Lands { client, method } => (client, method),
                coexist_policy::Outcome::Refused(refusal) => {
                    return Err(TeamsError::refused(&verdict, refusal, Some(&upn)));
                }
            };
            if let Err(refusal) = check_group_member(Client::Teams, client) {
                return Err(TeamsError::Refused {
                    refusal,
                    upn: Some(upn.clone()),
                    replaced_by: None,
                    rules: format!("{}; R5.3 {upn} lands on {client}", verdict.trail),
                });
            }
            if let Err(refusal) = check_member_method(thread.method, method) {
                return Err(TeamsError::Refused {
                    refusal,
                    upn: Some(upn.clone()),
                    replaced_by: None,
                    rules: format!(
                        "{}; R4.1 {upn} would be reached {method}, the chat stays {}",
                        verdict.trail, thread.method
                    ),
                });
            }
            Member {
                upn: other.user.upn.clone(),
                client,
            }
        };
        let _lock = self.thread_lock.lock().await;
        let mut current = self.cached(id).unwrap_or(thread);
        if current.member(&member.upn).is_some() {
            return Ok(current);
        }
        current.members.push(member.clone());
        self.writer
            .write(vec![
                Op::Thread(current.clone()),
                Op::event(
                    teams_members(&current),
                    "thread",
                    &json!({"change": "member-added", "upn": member.upn, "chat": current}),
                ),
            ])
            .await?;
        self.cache(&[&current]);
        Ok(current)
    }

    /// R4.1/R4.2 before anything new in `thread` from `me`: refused with
    /// `ThreadDisabled` (and the thread to use instead) when the chat is, or
    /// now becomes, disabled.
    async fn ensure_open(&self, thread: &Thread, me: &str) -> Result<()> {
        if thread.state == ThreadState::Disabled {
            return Err(disabled_refusal(thread));
        }
        if let Some((verdict, refusal)) = self.continuation(thread, me) {
            let thread = self
                .disable_and_replace(thread.clone(), me, &verdict, refusal)
                .await?;
            return Err(TeamsError::Refused {
                refusal,
                upn: None,
                replaced_by: thread.replaced_by,
                rules: verdict.trail.to_string(),
            });
        }
        Ok(())
    }

    /// R4.1 for a call from a 1:1 chat: to the other member, on the client
    /// and by the method fixed at creation; R4.2 refuses it when that is no
    /// longer possible (the chat is then disabled and linked).
    pub(crate) async fn route_from_chat(
        &self,
        me: &str,
        id: &str,
        to: &str,
    ) -> Result<(String, Option<Client>, Method)> {
        let thread = self.visible(me, id)?;
        let other = thread
            .members
            .iter()
            .find(|m| m.upn != me)
            .cloned()
            .filter(|_| thread.kind == ThreadKind::OneOnOne)
            .ok_or_else(|| TeamsError::invalid("chat_id", "calls are placed from 1:1 chats"))?;
        if normalise_upn(to) != other.upn {
            return Err(TeamsError::invalid(
                "to",
                format!("the other person in chat {id} is {}", other.upn),
            ));
        }
        self.ensure_open(&thread, me).await?;
        Ok((other.upn, Some(other.client), thread.method))
    }

    /// A thread as it stands now: R4.2 is checked on every read, so a grant
    /// change shows at once.
    async fn refreshed(&self, me: &str, thread: Thread) -> Result<Thread> {
        if thread.state == ThreadState::Active {
            if let Some((verdict, refusal)) = self.continuation(&thread, me) {
                return self
                    .disable_and_replace(thread, me, &verdict, refusal)
                    .await;
            }
        }
        Ok(thread)
    }

    /// One chat of the caller's.
    pub async fn chat(&self, me: &str, id: &str) -> Result<Thread> {
        let thread = self.visible(me, id)?;
        self.refreshed(me, thread).await
    }

    /// The caller's chats, newest first.
    pub async fn chats(&self, me: &str) -> Result<Vec<Thread>> {
        let mine: Vec<Thread> = {
            let cache = self.threads.read().unwrap_or_else(|p| p.into_inner());
            cache
                .of_member(me)
                .filter(|t| t.member(me).is_some_and(|m| m.client == Client::Teams))
                .cloned()
                .collect()
        };
        let mut out = Vec::with_capacity(mine.len());
        for thread in mine {
            let id = thread.id.clone();
            self.refreshed(me, thread).await?;
            if let Some(thread) = self.cached(&id) {
                out.push(thread);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// A chat's messages, newest first, `limit` (1-200) older than `before`.
    pub async fn messages(
        &self,
        me: &str,
        id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>> {
        self.visible(me, id)?;
        Ok(self.store.messages(id, before, limit.clamp(1, 200)).await?)
    }

    /// Sends a message: durable before this returns, then pushed to every
    /// live teams connection of each teams recipient; sfb recipients get it
    /// through the delivery port (pending until it reports).
    pub async fn post_message(
        &self,
        me: &str,
        id: &str,
        request: MessageRequest,
    ) -> Result<Message> {
        let content_type = match request.body.content_type.as_deref() {
            None => ContentType::Text,
            Some(given) => given
                .parse::<ContentType>()
                .map_err(|e| TeamsError::invalid("body.contentType", e.to_string()))?,
        };
        let content = request.body.content;
        if content.trim().is_empty() {
            return Err(TeamsError::invalid("body.content", "must not be empty"));
        }
        if content.len() > MAX_CONTENT {
            return Err(TeamsError::invalid(
                "body.content",
                format!("at most {MAX_CONTENT} bytes"),
            ));
        }
        if request.attachments.len() > MAX_ATTACHMENTS
            || request.attachments.iter().any(|a| !a.is_object())
            || serde_json::to_string(&request.attachments).map_or(0, |s| s.len())
                > MAX_ATTACHMENT_BYTES
        {
            return Err(TeamsError::invalid(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} objects, {MAX_ATTACHMENT_BYTES} bytes in all"),
            ));
        }
        let thread = self.visible(me, id)?;
        self.ensure_open(&thread, me).await?;
        if let Err(refusal) = check_attachments(thread.method, request.attachments.len()) {
            return Err(TeamsError::Refused {
                refusal,
                upn: None,
                replaced_by: None,
                rules: format!("R5.2 the thread is {}", thread.method),
            });
        }
        let (body, converted_from) = match body_handling(thread.method, content_type) {
            BodyHandling::AsSent => (
                Body {
                    content_type,
                    content,
                },
                None,
            ),
            BodyHandling::ConvertToPlainText => (
                Body {
                    content_type: ContentType::Text,
                    content: super::text::to_plain_text(content_type, &content),
                },
                Some(content_type),
            ),
        };
        self.deliver(&thread, me, body, converted_from, request.attachments)
            .await
    }
}

fn teams_members(thread: &Thread) -> Vec<String> {
    thread
        .members
        .iter()
        .filter(|m| m.client == Client::Teams)
        .map(|m| m.upn.clone())
        .collect()
}

fn disabled_refusal(thread: &Thread) -> TeamsError {
    TeamsError::Refused {
        refusal: Refusal::new(RefusalCode::ThreadDisabled, RuleId::R4_2),
        upn: None,
        replaced_by: thread.replaced_by.clone(),
        rules: thread.disabled_reason.clone().unwrap_or_default(),
    }
}
