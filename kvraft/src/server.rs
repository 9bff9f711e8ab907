//! The key/value server: one replica of the service.
//!
//! Each replica runs a Raft peer. A request (`Get` or `PutAppend`) becomes
//! an [`Op`] that the server hands to `raft.start()`; once Raft commits it,
//! every replica receives it on its apply channel and applies it to its own
//! copy of the data, in log order, so all copies stay equal. The server that
//! started the op then answers the clerk. Only the leader can start ops: any
//! other server answers `WrongLeader`, and so does a leader whose op lost
//! its place in the log to another leader's (the index it was given
//! committed a different op).
//!
//! Things to get right:
//! - Duplicates. A clerk retries a request whose reply it did not get, so
//!   the log can hold the same `put` or `append` twice; apply it once. The
//!   record of what each clerk last did is part of the state: it goes in
//!   snapshots too.
//! - Waiting. The handler waits for its op to come out of the apply
//!   channel, without holding the server's lock (wait on a `Condvar`, or a
//!   channel the applying thread sends on), and not forever: a leader cut
//!   off from the others never commits, and the clerk should try elsewhere.
//! - No stale reads: a `Get` goes through the log like the other ops, so a
//!   deposed leader cannot answer it from old data.
//! - Snapshots (3B): when `persister.raft_state_size()` reaches
//!   `maxraftstate`, encode the state with labgob and call
//!   `raft.snapshot(index, data)`. When Raft sends an `ApplyMsg::Snapshot`,
//!   and when the server starts, load the state from the snapshot.
//!
//! One rule keeps the apply channel flowing: the thread that reads it must
//! never block on anything but its own lock (Raft's applier waits for it).

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use std::collections::BTreeMap;

use labrpc::{ClientEnd, Service};
use labrt::channel::{self, Receiver, Sender};
use labrt::sync::atomic::{AtomicBool, Ordering};
use labrt::sync::{Arc, Mutex};
use labrt::time::Duration;
use raft::{ApplyMsg, Persister, Raft, dlog};
use serde::{Deserialize, Serialize};

use crate::common::{GetArgs, GetReply, OpKind, PutAppendArgs, PutAppendReply, Status};

// SOLUTION BEGIN
/// How long a handler waits for its op to commit before it tells the clerk
/// to try another server: long enough for a healthy leader (a few
/// milliseconds), short enough that a clerk stuck with a leader cut off from
/// the majority soon moves on.
const COMMIT_TIMEOUT: Duration = Duration::from_millis(500);
// SOLUTION END

/// What the servers agree on through Raft: one client request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    // SOLUTION BEGIN
    pub kind: OpKindOrGet,
    pub key: String,
    pub value: String,
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // Your definitions here: what a server needs to apply the request,
    // // and to recognise a duplicate.
    // SOLUTION END
}

// SOLUTION BEGIN
/// The three operations an `Op` can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKindOrGet {
    Get,
    Put,
    Append,
}

impl From<OpKind> for OpKindOrGet {
    fn from(kind: OpKind) -> OpKindOrGet {
        match kind {
            OpKind::Put => OpKindOrGet::Put,
            OpKind::Append => OpKindOrGet::Append,
        }
    }
}
// SOLUTION END

/// One replica of the key/value service.
pub struct KvServer {
    me: usize,
    rf: Arc<Raft<Op>>,
    dead: AtomicBool,
    /// Snapshot when Raft's saved state reaches this many bytes (3B);
    /// `None` (Go's −1): never.
    maxraftstate: Option<usize>,
    // SOLUTION BEGIN
    persister: Persister,
    state: Mutex<State>,
    // SOLUTION STUB
    // // Your definitions here.
    // SOLUTION END
}

// SOLUTION BEGIN
/// The replicated state machine, behind the server's one lock.
struct State {
    /// The part of the state that snapshots hold.
    machine: Machine,
    /// The index of the last op applied (or of the snapshot loaded).
    last_applied: usize,
    /// The handlers waiting for the op at an index to be applied: each gets
    /// the op that was applied there, and what it returned.
    waiting: BTreeMap<usize, Sender<(Op, String)>>,
}

/// The data and the duplicate table: what a snapshot saves.
#[derive(Default, Debug, Serialize, Deserialize)]
struct Machine {
    data: BTreeMap<String, String>,
    /// The highest request number applied for each clerk. A clerk sends one
    /// request at a time, numbered upwards, so anything at or below it is a
    /// duplicate.
    last_seq: BTreeMap<u64, u64>,
}

