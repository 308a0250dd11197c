//! What the benchmarks share: a minimal keep-alive HTTP/1.1 client (one
//! connection a client, no pooling, so the server sees real connections)
//! and the server started in process on its own 2-thread runtime.
#![allow(dead_code)]

use coexist::config::{Config, Overrides};
use coexist::serve::{Listeners, run};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub const ADMIN: &str = "bench-admin-token-0123456789";
pub const PASSWORD: &str = "Bench-password-1";

/// A keep-alive HTTP/1.1 connection.
pub struct Http {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    line: String,
    body: Vec<u8>,
}

impl Http {
    pub async fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (read, write) = stream.into_split();
        Http {
            reader: BufReader::new(read),
            writer: write,
            line: String::new(),
            body: Vec::new(),
        }
    }

    /// Sends a request; the status and body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &[u8],
    ) -> (u16, &[u8]) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request).await.unwrap();
        self.line.clear();
        self.reader.read_line(&mut self.line).await.unwrap();
        let status: u16 = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            self.line.clear();
            self.reader.read_line(&mut self.line).await.unwrap();
            let line = self.line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body).await.unwrap();
        (status, &self.body)
    }

    pub async fn json(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let (status, body) = self
            .request(method, path, token, body.to_string().as_bytes())
            .await;
        (status, serde_json::from_slice(body).unwrap_or(Value::Null))
    }
}

/// The server's HTTP and SIP (UDP) addresses, and its data directory.
pub struct Started {
    pub http: SocketAddr,
    pub sip: SocketAddr,
    pub dir: tempfile::TempDir,
}

pub fn start_server() -> Started {
    // On the real disk (not tmpfs): fsync costs what it costs.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().join("data")),
        ..Overrides::default()
    };
    let env = |key: &str| (key == "COEXIST_ADMIN_TOKEN").then(|| ADMIN.to_owned());
    let config = Config::load(None, &env, &overrides).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("server")
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let any = "127.0.0.1:0".parse().unwrap();
            let listeners = Listeners::bind(any, any).await.unwrap();
            let addresses = (
                listeners.http.local_addr().unwrap(),
                listeners.sip_udp.local_addr().unwrap(),
            );
            tx.send(addresses).unwrap();
            run(&config, listeners, std::future::pending())
                .await
                .unwrap();
        });
    });
    let (http, sip) = rx.recv().unwrap();
    Started { http, sip, dir }
}

/// A teams client's `/v1/events` WebSocket. tungstenite zeroes its read
/// buffer before each read: a small one keeps the load generator's own cost
/// (which shares the cores with the server) low.
pub async fn events_socket(
    http: SocketAddr,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>> {
    events_socket_since(http, token, None).await.unwrap()
}

/// The same, resuming after event `since` (a client the server closed for
/// being too slow reconnects so); the error when the server refused.
pub async fn events_socket_since(
    http: SocketAddr,
    token: &str,
    since: Option<i64>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    let mut url = format!("ws://{http}/v1/events?access_token={token}");
    if let Some(since) = since {
        url.push_str(&format!("&since={since}"));
    }
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(16 * 1024);
    tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .map(|(socket, _)| socket)
}
