//! Binding the SIP address: UDP and TCP on one port, as a SIP server is
//! expected to listen (RFC 3261 §18.2.1).

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, UdpSocket};

/// How many ports to try when the address asks for any port (0): the UDP
/// port the system picks may be in use for TCP by someone else.
const ANY_PORT_ATTEMPTS: usize = 32;

/// The UDP socket buffers asked for. With the system's default (≈ 208 KiB,
/// ~350 requests) a burst that arrives while the driver is busy overflows
/// the receive buffer; each lost datagram costs a retransmission 500 ms
/// later, or a failed transaction when the peer does not retransmit its
/// answer. Measured with sipp (MESSAGE at 6 000/s, `bench/`): 286 datagrams
/// dropped at the server's socket in 5 s with the default, which failed the
/// step. The kernel caps this at `net.core.rmem_max` / `wmem_max`.
const UDP_BUFFER_BYTES: usize = 8 * 1024 * 1024;

/// Asks for large socket buffers on the SIP UDP socket, and says what the
/// system gave when it gave less (a setting, not an error).
fn enlarge_buffers(udp: &UdpSocket) {
    let socket = socket2::SockRef::from(udp);
    let _ = socket.set_recv_buffer_size(UDP_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(UDP_BUFFER_BYTES);
    // Linux reports twice what it granted (its bookkeeping overhead).
    let granted = socket.recv_buffer_size().unwrap_or(0) / 2;
    if granted < UDP_BUFFER_BYTES {
        tracing::info!(
            granted,
            asked = UDP_BUFFER_BYTES,
            "SIP UDP receive buffer capped by the system; raise net.core.rmem_max for bursts"
        );
    }
}

/// Binds UDP and TCP on the same port of `address`.
///
/// With port 0, picks a port that is free for both (retrying a few times);
/// with a given port, a TCP failure is an error that names the address, so
/// a server never comes up silently without TCP.
pub async fn bind_udp_and_tcp(address: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    if address.port() != 0 {
        let udp = UdpSocket::bind(address).await?;
        enlarge_buffers(&udp);
        let tcp = TcpListener::bind(address)
            .await
            .map_err(|error| io::Error::new(error.kind(), format!("TCP on {address}: {error}")))?;
        return Ok((udp, tcp));
    }
    let mut last_error = None;
    for _ in 0..ANY_PORT_ATTEMPTS {
        let udp = UdpSocket::bind(address).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => {
                enlarge_buffers(&udp);
                return Ok((udp, tcp));
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both UDP and TCP")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_udp_socket_gets_more_than_the_default_buffer() {
        let (udp, _tcp) = bind_udp_and_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let granted = socket2::SockRef::from(&udp).recv_buffer_size().unwrap();
        // What an unconfigured socket of this system gets, for comparison.
        let plain = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let default = socket2::SockRef::from(&plain).recv_buffer_size().unwrap();
        let cap = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0);
        // More than the default wherever the system allows more.
        if cap * 2 > default {
            assert!(granted > default, "granted {granted}, default {default}");
        }
    }

    #[tokio::test]
    async fn any_port_gives_udp_and_tcp_on_one_port() {
        let (udp, tcp) = bind_udp_and_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(udp.local_addr().unwrap(), tcp.local_addr().unwrap());
    }

    #[tokio::test]
    async fn a_given_port_taken_for_tcp_is_an_error_naming_it() {
        let (udp, _tcp) = bind_udp_and_tcp("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let taken = udp.local_addr().unwrap();
        drop(udp); // UDP free again, TCP still held
        let error = bind_udp_and_tcp(taken).await.unwrap_err();
        assert!(error.to_string().contains(&taken.to_string()), "{error}");
    }
}
