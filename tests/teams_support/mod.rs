//! Shared set-up for the teams-side tests: a server with two tenants and
//! people in several modes, log-in, and a WebSocket client for
//! `/v1/events`.
#![allow(dead_code)]

use crate::server::{Answer, Server, expect, grant, tenant, user};
use serde_json::{Value, json};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::stream::MaybeTlsStream;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

pub const PASSWORD: &str = "Correct-horse-1";

/// contoso (hybrid): alice Islands (online voice), dave Islands, bob TeamsOnly, carol
/// SfBWithTeamsCollab, erin Islands homed onprem, olga TeamsOnly with online
/// voice and a number, nina Islands without voice. fabrikam (online,
/// federated with contoso): frank Islands, gina TeamsOnly.
pub fn world(env: &[(&str, &str)]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_env(&dir.path().join("data"), env);
    tenant(&server, "contoso", "contoso.test", "hybrid");
    tenant(&server, "fabrikam", "fabrikam.test", "online");
    let people: &[(&str, &str, Value)] = &[
        ("contoso", "alice@contoso.test", json!({"voice": "online"})),
        ("contoso", "dave@contoso.test", json!({})),
        ("contoso", "bob@contoso.test", json!({})),
        ("contoso", "carol@contoso.test", json!({})),
        (
            "contoso",
            "erin@contoso.test",
            json!({"sfb_homing": "onprem"}),
        ),
        (
            "contoso",
            "olga@contoso.test",
            json!({"voice": "online", "phone_number": "+14255550100"}),
        ),
        ("contoso", "nina@contoso.test", json!({"voice": "none"})),
        ("fabrikam", "frank@fabrikam.test", json!({})),
        ("fabrikam", "gina@fabrikam.test", json!({})),
    ];
    for (tenant, upn, fields) in people {
        let mut fields = fields.clone();
        fields["password"] = json!(PASSWORD);
        user(&server, tenant, upn, fields);
    }
    for (upn, policy) in [
        ("bob@contoso.test", "UpgradeToTeams"),
        ("olga@contoso.test", "UpgradeToTeams"),
        ("carol@contoso.test", "SfBWithTeamsCollab"),
        ("gina@fabrikam.test", "UpgradeToTeams"),
    ] {
        expect(&grant(&server, upn, json!(policy)), 200);
    }
    for tenant in ["contoso", "fabrikam"] {
        let answer = server.admin(
            "PUT",
            &format!("/v1/tenants/{tenant}/federation"),
            Some(json!({"sfb_federation": true, "teams_federation": true})),
        );
        expect(&answer, 200);
    }
    (dir, server)
}

/// Logs in; the token.
pub fn login(server: &Server, upn: &str) -> String {
    let answer = server.call(
        "POST",
        "/v1/auth/token",
        None,
        Some(json!({"upn": upn, "password": PASSWORD})),
    );
    let body = expect(&answer, 200);
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Starts a chat; the answer.
pub fn chat(server: &Server, token: &str, members: &[&str]) -> Answer {
    server.call(
        "POST",
        "/v1/chats",
        Some(token),
        Some(json!({ "members": members })),
    )
}

/// Sends a text message; the answer.
pub fn send(server: &Server, token: &str, chat: &str, text: &str) -> Answer {
    server.call(
        "POST",
        &format!("/v1/chats/{chat}/messages"),
        Some(token),
        Some(json!({"body": {"contentType": "text", "content": text}})),
    )
}

/// A WebSocket on `/v1/events`.
pub struct Events {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl Events {
    /// Connects with `?access_token=` (and `?since=`).
    pub fn open(server: &Server, token: &str, since: Option<i64>) -> Events {
        let base = server.url.replacen("http://", "ws://", 1);
        let mut url = format!("{base}/v1/events?access_token={token}");
        if let Some(since) = since {
            url.push_str(&format!("&since={since}"));
        }
        Events::connect(
            tungstenite::client::IntoClientRequest::into_client_request(url).expect("request"),
        )
    }

    /// Connects with the `Authorization` header.
    pub fn open_with_header(server: &Server, token: &str) -> Events {
        let base = server.url.replacen("http://", "ws://", 1);
        let mut request = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "{base}/v1/events"
        ))
        .expect("request");
        request.headers_mut().insert(
            "Authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        Events::connect(request)
    }

    fn connect(request: tungstenite::handshake::client::Request) -> Events {
        let (socket, _) = tungstenite::connect(request).expect("websocket handshake");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
        }
        Events { socket }
    }

    /// The next event within `wait`, if any.
    pub fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let until = Instant::now() + wait;
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(text.as_str()).expect("event JSON"));
                }
                Ok(Message::Close(frame)) => panic!("server closed the stream: {frame:?}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= until {
                        return None;
                    }
                }
                Err(e) => panic!("websocket: {e}"),
            }
        }
    }

    /// Waits (10 s at most) for the server to close the stream; its reason.
    pub fn closed_by_server(&mut self) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            match self.socket.read() {
                Ok(Message::Close(frame)) => {
                    return frame.map(|f| f.reason.to_string()).unwrap_or_default();
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("websocket: {e}"),
            }
        }
        panic!("the server did not close the stream");
    }

    /// The next event (10 s at most).
    #[track_caller]
    pub fn next(&mut self) -> Value {
        self.try_next(Duration::from_secs(10))
            .expect("an event within 10 s")
    }

    /// The next event of `kind`, skipping others.
    #[track_caller]
    pub fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next();
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Whether no event of `kind` arrives within `wait`.
    pub fn none_of(&mut self, kind: &str, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if let Some(event) = self.try_next(until - Instant::now()) {
                if event["type"] == kind {
                    return false;
                }
            }
        }
        true
    }

    /// Closes the connection.
    pub fn close(mut self) {
        let _ = self.socket.close(None);
        let _ = self.socket.flush();
        // Wait for the server to see it, so presence goes Offline.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            match self.socket.read() {
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    break;
                }
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}
