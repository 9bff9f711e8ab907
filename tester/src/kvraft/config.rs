//! The key/value tester's harness: a port of MIT 6.824's
//! `kvraft/config.go` (2023), with its steps and messages.
//!
//! Not in Go: [`Config::end`] also checks that the clerks asked the servers
//! and that the servers replicated through Raft, so lab 3 cannot be passed
//! by a service that never replicates.

use std::collections::{BTreeMap, BTreeSet};

use ::raft::dlog;
use labrpc::{ClientEnd, Name, Network};
use labrt::rand::SliceRandom;
use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::sync::{Arc, Mutex};
use labrt::time::{Duration, Instant, sleep};
use persister::Persister;

use super::service::{KvClerk, KvService, Replica};
use crate::cluster::Cluster;
use crate::common::{self, Handle, Teardown, Watchdog};
use crate::fatal;
use crate::faults::Faults;
use crate::timeline::Timeline;

/// How long [`Config::end`] waits for a majority of the servers to show a
/// value written in their persisted state. A correct server has it there
/// before its clerk's operation returns (a follower saves before it answers
/// AppendEntries); the wait covers a leader that saves its own log a little
/// later.
const REPLICATION_WAIT: Duration = Duration::from_secs(2);

/// The harness for one key/value test: `n` replicas on a fresh labrpc
/// network, and the clerks the test makes.
///
/// A `Config` is a handle; clones share the same servers, for the client
/// threads of a test. Every server is killed and the network shut when the
/// last handle is dropped, or as soon as a handle is dropped by a panicking
/// thread (a failed test).
#[derive(Clone)]
pub struct Config(Handle<Inner>);

struct Inner {
    n: usize,
    net: Network,
    maxraftstate: Option<usize>,
    service: KvService,
    servers: Cluster<dyn Replica>,
    /// The ends of each clerk, by client id.
    clerks: Mutex<BTreeMap<usize, Vec<String>>>,
    next_client_id: AtomicU64,
    /// Clerk operations made through the test's wrappers since `begin`.
    ops: AtomicU64,
    /// What every clerk of this config did, for the checks of `end`.
    traffic: Arc<Mutex<Traffic>>,
    stats: Mutex<Stats>,
    watchdog: Watchdog,
}

/// `begin()`'s baseline for the figures `end()` prints.
struct Stats {
    t0: Instant,
    rpcs0: u64,
}

/// What the clerks of a config did: the evidence [`Config::end`] checks.
#[derive(Default)]
struct Traffic {
    /// Every non-empty value a clerk was asked to put or append (whether or
    /// not the operation returned), by length.
    written: BTreeMap<usize, BTreeSet<Vec<u8>>>,
    /// Puts and Appends of a non-empty value that returned.
    writes_done: u64,
    /// Operations that returned although no call through the clerk's ends
    /// got a reply meanwhile, and the first of them.
    unanswered: u64,
    first_unanswered: Option<String>,
}

impl Traffic {
    /// Whether `bytes` hold one of the values written, as labgob writes a
    /// string: its UTF-8 bytes, whole.
    fn holds_a_value(&self, bytes: &[u8]) -> bool {
        // Position by position, so that a log with values near its start (a
        // correct server's) is done with at once.
        (0..bytes.len()).any(|at| {
            self.written.iter().any(|(&len, values)| {
                bytes
                    .get(at..at + len)
                    .is_some_and(|window| values.contains(window))
            })
        })
    }
}

/// A clerk the tester made, with the id under which the tester knows its
/// ends (to connect and disconnect them). Its `get`, `put` and `append` are
/// the clerk's; they also note, for [`Config::end`], what was written and
/// whether a server answered.
pub struct Client {
    id: usize,
    clerk: Box<dyn KvClerk>,
    /// Clones of the clerk's ends, whose replies count for the clerk.
    ends: Vec<ClientEnd>,
    traffic: Arc<Mutex<Traffic>>,
}

impl Client {
    /// The id to name this client by in [`Config::connect_client`] and
    /// [`Config::disconnect_client`], also when a thread owns the client.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The clerk's `get(key)`.
    pub fn get(&mut self, key: &str) -> String {
        self.run(|| format!("Get({key:?})"), |ck| ck.get(key))
    }

    /// The clerk's `put(key, value)`.
    pub fn put(&mut self, key: &str, value: &str) {
        self.write(value);
        self.run(
            || format!("Put({key:?}, {value:?})"),
            |ck| ck.put(key, value),
        );
        self.written(value);
    }

