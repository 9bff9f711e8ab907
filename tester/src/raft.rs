//! The Raft tester's harness: a port of MIT 6.824's `raft/config.go` (2023).
//!
//! Same constants, steps, polling intervals and failure messages as Go;
//! where this port differs, a comment says why. See the crate documentation
//! for how a test uses it.

use std::collections::BTreeMap;

use ::raft::{ApplyMsg, Command, Raft, dlog};
use labrpc::Network;
use labrt::channel::{self, Receiver};
use labrt::sync::atomic::{AtomicBool, Ordering};
use labrt::sync::{Arc, Mutex, Weak};
use labrt::time::{Duration, Instant, sleep};
use persister::Persister;

use crate::cluster::{Cluster, Member};
use crate::common::{self, Handle, Teardown, Watchdog, fatal};
use crate::fatal;
use crate::faults::{Event, Faults, Message};
use crate::timeline::{Kind, Timeline};

/// In snapshot mode, the apply-channel reader snapshots after every
/// `SNAPSHOT_INTERVAL` entries: at indices 9, 19, 29, ...
pub const SNAPSHOT_INTERVAL: usize = 10;

/// The harness for one Raft test: `n` peers on a fresh labrpc network.
///
/// A `Config` is a handle; clones share the same peers, for the helper
/// threads of a test. The config is cleaned up (every peer killed, the
/// network shut) when the last handle is dropped, or as soon as a handle is
/// dropped by a panicking thread: a failed test then stops at once, and
/// helper threads still inside [`Config::one`] give up quietly, as Go's do
/// once its `cleanup` has set `finished`.
///
/// `C` is the type of the commands (the tests use `i64`, and `String` for
/// the RPC byte count). Go's tests check that committed values "are ints";
/// with one command type per config the compiler makes that certain.
#[derive(Clone)]
pub struct Config<C: Command + PartialEq>(Handle<Inner<C>>);

struct Inner<C: Command + PartialEq> {
    n: usize,
    net: Network,
    /// Whether the apply-channel readers snapshot (the 2D tests).
    snapshot: bool,
    peers: Cluster<Raft<C>>,
    /// Whether each peer is on the net.
    connected: Mutex<Vec<bool>>,
    /// Shared with the apply-channel readers, which hold nothing else of
    /// the config: a reader must not keep its own peer alive, or the peer's
    /// apply channel would never disconnect and the reader never end.
    logs: Arc<Mutex<Logs<C>>>,
    /// Set by cleanup: makes `one()` give up.
    finished: AtomicBool,
    stats: Mutex<Stats>,
    watchdog: Watchdog,
    /// Every leader seen, by term (not in Go: see `note_leader`).
    leaders: Mutex<BTreeMap<u64, usize>>,
    /// The hardening tests' control of single messages.
    faults: Option<Faults>,
    /// The run's timeline, when `LAB_TRACE` asks for one.
    timeline: Option<Timeline>,
}

/// What the peers applied: the tester's copy of each one's committed log.
struct Logs<C> {
    logs: Vec<BTreeMap<usize, C>>,
    last_applied: Vec<usize>,
    /// Peers whose reader does not snapshot for now (not in Go: see
    /// [`Config::pause_snapshots`]).
    paused: Vec<bool>,
    /// Where applies are reported, in a config with faults.
    events: Option<Faults>,
    /// Where applies and snapshots are drawn, with each peer's lane.
    timeline: Option<(Timeline, Vec<usize>)>,
    /// The highest index any peer applied.
    max_index: usize,
}

/// `begin()`'s baseline for the figures `end()` prints.
struct Stats {
    t0: Instant,
    rpcs0: u64,
    bytes0: u64,
    max_index0: usize,
}

impl<C: Command + PartialEq> Config<C> {
    /// Makes `n` peers, all started and connected (Go's `make_config`).
    /// `unreliable` makes the network drop and delay messages; `snapshot`
    /// makes the apply-channel readers snapshot every 10 entries.
    pub fn new(n: usize, unreliable: bool, snapshot: bool) -> Config<C> {
        Config::make(n, unreliable, snapshot, None)
    }

