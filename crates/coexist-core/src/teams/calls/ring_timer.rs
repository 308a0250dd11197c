//! Ring timeouts: one task for all calls. The timeout is the same for
//! every call (`TeamsConfig::ring_timeout`), so deadlines are armed in the
//! order they fall due and a queue is enough. A task of its own per call
//! meant ~150 000 sleeping tasks at 3 500 calls/s with the 45 s default,
//! and a spawn per call (`cargo bench --bench interop`, issue 6).

use crate::teams::Teams;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often an idle timer task checks whether its teams side is gone.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The calls waiting for their ring timeout.
#[derive(Debug, Default)]
pub(crate) struct RingTimers {
    /// Deadline, call id, the call's generation when armed (a call whose
    /// ringing restarted or ended has another: its old timer does nothing).
    queue: Mutex<VecDeque<(Instant, String, u64)>>,
    wake: Notify,
    started: AtomicBool,
}

impl RingTimers {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(Instant, String, u64)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Teams {
    /// Arms the ring timeout of call `id` at `generation`.
    pub(super) fn arm(self: &Arc<Self>, id: String, generation: u64) {
        let timers = &self.ring_timers;
        let deadline = Instant::now() + self.config.ring_timeout;
        let was_empty = {
            let mut queue = timers.queue();
            queue.push_back((deadline, id, generation));
            queue.len() == 1
        };
        if !timers.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run(Arc::downgrade(self)));
        } else if was_empty {
            timers.wake.notify_one();
        }
    }
}

/// The timer task: ends the calls still ringing at their deadline; stops
/// when the teams side is gone.
async fn run(teams: Weak<Teams>) {
    loop {
        let Some(strong) = teams.upgrade() else {
            return;
        };
        let next = strong.ring_timers.queue().front().map(|(at, _, _)| *at);
        match next {
            None => {
                // A wake-up is kept when nobody waits yet (`Notify`), so an
                // arm between the look and the wait is not missed.
                let _ = tokio::time::timeout(IDLE_CHECK, strong.ring_timers.wake.notified()).await;
            }
            Some(at) if at > Instant::now() => {
                drop(strong);
                tokio::time::sleep_until(at).await;
            }
            Some(_) => {
                let now = Instant::now();
                let due: Vec<(String, u64)> = {
                    let mut queue = strong.ring_timers.queue();
                    let mut due = Vec::new();
                    while queue.front().is_some_and(|(at, _, _)| *at <= now) {
                        if let Some((_, id, generation)) = queue.pop_front() {
                            due.push((id, generation));
                        }
                    }
                    due
                };
                for (id, generation) in due {
                    // Most calls were answered or ended long before: only
                    // the ones still ringing at this generation get a task.
                    if strong.still_ringing(&id, generation) {
                        let teams = Arc::clone(&strong);
                        tokio::spawn(async move { teams.ring_timed_out(&id, generation).await });
                    }
                }
            }
        }
    }
}
