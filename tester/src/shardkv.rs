//! The sharded key/value service's tester: a port of MIT 6.5840's
//! `shardkv/config.go` (2023), on [`crate::cluster`].
//!
//! One labrpc network carries four clusters: the shard controller (3
//! servers, `"ctrler0"` to `"ctrler2"`, each with its `ShardCtrler` and
//! `Raft` services) and three replica groups, gids 100, 101 and 102, of `n`
//! servers each, `"server-<gid>-<i>"`, each with its `ShardKV` and `Raft`
//! services. Every server starts at once, but no group has joined: the
//! tests join and leave groups through the tester's own controller clerk
//! (`mck`, the student's `shardctrler::Clerk`), crash and restart servers
//! and whole groups, and make clerks of the sharded service. The network is
//! reliable, or drops and delays every kind of call (controllers, group
//! peers, clerks, group to group) for the `unreliable` tests.
//!
//! ```text
//! let cfg = Config::new(3, false, None);     -- 3 servers a group, reliable net, no snapshots
//! cfg.begin("Test: static shards ...");      -- Go's title line, as it is
//! let mut ck = cfg.make_client();            -- a clerk of the sharded service
//! cfg.join(0); cfg.leave(1); cfg.joinm(&[0, 1, 2]);   -- groups by index: gid 100 + gi
//! cfg.shutdown_group(1); cfg.start_group(1); cfg.shutdown_server(gi, i); cfg.start_server(gi, i);
//! cfg.query(None), cfg.check_logs(), cfg.reliable(true)
//! cfg.passed();                              -- `  ... Passed`
//! ```
//!
//! Servers reach each other, across groups, through `make_end(name)`: an
//! end under a fresh random name to the server called `name`, enabled, one
//! per call, as in Go. Failures panic with MIT's messages and the seed; a
//! test may run 120 seconds. Unreliable 3's history goes through lab 3's
//! linearizability check ([`get`], [`put`], [`append`] log operations in an
//! [`OpLog`]; [`check_linearizable`]).

use std::collections::BTreeMap;

use labrpc::{ClientEnd, Name, Network};
use labrt::sync::{Arc, Mutex};
use labrt::time::Duration;
use linearizability::{Budget, KvOperation};
use persister::Persister;
use shardctrler::ShardCtrler;
use shardkv::{Clerk, Gid, MakeEnd, ShardKv};

use crate::cluster::{Cluster, Member};
use crate::common::{self, Handle, Teardown, Watchdog};
use crate::fatal;
pub use crate::history::OpLog;
use crate::history::{self, logged};

/// The number of controller servers.
const NCTRLERS: usize = 3;
/// The number of replica groups.
const NGROUPS: usize = 3;

/// How long Unreliable 3 lets the linearizability checker search (Go's
/// `linearizabilityCheckTimeout`).
const LINEARIZABILITY_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The harness for one sharded key/value test. A handle: clones share the
/// same servers, for the clerk threads of a test. Everything is shut down
/// when the last handle is dropped, or as soon as a panicking thread drops
/// one.
#[derive(Clone)]
pub struct Config(Handle<Inner>);

struct Inner {
    net: Network,
    maxraftstate: Option<usize>,
    ctrlers: Cluster<ShardCtrler>,
    groups: Vec<Group>,
    /// The tester's own controller clerk (Go's `mck`).
    mck: Mutex<shardctrler::Clerk>,
    watchdog: Watchdog,
}

/// One replica group.
struct Group {
    gid: Gid,
    servers: Cluster<ShardKv>,
}

impl Member for ShardKv {
    fn kill(&self) {
        ShardKv::kill(self);
    }
}

/// A controller server's name on the network: `ctrler0`.
fn ctrler_name(i: usize) -> Name {
    Name::from(format!("ctrler{i}"))
}

/// Server `i` of group `gid`'s name on the network: `server-101-2`.
fn server_name(gid: Gid, i: usize) -> String {
    format!("server-{gid}-{i}")
}

impl Config {
    /// Starts the controllers and `n` servers in each of the three groups
    /// (none joined), on a network that is reliable unless `unreliable`;
    /// the groups' servers snapshot at `maxraftstate` bytes of Raft state
    /// (never with `None`, Go's -1). Go's `make_config`.
    pub fn new(n: usize, unreliable: bool, maxraftstate: Option<usize>) -> Config {
        common::warn_if_one_cpu();
        ::raft::debug::reset_clock();
        let watchdog = Watchdog::start();
        let net = Network::new();
        let timeline = crate::timeline::Timeline::start(&net, None);
        let ctrlers = Cluster::named(&net, (0..NCTRLERS).map(ctrler_name).collect());
        ctrlers.set_timeline(&timeline);
        let groups = (0..NGROUPS)
            .map(|gi| {
                let gid = 100 + gi as Gid;
                let names = (0..n).map(|i| Name::from(server_name(gid, i))).collect();
                let servers = Cluster::named(&net, names);
                servers.set_timeline(&timeline);
                Group { gid, servers }
            })
            .collect();
        let mck = shardctrler::Clerk::new(ctrler_ends(&net));
        let cfg = Config(Handle::new(Inner {
            maxraftstate,
            ctrlers,
            groups,
            mck: Mutex::new(mck),
            watchdog,
            net,
        }));
        cfg.start_ctrlers();
        for gi in 0..NGROUPS {
            cfg.start_group(gi);
        }
        cfg.0.net.reliable(!unreliable);
        if let Some(tl) = &timeline {
            tl.hook_panics();
        }
        crate::cluster::poll_roles_for_timeline(
            &cfg.0,
            |inner| vec![&inner.ctrlers],
            |sc| sc.raft().get_state(),
        );
        crate::cluster::poll_roles_for_timeline(
            &cfg.0,
            |inner| inner.groups.iter().map(|g| &g.servers).collect(),
            |kv| kv.raft().get_state(),
        );
        cfg
    }

