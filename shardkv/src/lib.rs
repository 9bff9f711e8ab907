//! Lab 4B: the sharded key/value service.
//!
//! The keys are split into [`NSHARDS`] shards ([`key2shard`]), and each
//! shard is served by one replica group: three servers running your Raft,
//! each a [`ShardKv`] like your lab 3 server. Which group serves which
//! shard is decided by the shard controller you built in 4A, and changes as
//! groups join and leave: a group then hands the shards it loses to the
//! groups that gain them, data, duplicate table and all, while clients go
//! on using every shard.
//!
//! You write a [`Clerk`] (`src/client.rs`), the RPC types (`src/common.rs`)
//! and a [`ShardKv`] (`src/server.rs`), and add the RPCs the groups need
//! between them (to move a shard, to say it arrived) to its service.
//!
//! What the tester uses:
//!
//! ```text
//! let kv = start_server(peers, me, persister, maxraftstate, gid, ctrlers, make_end);
//! kv.service(), kv.raft().service()  // its "ShardKV" and "Raft" services, for labrpc
//! kv.kill()                          // the replica is being shut down
//!
//! let mut ck = Clerk::new(ctrlers, make_end);  // a client: ends to the controllers
//! ck.get("k") -> String              // "" if the key is missing
//! ck.put("k", "v"); ck.append("k", "w")
//! ```
//!
//! `make_end(name)` gives an end to the server called `name` in a config's
//! `groups` (e.g. `"server-101-2"`): that is how clerks reach a group, and
//! how a group reaches another.
//!
//! What the service must do:
//! - Serve each key from the group its shard belongs to, and only there:
//!   a server of another group answers `WrongGroup`, also while a
//!   configuration change is under way.
//! - Poll the controller for the next config about every 100 ms, and go
//!   through configs one at a time, in order, each through the Raft log,
//!   so that every replica of a group changes config at the same point
//!   among the client operations.
//! - Move shards between groups by RPC. A group that gains a shard serves
//!   it only once it has the shard's data from the group that had it; at
//!   most one group serves a shard at any time.
//! - Apply each `put` and `append` exactly once, however often a clerk
//!   retries it, even when the shard moves to another group in between:
//!   the duplicate table moves with the shard.
//! - Snapshot as in lab 3 (the configs and the shards' state go in the
//!   snapshot too).
//! - Challenges (no points by default): delete the shards a group no longer
//!   owns once their new owner has them (`challenge1_delete_4b`); keep
//!   serving the shards a config change does not touch, and serve a shard
//!   as soon as it has arrived, even while others are still missing
//!   (`challenge2_unaffected_4b`, `challenge2_partial_4b`).
//!
//! Rules that hold throughout:
//! - Threads, time, locks, channels and random numbers come from `labrt`
//!   (`make lint` checks it).
//! - Never hold your lock while waiting for Raft to commit, or for an RPC
//!   (to the controller or to another group).
//! - Every long-running thread returns soon after `kill()`: the tester
//!   checks (in the simulation) that a shut-down server's threads stop.
//! - Use `raft::dlog!` for debug output (topic `Shkv` for the clerk and the
//!   server; `LAB_LOG=1` turns it on).

// A crate-level forbid: no `#[allow]` in the student's modules can lift it,
// so a submission cannot reach into the tester's memory.
#![forbid(unsafe_code)]

mod client;
mod common;
mod server;

use labrpc::ClientEnd;
use labrt::sync::Arc;

pub use client::Clerk;
pub use common::{GetArgs, GetReply, OpKind, PutAppendArgs, PutAppendReply, Status};
pub use server::{Op, ShardKv, start_server};
pub use shardctrler::{Gid, NSHARDS};

/// Gives an end to the server with this name (a name from a config's
/// `groups`), connected and enabled. Each call makes a new end: keep the
/// ends you use often.
pub type MakeEnd = Arc<dyn Fn(&str) -> ClientEnd + Send + Sync>;

/// Which shard a key belongs to: its first byte, modulo [`NSHARDS`] (0 for
/// the empty key). Please use this function, and do not change it: the
/// tests choose their keys by it.
pub fn key2shard(key: &str) -> usize {
    key.as_bytes().first().map_or(0, |&b| usize::from(b)) % NSHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key2shard_uses_the_first_byte() {
        assert_eq!(key2shard(""), 0);
        assert_eq!(key2shard("0"), 8);
        assert_eq!(key2shard("1"), 9);
        assert_eq!(key2shard("2"), 0);
        assert_eq!(key2shard("19"), 9);
        assert_eq!(key2shard("29"), 0);
    }
}
