//! Server-transaction timers as the queues of `timers.rs` keep them.

use super::*;
use crate::wire::parse_datagram;

fn peer() -> Peer {
    Peer::udp(([127, 0, 0, 1], 5070).into())
}

fn request(method: &str, branch: &str) -> SipMessage {
    let text = format!(
        "{method} sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK{branch}\r\nFrom: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: {branch}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match parse_datagram(text.as_bytes()) {
        Ok(message) => message,
        Err(error) => unreachable!("{error:?}"),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Server transactions with one, for a new `method` request at 0 s.
fn one_new(method: &str, branch: &str) -> (ServerTransactions, SipMessage) {
    let mut s = ServerTransactions::new(TimerValues::default());
    let r = request(method, branch);
    assert_eq!(s.on_request(ms(0), &r, peer()), Arrival::New);
    (s, r)
}

/// A new transaction for `request`, answered `code` at `now`.
fn answered(s: &mut ServerTransactions, now: Duration, request: &SipMessage, code: u16) {
    assert_eq!(s.on_request(now, request, peer()), Arrival::New);
    let response = request.response(code, "X", Some("t"));
    assert!(s.respond(now, request, &response).is_some());
    s.arm();
}

#[test]
fn a_transaction_answered_after_the_clock_stepped_back_ends_on_its_own_timer_j_rfc3261_17_2_2() {
    let mut s = ServerTransactions::new(TimerValues::default());
    answered(&mut s, ms(100_000), &request("MESSAGE", "before"), 200);
    // The wall clock steps back 50 s; the next answer's Timer J must not
    // wait behind the first one's.
    answered(&mut s, ms(50_000), &request("MESSAGE", "after"), 200);
    assert_eq!(s.next_timeout(), Some(ms(82_000)));
    s.poll(ms(82_000));
    assert_eq!(s.len(), 1);
    // The first is not lost either.
    s.poll(ms(131_999));
    assert_eq!(s.len(), 1);
    s.poll(ms(132_000));
    assert!(s.is_empty());
}

#[test]
fn a_transaction_answered_late_outlives_its_wait_for_the_answer_rfc3261_17_2_2() {
    let (mut s, r) = one_new("MESSAGE", "late");
    s.arm(); // unanswered: ends after 128·T1 = 64 s unless answered
    let ok = r.response(200, "OK", Some("t"));
    let sent = s.respond(ms(40_000), &r, &ok).map(|out| out.bytes);
    // The 64 s timer falls due, but Timer J (40 s + 32 s) keeps it.
    s.poll(ms(64_000));
    assert_eq!(s.len(), 1);
    match s.on_request(ms(65_000), &r, peer()) {
        Arrival::Retransmission(again) => assert_eq!(again.map(|out| out.bytes), sent),
        other => unreachable!("{other:?}"),
    }
    s.poll(ms(72_000));
    assert!(s.is_empty());
}

#[test]
fn a_provisional_answer_still_ends_if_no_final_one_comes_rfc3261_17_2_1() {
    let (mut s, invite) = one_new("INVITE", "ringing");
    let ringing = invite.response(180, "Ringing", Some("t"));
    assert!(s.respond(ms(0), &invite, &ringing).is_some());
    s.arm();
    assert!(s.poll(ms(63_999)).is_empty());
    assert_eq!(s.len(), 1);
    s.poll(ms(64_000));
    assert!(s.is_empty());
}

#[test]
fn the_ack_of_a_2xx_stops_its_retransmissions_and_ends_the_transaction_rfc3261_13_3_1_4() {
    let mut s = ServerTransactions::new(TimerValues::default());
    let invite = request("INVITE", "answered");
    answered(&mut s, ms(0), &invite, 200);
    assert_eq!(s.poll(ms(500)).len(), 1); // Timer G
    s.acked_2xx(&invite);
    // Before the next retransmission (1 500 ms) would have been due.
    assert!(s.poll(ms(600)).is_empty());
    assert!(s.is_empty());
}

#[test]
fn the_table_and_the_timers_give_their_memory_back_once_transactions_end() {
    let mut s = ServerTransactions::new(TimerValues::default());
    for n in 0..3_000 {
        answered(&mut s, ms(n), &request("REGISTER", &n.to_string()), 200);
    }
    assert!(s.txns.capacity() >= 3_000);
    s.poll(ms(3_000 + 32_000));
    assert!(s.is_empty());
    assert_eq!(s.txns.capacity(), 0);
    assert_eq!(s.wakeups.next(), None);
    assert!(s.wakeups.capacities().all(|capacity| capacity == 0));
}
