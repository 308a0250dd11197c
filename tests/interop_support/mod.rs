//! Real clients on both sides of `coexist serve` (issue 6): the teams client
//! over HTTP and the WebSocket (`teams_support`), and the sfb client as
//! sipp processes running the scenarios of `tests/sipp/` and `bench/sipp/`.
//! What sipp sent and received is read back from its own message log
//! (`-trace_msg`), so a test can check the From, the body and the
//! `Warning` of what a real SIP client saw, and wait for a NOTIFY while it
//! drives the HTTP side.
#![allow(dead_code)]

use crate::server::{Server, expect, grant, tenant, user};
use crate::teams_support::PASSWORD;
use coexist_policy::Mode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "contoso.test";

/// A scenario file: `tests/sipp/NAME` or `bench/sipp/NAME`.
pub fn scenario(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let own = root.join("tests/sipp").join(name);
    if own.is_file() {
        own
    } else {
        root.join("bench/sipp").join(name)
    }
}

pub use crate::server::free_port;

/// The SIP address from the listening line.
pub fn sip_addr(server: &Server) -> String {
    server
        .banner
        .last()
        .and_then(|line| line.split(' ').find_map(|p| p.strip_prefix("sip=")))
        .expect("sip= in the listening line")
        .to_owned()
}

/// The upgrade policy that gives `mode` (R1.2), or none for Islands.
pub fn policy_for(mode: Mode) -> Value {
    match mode {
        Mode::Islands => Value::Null,
        Mode::TeamsOnly => json!("UpgradeToTeams"),
        other => json!(other.to_string()),
    }
}

/// A hybrid tenant `contoso` (contoso.test), so every in-tenant cell of
/// tables 1a–1c is possible (R3.3).
pub fn contoso(server: &Server) {
    tenant(server, "contoso", DOMAIN, "hybrid");
}

/// A server (with these extra variables) holding the tenant `contoso`,
/// and its sfb side; the guard keeps the directory alive.
pub fn world(env: &[(&str, &str)]) -> (tempfile::TempDir, Server, Sfb) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start_with_env(&dir.path().join("data"), env);
    contoso(&server);
    let sfb = Sfb::new(&server, dir.path());
    (dir, server, sfb)
}

/// A user `NAME@contoso.test` (password [`PASSWORD`]) in `mode`, with more
/// fields; the UPN.
pub fn person(server: &Server, name: &str, mode: Mode, fields: Value) -> String {
    let upn = format!("{name}@{DOMAIN}");
    let mut fields = fields;
    fields["password"] = json!(PASSWORD);
    fields["display_name"] = json!(name);
    user(server, "contoso", &upn, fields);
    if mode != Mode::Islands {
        expect(&grant(server, &upn, policy_for(mode)), 200);
    }
    upn
}

/// One SIP message from sipp's log.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Whether sipp received it (else it sent it).
    pub received: bool,
    /// The start line.
    pub start: String,
    /// The raw header block and body.
    pub text: String,
}

impl Logged {
    /// The first value of header `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The body (after the first empty line), trimmed.
    pub fn body(&self) -> String {
        let text = self.text.replace("\r\n", "\n");
        text.split_once("\n\n")
            .map(|(_, b)| b.trim().to_owned())
            .unwrap_or_default()
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        self.start
            .strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
    }

    /// Whether this is a request with `method`.
    pub fn is(&self, method: &str) -> bool {
        self.start.starts_with(&format!("{method} "))
    }
}

/// Reads sipp's message log.
pub fn read_log(path: &Path) -> Vec<Logged> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for chunk in text.split("-----------------------------------------------") {
        let mut lines = chunk.splitn(2, '\n');
        let _when = lines.next();
        let Some(rest) = lines.next() else { continue };
        let (kind, message) = rest.split_once('\n').unwrap_or((rest, ""));
        let received = kind.contains("received");
        if !received && !kind.contains("sent") {
            continue;
        }
        let message = message.trim_start_matches(['\r', '\n']).to_owned();
        let start = message.lines().next().unwrap_or_default().trim().to_owned();
        if start.is_empty() {
            continue;
        }
        out.push(Logged {
            received,
            start,
            text: message,
        });
    }
    out
}

