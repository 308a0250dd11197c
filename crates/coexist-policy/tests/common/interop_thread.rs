//! One interop thread (an Islands teams user to an SfBOnly user on sfb),
//! shared by the allocation test and the routing bench.

use coexist_policy::{
    Client, Enablement, Homing, Method, Mode, Reach, ThreadContinuation, ThreadParty, Topology,
};

/// The thread, as R4.1 would continue it.
pub fn interop_thread() -> ThreadContinuation {
    let party = |mode, client| ThreadParty {
        mode,
        homing: Homing::Online,
        enabled: Enablement::default(),
        client,
    };
    ThreadContinuation {
        method: Method::Interop,
        sender: party(Mode::Islands, Client::Teams),
        recipient: party(Mode::SfBOnly, Client::Sfb),
        reach: Reach::InTenant(Topology::Online),
    }
}
