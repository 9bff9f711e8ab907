//! labrpc — a simulated network for the labs, after MIT 6.824's labrpc.go.
//!
//! The network can lose requests, lose replies, delay messages, and
//! disconnect particular hosts entirely. Arguments and replies are copied
//! through [`labgob`], so the sender and the handler never share memory: a
//! handler works on its own decoded copy, exactly as over a real wire.
//!
//! ```text
//! let net = Network::new();
//!
//! end = net.make_end(endname)           -- make a client end-point, to talk to one server.
//! net.add_server(servername, server)    -- add a named server to the network.
//! net.delete_server(servername)         -- e.g. crash the named server.
//! net.connect(endname, servername)      -- connect a client end to a server.
//! net.enable(endname, enabled)          -- enable/disable a client end.
//! net.reliable(bool)                    -- false means drop/delay messages.
//! net.long_delays(bool)                 -- unreachable servers answer after up to 7 s.
//! net.long_reordering(bool)             -- delay some replies by up to 2.2 s.
//! net.tap(tap)                          -- let a test decide each message's fate.
//! net.replay(&call)                     -- deliver a tapped call's request again.
//!
//! end.call("Raft.AppendEntries", &args) -> Option<Reply>
//!   -- send an RPC, wait for the reply.
//!   -- "Raft.AppendEntries" names the service and the method.
//!   -- Some(reply) means the server's handler ran and its reply arrived;
//!   -- None means no reply arrived (lost request, lost reply, dead server…).
//!
//! let server = Server::new();
//! server.add_service(
//!     Service::new("Raft")
//!         .method("AppendEntries", move |args: AppendEntriesArgs| raft.append_entries(args)));
//! ```
//!
//! End and server names are [`Name`]s: strings or integers.
//!
//! Semantics (MIT's, constant for constant):
//!
//! * New ends start disabled and unconnected. A call on an end that is
//!   disabled, unconnected, or connected to a deleted server reaches no
//!   handler; it returns `None` after 0..99 ms, or after 0..6999 ms when
//!   `long_delays` is on (the Raft tester turns it on, so a leader that sends
//!   RPCs one after another, waiting for each, is too slow to pass).
//! * On an unreliable network a request first waits 0..26 ms, then is dropped
//!   with probability 10 % (`None`, the handler never runs); a reply is
//!   dropped with probability 10 % after the handler ran.
//! * With `long_reordering` on, 2/3 of the replies are held back for
//!   200..2199 ms (mostly the short end of that range).
//! * While a handler runs, the call checks every 100 ms whether it has become
//!   dead: its end was disabled, or its server deleted or replaced. A dead
//!   call returns `None` at once, and no reply of a replaced server ever
//!   reaches a caller (the handler may still be running; its reply is
//!   dropped). This is what makes "crash, then restart from the persister"
//!   safe in the testers.
//! * `call` returns `None` at once after `cleanup`, which also takes every
//!   server off the network (calls in progress get no reply), so that the
//!   peers of a finished test can be freed.
//! * MIT's network never delivers a message twice. Tests that need one
//!   message at one moment set a [`tap::Tap`] (not in Go): it sees every
//!   call and may drop, hold, or duplicate its request or its reply.
//! * Counters: [`Network::total_count`] counts every call made,
//!   [`Network::total_bytes`] the encoded bytes of every request plus those
//!   of every reply delivered, [`Network::count`] the calls that reached
//!   one server's handlers, and [`ClientEnd::reply_count`] the calls through
//!   one end (and its clones) whose reply arrived.
//!
//! Mistakes are reported, not hidden: calling an unknown service or method,
//! or passing arguments (or expecting a reply) of another type than the
//! handler's, panics in the caller with a message that names the method and
//! lists what would have been valid. A handler that panics makes the call
//! panic in the caller, naming the method; the network itself goes on.
//!
//! Threads: a call runs on the caller's thread (which waits for the reply
//! anyway), including every delay, so pending calls and delayed replies cost
//! no extra thread. Each handler runs on a labrt thread of its own; labrt
//! reuses finished threads, so their number follows the handlers running at
//! the same moment, never the calls waiting in delays. The caller waiting
//! for its reply, and an idle pooled thread waiting for a handler to run,
//! spin for up to 20 µs while that kind of wait has lately ended that soon
//! (`labrt::thread::Spin`), and park otherwise: on an idle machine a call
//! then costs about a microsecond instead of two wake-ups of parked
//! threads, and on a busy one nothing spins for long.

mod name;
mod network;
mod server;
pub mod tap;

pub use name::Name;
pub use network::{ClientEnd, MAX_NETWORK_DELAY, Network};
pub use server::{Server, Service};
