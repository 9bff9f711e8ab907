//! The shard controller's server: one replica of the controller.
//!
//! Each replica runs a Raft peer. A request (`Join`, `Leave`, `Move` or
//! `Query`) becomes an [`Op`] that the server hands to `raft.start()`; once
//! Raft commits it, every replica receives it on its apply channel and
//! applies it to its own list of configs, in log order, so all lists stay
//! equal. The server that started the op then answers the clerk. Only the
//! leader can start ops: any other server answers `wrong_leader`, and so
//! does a leader whose op lost its place in the log to another leader's.
//!
//! Things to get right:
//! - Rebalancing. `Join` and `Leave` divide the shards over the groups as
//!   evenly as possible (a group has at most one shard more than another)
//!   and move as few shards as they can. Every replica must reach the same
//!   result from the same log: iterate in an order that does not depend on
//!   chance (a `BTreeMap`, sorted gids), never over a `HashMap`.
//! - New configs. Each `Join`, `Leave` and `Move` appends exactly one
//!   config, a copy of the latest with the change made (`Config` derives
//!   `Clone`, which copies the groups too: the old config must not change).
//!   `Move` assigns one shard and does not rebalance.
//! - Duplicates. A clerk retries a request whose reply it did not get, so
//!   the log can hold the same `Join` twice; apply it once, as in lab 3.
//! - Waiting. The handler waits for its op to come out of the apply
//!   channel, without holding the server's lock, and not forever: a leader
//!   cut off from the others never commits, and the clerk should try
//!   elsewhere.
//! - `Query` goes through the log like the other ops, so that it sees every
//!   request that finished before it.
//!
//! The controller never snapshots: Raft's log grows for ever, and a
//! restarted replica rebuilds its configs by applying the whole log again.
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

use crate::common::{
    Config, Gid, JoinArgs, JoinReply, LeaveArgs, LeaveReply, MoveArgs, MoveReply, NSHARDS,
    QueryArgs, QueryReply, Status,
};

// SOLUTION BEGIN
/// How long a handler waits for its op to commit before it tells the clerk
/// to try another server: long enough for a healthy leader (a few
/// milliseconds), short enough that a clerk stuck with a leader cut off from
/// the majority soon moves on.
const COMMIT_TIMEOUT: Duration = Duration::from_millis(500);
// SOLUTION END

/// What the replicas agree on through Raft: one client request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    // SOLUTION BEGIN
    pub action: Action,
    pub client_id: u64,
    pub seq: u64,
    // SOLUTION STUB
    // // Your data here: what a server needs to apply the request, and to
    // // recognise a duplicate.
    // SOLUTION END
}

// SOLUTION BEGIN
/// The four requests an `Op` can be, with their arguments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Join { servers: BTreeMap<Gid, Vec<String>> },
    Leave { gids: Vec<Gid> },
    Move { shard: usize, gid: Gid },
    Query { num: Option<usize> },
}
// SOLUTION END

/// One replica of the shard controller.
pub struct ShardCtrler {
    me: usize,
    rf: Arc<Raft<Op>>,
    dead: AtomicBool,
    // SOLUTION BEGIN
    state: Mutex<State>,
    // SOLUTION STUB
    // // Your data here.
    // /// The configs, indexed by their number.
    // configs: Mutex<Vec<Config>>,
    // SOLUTION END
}

// SOLUTION BEGIN
/// The replicated state machine, behind the server's one lock.
struct State {
    machine: Machine,
    /// The index of the last op applied.
    last_applied: usize,
    /// The handlers waiting for the op at an index to be applied: each gets
    /// the op that was applied there, and what it returned.
    waiting: BTreeMap<usize, Sender<(Op, Option<Config>)>>,
}

/// The configs and the duplicate table: what applying the log builds.
#[derive(Debug, PartialEq)]
struct Machine {
    /// `configs[i]` is config `i`; config 0 has no groups.
    configs: Vec<Config>,
    /// The highest request number applied for each clerk. A clerk sends one
    /// request at a time, numbered upwards, so anything at or below it is a
    /// duplicate.
    last_seq: BTreeMap<u64, u64>,
}

