//! R5: what an interop or federated conversation may carry, as data, and the
//! checks the edges call before accepting content.

use crate::named::named_enum;
use crate::refusal::{Refusal, RefusalCode};
use crate::rules::RuleId;
use crate::vocabulary::{Client, Method};

named_enum! {
    /// A message body's format.
    pub enum ContentType as "content type" {
        Text = "text",
        Html = "html",
        Markdown = "markdown",
    }
}

/// What a conversation of one method may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// Rich text, markdown and non-basic emoticons kept as sent (R5.1).
    pub rich_text: bool,
    /// Files and attachments (R5.2).
    pub attachments: bool,
    /// Group chats mixing participants of both clients (R5.3): never, on any
    /// method; kept here so the table is complete.
    pub mixed_client_groups: bool,
    /// Screen sharing (R5.4).
    pub screen_sharing: bool,
    /// Escalating a peer-to-peer call to a multi-party call (R5.4).
    pub call_escalation: bool,
}

/// R5: the capabilities of `method`. Federated conversations use the SfB
/// pipeline and its limits (R5.5: native federation is a later capability).
pub const fn capabilities(method: Method) -> Capabilities {
    let full = !method.is_limited();
    Capabilities {
        rich_text: full,
        attachments: full,
        mixed_client_groups: false,
        screen_sharing: full,
        call_escalation: full,
    }
}

/// What to do with a message body (R5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyHandling {
    /// Deliver it as sent.
    AsSent,
    /// Convert it to plain text, keeping every word, and mark the message.
    ConvertToPlainText,
}

/// R5.1: how a body of `content_type` travels on a `method` conversation.
pub const fn body_handling(method: Method, content_type: ContentType) -> BodyHandling {
    match (capabilities(method).rich_text, content_type) {
        (true, _) | (false, ContentType::Text) => BodyHandling::AsSent,
        (false, ContentType::Html | ContentType::Markdown) => BodyHandling::ConvertToPlainText,
    }
}

/// R5.2: attachments are refused on interop and federated conversations.
pub const fn check_attachments(method: Method, attachment_count: usize) -> Result<(), Refusal> {
    if attachment_count > 0 && !capabilities(method).attachments {
        return Err(Refusal::new(
            RefusalCode::AttachmentNotAllowedOnInterop,
            RuleId::R5_2,
        ));
    }
    Ok(())
}

/// R5.3: a group chat whose participants are on `group_client` may only add
/// a participant who would land on that same client.
pub const fn check_group_member(
    group_client: Client,
    member_lands_on: Client,
) -> Result<(), Refusal> {
    if matches!(
        (group_client, member_lands_on),
        (Client::Teams, Client::Teams) | (Client::Sfb, Client::Sfb)
    ) {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalCode::ParticipantOnOtherClient,
            RuleId::R5_3,
        ))
    }
}

/// R5.4: screen sharing on a `method` conversation.
pub const fn check_screen_sharing(method: Method) -> Result<(), Refusal> {
    if capabilities(method).screen_sharing {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalCode::ScreenSharingNotAllowedOnInterop,
            RuleId::R5_4,
        ))
    }
}

/// R5.4: escalating a `method` call to a multi-party call.
pub const fn check_call_escalation(method: Method) -> Result<(), Refusal> {
    if capabilities(method).call_escalation {
        Ok(())
    } else {
        Err(Refusal::new(
            RefusalCode::EscalationNotAllowedOnInterop,
            RuleId::R5_4,
        ))
    }
}
