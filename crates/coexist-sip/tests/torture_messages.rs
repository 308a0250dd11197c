//! RFC 4475 (torture) and RFC 5118 (IPv6 torture) messages through the
//! whole engine: each valid one handled, each invalid one answered with the
//! status the RFC asks for (400, 416, 420, 505) or dropped when it cannot be
//! answered (a malformed response), never a crash. The messages and their
//! expectations are in `tests/torture/` (see its README for their origin).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_sip::transport::Peer;
use coexist_sip::wire::{StreamFramer, parse_datagram};
use common::Lab;
use std::path::Path;

struct Case {
    name: String,
    section: String,
    expect: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture");
    let expect = std::fs::read_to_string(dir.join("EXPECT")).unwrap();
    let cases: Vec<Case> = expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap().to_owned();
            let section = parts.next().unwrap().to_owned();
            let expect = parts.next().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(format!("{name}.sip"))).unwrap();
            Case {
                name,
                section,
                expect,
                bytes,
            }
        })
        .collect();
    assert!(cases.len() >= 45, "the corpus is all there");
    cases
}

/// Every status the engine sent back for `bytes`.
fn statuses(bytes: &[u8]) -> Vec<u16> {
    let mut lab = Lab::new();
    lab.engine.receive(
        lab.now,
        Peer::udp("192.0.2.99:5060".parse().unwrap()),
        bytes,
    );
    lab.advance(std::time::Duration::from_millis(1));
    lab.engine
        .take_output()
        .into_iter()
        .chain(lab.inbox.drain(..))
        .map(|o| {
            let m = parse_datagram(&o.bytes).expect("what we send parses");
            m.status().expect("only responses to an unknown sender")
        })
        .collect()
}

#[test]
fn rfc4475_and_rfc5118_messages_get_the_answer_the_rfcs_ask_for() {
    let mut wrong = Vec::new();
    for case in cases() {
        let got = statuses(&case.bytes);
        let ok = match case.expect.as_str() {
            "valid" if case.bytes.starts_with(b"SIP/2.0") => got.is_empty(),
            "valid" => {
                !got.is_empty() && got.iter().all(|c| ![400, 416, 420, 505, 513].contains(c))
            }
            "drop" => got.is_empty(),
            code => got == vec![code.parse::<u16>().unwrap()],
        };
        if !ok {
            wrong.push(format!(
                "{} ({}) expected {}, got {got:?}",
                case.name, case.section, case.expect
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_message_also_survives_the_tcp_framer_byte_by_byte() {
    for case in cases() {
        let mut framer = StreamFramer::default();
        for byte in &case.bytes {
            if framer.push(std::slice::from_ref(byte)).is_err() {
                break; // framing lost: the connection would be closed
            }
        }
    }
}

#[test]
fn truncations_of_every_message_never_crash_the_engine() {
    for case in cases() {
        for cut in (0..case.bytes.len()).step_by(7) {
            let _ = statuses(&case.bytes[..cut]);
        }
    }
}
