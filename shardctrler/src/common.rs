//! The configuration, and the RPCs between clerks and the controller:
//! `ShardCtrler.Join`, `ShardCtrler.Leave`, `ShardCtrler.Move` and
//! `ShardCtrler.Query`.
//!
//! The controller keeps a numbered list of configs. Config 0 (what
//! `Config::default()` gives) has no groups, and every shard is on gid 0,
//! the invalid group. Each `Join`, `Leave` and `Move` makes the next config.
//!
//! Add the fields you need to the RPC arguments (every field travels
//! through labgob, so it must be `Serialize` and `Deserialize`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The number of shards.
pub const NSHARDS: usize = 10;

/// A replica group's id. Gid 0 is the invalid group: in config 0, and
/// whenever there are no groups, every shard is on it.
pub type Gid = u64;

/// Which replica group serves each shard, and which servers are in each
/// group. Please don't change this: the tester reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Config {
    /// The config's number: its index in the controller's list.
    pub num: usize,
    /// Shard → gid.
    pub shards: [Gid; NSHARDS],
    /// Gid → the names of its servers.
    pub groups: BTreeMap<Gid, Vec<String>>,
}

/// How the controller answers a request besides `wrong_leader` (Go's
/// `Err`, of which the skeleton defines only `OK`). Add variants if you
/// need them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Done.
    Ok,
}

/// Adds groups: each new gid with the names of its servers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinArgs {
    pub servers: BTreeMap<Gid, Vec<String>>,
    // SOLUTION BEGIN
    /// Who sent it, and its number among that clerk's requests: the
    /// controller applies each (client, seq) once, however often it is
    /// retried.
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinReply {
    /// This server cannot do it (it is not the leader, or lost its
    /// leadership before the request committed): try another one.
    pub wrong_leader: bool,
    pub status: Status,
}

/// Removes groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaveArgs {
    pub gids: Vec<Gid>,
    // SOLUTION BEGIN
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LeaveReply {
    pub wrong_leader: bool,
    pub status: Status,
}

/// Assigns one shard to one group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveArgs {
    pub shard: usize,
    pub gid: Gid,
    // SOLUTION BEGIN
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MoveReply {
    pub wrong_leader: bool,
    pub status: Status,
}

/// Asks for a config.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryArgs {
    /// The config wanted; `None` (Go's −1), or a number past the last
    /// config, asks for the latest.
    pub num: Option<usize>,
    // SOLUTION BEGIN
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueryReply {
    pub wrong_leader: bool,
    pub status: Status,
    pub config: Config,
}
