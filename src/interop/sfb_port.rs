//! The teams side's sfb delivery port over the SIP edge.

use super::Endpoints;
use super::calls::CallBridge;
use coexist_core::Teams;
use coexist_core::Timestamp;
use coexist_core::teams::model::DeliveryState;
use coexist_core::teams::ports::{SfbCall, SfbDelivery, SfbMessage};
use coexist_policy::Availability;
use coexist_sip::{Delivery, SipHandle};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The delivery port `coexist serve` gives the teams side.
#[derive(Debug)]
pub struct SfbPort {
    sip: SipHandle,
    endpoints: Arc<Endpoints>,
    calls: CallBridge,
    /// Set once the teams side is open (it is built with this port).
    teams: OnceLock<Weak<Teams>>,
    /// Messages on their way to sfb clients, in order per recipient.
    outbox: Arc<Mutex<Outbox>>,
}

impl SfbPort {
    /// A port over `sip`, reading live endpoints from `endpoints`.
    pub fn new(sip: SipHandle, endpoints: Arc<Endpoints>) -> SfbPort {
        SfbPort {
            calls: CallBridge::new(sip.clone()),
            sip,
            endpoints,
            teams: OnceLock::new(),
            outbox: Arc::default(),
        }
    }

    /// Closes the loop: delivery outcomes are recorded on `teams`; and
    /// R1.4 grants made while a user is registered are told to their sfb
    /// client ([`watch_upgrade_grants`]).
    pub fn attach(&self, teams: &Arc<Teams>) {
        let _ = self.teams.set(Arc::downgrade(teams));
        self.calls.attach(teams);
        tokio::spawn(watch_upgrade_grants(
            Arc::downgrade(teams),
            self.sip.clone(),
            self.endpoints.clone(),
        ));
    }

    fn teams(&self) -> Option<Arc<Teams>> {
        self.teams.get().and_then(Weak::upgrade)
    }
}

/// The system sender of notices (API.md): `coexist@DOMAIN` of the user.
pub fn system_sender(upn: &str) -> String {
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or(upn);
    format!("coexist@{domain}")
}

const PLAIN_TEXT: &str = "text/plain;charset=utf-8";

/// R1.4 for a user who is registered when their policy becomes a
/// `…WithNotify` one: the SIP edge tells a user on registration; this
/// tells the ones already registered. Twice a second, when the directory
/// changed, it reads the flag of each registered user and sends the notice
/// where it went from off to on (the flag as it was when they registered
/// is recorded then, [`notify_flag`]). Registrations alone cause no pass
/// over the users. Ends with the teams side.
async fn watch_upgrade_grants(teams: Weak<Teams>, sip: SipHandle, endpoints: Arc<Endpoints>) {
    let mut seen = None;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let Some(teams) = teams.upgrade() else {
            return;
        };
        let version = teams.directory().version();
        if seen == Some(version) {
            continue;
        }
        seen = Some(version);
        let due = {
            let state = teams.directory().read();
            endpoints.notify_turned_on(|upn| notify_flag(&state, upn))
        };
        drop(teams);
        for upn in due {
            let notice = coexist_sip::register::UPGRADE_NOTICE;
            system_message(&sip, &upn, notice.into(), "R1.4 notice on grant").await;
        }
    }
}

/// A notice from the system sender `sip:coexist@DOMAIN` (API.md) to `to`'s
/// sfb clients; `what` names it in the log.
async fn system_message(sip: &SipHandle, to: &str, text: String, what: &str) {
    let outcome = coexist_sip::SfbDelivery::deliver_message(
        sip,
        &system_sender(to),
        to,
        PLAIN_TEXT,
        bytes::Bytes::from(text.into_bytes()),
    )
    .await;
    tracing::debug!(%to, ?outcome, "{what}");
}

/// R1.4: whether `upn`'s effective upgrade policy notifies sfb users.
pub fn notify_flag(state: &coexist_core::state::State, upn: &str) -> bool {
    state.user(upn).is_some_and(|user| {
        state.tenant(&user.tenant).is_some_and(|tenant| {
            coexist_core::views::effective_of(user, tenant)
                .policy
                .notify_sfb_users()
        })
    })
}

/// Sends one message to the recipient's sfb contacts; the state the
/// sender is to see (`None`: it stays pending — nothing is lost: the
/// recipient's next registration hands it over again,
/// `Teams::retry_sfb_deliveries`).
async fn send_one(sip: &SipHandle, message: &SfbMessage) -> Option<DeliveryState> {
    let outcome = coexist_sip::SfbDelivery::deliver_message(
        sip,
        &message.from,
        &message.to,
        PLAIN_TEXT,
        bytes::Bytes::from(message.text.clone().into_bytes()),
    )
    .await;
    tracing::debug!(id = message.message_id, to = %message.to, ?outcome, "sfb delivery");
    match outcome {
        Delivery::Delivered => Some(DeliveryState::Delivered),
        Delivery::NoContact => None,
        Delivery::UnknownUser | Delivery::Failed(_) => Some(DeliveryState::Failed),
    }
}