impl Machine {
    fn new() -> Machine {
        Machine {
            configs: vec![Config::default()],
            last_seq: BTreeMap::new(),
        }
    }

    fn latest(&self) -> &Config {
        self.configs.last().expect("config 0 is always there")
    }

    /// Config `num`, or the latest if `num` is `None` or past the last.
    fn query(&self, num: Option<usize>) -> &Config {
        num.and_then(|num| self.configs.get(num))
            .unwrap_or_else(|| self.latest())
    }

    /// Applies `op` unless it is a duplicate.
    fn apply(&mut self, op: &Op) {
        let seen = self.last_seq.get(&op.client_id).copied().unwrap_or(0);
        if op.seq <= seen {
            return;
        }
        self.last_seq.insert(op.client_id, op.seq);
        match &op.action {
            Action::Join { servers } => self.next_config(|config| {
                // Gid 0 is the invalid group: it cannot join.
                for (&gid, names) in servers.iter().filter(|&(&gid, _)| gid != 0) {
                    config.groups.insert(gid, names.clone());
                }
                rebalance(&mut config.shards, &config.groups);
            }),
            Action::Leave { gids } => self.next_config(|config| {
                for gid in gids {
                    config.groups.remove(gid);
                }
                rebalance(&mut config.shards, &config.groups);
            }),
            Action::Move { shard, gid } => self.next_config(|config| {
                // A shard that does not exist is ignored (the request still
                // makes a config): a bad request must not crash the replicas.
                if let Some(slot) = config.shards.get_mut(*shard) {
                    *slot = *gid;
                }
            }),
            Action::Query { .. } => {}
        }
    }

    /// Appends a copy of the latest config, numbered one past it, with
    /// `change` made.
    fn next_config(&mut self, change: impl FnOnce(&mut Config)) {
        let mut config = self.latest().clone();
        config.num += 1;
        change(&mut config);
        self.configs.push(config);
    }

    /// What `op` returns once applied: a `Query` reads its config. Only the
    /// server whose handler waits for the op asks.
    fn result(&self, op: &Op) -> Option<Config> {
        match op.action {
            Action::Query { num } => Some(self.query(num).clone()),
            _ => None,
        }
    }
}

/// Divides the shards over `groups`, as evenly as possible and moving as
/// few as possible: with `n` groups, each gets `NSHARDS / n` shards and
/// the `NSHARDS % n` groups that hold the most shards now (ties broken by
/// the smaller gid) one more; a group keeps shards up to its share and gives
/// up its highest-numbered ones beyond it; the shards given up, and those of
/// groups that no longer exist, go (lowest first) to the groups short of
/// their share, in the same order. With no groups, every shard is on gid 0.
/// The result depends only on `shards` and the set of gids.
fn rebalance(shards: &mut [Gid; NSHARDS], groups: &BTreeMap<Gid, Vec<String>>) {
    if groups.is_empty() {
        *shards = [0; NSHARDS];
        return;
    }
    // The shards each group holds now, lowest first; the others are free.
    let mut held: BTreeMap<Gid, Vec<usize>> = groups.keys().map(|&gid| (gid, vec![])).collect();
    let mut free = Vec::new();
    for (shard, gid) in shards.iter().enumerate() {
        match held.get_mut(gid) {
            Some(mine) => mine.push(shard),
            None => free.push(shard),
        }
    }
    // The groups, those that hold most first: they get the extra shards, so
    // that as many shards as possible stay where they are.
    let mut order: Vec<(Gid, Vec<usize>)> = held.into_iter().collect();
    order.sort_by_key(|(gid, mine)| (std::cmp::Reverse(mine.len()), *gid));
    let (base, extra) = (NSHARDS / order.len(), NSHARDS % order.len());
    let share = |rank: usize| base + usize::from(rank < extra);
    for (rank, (_, mine)) in order.iter_mut().enumerate() {
        while mine.len() > share(rank) {
            free.extend(mine.pop());
        }
    }
    free.sort_unstable();
    let mut free = free.into_iter();
    for (rank, (gid, mine)) in order.iter().enumerate() {
        for shard in free.by_ref().take(share(rank) - mine.len()) {
            shards[shard] = *gid;
        }
    }
    debug_assert!(free.next().is_none(), "every shard has a group");
}
// SOLUTION END

