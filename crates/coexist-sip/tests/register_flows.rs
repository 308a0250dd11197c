//! REGISTER through the engine: digest (RFC 8760), expiry, un-register,
//! IP phones (R6.3), restart survival.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_sip::auth::Algorithm;
use common::{Lab, Ua};
use std::time::Duration;

#[test]
fn register_is_challenged_sha256_first_then_md5_rfc8760() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 5071);
    let r = alice.register(600);
    lab.send(alice.addr, &r);
    let challenge = lab.response(alice.addr);
    assert_eq!(challenge.status(), Some(401));
    let offers = challenge.header_values("WWW-Authenticate");
    assert_eq!(offers.len(), 2);
    assert!(offers[0].contains("algorithm=SHA-256") && offers[1].contains("algorithm=MD5"));
    // A client that only knows MD5 gets in too.
    let mut retry = r.clone();
    alice.authorize(&mut retry, &challenge, Algorithm::Md5);
    lab.send(alice.addr, &retry);
    let ok = lab.response(alice.addr);
    assert_eq!(ok.status(), Some(200));
    assert!(ok.header("Contact").unwrap().contains("expires=600"));
}

#[test]
fn wrong_password_is_challenged_again_and_repeated_failures_are_throttled() {
    let mut lab = Lab::with_config(|c| c.auth.max_failures = 3);
    let mut mallory = Ua::new("alice", 5072);
    mallory.password = "guess".into();
    for _ in 0..3 {
        let r = mallory.register(600);
        let answer = mallory.send_authorized(&mut lab, r);
        assert_eq!(answer.status(), Some(401));
    }
    let r = mallory.register(600);
    lab.send(mallory.addr, &r);
    let blocked = lab.response(mallory.addr);
    assert_eq!(blocked.status(), Some(403));
    assert!(blocked.header("Retry-After").is_some());
}

#[test]
fn a_replayed_nonce_count_is_refused_and_an_old_nonce_is_stale_rfc7616() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 5073);
    let mut r = alice.register(600);
    lab.send(alice.addr, &r);
    let challenge = lab.response(alice.addr);
    alice.authorize(&mut r, &challenge, Algorithm::Sha256);
    lab.send(alice.addr, &r);
    assert_eq!(lab.response(alice.addr).status(), Some(200));
    // Same credentials, new transaction: the nonce-count did not grow.
    let mut replay = r.clone();
    replay.set(
        "Via",
        r.top_via()
            .unwrap()
            .replace("branch=", "branch=z9hG4bKreplay"),
    );
    replay.set("CSeq", format!("{} REGISTER", alice.cseq + 5));
    lab.send(alice.addr, &replay);
    assert_eq!(lab.response(alice.addr).status(), Some(401));
    // Six minutes later the nonce is stale.
    lab.advance(Duration::from_secs(360));
    let mut late = alice.register(600);
    alice.authorize(&mut late, &challenge, Algorithm::Sha256);
    lab.send(alice.addr, &late);
    let stale = lab.response(alice.addr);
    assert_eq!(stale.status(), Some(401));
    assert!(
        stale
            .header("WWW-Authenticate")
            .unwrap()
            .contains("stale=true")
    );
}

#[test]
fn several_contacts_expire_and_unregister_rfc3261_10_3() {
    let mut lab = Lab::new();
    let _desk = Ua::new("bob", 5081).registered(&mut lab);
    let mut phone = Ua::new("bob", 5082);
    let r = phone.register(30);
    let ok = phone.send_authorized(&mut lab, r);
    assert_eq!(ok.header_values("Contact").len(), 2);
    lab.advance(Duration::from_secs(31));
    assert_eq!(
        lab.engine
            .registrar()
            .contacts("bob@contoso.test", lab.now)
            .len(),
        1
    );
    let mut desk = Ua::new("bob", 5081);
    desk.cseq = 10;
    desk.tag = "t5081b".into(); // new branches: not retransmissions of the first REGISTERs
    let r = desk.register(0);
    let ok = desk.send_authorized(&mut lab, r);
    assert_eq!(ok.status(), Some(200));
    assert!(ok.header("Contact").is_none());
    assert!(
        !lab.engine
            .registrar()
            .is_registered("bob@contoso.test", lab.now)
    );
}

#[test]
fn too_short_an_interval_is_423_with_min_expires() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 5074);
    let r = alice.register(5);
    let answer = alice.send_authorized(&mut lab, r);
    assert_eq!(answer.status(), Some(423));
    assert_eq!(answer.header("Min-Expires"), Some("10"));
}

