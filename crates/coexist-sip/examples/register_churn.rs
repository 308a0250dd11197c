//! The SIP engine's share of a REGISTER call, without sockets: what
//! `bench/sipp/register.xml` does to `coexist serve` (REGISTER, 401,
//! REGISTER with an MD5 digest, 200; users in turn, each refreshing), fed
//! straight into [`Engine::receive`] on a simulated clock.
//!
//! Run it under callgrind and read the instructions of `Engine::receive`,
//! `Engine::take_output` and `Engine::poll` (inclusive) per call: the
//! client's side (building requests, hashing the response) is outside
//! those functions.
//!
//!   cargo build --release -p coexist-sip --example register_churn
//!   valgrind --tool=callgrind target/release/examples/register_churn 20000 500
//!
//! Arguments: calls (default 20 000), calls per simulated second (500:
//! 40 s, so that Timer J expiries, 32 s after each answer, are counted too).

use coexist_policy::Mode;
use coexist_sip::auth::{Algorithm, client_response};
use coexist_sip::registrar::FileStore;
use coexist_sip::transport::Peer;
use coexist_sip::wire::parse_datagram;
use coexist_sip::{Engine, MemoryDirectory, SipConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const USERS: usize = 1000;
const DOMAIN: &str = "contoso.test";

fn main() {
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let server: SocketAddr = ([127, 0, 0, 1], 5060).into();
    let client: SocketAddr = ([127, 0, 0, 1], 16000).into();
    let directory = MemoryDirectory::new();
    let mut ha1 = Vec::with_capacity(USERS);
    for n in 0..USERS {
        let upn = format!("u{n:06}@{DOMAIN}");
        let password = format!("pw-u{n:06}-1");
        directory.add(&upn, &password, Mode::SfBOnly);
        ha1.push(coexist_core::credentials::ha1_md5(&upn, DOMAIN, &password));
    }
    let journal = std::env::temp_dir().join(format!("register-churn-{}.jsonl", std::process::id()));
    let start = Duration::from_secs(1_800_000_000);
    let mut engine = Engine::new(
        SipConfig::new(server),
        Arc::new(directory),
        Box::new(FileStore::new(&journal)),
        start,
    );
    let (mut ok, mut other) = (0usize, 0usize);
    for call in 0..calls {
        let now = start + Duration::from_micros(call as u64 * 1_000_000 / rate);
        engine.poll(now);
        let _ = engine.take_output();
        let user = format!("u{:06}", call % USERS);
        let first = register(&user, call, 1, "");
        engine.receive(now, Peer::udp(client), first.as_bytes());
        let challenge = engine.take_output();
        let Some(nonce) = challenge.first().and_then(|out| nonce_of(&out.bytes)) else {
            other += 1;
            continue;
        };
        let uri = format!("sip:{DOMAIN}");
        let response = client_response(
            Algorithm::Md5,
            &ha1[call % USERS],
            &nonce,
            "REGISTER",
            &uri,
            1,
            "cn",
        );
        let authorization = format!(
            "Authorization: Digest username=\"{user}@{DOMAIN}\",realm=\"{DOMAIN}\",cnonce=\"cn\",\
             nc=00000001,qop=auth,uri=\"{uri}\",nonce=\"{nonce}\",response=\"{response}\",algorithm=MD5"
        );
        let second = register(&user, call, 2, &authorization);
        engine.receive(now, Peer::udp(client), second.as_bytes());
        for out in engine.take_output() {
            if out.bytes.starts_with(b"SIP/2.0 200 ") {
                ok += 1;
            } else {
                other += 1;
            }
        }
    }
    let _ = std::fs::remove_file(&journal);
    println!("register_churn: {calls} calls, {ok} answered 200, {other} otherwise");
}

/// A REGISTER as sipp's `register.xml` writes it.
fn register(user: &str, call: usize, cseq: u32, authorization: &str) -> String {
    let line = if authorization.is_empty() {
        String::new()
    } else {
        format!("{authorization}\r\n")
    };
    format!(
        "REGISTER sip:{DOMAIN} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:16000;branch=z9hG4bK-4242-{call}-{cseq};rport\r\n\
         From: <sip:{user}@{DOMAIN}>;tag=4242SIPpTag00{call}\r\n\
         To: <sip:{user}@{DOMAIN}>\r\n\
         Call-ID: {call}-4242@127.0.0.1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:{user}@127.0.0.1:16000;transport=UDP>\r\n\
         {line}Max-Forwards: 70\r\n\
         Expires: 3600\r\n\
         User-Agent: sipp\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// The nonce of the MD5 challenge in a 401.
fn nonce_of(bytes: &[u8]) -> Option<String> {
    let message = parse_datagram(bytes).ok()?;
    let challenge = message
        .header_values("WWW-Authenticate")
        .into_iter()
        .find(|c| c.contains("MD5"))?
        .to_owned();
    let start = challenge.find("nonce=\"")? + 7;
    let end = start + challenge[start..].find('"')?;
    Some(challenge[start..end].to_owned())
}
