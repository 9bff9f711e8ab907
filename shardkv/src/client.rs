//! The clerk: what a client of the sharded service calls.
//!
//! A clerk keeps the latest config it knows of. For a request it finds the
//! key's shard ([`key2shard`]), the group the config gives it, and tries
//! that group's servers in turn until one answers. A `WrongGroup` answer, or
//! a round in which no server answered, means the config it holds may be
//! old: it waits a little, asks the controller for the latest one, and
//! tries again. The skeleton's clerk already does this, apart from
//! duplicates.
//!
//! Retrying makes duplicates: a `put` or `append` may commit, and then the
//! reply be lost; the retry may even reach another group, after the shard
//! moved. Give the servers what they need to recognise a retry (which
//! clerk sent it, and which of its requests it is).

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use labrpc::ClientEnd;
use labrt::time::{Duration, sleep};
use shardctrler::Config;

// SOLUTION BEGIN
use std::collections::BTreeMap;

use raft::dlog;
// SOLUTION END

use crate::common::{GetArgs, GetReply, OpKind, PutAppendArgs, PutAppendReply, Status};
use crate::{MakeEnd, key2shard};

/// After a `WrongGroup` answer, or a round of the group's servers without
/// an answer, wait this long before asking the controller for the latest
/// config (MIT's clerk waits 100 ms).
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A client of the sharded key/value service. It does one operation at a
/// time.
pub struct Clerk {
    /// The controller's clerk.
    sm: shardctrler::Clerk,
    /// The latest config this clerk knows of (config 0 at first: no groups).
    config: Config,
    make_end: MakeEnd,
    // SOLUTION BEGIN
    /// A random number that names this clerk to the servers.
    client_id: u64,
    /// The number of this clerk's last request.
    seq: u64,
    /// The ends made so far, by server name: `make_end` makes a new one at
    /// every call.
    ends: BTreeMap<String, ClientEnd>,
    /// The server of each group that last answered: probably its leader.
    leaders: BTreeMap<shardctrler::Gid, usize>,
    // SOLUTION STUB
    // // You will have to modify this struct.
    // SOLUTION END
}

impl Clerk {
    /// A clerk that reaches the controller through `ctrlers`, and the
    /// groups' servers through `make_end`.
    pub fn new(ctrlers: Vec<ClientEnd>, make_end: MakeEnd) -> Clerk {
        Clerk {
            sm: shardctrler::Clerk::new(ctrlers),
            config: Config::default(),
            make_end,
            // SOLUTION BEGIN
            client_id: labrt::rand::random(),
            seq: 0,
            ends: BTreeMap::new(),
            leaders: BTreeMap::new(),
            // SOLUTION END
        }
    }

    /// Fetches the current value of `key`: "" if the key does not exist.
    /// Keeps trying forever in the face of all other errors.
    pub fn get(&mut self, key: &str) -> String {
        // SOLUTION BEGIN
        let args = GetArgs {
            key: key.to_string(),
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(key, |end| {
            let reply: GetReply = end.call("ShardKV.Get", &args)?;
            match reply.status {
                Status::Ok => Some(Ok(reply.value)),
                Status::NoKey => Some(Ok(String::new())),
                Status::WrongGroup => Some(Err(WrongGroup)),
                _ => None,
            }
        })
        // SOLUTION STUB
        // let args = GetArgs {
        //     key: key.to_string(),
        // };
        // loop {
        //     let shard = key2shard(key);
        //     let gid = self.config.shards[shard];
        //     if let Some(servers) = self.config.groups.get(&gid) {
        //         // Try each server of the shard's group.
        //         for name in servers {
        //             let end = (self.make_end)(name);
        //             let reply: Option<GetReply> = end.call("ShardKV.Get", &args);
        //             match reply.map(|r| (r.status, r.value)) {
        //                 Some((Status::Ok, value)) => return value,
        //                 Some((Status::NoKey, _)) => return String::new(),
        //                 Some((Status::WrongGroup, _)) => break,
        //                 // Not the leader, or no answer: try the next server.
        //                 _ => {}
        //             }
        //         }
        //     }
        //     sleep(RETRY_PAUSE);
        //     // Ask the controller for the latest configuration.
        //     self.config = self.sm.query(None);
        // }
        // SOLUTION END
    }

    /// Sets (`Put`) or extends (`Append`) the value of `key`. Keeps trying
    /// forever.
    pub fn put_append(&mut self, key: &str, value: &str, op: OpKind) {
        // SOLUTION BEGIN
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            op,
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(key, |end| {
            let reply: PutAppendReply = end.call("ShardKV.PutAppend", &args)?;
            match reply.status {
                Status::Ok => Some(Ok(())),
                Status::WrongGroup => Some(Err(WrongGroup)),
                _ => None,
            }
        })
        // SOLUTION STUB
        // let args = PutAppendArgs {
        //     key: key.to_string(),
        //     value: value.to_string(),
        //     op,
        // };
        // loop {
        //     let shard = key2shard(key);
        //     let gid = self.config.shards[shard];
        //     if let Some(servers) = self.config.groups.get(&gid) {
        //         for name in servers {
        //             let end = (self.make_end)(name);
        //             let reply: Option<PutAppendReply> = end.call("ShardKV.PutAppend", &args);
        //             match reply.map(|r| r.status) {
        //                 Some(Status::Ok) => return,
        //                 Some(Status::WrongGroup) => break,
        //                 _ => {}
        //             }
        //         }
        //     }
        //     sleep(RETRY_PAUSE);
        //     self.config = self.sm.query(None);
        // }
        // SOLUTION END
    }

    pub fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, OpKind::Put);
    }

    pub fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, OpKind::Append);
    }

    // SOLUTION BEGIN
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Calls `attempt` on the servers of the group that serves `key`'s
    /// shard, starting with the one that answered last, until one answers;
    /// after a `WrongGroup` answer or a round without one, waits and asks
    /// the controller for the latest config.
    fn until_done<T>(
        &mut self,
        key: &str,
        mut attempt: impl FnMut(&ClientEnd) -> Option<Result<T, WrongGroup>>,
    ) -> T {
        let shard = key2shard(key);
        loop {
            let gid = self.config.shards[shard];
            if let Some(servers) = self.config.groups.get(&gid).cloned() {
                let first = self.leaders.get(&gid).copied().unwrap_or(0);
                for i in (0..servers.len()).map(|k| (first + k) % servers.len()) {
                    let end = self.end(&servers[i]);
                    match attempt(&end) {
                        Some(Ok(answer)) => {
                            self.leaders.insert(gid, i);
                            return answer;
                        }
                        Some(Err(WrongGroup)) => break,
                        None => {}
                    }
                }
            }
            dlog!(
                Shkv,
                usize::try_from(gid).unwrap_or(usize::MAX),
                "clerk {:x} seq {}: shard {shard} not served by gid {gid} in config {}",
                self.client_id,
                self.seq,
                self.config.num
            );
            sleep(RETRY_PAUSE);
            self.config = self.sm.query(None);
        }
    }

    /// The end to the server called `name`, made once.
    fn end(&mut self, name: &str) -> ClientEnd {
        let make_end = &self.make_end;
        self.ends
            .entry(name.to_string())
            .or_insert_with(|| make_end(name))
            .clone()
    }
    // SOLUTION END
}

// SOLUTION BEGIN
/// A server answered that the key's shard is not its group's.
struct WrongGroup;
// SOLUTION END
