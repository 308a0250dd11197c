//! The tokio driver on real sockets (port 0): UDP and TCP clients, TCP
//! connection reuse for a contact that registered over TCP, and the
//! delivery port the teams side uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_policy::Mode;
use coexist_sip::auth::Algorithm;
use coexist_sip::registrar::MemoryStore;
use coexist_sip::wire::{StreamFramer, parse_datagram};
use coexist_sip::{
    Delivery, MemoryDirectory, Method, SfbDelivery, SipConfig, SipMessage, SipServer,
};
use common::Ua;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(5);

async fn start() -> (SipServer, tokio::sync::oneshot::Sender<()>) {
    let (udp, tcp) = coexist_sip::bind_udp_and_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = udp.local_addr().unwrap();
    let directory = MemoryDirectory::new();
    for user in ["alice", "bob"] {
        directory.add(&format!("{user}@contoso.test"), "pw", Mode::Islands);
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = SipServer::start(
        udp,
        Some(tcp),
        Arc::new(directory),
        Box::new(MemoryStore),
        SipConfig::new(addr),
        async move {
            let _ = stopped.await;
        },
    );
    (server, stop)
}

struct UdpUa {
    ua: Ua,
    socket: UdpSocket,
    server: std::net::SocketAddr,
}

impl UdpUa {
    async fn new(user: &str, server: std::net::SocketAddr) -> UdpUa {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        UdpUa {
            ua: Ua::new(user, port),
            socket,
            server,
        }
    }

    async fn send(&self, m: &SipMessage) {
        self.socket
            .send_to(&m.to_bytes(), self.server)
            .await
            .unwrap();
    }

    async fn recv(&self) -> SipMessage {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, _) = tokio::time::timeout(WAIT, self.socket.recv_from(&mut buf))
                .await
                .expect("an answer in time")
                .unwrap();
            let m = parse_datagram(&buf[..n]).unwrap();
            if m.status() != Some(100) {
                return m;
            }
        }
    }

    async fn authorized(&mut self, mut request: SipMessage) -> SipMessage {
        self.send(&request).await;
        let challenge = self.recv().await;
        self.ua
            .authorize(&mut request, &challenge, Algorithm::Sha256);
        self.send(&request).await;
        self.recv().await
    }
}

struct TcpUa {
    ua: Ua,
    stream: TcpStream,
    framer: StreamFramer,
    queue: Vec<SipMessage>,
}

impl TcpUa {
    async fn new(user: &str, server: std::net::SocketAddr) -> TcpUa {
        let stream = TcpStream::connect(server).await.unwrap();
        let port = stream.local_addr().unwrap().port();
        TcpUa {
            ua: Ua::new(user, port),
            stream,
            framer: StreamFramer::default(),
            queue: Vec::new(),
        }
    }

    fn tcp(&self, mut m: SipMessage) -> SipMessage {
        let via = m.top_via().unwrap().replace("SIP/2.0/UDP", "SIP/2.0/TCP");
        m.set("Via", via);
        if m.header("Contact").is_some() {
            m.set("Contact", format!("<{};transport=tcp>", self.ua.contact()));
        }
        m
    }

    async fn send(&mut self, m: &SipMessage) {
        self.stream.write_all(&m.to_bytes()).await.unwrap();
    }

    async fn recv(&mut self) -> SipMessage {
        let mut buf = vec![0u8; 65536];
        loop {
            if !self.queue.is_empty() {
                return self.queue.remove(0);
            }
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("a message in time")
                .unwrap();
            assert!(n > 0, "connection closed");
            for m in self.framer.push(&buf[..n]).unwrap() {
                let m = m.unwrap();
                if m.status() != Some(100) {
                    self.queue.push(m);
                }
            }
        }
    }

    async fn register(&mut self) {
        let r = self.ua.register(600);
        let mut r = self.tcp(r);
        self.send(&r).await;
        let challenge = self.recv().await;
        assert_eq!(challenge.status(), Some(401));
        self.ua.authorize(&mut r, &challenge, Algorithm::Md5);
        let r = self.tcp(r);
        self.send(&r).await;
        assert_eq!(self.recv().await.status(), Some(200));
    }
}