    /// The clerk's `append(key, value)`.
    pub fn append(&mut self, key: &str, value: &str) {
        self.write(value);
        self.run(
            || format!("Append({key:?}, {value:?})"),
            |ck| ck.append(key, value),
        );
        self.written(value);
    }

    /// Runs one operation of the clerk, noting it if no reply came to the
    /// clerk's ends while it ran.
    fn run<T>(
        &mut self,
        what: impl FnOnce() -> String,
        op: impl FnOnce(&mut dyn KvClerk) -> T,
    ) -> T {
        let before = self.replies();
        let result = op(self.clerk.as_mut());
        if self.replies() == before {
            let mut traffic = self.traffic.lock();
            traffic.unanswered += 1;
            traffic.first_unanswered.get_or_insert_with(what);
        }
        result
    }

    fn replies(&self) -> u64 {
        self.ends.iter().map(ClientEnd::reply_count).sum()
    }

    fn write(&self, value: &str) {
        if !value.is_empty() {
            let mut traffic = self.traffic.lock();
            traffic
                .written
                .entry(value.len())
                .or_default()
                .insert(value.as_bytes().to_vec());
        }
    }

    fn written(&self, value: &str) {
        if !value.is_empty() {
            self.traffic.lock().writes_done += 1;
        }
    }
}