    /// [`Config::new`] with `faults` tapping the network from before the
    /// first peer starts, and a thread that asks every live peer for its
    /// state every 10 ms, so that no leader of a term goes unseen (the
    /// hardening tests).
    pub fn with_faults(n: usize, unreliable: bool, snapshot: bool, faults: Faults) -> Config<C> {
        let cfg = Config::make(n, unreliable, snapshot, Some(faults));
        cfg.watch_leaders();
        cfg
    }

    fn make(n: usize, unreliable: bool, snapshot: bool, faults: Option<Faults>) -> Config<C> {
        common::warn_if_one_cpu();
        ::raft::debug::reset_clock();
        let net = Network::new();
        let faults_tap = faults
            .clone()
            .map(|f| Arc::new(f) as Arc<dyn labrpc::tap::Tap>);
        let timeline = Timeline::start(&net, faults_tap);
        let peers = Cluster::new(&net, n);
        peers.set_timeline(&timeline);
        let lanes = (0..n).map(|i| peers.lane(i)).collect();
        let cfg = Config(Handle::new(Inner {
            n,
            snapshot,
            peers,
            connected: Mutex::new(vec![false; n]),
            logs: Arc::new(Mutex::new(Logs {
                logs: vec![BTreeMap::new(); n],
                last_applied: vec![0; n],
                paused: vec![false; n],
                events: faults.clone(),
                timeline: timeline.clone().map(|tl| (tl, lanes)),
                max_index: 0,
            })),
            finished: AtomicBool::new(false),
            stats: Mutex::new(Stats {
                t0: Instant::now(),
                rpcs0: 0,
                bytes0: 0,
                max_index0: 0,
            }),
            watchdog: Watchdog::start(),
            leaders: Mutex::new(BTreeMap::new()),
            faults,
            timeline,
            net,
        }));
        // (with a timeline, the faults decide through its tap.)
        if let Some(faults) = &cfg.0.faults
            && cfg.0.timeline.is_none()
        {
            cfg.0.net.tap(Arc::new(faults.clone()));
        }
        cfg.set_unreliable(unreliable);
        cfg.0.net.long_delays(true);
        // create a full set of Rafts.
        for i in 0..n {
            cfg.start1(i);
        }
        // connect everyone
        for i in 0..n {
            cfg.connect(i);
        }
        if let Some(tl) = &cfg.0.timeline {
            tl.hook_panics();
            if cfg.0.faults.is_none() {
                // roles for the bands (with faults, `with_faults` polls).
                cfg.watch_leaders();
            }
        }
        cfg
    }

    /// The number of peers.
    pub fn n(&self) -> usize {
        self.0.n
    }

    /// Peer `i`'s Raft, or `None` while it is crashed.
    pub fn raft(&self, i: usize) -> Option<Arc<Raft<C>>> {
        self.0.peers.server(i)
    }

    /// Whether peer `i` is on the net.
    pub fn is_connected(&self, i: usize) -> bool {
        self.0.connected.lock()[i]
    }

    /// Whether the config was cleaned up: the test is over (it failed).
    pub fn finished(&self) -> bool {
        self.0.finished.load(Ordering::Acquire)
    }

    /// Shuts peer `i` down, but keeps its persistent state.
    pub fn crash1(&self, i: usize) {
        dlog!(Test, i, "crash");
        self.0.connected.lock()[i] = false;
        // The cluster deletes the server before it replaces the persister,
        // so that no reply escapes from state the next instance will not
        // have. (Go copies it a second time after Kill(); the copy made
        // here is already out of the old instance's reach.)
        self.0.peers.shutdown(i);
    }

