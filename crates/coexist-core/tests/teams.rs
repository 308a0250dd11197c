//! The teams side over the in-memory stores and a manual clock: what the
//! HTTP tests cannot see — what is handed to the sfb delivery port, the
//! delivery state it reports back, and the safety net's timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod teams_world;

use coexist_core::teams::model::DeliveryState;
use coexist_core::teams::{
    AnswerRequest, BodyRequest, CallRequest, ChatRequest, MessageRequest, PresenceRequest,
    SfbCallProgress,
};
use coexist_core::{Actor, TeamsConfig};
use coexist_policy::UpgradePolicy;
use std::time::Duration;
use teams_world::{World, world};

/// What the safety net handed to the sfb side.
fn notices(world: &World) -> Vec<String> {
    world
        .port
        .handed()
        .into_iter()
        .filter(|line| line.starts_with("notice"))
        .collect()
}

fn text(content: &str) -> MessageRequest {
    MessageRequest {
        body: BodyRequest {
            content_type: None,
            content: content.into(),
        },
        attachments: Vec::new(),
    }
}

async fn chat(world: &World, from: &str, to: &str) -> String {
    let request = ChatRequest {
        members: vec![to.into()],
        topic: None,
    };
    world.teams.create_chat(from, request).await.unwrap().0.id
}

#[tokio::test]
async fn messages_landing_on_sfb_go_to_the_delivery_port_and_its_report_reaches_the_sender() {
    let world = world(Duration::from_secs(300)).await;
    let id = chat(&world, "alice@contoso.test", "carol@contoso.test").await;
    let sent = world
        .teams
        .post_message("alice@contoso.test", &id, text("hi carol"))
        .await
        .unwrap();
    assert_eq!(sent.deliveries[0].state, DeliveryState::Pending);
    assert_eq!(
        world.port.handed(),
        [format!("message to carol@contoso.test in {id}")]
    );
    // The sfb side reports: the sender sees it in the stored message and
    // as an event.
    let (_conn, mut live) = world.teams.connect("alice@contoso.test").await;
    let updated = world
        .teams
        .record_sfb_delivery(sent.id, "carol@contoso.test", DeliveryState::Delivered)
        .await
        .unwrap();
    assert_eq!(updated.deliveries[0].state, DeliveryState::Delivered);
    let stored = world
        .teams
        .messages("alice@contoso.test", &id, None, 10)
        .await
        .unwrap();
    assert_eq!(stored[0].deliveries[0].state, DeliveryState::Delivered);
    let event = live.recv().await.unwrap();
    assert!(event.payload.contains("\"change\":\"delivery\""));
    // Only a recipient on sfb has an sfb delivery to report.
    assert!(
        world
            .teams
            .record_sfb_delivery(sent.id, "dave@contoso.test", DeliveryState::Failed)
            .await
            .is_err()
    );
}

/// Nothing lost (issue 6): what was pending for an sfb user before a
/// restart is handed over again when they register after it. The teams
/// side keeps in memory who may have something pending, so that other
/// registrations skip the store; this fails if that set is not loaded
/// from the store at start.
#[tokio::test]
async fn nothing_lost_a_delivery_pending_before_a_restart_is_retried_after_it() {
    let mut world = world(Duration::from_secs(300)).await;
    let id = chat(&world, "alice@contoso.test", "carol@contoso.test").await;
    world
        .teams
        .post_message("alice@contoso.test", &id, text("while you were away"))
        .await
        .unwrap();
    let port = world.restart().await;
    assert!(port.handed().is_empty());
    assert!(world.teams.may_have_pending_sfb("carol@contoso.test"));
    assert!(!world.teams.may_have_pending_sfb("dave@contoso.test"));
    // carol registers.
    let retried = world
        .teams
        .retry_sfb_deliveries("carol@contoso.test")
        .await
        .unwrap();
    assert_eq!(retried, 1);
    assert_eq!(
        port.handed(),
        [format!("message to carol@contoso.test in {id}")]
    );
}