#[tokio::test]
async fn a_udp_user_messages_a_tcp_user_over_the_connection_it_registered_on() {
    let (server, stop) = start().await;
    let addr = server.local_addr();
    let mut bob = TcpUa::new("bob", addr).await;
    bob.register().await;
    let mut alice = UdpUa::new("alice", addr).await;
    let r = alice.ua.register(600);
    assert_eq!(alice.authorized(r).await.status(), Some(200));

    let mut m = alice
        .ua
        .request("MESSAGE", "sip:bob@contoso.test", "sip:bob@contoso.test");
    m.set_body("text/plain", "over tcp?");
    alice.send(&m).await;
    let challenge = alice.recv().await;
    alice.ua.authorize(&mut m, &challenge, Algorithm::Sha256);
    alice.send(&m).await;
    // Bob gets it on the connection he registered on.
    let got = bob.recv().await;
    assert_eq!(got.method(), Some(Method::Message));
    assert!(got.top_via().unwrap().contains("SIP/2.0/TCP"));
    assert_eq!(&got.body[..], b"over tcp?");
    let ok = got.response(200, "OK", Some("bobtag"));
    bob.send(&ok).await;
    assert_eq!(alice.recv().await.status(), Some(200));
    let _ = stop.send(());
    server.wait().await;
}

#[tokio::test]
async fn the_delivery_port_reaches_every_sfb_contact() {
    let (server, stop) = start().await;
    let addr = server.local_addr();
    let port = server.handle();
    assert_eq!(
        port.deliver_message(
            "teams@contoso.test",
            "bob@contoso.test",
            "text/plain",
            "x".into()
        )
        .await,
        Delivery::NoContact
    );
    assert_eq!(
        port.deliver_message(
            "teams@contoso.test",
            "zed@contoso.test",
            "text/plain",
            "x".into()
        )
        .await,
        Delivery::UnknownUser
    );
    let mut bob = UdpUa::new("bob", addr).await;
    let r = bob.ua.register(600);
    assert_eq!(bob.authorized(r).await.status(), Some(200));
    let delivery = tokio::spawn(async move {
        port.deliver_message(
            "teams@contoso.test",
            "bob@contoso.test",
            "text/plain",
            "hello from teams".into(),
        )
        .await
    });
    let got = bob.recv().await;
    assert_eq!(got.method(), Some(Method::Message));
    assert!(got.header("From").unwrap().contains("teams@contoso.test"));
    bob.send(&got.response(200, "OK", Some("b"))).await;
    assert_eq!(delivery.await.unwrap(), Delivery::Delivered);
    let _ = stop.send(());
    server.wait().await;
}

#[tokio::test]
async fn the_delivery_port_places_a_call_to_an_sfb_user_and_hangs_up() {
    use coexist_sip::CallEvent;
    let (server, stop) = start().await;
    let addr = server.local_addr();
    let port = server.handle();
    let mut nobody = port.place_call("teams@contoso.test", "zed@contoso.test", "v=0".into());
    assert_eq!(nobody.events.recv().await, Some(CallEvent::Failed(404)));
    let mut bob = UdpUa::new("bob", addr).await;
    let r = bob.ua.register(600);
    assert_eq!(bob.authorized(r).await.status(), Some(200));
    let mut call = port.place_call("teams@contoso.test", "bob@contoso.test", "v=0 offer".into());
    let invite = bob.recv().await;
    assert_eq!(invite.method(), Some(Method::Invite));
    assert_eq!(&invite.body[..], b"v=0 offer");
    let mut ok = invite.response(200, "OK", Some("bobtag"));
    ok.push("Contact", format!("<{}>", bob.ua.contact()));
    ok.set_body("application/sdp", "v=0 answer");
    bob.send(&ok).await;
    assert_eq!(
        call.events.recv().await,
        Some(CallEvent::Answered("v=0 answer".into()))
    );
    assert_eq!(bob.recv().await.method(), Some(Method::Ack));
    port.hangup(call.id);
    assert_eq!(call.events.recv().await, Some(CallEvent::Ended));
    let bye = bob.recv().await;
    assert_eq!(bye.method(), Some(Method::Bye));
    bob.send(&bye.response(200, "OK", None)).await;
    let _ = stop.send(());
    server.wait().await;
}
