//! When each server transaction next needs attention.
//!
//! Most timers a server transaction sets are a fixed delay after the
//! moment they are set: Timer J (64·T1, every non-INVITE answered over
//! UDP), H (64·T1), I (T4), "until the TU answers" (128·T1), and zero over
//! TCP. Timers with one delay fall due in the order they were set, so each
//! delay gets a FIFO queue: O(1) to set and to fire, read front to back.
//! Only Timer G (retransmissions at doubling intervals) and timers set
//! for a given time go through a binary heap. At 6 000 REGISTERs a second
//! (380 000 Timer J entries alive) the single heap cost ≈ 820
//! instructions a transaction in `BinaryHeap` push and pop, and the set
//! that kept a poll from handling a key twice ≈ 1 000 (callgrind,
//! `examples/transaction_churn.rs`); the heap's sift-downs also read
//! memory all over an 18 MB array.
//!
//! Entries are never removed early: a transaction that moves a timer sets
//! a new entry, and the old one, when it falls due, finds nothing to do.

use super::wakeups::shrunk_capacity;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

/// How many delays get a queue of their own; any further one goes to the
/// heap (the timer values are fixed, so this is never reached in practice).
const MOST_QUEUES: usize = 8;

/// Timers of items `T` (small copyable references to a transaction).
#[derive(Debug)]
pub(super) struct Timers<T> {
    /// Per delay, entries (time, item) in the order they were set.
    queues: Vec<(Duration, VecDeque<(Duration, T)>)>,
    /// Everything else, earliest first.
    heap: BinaryHeap<Reverse<(Duration, T)>>,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            queues: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Copy + Ord> Timers<T> {
    /// `item` falls due at `when`, which is `delay` after the moment it is
    /// set. When the wall clock steps backwards, `when` can come before the
    /// last entry of its queue; in the queue it would wait for that one, so
    /// it goes to the heap and falls due on time.
    pub(super) fn after(&mut self, delay: Duration, when: Duration, item: T) {
        let index = match self.queues.iter().position(|(d, _)| *d == delay) {
            Some(index) => index,
            None if self.queues.len() < MOST_QUEUES => {
                self.queues.push((delay, VecDeque::new()));
                self.queues.len() - 1
            }
            None => return self.at(when, item),
        };
        let Some((_, queue)) = self.queues.get_mut(index) else {
            return self.at(when, item);
        };
        if queue.back().is_some_and(|(last, _)| *last > when) {
            return self.at(when, item);
        }
        queue.push_back((when, item));
    }

    /// `item` falls due at `when`.
    pub(super) fn at(&mut self, when: Duration, item: T) {
        self.heap.push(Reverse((when, item)));
    }

    /// The earliest time an entry falls due.
    pub(super) fn next(&self) -> Option<Duration> {
        let fronts = self
            .queues
            .iter()
            .filter_map(|(_, queue)| queue.front().map(|(when, _)| *when));
        let top = self.heap.peek().map(|Reverse((when, _))| *when);
        fronts.chain(top).min()
    }

    /// An item due at `now`, if any (each entry once).
    pub(super) fn pop_due(&mut self, now: Duration) -> Option<T> {
        for (_, queue) in &mut self.queues {
            if queue.front().is_some_and(|(when, _)| *when <= now) {
                return queue.pop_front().map(|(_, item)| item);
            }
        }
        if self
            .heap
            .peek()
            .is_some_and(|Reverse((when, _))| *when <= now)
        {
            return self.heap.pop().map(|Reverse((_, item))| item);
        }
        None
    }

    /// Gives back what a burst left (see [`super::wakeups::shrink_map`]).
    pub(super) fn shrink(&mut self) {
        for (_, queue) in &mut self.queues {
            if let Some(target) = shrunk_capacity(queue.len(), queue.capacity()) {
                queue.shrink_to(target);
            }
        }
        if let Some(target) = shrunk_capacity(self.heap.len(), self.heap.capacity()) {
            self.heap.shrink_to(target);
        }
    }

    /// The capacity of each queue and of the heap.
    #[cfg(test)]
    pub(super) fn capacities(&self) -> impl Iterator<Item = usize> + '_ {
        let queues = self.queues.iter().map(|(_, queue)| queue.capacity());
        queues.chain([self.heap.capacity()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn all_due(timers: &mut Timers<u32>, now: Duration) -> Vec<u32> {
        std::iter::from_fn(|| timers.pop_due(now)).collect()
    }

    #[test]
    fn timers_of_one_delay_fall_due_in_the_order_they_were_set() {
        let mut timers = Timers::default();
        timers.after(s(32), s(33), 1);
        timers.after(s(5), s(7), 2);
        timers.after(s(32), s(34), 3);
        timers.at(s(10), 4);
        assert_eq!(timers.next(), Some(s(7)));
        assert_eq!(all_due(&mut timers, s(6)), [] as [u32; 0]);
        assert_eq!(all_due(&mut timers, s(10)), [2, 4]);
        assert_eq!(timers.next(), Some(s(33)));
        assert_eq!(all_due(&mut timers, s(33)), [1]);
        assert_eq!(all_due(&mut timers, s(60)), [3]);
        assert_eq!(timers.next(), None);
        // The queues keep their delay but give their memory back.
        timers.shrink();
        assert!(timers.capacities().all(|capacity| capacity == 0));
    }

    #[test]
    fn a_timer_set_after_the_clock_stepped_back_falls_due_on_time_and_none_is_lost() {
        let mut timers = Timers::default();
        // Set at 100 s for 132 s; the clock steps back to 50 s.
        timers.after(s(32), s(132), 1);
        timers.after(s(32), s(82), 2);
        timers.after(s(32), s(83), 3);
        assert_eq!(timers.next(), Some(s(82)));
        assert_eq!(all_due(&mut timers, s(83)), [2, 3]);
        assert_eq!(all_due(&mut timers, s(131)), [] as [u32; 0]);
        assert_eq!(all_due(&mut timers, s(132)), [1]);
    }
}
