//! The sharded key/value server: one replica of one replica group.
//!
//! As in lab 3, each replica runs a Raft peer, and everything the group
//! decides goes through its log: client requests, and now also each new
//! configuration and each shard that arrives or leaves. Every replica
//! applies the log in order to its own copy of the state, so all copies
//! agree on which shards the group serves at each point among the client
//! operations.
//!
//! What a group does as configurations change:
//! - Its leader asks the controller for the next config (`num + 1`) about
//!   every 100 ms, and puts it in the log. Configs are taken one at a time,
//!   in order: the next one only once the last change is complete.
//! - For a shard it gains, it asks the group that had the shard (in the
//!   previous config) for the shard's data, by an RPC you add to the
//!   service, and puts what it gets in the log. It serves the shard only
//!   once the data is applied. A shard that had no group before (gid 0)
//!   starts empty.
//! - For a shard it loses, it stops serving it at once (a request for it
//!   gets `WrongGroup`), and keeps the data until the new owner has it.
//! - The duplicate table moves with the shard's data: a clerk may retry a
//!   request with the new owner that the old owner already applied.
//!
//! Things to get right:
//! - Decide at apply time, not in the handler, whether a request's shard
//!   is served: a config change may be applied between the two.
//! - Every replica must take the same decisions from the same log: no
//!   `HashMap` iteration, no clock, no randomness in what `apply` does.
//! - Never hold your lock while waiting for Raft, the controller or
//!   another group; never block the thread that reads the apply channel.
//! - Threads that poll or pull check `killed()` and return once it is true.
//! - Snapshots (as in lab 3) hold everything `apply` builds: the data, the
//!   duplicate tables, the configs and where each shard's move stands.

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use labrpc::{ClientEnd, Service};
use labrt::channel;
use labrt::sync::Arc;
use labrt::sync::atomic::{AtomicBool, Ordering};
use raft::{Persister, Raft};
use serde::{Deserialize, Serialize};

// SOLUTION BEGIN
use std::collections::BTreeMap;

use labrt::channel::{Receiver, Sender};
use labrt::sync::Mutex;
use labrt::time::Duration;
use raft::{ApplyMsg, dlog};
use shardctrler::Config;

use crate::common::{DeleteArgs, DeleteReply, OpKind, PullArgs, PullReply, ShardData};
use crate::{NSHARDS, key2shard};
// SOLUTION END

use crate::common::{GetArgs, GetReply, PutAppendArgs, PutAppendReply, Status};
use crate::{Gid, MakeEnd};

// SOLUTION BEGIN
/// How long a handler waits for its op to commit before it tells the clerk
/// to try another server.
const COMMIT_TIMEOUT: Duration = Duration::from_millis(500);
/// How often the leader asks the controller for the next config and pushes
/// migrations along (MIT: "roughly every 100 milliseconds").
const POLL_INTERVAL: Duration = Duration::from_millis(100);
// SOLUTION END

/// What the replicas of a group agree on through Raft.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
// SOLUTION BEGIN
pub enum Op {
    /// A clerk's request.
    Client(ClientOp),
    /// The next config.
    Config(Config),
    /// Shards gained in config `config_num`, as their old owner had them.
    Install {
        config_num: usize,
        shards: BTreeMap<usize, ShardData>,
    },
    /// (old owner) The new owner of `shards`, lost in config `config_num`,
    /// has them: forget them.
    Delete {
        config_num: usize,
        shards: Vec<usize>,
    },
    /// (new owner) The old owner of `shards`, gained in config
    /// `config_num`, forgot them.
    Deleted {
        config_num: usize,
        shards: Vec<usize>,
    },
    /// A new leader's first entry. Raft commits the entries of earlier
    /// terms only along with one of the leader's own, and a group whose
    /// shards all wait on a move gets no client requests: without this,
    /// a restarted group could wait for ever on the steps it logged before
    /// the crash.
    Nop,
}

/// A `Get`, `Put` or `Append`, and who sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientOp {
    /// `None` for a `Get`.
    pub kind: Option<OpKind>,
    pub key: String,
    pub value: String,
    pub client_id: u64,
    pub seq: u64,
}
// SOLUTION STUB
// pub struct Op {
//     // Your definitions here: what goes in the Raft log.
// }
// SOLUTION END