    /// Starts or restarts peer `i`; if it is running, crashes it first.
    /// The new instance gets fresh outgoing ends (so the old instance's ends
    /// can no longer send) and starts disconnected: call [`Config::connect`].
    #[track_caller]
    pub fn start1(&self, i: usize) {
        self.crash1(i);
        dlog!(Test, i, "start");
        // Go's unbuffered channel.
        let (apply_tx, apply_rx) = channel::bounded(0);
        let rf = self.0.peers.start(i, |ends, persister| {
            if let Some(faults) = &self.0.faults {
                for (j, name) in self.0.peers.endnames(i).iter().enumerate() {
                    faults.name_end(name, i, j);
                }
                let faults = faults.clone();
                persister.watch(move || faults.note(Event::Persisted { peer: i }));
            }
            self.0.logs.lock().restart(i, &persister.read_snapshot());
            let rf = Raft::make(ends, i, persister, apply_tx);
            let service = rf.service();
            (rf, vec![service])
        });

        let logs = self.0.logs.clone();
        let name = format!("tester-applier-{i}");
        if self.0.snapshot {
            let weak = Arc::downgrade(&rf);
            labrt::thread::spawn_named(name, move || applier_snap(i, &logs, &apply_rx, &weak));
        } else {
            labrt::thread::spawn_named(name, move || applier(i, &logs, &apply_rx));
        }
    }

    /// Attaches peer `i` to the net: enables its ends to every connected
    /// peer and theirs to it.
    pub fn connect(&self, i: usize) {
        dlog!(Test, i, "connect");
        let connected = {
            let mut connected = self.0.connected.lock();
            connected[i] = true;
            (0..self.0.n).filter(|&j| connected[j]).collect::<Vec<_>>()
        };
        self.0.peers.connect(i, &connected);
    }

    /// Detaches peer `i` from the net: disables its ends and every end to it.
    pub fn disconnect(&self, i: usize) {
        dlog!(Test, i, "disconnect");
        self.0.connected.lock()[i] = false;
        self.0.peers.disconnect(i, &self.0.peers.all());
    }

    /// Restarts every crashed peer and connects every peer.
    pub fn restart_and_connect_all(&self) {
        for i in 0..self.0.n {
            if self.raft(i).is_none() {
                self.start1(i);
            }
            self.connect(i);
        }
    }

    /// How many RPCs reached peer `i` (which must not be crashed).
    pub fn rpc_count(&self, i: usize) -> u64 {
        self.0.net.count(i)
    }

    /// How many RPCs were sent on the network.
    pub fn rpc_total(&self) -> u64 {
        self.0.net.total_count()
    }

    /// Bytes of the RPC requests sent and replies delivered.
    pub fn bytes_total(&self) -> u64 {
        self.0.net.total_bytes()
    }

    pub fn set_unreliable(&self, unreliable: bool) {
        self.0.net.reliable(!unreliable);
    }

    pub fn set_long_reordering(&self, long_reordering: bool) {
        self.0.net.long_reordering(long_reordering);
    }

    /// The largest persisted Raft state among the peers, in bytes.
    pub fn log_size(&self) -> usize {
        self.0.peers.largest(Persister::raft_state_size)
    }

    /// Checks that one of the connected peers thinks it is the leader, and
    /// that no other connected peer of its term does; returns it. Tries a
    /// few times in case re-elections are needed.
    #[track_caller]
    pub fn check_one_leader(&self) -> usize {
        for _ in 0..10 {
            sleep(Duration::from_millis(
                450 + labrt::rand::random_range(0..100),
            ));

            let mut leaders: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
            for (i, rf) in self.connected_rafts() {
                if let (term, true) = rf.get_state() {
                    leaders.entry(term).or_default().push(i);
                    self.note_leader(term, i);
                }
            }
            for (term, ids) in &leaders {
                if ids.len() > 1 {
                    fatal!("term {} has {} (>1) leaders", term, ids.len());
                }
            }
            // the leader of the last term with a leader.
            if let Some((_, ids)) = leaders.last_key_value() {
                return ids[0];
            }
        }
        fatal!("expected one leader, got none")
    }

    /// Remembers that peer `i` said it led `term`, and fails if another
    /// peer ever said so of the same term. Not in Go, whose
    /// `checkOneLeader` compares only the leaders alive and connected at
    /// one moment: a peer that votes twice in a term (its vote not
    /// persisted) makes a second leader after the first crashed, which no
    /// such check sees.
    #[track_caller]
    pub fn note_leader(&self, term: u64, i: usize) {
        let first = *self.0.leaders.lock().entry(term).or_insert(i);
        if first != i {
            fatal!(
                "term {term} had two leaders, peers {first} and {i} (not necessarily at the same \
                 time): a peer voted twice in one term, or a candidate counted a vote it did \
                 not get"
            );
        }
    }

