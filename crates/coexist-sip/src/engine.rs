//! The server as a sans-IO state machine: bytes and `now` in, bytes and
//! timers out. [`Engine::receive`] takes one datagram or one framed TCP
//! message; [`Engine::poll`] fires timers; [`Engine::take_output`] hands the
//! driver what to send. `now` is the wall clock as a duration since the
//! Unix epoch, so registrations persisted with absolute expiry survive a
//! restart, and tests can start time anywhere.
//!
//! The application parts live beside it: [`crate::register`] (REGISTER),
//! [`crate::im`] (MESSAGE), [`crate::calls`] (INVITE B2BUA),
//! [`crate::presence`] (PUBLISH/SUBSCRIBE/NOTIFY).

use crate::auth::{AuthConfig, Authenticator, Check, DigestCredentials, challenge_value};
use crate::calls::Calls;
use crate::directory::{SipDirectory, SipUser};
use crate::headers::{ViaRef, address_of_record, param_items};
use crate::message::{Method, SipMessage, StartLine};
use crate::presence::Presence;
use crate::registrar::{MemoryStore, Registrar, RegistrationStore};
use crate::sanity::check_request;
use crate::transaction::{
    Arrival, ClientEvent, ClientTransactions, Owner, ServerTransactions, TimerValues,
};
use crate::transport::{Outgoing, Peer, Transport};
use crate::wire::{WireError, parse_datagram, salvage_bad_request};
use coexist_policy::{Refusal, SfbSession};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

mod events;

pub use events::EngineEvent;

/// The prefix of every branch this server writes (loop detection, §16.3).
pub const BRANCH_PREFIX: &str = "z9hG4bKcx";

/// Methods we implement (the Allow header).
pub const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY, PUBLISH, REFER, INFO, UPDATE";

/// Settings of the SIP edge.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// The address we are reached at (Via sent-by, Contact).
    pub local: SocketAddr,
    /// R4.3: how long an sfb session lives without traffic.
    pub session_idle: Duration,
    /// Digest settings.
    pub auth: AuthConfig,
    /// RFC 3261 timers.
    pub timers: TimerValues,
    /// User-Agent substrings (case-insensitive) that mark a contact as an IP phone (R6.3).
    pub phone_user_agents: Vec<String>,
    /// Shortest registration accepted (423 below).
    pub min_expires: u32,
    /// Longest registration granted.
    pub max_expires: u32,
    /// User-Agent substrings (case-insensitive) of clients that give up on
    /// the first challenge when it is SHA-256 instead of using the MD5 one
    /// after it (RFC 8760 §2.4 says to skip what they do not support):
    /// they are offered MD5 only. sipp 3.6 and baresip 1.0 (libre) do this.
    pub md5_only_user_agents: Vec<String>,
    /// Requests per second one source address may send (0: unlimited);
    /// beyond it: 503 with Retry-After.
    pub rate_limit_per_source: u32,
}

impl SipConfig {
    /// Defaults for a server reached at `local`.
    pub fn new(local: SocketAddr) -> SipConfig {
        SipConfig {
            local,
            session_idle: coexist_policy::threads::SFB_SESSION_IDLE_LIMIT,
            auth: AuthConfig::default(),
            timers: TimerValues::default(),
            phone_user_agents: vec!["Polycom".into(), "Yealink".into(), "snom".into()],
            md5_only_user_agents: vec!["sipp".into(), "baresip".into()],
            min_expires: 10,
            max_expires: 3600,
            rate_limit_per_source: 0,
        }
    }
}

/// What the application parts are waiting for from client transactions.
#[derive(Debug)]
pub(crate) enum Pending {
    /// A forked MESSAGE (index into `im`).
    Message(u64),
    /// A call leg (call id, fork index).
    Call(u64, usize),
    /// A relayed in-dialog request: answer the original with the result.
    Relay(Box<SipMessage>),
    /// A NOTIFY or other request whose answer we only log.
    Fire,
}

/// Per-source request counting (rate limiting).
#[derive(Debug, Default)]
struct RateWindow {
    second: u64,
    count: u32,
}

