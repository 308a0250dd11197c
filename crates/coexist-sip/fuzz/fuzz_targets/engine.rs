//! The whole engine on arbitrary datagrams from one source, with time
//! moving: never a panic, whatever arrives.
#![no_main]

use coexist_policy::Mode;
use coexist_sip::transport::Peer;
use coexist_sip::{Engine, MemoryDirectory, SipConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let directory = MemoryDirectory::new();
    directory.add("alice@contoso.test", "pw", Mode::Islands);
    directory.add("bob@contoso.test", "pw", Mode::TeamsOnly);
    let config = SipConfig::new("127.0.0.1:5060".parse().unwrap());
    let mut engine = Engine::in_memory(config, Arc::new(directory));
    let peer = Peer::udp("127.0.0.1:5070".parse().unwrap());
    let mut now = Duration::from_secs(1_800_000_000);
    for datagram in data.split(|b| *b == 0xff) {
        engine.receive(now, peer, datagram);
        now += Duration::from_millis(700);
        engine.poll(now);
        let _ = engine.take_output();
    }
});
