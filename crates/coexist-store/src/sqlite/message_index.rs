//! Which messages belong to which thread: the `message_index` table, filled
//! in batches, and the tail of messages not yet in it, kept here in memory.
//!
//! Why not a SQLite index on `messages (thread_id, id)`: SQLite updates an
//! index in the commit that inserts the row, and the messages of one group
//! commit belong to as many threads, so each message dirtied an index page of
//! its own (4 KiB written to the WAL per message). Measured with
//! `cargo bench --bench teams_messages -- throughput 256 10` on 2 cores:
//! 13 600–15 700 messages/s with that index, 18 900–20 600/s without it.
//! Here a message's entry waits in [`Tail`] and goes into `message_index`
//! with up to [`FLUSH_ROWS`] others (at least every [`FLUSH_EVERY`]), sorted
//! by thread, inside an ordinary group commit: one page takes the entries of
//! many messages of its thread.
//!
//! The invariant readers rely on: every message with an id up to
//! `indexed_upto` is in `message_index`, and every committed message above
//! it is in [`Tail::entries`]. A reader takes both from one snapshot of the
//! tail and asks SQLite only for ids up to that snapshot's `indexed_upto`, so
//! a flush that happens meanwhile neither hides nor doubles a message.

use coexist_core::teams::model::Message;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Entries that make a flush due.
pub(super) const FLUSH_ROWS: usize = 4096;
/// The longest an entry waits for its flush (when there are commits).
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A committed message not yet in `message_index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub id: i64,
    pub thread: String,
    pub sender: String,
}

/// The messages above `indexed_upto`.
#[derive(Debug)]
pub(super) struct Tail {
    /// Every message with an id up to this is in `message_index`.
    indexed_upto: i64,
    /// The highest message id committed: a message row with a higher id is
    /// new (ids increase and the writer commits them in order); a lower one
    /// is a change of an existing message (its delivery states).
    newest: i64,
    /// By id.
    entries: Vec<Entry>,
    last_flush: Instant,
}

/// What a flush writes, and the `indexed_upto` it makes true.
#[derive(Debug)]
pub(super) struct Flush {
    /// `(thread, id)`, sorted.
    pub rows: Vec<(String, i64)>,
    pub indexed_upto: i64,
}

impl Tail {
    /// The tail as found in the database: `entries` are the messages above
    /// `indexed_upto`, by id.
    pub(super) fn new(indexed_upto: i64, newest: i64, entries: Vec<Entry>, now: Instant) -> Tail {
        Tail {
            indexed_upto,
            newest: newest.max(indexed_upto),
            entries,
            last_flush: now,
        }
    }

    /// The flush to write with the next commit, if one is due.
    pub(super) fn due(&self, now: Instant) -> Option<Flush> {
        let last = self.entries.last()?;
        if self.entries.len() < FLUSH_ROWS && now.duration_since(self.last_flush) < FLUSH_EVERY {
            return None;
        }
        let mut rows: Vec<(String, i64)> = self
            .entries
            .iter()
            .map(|entry| (entry.thread.clone(), entry.id))
            .collect();
        rows.sort_unstable();
        Some(Flush {
            rows,
            indexed_upto: last.id,
        })
    }

    /// After a commit: `messages` were written (new ones join the tail) and
    /// `flushed` (if any) is now in `message_index`.
    pub(super) fn committed<'a>(
        &mut self,
        messages: impl Iterator<Item = &'a Message>,
        flushed: Option<i64>,
        now: Instant,
    ) {
        if let Some(upto) = flushed {
            self.entries.retain(|entry| entry.id > upto);
            self.indexed_upto = self.indexed_upto.max(upto);
            self.last_flush = now;
        }
        for message in messages {
            if message.id > self.newest {
                self.newest = message.id;
                self.entries.push(Entry {
                    id: message.id,
                    thread: message.chat_id.clone(),
                    sender: message.from.clone(),
                });
            }
        }
    }

    /// `thread`'s tail messages below `before`, newest first (at most
    /// `limit`), and the `indexed_upto` to read the rest below.
    pub(super) fn of_thread_before(
        &self,
        thread: &str,
        before: i64,
        limit: usize,
    ) -> (Vec<i64>, i64) {
        let ids = self
            .entries
            .iter()
            .rev()
            .filter(|entry| entry.id < before && entry.thread == thread)
            .take(limit)
            .map(|entry| entry.id)
            .collect();
        (ids, self.indexed_upto)
    }

    /// The tail messages of `threads` above `after` not sent by `not_from`,
    /// oldest first (at most `limit`), and the `indexed_upto` to read the
    /// rest up to.
    pub(super) fn of_threads_after(
        &self,
        threads: &HashSet<&str>,
        not_from: &str,
        after: i64,
        limit: usize,
    ) -> (Vec<i64>, i64) {
        let start = self.entries.partition_point(|entry| entry.id <= after);
        let ids = self.entries[start..]
            .iter()
            .filter(|entry| entry.sender != not_from && threads.contains(entry.thread.as_str()))
            .take(limit)
            .map(|entry| entry.id)
            .collect();
        (ids, self.indexed_upto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coexist_core::Timestamp;
    use coexist_core::teams::model::Body;
    use coexist_policy::interop_limits::ContentType;

    fn message(id: i64, thread: &str) -> Message {
        Message {
            id,
            chat_id: thread.into(),
            from: format!("sender-of-{thread}"),
            created_at: Timestamp(id),
            body: Body {
                content_type: ContentType::Text,
                content: String::new(),
            },
            converted_from: None,
            attachments: vec![],
            deliveries: vec![],
        }
    }

    #[test]
    fn new_messages_join_the_tail_and_changes_of_old_ones_do_not() {
        let start = Instant::now();
        let mut tail = Tail::new(10, 12, vec![], start);
        let written = [message(11, "a"), message(13, "a"), message(14, "b")];
        tail.committed(written.iter(), None, start);
        let ids: Vec<i64> = tail.entries.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [13, 14],
            "11 is a change of a message already committed"
        );
        let again = [message(13, "a")];
        tail.committed(again.iter(), None, start);
        assert_eq!(tail.entries.len(), 2);
    }

    #[test]
    fn a_flush_is_due_after_a_second_or_enough_rows_and_is_sorted_by_thread() {
        let start = Instant::now();
        let mut tail = Tail::new(0, 0, vec![], start);
        assert!(tail.due(start + FLUSH_EVERY).is_none(), "nothing to flush");
        let written = [message(1, "b"), message(2, "a"), message(3, "b")];
        tail.committed(written.iter(), None, start);
        assert!(tail.due(start).is_none());
        let flush = tail
            .due(start + FLUSH_EVERY)
            .unwrap_or_else(|| unreachable!());
        assert_eq!(flush.indexed_upto, 3);
        assert_eq!(
            flush.rows,
            [("a".into(), 2), ("b".into(), 1), ("b".into(), 3)]
        );
        let many: Vec<Message> = (4..4 + FLUSH_ROWS as i64)
            .map(|id| message(id, "c"))
            .collect();
        tail.committed(many.iter(), None, start);
        assert!(tail.due(start).is_some(), "enough rows make it due at once");
    }

    #[test]
    fn a_flush_moves_entries_out_of_the_tail_and_readers_get_its_boundary() {
        let start = Instant::now();
        let mut tail = Tail::new(0, 0, vec![], start);
        let written = [message(1, "a"), message(2, "b"), message(3, "a")];
        tail.committed(written.iter(), None, start);
        assert_eq!(tail.of_thread_before("a", i64::MAX, 10), (vec![3, 1], 0));
        assert_eq!(tail.of_thread_before("a", 3, 10), (vec![1], 0));
        tail.committed([message(4, "a")].iter(), Some(3), start);
        assert_eq!(tail.of_thread_before("a", i64::MAX, 10), (vec![4], 3));
        let threads: HashSet<&str> = ["a", "b"].into();
        assert_eq!(tail.of_threads_after(&threads, "", 0, 10), (vec![4], 3));
        assert_eq!(
            tail.of_threads_after(&threads, "sender-of-a", 0, 10),
            (vec![], 3)
        );
    }
}
