//! Binding the SIP address: UDP and TCP on one port, as a SIP server is
//! expected to listen (RFC 3261 §18.2.1).

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, UdpSocket};

/// How many ports to try when the address asks for any port (0): the UDP
/// port the system picks may be in use for TCP by someone else.
const ANY_PORT_ATTEMPTS: usize = 32;

/// Binds UDP and TCP on the same port of `address`.
///
/// With port 0, picks a port that is free for both (retrying a few times);
/// with a given port, a TCP failure is an error that names the address, so
/// a server never comes up silently without TCP.
pub async fn bind_udp_and_tcp(address: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    if address.port() != 0 {
        let udp = UdpSocket::bind(address).await?;
        let tcp = TcpListener::bind(address)
            .await
            .map_err(|error| io::Error::new(error.kind(), format!("TCP on {address}: {error}")))?;
        return Ok((udp, tcp));
    }
    let mut last_error = None;
    for _ in 0..ANY_PORT_ATTEMPTS {
        let udp = UdpSocket::bind(address).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
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
