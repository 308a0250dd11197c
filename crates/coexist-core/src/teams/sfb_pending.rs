//! Who may have a message still pending for their sfb client (nothing
//! lost, issue 6), kept in memory so that a registration refresh of a user
//! with nothing pending does not ask the store (`Teams::retry_sfb_deliveries`:
//! a spawned task, an SQL query and a database worker wake-up each time,
//! measured at ≈ 45 000 instructions per due refresh under the sipp
//! REGISTER load).
//!
//! The set only errs on the safe side: it may name a user with nothing
//! pending (that costs one query, after which they leave it), never miss
//! one with something pending:
//! - it starts as the store's list (`ConversationSnapshot::sfb_pending`,
//!   what was pending before a restart);
//! - the writer marks every user a committed message leaves pending, after
//!   the commit and before the writer answers (so before the sfb port is
//!   handed the message, and even when the caller has gone away);
//! - a user leaves it only when a query that began after their last mark
//!   found nothing pending: each mark takes a new number, and
//!   [`PendingSfb::forget`] removes the entry only if its number is still
//!   the one read before the query. A mark that comes after that read (a
//!   commit the query may not have seen) keeps the user in.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Inner {
    /// The number of each user's last mark.
    by_upn: HashMap<Box<str>, u64>,
    /// The last number given.
    last: u64,
}

/// The users who may have a pending sfb delivery.
#[derive(Debug, Default)]
pub(crate) struct PendingSfb {
    inner: Mutex<Inner>,
}

impl PendingSfb {
    /// The set as the store lists it at start.
    pub(crate) fn new(upns: impl IntoIterator<Item = String>) -> PendingSfb {
        let set = PendingSfb::default();
        for upn in upns {
            set.mark(&upn);
        }
        set
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `upn` has (or may have) a pending sfb delivery, committed before
    /// this call.
    pub(crate) fn mark(&self, upn: &str) {
        let mut inner = self.lock();
        inner.last += 1;
        let number = inner.last;
        match inner.by_upn.get_mut(upn) {
            Some(mark) => *mark = number,
            None => {
                inner.by_upn.insert(upn.into(), number);
            }
        }
    }

    /// `upn`'s last mark, `None` when nothing can be pending for them: read
    /// it before asking the store, and give it to [`forget`](Self::forget).
    pub(crate) fn mark_of(&self, upn: &str) -> Option<u64> {
        self.lock().by_upn.get(upn).copied()
    }

    /// The store, asked after `mark` was read, has nothing pending for
    /// `upn`: they leave the set, unless marked again since.
    pub(crate) fn forget(&self, upn: &str, mark: u64) {
        let mut inner = self.lock();
        if inner.by_upn.get(upn) == Some(&mark) {
            inner.by_upn.remove(upn);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nothing_lost_the_set_starts_as_the_store_lists_it() {
        let set = PendingSfb::new(["carol@x.test".to_owned()]);
        assert!(set.mark_of("carol@x.test").is_some());
        assert_eq!(set.mark_of("dave@x.test"), None);
    }

    #[test]
    fn nothing_lost_a_query_that_found_nothing_removes_the_user() {
        let set = PendingSfb::default();
        set.mark("carol@x.test");
        let read = set.mark_of("carol@x.test").unwrap();
        set.forget("carol@x.test", read);
        assert_eq!(set.mark_of("carol@x.test"), None);
        // Forgetting someone absent changes nothing.
        set.forget("carol@x.test", read);
        assert_eq!(set.mark_of("carol@x.test"), None);
    }

    #[test]
    fn nothing_lost_a_mark_after_the_query_began_keeps_the_user() {
        let set = PendingSfb::default();
        set.mark("carol@x.test");
        let read = set.mark_of("carol@x.test").unwrap();
        // A message committed while the query ran (it may not have seen it).
        set.mark("carol@x.test");
        set.forget("carol@x.test", read);
        assert!(set.mark_of("carol@x.test").is_some());
    }

    #[test]
    fn nothing_lost_a_stale_forget_does_not_remove_a_later_mark() {
        let set = PendingSfb::default();
        set.mark("carol@x.test");
        let first = set.mark_of("carol@x.test").unwrap();
        let second = set.mark_of("carol@x.test").unwrap();
        // Two retries found nothing; the first removes, then a message is
        // marked, then the second (read before it) comes too late.
        set.forget("carol@x.test", first);
        set.mark("carol@x.test");
        set.forget("carol@x.test", second);
        assert!(set.mark_of("carol@x.test").is_some());
    }
}