/// One replica of one group of the sharded key/value service.
pub struct ShardKv {
    me: usize,
    rf: Arc<Raft<Op>>,
    dead: AtomicBool,
    /// Snapshot when Raft's saved state reaches this many bytes; `None`
    /// (Go's −1): never.
    maxraftstate: Option<usize>,
    /// This replica's group.
    gid: Gid,
    /// Reaches the servers of other groups, by name.
    make_end: MakeEnd,
    // SOLUTION BEGIN
    persister: Persister,
    state: Mutex<State>,
    /// Wakes the poller early: a change was applied that it may act on.
    kick: Sender<()>,
    // SOLUTION STUB
    // /// The controller's servers (make a `shardctrler::Clerk` with them).
    // ctrlers: Vec<ClientEnd>,
    // // Your definitions here.
    // SOLUTION END
}

// SOLUTION BEGIN
/// The replicated state machine, behind the server's one lock.
struct State {
    machine: Machine,
    /// The index of the last op applied (or of the snapshot loaded).
    last_applied: usize,
    /// The handlers waiting for the op at an index to be applied: each gets
    /// the op that was applied there, and its outcome.
    waiting: BTreeMap<usize, Sender<(Op, Outcome)>>,
}

/// What applying an op answers the handler that started it.
#[derive(Clone, Debug)]
struct Outcome {
    status: Status,
    value: String,
}

/// Where a shard stands in this group, in the current config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum ShardState {
    /// Not ours.
    #[default]
    NotOwned,
    /// Ours: served.
    Serving,
    /// Ours in this config, but its data is still with the previous owner.
    Pulling,
    /// Ours, served; the previous owner has not yet forgotten its copy.
    Confirming,
    /// Ours in the previous config, not in this one: not served, kept until
    /// the new owner has it.
    Leaving,
}

impl ShardState {
    /// Whether the shard's move in the current config is complete: the
    /// group takes the next config only when every shard's is.
    fn settled(self) -> bool {
        matches!(self, ShardState::NotOwned | ShardState::Serving)
    }

    fn served(self) -> bool {
        matches!(self, ShardState::Serving | ShardState::Confirming)
    }
}

/// One shard in this group: where it stands, and its data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Shard {
    state: ShardState,
    store: ShardData,
}

/// Everything applying the log builds: what a snapshot saves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Machine {
    /// The config this group is in, and the one before it (which says where
    /// the shards gained in this one come from).
    config: Config,
    prev: Config,
    shards: Vec<Shard>,
}

impl Default for Machine {
    fn default() -> Machine {
        Machine {
            config: Config::default(),
            prev: Config::default(),
            shards: vec![Shard::default(); NSHARDS],
        }
    }
}

impl Machine {
    /// Applies `op`; returns what the handler that started it answers.
    fn apply(&mut self, gid: Gid, op: &Op) -> Outcome {
        match op {
            Op::Client(op) => return self.apply_client(op),
            Op::Config(next) => self.next_config(gid, next),
            Op::Install { config_num, shards } if *config_num == self.config.num => {
                for (&shard, data) in shards {
                    if self.shards[shard].state == ShardState::Pulling {
                        self.shards[shard] = Shard {
                            state: ShardState::Confirming,
                            store: data.clone(),
                        };
                    }
                }
            }
            Op::Delete { config_num, shards } if *config_num == self.config.num => {
                for &shard in shards {
                    if self.shards[shard].state == ShardState::Leaving {
                        self.shards[shard] = Shard::default();
                    }
                }
            }
            Op::Deleted { config_num, shards } if *config_num == self.config.num => {
                for &shard in shards {
                    if self.shards[shard].state == ShardState::Confirming {
                        self.shards[shard].state = ShardState::Serving;
                    }
                }
            }
            // A late copy of a step of an earlier config: already done.
            Op::Install { .. } | Op::Delete { .. } | Op::Deleted { .. } | Op::Nop => {}
        }
        Outcome::ok(String::new())
    }

