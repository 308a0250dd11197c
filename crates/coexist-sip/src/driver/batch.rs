//! UDP datagrams in and out in batches: one `recvmmsg` takes what is queued
//! (up to [`SLOTS`] datagrams), one `sendmmsg` sends what a batch of
//! requests produced.
//!
//! Why: under load each REGISTER call is two datagrams in and two out, and
//! a `recvfrom` or `sendto` per datagram spent about 6 % of the server's CPU
//! on entering and leaving the kernel (perf, at 9 000 calls/s under a
//! quarter-core quota; BENCHMARKS.md). The per-datagram work inside the
//! kernel stays; the system calls are shared by the batch.
//!
//! `nix` gives the two calls a safe API (the workspace forbids `unsafe`).
//! Every buffer holds the largest datagram (64 KiB), so nothing is ever
//! truncated; a truncated one would still be dropped with a warning rather
//! than parsed.

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrLike, SockaddrStorage, recvmmsg, sendmmsg};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams taken per `recvmmsg`.
pub(super) const SLOTS: usize = 16;

/// Datagrams given to one `sendmmsg`.
pub(super) const SEND_BATCH: usize = 64;

/// The largest UDP payload.
const DATAGRAM: usize = 65_536;

/// Buffers for one `recvmmsg`, reused for the life of the server.
#[derive(Debug)]
pub(super) struct Receiver {
    buffers: Vec<Vec<u8>>,
    received: Vec<(usize, SocketAddr)>,
}

impl Default for Receiver {
    fn default() -> Receiver {
        Receiver {
            buffers: (0..SLOTS).map(|_| vec![0u8; DATAGRAM]).collect(),
            received: Vec::with_capacity(SLOTS),
        }
    }
}

impl Receiver {
    /// Takes what is queued on `fd` without waiting; `WouldBlock` when
    /// nothing is. The datagrams are then read with [`datagrams`](Self::datagrams).
    pub(super) fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        self.received.clear();
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(SLOTS, None);
        let mut buffers = self.buffers.iter_mut();
        let mut slices: [[IoSliceMut<'_>; 1]; SLOTS] = std::array::from_fn(|_| {
            [IoSliceMut::new(
                buffers.next().map_or(&mut [][..], |b| &mut b[..]),
            )]
        });
        let results = recvmmsg(
            fd,
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )
        .map_err(io::Error::from)?;
        for message in results {
            if message.flags.contains(MsgFlags::MSG_TRUNC) {
                // Cannot happen with buffers of the largest datagram.
                tracing::warn!("udp: a truncated datagram dropped");
                self.received.push((0, unspecified()));
                continue;
            }
            let from = message
                .address
                .and_then(|address| std_address(&address))
                .unwrap_or_else(unspecified);
            self.received.push((message.bytes, from));
        }
        Ok(self.received.len())
    }

    /// What the last [`receive`](Self::receive) took: each datagram and
    /// where it came from (an empty one for what could not be read).
    pub(super) fn datagrams(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        self.received
            .iter()
            .zip(&self.buffers)
            .map(|((length, from), buffer)| (buffer.get(..*length).unwrap_or_default(), *from))
    }
}

/// Sends `datagrams` (bytes and destination) on `fd` with `sendmmsg`,
/// without waiting: how many the kernel took (`WouldBlock` when none).
pub(super) fn send(fd: RawFd, datagrams: &[(&[u8], SocketAddr)]) -> io::Result<usize> {
    let count = datagrams.len().min(SEND_BATCH);
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(count, None);
    let slices: Vec<[IoSlice<'_>; 1]> = datagrams
        .iter()
        .take(count)
        .map(|(bytes, _)| [IoSlice::new(bytes)])
        .collect();
    let addresses: Vec<Option<SockaddrStorage>> = datagrams
        .iter()
        .take(count)
        .map(|(_, to)| Some(SockaddrStorage::from(*to)))
        .collect();
    let sent = sendmmsg(
        fd,
        &mut headers,
        &slices,
        &addresses,
        [],
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    Ok(sent.count())
}

fn std_address(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
        .filter(|_| address.family().is_some())
}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}