impl Machine {
    /// Applies `op` unless it is a duplicate.
    fn apply(&mut self, op: &Op) {
        let seen = self.last_seq.get(&op.client_id).copied().unwrap_or(0);
        if op.seq <= seen {
            return;
        }
        self.last_seq.insert(op.client_id, op.seq);
        match op.kind {
            OpKindOrGet::Get => {}
            OpKindOrGet::Put => {
                self.data.insert(op.key.clone(), op.value.clone());
            }
            OpKindOrGet::Append => self
                .data
                .entry(op.key.clone())
                .or_default()
                .push_str(&op.value),
        }
    }

    /// What `op` returns once applied: a `Get` reads its key. Only the
    /// server whose handler waits for the op asks; values grow with every
    /// append, and the other servers need not copy them.
    fn result(&self, op: &Op) -> String {
        match op.kind {
            OpKindOrGet::Get => self.data.get(&op.key).cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }
}
// SOLUTION END

/// Starts a replica and returns at once.
///
/// `servers[i]` reaches replica `i` (`servers[me]` is this one); its Raft
/// talks to the others through them. `persister` holds what this replica
/// saved before a crash, if anything: its Raft state and its snapshot.
/// With `maxraftstate = Some(n)`, snapshot when Raft's saved state reaches
/// about `n` bytes; with `None`, never.
pub fn start_kv_server(
    servers: Vec<ClientEnd>,
    me: usize,
    persister: Persister,
    maxraftstate: Option<usize>,
) -> Arc<KvServer> {
    // SOLUTION BEGIN
    // Room for 64 messages. The reference Raft never holds its lock while it
    // sends, so a buffer hides no deadlock of its own, and it saves the two
    // thread switches of a rendezvous per message: about 40 µs on this
    // machine, where Go switches goroutines in a fraction of a microsecond.
    // In persist_concurrent_3a, the first operation after a restart on a log
    // of 58,000 entries waited 2 s for the replay; now about 0.4 s, most of
    // it the election.
    let (apply_tx, apply_rx) = channel::bounded(64);
    // SOLUTION STUB
    // // Go's unbuffered channel, as in MIT's skeleton: Raft's send waits until
    // // this server takes the message. So a Raft that holds its lock while it
    // // sends, under a server that holds its own lock while it calls start(),
    // // deadlocks as in Go, instead of passing because a buffer took the wait.
    // let (apply_tx, apply_rx) = channel::bounded(0);
    // SOLUTION END
    let rf = Raft::make(servers, me, persister.clone(), apply_tx);
    // SOLUTION BEGIN
    let machine = decode_snapshot(&persister.read_snapshot());
    let kv = Arc::new(KvServer {
        me,
        rf,
        dead: AtomicBool::new(false),
        maxraftstate,
        persister,
        state: Mutex::new(State {
            machine,
            last_applied: 0,
            waiting: BTreeMap::new(),
        }),
    });
    let applier = kv.clone();
    labrt::thread::spawn_named(format!("kv-{me}-applier"), move || {
        applier.applier(apply_rx)
    });
    kv
    // SOLUTION STUB
    // // You may need initialization code here.
    // let _ = (persister, apply_rx);
    // Arc::new(KvServer {
    //     me,
    //     rf,
    //     dead: AtomicBool::new(false),
    //     maxraftstate,
    // })
    // SOLUTION END
}

impl KvServer {
    /// The `Get` handler.
    pub fn get(&self, args: GetArgs) -> GetReply {
        // SOLUTION BEGIN
        let op = Op {
            kind: OpKindOrGet::Get,
            key: args.key,
            value: String::new(),
            client_id: args.client_id,
            seq: args.seq,
        };
        match self.commit(op) {
            Some(value) => GetReply {
                status: Status::Ok,
                value,
            },
            None => GetReply {
                status: Status::WrongLeader,
                value: String::new(),
            },
        }
        // SOLUTION STUB
        // // Your code here.
        // GetReply {
        //     status: Status::WrongLeader,
        //     value: String::new(),
        // }
        // SOLUTION END
    }