    /// Applies a clerk's request to its shard, if this group serves it now,
    /// unless it is a duplicate.
    fn apply_client(&mut self, op: &ClientOp) -> Outcome {
        let shard = &mut self.shards[key2shard(&op.key)];
        if !shard.state.served() {
            return Outcome {
                status: Status::WrongGroup,
                value: String::new(),
            };
        }
        let store = &mut shard.store;
        let seen = store.last_seq.get(&op.client_id).copied().unwrap_or(0);
        if op.seq > seen {
            store.last_seq.insert(op.client_id, op.seq);
            match op.kind {
                None => {}
                Some(OpKind::Put) => {
                    store.data.insert(op.key.clone(), op.value.clone());
                }
                Some(OpKind::Append) => store
                    .data
                    .entry(op.key.clone())
                    .or_default()
                    .push_str(&op.value),
            }
        }
        Outcome::ok(match op.kind {
            None => store.data.get(&op.key).cloned().unwrap_or_default(),
            Some(_) => String::new(),
        })
    }

    /// Moves to `next` if it is the config after this one and this one's
    /// moves are complete; starts the moves `next` makes.
    fn next_config(&mut self, gid: Gid, next: &Config) {
        if next.num != self.config.num + 1 || !self.settled() {
            return;
        }
        for (shard, state) in self.shards.iter_mut().enumerate() {
            let (was, is) = (self.config.shards[shard], next.shards[shard]);
            state.state = match (was == gid, is == gid) {
                (true, true) => ShardState::Serving,
                (true, false) => ShardState::Leaving,
                // A shard no group had: nothing to fetch.
                (false, true) if was == 0 => ShardState::Serving,
                (false, true) => ShardState::Pulling,
                (false, false) => ShardState::NotOwned,
            };
        }
        self.prev = std::mem::replace(&mut self.config, next.clone());
    }

    fn settled(&self) -> bool {
        self.shards.iter().all(|shard| shard.state.settled())
    }

    /// The shards in `state`, by the group that owned them in the previous
    /// config: whom to ask for them, or to tell.
    fn shards_by_previous_owner(&self, state: ShardState) -> BTreeMap<Gid, Vec<usize>> {
        let mut by_gid: BTreeMap<Gid, Vec<usize>> = BTreeMap::new();
        for (shard, _) in self
            .shards
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == state)
        {
            by_gid
                .entry(self.prev.shards[shard])
                .or_default()
                .push(shard);
        }
        by_gid
    }
}

impl Outcome {
    fn ok(value: String) -> Outcome {
        Outcome {
            status: Status::Ok,
            value,
        }
    }
}
// SOLUTION END

/// Starts a replica of group `gid` and returns at once.
///
/// `servers[i]` reaches replica `i` of this group (`servers[me]` is this
/// one); `ctrlers` reach the shard controller's servers, and `make_end`
/// other groups' servers by name. `persister` holds what this replica saved
/// before a crash. With `maxraftstate = Some(n)`, snapshot when Raft's
/// saved state reaches about `n` bytes; with `None`, never.
pub fn start_server(
    servers: Vec<ClientEnd>,
    me: usize,
    persister: Persister,
    maxraftstate: Option<usize>,
    gid: Gid,
    ctrlers: Vec<ClientEnd>,
    make_end: MakeEnd,
) -> Arc<ShardKv> {
    // SOLUTION BEGIN
    // Room for 64 messages, to replay a log without two thread switches per
    // entry: see kvraft's start_kv_server.
    let (apply_tx, apply_rx) = channel::bounded(64);
    // SOLUTION STUB
    // // Go's unbuffered channel, as in the other labs: Raft's send waits until
    // // this server takes the message.
    // let (apply_tx, apply_rx) = channel::bounded(0);
    // SOLUTION END
    let rf = Raft::make(servers, me, persister.clone(), apply_tx);
    // SOLUTION BEGIN
    let (kick, kicked) = channel::bounded(1);
    let kv = Arc::new(ShardKv {
        me,
        rf,
        dead: AtomicBool::new(false),
        maxraftstate,
        gid,
        make_end,
        state: Mutex::new(State {
            machine: decode_snapshot(&persister.read_snapshot()),
            last_applied: 0,
            waiting: BTreeMap::new(),
        }),
        persister,
        kick,
    });
    let applier = kv.clone();
    labrt::thread::spawn_named(format!("shardkv-{gid}-{me}-applier"), move || {
        applier.applier(apply_rx)
    });
    let poller = kv.clone();
    let ctrler = shardctrler::Clerk::new(ctrlers);
    labrt::thread::spawn_named(format!("shardkv-{gid}-{me}-poller"), move || {
        poller.poller(ctrler, kicked)
    });
    kv
    // SOLUTION STUB
    // // You may need initialization code here.
    // let _ = apply_rx;
    // Arc::new(ShardKv {
    //     me,
    //     rf,
    //     dead: AtomicBool::new(false),
    //     maxraftstate,
    //     gid,
    //     make_end,
    //     ctrlers,
    // })
    // SOLUTION END
}