    /// Asks every live peer for its state every 10 ms, noting each leader
    /// (see [`Config::note_leader`]) and each change as an [`Event::Role`],
    /// until the test ends.
    fn watch_leaders(&self) {
        crate::cluster::poll_roles(
            &self.0,
            |inner| (!inner.finished.load(Ordering::Acquire)).then(|| vec![&inner.peers]),
            |rf| rf.get_state(),
            |inner, peers, i, (term, leader), changed| {
                let cfg = Config(inner.clone());
                // (only the hardening tests check this; a trace alone
                // must not add a check.)
                if leader && cfg.0.faults.is_some() {
                    cfg.note_leader(term, i);
                }
                if changed {
                    if let Some(faults) = &cfg.0.faults {
                        faults.note(Event::Role {
                            peer: i,
                            term,
                            leader,
                        });
                    }
                    if let Some(tl) = &cfg.0.timeline {
                        tl.role(peers.lane(i), term, leader);
                    }
                }
            },
        );
    }

    /// Delivers `message`'s request again, late, to whatever instance of
    /// its peer runs now; its reply goes nowhere.
    pub fn replay(&self, message: &Message) {
        dlog!(Test, message.to.unwrap_or(0), "replay {message:?}");
        self.0.net.replay(&message.call);
    }

    /// Delivers `message`'s request again, late, through its sender's end to
    /// peer `to` instead: a message the sender could have sent `to` (an
    /// InstallSnapshot's content does not depend on its receiver).
    pub fn replay_to(&self, message: &Message, to: usize) {
        let Some(from) = message.from else {
            fatal!("replay_to: {message:?} was not sent by a peer");
        };
        let mut call = message.call.clone();
        call.end = self.0.peers.endnames(from)[to].as_str().into();
        dlog!(Test, to, "replay {message:?} to {to}");
        self.0.net.replay(&call);
    }

    /// Stops (or resumes) peer `i`'s snapshots, as a service that is slow
    /// to snapshot would. Not in Go, where every peer's reader snapshots at
    /// the same indices: a follower then never holds a log longer than the
    /// leader's snapshots, and some mistakes need one that does.
    pub fn pause_snapshots(&self, i: usize, paused: bool) {
        self.0.logs.lock().paused[i] = paused;
    }

    /// Checks that every connected peer is in the same term; returns it
    /// (`None` if no peer is connected).
    #[track_caller]
    pub fn check_terms(&self) -> Option<u64> {
        let mut term = None;
        for (_, rf) in self.connected_rafts() {
            let (xterm, _) = rf.get_state();
            match term {
                None => term = Some(xterm),
                Some(t) if t != xterm => fatal!("servers disagree on term"),
                Some(_) => {}
            }
        }
        term
    }

    /// Checks that no connected peer thinks it is the leader.
    #[track_caller]
    pub fn check_no_leader(&self) {
        for (i, rf) in self.connected_rafts() {
            if rf.get_state().1 {
                fatal!("expected no leader among connected servers, but {i} claims to be leader");
            }
        }
    }

    /// How many peers think the entry at `index` is committed, and its
    /// command; fails if two peers applied different commands there.
    ///
    /// (Go first checks errors recorded by the apply-channel readers; those
    /// end the process as soon as they occur, so there is none to check.)
    #[track_caller]
    pub fn n_committed(&self, index: usize) -> (usize, Option<C>) {
        let logs = self.0.logs.lock();
        let mut count = 0;
        let mut cmd: Option<&C> = None;
        for log in &logs.logs {
            if let Some(cmd1) = log.get(&index) {
                if let Some(cmd) = cmd
                    && cmd != cmd1
                {
                    fatal!("committed values do not match: index {index}, {cmd:?}, {cmd1:?}");
                }
                count += 1;
                cmd = Some(cmd1);
            }
        }
        (count, cmd.cloned())
    }