impl Config {
    /// Starts `n` replicas, all connected (Go's `make_config`).
    /// `unreliable` makes the network drop and delay messages; with
    /// `maxraftstate = Some(bytes)` the servers snapshot (3B). Unlike the
    /// Raft tester's, the network keeps short delays for unreachable
    /// servers, as in Go.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> Config {
        Config::with_service(KvService::kvraft(), n, unreliable, maxraftstate)
    }

    /// [`Config::new`] for another service than the student's `kvraft`: for
    /// the harness's own tests.
    pub fn with_service(
        service: KvService,
        n: usize,
        unreliable: bool,
        maxraftstate: Option<usize>,
    ) -> Config {
        common::warn_if_one_cpu();
        ::raft::debug::reset_clock();
        let net = Network::new();
        let timeline = Timeline::start(&net, None);
        let servers = Cluster::new(&net, n);
        servers.set_timeline(&timeline);
        let cfg = Config(Handle::new(Inner {
            n,
            maxraftstate,
            service,
            servers,
            clerks: Mutex::new(BTreeMap::new()),
            next_client_id: AtomicU64::new(n as u64 + 1000),
            ops: AtomicU64::new(0),
            traffic: Arc::default(),
            stats: Mutex::new(Stats {
                t0: Instant::now(),
                rpcs0: 0,
            }),
            watchdog: Watchdog::start(),
            net,
        }));
        // create a full set of KV servers.
        for i in 0..n {
            cfg.start_server(i);
        }
        cfg.connect_all();
        cfg.0.net.reliable(!unreliable);
        if let Some(tl) = cfg.0.servers.timeline() {
            tl.hook_panics();
        }
        crate::cluster::poll_roles_for_timeline(
            &cfg.0,
            |inner| vec![&inner.servers],
            |s| s.state(),
        );
        cfg
    }

    /// Lets `faults` decide the fate of every message from now on (see
    /// [`crate::faults`]; its ends are not named, so rules select by
    /// method and step only).
    pub fn tap(&self, faults: Faults) {
        match self.0.servers.timeline() {
            Some(tl) => tl.set_faults(Arc::new(faults)),
            None => self.0.net.tap(Arc::new(faults)),
        }
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.0.n
    }

    /// Every server's index: `0..n`.
    pub fn all(&self) -> Vec<usize> {
        (0..self.0.n).collect()
    }

    /// The largest persisted Raft state among the servers, in bytes.
    pub fn log_size(&self) -> usize {
        self.0.servers.largest(Persister::raft_state_size)
    }

    /// The largest snapshot among the servers, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.0.servers.largest(Persister::snapshot_size)
    }

    /// Attaches server `i` to the servers in `to`: enables the ends between
    /// them, both ways. Go's `connectUnlocked`.
    pub fn connect(&self, i: usize, to: &[usize]) {
        dlog!(Test, i, "connect to {to:?}");
        self.0.servers.connect(i, to);
    }

    /// Detaches server `i` from the servers in `from`, both ways.
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        dlog!(Test, i, "disconnect from {from:?}");
        self.0.servers.disconnect(i, from);
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        self.0.servers.connect_all();
    }

    /// Splits the servers in two groups, each connected within itself and
    /// cut off from the other (either may be empty).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        dlog!(Test, 0, "partition {p1:?} {p2:?}");
        self.0.servers.partition(p1, p2);
    }

    /// A new clerk, with an end to every server (in a random order, so its
    /// `servers[i]` need not be server `i`), connected to the servers in
    /// `to` only.
    pub fn make_client(&self, to: &[usize]) -> Client {
        // a fresh set of ClientEnds.
        let (names, mut ends) = common::fresh_ends(&self.0.net, self.0.n);
        ends.shuffle(&mut labrt::rand::rng());
        let id = self.0.next_client_id.fetch_add(1, Ordering::Relaxed) as usize;
        if let Some(tl) = self.0.servers.timeline() {
            let me = tl.lane_of(&Name::from(format!("C{id}")));
            for (j, name) in names.iter().enumerate() {
                tl.name_end(name, me, self.0.servers.lane(j));
            }
        }
        self.0.clerks.lock().insert(id, names);
        self.connect_client(id, to);
        Client {
            id,
            clerk: (self.0.service.make_clerk)(ends.clone()),
            ends,
            traffic: self.0.traffic.clone(),
        }
    }

    /// Forgets a clerk: its ends leave the network.
    pub fn delete_client(&self, ck: Client) {
        if let Some(names) = self.0.clerks.lock().remove(&ck.id) {
            for name in names {
                self.0.net.delete_end(name);
            }
        }
    }

    /// Enables client `id`'s ends to the servers in `to`.
    pub fn connect_client(&self, id: usize, to: &[usize]) {
        self.set_client_links(id, to, true);
    }

    /// Disables client `id`'s ends to the servers in `from`.
    pub fn disconnect_client(&self, id: usize, from: &[usize]) {
        self.set_client_links(id, from, false);
    }

    fn set_client_links(&self, id: usize, servers: &[usize], enabled: bool) {
        let clerks = self.0.clerks.lock();
        let names = &clerks[&id];
        for &j in servers {
            self.0.net.enable(&names[j], enabled);
        }
    }

    /// Shuts server `i` down, keeping what it persisted.
    pub fn shutdown_server(&self, i: usize) {
        dlog!(Test, i, "shut down");
        self.0.servers.shutdown(i);
    }

    /// Starts server `i` with what it persisted so far. It gets fresh
    /// outgoing ends, not yet enabled: call [`Config::connect`]. If it is
    /// running, call [`Config::shutdown_server`] first.
    pub fn start_server(&self, i: usize) {
        dlog!(Test, i, "start");
        let (maxraftstate, start) = (self.0.maxraftstate, self.0.service.start_server);
        self.0.servers.start(i, |ends, persister| {
            let kv = start(ends, i, persister, maxraftstate);
            let services = kv.services();
            (kv, services)
        });
    }

    /// The first server whose Raft believes it is the leader, if any.
    pub fn leader(&self) -> Option<usize> {
        let servers = self.0.servers.servers();
        (0..self.0.n).find(|&i| servers[i].as_ref().is_some_and(|kv| kv.is_leader()))
    }

    /// Two groups for a partition: a majority of `n/2 + 1` servers without
    /// the leader, and a minority of `n/2` with the current leader last
    /// (server 0 if there is none).
    pub fn make_partition(&self) -> (Vec<usize>, Vec<usize>) {
        let l = self.leader().unwrap_or(0);
        let mut others: Vec<usize> = (0..self.0.n).filter(|&i| i != l).collect();
        let mut p2 = others.split_off(self.0.n / 2 + 1);
        p2.push(l);
        (others, p2)
    }

    /// Counts one clerk operation made through the test's wrappers.
    pub fn op(&self) {
        self.0.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a test: prints its title and takes the baseline of the
    /// figures [`Config::end`] prints.
    pub fn begin(&self, description: &str) {
        common::print_begin(description);
        let rpcs0 = self.0.net.total_count();
        self.0.ops.store(0, Ordering::Relaxed);
        *self.0.stats.lock() = Stats {
            t0: Instant::now(),
            rpcs0,
        };
    }

    /// Ends a test that got here without failing: prints the Passed line
    /// with the test's real time, the number of servers, the RPCs sent and
    /// the clerk operations made.
    ///
    /// Not in Go: first it checks that the service used its servers and
    /// their Raft, so that lab 3 cannot be passed without Raft:
    ///
    /// * every clerk operation that returned got a reply from a server
    ///   while it ran (a clerk must not answer from memory);
    /// * if a Put or Append of a non-empty value returned, a majority of
    ///   the servers hold, in the Raft state or the snapshot they persisted,
    ///   the bytes of some value a clerk put or appended: a committed
    ///   operation is in the saved log of a majority, or in the state their
    ///   snapshot saves (the last one written to a key stays in it);
    /// * the same for a Put that the tester makes here, through a new clerk,
    ///   of a random 32-character value under a random key: the test's own
    ///   values may be too short ("0", "A") to tell from a log's other bytes.
    ///
    /// A server keeps a value's bytes as they are when it encodes strings
    /// with labgob, as the lab asks.
    #[track_caller]
    pub fn end(&self) {
        self.0.watchdog.check();
        self.0.servers.check_kills();
        // The figures of the test itself, without the checks' own Put.
        let (elapsed, nrpc) = {
            let stats = self.0.stats.lock();
            (stats.t0.elapsed(), self.0.net.total_count() - stats.rpcs0)
        };
        let ops = self.0.ops.load(Ordering::Relaxed);
        self.check_answered();
        self.check_replicated();
        common::print_passed(elapsed, self.0.n, &format!("{nrpc:5} {ops:4}"));
    }
}