/// The SIP server state machine.
#[derive(Debug)]
pub struct Engine {
    pub(crate) config: SipConfig,
    pub(crate) directory: Arc<dyn SipDirectory>,
    pub(crate) auth: Authenticator,
    pub(crate) registrar: Registrar,
    pub(crate) server: ServerTransactions,
    pub(crate) client: ClientTransactions,
    pub(crate) pending: HashMap<Owner, Pending>,
    pub(crate) out: Vec<Outgoing>,
    pub(crate) events: Vec<EngineEvent>,
    pub(crate) next_id: u64,
    /// IMs handed to the teams side, by id, until it answers.
    pub(crate) to_teams: HashMap<u64, SipMessage>,
    /// R4.3: (from, to) → where `from`'s messages to `to` land while it lives.
    pub(crate) sessions: HashMap<(String, String), SfbSession>,
    pub(crate) im: crate::im::Forks,
    pub(crate) calls: Calls,
    pub(crate) presence: Presence,
    rates: HashMap<IpAddr, RateWindow>,
    last_prune: Duration,
    /// `config.local` as text, for the loop check on every request.
    local_sent_by: String,
}

impl Engine {
    /// A new engine; `store` keeps registrations across restarts.
    pub fn new(
        config: SipConfig,
        directory: Arc<dyn SipDirectory>,
        store: Box<dyn RegistrationStore>,
        now: Duration,
    ) -> Engine {
        Engine {
            auth: Authenticator::new(config.auth.clone()),
            registrar: Registrar::open(store, now),
            server: ServerTransactions::new(config.timers),
            client: ClientTransactions::new(config.timers),
            directory,
            pending: HashMap::new(),
            out: Vec::new(),
            events: Vec::new(),
            next_id: 1,
            sessions: HashMap::new(),
            to_teams: HashMap::new(),
            im: Default::default(),
            calls: Calls::default(),
            presence: Presence::default(),
            rates: HashMap::new(),
            last_prune: now,
            local_sent_by: config.local.to_string(),
            config,
        }
    }

    /// An engine with no persistence (tests).
    pub fn in_memory(config: SipConfig, directory: Arc<dyn SipDirectory>) -> Engine {
        Engine::new(config, directory, Box::new(MemoryStore), Duration::ZERO)
    }

    /// What to send, in order. The registration journal is written out
    /// first: a 200 to a REGISTER never leaves before its binding is on file.
    pub fn take_output(&mut self) -> Vec<Outgoing> {
        self.registrar.flush();
        std::mem::take(&mut self.out)
    }

    /// Events for the owner.
    pub fn take_events(&mut self) -> Vec<EngineEvent> {
        std::mem::take(&mut self.events)
    }

    /// The registrar (read-only).
    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Calls in progress (read-only).
    pub fn calls(&self) -> &Calls {
        &self.calls
    }

    /// Presence state (read-only).
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh tag or branch suffix: the id in hex, then 8 hex digits of
    /// its scrambled value (written by hand: one runs per response).
    pub(crate) fn token(&mut self) -> String {
        let id = self.id();
        let mut token = String::with_capacity(24);
        push_hex(&mut token, id, 1);
        push_hex(
            &mut token,
            u64::from((id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32),
            8,
        );
        token
    }

    /// Our Via for a request sent over `transport`.
    pub(crate) fn our_via(&mut self, transport: Transport) -> String {
        let branch = format!("{BRANCH_PREFIX}{}", self.token());
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.as_str(),
            self.config.local
        )
    }

    /// Our Contact.
    pub(crate) fn our_contact(&self, transport: Transport) -> String {
        match transport {
            Transport::Udp => format!("<sip:coexist@{}>", self.config.local),
            Transport::Tcp => format!("<sip:coexist@{};transport=tcp>", self.config.local),
        }
    }

    /// One datagram or framed stream message from `peer`.
    pub fn receive(&mut self, now: Duration, peer: Peer, bytes: &[u8]) {
        match parse_datagram(bytes) {
            Ok(message) => self.receive_message(now, peer, message),
            Err(WireError::Version(request)) => {
                let response = request.response(505, "Version Not Supported", None);
                self.send_direct(peer, &request, response);
            }
            Err(WireError::TooLarge) => {
                if let Some(mut answer) = salvage_bad_request(bytes, "too large") {
                    answer.start = crate::message::StartLine::Response {
                        code: 513,
                        reason: "Message Too Large".into(),
                    };
                    self.out.push(Outgoing {
                        to: peer,
                        bytes: answer.to_bytes(),
                    });
                }
            }
            Err(WireError::Malformed(why)) => {
                if let Some(answer) = salvage_bad_request(bytes, &why) {
                    self.out.push(Outgoing {
                        to: response_peer(&answer, peer),
                        bytes: answer.to_bytes(),
                    });
                }
            }
        }
    }

