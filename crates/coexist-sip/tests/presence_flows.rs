//! Presence through the engine: PUBLISH (RFC 3903), SUBSCRIBE/NOTIFY
//! (RFC 3856) with PIDF (RFC 3863); what an sfb watcher sees follows R7.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_policy::{Availability, Mode};
use coexist_sip::presence::{parse_pidf, pidf};
use coexist_sip::{Method, SipMessage};
use common::{Lab, Ua};
use std::time::Duration;

fn subscribe(lab: &mut Lab, watcher: &mut Ua, presentity: &str, expires: u32) -> SipMessage {
    let mut sub = watcher.request(
        "SUBSCRIBE",
        &format!("sip:{presentity}"),
        &format!("sip:{presentity}"),
    );
    sub.push("Event", "presence");
    sub.push("Accept", "application/pidf+xml");
    sub.push("Expires", expires.to_string());
    let ok = watcher.send_authorized(lab, sub);
    assert_eq!(ok.status(), Some(200), "{ok}");
    ok
}

fn publish(lab: &mut Lab, ua: &mut Ua, availability: Availability) -> SipMessage {
    let mut publish = ua.request(
        "PUBLISH",
        &format!("sip:{}", ua.upn),
        &format!("sip:{}", ua.upn),
    );
    publish.push("Event", "presence");
    publish.push("Expires", "600");
    publish.set_body("application/pidf+xml", pidf(&ua.upn, availability, None));
    ua.send_authorized(lab, publish)
}

/// The availabilities NOTIFYed to `ua` so far (answered 200).
fn notified(lab: &mut Lab, ua: &Ua) -> Vec<Availability> {
    let mut seen = Vec::new();
    for m in lab.take(ua.addr) {
        if m.method() == Some(Method::Notify) {
            assert_eq!(m.header("Event"), Some("presence"));
            seen.push(parse_pidf(&String::from_utf8_lossy(&m.body)).unwrap().0);
            ua.answer(lab, &m, 200, "OK");
        }
    }
    seen
}

#[test]
fn a_subscription_gets_an_immediate_notify_then_one_per_change_rfc3856() {
    let mut lab = Lab::new();
    let mut bob = Ua::new("bob", 8011).registered(&mut lab);
    let mut alice = Ua::new("alice", 8001).registered(&mut lab);
    subscribe(&mut lab, &mut alice, "bob@contoso.test", 600);
    // Registered and nothing published: Available.
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Available]);
    let ok = publish(&mut lab, &mut bob, Availability::Busy);
    assert_eq!(ok.status(), Some(200));
    assert!(ok.header("SIP-ETag").is_some());
    // Within a second of the first NOTIFY: the change waits for the second to pass.
    assert!(notified(&mut lab, &alice).is_empty());
    lab.advance(Duration::from_millis(1000));
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Busy]);
}

#[test]
fn at_most_one_notify_per_second_per_watcher_the_last_state_wins() {
    let mut lab = Lab::new();
    let mut bob = Ua::new("bob", 8012).registered(&mut lab);
    let mut alice = Ua::new("alice", 8002).registered(&mut lab);
    subscribe(&mut lab, &mut alice, "bob@contoso.test", 600);
    notified(&mut lab, &alice);
    lab.advance(Duration::from_secs(2));
    publish(&mut lab, &mut bob, Availability::Busy);
    publish(&mut lab, &mut bob, Availability::Away);
    publish(&mut lab, &mut bob, Availability::DoNotDisturb);
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Busy]);
    lab.advance(Duration::from_millis(1100));
    assert_eq!(notified(&mut lab, &alice), vec![Availability::DoNotDisturb]);
}

#[test]
fn a_presentity_with_no_live_endpoint_reads_offline_r7_3() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 8003).registered(&mut lab);
    subscribe(&mut lab, &mut alice, "carol@contoso.test", 600);
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Offline]);
    let _carol = Ua::new("carol", 8013).registered(&mut lab);
    lab.advance(Duration::from_millis(1000));
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Available]);
}

#[test]
fn an_sfb_watcher_sees_the_teams_presence_of_a_teams_only_user_r7() {
    let mut lab = Lab::new();
    let mut bob = Ua::new("bob", 8014).registered(&mut lab);
    publish(&mut lab, &mut bob, Availability::Busy);
    lab.directory.set_mode("bob@contoso.test", Mode::TeamsOnly);
    let now = lab.now;
    lab.engine
        .set_teams_presence(now, "bob@contoso.test", Availability::Away, None);
    let mut alice = Ua::new("alice", 8004).registered(&mut lab);
    subscribe(&mut lab, &mut alice, "bob@contoso.test", 600);
    // Table 3, watcher sfb, publisher TeamsOnly: teams presence.
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Away]);
    lab.advance(Duration::from_secs(2));
    let now = lab.now;
    lab.engine
        .set_teams_presence(now, "bob@contoso.test", Availability::Available, None);
    lab.advance(Duration::from_millis(1));
    assert_eq!(notified(&mut lab, &alice), vec![Availability::Available]);
    // Bob's sfb publications no longer show (Table 3: teams).
    lab.advance(Duration::from_secs(2));
    publish(&mut lab, &mut bob, Availability::DoNotDisturb);
    assert!(notified(&mut lab, &alice).is_empty());
}

#[test]
fn subscriptions_expire_with_a_terminated_notify_rfc6665() {
    let mut lab = Lab::new();
    let _bob = Ua::new("bob", 8015).registered(&mut lab);
    let mut alice = Ua::new("alice", 8005).registered(&mut lab);
    subscribe(&mut lab, &mut alice, "bob@contoso.test", 60);
    notified(&mut lab, &alice);
    assert_eq!(lab.engine.presence().subscriptions(), 1);
    lab.advance(Duration::from_secs(61));
    // One final NOTIFY (retransmitted over UDP until answered or Timer F).
    let last = lab.take(alice.addr);
    assert!(!last.is_empty());
    assert!(last.iter().all(|m| {
        m.cseq() == last[0].cseq()
            && m.header("Subscription-State")
                .unwrap()
                .starts_with("terminated")
    }));
    assert_eq!(lab.engine.presence().subscriptions(), 0);
}

#[test]
fn publishing_someone_elses_presence_is_forbidden_and_other_events_are_489() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 8006).registered(&mut lab);
    let mut p = alice.request("PUBLISH", "sip:bob@contoso.test", "sip:bob@contoso.test");
    p.push("Event", "presence");
    p.set_body(
        "application/pidf+xml",
        pidf("bob@contoso.test", Availability::Busy, None),
    );
    assert_eq!(alice.send_authorized(&mut lab, p).status(), Some(403));
    let mut s = alice.request("SUBSCRIBE", "sip:bob@contoso.test", "sip:bob@contoso.test");
    s.push("Event", "dialog");
    lab.send(alice.addr, &s);
    let bad = lab.response(alice.addr);
    assert_eq!(bad.status(), Some(489));
    assert_eq!(bad.header("Allow-Events"), Some("presence"));
}
