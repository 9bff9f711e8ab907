//! The shard controller's tester: a port of MIT 6.5840's
//! `shardctrler/config.go` (2023), on [`crate::cluster`].
//!
//! `n` controller servers (3 in every test) on a reliable network, each with
//! its `ShardCtrler` and `Raft` services, and clerks with an end to every
//! server in a random order. Unlike the Raft tester, unreachable servers
//! fail calls after 0..99 ms, as in Go. The tests print sections: `Test:
//! <title> ...` at the start ([`Config::section`]) and `  ... Passed` at
//! the end ([`Config::passed`]), without figures, as Go's do.

use labrpc::{ClientEnd, Name, Network};
use labrt::rand::SliceRandom;
use shardctrler::{Clerk, ShardCtrler, start_server};

use crate::cluster::{Cluster, Member};
use crate::common::{self, Handle, Teardown, Watchdog};

/// The harness for one shard-controller test. A handle: clones share the
/// same servers, for the clerk threads of a test. Everything is shut down
/// when the last handle is dropped, or as soon as a panicking thread drops
/// one.
#[derive(Clone)]
pub struct Config(Handle<Inner>);

struct Inner {
    net: Network,
    servers: Cluster<ShardCtrler>,
    watchdog: Watchdog,
}

impl Member for ShardCtrler {
    fn kill(&self) {
        ShardCtrler::kill(self);
    }
}

impl Config {
    /// Starts `n` controllers, all connected (Go's `make_config`).
    pub fn new(n: usize, unreliable: bool) -> Config {
        common::warn_if_one_cpu();
        ::raft::debug::reset_clock();
        let net = Network::new();
        let timeline = crate::timeline::Timeline::start(&net, None);
        let servers = Cluster::new(&net, n);
        servers.set_timeline(&timeline);
        let cfg = Config(Handle::new(Inner {
            servers,
            watchdog: Watchdog::start(),
            net,
        }));
        for i in 0..n {
            cfg.start_server(i);
        }
        cfg.connect_all();
        cfg.0.net.reliable(!unreliable);
        if let Some(tl) = &timeline {
            tl.hook_panics();
        }
        crate::cluster::poll_roles_for_timeline(
            &cfg.0,
            |inner| vec![&inner.servers],
            |sc| sc.raft().get_state(),
        );
        cfg
    }

    /// Every server's index.
    pub fn all(&self) -> Vec<usize> {
        self.0.servers.all()
    }

    /// Starts server `i` with what it persisted; its ends are enabled by
    /// [`Config::connect_all`].
    pub fn start_server(&self, i: usize) {
        self.0.servers.start(i, |ends, persister| {
            let sc = start_server(ends, i, persister);
            let services = vec![sc.service(), sc.raft().service()];
            (sc, services)
        });
    }

    /// Shuts server `i` down, keeping what it persisted.
    pub fn shutdown_server(&self, i: usize) {
        self.0.servers.shutdown(i);
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        self.0.servers.connect_all();
    }

    /// The first server whose Raft believes it is the leader, if any.
    pub fn leader(&self) -> Option<usize> {
        let servers = self.0.servers.servers();
        (0..servers.len()).find(|&i| {
            servers[i]
                .as_ref()
                .is_some_and(|sc| sc.raft().get_state().1)
        })
    }

    /// A clerk with an end to every server, in a random order, enabled for
    /// the servers in `to` only.
    pub fn make_client(&self, to: &[usize]) -> Clerk {
        let names: Vec<Name> = self.all().into_iter().map(Name::from).collect();
        let (endnames, ends) = common::fresh_ends_to(&self.0.net, &names);
        for &j in to {
            self.0.net.enable(&endnames[j], true);
        }
        let mut ends: Vec<ClientEnd> = ends;
        ends.shuffle(&mut labrt::rand::rng());
        Clerk::new(ends)
    }

    /// Prints a section's title line, `Test: <title> ...`.
    pub fn section(&self, title: &str) {
        common::print_begin(&format!("Test: {title}"));
    }

    /// Prints a section's `  ... Passed` line, after checking the time
    /// limit and that shut-down servers' threads stopped.
    #[track_caller]
    pub fn passed(&self) {
        self.0.watchdog.check();
        self.0.servers.check_kills();
        common::print_passed_as("  ... Passed");
    }
}

impl Teardown for Inner {
    /// Go's `cleanup`: kills every server and shuts the network.
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
