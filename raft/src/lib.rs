//! Lab 2: Raft.
//!
//! You build a Raft peer in `src/raft.rs`: leader election (2A), log
//! replication (2B), persistence (2C) and log compaction with snapshots
//! (2D). The tester (crate `tester`) starts several peers, connects them
//! through the simulated network of `labrpc`, breaks things, and checks what
//! your peers apply.
//!
//! The API your `Raft` offers the tester (and, in lab 3, the key/value
//! server):
//!
//! ```text
//! let rf = Raft::make(peers, me, persister, apply_tx);  // start a peer
//! rf.start(command) -> (index, term, is_leader)         // agree on a new log entry
//! rf.get_state() -> (term, is_leader)                   // ask a peer about itself
//! rf.snapshot(index, data)                              // the service saved a snapshot up to index
//! rf.kill()                                             // the peer is being shut down
//! rf.service()                                          // the RPC handlers, to register on a labrpc Server
//! ```
//!
//! Each time a new entry is committed, each peer sends an
//! [`ApplyMsg::Command`] on the apply channel it was given, in log order.
//!
//! Rules that hold throughout the labs:
//! - Threads, time, locks, channels and random numbers come from `labrt`
//!   (`make lint` checks it).
//! - Never hold your lock while sending on the apply channel or waiting for
//!   an RPC reply: the tester calls `snapshot()` from the thread that reads
//!   your apply channel, and a peer that waits for a reply while holding its
//!   lock cannot answer the RPCs of others.
//! - Every long-running thread checks [`Raft::killed`] and exits once the
//!   peer is killed.
//! - Use [`dlog!`] for debug output; `LAB_LOG=1` turns it on.

// A crate-level forbid: no `#[allow]` in the student's modules can lift it,
// so a submission cannot reach into the tester's memory.
#![forbid(unsafe_code)]

pub mod debug;
mod raft;

/// The stable storage the tester hands each peer (crate `persister`, which
/// lives outside your directory: the tester trusts what it reports).
pub use persister::Persister;
pub use raft::{ApplyMsg, Command, Raft};