    /// Go's `StartCtrlerserver` for every controller: fresh persisters,
    /// ends between them enabled.
    fn start_ctrlers(&self) {
        let ctrlers = &self.0.ctrlers;
        for i in ctrlers.all() {
            ctrlers.start(i, |ends, persister| {
                let sc = shardctrler::start_server(ends, i, persister);
                let services = vec![sc.service(), sc.raft().service()];
                (sc, services)
            });
        }
        ctrlers.connect_all();
    }

    /// Prints the test's title line as Go's test prints it, e.g. `Test:
    /// static shards ...` (some have no space before the dots).
    pub fn begin(&self, line: &str) {
        common::print_begin_as(line);
    }

    /// Group `gi`'s gid: `100 + gi`.
    pub fn gid(&self, gi: usize) -> Gid {
        self.0.groups[gi].gid
    }

    /// A clerk of the sharded service: ends to every controller, in order
    /// (Go's `makeClient` does not shuffle them), enabled, and
    /// [`Config::make_end`] to reach the groups' servers.
    pub fn make_client(&self) -> Clerk {
        Clerk::new(ctrler_ends(&self.0.net), self.make_end())
    }

    /// Go's `make_end`: each call makes an end under a fresh random name,
    /// connected to the server called `name` and enabled. Nothing ever
    /// disables these ends.
    pub fn make_end(&self) -> MakeEnd {
        let net = self.0.net.clone();
        Arc::new(move |name: &str| {
            let endname = common::randstring(20);
            let end = net.make_end(endname.as_str());
            net.connect(endname.as_str(), name);
            net.enable(endname.as_str(), true);
            end
        })
    }

    /// Starts server `i` of group `gi` with what it persisted, its ends to
    /// its group enabled at once (as in Go). Shut it down first if it runs.
    pub fn start_server(&self, gi: usize, i: usize) {
        let group = &self.0.groups[gi];
        let (gid, maxraftstate) = (group.gid, self.0.maxraftstate);
        let (ctrlers, make_end) = (ctrler_ends(&self.0.net), self.make_end());
        group.servers.start(i, |ends, persister| {
            let kv =
                shardkv::start_server(ends, i, persister, maxraftstate, gid, ctrlers, make_end);
            let services = vec![kv.service(), kv.raft().service()];
            (kv, services)
        });
        // Go enables the new server's ends to its peers at once; the
        // peers' ends to it never were disabled (its calls failed because
        // it was off the network). Only running peers are connected: a
        // shut-down peer's old ends must stay off, since its instance may
        // still run.
        group.servers.connect(i, &group.servers.running());
    }

    /// Shuts server `i` of group `gi` down, keeping what it persisted: its
    /// ends to its group are disabled and it is taken off the network
    /// before its persister is replaced, as in Go.
    ///
    /// Unlike Go, its ends to the controllers stay enabled: its config
    /// poller may be blocked in the controller clerk's `query`, which
    /// retries until it gets an answer (MIT's does too); with the ends
    /// enabled the call returns and the thread sees `killed()`, where with
    /// them disabled it would retry for ever and the simulation's kill
    /// check (a killed server's threads must stop) would blame a correct
    /// server. The ends `make_end` made stay enabled, as in Go.
    pub fn shutdown_server(&self, gi: usize, i: usize) {
        self.0.groups[gi].servers.shutdown(i);
    }

    /// Starts every server of group `gi`, in order.
    pub fn start_group(&self, gi: usize) {
        for i in self.0.groups[gi].servers.all() {
            self.start_server(gi, i);
        }
    }

    /// Shuts every server of group `gi` down, in order.
    pub fn shutdown_group(&self, gi: usize) {
        for i in self.0.groups[gi].servers.all() {
            self.shutdown_server(gi, i);
        }
    }

    /// Tells the controller that group `gi` joins.
    pub fn join(&self, gi: usize) {
        self.joinm(&[gi]);
    }

