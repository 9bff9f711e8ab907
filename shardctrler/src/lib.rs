//! Lab 4A: the shard controller.
//!
//! Lab 4 builds a key/value store whose keys are split into [`NSHARDS`]
//! shards, each served by one *replica group* (a set of servers running
//! Raft, as in lab 3). Which group serves which shard changes over time: the
//! shard controller decides it. It is a small replicated service of its own,
//! built on your Raft as your lab 3 service is, and what it keeps is a
//! numbered sequence of [`Config`]s: config 0 has no groups (every shard is
//! on gid 0, the invalid group), and every `join`, `leave` and `move_shard`
//! makes the next one. In 4B the groups ask it, every so often, for the
//! latest config.
//!
//! You write a [`Clerk`] (`src/client.rs`), the RPC types (`src/common.rs`),
//! and a [`ShardCtrler`] run by every replica of the controller
//! (`src/server.rs`), which passes each request through the Raft log and
//! applies the log, in order, to its list of configs.
//!
//! What the tester uses:
//!
//! ```text
//! let sc = start_server(peers, me, persister);  // a replica; returns at once
//! sc.service(), sc.raft().service()  // its "ShardCtrler" and "Raft" services, for labrpc
//! sc.raft().get_state()              // the tester asks the replica's Raft who leads
//! sc.kill()                          // the replica is being shut down
//!
//! let mut ck = Clerk::new(servers);  // a client, with an end to every replica (shuffled)
//! ck.join(groups)                    // BTreeMap<Gid, Vec<String>>: new groups and their servers
//! ck.leave(&[gid, ...])              // those groups leave
//! ck.move_shard(shard, gid)          // that shard goes to that group, nothing else moves
//! ck.query(Some(num)) -> Config      // config `num`; None (or a num past the last): the latest
//! ```
//!
//! What the controller must do:
//! - `join` and `leave` divide the shards as evenly as possible over the
//!   groups (no group has more than one shard more than another), and move
//!   as few shards as possible to get there. Every replica must compute the
//!   same division: iterate over a `BTreeMap` or sorted gids, never a
//!   `HashMap`, whose order is random.
//! - `move_shard` assigns one shard and does not rebalance (a later `join`
//!   or `leave` may undo it).
//! - Each `join`, `leave` and `move_shard` makes exactly one new config,
//!   numbered one past the last; a gid may join again after it left; with
//!   no groups, every shard is on gid 0.
//! - A `query` of the latest config reflects every request that finished
//!   before it began: it goes through the Raft log too.
//! - Duplicates: the tests of this part do not check for them, but 4B drives
//!   the controller over an unreliable network, where a clerk retries
//!   requests that may have committed. Apply each once, as in lab 3.
//! - The controller never snapshots: its Raft log grows for ever.
//!
//! Rules that hold throughout:
//! - Threads, time, locks, channels and random numbers come from `labrt`
//!   (`make lint` checks it).
//! - Never hold your lock while waiting for Raft to commit, or for an RPC:
//!   wait on a `Condvar` or a channel, which releases it.
//! - Use `raft::dlog!` for debug output (topic `Ctrl` for the clerk and the
//!   server; `LAB_LOG=1` turns it on).

// A crate-level forbid: no `#[allow]` in the student's modules can lift it,
// so a submission cannot reach into the tester's memory.
#![forbid(unsafe_code)]

mod client;
mod common;
mod server;

pub use client::Clerk;
pub use common::{
    Config, Gid, JoinArgs, JoinReply, LeaveArgs, LeaveReply, MoveArgs, MoveReply, NSHARDS,
    QueryArgs, QueryReply, Status,
};
pub use server::{Op, ShardCtrler, start_server};
