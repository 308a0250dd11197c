//! The thin tokio driver beside the engine: it owns the UDP socket and the
//! TCP connections, feeds the engine bytes and the wall clock, sends what
//! the engine says, and sleeps until its next timer. One task owns the
//! engine, so the engine needs no lock.
//!
//! TCP: each connection has a reader task (framing with
//! [`StreamFramer`]) and a writer task; requests to a contact that
//! registered over TCP reuse its connection (the binding remembers it), and
//! a TCP peer with no open connection gets a new one.

use crate::calls::CallEvent;
use crate::delivery::{Delivery, PortCall, SfbDelivery};
use crate::directory::SipDirectory;
use crate::engine::{Engine, EngineEvent, SipConfig};
use crate::im::PortStart;
use crate::registrar::RegistrationStore;
use crate::teams_calls::{TeamsCallStart, TeamsCallUpdate, TeamsCalls};
use crate::teams_side::{TeamsAnswer, TeamsSide};
use crate::transport::{Outgoing, Peer, Transport};
use crate::wire::{StreamFramer, WireError};
use coexist_policy::Availability;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

mod batch;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The wall clock as the engine wants it.
fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

enum Input {
    /// A framed message from a TCP connection.
    Tcp(Peer, Result<crate::message::SipMessage, WireError>),
    /// A connection opened (accepted or dialled): where to write.
    Opened(u64, SocketAddr, mpsc::UnboundedSender<Vec<u8>>),
    /// A connection closed.
    Closed(u64),
    /// The delivery port.
    Deliver {
        from: String,
        to: String,
        content_type: String,
        body: bytes::Bytes,
        answer: oneshot::Sender<Delivery>,
    },
    /// The teams side's presence of a user.
    TeamsPresence(String, Availability, Option<String>),
    /// The delivery port places a call.
    PlaceCall {
        id: u64,
        from: String,
        to: String,
        sdp: bytes::Bytes,
        events: mpsc::UnboundedSender<CallEvent>,
    },
    /// The delivery port hangs up.
    Hangup(u64),
    /// The interop wiring attaches the teams side.
    AttachTeams(Arc<dyn TeamsSide>),
    /// The teams side answered an IM from sfb.
    TeamsAnswered(u64, TeamsAnswer),
    /// The interop wiring attaches the teams side's calls.
    AttachTeamsCalls(Arc<dyn TeamsCalls>),
    /// The teams side took (or refused) a call from sfb.
    TeamsCallStarted(u64, TeamsCallStart),
    /// The teams party of a call from sfb did something.
    TeamsCallUpdate(u64, TeamsCallUpdate),
    /// The teams party transfers the sfb callee of a port call.
    PortTransfer(u64, String),
    /// The teams side refused the transfer a port call's sfb callee asked for.
    PortReferFailed(u64, u16),
}

/// A handle the teams side (issue 4) uses to reach sfb users: the delivery port.
#[derive(Debug, Clone)]
pub struct SipHandle {
    tx: mpsc::UnboundedSender<Input>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Input")
    }
}

#[async_trait::async_trait]
impl SfbDelivery for SipHandle {
    async fn deliver_message(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> Delivery {
        let (answer, result) = oneshot::channel();
        let sent = self.tx.send(Input::Deliver {
            from: from.to_owned(),
            to: to.to_owned(),
            content_type: content_type.to_owned(),
            body,
            answer,
        });
        if sent.is_err() {
            return Delivery::Failed(503);
        }
        result.await.unwrap_or(Delivery::Failed(503))
    }

    fn set_teams_presence(&self, upn: &str, availability: Availability, note: Option<String>) {
        let _ = self
            .tx
            .send(Input::TeamsPresence(upn.to_owned(), availability, note));
    }

    fn place_call(&self, from: &str, to: &str, sdp: bytes::Bytes) -> PortCall {
        let id = NEXT_PORT_CALL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (events, receiver) = mpsc::unbounded_channel();
        let sent = self.tx.send(Input::PlaceCall {
            id,
            from: from.to_owned(),
            to: to.to_owned(),
            sdp,
            events: events.clone(),
        });
        if sent.is_err() {
            let _ = events.send(CallEvent::Failed(503));
        }
        PortCall {
            id,
            events: receiver,
        }
    }

    fn hangup(&self, call: u64) {
        let _ = self.tx.send(Input::Hangup(call));
    }
}

impl SipHandle {
    /// Connects the teams side (interop): IMs from sfb that land on teams
    /// go to it, and sfb presence and registrations are reported to it.
    /// Until then those IMs are answered 480.
    pub fn attach_teams(&self, teams: Arc<dyn TeamsSide>) {
        let _ = self.tx.send(Input::AttachTeams(teams));
    }

