//! The floor of the REGISTER benchmark: the least a server can do and
//! still pass `bench/sipp/register.xml`. It answers each REGISTER from
//! one blocking UDP socket, the way Kamailio's workers do (`recvfrom`,
//! then `sendto`), with no parsing beyond finding five header lines:
//! 401 with a fixed MD5 challenge when the request has no
//! `Authorization`, 200 when it has one. Nothing is checked, nothing
//! is kept.
//!
//! It is not a registrar. `bench/sip-vs-kamailio.sh` (FLOWS=floor) runs it
//! under the same cores and CPU quota as the two servers, so the highest
//! rate it passes bounds what any server can reach on that machine: the
//! kernel's work per datagram (two in, two out per call) is the same for
//! every server.
//!
//!   cargo run --release -p coexist-sip --example register_floor -- 127.0.0.1:5060

use std::net::UdpSocket;

/// The header lines a response copies from its request (RFC 3261 §8.2.6.2).
const COPIED: [&[u8]; 5] = [b"via:", b"from:", b"to:", b"call-id:", b"cseq:"];

fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5060".to_owned());
    let socket = match UdpSocket::bind(&address) {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("register_floor: binding {address}: {error}");
            std::process::exit(1);
        }
    };
    println!("register_floor listening on {address}");
    let mut buffer = vec![0u8; 65_536];
    let mut response = Vec::with_capacity(2048);
    loop {
        let Ok((length, source)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let request = buffer.get(..length).unwrap_or_default();
        if !request.starts_with(b"REGISTER ") {
            continue;
        }
        answer(request, &mut response);
        if let Err(error) = socket.send_to(&response, source) {
            eprintln!("register_floor: send to {source}: {error}");
        }
    }
}

/// Writes the answer to `request` into `response`.
fn answer(request: &[u8], response: &mut Vec<u8>) {
    response.clear();
    let authorized = request
        .split(|&b| b == b'\n')
        .any(|line| starts_with_ignoring_case(line, b"authorization:"));
    response.extend_from_slice(if authorized {
        b"SIP/2.0 200 OK\r\n"
    } else {
        b"SIP/2.0 401 Unauthorized\r\n"
    });
    for line in request.split(|&b| b == b'\n') {
        if line.len() <= 1 {
            break; // the empty line: the headers end
        }
        if COPIED
            .iter()
            .any(|name| starts_with_ignoring_case(line, name))
        {
            response.extend_from_slice(line);
            response.push(b'\n');
        }
    }
    if !authorized {
        response.extend_from_slice(
            b"WWW-Authenticate: Digest realm=\"contoso.test\", \
              nonce=\"0123456789abcdef0123456789abcdef\", qop=\"auth\", algorithm=MD5\r\n",
        );
    }
    response.extend_from_slice(b"Content-Length: 0\r\n\r\n");
}

fn starts_with_ignoring_case(line: &[u8], prefix: &[u8]) -> bool {
    line.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}
