//! Sans-IO engine over the server's directory (`CoreDirectory`): a PSTN
//! call to a legacy-policy user lands by R9.1, or by their own calling
//! client with R9.2; a gateway configured by host name is known by what the
//! name resolved to (R6), and a name that does not resolve is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use coexist_core::{
    Actor, Directory, DirectoryError, ManualClock, MemoryStore, PeerFields, PeerKind, TenantFields,
    Timestamp, UserFields,
};
use coexist_policy::Client;
use coexist_sip::{CoreDirectory, Engine, EngineEvent, MemoryDirectory, Method, SipConfig};
use common::{Lab, SERVER, T0, Ua};
use std::net::SocketAddr;
use std::sync::Arc;

const SDP: &str = "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
const PASSWORD: &str = "password-1";
const NUMBER: &str = "+14255550100";

async fn open(store: Arc<MemoryStore>) -> Arc<Directory> {
    let clock = Arc::new(ManualClock::new(Timestamp(1_795_331_100_000)));
    Arc::new(Directory::open(store, clock, "admin").await.unwrap())
}

/// contoso with bob (online voice, a number, the legacy `policy`) and a
/// PSTN gateway at `gateway` (`host:port`).
async fn directory(store: Arc<MemoryStore>, policy: &str, gateway: &str) -> Arc<Directory> {
    let dir = open(store).await;
    dir.create_tenant(
        &Actor::Admin,
        TenantFields {
            name: Some("contoso".into()),
            domains: Some(vec!["contoso.test".into()]),
            ..TenantFields::default()
        },
    )
    .await
    .unwrap();
    dir.create_user(
        &Actor::Admin,
        "contoso",
        UserFields {
            upn: Some("bob@contoso.test".into()),
            password: Some(PASSWORD.into()),
            voice: Some("online".into()),
            phone_number: Some(NUMBER.into()),
            ..UserFields::default()
        },
    )
    .await
    .unwrap();
    dir.grant_interop_policy(&Actor::Admin, "bob@contoso.test", Some(policy))
        .await
        .unwrap();
    dir.put_peer(
        &Actor::Admin,
        "contoso",
        PeerKind::Pstn,
        "trunk",
        PeerFields {
            address: Some(gateway.into()),
            ..PeerFields::default()
        },
    )
    .await
    .unwrap();
    dir
}

fn lab(dir: &Arc<Directory>) -> Lab {
    let engine = Engine::new(
        SipConfig::new(SERVER.parse().unwrap()),
        Arc::new(CoreDirectory::new(dir.clone())),
        Box::new(coexist_sip::registrar::MemoryStore),
        T0,
    );
    Lab {
        engine,
        directory: MemoryDirectory::new(),
        now: T0,
        inbox: Vec::new(),
    }
}

/// bob registers from port 7011; the gateway at `from` calls his number.
/// Where it rang: `Some(Client::Sfb)` when bob's sfb client got the
/// INVITE, `Some(Client::Teams)` when the teams side did; the gateway's
/// first answer.
fn gateway_calls_bob(lab: &mut Lab, from: SocketAddr) -> (Option<Client>, Option<u16>) {
    let mut bob = Ua::new("bob", 7011);
    bob.password = PASSWORD.into();
    let bob = bob.registered(lab);
    let _ = lab.engine.take_events();
    let mut gw = Ua::new("gw", from.port());
    let uri = format!("sip:{NUMBER}@contoso.test;user=phone");
    let mut inv = gw.request("INVITE", &uri, &uri);
    inv.set("From", "<sip:+15550001@127.0.0.1;user=phone>;tag=gw1");
    inv.set_body("application/sdp", SDP);
    lab.send(from, &inv);
    let first = lab.take(from).first().and_then(|m| m.status());
    let on_sfb = lab
        .take(bob.addr)
        .iter()
        .any(|m| m.method() == Some(Method::Invite));
    let on_teams = lab.engine.take_events().iter().any(
        |e| matches!(e, EngineEvent::TeamsCall { to, pstn: true, .. } if to == "bob@contoso.test"),
    );
    let landed = match (on_sfb, on_teams) {
        (true, false) => Some(Client::Sfb),
        (false, true) => Some(Client::Teams),
        (false, false) => None,
        (true, true) => panic!("rang both clients"),
    };
    (landed, first)
}

fn gateway() -> SocketAddr {
    "127.0.0.1:7900".parse().unwrap()
}

