//! One replica group on a labrpc network: what every lab's tester does with
//! its servers, written once.
//!
//! MIT's testers (`raft/config.go`, `kvraft/config.go`, `shardctrler/` and
//! `shardkv/config.go`) each repeat the same lifecycle: a server's outgoing
//! ends get fresh random names at every start, so that a crashed instance
//! can never send again; a crash disconnects the server, deletes it from the
//! network *before* its persister is replaced (so no reply can come from
//! state the tester has thrown away), hands the next instance a copy of what
//! was saved, and kills the old one; connecting enables the ends between two
//! servers both ways. A [`Cluster`] does that for `n` servers of one kind
//! `S`; each lab's config is a thin layer over one or more clusters (lab 4
//! has a controller cluster and three replica groups on one network):
//!
//! ```text
//! let cluster = Cluster::new(&net, n)          -- servers 0..n on the network
//! let cluster = Cluster::named(&net, names)    -- or servers with these names
//! cluster.start(i, |ends, persister| (server, services))   -- fresh ends, saved state
//! cluster.shutdown(i)                          -- keep what it saved, kill it
//! cluster.connect(i, &to); cluster.disconnect(i, &from); cluster.partition(&p1, &p2)
//! cluster.server(i), cluster.largest(Persister::raft_state_size), cluster.check_kills()
//! cluster.end()                                -- kill them all, off the network
//! ```

use labrpc::{ClientEnd, Name, Network, Server, Service};
use labrt::sync::{Arc, Mutex};
use labrt::time::{Duration, sleep};
use persister::Persister;

use crate::common::{self, Handle, KillCheck, Teardown};
use crate::timeline::{Kind, Timeline};

/// A server the tester can shut down.
pub trait Member: Send + Sync {
    /// Shuts it down (the lab's `kill()`).
    fn kill(&self);
}

/// `n` servers of kind `S`, their persisters and their ends to each other.
pub struct Cluster<S: ?Sized> {
    net: Network,
    names: Vec<Name>,
    members: Mutex<Members<S>>,
    kills: KillCheck,
    /// The run's timeline, when `LAB_TRACE` records one.
    timeline: std::sync::OnceLock<Timeline>,
}

struct Members<S: ?Sized> {
    /// `None` while a server is shut down.
    servers: Vec<Option<Arc<S>>>,
    /// What each server persisted, handed to its next incarnation.
    saved: Vec<Persister>,
    /// The names of the ends each server sends through, to each other
    /// server (empty before its first start).
    endnames: Vec<Vec<String>>,
}

impl<S: Member + ?Sized> Cluster<S> {
    /// A cluster of `n` servers, none started; server `i` is called `i`
    /// on `net`.
    pub fn new(net: &Network, n: usize) -> Cluster<S> {
        Cluster::named(net, (0..n).map(Name::from).collect())
    }

    /// A cluster of servers called `names` on `net` (lab 4's
    /// `"server-101-2"`), none started; server `i` is `names[i]`.
    pub fn named(net: &Network, names: Vec<Name>) -> Cluster<S> {
        let n = names.len();
        Cluster {
            net: net.clone(),
            names,
            members: Mutex::new(Members {
                servers: (0..n).map(|_| None).collect(),
                // Go makes a persister at a server's first start; an empty
                // one from the outset is the same.
                saved: (0..n).map(|_| Persister::new()).collect(),
                endnames: vec![Vec::new(); n],
            }),
            kills: KillCheck::default(),
            timeline: std::sync::OnceLock::new(),
        }
    }

    /// Records this cluster's servers, ends and the tester's actions on
    /// them in `timeline` (if any; see [`crate::timeline`]).
    pub fn set_timeline(&self, timeline: &Option<Timeline>) {
        if let Some(tl) = timeline {
            for name in &self.names {
                tl.lane_of(name);
            }
            let _ = self.timeline.set(tl.clone());
        }
    }