/// Nothing lost, cheaply: a user is retried while something may be
/// pending for them (marked when the message is committed); once a retry
/// finds nothing (delivered meanwhile) they leave the set, and their next
/// message puts them back.
#[tokio::test]
async fn nothing_lost_a_user_leaves_the_retry_set_only_once_nothing_is_pending() {
    let world = world(Duration::from_secs(300)).await;
    let carol = "carol@contoso.test";
    assert!(!world.teams.may_have_pending_sfb(carol));
    assert_eq!(world.teams.retry_sfb_deliveries(carol).await.unwrap(), 0);
    let id = chat(&world, "alice@contoso.test", carol).await;
    let first = world
        .teams
        .post_message("alice@contoso.test", &id, text("one"))
        .await
        .unwrap();
    assert!(world.teams.may_have_pending_sfb(carol));
    // Unanswered: still pending, retried, still in the set.
    assert_eq!(world.teams.retry_sfb_deliveries(carol).await.unwrap(), 1);
    assert!(world.teams.may_have_pending_sfb(carol));
    world
        .teams
        .record_sfb_delivery(first.id, carol, DeliveryState::Delivered)
        .await
        .unwrap();
    assert_eq!(world.teams.retry_sfb_deliveries(carol).await.unwrap(), 0);
    assert!(!world.teams.may_have_pending_sfb(carol));
    world
        .teams
        .post_message("alice@contoso.test", &id, text("two"))
        .await
        .unwrap();
    assert!(world.teams.may_have_pending_sfb(carol));
    assert_eq!(world.teams.retry_sfb_deliveries(carol).await.unwrap(), 1);
}

#[tokio::test]
async fn safety_net_notices_wait_for_the_quiet_time_and_skip_a_repeat_of_the_same_thread() {
    let world = world(Duration::from_secs(60)).await;
    let to_dave = chat(&world, "alice@contoso.test", "dave@contoso.test").await;
    // dave was on teams a moment ago: no notice yet.
    let (conn, _live) = world.teams.connect("dave@contoso.test").await;
    world.teams.disconnect("dave@contoso.test", conn).await;
    world.clock.advance(30_000);
    world
        .teams
        .post_message("alice@contoso.test", &to_dave, text("one"))
        .await
        .unwrap();
    assert!(notices(&world).is_empty());
    // Quiet for longer than notice_after: one notice to his sfb, no body.
    world.clock.advance(31_000);
    for body in ["two", "three"] {
        world
            .teams
            .post_message("alice@contoso.test", &to_dave, text(body))
            .await
            .unwrap();
    }
    assert_eq!(
        notices(&world),
        [format!(
            "notice to dave@contoso.test from alice@contoso.test in {to_dave}"
        )]
    );
    // Another thread may notice again, and then the first one again.
    let group = world
        .teams
        .create_chat(
            "alice@contoso.test",
            ChatRequest {
                members: vec!["dave@contoso.test".into()],
                topic: Some("plans".into()),
            },
        )
        .await
        .unwrap()
        .0
        .id;
    world
        .teams
        .post_message("alice@contoso.test", &group, text("four"))
        .await
        .unwrap();
    world
        .teams
        .post_message("alice@contoso.test", &to_dave, text("five"))
        .await
        .unwrap();
    assert_eq!(notices(&world).len(), 3);
}

#[tokio::test]
async fn a_token_stops_working_when_it_expires() {
    let world = world(Duration::from_secs(300)).await;
    let (token, expires_in) = world
        .teams
        .log_in("alice@contoso.test", "Pass-word-1", None)
        .await
        .unwrap();
    assert_eq!(expires_in, TeamsConfig::default().token_ttl.as_secs());
    assert_eq!(
        world.teams.authenticate(&token).as_deref(),
        Some("alice@contoso.test")
    );
    world
        .clock
        .advance(i64::try_from(expires_in).unwrap() * 1000 - 1);
    assert!(world.teams.authenticate(&token).is_some());
    world.clock.advance(1);
    assert_eq!(world.teams.authenticate(&token), None);
}

