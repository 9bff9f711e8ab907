//! Lab 3: a fault-tolerant key/value service.
//!
//! You build a key/value store replicated by your Raft from lab 2: a
//! [`Clerk`] that clients use (`src/client.rs`), and a [`KvServer`] run by
//! every replica (`src/server.rs`), which passes each client request through
//! the Raft log and applies the log, in order, to its copy of the data.
//! Part 3A has no snapshots; in 3B a server snapshots its state when Raft's
//! log grows too large, and starts again from that snapshot after a crash.
//!
//! What the tester uses:
//!
//! ```text
//! let kv = start_kv_server(peers, me, persister, maxraftstate);  // a replica; returns at once
//! kv.service(), kv.raft().service()    // its "KVServer" and "Raft" services, for labrpc
//! kv.kill()                            // the replica is being shut down
//!
//! let mut ck = Clerk::new(servers);    // a client, with an end to every replica (shuffled)
//! ck.get("k") -> String                // "" if the key is missing
//! ck.put("k", "v"); ck.append("k", "w")
//! ```
//!
//! The service must be linearizable: every client sees the operations
//! happen in one order, consistent with real time, as if one server ran
//! them one at a time, even while servers crash, the network loses, delays
//! and duplicates messages, and clients retry. In particular each `put` and
//! `append` must take effect exactly once, however often it is retried.
//!
//! Rules that hold throughout:
//! - Threads, time, locks, channels and random numbers come from `labrt`
//!   (`make lint` checks it).
//! - Never hold your lock while waiting for Raft to commit, or for an RPC:
//!   wait on a `Condvar` or a channel, which releases it.
//! - Use `raft::dlog!` for debug output (topic `Clnt` for the clerk and the
//!   server; `LAB_LOG=1` turns it on).

// A crate-level forbid: no `#[allow]` in the student's modules can lift it,
// so a submission cannot reach into the tester's memory.
#![forbid(unsafe_code)]

mod client;
mod common;
mod server;

pub use client::Clerk;
pub use common::{GetArgs, GetReply, OpKind, PutAppendArgs, PutAppendReply, Status};
pub use server::{KvServer, Op, start_kv_server};
