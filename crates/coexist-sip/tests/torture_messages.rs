//! RFC 4475 (torture) and RFC 5118 (IPv6 torture) messages through the
//! whole engine: each valid one handled, each invalid one answered with the
//! status the RFC asks for (400, 416, 420, 505) or dropped when it cannot be
//! answered (a malformed response), never a crash. The messages and their
//! expectations are in `tests/torture/`; `ORIGIN.md` there says where the
//! bytes come from (RFC 4475's own archive) and `SHA256SUMS` pins them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_sip::transport::Peer;
use coexist_sip::wire::{StreamFramer, parse_datagram};
use common::Lab;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture")
}

struct Case {
    name: String,
    section: String,
    expect: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let dir = dir();
    let expect = std::fs::read_to_string(dir.join("EXPECT")).unwrap();
    let cases: Vec<Case> = expect
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            let name = parts.next().unwrap().to_owned();
            let section = parts.next().unwrap().to_owned();
            let expect = parts.next().unwrap().to_owned();
            let bytes = std::fs::read(dir.join(format!("{name}.dat"))).unwrap();
            Case {
                name,
                section,
                expect,
                bytes,
            }
        })
        .collect();
    // RFC 4475's 50 archive files and 11 of RFC 5118's 12 messages.
    assert_eq!(cases.len(), 61, "the corpus is all there");
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
            "any" => true,
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

#[test]
fn the_files_are_the_bytes_recorded_in_sha256sums() {
    let sums = std::fs::read_to_string(dir().join("SHA256SUMS")).unwrap();
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(dir().join(name)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sum,
            "{name} changed (line ends rewritten?); see tests/torture/ORIGIN.md"
        );
        listed.insert(name.to_owned());
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".dat"))
        .collect();
    let expected: BTreeSet<String> = cases().iter().map(|c| format!("{}.dat", c.name)).collect();
    assert_eq!(on_disk, listed, "every .dat file has its sum");
    assert_eq!(on_disk, expected, "every .dat file has its expectation");
}

#[test]
fn what_a_retyped_copy_would_lose_is_there() {
    let read = |name: &str| std::fs::read(dir().join(format!("{name}.dat"))).unwrap();
    // CRLF line ends throughout (RFC 4475 archive).
    let wsinv = read("wsinv");
    assert!(wsinv.windows(2).filter(|w| w == b"\r\n").count() > 30);
    assert!(!wsinv.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
    // §3.1.1.2: BEL, NUL and DEL inside the To display name, and UTF-8.
    let intmeth = read("intmeth");
    for byte in [0x07, 0x00, 0x7f] {
        assert!(intmeth.contains(&byte), "intmeth lost byte {byte:#04x}");
    }
    assert!(std::str::from_utf8(&intmeth).is_ok());
    // §3.1.1.12: a UTF-8 reason phrase.
    let unreason = read("unreason");
    let status_line = unreason.split(|b| *b == b'\n').next().unwrap();
    assert!(status_line.iter().any(|b| *b > 0x7f));
    // §3.1.2.15: the archive's baddn has no blank line after its headers.
    assert!(read("baddn").ends_with(b"l: 0\r\n"));
}