    /// One parsed message from `peer`.
    pub fn receive_message(&mut self, now: Duration, peer: Peer, mut message: SipMessage) {
        if !message.is_request() {
            self.on_response(now, message);
            return;
        }
        if self.rate_limited(now, peer.addr.ip()) {
            if message.method() != Some(Method::Ack) {
                let mut busy = message.response(503, "Service Unavailable", Some("rl"));
                busy.push("Retry-After", "1");
                self.send_direct(peer, &message, busy);
            }
            return;
        }
        if let Err(rejection) = check_request(&message, &self.local_sent_by, BRANCH_PREFIX) {
            if message.method() != Some(Method::Ack) {
                let tag = self.token();
                let response = rejection.respond_to(&message, &tag);
                self.send_direct(peer, &message, response);
            }
            return;
        }
        mark_received(&mut message, peer);
        match self
            .server
            .on_request(now, &message, response_peer(&message, peer))
        {
            Arrival::New => {}
            Arrival::Retransmission(resend) => {
                self.out.extend(resend);
                return;
            }
            Arrival::AckAbsorbed => return,
        }
        self.dispatch(now, peer, message);
        self.server.arm();
    }

    fn rate_limited(&mut self, now: Duration, ip: IpAddr) -> bool {
        let limit = self.config.rate_limit_per_source;
        if limit == 0 {
            return false;
        }
        let second = now.as_secs();
        if self.rates.len() > 100_000 {
            // Memory stays bounded under a flood of sources.
            self.rates.retain(|_, w| w.second == second);
        }
        let window = self.rates.entry(ip).or_default();
        if window.second != second {
            *window = RateWindow { second, count: 0 };
        }
        window.count += 1;
        window.count > limit
    }

    fn dispatch(&mut self, now: Duration, peer: Peer, request: SipMessage) {
        let Some(method) = request.method() else {
            return;
        };
        // In-dialog requests of calls (BYE, re-INVITE, ACK, REFER, …).
        if self.calls.owns(&request) {
            self.call_in_dialog(now, peer, request);
            return;
        }
        match method {
            Method::Register => self.on_register(now, peer, request),
            Method::Message => self.on_message(now, peer, request),
            Method::Invite => self.on_invite(now, peer, request),
            Method::Cancel => self.on_cancel(now, peer, request),
            Method::Ack => {} // an ACK for nothing we know: drop (§17.2.3)
            Method::Publish => self.on_publish(now, peer, request),
            Method::Subscribe => self.on_subscribe(now, peer, request),
            Method::Options => {
                let tag = self.token();
                let mut ok = request.response(200, "OK", Some(&tag));
                ok.push("Allow", ALLOW);
                ok.push(
                    "Accept",
                    "application/sdp, text/plain, application/pidf+xml",
                );
                self.reply(now, &request, ok);
            }
            Method::Bye
            | Method::Notify
            | Method::Refer
            | Method::Info
            | Method::Update
            | Method::Prack => {
                let response = request.response(481, "Call/Transaction Does Not Exist", None);
                self.reply(now, &request, response);
            }
            Method::Other(_) => {
                let tag = self.token();
                let mut response = request.response(501, "Not Implemented", Some(&tag));
                response.push("Allow", ALLOW);
                self.reply(now, &request, response);
            }
        }
    }

    /// Sends `response` to `request` through its server transaction.
    pub(crate) fn reply(&mut self, now: Duration, request: &SipMessage, response: SipMessage) {
        match self.server.respond(now, request, &response) {
            Some(out) => self.out.push(out),
            None => {
                if let Some(peer) = self.server.peer_of(request) {
                    self.out.push(Outgoing {
                        to: peer,
                        bytes: response.to_bytes(),
                    });
                }
            }
        }
    }

