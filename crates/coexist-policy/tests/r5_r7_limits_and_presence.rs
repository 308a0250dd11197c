//! R5 interop limits and R7 presence rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use coexist_policy::interop_limits::{
    body_handling, capabilities, check_attachments, check_call_escalation, check_group_member,
    check_screen_sharing,
};
use coexist_policy::presence::{presences_kept, shown_availability, thread_presence_source};
use coexist_policy::{
    Availability, BodyHandling, Client, ContentType, Method, Mode, RefusalCode, RuleId,
};

const LIMITED: [Method; 2] = [Method::Interop, Method::Federated];

#[test]
fn r5_1_rich_bodies_become_plain_text_on_interop_and_federated() {
    for method in LIMITED {
        assert_eq!(
            body_handling(method, ContentType::Html),
            BodyHandling::ConvertToPlainText
        );
        assert_eq!(
            body_handling(method, ContentType::Markdown),
            BodyHandling::ConvertToPlainText
        );
        assert_eq!(
            body_handling(method, ContentType::Text),
            BodyHandling::AsSent
        );
    }
    assert_eq!(
        body_handling(Method::Native, ContentType::Html),
        BodyHandling::AsSent
    );
}

#[test]
fn r5_2_attachments_are_refused_on_interop_and_federated() {
    for method in LIMITED {
        let refusal = check_attachments(method, 1).unwrap_err();
        assert_eq!(
            (refusal.code, refusal.rule),
            (RefusalCode::AttachmentNotAllowedOnInterop, RuleId::R5_2)
        );
        assert!(check_attachments(method, 0).is_ok());
    }
    assert!(check_attachments(Method::Native, 3).is_ok());
}

#[test]
fn r5_3_a_group_chat_holds_participants_of_one_client() {
    assert!(check_group_member(Client::Teams, Client::Teams).is_ok());
    let refusal = check_group_member(Client::Teams, Client::Sfb).unwrap_err();
    assert_eq!(
        (refusal.code, refusal.rule),
        (RefusalCode::ParticipantOnOtherClient, RuleId::R5_3)
    );
    assert!(check_group_member(Client::Sfb, Client::Teams).is_err());
    assert!(!capabilities(Method::Native).mixed_client_groups);
}

#[test]
fn r5_4_no_screen_sharing_or_escalation_across_clients() {
    for method in LIMITED {
        assert_eq!(
            check_screen_sharing(method).unwrap_err().code,
            RefusalCode::ScreenSharingNotAllowedOnInterop
        );
        assert_eq!(
            check_call_escalation(method).unwrap_err().code,
            RefusalCode::EscalationNotAllowedOnInterop
        );
    }
    assert!(check_screen_sharing(Method::Native).is_ok());
    assert!(check_call_escalation(Method::Native).is_ok());
}

#[test]
fn r5_5_federation_defaults_to_the_sfb_pipeline_limits() {
    assert_eq!(
        capabilities(Method::Federated),
        capabilities(Method::Interop)
    );
    assert_ne!(
        capabilities(Method::Federated),
        capabilities(Method::Native)
    );
}

#[test]
fn r7_1_islands_users_keep_two_presences_the_others_one() {
    assert_eq!(presences_kept(Mode::Islands), &[Client::Teams, Client::Sfb]);
    assert_eq!(presences_kept(Mode::TeamsOnly), &[Client::Teams]);
    assert_eq!(presences_kept(Mode::SfBWithTeamsCollab), &[Client::Sfb]);
}

#[test]
fn r7_2_in_a_thread_presence_follows_the_thread_and_a_disabled_thread_shows_none() {
    assert_eq!(
        thread_presence_source(Client::Sfb, false),
        Some(Client::Sfb)
    );
    assert_eq!(thread_presence_source(Client::Sfb, true), None);
}

#[test]
fn r7_3_a_client_with_no_live_endpoint_reads_offline() {
    assert_eq!(
        shown_availability(Availability::Busy, true),
        Availability::Busy
    );
    assert_eq!(
        shown_availability(Availability::Busy, false),
        Availability::Offline
    );
    assert_eq!(
        Availability::NAMES,
        [
            "Available",
            "Busy",
            "DoNotDisturb",
            "BeRightBack",
            "Away",
            "Offline"
        ]
    );
}