impl ShardKv {
    /// The `Get` handler.
    pub fn get(&self, args: GetArgs) -> GetReply {
        // SOLUTION BEGIN
        let op = Op::Client(ClientOp {
            kind: None,
            key: args.key,
            value: String::new(),
            client_id: args.client_id,
            seq: args.seq,
        });
        let outcome = self.commit(op);
        GetReply {
            status: outcome.status,
            value: outcome.value,
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
        let op = Op::Client(ClientOp {
            kind: Some(args.op),
            key: args.key,
            value: args.value,
            client_id: args.client_id,
            seq: args.seq,
        });
        PutAppendReply {
            status: self.commit(op).status,
        }
        // SOLUTION STUB
        // // Your code here.
        // PutAppendReply {
        //     status: Status::WrongLeader,
        // }
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// The `Pull` handler: another group gained `args.shards` in config
    /// `args.config_num`, and asks this one, their previous owner, for them.
    /// Any replica that has applied that config can answer: a shard that
    /// leaves no longer changes.
    pub fn pull(&self, args: PullArgs) -> PullReply {
        let st = self.state.lock();
        let machine = &st.machine;
        let leaving = |&shard: &usize| {
            machine.shards.get(shard).map(|s| s.state) == Some(ShardState::Leaving)
        };
        if machine.config.num != args.config_num || !args.shards.iter().all(leaving) {
            return PullReply {
                status: Status::NotReady,
                shards: BTreeMap::new(),
            };
        }
        let shards = args
            .shards
            .iter()
            .map(|&shard| (shard, machine.shards[shard].store.clone()))
            .collect();
        PullReply {
            status: Status::Ok,
            shards,
        }
    }

    /// The `Delete` handler: the group that gained `args.shards` in config
    /// `args.config_num` has them; this one, their previous owner, forgets
    /// them (through the log).
    pub fn delete(&self, args: DeleteArgs) -> DeleteReply {
        let num = self.state.lock().machine.config.num;
        let status = if num > args.config_num {
            // Only a group whose shards all settled moves on: done before.
            Status::Ok
        } else if num < args.config_num {
            Status::NotReady
        } else {
            self.commit(Op::Delete {
                config_num: args.config_num,
                shards: args.shards,
            })
            .status
        };
        DeleteReply { status }
    }
    // SOLUTION END

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

    /// The "ShardKV" RPC service, for the tester to put on this replica's
    /// labrpc server (with [`ShardKv::raft`]'s service beside it). Add the
    /// methods other groups call here: they reach it through `make_end`.
    pub fn service(self: &Arc<Self>) -> Service {
        let (get, put_append) = (self.clone(), self.clone());
        // SOLUTION BEGIN
        let (pull, delete) = (self.clone(), self.clone());
        // SOLUTION END
        Service::new("ShardKV")
            .method("Get", move |args| get.get(args))
            .method("PutAppend", move |args| put_append.put_append(args))
            // SOLUTION BEGIN
            .method("Pull", move |args| pull.pull(args))
            .method("Delete", move |args| delete.delete(args))
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// Starts `op` in Raft and waits for it to be applied; returns its
    /// outcome, or `WrongLeader` if this server is not the leader, or the op
    /// did not commit in time or lost its place in the log.
    fn commit(&self, op: Op) -> Outcome {
        let wrong_leader = Outcome {
            status: Status::WrongLeader,
            value: String::new(),
        };
        let (done_tx, done_rx) = channel::bounded(1);
        {
            // Start and register under the lock, so that the applier cannot
            // apply the index before this handler waits for it.
            let mut st = self.state.lock();
            let (index, term, is_leader) = self.rf.start(op.clone());
            if !is_leader {
                return wrong_leader;
            }
            dlog!(
                Shkv,
                self.me,
                "G{} T{term} started {op:?} at {index}",
                self.gid
            );
            st.waiting.insert(index, done_tx);
        }
        match done_rx.recv_timeout(COMMIT_TIMEOUT) {
            Ok((applied, outcome)) if applied == op => outcome,
            _ => wrong_leader,
        }
    }

    /// Starts `op` in Raft without waiting for it: the poller's steps, which
    /// it repeats until it sees them applied.
    fn propose(&self, op: Op) {
        let (index, term, is_leader) = self.rf.start(op);
        if is_leader {
            dlog!(Shkv, self.me, "G{} T{term} proposed at {index}", self.gid);
        }
    }

    /// Reads the apply channel until Raft closes it.
    fn applier(&self, apply_rx: Receiver<ApplyMsg<Op>>) {
        for msg in apply_rx {
            match msg {
                ApplyMsg::Command { index, command } => self.apply_command(index, command),
                ApplyMsg::Snapshot { index, data, .. } => {
                    let mut st = self.state.lock();
                    if index > st.last_applied {
                        dlog!(
                            Snap,
                            self.me,
                            "G{} loading the snapshot up to {index}",
                            self.gid
                        );
                        st.machine = decode_snapshot(&data);
                        st.last_applied = index;
                        st.waiting.retain(|&i, _| i > index);
                        self.wake_poller();
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
        let outcome = st.machine.apply(self.gid, &op);
        if !matches!(op, Op::Client(_)) {
            dlog!(
                Shkv,
                self.me,
                "G{} applied {} at {index}: config {}, shards {:?}",
                self.gid,
                op_name(&op),
                st.machine.config.num,
                st.machine
                    .shards
                    .iter()
                    .map(|s| s.state)
                    .collect::<Vec<_>>()
            );
            self.wake_poller();
        }
        if let Some(done) = st.waiting.remove(&index) {
            // Never blocks: the channel has room for this one message.
            let _ = done.send((op, outcome));
        }
        let snapshot = self
            .maxraftstate
            .is_some_and(|max| self.persister.raft_state_size() >= max)
            .then(|| labgob::encode(&st.machine));
        drop(st);
        if let Some(data) = snapshot {
            self.rf.snapshot(index, data);
        }
    }

    fn wake_poller(&self) {
        // Full: a wake-up is already pending, which is enough.
        let _ = self.kick.try_send(());
    }

    /// While this replica lives: when it leads its group, asks the
    /// controller for the next config, fetches the shards it gains and tells
    /// old owners what arrived, every [`POLL_INTERVAL`] or as soon as an
    /// applied change calls for it.
    fn poller(self: Arc<Self>, mut ctrler: shardctrler::Clerk, kicked: Receiver<()>) {
        let mut nop_term = 0;
        while !self.killed() {
            let (term, is_leader) = self.rf.get_state();
            if is_leader {
                if term != nop_term {
                    self.propose(Op::Nop);
                    nop_term = term;
                }
                self.poll(&mut ctrler);
            }
            let _ = kicked.recv_timeout(POLL_INTERVAL);
        }
    }

    /// One round of the leader's work on configs and migrations.
    fn poll(self: &Arc<Self>, ctrler: &mut shardctrler::Clerk) {
        let (num, settled, pulls, deletes, prev) = {
            let st = self.state.lock();
            let m = &st.machine;
            (
                m.config.num,
                m.settled(),
                m.shards_by_previous_owner(ShardState::Pulling),
                m.shards_by_previous_owner(ShardState::Confirming),
                m.prev.clone(),
            )
        };
        if settled {
            // Outside the lock: the controller may take a while to answer.
            let next = ctrler.query(Some(num + 1));
            if next.num == num + 1 {
                self.propose(Op::Config(next));
            }
            return;
        }
        // Each group in its own thread: a group that does not answer must
        // not hold up the shards that can arrive from the others.
        let mut calls = Vec::new();
        for (gid, shards) in pulls {
            let servers = prev.groups.get(&gid).cloned().unwrap_or_default();
            let kv = self.clone();
            calls.push(labrt::thread::spawn_named(
                format!("shardkv-{}-{}-pull", self.gid, self.me),
                move || kv.pull_from(&servers, num, shards),
            ));
        }
        for (gid, shards) in deletes {
            let servers = prev.groups.get(&gid).cloned().unwrap_or_default();
            let kv = self.clone();
            calls.push(labrt::thread::spawn_named(
                format!("shardkv-{}-{}-delete", self.gid, self.me),
                move || kv.confirm_to(&servers, num, shards),
            ));
        }
        for call in calls {
            let _ = call.join();
        }
    }

    /// Asks the servers of the previous owner for `shards`, until one hands
    /// them over; puts them in the log.
    fn pull_from(&self, servers: &[String], config_num: usize, shards: Vec<usize>) {
        let args = PullArgs { config_num, shards };
        for name in servers {
            if self.killed() {
                return;
            }
            let reply: Option<PullReply> = (self.make_end)(name).call("ShardKV.Pull", &args);
            if let Some(reply) = reply.filter(|r| r.status == Status::Ok) {
                self.propose(Op::Install {
                    config_num,
                    shards: reply.shards,
                });
                return;
            }
        }
    }

    /// Tells the previous owner of `shards` that they arrived, until its
    /// leader has it in its log; then notes in ours that it knows.
    fn confirm_to(&self, servers: &[String], config_num: usize, shards: Vec<usize>) {
        let args = DeleteArgs {
            config_num,
            shards: shards.clone(),
        };
        for name in servers {
            if self.killed() {
                return;
            }
            let reply: Option<DeleteReply> = (self.make_end)(name).call("ShardKV.Delete", &args);
            if reply.is_some_and(|r| r.status == Status::Ok) {
                self.propose(Op::Deleted { config_num, shards });
                return;
            }
        }
    }
    // SOLUTION END
}

// SOLUTION BEGIN
/// An op's kind and config for the log, without the shards' data.
fn op_name(op: &Op) -> String {
    match op {
        Op::Client(op) => format!("{:?} {}", op.kind, op.key),
        Op::Config(config) => format!("config {} {:?}", config.num, config.shards),
        Op::Install { config_num, shards } => {
            format!("install {:?} of config {config_num}", shards.keys())
        }
        Op::Delete { config_num, shards } => format!("delete {shards:?} of config {config_num}"),
        Op::Deleted { config_num, shards } => {
            format!("deleted {shards:?} of config {config_num}")
        }
        Op::Nop => "nop".to_string(),
    }
}

/// The state a snapshot holds; the initial state if there is none.
fn decode_snapshot(data: &[u8]) -> Machine {
    if data.is_empty() {
        return Machine::default();
    }
    labgob::decode(data).unwrap_or_else(|e| panic!("shardkv: cannot decode a snapshot: {e}"))
}
// SOLUTION END

// SOLUTION BEGIN
#[cfg(test)]
mod tests {
    use super::*;

    const A: Gid = 100;
    const B: Gid = 101;

    fn config(num: usize, shards: [Gid; NSHARDS]) -> Config {
        let groups = shards
            .iter()
            .filter(|&&gid| gid != 0)
            .map(|&gid| (gid, vec![format!("server-{gid}-0")]))
            .collect();
        Config {
            num,
            shards,
            groups,
        }
    }

    fn put(key: &str, value: &str, client_id: u64, seq: u64) -> Op {
        Op::Client(ClientOp {
            kind: Some(OpKind::Append),
            key: key.to_string(),
            value: value.to_string(),
            client_id,
            seq,
        })
    }

    fn states(m: &Machine) -> Vec<ShardState> {
        m.shards.iter().map(|s| s.state).collect()
    }

    /// Group A with every shard, after config 1.
    fn a_with_everything() -> Machine {
        let mut a = Machine::default();
        a.apply(A, &Op::Config(config(1, [A; NSHARDS])));
        a
    }

    #[test]
    fn the_first_group_serves_every_shard_at_once() {
        let a = a_with_everything();
        assert_eq!(states(&a), vec![ShardState::Serving; NSHARDS]);
        let mut b = Machine::default();
        b.apply(B, &Op::Config(config(1, [A; NSHARDS])));
        assert_eq!(states(&b), vec![ShardState::NotOwned; NSHARDS]);
        assert_eq!(b.apply(B, &put("2", "x", 1, 1)).status, Status::WrongGroup);
    }

    #[test]
    fn a_shard_moves_with_its_duplicate_table() {
        let mut a = a_with_everything();
        let mut b = Machine::default();
        b.apply(B, &Op::Config(config(1, [A; NSHARDS])));
        // "2" is in shard 0.
        assert_eq!(a.apply(A, &put("2", "x", 7, 1)).status, Status::Ok);

        let two = config(2, [B, A, A, A, A, A, A, A, A, A]);
        a.apply(A, &Op::Config(two.clone()));
        b.apply(B, &Op::Config(two));
        assert_eq!(a.shards[0].state, ShardState::Leaving);
        assert_eq!(b.shards[0].state, ShardState::Pulling);
        assert_eq!(a.apply(A, &put("2", "y", 7, 2)).status, Status::WrongGroup);
        assert_eq!(b.apply(B, &put("2", "y", 7, 2)).status, Status::WrongGroup);
        // Neither moves on until the move completes.
        let three = config(3, [B; NSHARDS]);
        a.apply(A, &Op::Config(three.clone()));
        b.apply(B, &Op::Config(three.clone()));
        assert_eq!((a.config.num, b.config.num), (2, 2));

        let shards = BTreeMap::from([(0, a.shards[0].store.clone())]);
        b.apply(
            B,
            &Op::Install {
                config_num: 2,
                shards,
            },
        );
        assert_eq!(b.shards[0].state, ShardState::Confirming);
        // A retry of the request A applied is a duplicate at B too.
        assert_eq!(b.apply(B, &put("2", "x", 7, 1)).status, Status::Ok);
        assert_eq!(b.shards[0].store.data["2"], "x");
        assert_eq!(b.apply(B, &put("2", "y", 7, 2)).status, Status::Ok);
        assert_eq!(b.shards[0].store.data["2"], "xy");

        a.apply(
            A,
            &Op::Delete {
                config_num: 2,
                shards: vec![0],
            },
        );
        assert_eq!(a.shards[0], Shard::default(), "A forgot the shard");
        b.apply(
            B,
            &Op::Deleted {
                config_num: 2,
                shards: vec![0],
            },
        );
        assert_eq!(b.shards[0].state, ShardState::Serving);
        b.apply(B, &Op::Config(three));
        assert_eq!(b.config.num, 3);
    }

    #[test]
    fn late_copies_of_old_steps_change_nothing() {
        let mut b = Machine::default();
        b.apply(B, &Op::Config(config(1, [A; NSHARDS])));
        b.apply(B, &Op::Config(config(2, [B, A, A, A, A, A, A, A, A, A])));
        let before = b.clone();
        let stale = BTreeMap::from([(0, ShardData::default())]);
        b.apply(
            B,
            &Op::Install {
                config_num: 1,
                shards: stale,
            },
        );
        b.apply(B, &Op::Config(config(2, [B; NSHARDS])));
        b.apply(B, &Op::Config(config(4, [B; NSHARDS])));
        b.apply(
            B,
            &Op::Deleted {
                config_num: 1,
                shards: vec![0],
            },
        );
        assert_eq!(b, before);
    }

    #[test]
    fn the_machine_survives_labgob() {
        let mut a = a_with_everything();
        a.apply(A, &put("k", "v", 1, 1));
        a.apply(A, &Op::Config(config(2, [B, A, A, A, A, A, A, A, A, A])));
        assert_eq!(decode_snapshot(&labgob::encode(&a)), a);
        assert_eq!(decode_snapshot(&[]), Machine::default());
    }
}
// SOLUTION END