/// Starts a replica of the controller and returns at once.
///
/// `servers[i]` reaches replica `i` (`servers[me]` is this one); its Raft
/// talks to the others through them. `persister` holds what this replica's
/// Raft saved before a crash, if anything. The controller never snapshots.
pub fn start_server(servers: Vec<ClientEnd>, me: usize, persister: Persister) -> Arc<ShardCtrler> {
    // SOLUTION BEGIN
    // Room for 64 messages, to replay a log without two thread switches per
    // entry: see kvraft's start_kv_server.
    let (apply_tx, apply_rx) = channel::bounded(64);
    // SOLUTION STUB
    // // Go's unbuffered channel, as in MIT's skeleton: Raft's send waits until
    // // this server takes the message.
    // let (apply_tx, apply_rx) = channel::bounded(0);
    // SOLUTION END
    let rf = Raft::make(servers, me, persister, apply_tx);
    // SOLUTION BEGIN
    let sc = Arc::new(ShardCtrler {
        me,
        rf,
        dead: AtomicBool::new(false),
        state: Mutex::new(State {
            machine: Machine::new(),
            last_applied: 0,
            waiting: BTreeMap::new(),
        }),
    });
    let applier = sc.clone();
    labrt::thread::spawn_named(format!("ctrler-{me}-applier"), move || {
        applier.applier(apply_rx)
    });
    sc
    // SOLUTION STUB
    // // Your code here: read apply_rx.
    // let _ = apply_rx;
    // Arc::new(ShardCtrler {
    //     me,
    //     rf,
    //     dead: AtomicBool::new(false),
    //     configs: Mutex::new(vec![Config::default()]),
    // })
    // SOLUTION END
}

impl ShardCtrler {
    /// The `Join` handler.
    pub fn join(&self, args: JoinArgs) -> JoinReply {
        // SOLUTION BEGIN
        let op = Op {
            action: Action::Join {
                servers: args.servers,
            },
            client_id: args.client_id,
            seq: args.seq,
        };
        JoinReply {
            wrong_leader: self.commit(op).is_err(),
            status: Status::Ok,
        }
        // SOLUTION STUB
        // // Your code here.
        // JoinReply {
        //     wrong_leader: false,
        //     status: Status::Ok,
        // }
        // SOLUTION END
    }

    /// The `Leave` handler.
    pub fn leave(&self, args: LeaveArgs) -> LeaveReply {
        // SOLUTION BEGIN
        let op = Op {
            action: Action::Leave { gids: args.gids },
            client_id: args.client_id,
            seq: args.seq,
        };
        LeaveReply {
            wrong_leader: self.commit(op).is_err(),
            status: Status::Ok,
        }
        // SOLUTION STUB
        // // Your code here.
        // LeaveReply {
        //     wrong_leader: false,
        //     status: Status::Ok,
        // }
        // SOLUTION END
    }

    /// The `Move` handler.
    pub fn move_shard(&self, args: MoveArgs) -> MoveReply {
        // SOLUTION BEGIN
        let op = Op {
            action: Action::Move {
                shard: args.shard,
                gid: args.gid,
            },
            client_id: args.client_id,
            seq: args.seq,
        };
        MoveReply {
            wrong_leader: self.commit(op).is_err(),
            status: Status::Ok,
        }
        // SOLUTION STUB
        // // Your code here.
        // MoveReply {
        //     wrong_leader: false,
        //     status: Status::Ok,
        // }
        // SOLUTION END
    }