    /// Sends a response outside any transaction (sanity rejections, 505).
    fn send_direct(&mut self, peer: Peer, request: &SipMessage, mut response: SipMessage) {
        let mut fixed = request.clone();
        mark_received(&mut fixed, peer);
        response.remove("Via");
        for via in fixed.header_values("Via") {
            response.push("Via", via.to_owned());
        }
        // Keep Via first for readability.
        response
            .headers
            .sort_by_key(|h| !h.name.eq_ignore_ascii_case("Via"));
        self.out.push(Outgoing {
            to: response_peer(&fixed, peer),
            bytes: response.to_bytes(),
        });
    }

    /// Sends a request in a client transaction owned by `pending`.
    pub(crate) fn send_request(
        &mut self,
        now: Duration,
        to: Peer,
        request: SipMessage,
        pending: Pending,
    ) -> Owner {
        let owner = self.id();
        self.pending.insert(owner, pending);
        let out = self.client.send(now, owner, to, request);
        self.out.push(out);
        owner
    }

    fn on_response(&mut self, now: Duration, response: SipMessage) {
        // Only responses to our requests: the top Via must be ours.
        let ours = response
            .top_via()
            .and_then(ViaRef::parse)
            .and_then(|v| v.branch().map(|b| b.starts_with(BRANCH_PREFIX)))
            .unwrap_or(false);
        if !ours || response.count("Via") == 0 || response.cseq().is_none() {
            return;
        }
        let (event, ack) = self.client.on_response(now, &response);
        self.out.extend(ack);
        match event {
            Some(ClientEvent::Response(owner, response)) => {
                self.on_client_response(now, owner, response);
            }
            Some(ClientEvent::Timeout(owner, request)) => {
                let timeout = request.response(408, "Request Timeout", None);
                self.on_client_response(now, owner, timeout);
            }
            None => {
                // A 2xx retransmission to an INVITE whose transaction ended:
                // the call re-ACKs it.
                if response.status().is_some_and(|c| (200..300).contains(&c))
                    && response.method() == Some(Method::Invite)
                {
                    self.call_2xx_retransmission(&response);
                }
            }
        }
    }

    fn on_client_response(&mut self, now: Duration, owner: Owner, response: SipMessage) {
        let final_ = response.status().is_some_and(|c| c >= 200);
        let pending = if final_ {
            self.pending.remove(&owner)
        } else {
            None
        };
        match (pending, self.pending.get(&owner)) {
            (Some(Pending::Message(id)), _) => self.message_fork_done(now, id, &response),
            (Some(Pending::Call(call, fork)), _) => self.call_response(now, call, fork, response),
            (None, Some(Pending::Call(call, fork))) => {
                let (call, fork) = (*call, *fork);
                self.call_response(now, call, fork, response);
            }
            (Some(Pending::Relay(original)), _) => self.relay_done(now, &original, &response),
            (Some(Pending::Fire), _) if response.status() == Some(481) => {
                self.subscription_gone(&response);
            }
            _ => {}
        }
    }

    /// Fires timers due at `now`.
    pub fn poll(&mut self, now: Duration) {
        let resend = self.server.poll(now);
        self.out.extend(resend);
        let (resend, events) = self.client.poll(now);
        self.out.extend(resend);
        for event in events {
            if let ClientEvent::Timeout(owner, request) = event {
                let timeout = request.response(408, "Request Timeout", None);
                self.on_client_response(now, owner, timeout);
            }
        }
        self.presence_timers(now);
        if now.saturating_sub(self.last_prune) >= Duration::from_secs(1) {
            self.last_prune = now;
            self.auth.prune(now);
            let idle = self.config.session_idle;
            self.sessions.retain(|_, s| s.is_live(now, idle));
            for aor in self.registrar.expire(now) {
                self.presence_changed(now, &aor);
                self.sfb_state_changed(now, &aor);
            }
        }
    }

