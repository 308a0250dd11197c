//! The threads in memory, by id and by member: looking up a user's threads
//! (a 1:1 chat to reuse, R4.1; the thread an sfb IM lands in; a user's
//! chat list and event stream) reads that user's threads only, not every
//! thread of the server.

use super::model::Thread;
use std::collections::HashMap;

/// Threads by id, with an index by member UPN.
#[derive(Debug, Default)]
pub(crate) struct ThreadCache {
    by_id: HashMap<String, Thread>,
    by_member: HashMap<String, Vec<String>>,
}

impl ThreadCache {
    /// A cache of `threads`.
    pub(crate) fn new(threads: Vec<Thread>) -> ThreadCache {
        let mut cache = ThreadCache::default();
        for thread in threads {
            cache.insert(thread);
        }
        cache
    }

    /// The thread with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Thread> {
        self.by_id.get(id)
    }

    /// Adds or replaces a thread (members are only ever added).
    pub(crate) fn insert(&mut self, thread: Thread) {
        for member in &thread.members {
            let ids = self.by_member.entry(member.upn.clone()).or_default();
            if !ids.contains(&thread.id) {
                ids.push(thread.id.clone());
            }
        }
        self.by_id.insert(thread.id.clone(), thread);
    }

    /// The threads `upn` is a member of (on either client).
    pub(crate) fn of_member<'a>(&'a self, upn: &str) -> impl Iterator<Item = &'a Thread> + 'a {
        self.by_member
            .get(upn)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_id.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::teams::model::{Member, ThreadKind, ThreadState};
    use coexist_policy::{Client, Method};

    fn thread(id: &str, members: &[&str]) -> Thread {
        Thread {
            id: id.into(),
            kind: ThreadKind::Group,
            topic: None,
            method: Method::Native,
            members: members
                .iter()
                .map(|upn| Member {
                    upn: (*upn).into(),
                    client: Client::Teams,
                })
                .collect(),
            created_by: members[0].into(),
            created_at: Timestamp(0),
            state: ThreadState::Active,
            disabled_reason: None,
            replaced_by: None,
            replaces: None,
        }
    }

    #[test]
    fn a_members_threads_are_found_by_the_index_and_stay_single_on_replace() {
        let mut cache = ThreadCache::new(vec![thread("a", &["x", "y"]), thread("b", &["y", "z"])]);
        let ids = |cache: &ThreadCache, upn: &str| {
            let mut ids: Vec<String> = cache.of_member(upn).map(|t| t.id.clone()).collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&cache, "y"), ["a", "b"]);
        assert_eq!(ids(&cache, "x"), ["a"]);
        assert!(ids(&cache, "nobody").is_empty());
        // A member added: indexed once, the thread replaced not duplicated.
        cache.insert(thread("a", &["x", "y", "z"]));
        assert_eq!(ids(&cache, "z"), ["a", "b"]);
        assert_eq!(ids(&cache, "y"), ["a", "b"]);
        assert_eq!(cache.get("a").map(|t| t.members.len()), Some(3));
    }
}
