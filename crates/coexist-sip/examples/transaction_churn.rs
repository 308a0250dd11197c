//! The server-transaction layer under a steady REGISTER load, without
//! sockets: what `ServerTransactions` costs per transaction when hundreds
//! of thousands of them wait out Timer J (32 s over UDP).
//!
//! Each simulated call is what `bench/sipp/register.xml` sends: a REGISTER
//! answered 401, then a REGISTER with a new branch answered 200; both are
//! non-INVITE server transactions that stay alive 64·T1 after their answer.
//! The loop calls the layer the way the driver and engine do: poll when the
//! next timeout is due, then for each datagram of a batch `on_request`,
//! `respond`, `arm`, then `next_timeout`. The Via is the one the engine
//! hands over (`received` and `rport` already set). One request in 100
//! is sent twice, the copy after its answer.
//!
//! Warm-up (the first 40 simulated seconds, until expiries run at the rate
//! of arrivals) and the measured part are separate functions, so callgrind
//! can count only the steady state:
//!
//!   cargo build --release -p coexist-sip --example transaction_churn
//!   valgrind --tool=callgrind --collect-atstart=no \
//!     --toggle-collect='transaction_churn::steady_state' \
//!     target/release/examples/transaction_churn 12000 20
//!   callgrind_annotate --inclusive=yes --tree=calling callgrind.out.PID \
//!     | grep -A12 '\*.*Load::run_until'
//!
//! The calls from `run_until` to `ServerTransactions` (inclusive) divided
//! by the transactions measured are the layer's cost per transaction.
//! (Callgrind counts calls made while it does not collect too, so divide
//! by the printed count, not by its call counts.)
//!
//! Arguments: transactions per simulated second (default 12 000: 6 000
//! calls/s, the rate of the profile in issue 5) and measured seconds
//! (default 20). It prints the transactions measured, the live count at
//! the end and the wall time per transaction (noisy; use callgrind).

use coexist_sip::SipMessage;
use coexist_sip::transaction::{Arrival, ServerTransactions, TimerValues};
use coexist_sip::transport::Peer;
use coexist_sip::wire::parse_datagram;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Datagrams handled per wake of the driver's loop (it takes at most 64).
const BATCH: u64 = 16;

/// The simulated load and where it is.
struct Load {
    server: ServerTransactions,
    /// Transactions per simulated second.
    rate: u64,
    /// Transactions started so far.
    started: u64,
    /// Retransmit one request in this many.
    retransmit_every: u64,
    peer: Peer,
    /// Counted so nothing is optimised away.
    sent: usize,
}

impl Load {
    fn new(rate: u64) -> Load {
        let address: SocketAddr = ([127, 0, 0, 1], 5061).into();
        Load {
            server: ServerTransactions::new(TimerValues::default()),
            rate,
            started: 0,
            retransmit_every: 100,
            peer: Peer::udp(address),
            sent: 0,
        }
    }

    /// When transaction `n` arrives.
    fn arrival(&self, n: u64) -> Duration {
        Duration::from_nanos(n * 1_000_000_000 / self.rate)
    }

    /// Runs the load until simulated time `until`.
    fn run_until(&mut self, until: Duration) {
        while self.arrival(self.started) < until {
            let now = self.arrival(self.started);
            if self.server.next_timeout().is_some_and(|at| at <= now) {
                self.sent += self.server.poll(now).len();
            }
            for _ in 0..BATCH {
                self.one(now);
            }
            black_box(self.server.next_timeout());
        }
    }

