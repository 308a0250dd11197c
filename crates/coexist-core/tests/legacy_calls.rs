//! The teams side routes calls to a legacy-policy user by R9.1/R9.2 (not by
//! R3 alone): placing, forwarding, and calls from sfb; explain's
//! `legacy_calls.call` says the same as the call that is placed. Chats to
//! that user keep R3 (R9.3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod teams_world;

use coexist_core::teams::{CallRequest, ChatRequest, TargetRequest};
use coexist_core::{Actor, UserFields};
use coexist_policy::Client;
use std::time::Duration;
use teams_world::World;

const ALICE: &str = "alice@contoso.test";
const DAVE: &str = "dave@contoso.test";
const RITA: &str = "rita@contoso.test";

/// The teams world (alice and dave in Islands) with rita, Islands too.
async fn world() -> World {
    let world = teams_world::world(Duration::from_secs(300)).await;
    let rita = UserFields {
        upn: Some(RITA.into()),
        ..UserFields::default()
    };
    let directory = world.teams.directory();
    directory
        .create_user(&Actor::Admin, "contoso", rita)
        .await
        .unwrap();
    world
}

/// rita holds the legacy policy `policy` (R9).
async fn rita_holds(world: &World, policy: &str) {
    let directory = world.teams.directory();
    directory
        .grant_interop_policy(&Actor::Admin, RITA, Some(policy))
        .await
        .unwrap();
}

/// rita's own calling client (R9.2).
async fn rita_chooses(world: &World, client: Option<Client>) {
    let directory = world.teams.directory();
    directory.choose_calling_client(RITA, client).await.unwrap();
}

/// `from` calls `to` from teams.
async fn place(world: &World, from: &str, to: &str) -> coexist_core::teams::Call {
    let request = CallRequest {
        to: to.into(),
        sdp: "v=0 offer".into(),
        chat_id: None,
    };
    world.teams.place_call(from, request).await.unwrap()
}

/// Where explain says a call from `from`'s `client` to rita lands.
fn explained(world: &World, from: &str, client: Client) -> serde_json::Value {
    let view = world
        .teams
        .directory()
        .explain(&Actor::Admin, from, client, RITA)
        .unwrap();
    view["legacy_calls"]["call"].clone()
}

/// The calls the sfb side was asked to ring.
fn rung_on_sfb(world: &World) -> Vec<String> {
    world
        .port
        .handed()
        .into_iter()
        .filter(|l| l.starts_with("call to "))
        .collect()
}

#[tokio::test]
async fn r9_1_a_teams_call_to_a_calling_sfb_user_goes_to_their_sfb_client_as_explain_says() {
    let world = world().await;
    // R3 (1a): alice on teams → rita (Islands) rings rita's teams.
    let native = place(&world, ALICE, RITA).await;
    assert_eq!(native.to_client, Some(Client::Teams));
    assert!(rung_on_sfb(&world).is_empty());

    rita_holds(&world, "DisallowOverrideCallingSfbChatSfb").await;
    let call = place(&world, ALICE, RITA).await;
    assert_eq!(call.to_client, Some(Client::Sfb));
    assert_eq!(call.method.as_str(), "interop");
    assert_eq!(
        rung_on_sfb(&world),
        [format!("call to {RITA} from {ALICE}")]
    );
    let said = explained(&world, ALICE, Client::Teams);
    assert_eq!(said["lands_on"], "sfb");
    assert_eq!(said["method"], "interop");
    assert_eq!(said["rules"], serde_json::json!(["R9.1", "R3.3"]));

    // R3.6 forwarding goes the same way: dave forwards alice's call to rita.
    let to_dave = place(&world, ALICE, DAVE).await;
    let forwarded = world
        .teams
        .forward_call(DAVE, &to_dave.id, TargetRequest { to: RITA.into() })
        .await
        .unwrap();
    assert_eq!(forwarded.to_client, Some(Client::Sfb));

    // R9.3: a chat to rita is still routed by R3 (lands on teams, native).
    let (chat, _) = world
        .teams
        .create_chat(
            ALICE,
            ChatRequest {
                members: vec![RITA.into()],
                topic: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(chat.method.as_str(), "native");
}

#[tokio::test]
async fn r9_1_an_sfb_call_to_a_calling_teams_user_rings_their_teams_client() {
    let world = world().await;
    // R3 (1a): dave on sfb → rita lands on sfb: not the teams side's call.
    let from_sfb = || {
        world
            .teams
            .place_call_from_sfb(DAVE, RITA, "v=0 offer".into())
    };
    assert!(from_sfb().await.is_err());
    rita_holds(&world, "DisallowOverrideCallingTeamsChatTeams").await;
    let call = from_sfb().await.unwrap();
    assert_eq!(
        (call.from_client, call.to_client),
        (Client::Sfb, Some(Client::Teams))
    );
    assert_eq!(call.method.as_str(), "interop");
    assert_eq!(explained(&world, DAVE, Client::Sfb)["lands_on"], "teams");
}

#[tokio::test]
async fn r9_2_ritas_own_calling_client_flips_where_calls_land_and_explain_follows() {
    let world = world().await;
    rita_holds(&world, "AllowOverrideCallingDefaultChatTeams").await;
    // CallingDefaultClient Default: a teams caller reaches teams.
    assert_eq!(
        place(&world, ALICE, RITA).await.to_client,
        Some(Client::Teams)
    );
    rita_chooses(&world, Some(Client::Sfb)).await;
    let call = place(&world, ALICE, RITA).await;
    assert_eq!(call.to_client, Some(Client::Sfb));
    let said = explained(&world, ALICE, Client::Teams);
    assert_eq!(said["lands_on"], "sfb");
    assert_eq!(said["rules"][0], "R9.2");
    // Her choice of teams: an sfb caller now rings her teams client.
    rita_chooses(&world, Some(Client::Teams)).await;
    let call = world
        .teams
        .place_call_from_sfb(DAVE, RITA, "v=0 offer".into())
        .await
        .unwrap();
    assert_eq!(call.to_client, Some(Client::Teams));
    assert_eq!(explained(&world, DAVE, Client::Sfb)["lands_on"], "teams");
}
