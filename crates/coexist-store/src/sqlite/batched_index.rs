//! Which messages belong to which thread (`message_index`) and which events
//! to which user (`event_index`): tables filled in batches, and the tail of
//! rows not yet in them, kept here in memory.
//!
//! Why not SQLite indexes on `messages (thread_id, id)` and `events (upn,
//! id)`: SQLite updates an index in the commit that inserts the row, and the
//! rows of one group commit belong to as many threads or users, so each row
//! dirtied an index page of its own (4 KiB written to the WAL per message).
//! Measured with `cargo bench --bench teams_messages -- throughput 256 10` on
//! 2 cores: 13 600–15 700 messages/s with the thread index, 18 900–20 600/s
//! without it. Here a row's entry waits in a [`Tail`] and goes into its
//! index table with up to [`FLUSH_ROWS`] others (at least every
//! [`FLUSH_EVERY`]), sorted by key, inside an ordinary group commit: one page
//! takes the entries of many rows of its key.
//!
//! The invariant readers rely on: every row with an id up to
//! `indexed_upto` is in the index table, and every committed row above it is
//! in [`Tail`]'s entries. A reader takes both from one snapshot of the tail
//! and asks SQLite only for ids up to that snapshot's `indexed_upto`, so a
//! flush that happens meanwhile neither hides nor doubles a row.

use std::collections::HashSet;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Entries that make a flush due.
pub(super) const FLUSH_ROWS: usize = 4096;
/// The longest an entry waits for its flush (when there are commits).
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The two tails.
#[derive(Debug)]
pub(super) struct Tails {
    /// Messages by thread; an entry's `sender` is the message's.
    pub messages: RwLock<Tail>,
    /// Events by user; `sender` is empty.
    pub events: RwLock<Tail>,
}

/// A tail, for reading.
pub(super) fn read(tail: &RwLock<Tail>) -> RwLockReadGuard<'_, Tail> {
    tail.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A tail, for the committer.
pub(super) fn write(tail: &RwLock<Tail>) -> RwLockWriteGuard<'_, Tail> {
    tail.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A committed row not yet in its index table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub id: i64,
    /// The thread of a message, the user of an event.
    pub key: String,
    pub sender: String,
}

/// The rows above `indexed_upto`.
#[derive(Debug)]
pub(super) struct Tail {
    /// Every row with an id up to this is in the index table.
    indexed_upto: i64,
    /// By id: every committed row above `indexed_upto`.
    entries: Vec<Entry>,
    last_flush: Instant,
}

/// What a flush writes, and the `indexed_upto` it makes true.
#[derive(Debug)]
pub(super) struct Flush {
    /// `(key, id)`, sorted.
    pub rows: Vec<(String, i64)>,
    pub indexed_upto: i64,
}

impl Tail {
    /// The tail as found in the database: `entries` are the rows above
    /// `indexed_upto`, by id.
    pub(super) fn new(indexed_upto: i64, entries: Vec<Entry>, now: Instant) -> Tail {
        Tail {
            indexed_upto,
            entries,
            last_flush: now,
        }
    }

    /// The highest id committed: a row with a higher id is new (ids
    /// increase and the writer commits them in order); a lower one is a
    /// change of an existing message (its delivery states).
    fn newest(&self) -> i64 {
        self.entries
            .last()
            .map_or(self.indexed_upto, |entry| entry.id)
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
            .map(|entry| (entry.key.clone(), entry.id))
            .collect();
        rows.sort_unstable();
        Some(Flush {
            rows,
            indexed_upto: last.id,
        })
    }