    /// Waits for at least `n` peers to commit `index`, but not forever:
    /// fails after about 30 s. Returns the command, or `None` if
    /// `start_term` is given and some peer moved past it (then the entry may
    /// never commit). Go's −1.
    #[track_caller]
    pub fn wait(&self, index: usize, n: usize, start_term: Option<u64>) -> Option<C> {
        let mut to = Duration::from_millis(10);
        for _ in 0..30 {
            let (nd, _) = self.n_committed(index);
            if nd >= n {
                break;
            }
            sleep(to);
            if to < Duration::from_secs(1) {
                to *= 2;
            }
            if let Some(start_term) = start_term {
                // Go asks every peer and assumes none is crashed; a crashed
                // one cannot have moved on, so it is skipped.
                let rafts = self.0.peers.servers();
                if rafts
                    .iter()
                    .flatten()
                    .any(|rf| rf.get_state().0 > start_term)
                {
                    // someone has moved on; can no longer guarantee that
                    // we'll "win".
                    return None;
                }
            }
        }
        let (nd, cmd) = self.n_committed(index);
        if nd < n {
            fatal!("only {nd} decided for index {index}; wanted {n}");
        }
        cmd
    }

    /// Does a complete agreement on `cmd` among at least `expected_servers`
    /// peers and returns its index.
    ///
    /// It might choose the wrong leader initially, and have to re-submit
    /// after giving up; it entirely gives up (fails) after about 10 seconds.
    /// Indirectly checks that the peers agree on the same value, since
    /// [`Config::n_committed`] checks this, as do the apply-channel readers.
    /// With `retry`, it may submit the command several times, in case a
    /// leader fails just after `start()`; without, it calls `start()` only
    /// once, to keep the early 2B tests simple.
    ///
    /// Returns 0 (never a log index) only if the config was cleaned up
    /// meanwhile, the test having failed in another thread (Go's −1).
    #[track_caller]
    pub fn one(&self, cmd: C, expected_servers: usize, retry: bool) -> usize {
        let t0 = Instant::now();
        let mut starts = 0;
        while t0.elapsed() < Duration::from_secs(10) && !self.finished() {
            // try all the servers, maybe one is the leader.
            let mut index = None;
            for _ in 0..self.0.n {
                starts = (starts + 1) % self.0.n;
                let rf = self.raft(starts).filter(|_| self.is_connected(starts));
                if let Some(rf) = rf
                    && let (index1, term, true) = rf.start(cmd.clone())
                {
                    if let Some(tl) = &self.0.timeline {
                        let what = format!("start({cmd:?}) -> index {index1}, term {term}");
                        tl.mark(self.0.peers.lane(starts), Kind::Submit, what);
                    }
                    self.note_leader(term, starts);
                    index = Some(index1);
                    break;
                }
            }

            if let Some(index) = index {
                // somebody claimed to be the leader and to have submitted
                // our command; wait a while for agreement.
                let t1 = Instant::now();
                while t1.elapsed() < Duration::from_secs(2) {
                    let (nd, cmd1) = self.n_committed(index);
                    // committed, and it was the command we submitted.
                    if nd > 0 && nd >= expected_servers && cmd1.as_ref() == Some(&cmd) {
                        return index;
                    }
                    sleep(Duration::from_millis(20));
                }
                if !retry {
                    fatal!("one({cmd:?}) failed to reach agreement");
                }
            } else {
                sleep(Duration::from_millis(50));
            }
        }
        if !self.finished() {
            fatal!("one({cmd:?}) failed to reach agreement");
        }
        0
    }

    /// Starts a test: prints its title and takes the baseline of the
    /// figures [`Config::end`] prints.
    pub fn begin(&self, description: &str) {
        common::print_begin(description);
        let rpcs0 = self.rpc_total();
        let bytes0 = self.bytes_total();
        let max_index0 = self.0.logs.lock().max_index;
        *self.0.stats.lock() = Stats {
            t0: Instant::now(),
            rpcs0,
            bytes0,
            max_index0,
        };
    }