/// The sfb side of a test: sipp processes against one server.
pub struct Sfb {
    /// The server's SIP address.
    pub sip: String,
    /// Where injection files and logs go.
    pub dir: PathBuf,
    counter: AtomicU32,
}

/// A sipp process running in the background, with its log.
pub struct Running {
    child: Option<Child>,
    /// Its message log.
    pub log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Running {
    /// Waits for sipp to end (25 s at most); whether it succeeded, and
    /// what it logged.
    pub fn finish(mut self) -> (bool, Vec<Logged>) {
        let deadline = Instant::now() + Duration::from_secs(25);
        let mut ok = false;
        if let Some(mut child) = self.child.take() {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    ok = status.success();
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        (ok, read_log(&self.log))
    }

    /// What it logged so far.
    pub fn so_far(&self) -> Vec<Logged> {
        read_log(&self.log)
    }

    /// Waits (10 s at most) until it has received `n` requests of `method`.
    pub fn wait_received(&self, method: &str, n: usize) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let got = self
                .so_far()
                .iter()
                .filter(|m| m.received && m.is(method))
                .count();
            if got >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// What a sender saw of its MESSAGE: the final status and the Warning.
#[derive(Debug, Clone)]
pub struct Answered {
    pub status: Option<u16>,
    pub warning: Option<String>,
    pub start: String,
}

impl Sfb {
    /// The sfb side of `server`, keeping its files in `dir`.
    pub fn new(server: &Server, dir: &Path) -> Sfb {
        Sfb {
            sip: sip_addr(server),
            dir: dir.to_owned(),
            counter: AtomicU32::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// An injection file: `USER;DOMAIN;[authentication …];EXTRA…`.
    fn inject(&self, upn: &str, extra: &[&str]) -> PathBuf {
        let user = upn.split('@').next().unwrap_or(upn);
        let path = self.dir.join(format!("{user}-{}.csv", self.next()));
        let mut line =
            format!("{user};{DOMAIN};[authentication username={upn} password={PASSWORD}]");
        for field in extra {
            assert!(!field.contains([';', '\n']), "a sipp field: {field}");
            line.push(';');
            line.push_str(field);
        }
        std::fs::write(&path, format!("SEQUENTIAL\n{line}\n")).expect("injection file");
        path
    }

    fn command(&self, scenario_name: &str, port: u16, log: &Path) -> Command {
        let mut command = Command::new("sipp");
        command
            .arg(&self.sip)
            .arg("-sf")
            .arg(scenario(scenario_name))
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-nostdin"])
            .args(["-timeout", "20s", "-mp", &free_port().to_string()])
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(log)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn log(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{what}-{}.log", self.next()))
    }

    /// Runs a client scenario as `upn` once, in the background.
    pub fn spawn(&self, scenario_name: &str, upn: &str, port: u16, extra: &[&str]) -> Running {
        let inf = self.inject(upn, extra);
        let log = self.log(scenario_name);
        let child = self
            .command(scenario_name, port, &log)
            .arg("-inf")
            .arg(inf)
            .args(["-m", "1"])
            .spawn()
            .expect("sipp runs (Debian package sip-tester)");
        Running {
            child: Some(child),
            log,
        }
    }

    /// Registers `upn`'s sfb client at 127.0.0.1:`port` (digest auth).
    pub fn register(&self, upn: &str, port: u16) -> bool {
        self.spawn("register.xml", upn, port, &[upn]).finish().0
    }

    /// Removes `upn`'s registration at `port` (Expires: 0).
    pub fn unregister(&self, upn: &str, port: u16) -> bool {
        self.spawn("unregister.xml", upn, port, &[]).finish().0
    }

    /// An sfb client's inbox at `port`: takes `n` MESSAGEs (200 each).
    pub fn inbox(&self, port: u16, n: u32) -> Running {
        self.answering("inbox.xml", port, n)
    }

    /// An sfb client at `port` that refuses `n` MESSAGEs (403 each).
    pub fn refusing_inbox(&self, port: u16, n: u32) -> Running {
        self.answering("inbox_refusing.xml", port, n)
    }

    fn answering(&self, scenario_name: &str, port: u16, n: u32) -> Running {
        let log = self.log("inbox");
        let child = self
            .command(scenario_name, port, &log)
            .args(["-m", &n.to_string()])
            .spawn()
            .expect("sipp runs");
        // sipp binds its port at once; a beat so it is listening.
        std::thread::sleep(Duration::from_millis(150));
        Running {
            child: Some(child),
            log,
        }
    }

    /// `from`'s sfb client sends one MESSAGE to `to`; what it was answered.
    pub fn im(&self, from: &str, to: &str, content_type: &str, text: &str) -> Answered {
        let target = to.split('@').next().unwrap_or(to);
        let (_, log) = self
            .spawn("im.xml", from, free_port(), &[target, content_type, text])
            .finish();
        let last = log
            .iter()
            .rev()
            .find(|m| m.received && m.status().is_some());
        Answered {
            status: last.and_then(Logged::status),
            warning: last.and_then(|m| m.header("Warning")),
            start: last.map(|m| m.start.clone()).unwrap_or_default(),
        }
    }

    /// `upn`'s sfb client PUBLISHes its presence: an RPID `activity`
    /// (`busy`, `away`, or anything else for Available) and a note.
    pub fn publish(&self, upn: &str, port: u16, activity: &str, note: &str) -> bool {
        self.spawn("publish.xml", upn, port, &[activity, note])
            .finish()
            .0
    }

    /// `watcher`'s sfb client SUBSCRIBEs to `presentity` and takes
    /// `notifies` NOTIFYs after the first (then ends).
    pub fn watch(&self, watcher: &str, presentity: &str, port: u16, more: u32) -> Running {
        let target = presentity.split('@').next().unwrap_or(presentity);
        let name = match more {
            0 => "watch_once.xml",
            _ => "watch_change.xml",
        };
        self.spawn(name, watcher, port, &[target])
    }
}

/// The notes of the NOTIFYs in a log (what the PIDF shows: `Busy: note`).
pub fn notified(log: &[Logged]) -> Vec<String> {
    log.iter()
        .filter(|m| m.received && m.is("NOTIFY"))
        .map(|m| {
            let body = m.body();
            body.split_once("<note>")
                .and_then(|(_, rest)| rest.split_once("</note>"))
                .map(|(note, _)| note.to_owned())
                .unwrap_or(body)
        })
        .collect()
}

/// The MESSAGEs an inbox received: (From, Content-Type, body).
pub fn received_messages(log: &[Logged]) -> Vec<(String, String, String)> {
    // A retransmission (the server resends until it hears a 200, e.g. when
    // it sent before sipp was listening) is the same message: one per
    // Call-ID and CSeq, as a client shows it.
    let mut seen = std::collections::HashSet::new();
    log.iter()
        .filter(|m| m.received && m.is("MESSAGE"))
        .filter(|m| seen.insert((m.header("Call-ID"), m.header("CSeq"))))
        .map(|m| {
            (
                m.header("From").unwrap_or_default(),
                m.header("Content-Type").unwrap_or_default(),
                m.body(),
            )
        })
        .collect()
}

/// Polls `check` until it gives `Some` (10 s at most).
pub fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A message's delivery state to `upn`, as its sender reads it.
pub fn delivery_state(server: &Server, token: &str, chat: &str, id: i64, upn: &str) -> String {
    let answer = server.call(
        "GET",
        &format!("/v1/chats/{chat}/messages?limit=50"),
        Some(token),
        None,
    );
    let body = expect(&answer, 200);
    let list = body["value"]
        .as_array()
        .or_else(|| body["messages"].as_array())
        .or_else(|| body.as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .find(|m| m["id"] == id)
        .and_then(|m| {
            m["deliveries"]
                .as_array()?
                .iter()
                .find(|d| d["upn"] == upn)
                .map(|d| d["state"].as_str().unwrap_or_default().to_owned())
        })
        .unwrap_or_default()
}

/// Waits until the delivery of message `id` to `upn` reads `state`.
pub fn wait_delivery(
    server: &Server,
    token: &str,
    chat: &str,
    id: i64,
    upn: &str,
    state: &str,
) -> Result<(), String> {
    let mut last = String::new();
    eventually(|| {
        last = delivery_state(server, token, chat, id, upn);
        (last == state).then_some(())
    })
    .ok_or_else(|| format!("delivery of message {id} to {upn} stayed '{last}', not '{state}'"))
}

/// Fails naming every failing cell of a table (none: passes).
#[track_caller]
pub fn all_cells_pass(failures: &[String], cells: usize) {
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
