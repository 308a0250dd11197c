//! Where bytes come from and go to: the vocabulary shared by the sans-IO
//! engine and the tokio driver.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Transport {
    /// UDP: unreliable, retransmissions needed.
    Udp,
    /// TCP: reliable, no retransmissions (RFC 3261 §17.1.1.2).
    Tcp,
}

impl Transport {
    /// `UDP` / `TCP` as in a Via.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    /// Whether the transport is reliable.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

/// A remote end: transport, address and, for TCP, the connection it is on
/// (so a request to a contact that registered over TCP reuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Peer {
    /// Transport.
    pub transport: Transport,
    /// Remote address.
    pub addr: SocketAddr,
    /// The TCP connection, if known (not persisted: connections die with the process).
    #[serde(skip)]
    pub conn: Option<u64>,
}

impl Peer {
    /// A UDP peer.
    pub fn udp(addr: SocketAddr) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr,
            conn: None,
        }
    }

    /// A TCP peer on a known connection.
    pub fn tcp(addr: SocketAddr, conn: u64) -> Peer {
        Peer {
            transport: Transport::Tcp,
            addr,
            conn: Some(conn),
        }
    }
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where.
    pub to: Peer,
    /// What.
    pub bytes: Vec<u8>,
}
