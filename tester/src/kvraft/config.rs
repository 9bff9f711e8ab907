//! The key/value tester's harness: a port of MIT 6.824's
//! `kvraft/config.go` (2023), with its steps and messages.

use std::collections::BTreeMap;

use ::raft::{Persister, dlog};
use kvraft::{Clerk, KvServer, start_kv_server};
use labrpc::{Network, Server};
use labrt::rand::SliceRandom;
use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::sync::{Arc, Mutex};
use labrt::time::Instant;

use crate::common::{self, KillCheck, Watchdog};

/// The harness for one key/value test: `n` replicas on a fresh labrpc
/// network, and the clerks the test makes.
///
/// A `Config` is a handle; clones share the same servers, for the client
/// threads of a test. Every server is killed and the network shut when the
/// last handle is dropped, or as soon as a handle is dropped by a panicking
/// thread (a failed test).
#[derive(Clone)]
pub struct Config(Arc<Inner>);

struct Inner {
    n: usize,
    net: Network,
    maxraftstate: Option<usize>,
    servers: Mutex<Servers>,
    /// The ends of each clerk, by client id.
    clerks: Mutex<BTreeMap<usize, Vec<String>>>,
    next_client_id: AtomicU64,
    /// Clerk operations made through the test's wrappers since `begin`.
    ops: AtomicU64,
    stats: Mutex<Stats>,
    watchdog: Watchdog,
    kills: KillCheck,
}

struct Servers {
    /// `None` while a server is shut down.
    kvservers: Vec<Option<Arc<KvServer>>>,
    /// What each server persisted, handed to its next incarnation.
    saved: Vec<Persister>,
    /// The names of the ends each server sends through (empty before its
    /// first start).
    endnames: Vec<Vec<String>>,
}

/// `begin()`'s baseline for the figures `end()` prints.
struct Stats {
    t0: Instant,
    rpcs0: u64,
}

/// A clerk the tester made, with the id under which the tester knows its
/// ends (to connect and disconnect them). It derefs to the [`Clerk`].
pub struct Client {
    id: usize,
    clerk: Clerk,
}

impl Client {
    /// The id to name this client by in [`Config::connect_client`] and
    /// [`Config::disconnect_client`], also when a thread owns the client.
    pub fn id(&self) -> usize {
        self.id
    }
}

impl std::ops::Deref for Client {
    type Target = Clerk;
    fn deref(&self) -> &Clerk {
        &self.clerk
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Clerk {
        &mut self.clerk
    }
}

impl Config {
    /// Starts `n` replicas, all connected (Go's `make_config`).
    /// `unreliable` makes the network drop and delay messages; with
    /// `maxraftstate = Some(bytes)` the servers snapshot (3B). Unlike the
    /// Raft tester's, the network keeps short delays for unreachable
    /// servers, as in Go.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> Config {
        common::warn_if_one_cpu();
        ::raft::debug::reset_clock();
        let cfg = Config(Arc::new(Inner {
            n,
            net: Network::new(),
            maxraftstate,
            servers: Mutex::new(Servers {
                kvservers: vec![None; n],
                // Go makes a persister at a server's first start; an empty
                // one from the outset is the same.
                saved: (0..n).map(|_| Persister::new()).collect(),
                endnames: vec![Vec::new(); n],
            }),
            clerks: Mutex::new(BTreeMap::new()),
            next_client_id: AtomicU64::new(n as u64 + 1000),
            ops: AtomicU64::new(0),
            stats: Mutex::new(Stats {
                t0: Instant::now(),
                rpcs0: 0,
            }),
            watchdog: Watchdog::start(),
            kills: KillCheck::default(),
        }));
        // create a full set of KV servers.
        for i in 0..n {
            cfg.start_server(i);
        }
        cfg.connect_all();
        cfg.0.net.reliable(!unreliable);
        cfg
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
        self.largest(Persister::raft_state_size)
    }

    /// The largest snapshot among the servers, in bytes.
    pub fn snapshot_size(&self) -> usize {
        self.largest(Persister::snapshot_size)
    }

    fn largest(&self, size: impl Fn(&Persister) -> usize) -> usize {
        let servers = self.0.servers.lock();
        servers.saved.iter().map(size).max().unwrap_or(0)
    }

    /// Attaches server `i` to the servers in `to`: enables the ends between
    /// them, both ways. Go's `connectUnlocked`.
    pub fn connect(&self, i: usize, to: &[usize]) {
        self.set_links(i, to, true);
    }

