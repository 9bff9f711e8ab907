//! The RPCs between clerks and servers: `KVServer.Get` and
//! `KVServer.PutAppend`. Add the fields you need (every field travels
//! through labgob, so it must be `Serialize` and `Deserialize`).

use serde::{Deserialize, Serialize};

/// How a server answers a request (Go's `Err`: `OK`, `ErrNoKey`,
/// `ErrWrongLeader`). Add variants if you need them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Done.
    Ok,
    /// A `Get` of a key that has no value (the clerk returns "").
    NoKey,
    /// This server cannot do it (it is not the leader, or lost its
    /// leadership before the request committed): try another one.
    WrongLeader,
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
    /// Who sent it, and its number among that clerk's requests: a server
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