    /// Connects the teams side's calls (interop): INVITEs from sfb (and
    /// PSTN gateways) that land on teams go to it. Until then they are
    /// answered 480.
    pub fn attach_teams_calls(&self, calls: Arc<dyn TeamsCalls>) {
        let _ = self.tx.send(Input::AttachTeamsCalls(calls));
    }

    /// What the teams party of call `id` (from [`TeamsCalls::call_from_sfb`]) did.
    pub fn teams_call_update(&self, id: u64, update: TeamsCallUpdate) {
        let _ = self.tx.send(Input::TeamsCallUpdate(id, update));
    }

    /// The teams party transfers the sfb callee of port call `id` to
    /// `target` (`user@domain` or a number): REFER, then BYE (R3.6).
    pub fn transfer(&self, id: u64, target: &str) {
        let _ = self.tx.send(Input::PortTransfer(id, target.to_owned()));
    }

    /// The teams side refused the transfer (a [`CallEvent::Transfer`]) the
    /// sfb callee of port call `id` asked for: its NOTIFY carries `status`.
    pub fn refer_failed(&self, id: u64, status: u16) {
        let _ = self.tx.send(Input::PortReferFailed(id, status));
    }
}

static NEXT_PORT_CALL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The running SIP server.
#[derive(Debug)]
pub struct SipServer {
    handle: SipHandle,
    task: JoinHandle<()>,
    local: SocketAddr,
}

impl SipServer {
    /// Starts serving on bound sockets (UDP, and TCP when given) until
    /// `shutdown` resolves. `config.local` should be the UDP address.
    pub fn start(
        udp: UdpSocket,
        tcp: Option<TcpListener>,
        directory: Arc<dyn SipDirectory>,
        store: Box<dyn RegistrationStore>,
        config: SipConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> SipServer {
        let (tx, rx) = mpsc::unbounded_channel();
        let local = config.local;
        let engine = Engine::new(config, directory, store, wall_clock());
        let mut acceptor = None;
        if let Some(listener) = tcp {
            acceptor = Some(tokio::spawn(accept_loop(listener, tx.clone())));
        }
        let core = Core {
            engine,
            udp: Arc::new(udp),
            rx,
            tx: tx.clone(),
            conns: HashMap::new(),
            by_addr: HashMap::new(),
            port_waiters: HashMap::new(),
            call_waiters: HashMap::new(),
            next_port_id: 1,
            teams: None,
            teams_calls: None,
            receiver: batch::Receiver::default(),
        };
        let task = tokio::spawn(async move {
            core.run(shutdown).await;
            if let Some(acceptor) = acceptor {
                acceptor.abort();
            }
        });
        SipServer {
            handle: SipHandle { tx },
            task,
            local,
        }
    }

    /// The delivery port.
    pub fn handle(&self) -> SipHandle {
        self.handle.clone()
    }

    /// The address the server is reached at.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits until the server stopped (after `shutdown`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

struct Core {
    engine: Engine,
    udp: Arc<UdpSocket>,
    rx: mpsc::UnboundedReceiver<Input>,
    tx: mpsc::UnboundedSender<Input>,
    conns: HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
    by_addr: HashMap<SocketAddr, u64>,
    port_waiters: HashMap<u64, oneshot::Sender<Delivery>>,
    call_waiters: HashMap<u64, mpsc::UnboundedSender<CallEvent>>,
    next_port_id: u64,
    teams: Option<Arc<dyn TeamsSide>>,
    teams_calls: Option<Arc<dyn TeamsCalls>>,
    /// Buffers for receiving datagrams in batches.
    receiver: batch::Receiver,
}

impl Core {
    async fn run(mut self, shutdown: impl Future<Output = ()> + Send + 'static) {
        tokio::pin!(shutdown);
        let timer = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(timer);
        let udp = self.udp.clone();
        loop {
            // Timers first: under load the socket is always ready, and due
            // retransmissions must not wait for a quiet moment.
            let now = wall_clock();
            if self.engine.next_timeout().is_some_and(|at| at <= now) {
                self.engine.poll(now);
            }
            let wake = self
                .engine
                .next_timeout()
                .map(|at| at.saturating_sub(wall_clock()))
                .unwrap_or(Duration::from_secs(1));
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + wake.max(Duration::from_millis(1)));
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                readable = udp.readable() => {
                    if readable.is_ok() {
                        // Take what is queued (a few batches at most), then
                        // answer it all.
                        let fd = udp.as_raw_fd();
                        for _ in 0..4 {
                            let taken = udp.try_io(Interest::READABLE, || self.receiver.receive(fd));
                            let Ok(count) = taken else {
                                break;
                            };
                            let now = wall_clock();
                            for (bytes, from) in self.receiver.datagrams() {
                                if !bytes.is_empty() {
                                    self.engine.receive(now, Peer::udp(from), bytes);
                                }
                            }
                            if count < batch::SLOTS {
                                break;
                            }
                        }
                    }
                }
                input = self.rx.recv() => match input {
                    Some(input) => {
                        self.input(input);
                        for _ in 0..64 {
                            match self.rx.try_recv() {
                                Ok(input) => self.input(input),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                () = &mut timer => self.engine.poll(wall_clock()),
            }
            self.flush().await;
        }
    }

    fn input(&mut self, input: Input) {
        let now = wall_clock();
        match input {
            Input::Tcp(peer, Ok(message)) => self.engine.receive_message(now, peer, message),
            Input::Tcp(peer, Err(WireError::Version(request))) => {
                let response = request.response(505, "Version Not Supported", None);
                self.send_tcp(peer, response.to_bytes());
            }
            Input::Tcp(_, Err(_)) => {}
            Input::Opened(id, addr, writer) => {
                self.conns.insert(id, writer);
                self.by_addr.insert(addr, id);
            }
            Input::Closed(id) => {
                self.conns.remove(&id);
                self.by_addr.retain(|_, c| *c != id);
            }
            Input::Deliver {
                from,
                to,
                content_type,
                body,
                answer,
            } => {
                let id = self.next_port_id;
                self.next_port_id += 1;
                match self
                    .engine
                    .port_deliver_message(now, id, &from, &to, &content_type, body)
                {
                    PortStart::Sent(_) => {
                        self.port_waiters.insert(id, answer);
                    }
                    PortStart::NoContact => {
                        let _ = answer.send(Delivery::NoContact);
                    }
                    PortStart::UnknownUser => {
                        let _ = answer.send(Delivery::UnknownUser);
                    }
                }
            }
            Input::TeamsPresence(upn, availability, note) => {
                self.engine
                    .set_teams_presence(now, &upn, availability, note);
            }
            Input::PlaceCall {
                id,
                from,
                to,
                sdp,
                events,
            } => match self.engine.port_place_call(now, id, &from, &to, sdp) {
                PortStart::Sent(_) => {
                    self.call_waiters.insert(id, events);
                }
                PortStart::NoContact => {
                    let _ = events.send(CallEvent::Failed(480));
                }
                PortStart::UnknownUser => {
                    let _ = events.send(CallEvent::Failed(404));
                }
            },
            Input::Hangup(id) => self.engine.port_hangup(now, id),
            Input::AttachTeams(teams) => {
                self.teams = Some(teams);
                self.engine.report_all_sfb_states(now);
            }
            Input::TeamsAnswered(id, answer) => {
                self.engine.teams_message_answered(now, id, answer);
            }
            Input::AttachTeamsCalls(calls) => self.teams_calls = Some(calls),
            Input::TeamsCallStarted(id, start) => self.engine.teams_call_started(now, id, start),
            Input::TeamsCallUpdate(id, update) => self.engine.teams_call_update(now, id, update),
            Input::PortTransfer(id, target) => self.engine.port_transfer(now, id, &target),
            Input::PortReferFailed(id, status) => self.engine.port_refer_failed(now, id, status),
        }
    }

    async fn flush(&mut self) {
        for event in self.engine.take_events() {
            match event {
                EngineEvent::PortResult { id, status } => {
                    if let Some(waiter) = self.port_waiters.remove(&id) {
                        let outcome = match status {
                            200..=299 => Delivery::Delivered,
                            480 => Delivery::NoContact,
                            code => Delivery::Failed(code),
                        };
                        let _ = waiter.send(outcome);
                    }
                }
                EngineEvent::TeamsMessage {
                    id,
                    from,
                    to,
                    content_type,
                    body,
                } => match &self.teams {
                    Some(teams) => {
                        let (teams, tx) = (teams.clone(), self.tx.clone());
                        tokio::spawn(async move {
                            let answer = teams
                                .message_from_sfb(&from, &to, &content_type, body)
                                .await;
                            let _ = tx.send(Input::TeamsAnswered(id, answer));
                        });
                    }
                    None => {
                        let answer = TeamsAnswer::Refused {
                            status: 480,
                            reason: "Temporarily Unavailable (lands on teams)".into(),
                            warning: None,
                        };
                        self.engine.teams_message_answered(wall_clock(), id, answer);
                    }
                },
                EngineEvent::SfbState(state) => {
                    if let Some(teams) = &self.teams {
                        teams.sfb_presence(state);
                    }
                }
                EngineEvent::TeamsCall {
                    id,
                    from,
                    to,
                    sdp,
                    pstn,
                } => match &self.teams_calls {
                    Some(calls) => {
                        let (calls, tx) = (calls.clone(), self.tx.clone());
                        tokio::spawn(async move {
                            let start = calls.call_from_sfb(id, &from, &to, sdp, pstn).await;
                            let _ = tx.send(Input::TeamsCallStarted(id, start));
                        });
                    }
                    None => {
                        let start = TeamsCallStart::Refused {
                            status: 480,
                            reason: "Temporarily Unavailable (lands on teams)".into(),
                            warning: None,
                        };
                        self.engine.teams_call_started(wall_clock(), id, start);
                    }
                },
                EngineEvent::TeamsCallEnded { id } => {
                    if let Some(calls) = &self.teams_calls {
                        calls.sfb_ended(id);
                    }
                }
                EngineEvent::TeamsCallRefer { id, target } => match &self.teams_calls {
                    Some(calls) => calls.sfb_refer(id, &target),
                    None => self.engine.teams_call_update(
                        wall_clock(),
                        id,
                        TeamsCallUpdate::TransferFailed(480),
                    ),
                },
                EngineEvent::Call { id, event } => {
                    let last = matches!(event, CallEvent::Failed(_) | CallEvent::Ended);
                    if let Some(waiter) = self.call_waiters.get(&id) {
                        let _ = waiter.send(event);
                    }
                    if last {
                        self.call_waiters.remove(&id);
                    }
                }
            }
        }
        let (udp, tcp): (Vec<Outgoing>, Vec<Outgoing>) = self
            .engine
            .take_output()
            .into_iter()
            .partition(|out| out.to.transport == Transport::Udp);
        for Outgoing { to, bytes } in tcp {
            self.send_tcp(to, bytes);
        }
        let datagrams: Vec<(&[u8], SocketAddr)> = udp
            .iter()
            .map(|out| (&out.bytes[..], out.to.addr))
            .collect();
        send_datagrams(&self.udp, &datagrams).await;
    }
    fn send_tcp(&mut self, to: Peer, bytes: Vec<u8>) {
        let conn = to
            .conn
            .filter(|c| self.conns.contains_key(c))
            .or_else(|| self.by_addr.get(&to.addr).copied());
        if let Some(writer) = conn.and_then(|c| self.conns.get(&c))
            && writer.send(bytes.clone()).is_ok()
        {
            return;
        }
        // No open connection: dial one and send on it.
        let tx = self.tx.clone();
        tokio::spawn(async move {
            match TcpStream::connect(to.addr).await {
                Ok(stream) => {
                    let writer = serve_connection(stream, to.addr, tx);
                    let _ = writer.send(bytes);
                }
                Err(e) => tracing::debug!("tcp connect {}: {e}", to.addr),
            }
        });
    }
}

/// Sends datagrams in batches (`sendmmsg`), without a suspension point
/// unless the socket is full; then the rest one by one as it drains.
async fn send_datagrams(udp: &UdpSocket, datagrams: &[(&[u8], SocketAddr)]) {
    let fd = udp.as_raw_fd();
    let mut rest = datagrams;
    while !rest.is_empty() {
        match udp.try_io(Interest::WRITABLE, || batch::send(fd, rest)) {
            Ok(sent) => rest = rest.get(sent.max(1)..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                for (bytes, to) in rest {
                    if let Err(e) = udp.send_to(bytes, to).await {
                        tracing::debug!("udp send to {to}: {e}");
                    }
                }
                return;
            }
            Err(e) => {
                // The first of the batch could not be sent (its
                // destination, say): the others still go.
                if let Some((_, to)) = rest.first() {
                    tracing::debug!("udp send to {to}: {e}");
                }
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
}

static NEXT_CONN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

async fn accept_loop(listener: TcpListener, tx: mpsc::UnboundedSender<Input>) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                serve_connection(stream, addr, tx.clone());
            }
            Err(e) => {
                tracing::warn!("tcp accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Starts the reader and writer tasks of a connection; returns the writer.
fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    tx: mpsc::UnboundedSender<Input>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let id = NEXT_CONN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let (writer, mut outbox) = mpsc::unbounded_channel::<Vec<u8>>();
    let _ = tx.send(Input::Opened(id, addr, writer.clone()));
    tokio::spawn(async move {
        while let Some(bytes) = outbox.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut framer = StreamFramer::default();
        let mut buf = vec![0u8; 16 * 1024];
        let peer = Peer::tcp(addr, id);
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => match framer.push(buf.get(..n).unwrap_or_default()) {
                    Ok(messages) => {
                        for message in messages {
                            let _ = tx.send(Input::Tcp(peer, message));
                        }
                    }
                    Err(_) => break, // framing lost (RFC 3261 §18.3): close
                },
            }
        }
        let _ = tx.send(Input::Closed(id));
    });
    writer
}