    /// The timeline this cluster records in, if any.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.get()
    }

    /// Server `i`'s lane in the timeline (0 without one).
    pub fn lane(&self, i: usize) -> usize {
        self.timeline
            .get()
            .map_or(0, |tl| tl.lane_of(&self.names[i]))
    }

    fn names_of(&self, servers: &[usize]) -> String {
        let names: Vec<String> = servers
            .iter()
            .map(|&j| crate::timeline::lane_name(&self.names[j]))
            .collect();
        format!("[{}]", names.join(" "))
    }

    /// The number of servers.
    pub fn n(&self) -> usize {
        self.names.len()
    }

    /// Every server's index: `0..n`.
    pub fn all(&self) -> Vec<usize> {
        (0..self.n()).collect()
    }

    /// Server `i`'s name on the network.
    pub fn name(&self, i: usize) -> &Name {
        &self.names[i]
    }

    /// Server `i`, or `None` while it is shut down.
    pub fn server(&self, i: usize) -> Option<Arc<S>> {
        self.members.lock().servers[i].clone()
    }

    /// The running servers, by index.
    pub fn servers(&self) -> Vec<Option<Arc<S>>> {
        self.members.lock().servers.clone()
    }

    /// The indices of the servers that run (started and not shut down).
    pub fn running(&self) -> Vec<usize> {
        let members = self.members.lock();
        let servers = members.servers.iter().enumerate();
        servers.filter_map(|(i, s)| s.as_ref().map(|_| i)).collect()
    }

    /// The names of the ends server `i` sends through, to each server.
    pub fn endnames(&self, i: usize) -> Vec<String> {
        self.members.lock().endnames[i].clone()
    }

    /// Starts server `i` with what it persisted so far: `start` gets fresh
    /// ends to every server (not yet enabled: call [`Cluster::connect`])
    /// and a persister holding the saved state, and returns the server and
    /// the services to put on the network. Shut server `i` down first if
    /// it runs.
    pub fn start(
        &self,
        i: usize,
        start: impl FnOnce(Vec<ClientEnd>, Persister) -> (Arc<S>, Vec<Service>),
    ) -> Arc<S> {
        let (names, ends) = self.fresh_ends();
        if let Some(tl) = self.timeline.get() {
            let me = tl.lane_of(&self.names[i]);
            for (j, end) in names.iter().enumerate() {
                tl.name_end(end, me, tl.lane_of(&self.names[j]));
            }
            tl.mark(me, Kind::Start, "start");
        }
        // a fresh persister holding what the old one held, so that what the
        // new instance gets is exactly the last state saved.
        let persister = {
            let mut members = self.members.lock();
            members.endnames[i] = names;
            members.saved[i] = members.saved[i].copy();
            members.saved[i].clone()
        };
        let (server, services) = self
            .kills
            .start(i, &self.names[i], || start(ends, persister));
        let srv = Server::new();
        for service in services {
            srv.add_service(service);
        }
        self.members.lock().servers[i] = Some(server.clone());
        self.net.add_server(self.names[i].clone(), srv);
        server
    }

    /// Shuts server `i` down, keeping what it persisted. Does nothing if it
    /// is not running.
    pub fn shutdown(&self, i: usize) {
        self.disconnect(i, &self.all());
        // Delete the server before its persister is replaced, so that it
        // cannot answer a call with state saved in the superseded one.
        self.net.delete_server(self.names[i].clone());
        // The old instance may go on saving into the persister it has; the
        // next one gets a copy of what was saved until now.
        let server = {
            let mut members = self.members.lock();
            members.saved[i] = members.saved[i].copy();
            members.servers[i].take()
        };
        if let Some(server) = server {
            if let Some(tl) = self.timeline.get() {
                let me = tl.lane_of(&self.names[i]);
                tl.mark(me, Kind::Crash, "crash");
                tl.down(me);
            }
            server.kill();
            self.kills.killed(i);
        }
    }

    /// Enables the ends between server `i` and the servers in `to`, both
    /// ways (of the servers started so far).
    pub fn connect(&self, i: usize, to: &[usize]) {
        if let Some(tl) = self.timeline.get() {
            let what = format!("connect {} to {}", self.names_of(&[i]), self.names_of(to));
            tl.mark(tl.lane_of(&self.names[i]), Kind::Net, &what);
            tl.tester(Kind::Net, what);
        }
        self.set_links(i, to, true);
    }

    /// Disables the ends between server `i` and the servers in `from`.
    pub fn disconnect(&self, i: usize, from: &[usize]) {
        if let Some(tl) = self.timeline.get() {
            let what = format!(
                "disconnect {} from {}",
                self.names_of(&[i]),
                self.names_of(from)
            );
            tl.mark(tl.lane_of(&self.names[i]), Kind::Net, &what);
            tl.tester(Kind::Net, what);
        }
        self.set_links(i, from, false);
    }

    /// Connects every server to every server.
    pub fn connect_all(&self) {
        let all = self.all();
        for i in all.iter().copied() {
            self.connect(i, &all);
        }
    }

    /// Splits the servers in two parts, each connected within itself and
    /// cut off from the other (either may be empty).
    pub fn partition(&self, p1: &[usize], p2: &[usize]) {
        if let Some(tl) = self.timeline.get() {
            tl.tester(
                Kind::Net,
                format!("partition {} | {}", self.names_of(p1), self.names_of(p2)),
            );
        }
        for (part, other) in [(p1, p2), (p2, p1)] {
            for &i in part {
                self.set_links(i, other, false);
                self.set_links(i, part, true);
            }
        }
    }

    /// The largest of `size` over the servers' persisters: e.g. the largest
    /// Raft state with `Persister::raft_state_size`.
    pub fn largest(&self, size: impl Fn(&Persister) -> usize) -> usize {
        let members = self.members.lock();
        members.saved.iter().map(size).max().unwrap_or(0)
    }

    /// Every server's persister (shared handles: they see later saves).
    pub fn saved(&self) -> Vec<Persister> {
        self.members.lock().saved.clone()
    }

    /// Fails the test if a shut-down server's threads still run (see
    /// [`KillCheck`]).
    #[track_caller]
    pub fn check_kills(&self) {
        self.kills.check();
    }

    /// At the end of a test: kills every running server and, unlike Go,
    /// takes them all off the network, which would otherwise keep them
    /// alive through their RPC handlers (Go's garbage collector frees such
    /// cycles), and with them their apply channels and readers.
    pub fn end(&self) {
        for server in self.servers().into_iter().flatten() {
            server.kill();
        }
        for name in &self.names {
            self.net.delete_server(name.clone());
        }
    }

    /// `n` fresh ends, end `j` connected to server `j` (not enabled).
    fn fresh_ends(&self) -> (Vec<String>, Vec<ClientEnd>) {
        common::fresh_ends_to(&self.net, &self.names)
    }

    fn set_links(&self, i: usize, others: &[usize], enabled: bool) {
        let members = self.members.lock();
        for &j in others {
            // outgoing ends, then incoming ends (of servers started so far).
            for name in [members.endnames[i].get(j), members.endnames[j].get(i)]
                .into_iter()
                .flatten()
            {
                self.net.enable(name, enabled);
                if let Some(tl) = self.timeline.get() {
                    tl.enable(name, enabled);
                }
            }
        }
    }
}

