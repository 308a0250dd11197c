//! A journal line for a binding, written by hand: byte for byte what
//! `serde_json` writes for the same entry (a test compares the two on
//! strings that need escaping), in about a third of the instructions
//! (serde's writer went through `fmt` for the address and a `write` call
//! per token into the buffered file: some 4 600 instructions a REGISTER,
//! callgrind). Lines are read back with `serde_json`.

use super::Binding;
use crate::transport::Transport;
use std::net::SocketAddr;

/// Appends `{"Put":{…}}` for `aor`'s `binding` (no line end).
pub(super) fn put(out: &mut Vec<u8>, aor: &str, binding: &Binding) {
    out.extend_from_slice(b"{\"Put\":{\"aor\":");
    string(out, aor);
    out.extend_from_slice(b",\"contact\":");
    string(out, &binding.contact);
    out.extend_from_slice(b",\"source\":{\"transport\":\"");
    out.extend_from_slice(match binding.source.transport {
        Transport::Udp => b"Udp",
        Transport::Tcp => b"Tcp",
    });
    out.extend_from_slice(b"\",\"addr\":\"");
    address(out, binding.source.addr);
    out.extend_from_slice(b"\"},\"expires_at_ms\":");
    let mut digits = [0u8; 20];
    out.extend_from_slice(crate::message::decimal(binding.expires_at_ms, &mut digits));
    out.extend_from_slice(b",\"call_id\":");
    string(out, &binding.call_id);
    out.extend_from_slice(b",\"cseq\":");
    out.extend_from_slice(crate::message::decimal(
        u64::from(binding.cseq),
        &mut digits,
    ));
    out.extend_from_slice(b",\"is_phone\":");
    out.extend_from_slice(if binding.is_phone { b"true" } else { b"false" });
    out.extend_from_slice(b"}}");
}

/// `addr` as its `Display` writes it (IPv4 by hand).
fn address(out: &mut Vec<u8>, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(v4) => {
            let mut text = String::with_capacity(21);
            crate::engine::write_ip(&mut text, std::net::IpAddr::V4(*v4.ip()));
            text.push(':');
            crate::engine::push_number(&mut text, u32::from(v4.port()));
            out.extend_from_slice(text.as_bytes());
        }
        SocketAddr::V6(_) => out.extend_from_slice(addr.to_string().as_bytes()),
    }
}

/// A JSON string, escaped as `serde_json` escapes it.
fn string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..at]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}
