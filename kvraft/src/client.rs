//! The clerk: what a client of the key/value service calls.
//!
//! A clerk sends each request to the server it believes is the leader and
//! retries, on the next server, until some server answers that it is done:
//! a call may be lost, reach a server that is not the leader, or reach a
//! leader that loses its leadership before the request commits. The tester
//! hands the clerk its servers in a random order, so `servers[i]` need not
//! be server `i`.
//!
//! Retrying makes duplicates: a `put` or `append` may commit, and then the
//! reply be lost. The servers must recognise a retry and not apply it twice;
//! give them what they need for that in the request (which clerk sent it,
//! and which of its requests it is).

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use labrpc::ClientEnd;
use labrt::time::{Duration, sleep};
use raft::dlog;

use crate::common::{GetArgs, GetReply, OpKind, PutAppendArgs, PutAppendReply, Status};

// SOLUTION BEGIN
/// After trying every server in turn without success (an election is
/// probably under way), wait this long before the next round, rather than
/// flood the servers with calls they cannot serve.
const RETRY_ROUND_PAUSE: Duration = Duration::from_millis(20);
// SOLUTION END

/// A client of the key/value service. It does one operation at a time.
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
    // // You will have to modify this struct.
    // SOLUTION END
}

impl Clerk {
    /// A clerk that reaches the service through `servers`, one end per
    /// server.
    pub fn new(servers: Vec<ClientEnd>) -> Clerk {
        // SOLUTION BEGIN
        Clerk {
            servers,
            client_id: labrt::rand::random(),
            seq: 0,
            leader: 0,
        }
        // SOLUTION STUB
        // // You'll have to add code here.
        // Clerk { servers }
        // SOLUTION END
    }

    /// Fetches the current value of `key`: "" if the key does not exist.
    /// Keeps trying forever in the face of all other errors.
    ///
    /// Send an RPC with code like this:
    /// `let reply: Option<GetReply> = self.servers[i].call("KVServer.Get", &args);`
    /// `None` means no reply came: the server is down or unreachable, or the
    /// request or the reply was lost.
    pub fn get(&mut self, key: &str) -> String {
        // SOLUTION BEGIN
        let args = GetArgs {
            key: key.to_string(),
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: GetReply = server.call("KVServer.Get", &args)?;
            match reply.status {
                Status::Ok => Some(reply.value),
                Status::NoKey => Some(String::new()),
                Status::WrongLeader => None,
            }
        })
        // SOLUTION STUB
        // // You will have to modify this function.
        // String::new()
        // SOLUTION END
    }

    /// Shared by `put` and `append`. Keeps trying until the operation is done.
    ///
    /// Send an RPC with code like this:
    /// `let reply: Option<PutAppendReply> = self.servers[i].call("KVServer.PutAppend", &args);`
    pub fn put_append(&mut self, key: &str, value: &str, op: OpKind) {
        // SOLUTION BEGIN
        let args = PutAppendArgs {
            key: key.to_string(),
            value: value.to_string(),
            op,
            client_id: self.client_id,
            seq: self.next_seq(),
        };
        self.until_done(|server| {
            let reply: PutAppendReply = server.call("KVServer.PutAppend", &args)?;
            (reply.status == Status::Ok).then_some(())
        })
        // SOLUTION STUB
        // // You will have to modify this function.
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
                    Clnt,
                    self.leader,
                    "clerk {:x} seq {}: no answer, trying the next server",
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