impl Config {
    /// Fails the test if a clerk operation returned without a reply from a
    /// server.
    #[track_caller]
    fn check_answered(&self) {
        let traffic = self.0.traffic.lock();
        if let Some(first) = &traffic.first_unanswered {
            let n = traffic.unanswered;
            let ops = if n == 1 { "operation" } else { "operations" };
            fatal!(
                "{n} clerk {ops} returned without a reply from any server (the first: {first}): \
                 a clerk must send every operation to the servers"
            );
        }
    }

    /// Fails the test if the servers' persisted state does not show the
    /// operations: Puts and Appends of the test's clerks returned, but no
    /// majority holds a value they wrote; or a Put of the tester's own, of
    /// a random value that no server can hold by chance, returned but no
    /// majority holds its value. Each within [`REPLICATION_WAIT`].
    #[track_caller]
    fn check_replicated(&self) {
        if self.0.traffic.lock().writes_done > 0 {
            let holding =
                self.wait_for_majority(|bytes| self.0.traffic.lock().holds_a_value(bytes));
            if let Err(holding) = holding {
                fatal!(
                    "no operation reached the servers' Raft logs (a value put or appended is in \
                     the persisted state of {holding} of {} servers, not a majority): a \
                     key/value server must replicate every operation through Raft",
                    self.0.n
                );
            }
        }
        // The test's own values may be short ("0", "A"), which a log's other
        // bytes can hold by chance.
        let (key, value) = (common::randstring(20), common::randstring(32));
        let mut ck = self.make_client(&self.all());
        ck.clerk.put(&key, &value);
        self.delete_client(ck);
        let value = value.as_bytes();
        let holding =
            self.wait_for_majority(|bytes| bytes.windows(value.len()).any(|w| w == value));
        if let Err(holding) = holding {
            fatal!(
                "no operation reached the servers' Raft logs (the value of a Put the tester made \
                 at the end of the test is in the persisted state of {holding} of {} servers, not \
                 a majority): a key/value server must replicate every operation through Raft",
                self.0.n
            );
        }
    }

    /// Waits up to [`REPLICATION_WAIT`] until a majority of the servers
    /// have persisted a Raft state or a snapshot that `holds`; otherwise
    /// returns how many had at the last look.
    fn wait_for_majority(&self, holds: impl Fn(&[u8]) -> bool) -> Result<(), usize> {
        let deadline = Instant::now() + REPLICATION_WAIT;
        loop {
            let saved = self.0.servers.saved();
            let holding = saved
                .iter()
                .filter(|p| holds(&p.read_raft_state()) || holds(&p.read_snapshot()))
                .count();
            if holding > self.0.n / 2 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(holding);
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Teardown for Inner {
    /// Go's `cleanup`: kills every server and shuts the network. (Go also
    /// checks the time limit here; the watchdog covers that.)
    fn teardown(&self) {
        if let Some(tl) = self.servers.timeline() {
            tl.finish();
        }
        self.watchdog.cleanup(|| {
            self.servers.end();
            self.net.cleanup();
        });
    }
}
