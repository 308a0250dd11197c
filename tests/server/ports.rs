//! Ports for the SIP peers a test starts (sipp, baresip), which need a
//! fixed port on their command line.
//!
//! Asking the kernel for port 0 and handing the number on is racy: the
//! port comes from the ephemeral range, where any outgoing connection of a
//! test running beside this one may take it before the peer binds it
//! (baresip failed that way in CI: it binds UDP *and* TCP on its port, and
//! a TCP connection had just taken the number). So these come from below
//! the ephemeral range (Linux: 32768–60999), chosen at random, checked
//! free for UDP and TCP, and never handed out twice by one process.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;

/// The range the ports come from: below Linux's ephemeral ports.
const LOW: u16 = 20_000;
const HIGH: u16 = 32_000;

static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Whether `port` (and the next three, which sipp takes for media) can be
/// bound on 127.0.0.1 for UDP, and `port` for TCP.
fn bindable(port: u16) -> bool {
    (port..port + 4).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok())
        && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port free for UDP and TCP right now, that no test has been given.
pub fn free_port() -> u16 {
    let random = RandomState::new();
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    for attempt in 0u64.. {
        let span = u64::from(HIGH - LOW);
        let port = LOW + u16::try_from(random.hash_one(attempt) % span).unwrap_or(0);
        // Spaced by four so the media ports of one sipp never overlap the
        // next one's signalling port.
        let port = port - port % 4;
        if given.contains(&port) || !bindable(port) {
            continue;
        }
        given.insert(port);
        return port;
    }
    unreachable!("the loop returns")
}
