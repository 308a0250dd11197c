//! Where server transactions keep their keys and last responses while they
//! absorb retransmissions (Timer J: 32 s over UDP).
//!
//! At 1 000 registrations a second that is 64 000 keys and responses alive
//! at once, each a small allocation made between the small long-lived ones
//! of the registrations (bindings, endpoints). Freed, they left holes the
//! allocator kept: about half of the memory a registration seemed to cost.
//! Copied instead into large slabs, a few seconds of them each, they are
//! given back to the OS as whole mappings once the last transaction using a
//! slab ends.

use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// A slab's size. Blocks this large are mapped on their own by mainstream
/// allocators (glibc's dynamic mmap threshold stops at 32 MiB) and
/// unmapped when freed; pages never written cost nothing.
const SLAB_BYTES: usize = 32 << 20;

/// A new slab at least this often, so that one slab pins at most this many
/// seconds of responses (plus the longest transaction) when traffic is low.
const SLAB_SPAN: Duration = Duration::from_secs(8);

/// The slab being filled.
#[derive(Debug, Default)]
pub(super) struct Slabs {
    current: BytesMut,
    started: Duration,
}

impl Slabs {
    /// `bytes`, copied into the current slab; the slab is freed when the
    /// last copy in it is dropped.
    pub(super) fn keep(&mut self, now: Duration, bytes: &[u8]) -> Bytes {
        if self.current.capacity() < bytes.len() || now >= self.started + SLAB_SPAN {
            self.current = BytesMut::with_capacity(SLAB_BYTES.max(bytes.len()));
            self.started = now;
        }
        self.current.extend_from_slice(bytes);
        self.current.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_a_slab_until_it_is_full_or_old() {
        let mut slabs = Slabs::default();
        let a = slabs.keep(Duration::ZERO, b"first");
        let b = slabs.keep(Duration::from_secs(1), b"second");
        assert_eq!((&a[..], &b[..]), (&b"first"[..], &b"second"[..]));
        // Same slab: the second copy follows the first.
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
        let c = slabs.keep(SLAB_SPAN + Duration::from_secs(1), b"third");
        assert_ne!(b.as_ptr().wrapping_add(b.len()), c.as_ptr());
        let big = vec![7u8; SLAB_BYTES + 1];
        assert_eq!(slabs.keep(SLAB_SPAN * 2, &big).len(), big.len());
    }
}