    /// Ends a test that got here without failing: prints the Passed line
    /// with the test's real time, the number of peers, the RPCs sent, their
    /// bytes, and the agreements reported (the highest index applied).
    #[track_caller]
    pub fn end(&self) {
        self.0.watchdog.check();
        self.0.peers.check_kills();
        let stats = self.0.stats.lock();
        let nrpc = self.rpc_total() - stats.rpcs0;
        let nbytes = self.bytes_total() - stats.bytes0;
        let ncmds = self.0.logs.lock().max_index - stats.max_index0;
        common::print_passed(
            stats.t0.elapsed(),
            self.0.n,
            &format!("{nrpc:4} {nbytes:7} {ncmds:4}"),
        );
    }

    /// The live peers that are on the net.
    fn connected_rafts(&self) -> Vec<(usize, Arc<Raft<C>>)> {
        let connected = self.0.connected.lock().clone();
        let rafts = self.0.peers.servers();
        (0..self.0.n)
            .filter(|&i| connected[i])
            .filter_map(|i| Some((i, rafts[i].clone()?)))
            .collect()
    }
}

impl<C: Command> Member for Raft<C> {
    fn kill(&self) {
        Raft::kill(self);
    }
}

impl<C: Command + PartialEq> Teardown for Inner<C> {
    /// Go's `cleanup`: makes `one()` give up, kills every peer, shuts the
    /// network. (Go also checks the time limit here; the watchdog covers
    /// that.)
    fn teardown(&self) {
        self.finished.store(true, Ordering::Release);
        if let Some(tl) = &self.timeline {
            tl.finish();
        }
        self.watchdog.cleanup(|| {
            self.peers.end();
            self.net.cleanup();
        });
    }
}

impl<C: Command + PartialEq> Logs<C> {
    /// Records that peer `i` applied `cmd` at `index`, after checking that
    /// no peer applied something else there and that peer `i` applied
    /// `index - 1` before; returns what is wrong, if anything (Go's
    /// `checkLogs` followed by the applier's order check).
    fn check_apply(&mut self, i: usize, index: usize, cmd: C) -> Option<String> {
        let mut err = None;
        for (j, log) in self.logs.iter().enumerate() {
            if let Some(old) = log.get(&index)
                && *old != cmd
            {
                common::eprint_live(&format!("{i}: log {:?}; server {:?}\n", self.logs[i], log));
                // some server has already committed a different value for
                // this entry!
                err = Some(format!(
                    "commit index={index} server={i} {cmd:?} != server={j} {old:?}"
                ));
            }
        }
        let prevok = self.logs[i].contains_key(&(index - 1));
        if let Some((tl, lanes)) = &self.timeline {
            tl.mark(lanes[i], Kind::Apply, format!("apply {index}: {cmd:?}"));
        }
        self.logs[i].insert(index, cmd);
        self.max_index = self.max_index.max(index);
        if let Some(faults) = &self.events {
            faults.note(Event::Applied { peer: i, index });
        }
        if index > 1 && !prevok {
            err = Some(format!("server {i} apply out of order {index}"));
        }
        err
    }

    /// The snapshot a service would take of peer `i` after applying
    /// `index`: the index, then the commands at 0 (none) to `index`.
    /// Go encodes the two values one after the other; one tuple is the
    /// same for labgob.
    fn snapshot(&self, i: usize, index: usize) -> Vec<u8> {
        let xlog: Vec<Option<C>> = (0..=index).map(|j| self.logs[i].get(&j).cloned()).collect();
        labgob::encode(&(index, xlog))
    }

    /// Peer `i` restarts with `snapshot` (perhaps empty) saved: its reader
    /// starts over, having processed the snapshot, as a service would.
    #[track_caller]
    fn restart(&mut self, i: usize, snapshot: &[u8]) {
        self.last_applied[i] = 0;
        if !snapshot.is_empty() {
            let (last_included_index, xlog) = decode_snapshot(snapshot);
            self.install_snapshot(i, last_included_index, xlog);
        }
    }