#[tokio::test]
async fn sfb_entry_points_an_im_lands_in_a_kept_thread_and_calls_meet_across_the_port() {
    let world = world(Duration::from_secs(300)).await;
    // carol (SfBOnly) writes from sfb to alice (Islands): lands on alice's
    // sfb (R3.1: Islands in-tenant, the client used), so not teams' to take.
    assert!(
        world
            .teams
            .receive_sfb_message("carol@contoso.test", "alice@contoso.test", "hi")
            .await
            .is_err()
    );
    // alice → TeamsOnly: now it lands on her teams (interop), in one thread.
    world
        .teams
        .directory()
        .grant_user_policy(
            &Actor::Admin,
            "alice@contoso.test",
            Some(UpgradePolicy::UpgradeToTeams),
        )
        .await
        .unwrap();
    let (_conn, mut live) = world.teams.connect("alice@contoso.test").await;
    let first = world
        .teams
        .receive_sfb_message("carol@contoso.test", "alice@contoso.test", "hello from sfb")
        .await
        .unwrap();
    let second = world
        .teams
        .receive_sfb_message("carol@contoso.test", "alice@contoso.test", "again")
        .await
        .unwrap();
    assert_eq!(first.chat_id, second.chat_id);
    let chat = world
        .teams
        .chat("alice@contoso.test", &first.chat_id)
        .await
        .unwrap();
    assert_eq!(chat.method.as_str(), "interop");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = live.recv().await.unwrap();
        if event.payload.contains("\"type\":\"message\"") {
            seen.push(event.payload.clone());
        }
    }
    assert!(seen[0].contains("hello from sfb") && seen[1].contains("again"));

    // A call from carol's sfb rings alice's teams; her answer goes back
    // through the port.
    let call = world
        .teams
        .place_call_from_sfb(
            "carol@contoso.test",
            "alice@contoso.test",
            "v=0 offer".into(),
        )
        .await
        .unwrap();
    world
        .teams
        .answer_call(
            "alice@contoso.test",
            &call.id,
            AnswerRequest {
                sdp: "v=0 answer".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        world
            .port
            .handed()
            .contains(&format!("call {} Connected", call.id))
    );

    // alice calls carol's sfb: the sfb side reports the answer.
    let out = world
        .teams
        .place_call(
            "alice@contoso.test",
            CallRequest {
                to: "carol@contoso.test".into(),
                sdp: "v=0 offer".into(),
                chat_id: None,
            },
        )
        .await
        .unwrap();
    let answered = world
        .teams
        .record_sfb_call(
            &out.id,
            SfbCallProgress::Answered {
                sdp: "v=0 sfb".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(answered.answer_sdp.as_deref(), Some("v=0 sfb"));
    let ended = world
        .teams
        .record_sfb_call(&out.id, SfbCallProgress::Ended)
        .await
        .unwrap();
    assert_eq!(ended.end_reason.as_deref(), Some("hangup"));
    assert!(
        world
            .teams
            .record_sfb_call(&out.id, SfbCallProgress::Ended)
            .await
            .is_err()
    );

    // Teams presence reaches the sfb side.
    world
        .teams
        .set_presence(
            "alice@contoso.test",
            PresenceRequest {
                availability: "Busy".into(),
                activity: None,
                note: None,
            },
        )
        .await
        .unwrap();
    assert!(
        world
            .port
            .handed()
            .contains(&"presence of alice@contoso.test: Busy".to_owned())
    );
}

/// Ended calls do not stay in memory for ever: readable for a minute after
/// they end (late reports from the sfb side get "has ended"), dropped once
/// another call ends after that.
#[tokio::test]
async fn an_ended_call_is_kept_a_minute_then_dropped_from_memory() {
    let world = world(Duration::from_secs(300)).await;
    let call_carol = |sdp: &str| {
        let teams = world.teams.clone();
        let sdp = sdp.to_owned();
        async move {
            let call = teams
                .place_call(
                    "alice@contoso.test",
                    CallRequest {
                        to: "carol@contoso.test".into(),
                        sdp,
                        chat_id: None,
                    },
                )
                .await
                .unwrap();
            teams
                .record_sfb_call(&call.id, SfbCallProgress::Ended)
                .await
                .unwrap();
            call.id
        }
    };
    let first = call_carol("v=0 first").await;
    world.clock.advance(59_000);
    let second = call_carol("v=0 second").await;
    let kept = world.teams.call("alice@contoso.test", &first).unwrap();
    assert_eq!(kept.end_reason.as_deref(), Some("cancelled"));
    world.clock.advance(2_000);
    let _third = call_carol("v=0 third").await;
    assert!(world.teams.call("alice@contoso.test", &first).is_err());
    assert!(
        world
            .teams
            .record_sfb_call(&first, SfbCallProgress::Ended)
            .await
            .is_err()
    );
    // The second ended 2 s ago: still there.
    assert!(world.teams.call("alice@contoso.test", &second).is_ok());
}