    /// After a commit: `flushed` (if any) is now in the index table, and
    /// `written` rows (`id`, key, sender) were committed; new ones join the
    /// tail.
    pub(super) fn committed<'a>(
        &mut self,
        flushed: Option<i64>,
        written: impl Iterator<Item = (i64, &'a str, &'a str)>,
        now: Instant,
    ) {
        if let Some(upto) = flushed {
            self.entries.retain(|entry| entry.id > upto);
            self.indexed_upto = self.indexed_upto.max(upto);
            self.last_flush = now;
        }
        for (id, key, sender) in written {
            if id > self.newest() {
                self.entries.push(Entry {
                    id,
                    key: key.to_owned(),
                    sender: sender.to_owned(),
                });
            }
        }
    }

    /// `key`'s tail rows below `before`, newest first (at most `limit`), and
    /// the `indexed_upto` to read the rest below.
    pub(super) fn of_key_before(&self, key: &str, before: i64, limit: usize) -> (Vec<i64>, i64) {
        let ids = self
            .entries
            .iter()
            .rev()
            .filter(|entry| entry.id < before && entry.key == key)
            .take(limit)
            .map(|entry| entry.id)
            .collect();
        (ids, self.indexed_upto)
    }

    /// The tail rows of `keys` above `after` not sent by `not_from`, oldest
    /// first (at most `limit`), and the `indexed_upto` to read the rest up
    /// to.
    pub(super) fn of_keys_after(
        &self,
        keys: &HashSet<&str>,
        not_from: Option<&str>,
        after: i64,
        limit: usize,
    ) -> (Vec<i64>, i64) {
        let start = self.entries.partition_point(|entry| entry.id <= after);
        let ids = self.entries[start..]
            .iter()
            .filter(|entry| {
                not_from != Some(entry.sender.as_str()) && keys.contains(entry.key.as_str())
            })
            .take(limit)
            .map(|entry| entry.id)
            .collect();
        (ids, self.indexed_upto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(written: &[(i64, &'static str)]) -> Vec<(i64, &'static str, &'static str)> {
        written
            .iter()
            .map(|(id, key)| (*id, *key, if *key == "a" { "alice" } else { "bob" }))
            .collect()
    }

    #[test]
    fn new_rows_join_the_tail_and_changes_of_old_ones_do_not() {
        let start = Instant::now();
        let twelve = Entry {
            id: 12,
            key: "a".into(),
            sender: "alice".into(),
        };
        let mut tail = Tail::new(10, vec![twelve], start);
        tail.committed(
            None,
            rows(&[(11, "a"), (13, "a"), (14, "b")]).into_iter(),
            start,
        );
        let ids: Vec<i64> = tail.entries.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [12, 13, 14],
            "11 is a change of a row already committed"
        );
        tail.committed(None, rows(&[(13, "a"), (9, "b")]).into_iter(), start);
        assert_eq!(tail.entries.len(), 3);
    }

    #[test]
    fn a_flush_is_due_after_a_second_or_enough_rows_and_is_sorted_by_key() {
        let start = Instant::now();
        let mut tail = Tail::new(0, vec![], start);
        assert!(tail.due(start + FLUSH_EVERY).is_none(), "nothing to flush");
        tail.committed(
            None,
            rows(&[(1, "b"), (2, "a"), (3, "b")]).into_iter(),
            start,
        );
        assert!(tail.due(start).is_none());
        let flush = tail
            .due(start + FLUSH_EVERY)
            .unwrap_or_else(|| unreachable!());
        assert_eq!(flush.indexed_upto, 3);
        assert_eq!(
            flush.rows,
            [("a".into(), 2), ("b".into(), 1), ("b".into(), 3)]
        );
        let many: Vec<(i64, &str, &str)> = (4..4 + FLUSH_ROWS as i64)
            .map(|id| (id, "c", "carol"))
            .collect();
        tail.committed(None, many.into_iter(), start);
        assert!(tail.due(start).is_some(), "enough rows make it due at once");
    }

    #[test]
    fn a_flush_moves_entries_out_of_the_tail_and_readers_get_its_boundary() {
        let start = Instant::now();
        let mut tail = Tail::new(0, vec![], start);
        tail.committed(
            None,
            rows(&[(1, "a"), (2, "b"), (3, "a")]).into_iter(),
            start,
        );
        assert_eq!(tail.of_key_before("a", i64::MAX, 10), (vec![3, 1], 0));
        assert_eq!(tail.of_key_before("a", 3, 10), (vec![1], 0));
        tail.committed(Some(3), rows(&[(4, "a")]).into_iter(), start);
        assert_eq!(tail.of_key_before("a", i64::MAX, 10), (vec![4], 3));
        let keys: HashSet<&str> = ["a", "b"].into();
        assert_eq!(tail.of_keys_after(&keys, None, 0, 10), (vec![4], 3));
        assert_eq!(tail.of_keys_after(&keys, Some("alice"), 0, 10), (vec![], 3));
    }
}
