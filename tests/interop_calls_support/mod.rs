//! Real clients for the call tests across clients (issue 6): the teams
//! client over HTTP and the WebSocket (`teams_support`), sfb clients and a
//! PSTN gateway as sipp processes running `tests/sipp/*.xml` (each checks
//! what it receives with `check_it` regexps: a mismatch fails sipp, and
//! its message log is printed).
#![allow(dead_code)]

use crate::server::{Answer, Server, expect, grant, user};
use crate::teams_support::Events;
use crate::teams_support::PASSWORD;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const DOMAIN: &str = "contoso.test";
/// The teams caller's offer and the teams callee's answer (markers the sipp
/// scenarios look for).
pub const OFFER: &str = "v=0\r\no=teamscaller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
pub const ANSWER: &str = "v=0\r\no=teamsanswer 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

fn bench_scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench/sipp")
        .join(name)
}

pub use crate::server::free_port;

/// sipp against one server.
pub struct Sipp {
    sip: String,
    dir: PathBuf,
    counter: AtomicU32,
}

/// A sipp process and its message log.
pub struct Running {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Running {
    /// Waits (30 s at most) for it to end; panics with its log unless it
    /// succeeded.
    #[track_caller]
    pub fn succeeds(mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for sipp") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if status.is_some_and(|s| s.success()) {
            if std::env::var_os("CX_SIPP_LOGS").is_some() {
                eprintln!("{}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            return;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "sipp {} failed ({status:?}); its messages:\n{log}",
            self.what
        );
    }
}

impl Sipp {
    /// sipp for `server`, working in `dir`.
    pub fn new(server: &Server, dir: &Path) -> Sipp {
        let sip = server
            .banner
            .last()
            .and_then(|line| line.split(' ').find_map(|p| p.strip_prefix("sip=")))
            .expect("sip= in the listening line")
            .to_owned();
        Sipp {
            sip,
            dir: dir.to_owned(),
            counter: AtomicU32::new(0),
        }
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// `USER;DOMAIN;[authentication …];TARGET`.
    fn inject(&self, upn: &str, target: &str) -> PathBuf {
        let user = upn.split('@').next().unwrap_or(upn);
        let path = self.dir.join(format!("{user}-{}.csv", self.next()));
        std::fs::write(
            &path,
            format!(
                "SEQUENTIAL\n{user};{DOMAIN};[authentication username={upn} password={PASSWORD}];{target}\n"
            ),
        )
        .expect("injection file");
        path
    }

    fn run(
        &self,
        file: PathBuf,
        port: u16,
        inf: Option<PathBuf>,
        keys: &[(&str, &str)],
    ) -> Running {
        let what = file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = self.dir.join(format!("{what}-{}.log", self.next()));
        let mut command = Command::new("sipp");
        command
            .arg(&self.sip)
            .arg("-sf")
            .arg(&file)
            .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-nostdin"])
            .args(["-timeout", "25s", "-mp", &free_port().to_string()])
            .args(["-m", "1", "-trace_msg", "-message_file"])
            .arg(&log)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(inf) = inf {
            command.arg("-inf").arg(inf);
        }
        for (key, value) in keys {
            command.args(["-key", key, value]);
        }
        let child = command
            .spawn()
            .expect("sipp runs (Debian package sip-tester)");
        Running { child, log, what }
    }

    /// Registers `upn`'s sfb client at 127.0.0.1:`port`.
    #[track_caller]
    pub fn register(&self, upn: &str, port: u16) {
        let inf = self.inject(upn, upn);
        self.run(bench_scenario("register.xml"), port, Some(inf), &[])
            .succeeds();
    }

    /// Registers `upn`'s SfB IP phone (a Polycom User-Agent, R6.3) at
    /// 127.0.0.1:`port`.
    #[track_caller]
    pub fn register_phone(&self, upn: &str, port: u16) {
        let inf = self.inject(upn, upn);
        self.run(scenario("register_phone.xml"), port, Some(inf), &[])
            .succeeds();
    }

    /// An sfb client answering at `port` (registered there) with a
    /// `tests/sipp` UAS scenario.
    pub fn callee(&self, name: &str, port: u16, keys: &[(&str, &str)]) -> Running {
        let running = self.run(scenario(name), port, None, keys);
        // sipp binds its port at once; a beat so it is listening.
        std::thread::sleep(Duration::from_millis(200));
        running
    }

    /// `upn`'s sfb client calling `target` (a user's local part, or a
    /// number) with a `tests/sipp` UAC scenario.
    pub fn caller(&self, name: &str, upn: &str, target: &str, keys: &[(&str, &str)]) -> Running {
        let inf = self.inject(upn, target);
        self.run(scenario(name), free_port(), Some(inf), keys)
    }

    /// A PSTN gateway at `port` calling in (no credentials).
    pub fn gateway(&self, name: &str, port: u16, keys: &[(&str, &str)]) -> Running {
        let inf = self.inject("gateway@contoso.test", "-");
        self.run(scenario(name), port, Some(inf), keys)
    }
}

/// `POST /v1/calls`.
pub fn place(s: &Server, token: &str, to: &str) -> Answer {
    s.call(
        "POST",
        "/v1/calls",
        Some(token),
        Some(json!({"to": to, "sdp": OFFER})),
    )
}

/// `POST /v1/calls/{id}/{action}`.
pub fn act(s: &Server, token: &str, id: &str, action: &str, body: Value) -> Answer {
    s.call(
        "POST",
        &format!("/v1/calls/{id}/{action}"),
        Some(token),
        Some(body),
    )
}

/// The id of a call just placed (201).
#[track_caller]
pub fn call_id(answer: &Answer) -> String {
    expect(answer, 201)["id"]
        .as_str()
        .expect("a call id")
        .to_owned()
}

/// The next `call` event with this change (about `id`, when given): the call.
#[track_caller]
pub fn until(events: &mut Events, id: Option<&str>, change: &str) -> Value {
    loop {
        let event = events.next_of("call");
        if event["change"] == change && id.is_none_or(|id| event["call"]["id"] == id) {
            return event["call"].clone();
        }
    }
}

/// Waits for call `id` to connect with the sfb callee's SDP answer (the
/// `tests/sipp` UAS scenarios answer with `o=sfbcallee`): the call.
#[track_caller]
pub fn connected_to_sfb(events: &mut Events, id: &str) -> Value {
    let connected = until(events, Some(id), "connected");
    let answer = connected["answer_sdp"].as_str().unwrap_or_default();
    assert!(answer.contains("o=sfbcallee"), "{connected}");
    connected
}

/// The id of the next call that rings here.
#[track_caller]
pub fn incoming(events: &mut Events) -> String {
    until(events, None, "incoming")["id"]
        .as_str()
        .expect("a call id")
        .to_owned()
}

/// `action` on call `id` as `token`, which must succeed (200).
#[track_caller]
pub fn done(s: &Server, token: &str, id: &str, action: &str, body: Value) -> Value {
    expect(&act(s, token, id, action, body), 200).clone()
}

/// A new contoso user with `policy` granted (and the test password).
pub fn person(s: &Server, upn: &str, policy: &str) {
    user(s, "contoso", upn, json!({"password": PASSWORD}));
    expect(&grant(s, upn, json!(policy)), 200);
}