    /// The `Query` handler.
    pub fn query(&self, args: QueryArgs) -> QueryReply {
        // SOLUTION BEGIN
        let op = Op {
            action: Action::Query { num: args.num },
            client_id: args.client_id,
            seq: args.seq,
        };
        match self.commit(op) {
            Ok(config) => QueryReply {
                wrong_leader: false,
                status: Status::Ok,
                config: config.unwrap_or_default(),
            },
            Err(NotApplied) => QueryReply {
                wrong_leader: true,
                status: Status::Ok,
                config: Config::default(),
            },
        }
        // SOLUTION STUB
        // // Your code here.
        // QueryReply {
        //     wrong_leader: false,
        //     status: Status::Ok,
        //     config: Config::default(),
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

    /// This replica's Raft peer (the tester asks it who leads).
    pub fn raft(&self) -> &Arc<Raft<Op>> {
        &self.rf
    }

    /// The "ShardCtrler" RPC service, for the tester to put on this
    /// replica's labrpc server (with [`ShardCtrler::raft`]'s service beside
    /// it).
    pub fn service(self: &Arc<Self>) -> Service {
        let (join, leave) = (self.clone(), self.clone());
        let (move_shard, query) = (self.clone(), self.clone());
        Service::new("ShardCtrler")
            .method("Join", move |args| join.join(args))
            .method("Leave", move |args| leave.leave(args))
            .method("Move", move |args| move_shard.move_shard(args))
            .method("Query", move |args| query.query(args))
    }

    // SOLUTION BEGIN
    /// Starts `op` in Raft and waits for it to be applied; returns what it
    /// returned (a config for a `Query`), or `NotApplied` if this server is
    /// not the leader, or the op did not commit in time or lost its place in
    /// the log.
    fn commit(&self, op: Op) -> Result<Option<Config>, NotApplied> {
        let (done_tx, done_rx) = channel::bounded(1);
        {
            // Start and register under the lock, so that the applier cannot
            // apply the index before this handler waits for it.
            let mut st = self.state.lock();
            let (index, term, is_leader) = self.rf.start(op.clone());
            if !is_leader {
                return Err(NotApplied);
            }
            dlog!(Ctrl, self.me, "T{term} started {op:?} at {index}");
            // A handler still waiting at this index, from an earlier term,
            // lost its place: dropping its sender tells it so.
            st.waiting.insert(index, done_tx);
        }
        // On a timeout the sender stays in `waiting`: the applier drops it
        // when the index is applied.
        match done_rx.recv_timeout(COMMIT_TIMEOUT) {
            Ok((applied, result)) if applied.client_id == op.client_id && applied.seq == op.seq => {
                Ok(result)
            }
            _ => {
                dlog!(Ctrl, self.me, "{op:?} did not commit here");
                Err(NotApplied)
            }
        }
    }

    /// Reads the apply channel until Raft closes it: applies each committed
    /// op and hands the result to its waiting handler.
    fn applier(&self, apply_rx: Receiver<ApplyMsg<Op>>) {
        for msg in apply_rx {
            match msg {
                ApplyMsg::Command { index, command } => self.apply_command(index, command),
                ApplyMsg::Snapshot { index, .. } => panic!(
                    "shardctrler {}: Raft sent a snapshot (up to index {index}), but the \
                     controller never takes one",
                    self.me
                ),
            }
        }
    }

    fn apply_command(&self, index: usize, op: Op) {
        let mut st = self.state.lock();
        if index <= st.last_applied {
            return;
        }
        st.last_applied = index;
        let before = st.machine.configs.len();
        st.machine.apply(&op);
        if st.machine.configs.len() > before {
            let config = st.machine.latest();
            dlog!(
                Ctrl,
                self.me,
                "config {} at {index}: shards {:?}, gids {:?}",
                config.num,
                config.shards,
                config.groups.keys().collect::<Vec<_>>()
            );
        }
        if let Some(done) = st.waiting.remove(&index) {
            let result = st.machine.result(&op);
            // Never blocks: the channel has room for this one message.
            let _ = done.send((op, result));
        }
    }
    // SOLUTION END
}

// SOLUTION BEGIN
/// Why a handler answers `wrong_leader`: its op was not applied at the
/// index Raft gave it (this server is not the leader, the op did not commit
/// in time, or another leader's op took its place).
#[derive(Debug)]
struct NotApplied;

#[cfg(test)]
mod tests {
    use super::*;

    /// A controller's state machine and one clerk's requests, numbered.
    struct Ctrl {
        machine: Machine,
        seq: u64,
    }

    impl Ctrl {
        fn new() -> Ctrl {
            Ctrl {
                machine: Machine::new(),
                seq: 0,
            }
        }