/// Records a delivery's outcome on the teams side (what the sender sees),
/// then forgets the message as in flight.
async fn record(
    teams: Option<Arc<Teams>>,
    outbox: Arc<Mutex<Outbox>>,
    message: SfbMessage,
    state: Option<DeliveryState>,
) {
    if let (Some(teams), Some(state)) = (teams, state) {
        if let Err(e) = teams
            .record_sfb_delivery(message.message_id, &message.to, state)
            .await
        {
            tracing::warn!(id = message.message_id, "recording an sfb delivery: {e}");
        }
    }
    // Only now: a retry that reads the message as still pending before this
    // record is durable must not send it twice.
    outbox
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .in_flight
        .remove(&(message.message_id, message.to));
}

impl SfbPort {
    /// Queues `messages` behind what their recipients already have queued;
    /// a recipient with nothing queued gets a task that sends theirs one
    /// after the other, each after the previous one's outcome, so their
    /// client shows them in the order they were written. A message already
    /// queued or being sent is not queued again (a retry racing the first
    /// attempt must not send it twice).
    fn enqueue(&self, messages: Vec<SfbMessage>) {
        let mut start = Vec::new();
        {
            let mut outbox = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
            for message in messages {
                if !outbox
                    .in_flight
                    .insert((message.message_id, message.to.clone()))
                {
                    continue;
                }
                match outbox.queues.get_mut(message.to.as_str()) {
                    Some(queue) => queue.push_back(message),
                    None => {
                        start.push(message.to.clone());
                        outbox
                            .queues
                            .insert(message.to.clone(), VecDeque::from([message]));
                    }
                }
            }
        }
        for to in start {
            tokio::spawn(drain(
                to,
                self.outbox.clone(),
                self.sip.clone(),
                self.teams(),
            ));
        }
    }
}

/// Messages waiting for their recipient's sfb client, by recipient, and
/// what is queued or being sent.
#[derive(Debug, Default)]
struct Outbox {
    queues: HashMap<String, VecDeque<SfbMessage>>,
    in_flight: HashSet<(i64, String)>,
}

/// Sends `to`'s queue, in order, until it is empty (then forgets it, so
/// the next message starts a new task).
async fn drain(to: String, outbox: Arc<Mutex<Outbox>>, sip: SipHandle, teams: Option<Arc<Teams>>) {
    loop {
        let next = {
            let mut outbox = outbox.lock().unwrap_or_else(|p| p.into_inner());
            match outbox.queues.get_mut(&to).and_then(VecDeque::pop_front) {
                Some(message) => message,
                None => {
                    outbox.queues.remove(&to);
                    return;
                }
            }
        };
        let state = send_one(&sip, &next).await;
        // The next message goes out as soon as the client took this one;
        // recording the outcome (a durable write) runs beside it, so a
        // recipient's messages are not spaced by commits.
        tokio::spawn(record(teams.clone(), outbox.clone(), next, state));
    }
}

impl SfbDelivery for SfbPort {
    fn deliver(&self, message: SfbMessage) {
        self.enqueue(vec![message]);
    }

    fn deliver_in_order(&self, messages: Vec<SfbMessage>) {
        self.enqueue(messages);
    }

    fn notice(&self, to: &str, from: &str, chat_id: &str) {
        let sip = self.sip.clone();
        let text = format!(
            "{from} sent you a message in Teams (chat {chat_id}); open Teams to read and reply."
        );
        let to = to.to_owned();
        tokio::spawn(async move {
            system_message(&sip, &to, text, "safety-net notice").await;
        });
    }

    fn place_call(&self, call: SfbCall) {
        self.calls.place_call(call);
    }

    fn call_changed(&self, call: &coexist_core::teams::Call) {
        self.calls.call_changed(call);
    }

    fn teams_presence(&self, upn: &str, availability: Availability, note: Option<&str>) {
        coexist_sip::SfbDelivery::set_teams_presence(
            &self.sip,
            upn,
            availability,
            note.map(str::to_owned),
        );
    }

    fn has_live_endpoint(&self, upn: &str) -> bool {
        self.endpoints.is_live(upn)
    }

    fn last_seen(&self, upn: &str) -> Option<Timestamp> {
        self.endpoints.last_seen(upn)
    }

    fn has_ip_phone(&self, upn: &str) -> bool {
        self.endpoints.has_live_phone(upn)
    }
}