    /// One request, its answer and (now and then) its retransmission.
    fn one(&mut self, now: Duration) {
        let n = self.started;
        self.started += 1;
        let (call, second) = (n / 2, n % 2 == 1);
        let request = register(call, second);
        match self.server.on_request(now, &request, self.peer) {
            Arrival::New => {}
            other => fail(&format!("transaction {n}: {other:?}")),
        }
        let response = if second {
            let mut ok = request.response(200, "OK", Some("c0ffee"));
            ok.push("Contact", contact(call) + ";expires=3600");
            ok
        } else {
            let mut challenge = request.response(401, "Unauthorized", Some("c0ffee"));
            challenge.push(
                "WWW-Authenticate",
                "Digest realm=\"contoso.test\", nonce=\"AAAAAGkVbq0b3Ql0nmXoR2fKq1QnE0p9Yw\", \
                 algorithm=MD5, qop=\"auth\"",
            );
            challenge
        };
        self.sent += self.server.respond(now, &request, &response).iter().count();
        self.server.arm();
        if n.is_multiple_of(self.retransmit_every) {
            match self.server.on_request(now, &request, self.peer) {
                Arrival::Retransmission(Some(again)) => self.sent += again.bytes.len(),
                other => fail(&format!("retransmission of {n}: {other:?}")),
            }
        }
    }
}

fn contact(call: u64) -> String {
    format!("<sip:user{call}@127.0.0.1:5061;transport=UDP>")
}

/// The `second` REGISTER of `call` as the engine sees it, parsed.
fn register(call: u64, second: bool) -> SipMessage {
    let user = call % 100_000;
    let (cseq, branch) = if second { (2, 2) } else { (1, 0) };
    let authorization = if second {
        format!(
            "Authorization: Digest username=\"user{user}\",realm=\"contoso.test\",\
             uri=\"sip:contoso.test\",nonce=\"AAAAAGkVbq0b3Ql0nmXoR2fKq1QnE0p9Yw\",\
             response=\"0123456789abcdef0123456789abcdef\",algorithm=MD5,\
             cnonce=\"6b8b4567\",qop=auth,nc=00000001\r\n"
        )
    } else {
        String::new()
    };
    let text = format!(
        "REGISTER sip:contoso.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-{call}-{branch};rport=5061;received=127.0.0.1\r\n\
         From: <sip:user{user}@contoso.test>;tag=4242SIPpTag00{call}\r\n\
         To: <sip:user{user}@contoso.test>\r\n\
         Call-ID: {call}-4242@127.0.0.1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: {contact}\r\n\
         {authorization}\
         Max-Forwards: 70\r\n\
         Expires: 3600\r\n\
         User-Agent: sipp\r\n\
         Content-Length: 0\r\n\r\n",
        contact = contact(call),
    );
    match parse_datagram(text.as_bytes()) {
        Ok(message) => message,
        Err(error) => fail(&format!("{error:?}")),
    }
}

/// Stops the run: the layer did not answer as a REGISTER load expects.
fn fail(why: &str) -> ! {
    eprintln!("transaction_churn: {why}");
    std::process::exit(1)
}

/// Until expiries keep pace with arrivals (Timer J is 32 s).
#[inline(never)]
fn warm_up(load: &mut Load) {
    load.run_until(Duration::from_secs(40));
    black_box(&*load);
}

/// The measured part. (Not a tail call: callgrind's `--toggle-collect`
/// would miss the jump into `run_until`.)
#[inline(never)]
fn steady_state(load: &mut Load, seconds: u64) {
    load.run_until(Duration::from_secs(40 + seconds));
    black_box(&*load);
}

fn main() {
    let mut arguments = std::env::args().skip(1);
    let mut number = |default: u64| {
        arguments
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let (rate, seconds) = (number(12_000), number(20));
    let mut load = Load::new(rate);
    warm_up(&mut load);
    let before = load.started;
    let clock = Instant::now();
    steady_state(&mut load, seconds);
    let elapsed = clock.elapsed();
    let measured = load.started - before;
    println!(
        "{measured} transactions measured, {} live at the end, {:.0} ns each (wall, with parsing), {} sent",
        load.server.len(),
        elapsed.as_nanos() as f64 / measured as f64,
        load.sent,
    );
}