/// The role poller (not in Go): every 10 ms, as long as `owner` (a
/// config) lives and `clusters` gives its clusters (`None`: the test is
/// over), asks every running server its Raft's `(term, leader)` with
/// `state` and tells `seen` (owner, cluster, server, state, whether it
/// changed since the last poll; a server shut down since counts as
/// changed). Lab 2's tester runs it for the hardening tests' leader checks
/// and events, and every lab's tester for the timeline's role bands.
pub fn poll_roles<T, S>(
    owner: &Handle<T>,
    clusters: impl for<'a> Fn(&'a T) -> Option<Vec<&'a Cluster<S>>> + Send + 'static,
    state: impl Fn(&S) -> (u64, bool) + Send + 'static,
    mut seen: impl FnMut(&Handle<T>, &Cluster<S>, usize, (u64, bool), bool) + Send + 'static,
) where
    T: Teardown + Send + Sync + 'static,
    S: Member + ?Sized + 'static,
{
    let owner = owner.downgrade();
    let mut last: Vec<Vec<Option<(u64, bool)>>> = Vec::new();
    labrt::thread::spawn_named("tester-leaders", move || {
        while let Some(inner) = owner.upgrade() {
            let Some(clusters) = clusters(&inner) else {
                break;
            };
            last.resize(clusters.len(), Vec::new());
            for (c, cluster) in clusters.iter().enumerate() {
                let last = &mut last[c];
                last.resize(cluster.n(), None);
                for (i, server) in cluster.servers().iter().enumerate() {
                    let Some(server) = server else {
                        last[i] = None;
                        continue;
                    };
                    let now = state(server);
                    let changed = last[i].replace(now) != Some(now);
                    seen(&inner, cluster, i, now, changed);
                }
            }
            drop(clusters);
            drop(inner);
            sleep(Duration::from_millis(10));
        }
    });
}

/// [`poll_roles`] for the timeline alone: each server's term and role as
/// bands, until the timeline is written at the test's end. Does nothing
/// without a timeline.
pub fn poll_roles_for_timeline<T, S>(
    owner: &Handle<T>,
    clusters: impl for<'a> Fn(&'a T) -> Vec<&'a Cluster<S>> + Send + 'static,
    state: impl Fn(&S) -> (u64, bool) + Send + 'static,
) where
    T: Teardown + Send + Sync + 'static,
    S: Member + ?Sized + 'static,
{
    let Some(tl) = clusters(owner).first().and_then(|c| c.timeline().cloned()) else {
        return;
    };
    poll_roles(
        owner,
        move |inner| (!tl.is_finished()).then(|| clusters(inner)),
        state,
        |_, cluster, i, (term, leader), changed| {
            if changed && let Some(tl) = cluster.timeline() {
                tl.role(cluster.lane(i), term, leader);
            }
        },
    );
}
