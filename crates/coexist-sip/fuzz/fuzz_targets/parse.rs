//! The parser, the TCP framer and the header grammars on arbitrary bytes:
//! never a panic; whatever parses writes out and parses again; our datagram
//! parser reaches the verdict `sipx-sip`'s (the reference) reaches.
#![no_main]

use coexist_sip::headers::{NameAddr, SipUri, Via, digest_params};
use coexist_sip::sanity::check_request;
use coexist_sip::wire::{
    StreamFramer, differs_from_reference, parse_datagram, salvage_bad_request,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(differs_from_reference(data), None, "our parser and sipx's differ");
    match parse_datagram(data) {
        Ok(message) => {
            let _ = check_request(&message, "127.0.0.1:5060", "z9hG4bKcx");
            for name in ["Via", "From", "To", "Contact", "Authorization"] {
                for value in message.header_values(name) {
                    let _ = Via::parse(value);
                    let _ = NameAddr::parse(value);
                    let _ = digest_params(value);
                }
            }
            if let Some(uri) = message.uri() {
                let _ = SipUri::parse(uri);
            }
            let written = message.to_bytes();
            assert!(parse_datagram(&written).is_ok(), "what we write parses");
        }
        Err(_) => {
            let _ = salvage_bad_request(data, "fuzz");
        }
    }
    let mut framer = StreamFramer::default();
    for chunk in data.chunks(7) {
        if framer.push(chunk).is_err() {
            break;
        }
    }
});