    /// When [`poll`](Self::poll) should next run.
    pub fn next_timeout(&self) -> Option<Duration> {
        [
            self.server.next_timeout(),
            self.client.next_timeout(),
            self.presence.next_timeout(),
            Some(self.last_prune + Duration::from_secs(1)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Authenticates a request (RFC 3261 §22): the user it comes from, or
    /// the challenge/refusal to send. `registrar` picks 401 over 407.
    pub(crate) fn authenticate(
        &mut self,
        now: Duration,
        peer: Peer,
        request: &SipMessage,
        registrar: bool,
    ) -> Result<SipUser, SipMessage> {
        // The realm: the domain of the identity claimed (To for REGISTER, From otherwise).
        let claimed = request
            .header(if registrar { "To" } else { "From" })
            .and_then(address_of_record);
        match claimed {
            Some(claimed) => self.authenticate_as(now, peer, request, registrar, &claimed),
            None => Err(self
                .blocked(now, peer, request)
                .unwrap_or_else(|| request.response(400, "Bad Request (identity)", None))),
        }
    }

    /// The refusal for a source blocked after too many failed attempts.
    fn blocked(&self, now: Duration, peer: Peer, request: &SipMessage) -> Option<SipMessage> {
        if !self.auth.is_blocked(peer.addr.ip(), now) {
            return None;
        }
        let mut refused = request.response(403, "Forbidden (too many failed attempts)", None);
        refused.push("Retry-After", self.auth.block_seconds().to_string());
        Some(refused)
    }

    /// [`authenticate`](Self::authenticate) with the identity claimed
    /// already read (the registrar has it: the address of record).
    pub(crate) fn authenticate_as(
        &mut self,
        now: Duration,
        peer: Peer,
        request: &SipMessage,
        registrar: bool,
        claimed: &str,
    ) -> Result<SipUser, SipMessage> {
        let ip = peer.addr.ip();
        if let Some(refused) = self.blocked(now, peer, request) {
            return Err(refused);
        }
        let (header, challenge_header, code, reason) = if registrar {
            ("Authorization", "WWW-Authenticate", 401, "Unauthorized")
        } else {
            (
                "Proxy-Authorization",
                "Proxy-Authenticate",
                407,
                "Proxy Authentication Required",
            )
        };
        let realm = claimed.rsplit_once('@').map_or("", |(_, domain)| domain);
        if !self.directory.is_local_domain(realm) {
            return Err(request.response(403, "Forbidden (domain not served here)", None));
        }
        let credentials = request
            .header_items(header)
            .filter_map(DigestCredentials::parse)
            .find(|c| c.realm.eq_ignore_ascii_case(realm));
        let method = match &request.start {
            StartLine::Request { method, .. } => method.as_str(),
            StartLine::Response { .. } => "",
        };
        let mut stale = false;
        if let Some(credentials) = credentials
            && let Some(user) = self.directory.user(&credentials.upn())
        {
            match self.auth.check(&credentials, &user, method, ip, now) {
                Check::Ok => {
                    if user.upn != claimed {
                        return Err(request.response(
                            403,
                            "Forbidden (identity does not match credentials)",
                            None,
                        ));
                    }
                    return Ok(user);
                }
                Check::Stale => stale = true,
                Check::Missing | Check::Failed => {}
            }
        }
        let tag = self.token();
        let mut challenge = request.response(code, reason, Some(&tag));
        let md5_only = request.header("User-Agent").is_some_and(|ua| {
            self.config
                .md5_only_user_agents
                .iter()
                .any(|pattern| contains_ignoring_case(ua, pattern))
        });
        // RFC 8760 §2.4: SHA-256 first, then MD5.
        let nonce = self.auth.nonce(now);
        if !md5_only {
            challenge.push(
                challenge_header,
                challenge_value(realm, &nonce, "SHA-256", stale),
            );
        }
        challenge.push(
            challenge_header,
            challenge_value(realm, &nonce, "MD5", stale),
        );
        Err(challenge)
    }

    /// A refusal by the rules as a SIP final response (API.md): 403, the
    /// reason phrase, and `Warning: 399 coexist "CODE (RULE): sentence"`.
    pub(crate) fn refusal_response(
        &mut self,
        request: &SipMessage,
        refusal: Refusal,
    ) -> SipMessage {
        let tag = self.token();
        let mut response = request.response(403, "Forbidden", Some(&tag));
        response.push("Warning", warning(refusal));
        response
    }
}

/// The Warning value for a refusal (API.md).
pub fn warning(refusal: Refusal) -> String {
    format!(
        "399 coexist \"{} ({}): {}\"",
        refusal.code,
        refusal.rule,
        refusal.sentence().replace('"', "'")
    )
}

/// RFC 3581 / RFC 3261 §18.2.1: note on the top Via where the request
/// really came from (`received`, `rport`).
fn mark_received(request: &mut SipMessage, peer: Peer) {
    let Some(index) = request
        .headers
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case("Via"))
    else {
        return;
    };
    let value = request.headers[index].value.as_str();
    let Some(first) = crate::message::ListItems::new(value).next() else {
        return;
    };
    // The first item's place in the field: only it is rewritten.
    let start = first.as_ptr() as usize - value.as_ptr() as usize;
    let end = start + first.len();
    let Some(item) = marked_via(first, peer) else {
        return;
    };
    let rewritten = if start == 0 && end == value.len() {
        item
    } else {
        let mut whole = String::with_capacity(value.len() + item.len() - first.len());
        whole.push_str(&value[..start]);
        whole.push_str(&item);
        whole.push_str(&value[end..]);
        whole
    };
    request.headers[index].value = rewritten.into();
}

/// The top Via item with `received` and `rport` set as RFC 3581 says,
/// written as [`Via::to_value`](crate::headers::Via::to_value) writes it (the first `received` and
/// `rport` get the values, a missing `received` goes last). Written from
/// the borrowed [`ViaRef`] in one pass, numbers and addresses without
/// `fmt`: it runs for every request (it was about 7 800 instructions a
/// request with `to_string` and `write!`, callgrind).
fn marked_via(first: &str, peer: Peer) -> Option<String> {
    let via = ViaRef::parse(first)?;
    let mut ip = String::with_capacity(40);
    write_ip(&mut ip, peer.addr.ip());
    let host = via.host.trim_start_matches('[').trim_end_matches(']');
    let mut rport = false;
    let mut received = false;
    for (key, _) in param_items(via.params) {
        rport |= key.eq_ignore_ascii_case("rport");
        received |= key.eq_ignore_ascii_case("received");
    }
    let set_received = host != ip || (rport && !received);
    let mut item = String::with_capacity(first.len() + ip.len() + 24);
    item.push_str("SIP/2.0/");
    item.extend(via.transport.chars().map(|c| c.to_ascii_uppercase()));
    item.push(' ');
    item.push_str(via.host);
    if let Some(port) = via.port {
        item.push(':');
        push_number(&mut item, u32::from(port));
    }
    let (mut seen_received, mut seen_rport) = (false, false);
    for (key, value) in param_items(via.params) {
        let is_received = !seen_received && key.eq_ignore_ascii_case("received");
        let is_rport = !seen_rport && key.eq_ignore_ascii_case("rport");
        seen_received |= is_received;
        seen_rport |= is_rport;
        item.push(';');
        item.push_str(key);
        if is_received && set_received {
            item.push('=');
            item.push_str(&ip);
        } else if is_rport {
            item.push('=');
            push_number(&mut item, u32::from(peer.addr.port()));
        } else if let Some(value) = value {
            item.push('=');
            item.push_str(value);
        }
    }
    if set_received && !seen_received {
        item.push_str(";received=");
        item.push_str(&ip);
    }
    Some(item)
}

/// Appends `n` in decimal, as `to_string` writes it.
pub(crate) fn push_number(out: &mut String, n: u32) {
    let mut digits = [0u8; 20];
    for &digit in crate::message::decimal(u64::from(n), &mut digits) {
        out.push(char::from(digit));
    }
}

/// Appends `n` in lower-case hex, at least `width` digits (as
/// `format!("{n:0width$x}")` writes it).
pub(crate) fn push_hex(out: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = n;
    while n != 0 || digits.len() - at < width.max(1) {
        at -= 1;
        digits[at] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if at == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(char::from(digit));
    }
}

/// Whether `haystack` contains `needle`, ASCII letters compared without
/// case, without lower-casing copies of either (User-Agent checks on every
/// REGISTER and challenge).
pub(crate) fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle))
}

