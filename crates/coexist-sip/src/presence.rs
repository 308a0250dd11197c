//! Presence: PUBLISH of one's own sfb presence (RFC 3903), SUBSCRIBE/NOTIFY
//! (RFC 3856, RFC 6665) with PIDF bodies (RFC 3863).
//!
//! What an sfb watcher sees follows R7: the presence of the client where
//! the watcher's new conversation would land (`presence_source`), Offline
//! when that client has no live endpoint (R7.3). A NOTIFY goes out on each
//! change of what a watcher sees, at most one per presentity per watcher
//! per second (RFC 3856 §6.10 spirit); subscriptions expire.

use crate::engine::{Engine, Pending};
use crate::headers::NameAddr;
use crate::message::{Method, SipMessage};
use crate::transport::Peer;
use coexist_policy::presence::{presence_source, shown_availability};
use coexist_policy::{Availability, Client};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

/// The least time between two NOTIFYs of one subscription.
const NOTIFY_SPACING: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Published {
    availability: Availability,
    note: Option<String>,
    etag: String,
    expires_at: Duration,
}

#[derive(Debug, Clone)]
struct Subscription {
    watcher: String,
    presentity: String,
    call_id: String,
    local_tag: String,
    remote_tag: String,
    local_uri: String,
    remote_uri: String,
    remote_target: String,
    peer: Peer,
    cseq: u32,
    expires_at: Duration,
    last_notify: Option<Duration>,
    pending: Option<Duration>,
    last_state: Option<String>,
}

/// Presence state. Subscriptions are indexed by presentity, and their
/// timers (a delayed NOTIFY, expiry) sit on min-heaps with lazy deletion,
/// so neither a change nor a timer scans every subscription.
#[derive(Debug, Default)]
pub struct Presence {
    published: HashMap<String, Published>,
    teams: HashMap<String, (Availability, Option<String>)>,
    subs: HashMap<u64, Subscription>,
    dialogs: HashMap<(String, String), u64>,
    by_presentity: HashMap<String, Vec<u64>>,
    sub_timers: BinaryHeap<Reverse<(Duration, u64)>>,
    published_timers: BinaryHeap<Reverse<(Duration, String)>>,
}