    /// Detaches server `i` from the servers in `from`, both ways.
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        self.set_links(i, from, false);
    }

    fn set_links(&self, i: usize, others: &[usize], enabled: bool) {
        dlog!(
            Test,
            i,
            "{} {others:?}",
            if enabled {
                "connect to"
            } else {
                "disconnect from"
            }
        );
        let servers = self.0.servers.lock();
        for &j in others {
            // outgoing ends, then incoming ends (of servers started so far).
            if let Some(name) = servers.endnames[i].get(j) {
                self.0.net.enable(name, enabled);
            }
            if let Some(name) = servers.endnames[j].get(i) {
                self.0.net.enable(name, enabled);
            }
        }
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        let all = self.all();
        for i in 0..self.0.n {
            self.connect(i, &all);
        }
    }

    /// Splits the servers in two groups, each connected within itself and
    /// cut off from the other (either may be empty).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        for &i in p1 {
            self.disconnect(i, p2);
            self.connect(i, p1);
        }
        for &i in p2 {
            self.disconnect(i, p1);
            self.connect(i, p2);
        }
    }

    /// A new clerk, with an end to every server (in a random order, so its
    /// `servers[i]` need not be server `i`), connected to the servers in
    /// `to` only.
    pub fn make_client(&self, to: &[usize]) -> Client {
        // a fresh set of ClientEnds.
        let (names, mut ends) = common::fresh_ends(&self.0.net, self.0.n);
        ends.shuffle(&mut labrt::rand::rng());
        let id = self.0.next_client_id.fetch_add(1, Ordering::Relaxed) as usize;
        self.0.clerks.lock().insert(id, names);
        self.connect_client(id, to);
        Client {
            id,
            clerk: Clerk::new(ends),
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
        let all = self.all();
        self.disconnect(i, &all);
        // disable client connections to the server. it's important to do
        // this before creating the new Persister in saved[i], to avoid the
        // possibility of the server returning a positive reply to an Append
        // but persisting the result in the superseded Persister.
        self.0.net.delete_server(i);
        // a fresh persister, in case the old instance continues to update
        // the Persister. but copy the old persister's content so that we
        // always pass Make() the last persisted state.
        let kv = {
            let mut servers = self.0.servers.lock();
            servers.saved[i] = servers.saved[i].copy();
            servers.kvservers[i].take()
        };
        if let Some(kv) = kv {
            kv.kill();
            self.0.kills.killed(i);
        }
    }

    /// Starts server `i` with what it persisted so far. It gets fresh
    /// outgoing ends, not yet enabled: call [`Config::connect`]. If it is
    /// running, call [`Config::shutdown_server`] first.
    pub fn start_server(&self, i: usize) {
        dlog!(Test, i, "start");
        // a fresh set of outgoing ClientEnd names, and of ClientEnds.
        let (names, ends) = common::fresh_ends(&self.0.net, self.0.n);
        // give the fresh persister a copy of the old persister's state, so
        // that the spec is that we pass StartKVServer() the last persisted
        // state.
        let persister = {
            let mut servers = self.0.servers.lock();
            servers.endnames[i] = names;
            servers.saved[i] = servers.saved[i].copy();
            servers.saved[i].clone()
        };
        let maxraftstate = self.0.maxraftstate;
        let kv = self
            .0
            .kills
            .start(i, || start_kv_server(ends, i, persister, maxraftstate));
        self.0.servers.lock().kvservers[i] = Some(kv.clone());

        let srv = Server::new();
        srv.add_service(kv.service());
        srv.add_service(kv.raft().service());
        self.0.net.add_server(i, srv);
    }

    /// The first server whose Raft believes it is the leader, if any.
    pub fn leader(&self) -> Option<usize> {
        let servers = self.0.servers.lock();
        (0..self.0.n).find(|&i| {
            servers.kvservers[i]
                .as_ref()
                .is_some_and(|kv| kv.raft().get_state().1)
        })
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
    #[track_caller]
    pub fn end(&self) {
        self.0.watchdog.check();
        self.0.kills.check();
        let stats = self.0.stats.lock();
        let nrpc = self.0.net.total_count() - stats.rpcs0;
        let ops = self.0.ops.load(Ordering::Relaxed);
        common::print_passed(stats.t0.elapsed(), self.0.n, &format!("{nrpc:5} {ops:4}"));
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        // A failed test cleans up now; otherwise the last handle does.
        if std::thread::panicking() {
            self.0.cleanup();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cleanup();
    }
}

impl Inner {
    /// Go's `cleanup`: kills every server and shuts the network.
    /// Idempotent. (Go also checks the time limit here; the watchdog
    /// covers that.)
    fn cleanup(&self) {
        self.watchdog.stop();
        let kvservers = self.servers.lock().kvservers.clone();
        for kv in kvservers.iter().flatten() {
            kv.kill();
        }
        // Unlike Go, also take the servers off the network, which would
        // otherwise keep them alive through their RPC handlers.
        for i in 0..self.n {
            self.net.delete_server(i);
        }
        self.net.cleanup();
    }
}