/// Appends `ip` as `to_string` writes it (IPv4 by hand; IPv6 through `fmt`).
pub(crate) fn write_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_number(out, u32::from(octet));
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Where responses to `request` (received from `peer`) go: over TCP the
/// same connection; over UDP the source when `rport` was asked for, else
/// the source address with the Via port (RFC 3261 §18.2.2, RFC 3581 §4).
pub fn response_peer(request: &SipMessage, peer: Peer) -> Peer {
    if peer.transport == Transport::Tcp {
        return peer;
    }
    let Some(via) = request.top_via().and_then(ViaRef::parse) else {
        return peer;
    };
    if via.param("rport").is_some() {
        return peer;
    }
    let port = via.port.unwrap_or(5060);
    Peer::udp(SocketAddr::new(peer.addr.ip(), port))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::Method;

    /// What `mark_received` did when it rebuilt an owned `Via`: the
    /// reference the one-pass rewrite must match.
    fn marked_via_the_owned_way(first: &str, peer: Peer) -> Option<String> {
        let mut via = crate::headers::Via::parse(first)?;
        let ip = peer.addr.ip().to_string();
        let host = via.host.trim_start_matches('[').trim_end_matches(']');
        if host != ip {
            via.params.set("received", Some(ip));
        }
        if via.params.get("rport").is_some() {
            via.params.set("rport", Some(peer.addr.port().to_string()));
            if via.params.get("received").is_none() {
                via.params.set("received", Some(peer.addr.ip().to_string()));
            }
        }
        Some(via.to_value())
    }

    #[test]
    fn the_one_pass_via_rewrite_matches_the_owned_one_rfc3581() {
        let peers = ["192.0.2.7:40000", "10.0.0.9:5070", "[2001:db8::1]:5062"];
        let vias = [
            "SIP/2.0/UDP 10.0.0.9:5070;rport;branch=z9hG4bK1",
            "SIP/2.0/udp 10.0.0.9 ; branch = z9hG4bK1 ; RPORT",
            "SIP / 2.0 / TCP host.example;received=1.2.3.4;rport=9;branch=z9hG4bK2",
            "SIP/2.0/UDP 10.0.0.9:5070;received=10.0.0.9;branch=z9hG4bK3",
            "SIP/2.0/UDP [2001:db8::1]:5062;rport;rport;received=x;received=y;flag",
            "SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK4;;",
            "SIP/2.0/UDP h;rport=;received=",
            "SIP/2.0/UDP 2001:db8::1;branch=x",
        ];
        for via in vias {
            for peer in peers {
                let peer = Peer::udp(peer.parse().unwrap());
                assert_eq!(
                    marked_via(via, peer),
                    marked_via_the_owned_way(via, peer),
                    "{via} from {peer:?}"
                );
            }
        }
    }

    #[test]
    fn numbers_and_addresses_are_written_as_to_string_writes_them() {
        for n in [0, 7, 10, 255, 5060, 65_535, u32::MAX] {
            let mut out = String::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for (n, width) in [
            (0u64, 1),
            (0, 8),
            (0xab, 1),
            (0xab, 8),
            (u64::MAX, 1),
            (7, 3),
        ] {
            let mut out = String::new();
            push_hex(&mut out, n, width);
            assert_eq!(out, format!("{n:0width$x}"));
        }
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "192.0.2.255",
            "2001:db8::1",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            write_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }

    #[test]
    fn user_agents_are_matched_without_case() {
        assert!(contains_ignoring_case("Yealink SIP-T46S 66.86", "yealink"));
        assert!(contains_ignoring_case("sipp", "SIPp"));
        assert!(contains_ignoring_case("anything", ""));
        assert!(!contains_ignoring_case("baresip", "Polycom"));
        assert!(!contains_ignoring_case("snom", "snom7"));
    }

    #[test]
    fn received_and_rport_go_on_the_top_via_only_rfc3581() {
        let mut request = SipMessage::request(Method::Message, "sip:b@x").with(
            "Via",
            "SIP/2.0/UDP 10.0.0.9:5070;rport;branch=z9hG4bK1 ,SIP/2.0/UDP h2;branch=z9hG4bK2",
        );
        mark_received(&mut request, Peer::udp("192.0.2.7:40000".parse().unwrap()));
        assert_eq!(
            request.header("Via"),
            Some(
                "SIP/2.0/UDP 10.0.0.9:5070;rport=40000;branch=z9hG4bK1;received=192.0.2.7 \
                 ,SIP/2.0/UDP h2;branch=z9hG4bK2"
            )
        );
    }
}