async fn prefer(dir: &Directory, choice: Option<&str>) {
    dir.patch_user(
        &Actor::Admin,
        "bob@contoso.test",
        UserFields {
            preferred_calling_client: Some(choice.map(str::to_owned)),
            ..UserFields::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn r9_1_without_a_choice_a_pstn_call_lands_by_calling_default_and_r9_2_with_one_by_the_choice()
 {
    // CallingDefaultClient Default: PSTN → sfb (R9.1); override allowed.
    let dir = directory(
        Arc::default(),
        "AllowOverrideCallingDefaultChatTeams",
        "127.0.0.1:7900",
    )
    .await;
    let mut lab = lab(&dir);
    assert_eq!(
        gateway_calls_bob(&mut lab, gateway()),
        (Some(Client::Sfb), Some(100))
    );
    prefer(&dir, Some("teams")).await;
    let mut lab2 = self::lab(&dir);
    assert_eq!(
        gateway_calls_bob(&mut lab2, gateway()),
        (Some(Client::Teams), Some(100)),
        "R9.2: bob chose teams"
    );
    // Dropping the choice brings R9.1 back.
    prefer(&dir, None).await;
    let mut lab3 = self::lab(&dir);
    assert_eq!(gateway_calls_bob(&mut lab3, gateway()).0, Some(Client::Sfb));
}

#[tokio::test]
async fn r9_2_a_choice_is_ignored_under_a_policy_without_override_and_the_user_may_not_make_one() {
    // CallingDefaultClient SfB, no override: PSTN → sfb whatever bob chose.
    let dir = directory(
        Arc::default(),
        "DisallowOverrideCallingSfbChatSfb",
        "127.0.0.1:7900",
    )
    .await;
    prefer(&dir, Some("teams")).await;
    let mut lab = lab(&dir);
    assert_eq!(gateway_calls_bob(&mut lab, gateway()).0, Some(Client::Sfb));
    let refused = dir
        .choose_calling_client("bob@contoso.test", Some(Client::Teams))
        .await;
    assert!(
        matches!(&refused, Err(DirectoryError::Forbidden(why)) if why.contains("R9.2")),
        "{refused:?}"
    );
    // Under a policy that allows it, the user's own choice is kept.
    dir.grant_interop_policy(
        &Actor::Admin,
        "bob@contoso.test",
        Some("AllowOverrideCallingDefaultChatTeams"),
    )
    .await
    .unwrap();
    let bob = dir
        .choose_calling_client("bob@contoso.test", Some(Client::Sfb))
        .await
        .unwrap();
    assert_eq!(bob.preferred_calling_client, Some(Client::Sfb));
}

#[tokio::test]
async fn r6_a_gateway_set_by_host_name_is_known_by_its_resolved_addresses_again_after_a_restart() {
    let store = Arc::new(MemoryStore::default());
    let dir = directory(
        store.clone(),
        "DisallowOverrideCallingSfbChatSfb",
        "localhost:7900",
    )
    .await;
    let peers = dir.peers(&Actor::Admin, "contoso").unwrap();
    assert!(
        peers[0].resolved.contains(&gateway()),
        "{:?}",
        peers[0].resolved
    );
    let mut lab = lab(&dir);
    assert_eq!(gateway_calls_bob(&mut lab, gateway()).0, Some(Client::Sfb));
    // Not from the gateway's address: refused (it is not our user either).
    let elsewhere: SocketAddr = "127.0.0.1:7901".parse().unwrap();
    assert_eq!(gateway_calls_bob(&mut lab, elsewhere), (None, Some(403)));

    // A restart resolves it again (the store keeps only the name).
    dir.close().await;
    let reopened = open(store).await;
    let peers = reopened.peers(&Actor::Admin, "contoso").unwrap();
    assert_eq!(peers[0].address, "localhost:7900");
    assert!(peers[0].resolved.contains(&gateway()));
    let mut lab = self::lab(&reopened);
    assert_eq!(gateway_calls_bob(&mut lab, gateway()).0, Some(Client::Sfb));
}

#[tokio::test]
async fn r6_a_gateway_name_that_does_not_resolve_is_refused_naming_the_field() {
    let dir = directory(
        Arc::default(),
        "DisallowOverrideCallingSfbChatSfb",
        "127.0.0.1:7900",
    )
    .await;
    let refused = dir
        .put_peer(
            &Actor::Admin,
            "contoso",
            PeerKind::Pstn,
            "other",
            PeerFields {
                address: Some("gw.nowhere.invalid:5060".into()),
                ..PeerFields::default()
            },
        )
        .await;
    let Err(error) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(error.field(), Some("address"));
    assert!(error.to_string().contains("does not resolve"), "{error}");
    assert_eq!(dir.peers(&Actor::Admin, "contoso").unwrap().len(), 1);
}