    /// Replaces the tester's copy of peer `i`'s log by a snapshot's.
    fn install_snapshot(&mut self, i: usize, last_included_index: usize, xlog: Vec<Option<C>>) {
        self.logs[i] = xlog
            .into_iter()
            .enumerate()
            .filter_map(|(j, cmd)| Some((j, cmd?)))
            .collect();
        self.last_applied[i] = last_included_index;
    }
}

/// Decodes a snapshot made by [`Logs::snapshot`]; any other is fatal.
#[track_caller]
fn decode_snapshot<C: Command>(snapshot: &[u8]) -> (usize, Vec<Option<C>>) {
    // Rust has no nil slice; an empty snapshot is the same mistake.
    if snapshot.is_empty() {
        fatal("nil snapshot");
    }
    labgob::decode(snapshot).unwrap_or_else(|e| fatal(format!("snapshot decode error: {e}")))
}

#[track_caller]
fn apply_error(err: String) -> ! {
    fatal(format!("apply error: {err}"))
}

/// Reads peer `i`'s apply channel and checks that what it applies matches
/// the other peers' logs (2A–2C). Ends when the channel disconnects.
fn applier<C: Command + PartialEq>(
    i: usize,
    logs: &Mutex<Logs<C>>,
    apply_rx: &Receiver<ApplyMsg<C>>,
) {
    for m in apply_rx {
        // ignore other types of ApplyMsg.
        if let ApplyMsg::Command { index, command } = m
            && let Some(err) = logs.lock().check_apply(i, index, command)
        {
            apply_error(err);
        }
    }
}

/// Reads peer `i`'s apply channel (2D): checks commands strictly in order,
/// ingests every snapshot it is sent, and snapshots peer `i` every
/// [`SNAPSHOT_INTERVAL`] entries, calling `snapshot()` from this very
/// thread (so a Raft that holds its lock while sending on the apply
/// channel deadlocks here, as in Go). Ends when the channel disconnects.
fn applier_snap<C: Command + PartialEq>(
    i: usize,
    logs: &Mutex<Logs<C>>,
    apply_rx: &Receiver<ApplyMsg<C>>,
    rf: &Weak<Raft<C>>,
) {
    for m in apply_rx {
        match m {
            ApplyMsg::Snapshot { index, data, .. } => {
                let (last_included_index, xlog) = decode_snapshot(&data);
                if last_included_index != index {
                    apply_error(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
                }
                let mut logs = logs.lock();
                // Not in Go, whose applier takes any snapshot: one below
                // what the peer applied would take the service back in time.
                if index < logs.last_applied[i] {
                    apply_error(format!(
                        "server {i} sent a snapshot at index {index} after applying up to {}: \
                         a snapshot at or below the commit index brings nothing new and must \
                         be ignored, not installed",
                        logs.last_applied[i]
                    ));
                }
                logs.install_snapshot(i, last_included_index, xlog);
                if let Some((tl, lanes)) = &logs.timeline {
                    tl.mark(
                        lanes[i],
                        Kind::Snapshot,
                        format!("snapshot installed at {index}"),
                    );
                }
            }
            ApplyMsg::Command { index, command } => {
                let snapshot = {
                    let mut logs = logs.lock();
                    let expected = logs.last_applied[i] + 1;
                    if index != expected {
                        apply_error(format!(
                            "server {i} apply out of order, expected index {expected}, got {index}"
                        ));
                    }
                    if let Some(err) = logs.check_apply(i, index, command) {
                        apply_error(err);
                    }
                    logs.last_applied[i] = index;
                    let due = (index + 1) % SNAPSHOT_INTERVAL == 0 && !logs.paused[i];
                    if due && let Some((tl, lanes)) = &logs.timeline {
                        tl.mark(lanes[i], Kind::Snapshot, format!("snapshot({index})"));
                    }
                    due.then(|| logs.snapshot(i, index))
                };
                // The peer is gone only once the tester dropped it, and with
                // it this channel; nothing is left to snapshot then.
                if let Some(data) = snapshot
                    && let Some(rf) = rf.upgrade()
                {
                    rf.snapshot(index, data);
                }
            }
        }
    }
}