#[test]
fn a_contact_whose_user_agent_is_a_phone_is_marked_r6_3() {
    let mut lab = Lab::new();
    let mut phone = Ua::new("carol", 5075);
    let mut r = phone.register(600);
    r.push("User-Agent", "Yealink SIP-T46S 66.86.0.15");
    assert_eq!(phone.send_authorized(&mut lab, r).status(), Some(200));
    let soft = Ua::new("carol", 5076).registered(&mut lab);
    let contacts = lab
        .engine
        .registrar()
        .contacts("carol@contoso.test", lab.now);
    let phones: Vec<bool> = contacts.iter().map(|b| b.is_phone).collect();
    assert_eq!(contacts.len(), 2);
    assert!(phones.contains(&true) && phones.contains(&false));
    let _ = soft;
}

#[test]
fn registering_someone_else_is_forbidden() {
    let mut lab = Lab::new();
    let mut alice = Ua::new("alice", 5077);
    let mut r = alice.register(600);
    r.set("To", "<sip:bob@contoso.test>");
    let answer = alice.send_authorized(&mut lab, r);
    assert_eq!(answer.status(), Some(403));
}

#[test]
fn registrations_survive_a_restart_with_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registrations.jsonl");
    let directory = coexist_sip::MemoryDirectory::new();
    directory.add("alice@contoso.test", "pw", coexist_policy::Mode::Islands);
    let config = coexist_sip::SipConfig::new(common::SERVER.parse().unwrap());
    let mut lab = Lab::new();
    lab.engine = coexist_sip::Engine::new(
        config.clone(),
        std::sync::Arc::new(directory.clone()),
        Box::new(coexist_sip::registrar::FileStore::new(&path)),
        lab.now,
    );
    let _alice = Ua::new("alice", 5078).registered(&mut lab);
    // The journal is buffered, but written before the 200 left the engine.
    let journal = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(journal.contains("alice@contoso.test"), "{journal}");
    drop(lab.engine);
    let again = coexist_sip::Engine::new(
        config,
        std::sync::Arc::new(directory),
        Box::new(coexist_sip::registrar::FileStore::new(&path)),
        common::T0 + Duration::from_secs(5),
    );
    let contacts = again
        .registrar()
        .contacts("alice@contoso.test", common::T0 + Duration::from_secs(5));
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].source.addr.port(), 5078);
}

#[test]
fn clients_known_to_stop_at_a_sha256_challenge_are_offered_md5_only() {
    let mut lab = Lab::new();
    let mut old = Ua::new("alice", 5079);
    let mut r = old.register(600);
    r.push("User-Agent", "baresip v1.0.0 (x86_64/linux)");
    lab.send(old.addr, &r);
    let challenge = lab.response(old.addr);
    let offers = challenge.header_values("WWW-Authenticate");
    assert_eq!(offers.len(), 1);
    assert!(offers[0].contains("algorithm=MD5"));
}

#[test]
fn a_user_with_notify_sfb_users_is_told_teams_replaces_sfb_on_registering_r1_4() {
    let mut lab = Lab::new();
    lab.directory.set_notify("dave@contoso.test", true);
    let dave = Ua::new("dave", 5090).registered(&mut lab);
    let notice = lab.take(dave.addr);
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].method(), Some(coexist_sip::Method::Message));
    assert!(
        notice[0]
            .header("From")
            .unwrap()
            .contains("sip:coexist@contoso.test")
    );
    assert!(String::from_utf8_lossy(&notice[0].body).contains("Teams"));
    // Others are not told.
    let alice = Ua::new("alice", 5091).registered(&mut lab);
    assert!(lab.take(alice.addr).is_empty());
}

#[test]
fn a_source_over_its_rate_gets_503_with_retry_after() {
    let mut lab = Lab::with_config(|c| c.rate_limit_per_source = 5);
    let mut alice = Ua::new("alice", 5092);
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = alice.register(600);
        lab.send(alice.addr, &r);
        codes.push(lab.response(alice.addr).status().unwrap());
    }
    assert_eq!(codes, vec![401, 401, 401, 401, 401, 503, 503]);
    lab.advance(Duration::from_secs(1));
    let r = alice.register(600);
    lab.send(alice.addr, &r);
    assert_eq!(lab.response(alice.addr).status(), Some(401));
}