    /// Tells the controller, in one `Join`, that groups `gis` join, each
    /// with the names of all its servers.
    pub fn joinm(&self, gis: &[usize]) {
        let groups: BTreeMap<Gid, Vec<String>> = gis
            .iter()
            .map(|&gi| {
                let group = &self.0.groups[gi];
                let names = group.servers.all().into_iter();
                (
                    group.gid,
                    names.map(|i| server_name(group.gid, i)).collect(),
                )
            })
            .collect();
        self.0.mck.lock().join(groups);
    }

    /// Tells the controller that group `gi` leaves.
    pub fn leave(&self, gi: usize) {
        self.leavem(&[gi]);
    }

    /// Tells the controller, in one `Leave`, that groups `gis` leave.
    pub fn leavem(&self, gis: &[usize]) {
        let gids: Vec<Gid> = gis.iter().map(|&gi| self.gid(gi)).collect();
        self.0.mck.lock().leave(&gids);
    }

    /// The controller's configuration `num` (the latest with `None`),
    /// asked through the tester's clerk (Go's `cfg.mck.Query`).
    pub fn query(&self, num: Option<usize>) -> shardctrler::Config {
        self.0.mck.lock().query(num)
    }

    /// Makes the network reliable, or unreliable.
    pub fn reliable(&self, yes: bool) {
        self.0.net.reliable(yes);
    }

    /// Every group server's persister, group after group (shared handles:
    /// they see later saves).
    pub fn persisters(&self) -> Vec<Persister> {
        self.0
            .groups
            .iter()
            .flat_map(|g| g.servers.saved())
            .collect()
    }

    /// Go's `checklogs`: no server's Raft state is larger than 8 times
    /// `maxraftstate`, and without `maxraftstate` no server snapshotted.
    #[track_caller]
    pub fn check_logs(&self) {
        for p in self.persisters() {
            let raft = p.raft_state_size();
            let snap = p.snapshot_size();
            match self.0.maxraftstate {
                Some(max) if raft > 8 * max => {
                    fatal!("persister.RaftStateSize() {raft}, but maxraftstate {max}")
                }
                None if snap > 0 => fatal!("maxraftstate is -1, but snapshot is non-empty!"),
                _ => {}
            }
        }
    }

    /// Prints the test's `  ... Passed` line, after checking the time limit
    /// and that shut-down servers' threads stopped.
    #[track_caller]
    pub fn passed(&self) {
        self.0.watchdog.check();
        self.0.ctrlers.check_kills();
        for group in &self.0.groups {
            group.servers.check_kills();
        }
        common::print_passed_as("  ... Passed");
    }
}

/// An end to each controller, under fresh names, enabled.
fn ctrler_ends(net: &Network) -> Vec<ClientEnd> {
    let names: Vec<Name> = (0..NCTRLERS).map(ctrler_name).collect();
    let (endnames, ends) = common::fresh_ends_to(net, &names);
    for name in endnames {
        net.enable(name.as_str(), true);
    }
    ends
}

impl Teardown for Inner {
    /// Go's `cleanup`: kills every server and shuts the network.
    fn teardown(&self) {
        if let Some(tl) = self.ctrlers.timeline() {
            tl.finish();
        }
        self.watchdog.cleanup(|| {
            for group in &self.groups {
                group.servers.end();
            }
            self.ctrlers.end();
            self.net.cleanup();
        });
    }
}

/// `ck.get(key)`, logged in `log` under client id `cli`.
pub fn get(ck: &mut Clerk, key: &str, log: &OpLog, cli: usize) -> String {
    logged(
        Some(log),
        || format!("C{cli}"),
        || ck.get(key),
        |v, start, end| KvOperation::get(cli, key, v, start, end),
    )
}

/// `ck.put(key, value)`, logged in `log` under client id `cli`.
pub fn put(ck: &mut Clerk, key: &str, value: &str, log: &OpLog, cli: usize) {
    logged(
        Some(log),
        || format!("C{cli}"),
        || ck.put(key, value),
        |_, start, end| KvOperation::put(cli, key, value, start, end),
    );
}

/// `ck.append(key, value)`, logged in `log` under client id `cli`.
pub fn append(ck: &mut Clerk, key: &str, value: &str, log: &OpLog, cli: usize) {
    logged(
        Some(log),
        || format!("C{cli}"),
        || ck.append(key, value),
        |_, start, end| KvOperation::append(cli, key, value, start, end),
    );
}

/// Fails the test unless the operations in `log` are linearizable. As in
/// Go, the checker searches for 1 s, and a search that runs out of time
/// passes with a line that says so (unless `LAB_LINEARIZABILITY_STRICT=1`);
/// a history that is not linearizable fails, with the checker's
/// explanation and the path of its HTML visualization.
#[track_caller]
pub fn check_linearizable(log: &OpLog) {
    let budget = Budget {
        first: LINEARIZABILITY_CHECK_TIMEOUT,
        // no retry with a larger budget: Go checks once.
        growth: 1,
        max: LINEARIZABILITY_CHECK_TIMEOUT,
        ..Budget::default()
    };
    history::check_linearizable(log, &budget);
}