        fn apply(&mut self, action: Action) -> Option<Config> {
            self.seq += 1;
            let op = Op {
                action,
                client_id: 7,
                seq: self.seq,
            };
            self.machine.apply(&op);
            self.machine.result(&op)
        }

        fn join(&mut self, gids: &[Gid]) {
            let servers = gids
                .iter()
                .map(|&gid| (gid, vec![format!("{gid}a"), format!("{gid}b")]))
                .collect();
            self.apply(Action::Join { servers });
        }

        fn leave(&mut self, gids: &[Gid]) {
            self.apply(Action::Leave {
                gids: gids.to_vec(),
            });
        }

        fn move_shard(&mut self, shard: usize, gid: Gid) {
            self.apply(Action::Move { shard, gid });
        }

        fn latest(&self) -> Config {
            self.machine.latest().clone()
        }
    }

    /// MIT's `check`, plus: with no groups, every shard is on gid 0.
    fn assert_balanced(config: &Config) {
        if config.groups.is_empty() {
            assert_eq!(config.shards, [0; NSHARDS], "no groups: {config:?}");
            return;
        }
        let mut count: BTreeMap<Gid, usize> = config.groups.keys().map(|&g| (g, 0)).collect();
        for gid in config.shards {
            *count
                .get_mut(&gid)
                .unwrap_or_else(|| panic!("shard on invalid group {gid}: {config:?}")) += 1;
        }
        let max = count.values().max().unwrap();
        let min = count.values().min().unwrap();
        assert!(max <= &(min + 1), "max {max} > min {min} + 1: {config:?}");
    }

    fn moved(before: &Config, after: &Config) -> usize {
        (0..NSHARDS)
            .filter(|&s| before.shards[s] != after.shards[s])
            .count()
    }

    /// The fewest shards that any balanced assignment of `shards` to the
    /// groups `gids` must move, by brute force over which groups get the
    /// extra shards: a balanced division gives every group `NSHARDS / n` or
    /// one more, so it is one of these.
    fn fewest_moves(shards: &[Gid; NSHARDS], gids: &[Gid]) -> usize {
        let n = gids.len();
        if n == 0 {
            return shards.iter().filter(|&&gid| gid != 0).count();
        }
        let (base, extra) = (NSHARDS / n, NSHARDS % n);
        let holds = |gid: Gid| shards.iter().filter(|&&g| g == gid).count();
        let most_kept = (0u32..1 << n)
            .filter(|mask| mask.count_ones() as usize == extra)
            .map(|mask| {
                (0..n)
                    .map(|i| holds(gids[i]).min(base + ((mask >> i) & 1) as usize))
                    .sum::<usize>()
            })
            .max()
            .unwrap();
        NSHARDS - most_kept
    }

    fn gids(config: &Config) -> Vec<Gid> {
        config.groups.keys().copied().collect()
    }

    /// Applies a join or leave and checks the new config: one more, balanced,
    /// as few shards moved as possible.
    fn check_step(ctrl: &mut Ctrl, step: impl FnOnce(&mut Ctrl)) -> (Config, Config) {
        let before = ctrl.latest();
        step(ctrl);
        let after = ctrl.latest();
        assert_eq!(after.num, before.num + 1);
        assert_balanced(&after);
        assert_eq!(
            moved(&before, &after),
            fewest_moves(&before.shards, &gids(&after)),
            "not minimal: {before:?} -> {after:?}"
        );
        (before, after)
    }

    #[test]
    fn zero_groups_put_every_shard_on_gid_0() {
        let mut ctrl = Ctrl::new();
        assert_eq!(ctrl.latest(), Config::default());
        ctrl.join(&[1, 2]);
        ctrl.leave(&[1, 2]);
        let config = ctrl.latest();
        assert_eq!((config.num, config.shards), (2, [0; NSHARDS]));
        assert!(config.groups.is_empty());

        let mut shards = [5; NSHARDS];
        rebalance(&mut shards, &BTreeMap::new());
        assert_eq!(shards, [0; NSHARDS]);
    }

