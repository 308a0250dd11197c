//! The SIP edge's teams port over the teams side.

use super::Endpoints;
use coexist_core::teams::model::Published;
use coexist_core::{Teams, TeamsError};
use coexist_policy::interop_limits::ContentType;
use coexist_policy::{Refusal, RefusalCode, RuleId};
use coexist_sip::{SfbState, TeamsAnswer, TeamsSide};
use std::sync::Arc;

/// The teams port `coexist serve` gives the SIP edge.
#[derive(Debug)]
pub struct TeamsPort {
    teams: Arc<Teams>,
    endpoints: Arc<Endpoints>,
}

impl TeamsPort {
    /// A port over `teams`, recording sfb endpoints in `endpoints`.
    pub fn new(teams: Arc<Teams>, endpoints: Arc<Endpoints>) -> TeamsPort {
        TeamsPort { teams, endpoints }
    }
}

/// RFC 3994: "is typing" indications travel as MESSAGEs of this type.
const IS_COMPOSING: &str = "application/im-iscomposing+xml";

/// A MESSAGE body as the plain text R5.1 allows across clients; `Ok(None)`
/// for a typing indication (RFC 3994: nothing to keep, taken with a 200);
/// `Err` is the SIP refusal for what cannot be carried (R5.2: no files).
fn plain_text(content_type: &str, body: &[u8]) -> Result<Option<String>, TeamsAnswer> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let kind = match media.as_str() {
        "text/plain" | "" => ContentType::Text,
        "text/html" => ContentType::Html,
        IS_COMPOSING => return Ok(None),
        _ => {
            let refusal = Refusal::new(RefusalCode::AttachmentNotAllowedOnInterop, RuleId::R5_2);
            return Err(TeamsAnswer::Refused {
                status: 415,
                reason: format!("Unsupported Media Type ({media}: text only across clients)"),
                warning: Some(coexist_sip::engine::warning(refusal)),
            });
        }
    };
    let text = std::str::from_utf8(body).map_err(|_| TeamsAnswer::Refused {
        status: 400,
        reason: "Bad Request (body is not UTF-8)".into(),
        warning: None,
    })?;
    // A pager-mode body often ends with a line break (sipp's does; some
    // clients add one): not part of what the person wrote.
    let text = text.trim_end_matches(['\r', '\n']);
    Ok(Some(coexist_core::teams::to_plain_text(kind, text)))
}

/// A teams-side error as the MESSAGE's final response.
fn refusal(error: &TeamsError) -> TeamsAnswer {
    let (status, reason, warning) = match error {
        TeamsError::Refused { refusal, .. } => (
            403,
            "Forbidden",
            Some(coexist_sip::engine::warning(*refusal)),
        ),
        TeamsError::NotFound { .. } => (404, "Not Found", None),
        TeamsError::Invalid { .. } => (400, "Bad Request", None),
        TeamsError::Forbidden(_) => (403, "Forbidden", None),
        _ => (500, "Server Internal Error", None),
    };
    TeamsAnswer::Refused {
        status,
        reason: format!("{reason} ({error})").replace(['\r', '\n'], " "),
        warning,
    }
}

#[async_trait::async_trait]
impl TeamsSide for TeamsPort {
    async fn message_from_sfb(
        &self,
        from: &str,
        to: &str,
        content_type: &str,
        body: bytes::Bytes,
    ) -> TeamsAnswer {
        let text = match plain_text(content_type, &body) {
            Ok(Some(text)) => text,
            Ok(None) => return TeamsAnswer::Accepted,
            Err(answer) => return answer,
        };
        match self.teams.receive_sfb_message(from, to, &text).await {
            Ok(_) => TeamsAnswer::Accepted,
            Err(error) => refusal(&error),
        }
    }

    fn sfb_presence(&self, state: SfbState) {
        // One clock read for the endpoint and the published state (a
        // registration refresh is the hot path of the SIP edge).
        let at = coexist_core::Clock::now(&coexist_core::SystemClock);
        let now = u64::try_from(at.0).unwrap_or_default();
        let report =
            self.endpoints
                .report(now, &state.upn, state.registered_until, state.has_phone);
        if report.became_live {
            // R1.4: the flag they registered with (the SIP edge told them
            // then, if on); a later grant is news (`watch_upgrade_grants`).
            let on = super::sfb_port::notify_flag(&self.teams.directory().read(), &state.upn);
            self.endpoints.set_notify(&state.upn, on);
        }
        // Nothing lost: what waited for this user's sfb client (while they
        // were away, before a restart, or unanswered by their client) goes
        // out now, in order. No task, no query, for a user with nothing
        // pending (most refreshes).
        if report.due && self.teams.may_have_pending_sfb(&state.upn) {
            let teams = self.teams.clone();
            let upn = state.upn.clone();
            tokio::spawn(async move {
                match teams.retry_sfb_deliveries(&upn).await {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(%upn, count, "pending sfb deliveries retried"),
                    Err(e) => tracing::warn!(%upn, "retrying pending sfb deliveries: {e}"),
                }
            });
        }
        // R7.3: whether they are live is read from the endpoints; the
        // teams side is told when that changed.
        let live_changed = report.became_live || report.lost_live;
        let published = Published {
            availability: state.availability,
            activity: None,
            note: state.note,
            at,
        };
        // A registration refresh changes nothing: no task for it (one
        // spawned per REGISTER showed in the SIP benchmark's CPU per call).
        if !self
            .teams
            .record_sfb_presence(&state.upn, published, live_changed)
        {
            return;
        }
        let teams = self.teams.clone();
        tokio::spawn(async move {
            if let Err(e) = teams.sfb_presence_changed(&state.upn).await {
                tracing::warn!(upn = %state.upn, "sfb presence to teams: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn r5_1_sip_bodies_become_the_plain_text_teams_keeps() {
        assert_eq!(
            plain_text("text/plain;charset=UTF-8", b"hello\r\n").unwrap(),
            Some("hello".to_owned())
        );
        assert_eq!(
            plain_text("TEXT/HTML", b"<b>Ship</b> it").unwrap(),
            Some("Ship it".to_owned())
        );
        assert_eq!(plain_text("", b"bare").unwrap(), Some("bare".to_owned()));
        // RFC 3994: a typing indication is taken, not kept.
        assert_eq!(plain_text(IS_COMPOSING, b"<isComposing/>").unwrap(), None);
    }

    #[test]
    fn r5_2_files_are_refused_with_the_code_and_bad_text_is_400() {
        let Err(TeamsAnswer::Refused {
            status, warning, ..
        }) = plain_text("text/x-msmsgsinvite", b"Application-Name: File Transfer")
        else {
            panic!("a file transfer invitation must be refused");
        };
        assert_eq!(status, 415);
        let warning = warning.unwrap();
        assert!(
            warning.starts_with("399 coexist \"AttachmentNotAllowedOnInterop (R5.2)"),
            "{warning}"
        );
        let Err(TeamsAnswer::Refused {
            status, warning, ..
        }) = plain_text("text/plain", &[0xff, 0xfe])
        else {
            panic!("bytes that are not UTF-8 are refused");
        };
        assert_eq!((status, warning), (400, None));
    }
}
