//! When each client transaction next needs attention, and keeping the
//! memory of ended transactions from lingering. (Server transactions,
//! hundreds of thousands under load, use the queues of `timers.rs`.)

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::Hash;
use std::time::Duration;

/// A min-heap of (time, key) with lazy deletion, so finding the next timer
/// and firing due ones costs O(log n) instead of a scan of every
/// transaction per packet. A stale entry (the transaction moved its timer
/// or ended) just wakes us early. Keys are shared with the transaction
/// map (`Arc<str>`): scheduling allocates nothing.
#[derive(Debug)]
pub(super) struct Wakeups<K> {
    heap: BinaryHeap<Reverse<(Duration, K)>>,
    /// The keys [`due`](Self::due) returned so far, kept between calls so
    /// that a poll allocates no set of its own.
    seen: HashSet<K>,
}

impl<K: Ord> Default for Wakeups<K> {
    fn default() -> Self {
        Wakeups {
            heap: BinaryHeap::new(),
            seen: HashSet::new(),
        }
    }
}

impl<K: Ord + Clone + Hash> Wakeups<K> {
    pub(super) fn at(&mut self, when: Option<Duration>, key: &K) {
        if let Some(when) = when {
            self.heap.push(Reverse((when, key.clone())));
        }
    }

    pub(super) fn next(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse((when, _))| *when)
    }

    /// The keys due at `now`, each once, earliest first. (A set, not a
    /// search of the list: after a burst thousands fall due in one poll.)
    pub(super) fn due(&mut self, now: Duration) -> Vec<K> {
        let mut keys: Vec<K> = Vec::new();
        while let Some(Reverse((when, _))) = self.heap.peek() {
            if *when > now {
                break;
            }
            if let Some(Reverse((_, key))) = self.heap.pop()
                && self.seen.insert(key.clone())
            {
                keys.push(key);
            }
        }
        self.seen.clear();
        keys
    }

    /// Gives back what a burst left: see [`shrink_map`].
    pub(super) fn shrink(&mut self) {
        if let Some(target) = shrunk_capacity(self.heap.len(), self.heap.capacity()) {
            self.heap.shrink_to(target);
        }
        // Empty between polls: only a burst's table is worth freeing.
        if self.seen.capacity() > 1024 {
            self.seen = HashSet::new();
        }
    }
}

/// After a burst (100 000 registrations leave 64 000 transactions alive
/// for Timer J), a map keeps the capacity it grew to — tens of megabytes
/// that no registration uses. Once it is empty its table is dropped; while
/// traffic goes on, once it is an eighth full, it is shrunk to twice what
/// it holds (amortised: each shrink follows more removals than it moves
/// entries, and allocates a table an eighth the size of the one it frees).
pub(super) fn shrink_map<K: Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if let Some(target) = shrunk_capacity(map.len(), map.capacity()) {
        map.shrink_to(target);
    }
}

/// What to shrink a collection of `len` items and `capacity` to, if
/// anything: nothing once it is empty, twice its length once it is an
/// eighth full (see [`shrink_map`]). `shrink_to(0)` of an empty map,
/// vector, heap or queue frees its allocation.
pub(super) fn shrunk_capacity(len: usize, capacity: usize) -> Option<usize> {
    if len == 0 {
        (capacity > 0).then_some(0)
    } else {
        (capacity > 1024 && len < capacity / 8).then_some(len * 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_key_scheduled_twice_falls_due_once_earliest_first() {
        let mut wakeups: Wakeups<Arc<str>> = Wakeups::default();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        wakeups.at(Some(Duration::from_millis(30)), &a);
        wakeups.at(Some(Duration::from_millis(10)), &b);
        wakeups.at(Some(Duration::from_millis(20)), &a);
        wakeups.at(Some(Duration::from_millis(90)), &b);
        assert_eq!(wakeups.due(Duration::from_millis(50)), [b.clone(), a]);
        assert_eq!(wakeups.next(), Some(Duration::from_millis(90)));
        assert_eq!(wakeups.due(Duration::from_millis(90)), [b]);
    }

    #[test]
    fn a_map_emptied_after_a_burst_gives_its_capacity_back() {
        let mut map: HashMap<Arc<str>, u32> = HashMap::new();
        for n in 0..10_000 {
            map.insert(n.to_string().into(), n);
        }
        map.retain(|_, n| *n < 100);
        shrink_map(&mut map);
        assert!(map.capacity() < 1_000, "{}", map.capacity());
        assert_eq!(map.len(), 100);
        map.clear();
        shrink_map(&mut map);
        assert_eq!(map.capacity(), 0);
        // A small map is left alone.
        let mut small: HashMap<Arc<str>, u32> = HashMap::with_capacity(500);
        small.insert("one".into(), 1);
        shrink_map(&mut small);
        assert!(small.capacity() >= 500);
    }
}
