//! The RPCs of the `ShardKV` service: `Get` and `PutAppend` between clerks
//! and groups, and the ones you add between groups. Add the fields you need
//! (every field travels through labgob, so it must be `Serialize` and
//! `Deserialize`).

// SOLUTION BEGIN
use std::collections::BTreeMap;
// SOLUTION END

use serde::{Deserialize, Serialize};

/// How a server answers a request (Go's `Err`: `OK`, `ErrNoKey`,
/// `ErrWrongGroup`, `ErrWrongLeader`). Add variants if you need them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Done.
    Ok,
    /// A `Get` of a key that has no value (the clerk returns "").
    NoKey,
    /// The key's shard is not this group's (now): ask the controller for
    /// the latest config and try the group it names.
    WrongGroup,
    /// This server cannot do it (it is not the leader, or lost its
    /// leadership before the request committed): try another one.
    WrongLeader,
    // SOLUTION BEGIN
    /// (between groups) The group asked for a shard has not reached the
    /// config yet, or has moved past it: ask again later.
    NotReady,
    // SOLUTION END
}

/// Whether a `PutAppend` replaces the value or appends to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    Put,
    Append,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendArgs {
    pub key: String,
    pub value: String,
    pub op: OpKind,
    // SOLUTION BEGIN
    /// Who sent it, and its number among that clerk's requests: a group
    /// applies each (client, seq) once, however often it is retried.
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PutAppendReply {
    pub status: Status,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetArgs {
    pub key: String,
    // SOLUTION BEGIN
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // You'll have to add fields here.
    // SOLUTION END
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetReply {
    pub status: Status,
    pub value: String,
}

// SOLUTION BEGIN
/// One shard's state that moves between groups: its data, and its part of
/// the duplicate table (the last request applied, per clerk, among those
/// for keys of this shard).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    pub data: BTreeMap<String, String>,
    pub last_seq: BTreeMap<u64, u64>,
}

/// `ShardKV.Pull`: a group that gains `shards` in config `config_num` asks
/// the group that had them for their data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullArgs {
    pub config_num: usize,
    pub shards: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullReply {
    pub status: Status,
    pub shards: BTreeMap<usize, ShardData>,
}

/// `ShardKV.Delete`: the group that gained `shards` in config `config_num`
/// has them; the group that had them may forget them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteArgs {
    pub config_num: usize,
    pub shards: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeleteReply {
    pub status: Status,
}
// SOLUTION END
