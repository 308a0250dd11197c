//! When each transaction next needs attention, and keeping the memory of
//! ended transactions from lingering.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::Hash;
use std::time::Duration;

/// A min-heap of (time, key) with lazy deletion, so finding the next timer
/// and firing due ones costs O(log n) instead of a scan of every
/// transaction per packet. A stale entry (the transaction moved its timer
/// or ended) just wakes us early. Keys are shared with the transaction
/// map (`Arc<str>`, or `Bytes` in a slab): scheduling allocates nothing.
#[derive(Debug)]
pub(super) struct Wakeups<K>(BinaryHeap<Reverse<(Duration, K)>>);

impl<K: Ord> Default for Wakeups<K> {
    fn default() -> Self {
        Wakeups(BinaryHeap::new())
    }
}

impl<K: Ord + Clone + Hash> Wakeups<K> {
    pub(super) fn at(&mut self, when: Option<Duration>, key: &K) {
        if let Some(when) = when {
            self.0.push(Reverse((when, key.clone())));
        }
    }

    pub(super) fn next(&self) -> Option<Duration> {
        self.0.peek().map(|Reverse((when, _))| *when)
    }

    /// The keys due at `now`, each once, earliest first. (A set, not a
    /// search of the list: after a burst thousands fall due in one poll.)
    pub(super) fn due(&mut self, now: Duration) -> Vec<K> {
        let mut keys: Vec<K> = Vec::new();
        let mut seen: HashSet<K> = HashSet::new();
        while let Some(Reverse((when, _))) = self.0.peek() {
            if *when > now {
                break;
            }
            if let Some(Reverse((_, key))) = self.0.pop()
                && seen.insert(key.clone())
            {
                keys.push(key);
            }
        }
        keys
    }

    /// Gives back what a burst left: see [`shrink_map`].
    pub(super) fn shrink(&mut self) {
        if self.0.is_empty() && self.0.capacity() > 0 {
            self.0 = BinaryHeap::new();
        } else if let Some(target) = shrunk_capacity(self.0.len(), self.0.capacity()) {
            self.0.shrink_to(target);
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
    if map.is_empty() && map.capacity() > 0 {
        *map = HashMap::new();
    } else if let Some(target) = shrunk_capacity(map.len(), map.capacity()) {
        map.shrink_to(target);
    }
}

fn shrunk_capacity(len: usize, capacity: usize) -> Option<usize> {
    (capacity > 1024 && len < capacity / 8).then_some(len * 2)
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