    #[test]
    fn joins_one_at_a_time_balance_and_move_only_to_the_new_group() {
        let mut ctrl = Ctrl::new();
        for gid in 1..=12 {
            let (before, after) = check_step(&mut ctrl, |c| c.join(&[gid]));
            for s in 0..NSHARDS {
                if before.shards[s] != after.shards[s] {
                    assert_eq!(after.shards[s], gid, "{before:?} -> {after:?}");
                }
            }
            if gid <= NSHARDS as Gid {
                assert_eq!(moved(&before, &after), NSHARDS / gid as usize);
            }
        }
    }

    #[test]
    fn leaves_one_at_a_time_balance_and_move_only_the_leavers_shards() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&(1..=12).collect::<Vec<_>>());
        assert_balanced(&ctrl.latest());
        for gid in [7, 3, 12, 1, 11, 5, 2, 9, 4, 10, 8, 6] {
            let (before, after) = check_step(&mut ctrl, |c| c.leave(&[gid]));
            for s in 0..NSHARDS {
                if before.shards[s] != after.shards[s] {
                    assert_eq!(before.shards[s], gid, "{before:?} -> {after:?}");
                }
            }
        }
    }

    /// MIT's TestMinimalAgain (2024): 1 and 2, then 3 joins, then 1 leaves.
    #[test]
    fn minimal_movement_again() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[1]);
        ctrl.join(&[2]);
        let c1 = ctrl.latest();
        ctrl.join(&[3]);
        let c2 = ctrl.latest();
        for s in 0..NSHARDS {
            assert!(c2.shards[s] == 3 || c2.shards[s] == c1.shards[s]);
        }
        assert!(moved(&c1, &c2) <= NSHARDS / 3 + 1);
        ctrl.leave(&[1]);
        let c3 = ctrl.latest();
        for s in 0..NSHARDS {
            assert!(c2.shards[s] == 1 || c3.shards[s] == c2.shards[s]);
        }
        assert!(moved(&c2, &c3) <= NSHARDS / 3 + 1);
    }

    #[test]
    fn rebalance_gives_the_same_configs_every_time() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[3, 1, 2]);
        assert_eq!(ctrl.latest().shards, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        ctrl.join(&[4]);
        assert_eq!(ctrl.latest().shards, [1, 1, 1, 4, 2, 2, 2, 3, 3, 4]);
        ctrl.leave(&[1]);
        assert_eq!(ctrl.latest().shards, [2, 3, 4, 4, 2, 2, 2, 3, 3, 4]);

        // Two replicas applying the same log build the same state, whatever
        // order a join's map was filled in.
        let (mut a, mut b) = (Ctrl::new(), Ctrl::new());
        let forward: BTreeMap<Gid, Vec<String>> =
            (1..=6).map(|gid| (gid, vec![gid.to_string()])).collect();
        let backward: BTreeMap<Gid, Vec<String>> = (1..=6)
            .rev()
            .map(|gid| (gid, vec![gid.to_string()]))
            .collect();
        a.apply(Action::Join { servers: forward });
        b.apply(Action::Join { servers: backward });
        for ctrl in [&mut a, &mut b] {
            ctrl.move_shard(0, 6);
            ctrl.leave(&[2, 4]);
            ctrl.join(&[9]);
        }
        assert_eq!(a.machine, b.machine);
    }

    #[test]
    fn random_sequences_stay_balanced_and_move_minimally() {
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % bound
        };
        for _ in 0..20 {
            let mut ctrl = Ctrl::new();
            for _ in 0..60 {
                let gid = next(12) + 1;
                let present = ctrl.latest().groups.contains_key(&gid);
                match next(4) {
                    0 | 1 if !present => {
                        let mut joining = vec![gid];
                        if next(3) == 0 {
                            joining.push(next(12) + 1);
                        }
                        check_step(&mut ctrl, |c| c.join(&joining));
                    }
                    0..=2 => {
                        let mut leaving = vec![gid];
                        if next(3) == 0 {
                            leaving.push(next(12) + 1);
                        }
                        check_step(&mut ctrl, |c| c.leave(&leaving));
                    }
                    _ => {
                        let before = ctrl.latest();
                        let shard = next(NSHARDS as u64) as usize;
                        ctrl.move_shard(shard, gid);
                        let after = ctrl.latest();
                        assert_eq!(after.num, before.num + 1);
                        assert_eq!(after.shards[shard], gid);
                        assert_eq!(
                            moved(&before, &after),
                            usize::from(before.shards[shard] != gid)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn move_does_not_rebalance_and_every_change_makes_one_config() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[503]);
        ctrl.join(&[504]);
        for shard in 0..NSHARDS {
            let num = ctrl.latest().num;
            ctrl.move_shard(shard, if shard < 5 { 503 } else { 504 });
            assert_eq!(ctrl.latest().num, num + 1);
        }
        assert_eq!(
            ctrl.latest().shards,
            [503, 503, 503, 503, 503, 504, 504, 504, 504, 504]
        );
        ctrl.move_shard(0, 504);
        ctrl.move_shard(1, 504);
        assert_eq!(ctrl.latest().shards[..2], [504, 504], "no rebalance");
        // A leave of a group that is not there still makes a config.
        let num = ctrl.latest().num;
        ctrl.leave(&[42]);
        assert_eq!(ctrl.latest().num, num + 1);
        ctrl.move_shard(NSHARDS, 503);
        assert_eq!(ctrl.latest().num, num + 2, "a bad shard is ignored");
        for (i, config) in ctrl.machine.configs.iter().enumerate() {
            assert_eq!(config.num, i);
        }
    }

    #[test]
    fn a_group_can_join_again_after_leaving() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[1, 2]);
        ctrl.leave(&[1]);
        ctrl.apply(Action::Join {
            servers: BTreeMap::from([(1, vec!["new".to_string()])]),
        });
        let config = ctrl.latest();
        assert_balanced(&config);
        assert_eq!(config.groups[&1], ["new"]);
        assert_eq!(config.groups[&2], ["2a", "2b"]);
        // The old configs did not change.
        assert_eq!(ctrl.machine.configs[1].groups[&1], ["1a", "1b"]);
        assert!(!ctrl.machine.configs[2].groups.contains_key(&1));
    }

    #[test]
    fn duplicates_are_applied_once() {
        let mut machine = Machine::new();
        let join = |client_id, seq, gid| Op {
            action: Action::Join {
                servers: BTreeMap::from([(gid, vec![])]),
            },
            client_id,
            seq,
        };
        machine.apply(&join(1, 1, 10));
        machine.apply(&join(1, 1, 10));
        assert_eq!(machine.configs.len(), 2);
        machine.apply(&join(1, 2, 11));
        machine.apply(&join(1, 1, 10)); // a late copy of an older one
        assert_eq!(machine.configs.len(), 3);
        machine.apply(&join(2, 1, 12)); // another clerk
        assert_eq!(machine.configs.len(), 4);
        assert_eq!(gids(machine.latest()), [10, 11, 12]);
    }

    #[test]
    fn query_returns_the_config_asked_for_or_the_latest() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[1]);
        ctrl.join(&[2]);
        let configs = ctrl.machine.configs.clone();
        for (num, config) in configs.iter().enumerate() {
            assert_eq!(
                ctrl.apply(Action::Query { num: Some(num) }).as_ref(),
                Some(config)
            );
        }
        for num in [None, Some(3), Some(usize::MAX)] {
            assert_eq!(ctrl.apply(Action::Query { num }).as_ref(), configs.last());
        }
        assert_eq!(ctrl.machine.configs.len(), 3, "queries make no config");
        assert_eq!(
            ctrl.apply(Action::Join {
                servers: BTreeMap::new()
            }),
            None
        );
    }

    #[test]
    fn configs_and_ops_survive_labgob() {
        let mut ctrl = Ctrl::new();
        ctrl.join(&[1, 2, 3]);
        let config = ctrl.latest();
        assert_eq!(
            labgob::decode::<Config>(&labgob::encode(&config)).unwrap(),
            config
        );
        let op = Op {
            action: Action::Join {
                servers: config.groups.clone(),
            },
            client_id: u64::MAX,
            seq: 3,
        };
        assert_eq!(labgob::decode::<Op>(&labgob::encode(&op)).unwrap(), op);
    }
}
// SOLUTION END
