//! The clerk: what a client of the shard controller calls (the tester,
//! and in 4B the replica groups and their clients).
//!
//! The skeleton's clerk already works, apart from duplicates: it tries
//! every server in turn until one that is the leader answers, and pauses
//! after each round in which none did. The tester hands the clerk its
//! servers in a random order, so `servers[i]` need not be server `i`.
//!
//! Retrying makes duplicates: a `join` may commit, and then the reply be
//! lost. The controller must recognise a retry and not apply it twice (a
//! second `join` or `leave` would make an extra config); give it what it
//! needs for that in the request (which clerk sent it, and which of its
//! requests it is).

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use std::collections::BTreeMap;

use labrpc::ClientEnd;
use labrt::time::{Duration, sleep};
use raft::dlog;

use crate::common::{
    Config, Gid, JoinArgs, JoinReply, LeaveArgs, LeaveReply, MoveArgs, MoveReply, QueryArgs,
    QueryReply,
};

/// After trying every server in turn without success (an election is
/// probably under way), wait this long before the next round, rather than
/// flood the servers with calls they cannot serve.
const RETRY_ROUND_PAUSE: Duration = Duration::from_millis(100);

/// A client of the shard controller. It does one request at a time.
pub struct Clerk {
    servers: Vec<ClientEnd>,
    // SOLUTION BEGIN
    /// A random number that names this clerk to the servers.
    client_id: u64,
    /// The number of this clerk's last request.
    seq: u64,
    /// The server that last did a request for us: probably the leader.
    leader: usize,
    // SOLUTION STUB
    // // Your data here.
    // SOLUTION END
}

impl Clerk {
    /// A clerk that reaches the controller through `servers`, one end per
    /// replica.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        // SOLUTION BEGIN
        Clerk {
            servers,
            client_id: labrt::rand::random(),
            seq: 0,
            leader: 0,
        }
        // SOLUTION STUB
        // // Your code here.
        // Clerk { servers }
        // SOLUTION END
    }

    /// Config number `num`; with `None` (Go's −1), or a number past the
    /// last config, the latest one. Keeps trying forever.
    pub fn query(&mut self, num: Option<usize>) -> Config {
        // SOLUTION BEGIN
        let args = QueryArgs {
            num,
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: QueryReply = server.call("ShardCtrler.Query", &args)?;
            (!reply.wrong_leader).then_some(reply.config)
        })
        // SOLUTION STUB
        // // Your code here.
        // let args = QueryArgs { num };
        // loop {
        //     // Try each known server.
        //     for server in &self.servers {
        //         let reply: Option<QueryReply> = server.call("ShardCtrler.Query", &args);
        //         if let Some(reply) = reply
        //             && !reply.wrong_leader
        //         {
        //             return reply.config;
        //         }
        //     }
        //     sleep(RETRY_ROUND_PAUSE);
        // }
        // SOLUTION END
    }

    /// Adds the groups in `servers` (gid → the names of its servers) and
    /// rebalances. Keeps trying until it is done.
    pub fn join(&mut self, servers: BTreeMap<Gid, Vec<String>>) {
        // SOLUTION BEGIN
        let args = JoinArgs {
            servers,
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: JoinReply = server.call("ShardCtrler.Join", &args)?;
            (!reply.wrong_leader).then_some(())
        })
        // SOLUTION STUB
        // // Your code here.
        // let args = JoinArgs { servers };
        // loop {
        //     // Try each known server.
        //     for server in &self.servers {
        //         let reply: Option<JoinReply> = server.call("ShardCtrler.Join", &args);
        //         if let Some(reply) = reply
        //             && !reply.wrong_leader
        //         {
        //             return;
        //         }
        //     }
        //     sleep(RETRY_ROUND_PAUSE);
        // }
        // SOLUTION END
    }

    /// Removes the groups `gids` and rebalances. Keeps trying until it is
    /// done.
    pub fn leave(&mut self, gids: &[Gid]) {
        // SOLUTION BEGIN
        let args = LeaveArgs {
            gids: gids.to_vec(),
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: LeaveReply = server.call("ShardCtrler.Leave", &args)?;
            (!reply.wrong_leader).then_some(())
        })
        // SOLUTION STUB
        // // Your code here.
        // let args = LeaveArgs {
        //     gids: gids.to_vec(),
        // };
        // loop {
        //     // Try each known server.
        //     for server in &self.servers {
        //         let reply: Option<LeaveReply> = server.call("ShardCtrler.Leave", &args);
        //         if let Some(reply) = reply
        //             && !reply.wrong_leader
        //         {
        //             return;
        //         }
        //     }
        //     sleep(RETRY_ROUND_PAUSE);
        // }
        // SOLUTION END
    }

    /// Assigns `shard` to the group `gid`, without rebalancing (Go's
    /// `Move`). Keeps trying until it is done.
    pub fn move_shard(&mut self, shard: usize, gid: Gid) {
        // SOLUTION BEGIN
        let args = MoveArgs {
            shard,
            gid,
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: MoveReply = server.call("ShardCtrler.Move", &args)?;
            (!reply.wrong_leader).then_some(())
        })
        // SOLUTION STUB
        // // Your code here.
        // let args = MoveArgs { shard, gid };
        // loop {
        //     // Try each known server.
        //     for server in &self.servers {
        //         let reply: Option<MoveReply> = server.call("ShardCtrler.Move", &args);
        //         if let Some(reply) = reply
        //             && !reply.wrong_leader
        //         {
        //             return;
        //         }
        //     }
        //     sleep(RETRY_ROUND_PAUSE);
        // }
        // SOLUTION END
    }

    // SOLUTION BEGIN
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Calls `attempt` on the leader we know of, then on each next server,
    /// until one gives an answer; remembers that server as the leader.
    fn until_done<T>(&mut self, mut attempt: impl FnMut(&ClientEnd) -> Option<T>) -> T {
        let n = self.servers.len();
        loop {
            for _ in 0..n {
                if let Some(answer) = attempt(&self.servers[self.leader]) {
                    return answer;
                }
                dlog!(
                    Ctrl,
                    self.leader,
                    "ctrler clerk {:x} seq {}: no answer, trying the next server",
                    self.client_id,
                    self.seq
                );
                self.leader = (self.leader + 1) % n;
            }
            sleep(RETRY_ROUND_PAUSE);
        }
    }
    // SOLUTION END
}