impl Presence {
    /// The earliest presence timer (possibly stale: polling then is harmless).
    pub fn next_timeout(&self) -> Option<Duration> {
        let subs = self.sub_timers.peek().map(|Reverse((t, _))| *t);
        let published = self.published_timers.peek().map(|Reverse((t, _))| *t);
        match (subs, published) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many subscriptions are live.
    pub fn subscriptions(&self) -> usize {
        self.subs.len()
    }

    fn wake_sub(&mut self, at: Duration, id: u64) {
        self.sub_timers.push(Reverse((at, id)));
    }

    fn due_subs(&mut self, now: Duration) -> Vec<u64> {
        let mut ids = Vec::new();
        while self
            .sub_timers
            .peek()
            .is_some_and(|Reverse((t, _))| *t <= now)
        {
            if let Some(Reverse((_, id))) = self.sub_timers.pop()
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        ids
    }

    /// What `upn` published and is still valid at `now`.
    pub(crate) fn published_state(
        &self,
        upn: &str,
        now: Duration,
    ) -> Option<(Availability, Option<String>)> {
        self.published
            .get(upn)
            .filter(|p| p.expires_at > now)
            .map(|p| (p.availability, p.note.clone()))
    }

    fn due_published(&mut self, now: Duration) -> Vec<String> {
        let mut upns = Vec::new();
        while self
            .published_timers
            .peek()
            .is_some_and(|Reverse((t, _))| *t <= now)
        {
            if let Some(Reverse((_, upn))) = self.published_timers.pop() {
                upns.push(upn);
            }
        }
        upns
    }
}

/// Reads the availability and note of a PIDF document (RFC 3863, RPID
/// activities of RFC 4480).
pub fn parse_pidf(body: &str) -> Option<(Availability, Option<String>)> {
    let lower = body.to_ascii_lowercase();
    if !lower.contains("<presence") {
        return None;
    }
    let note = between(body, "<note", "</note>")
        .and_then(|n| n.split_once('>').map(|(_, t)| t.trim().to_owned()))
        .filter(|n| !n.is_empty());
    let open = between(&lower, "<basic>", "</basic>").is_none_or(|b| b.trim() == "open");
    let note_lower = note.clone().unwrap_or_default().to_ascii_lowercase();
    let has =
        |word: &str| lower.contains(&format!(":{word}/>")) || lower.contains(&format!("<{word}/>"));
    let availability = if !open {
        Availability::Offline
    } else if note_lower.contains("do not disturb") || note_lower.contains("donotdisturb") {
        Availability::DoNotDisturb
    } else if note_lower.contains("be right back") || note_lower.contains("berightback") {
        Availability::BeRightBack
    } else if has("busy") || has("on-the-phone") || has("meeting") || note_lower.starts_with("busy")
    {
        Availability::Busy
    } else if has("away") || has("sleeping") || has("vacation") || note_lower.starts_with("away") {
        Availability::Away
    } else {
        Availability::Available
    };
    Some((availability, note))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A PIDF document for `entity` showing `availability`.
pub fn pidf(entity: &str, availability: Availability, note: Option<&str>) -> String {
    let basic = if availability == Availability::Offline {
        "closed"
    } else {
        "open"
    };
    let activity = match availability {
        Availability::Busy | Availability::DoNotDisturb => {
            "<rpid:activities><rpid:busy/></rpid:activities>"
        }
        Availability::Away | Availability::BeRightBack => {
            "<rpid:activities><rpid:away/></rpid:activities>"
        }
        _ => "",
    };
    let note = note
        .map(|n| format!("{availability}: {}", xml_escape(n)))
        .unwrap_or_else(|| availability.to_string());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"sip:{entity}\">\r\n<tuple id=\"sfb\"><status><basic>{basic}</basic></status></tuple>\r\n<dm:person id=\"p\">{activity}</dm:person>\r\n<note>{note}</note>\r\n</presence>\r\n"
    )
}

impl Engine {
    /// What an sfb watcher sees of `presentity` now (R7, R7.3).
    pub fn presence_seen_by(
        &self,
        now: Duration,
        watcher: &str,
        presentity: &str,
    ) -> (Availability, Option<String>) {
        let (Some(w), Some(p)) = (
            self.directory.user(watcher),
            self.directory.user(presentity),
        ) else {
            return (Availability::Offline, None);
        };
        let scope = self.directory.reach(&w, &p).scope();
        match presence_source(Client::Sfb, p.mode, scope).client {
            Client::Sfb => {
                let live = self.registrar.is_registered(presentity, now);
                let (published, note) = self
                    .presence
                    .published
                    .get(presentity)
                    .filter(|x| x.expires_at > now)
                    .map(|x| (x.availability, x.note.clone()))
                    .unwrap_or((Availability::Available, None));
                (shown_availability(published, live), note)
            }
            Client::Teams => self
                .presence
                .teams
                .get(presentity)
                .cloned()
                .unwrap_or((Availability::Offline, None)),
        }
    }

    /// The teams side reports a user's teams presence (R7.1: independent
    /// of the sfb one).
    pub fn set_teams_presence(
        &mut self,
        now: Duration,
        upn: &str,
        availability: Availability,
        note: Option<String>,
    ) {
        self.presence
            .teams
            .insert(upn.to_ascii_lowercase(), (availability, note));
        self.presence_changed(now, &upn.to_ascii_lowercase());
    }

    pub(crate) fn on_publish(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        if !is_presence_event(&request) {
            return self.bad_event(now, &request);
        }
        let user = match self.authenticate(now, peer, &request, false) {
            Ok(user) => user,
            Err(response) => return self.reply(now, &request, response),
        };
        let target = self.recipient_of(&request).map(|u| u.upn);
        if target.as_deref() != Ok(user.upn.as_str()) {
            let response = request.response(403, "Forbidden (publish your own presence)", None);
            return self.reply(now, &request, response);
        }
        let expires = request
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok())
            .unwrap_or(3600)
            .min(self.config.max_expires);
        let if_match = request.header("SIP-If-Match").map(str::to_owned);
        let existing = self.presence.published.get(&user.upn).cloned();
        if let Some(etag) = &if_match
            && existing.as_ref().is_none_or(|e| &e.etag != etag)
        {
            let response = request.response(412, "Conditional Request Failed", None);
            return self.reply(now, &request, response);
        }
        if expires == 0 {
            self.presence.published.remove(&user.upn);
            let tag = self.token();
            let mut ok = request.response(200, "OK", Some(&tag));
            ok.push("Expires", "0");
            self.reply(now, &request, ok);
            self.sfb_state_changed(now, &user.upn);
            return self.presence_changed(now, &user.upn);
        }
        let parsed = parse_pidf(&String::from_utf8_lossy(&request.body));
        let (availability, note) = match (parsed, existing) {
            (Some(state), _) => state,
            (None, Some(old)) if request.body.is_empty() => (old.availability, old.note),
            _ => {
                let response = request.response(400, "Bad Request (PIDF body expected)", None);
                return self.reply(now, &request, response);
            }
        };
        let etag = self.token();
        let expires_at = now + Duration::from_secs(u64::from(expires));
        self.presence.published.insert(
            user.upn.clone(),
            Published {
                availability,
                note,
                etag: etag.clone(),
                expires_at,
            },
        );
        self.presence
            .published_timers
            .push(Reverse((expires_at, user.upn.clone())));
        let tag = self.token();
        let mut ok = request.response(200, "OK", Some(&tag));
        ok.push("SIP-ETag", etag);
        ok.push("Expires", expires.to_string());
        self.reply(now, &request, ok);
        self.presence_changed(now, &user.upn);
        self.sfb_state_changed(now, &user.upn);
    }

    fn bad_event(&mut self, now: Duration, request: &SipMessage) {
        let mut response = request.response(489, "Bad Event", None);
        response.push("Allow-Events", "presence");
        self.reply(now, request, response);
    }

    pub(crate) fn on_subscribe(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        if !is_presence_event(&request) {
            return self.bad_event(now, &request);
        }
        let expires = request
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok())
            .unwrap_or(3600);
        // A refresh or an unsubscribe inside an existing subscription.
        let existing = request
            .header("To")
            .and_then(NameAddr::parse)
            .and_then(|a| a.tag().map(str::to_owned))
            .and_then(|tag| {
                let call_id = request.call_id()?.to_owned();
                self.presence.dialogs.get(&(call_id, tag)).copied()
            });
        if request
            .header("To")
            .and_then(NameAddr::parse)
            .is_some_and(|a| a.tag().is_some())
            && existing.is_none()
        {
            let response = request.response(481, "Subscription Does Not Exist", None);
            return self.reply(now, &request, response);
        }
        let watcher = match self.authenticate(now, peer, &request, false) {
            Ok(user) => user,
            Err(response) => return self.reply(now, &request, response),
        };
        if expires != 0 && expires < self.config.min_expires {
            let mut response = request.response(423, "Interval Too Brief", None);
            response.push("Min-Expires", self.config.min_expires.to_string());
            return self.reply(now, &request, response);
        }
        let expires = expires.min(self.config.max_expires);
        let id = match existing {
            Some(id) => id,
            None => {
                let presentity = match self.recipient_of(&request) {
                    Ok(user) => user.upn,
                    Err((code, reason)) => {
                        let response = request.response(code, reason, None);
                        return self.reply(now, &request, response);
                    }
                };
                let id = self.id();
                let local_tag = self.token();
                let sub = Subscription {
                    watcher: watcher.upn.clone(),
                    presentity,
                    call_id: request.call_id().unwrap_or_default().to_owned(),
                    local_tag: local_tag.clone(),
                    remote_tag: request
                        .header("From")
                        .and_then(NameAddr::parse)
                        .and_then(|a| a.tag().map(str::to_owned))
                        .unwrap_or_default(),
                    local_uri: strip_tag(request.header("To").unwrap_or_default()),
                    remote_uri: strip_tag(request.header("From").unwrap_or_default()),
                    remote_target: request
                        .header_values("Contact")
                        .into_iter()
                        .next()
                        .and_then(NameAddr::parse)
                        .map(|a| a.uri)
                        .unwrap_or_else(|| format!("sip:{}", watcher.upn)),
                    peer: self.server.peer_of(&request).unwrap_or(peer),
                    cseq: 0,
                    expires_at: now,
                    last_notify: None,
                    pending: None,
                    last_state: None,
                };
                self.presence
                    .dialogs
                    .insert((sub.call_id.clone(), local_tag), id);
                self.presence
                    .by_presentity
                    .entry(sub.presentity.clone())
                    .or_default()
                    .push(id);
                self.presence.subs.insert(id, sub);
                id
            }
        };
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return;
        };
        if sub.watcher != watcher.upn {
            let response = request.response(403, "Forbidden", None);
            return self.reply(now, &request, response);
        }
        sub.expires_at = now + Duration::from_secs(u64::from(expires));
        let expires_at = sub.expires_at;
        let tag = sub.local_tag.clone();
        let transport = sub.peer.transport;
        let mut ok = request.response(200, "OK", Some(&tag));
        ok.push("Expires", expires.to_string());
        ok.push("Contact", self.our_contact(transport));
        self.reply(now, &request, ok);
        self.presence.wake_sub(expires_at, id);
        // RFC 6665 §4.2.1: a NOTIFY at once (the final one when expires=0).
        self.send_notify(now, id, true);
        if expires == 0 {
            self.drop_subscription(id);
        }
    }

    fn drop_subscription(&mut self, id: u64) {
        if let Some(sub) = self.presence.subs.remove(&id) {
            self.presence.dialogs.remove(&(sub.call_id, sub.local_tag));
            if let Some(ids) = self.presence.by_presentity.get_mut(&sub.presentity) {
                ids.retain(|other| *other != id);
                if ids.is_empty() {
                    self.presence.by_presentity.remove(&sub.presentity);
                }
            }
        }
    }

    /// Something `presentity`'s watchers see may have changed.
    pub(crate) fn presence_changed(&mut self, now: Duration, presentity: &str) {
        let ids = self
            .presence
            .by_presentity
            .get(presentity)
            .cloned()
            .unwrap_or_default();
        for id in ids {
            let Some(sub) = self.presence.subs.get_mut(&id) else {
                continue;
            };
            match sub.last_notify {
                Some(last) if now < last + NOTIFY_SPACING => {
                    sub.pending = Some(last + NOTIFY_SPACING);
                    self.presence.wake_sub(last + NOTIFY_SPACING, id);
                }
                _ => self.send_notify(now, id, false),
            }
        }
    }

    /// Sends the subscription's NOTIFY (unless what it would say was
    /// already said, and `force` is off).
    fn send_notify(&mut self, now: Duration, id: u64, force: bool) {
        let Some(sub) = self.presence.subs.get(&id) else {
            return;
        };
        let (availability, note) = self.presence_seen_by(now, &sub.watcher, &sub.presentity);
        let body = pidf(&sub.presentity, availability, note.as_deref());
        let Some(sub) = self.presence.subs.get_mut(&id) else {
            return;
        };
        sub.pending = None;
        if !force && sub.last_state.as_deref() == Some(body.as_str()) {
            return;
        }
        sub.last_state = Some(body.clone());
        sub.last_notify = Some(now);
        sub.cseq += 1;
        let remaining = sub.expires_at.saturating_sub(now).as_secs();
        let state = if remaining == 0 {
            "terminated;reason=timeout".to_owned()
        } else {
            format!("active;expires={remaining}")
        };
        let sub = sub.clone();
        let via = self.our_via(sub.peer.transport);
        let mut notify = SipMessage::request(Method::Notify, sub.remote_target.clone())
            .with("Via", via)
            .with("Max-Forwards", "70")
            .with("From", format!("{};tag={}", sub.local_uri, sub.local_tag))
            .with("To", format!("{};tag={}", sub.remote_uri, sub.remote_tag))
            .with("Call-ID", sub.call_id.clone())
            .with("CSeq", format!("{} NOTIFY", sub.cseq))
            .with("Contact", self.our_contact(sub.peer.transport))
            .with("Event", "presence")
            .with("Subscription-State", state);
        notify.set_body("application/pidf+xml", body);
        self.send_request(now, sub.peer, notify, Pending::Fire);
    }

    pub(crate) fn presence_timers(&mut self, now: Duration) {
        for id in self.presence.due_subs(now) {
            let Some(sub) = self.presence.subs.get(&id) else {
                continue;
            };
            if sub.expires_at <= now {
                self.send_notify(now, id, true);
                self.drop_subscription(id);
            } else if sub.pending.is_some_and(|p| p <= now) {
                self.send_notify(now, id, false);
            }
        }
        for upn in self.presence.due_published(now) {
            if self
                .presence
                .published
                .get(&upn)
                .is_some_and(|p| p.expires_at <= now)
            {
                self.presence.published.remove(&upn);
                self.presence_changed(now, &upn);
                self.sfb_state_changed(now, &upn);
            }
        }
    }

    /// A NOTIFY was answered 481: the watcher forgot the subscription.
    pub(crate) fn subscription_gone(&mut self, response: &SipMessage) {
        let call_id = response.call_id().unwrap_or_default();
        let ids: Vec<u64> = self
            .presence
            .subs
            .iter()
            .filter(|(_, s)| s.call_id == call_id)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.drop_subscription(id);
        }
    }
}

fn is_presence_event(request: &SipMessage) -> bool {
    request.header("Event").is_some_and(|e| {
        e.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("presence")
    })
}

fn strip_tag(value: &str) -> String {
    match NameAddr::parse(value) {
        Some(mut a) => {
            a.params.0.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
            a.to_value()
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn pidf_round_trips_availability_rfc3863() {
        for a in [
            Availability::Available,
            Availability::Busy,
            Availability::Away,
            Availability::DoNotDisturb,
            Availability::BeRightBack,
            Availability::Offline,
        ] {
            let doc = pidf("bob@x.test", a, Some("hi & bye"));
            assert_eq!(parse_pidf(&doc).unwrap().0, a, "{doc}");
        }
    }

    #[test]
    fn rpid_activities_map_to_availability_rfc4480() {
        let doc = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="t"><status><basic>open</basic></status></tuple><dm:person><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person></presence>"#;
        assert_eq!(parse_pidf(doc).unwrap().0, Availability::Busy);
        assert!(parse_pidf("hello").is_none());
    }
}