    /// The `PutAppend` handler.
    pub fn put_append(&self, args: PutAppendArgs) -> PutAppendReply {
        // SOLUTION BEGIN
        let op = Op {
            kind: args.op.into(),
            key: args.key,
            value: args.value,
            client_id: args.client_id,
            seq: args.seq,
        };
        let status = match self.commit(op) {
            Some(_) => Status::Ok,
            None => Status::WrongLeader,
        };
        PutAppendReply { status }
        // SOLUTION STUB
        // // Your code here.
        // PutAppendReply {
        //     status: Status::WrongLeader,
        // }
        // SOLUTION END
    }

    /// The tester calls `kill()` when it is done with this replica; it kills
    /// the Raft peer too. Your long-running threads should stop once
    /// `killed()` is true.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.rf.kill();
        // Your code here, if desired.
    }

    /// Whether `kill()` was called.
    pub fn killed(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// This replica's Raft peer.
    pub fn raft(&self) -> &Arc<Raft<Op>> {
        &self.rf
    }

    /// The "KVServer" RPC service, for the tester to put on this replica's
    /// labrpc server (with [`KvServer::raft`]'s service beside it).
    pub fn service(self: &Arc<Self>) -> Service {
        let (get, put_append) = (self.clone(), self.clone());
        Service::new("KVServer")
            .method("Get", move |args| get.get(args))
            .method("PutAppend", move |args| put_append.put_append(args))
    }

    // SOLUTION BEGIN
    /// Starts `op` in Raft and waits for it to be applied; returns what it
    /// returned, or `None` if this server is not the leader, or the op did
    /// not commit in time or lost its place in the log.
    fn commit(&self, op: Op) -> Option<String> {
        let (done_tx, done_rx) = channel::bounded(1);
        {
            // Start and register under the lock, so that the applier cannot
            // apply the index before this handler waits for it.
            let mut st = self.state.lock();
            let (index, term, is_leader) = self.rf.start(op.clone());
            if !is_leader {
                return None;
            }
            dlog!(Clnt, self.me, "T{term} started {op:?} at {index}");
            // A handler still waiting at this index, from an earlier term,
            // lost its place: dropping its sender tells it so.
            st.waiting.insert(index, done_tx);
        }
        // On a timeout the sender stays in `waiting`: the applier drops it
        // when the index is applied, or a snapshot covers it.
        match done_rx.recv_timeout(COMMIT_TIMEOUT) {
            Ok((applied, value)) if applied.client_id == op.client_id && applied.seq == op.seq => {
                Some(value)
            }
            _ => {
                dlog!(Clnt, self.me, "{op:?} did not commit here");
                None
            }
        }
    }

    /// Reads the apply channel until Raft closes it: applies each committed
    /// op, hands the result to its waiting handler, loads snapshots, and
    /// snapshots when Raft's state has grown too large.
    fn applier(&self, apply_rx: Receiver<ApplyMsg<Op>>) {
        for msg in apply_rx {
            match msg {
                ApplyMsg::Command { index, command } => self.apply_command(index, command),
                ApplyMsg::Snapshot { index, data, .. } => {
                    let mut st = self.state.lock();
                    if index > st.last_applied {
                        dlog!(Snap, self.me, "loading the snapshot up to {index}");
                        st.machine = decode_snapshot(&data);
                        st.last_applied = index;
                        // The ops they wait for are in the snapshot, or lost:
                        // their clerks retry, and the duplicate table answers.
                        st.waiting.retain(|&i, _| i > index);
                    }
                }
            }
        }
    }

    fn apply_command(&self, index: usize, op: Op) {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return;
        }
        st.last_applied = index;
        st.machine.apply(&op);
        if let Some(done) = st.waiting.remove(&index) {
            let value = st.machine.result(&op);
            // Never blocks: the channel has room for this one message.
            let _ = done.send((op, value));
        }
        let snapshot = self
            .maxraftstate
            .is_some_and(|max| self.persister.raft_state_size() >= max)
            .then(|| labgob::encode(&st.machine));
        drop(st);
        if let Some(data) = snapshot {
            dlog!(Snap, self.me, "snapshot at {index}, {} bytes", data.len());
            self.rf.snapshot(index, data);
        }
    }
    // SOLUTION END
}

// SOLUTION BEGIN
/// The state a snapshot holds; empty if there is none.
fn decode_snapshot(data: &[u8]) -> Machine {
    if data.is_empty() {
        return Machine::default();
    }
    labgob::decode(data).unwrap_or_else(|e| panic!("kvraft: cannot decode a snapshot: {e}"))
}
// SOLUTION END
