//! Lab 3 cannot be passed without Raft: key/value services that never
//! replicate fail the checks of `Config::end`, though they would pass the
//! steps of this scenario (and of MIT's tests without partitions or
//! crashes). A control shows that a service whose servers persist what
//! they are asked to write passes the same checks.
//!
//! The services here are the harness's test doubles, plugged in through
//! `Config::with_service`; the lab's own tests always run the student's
//! `kvraft`.

use std::collections::BTreeMap;

use labrpc::{ClientEnd, Service};
use labrt::sync::{Arc, Mutex};
use persister::Persister;
use tester::cluster::Member;
use tester::kvraft::{Config, KvClerk, KvService, Replica, append, check, put};

/// What a server without Raft keeps in its persister of the values it is
/// asked to write.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// Nothing.
    Nothing,
    /// The leader keeps its own log of them; the others nothing.
    LeaderOnly,
    /// The leader keeps a log and sends each value to the others, which
    /// keep one too (primary-backup: no Raft, but every value reaches the
    /// persisted state of every server).
    Everywhere,
}

/// A server that applies each request at once to its own map, and answers
/// only if it is server 0, the "leader".
struct LocalServer {
    me: usize,
    peers: Vec<ClientEnd>,
    data: Mutex<BTreeMap<String, String>>,
    persister: Persister,
    keep: Keep,
}

impl LocalServer {
    fn get(&self, key: String) -> Option<String> {
        (self.me == 0).then(|| self.data.lock().get(&key).cloned().unwrap_or_default())
    }

    fn put_append(&self, (key, value, append): (String, String, bool)) -> bool {
        if self.me != 0 {
            return false;
        }
        if self.keep != Keep::Nothing {
            self.store(value.clone());
        }
        if self.keep == Keep::Everywhere {
            for (i, peer) in self.peers.iter().enumerate() {
                if i != self.me {
                    let _: Option<()> = peer.call("KVServer.Store", &value);
                }
            }
        }
        let mut data = self.data.lock();
        if append {
            data.entry(key).or_default().push_str(&value);
        } else {
            data.insert(key, value);
        }
        true
    }

    /// Appends `value` to the "log" in the persister.
    fn store(&self, value: String) {
        let mut log = self.persister.read_raft_state();
        log.extend_from_slice(value.as_bytes());
        self.persister.save(log, []);
    }
}

/// A [`LocalServer`], which its services share.
struct LocalReplica(Arc<LocalServer>);

impl Replica for LocalReplica {
    fn services(&self) -> Vec<Service> {
        let (get, put_append, store) = (self.0.clone(), self.0.clone(), self.0.clone());
        vec![
            Service::new("KVServer")
                .method("Get", move |key| get.get(key))
                .method("PutAppend", move |args| put_append.put_append(args))
                .method("Store", move |value| store.store(value)),
        ]
    }

    fn is_leader(&self) -> bool {
        self.0.me == 0
    }
}

impl Member for LocalReplica {
    fn kill(&self) {}
}

fn local_replica(
    peers: Vec<ClientEnd>,
    me: usize,
    persister: Persister,
    keep: Keep,
) -> Arc<dyn Replica> {
    Arc::new(LocalReplica(Arc::new(LocalServer {
        me,
        peers,
        data: Mutex::new(BTreeMap::new()),
        persister,
        keep,
    })))
}

/// A clerk that asks each server in turn until one answers.
struct AskingClerk(Vec<ClientEnd>);

impl AskingClerk {
    fn put_append(&self, key: &str, value: &str, append: bool) {
        let args = (key.to_string(), value.to_string(), append);
        loop {
            for end in &self.0 {
                if end.call("KVServer.PutAppend", &args) == Some(true) {
                    return;
                }
            }
        }
    }
}

impl KvClerk for AskingClerk {
    fn get(&mut self, key: &str) -> String {
        loop {
            for end in &self.0 {
                if let Some(Some(value)) = end.call("KVServer.Get", &key.to_string()) {
                    return value;
                }
            }
        }
    }

    fn put(&mut self, key: &str, value: &str) {
        self.put_append(key, value, false);
    }

    fn append(&mut self, key: &str, value: &str) {
        self.put_append(key, value, true);
    }
}

/// A clerk that keeps the data itself and never calls a server.
#[derive(Default)]
struct MemoryClerk(BTreeMap<String, String>);

impl KvClerk for MemoryClerk {
    fn get(&mut self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_default()
    }

    fn put(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_string(), value.to_string());
    }

    fn append(&mut self, key: &str, value: &str) {
        self.0.entry(key.to_string()).or_default().push_str(value);
    }
}

/// A clerk that keeps the data itself, and only pings a server with a
/// `Get` of the key for each operation, so that a server answers it.
struct PingingClerk {
    ends: Vec<ClientEnd>,
    data: MemoryClerk,
}

impl PingingClerk {
    fn ping(&self, key: &str) {
        let _: Option<Option<String>> = self.ends[0].call("KVServer.Get", &key.to_string());
    }
}

impl KvClerk for PingingClerk {
    fn get(&mut self, key: &str) -> String {
        self.ping(key);
        self.data.get(key)
    }

    fn put(&mut self, key: &str, value: &str) {
        self.ping(key);
        self.data.put(key, value);
    }

    fn append(&mut self, key: &str, value: &str) {
        self.ping(key);
        self.data.append(key, value);
    }
}

/// What every service here is put through: a put and an append of
/// `value`, and a get, which all succeed; then the checks of `end`.
fn scenario(service: KvService, value: &str) {
    let cfg = Config::with_service(service, 3, false, None);
    cfg.begin("Test: a key/value service without Raft");
    let mut ck = cfg.make_client(&cfg.all());
    put(&cfg, &mut ck, "k", value, None, 0);
    append(&cfg, &mut ck, "k", value, None, 0);
    check(&cfg, &mut ck, "k", &format!("{value}{value}"));
    cfg.end();
}

#[test]
#[should_panic(
    expected = "no operation reached the servers' Raft logs (a value put or appended \
                           is in the persisted state of 0 of 3 servers"
)]
fn servers_that_apply_at_once_fail() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                local_replica(peers, me, persister, Keep::Nothing)
            },
            make_clerk: |ends| Box::new(AskingClerk(ends)),
        },
        "x 0 0 y",
    );
}

/// A Raft that elects leaders saves its term and vote, so "the servers
/// persisted something" proves nothing: they must hold what clerks wrote.
#[test]
#[should_panic(
    expected = "no operation reached the servers' Raft logs (a value put or appended \
                           is in the persisted state of 0 of 3 servers"
)]
fn servers_whose_raft_only_elects_fail() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                // What a Raft saves when it votes: term 1, voted for 0, an empty log.
                persister.save([1, 1, 0, 0], []);
                local_replica(peers, me, persister, Keep::Nothing)
            },
            make_clerk: |ends| Box::new(AskingClerk(ends)),
        },
        "x 0 0 y",
    );
}

/// What one server alone persists was not replicated.
#[test]
#[should_panic(expected = "is in the persisted state of 1 of 3 servers")]
fn a_leader_that_logs_for_itself_alone_fails() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                local_replica(peers, me, persister, Keep::LeaderOnly)
            },
            make_clerk: |ends| Box::new(AskingClerk(ends)),
        },
        "x 0 0 y",
    );
}

#[test]
#[should_panic(
    expected = "returned without a reply from any server (the first: Put(\"k\", \"x 0 0 y\"))"
)]
fn a_clerk_that_never_asks_the_servers_fails() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                local_replica(peers, me, persister, Keep::Everywhere)
            },
            make_clerk: |_| Box::<MemoryClerk>::default(),
        },
        "x 0 0 y",
    );
}

/// The control: servers whose persisted state holds the values written
/// pass these checks (this one would fail the lab's tests with partitions
/// or crashes instead).
#[test]
fn servers_that_persist_what_they_write_pass() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                local_replica(peers, me, persister, Keep::Everywhere)
            },
            make_clerk: |ends| Box::new(AskingClerk(ends)),
        },
        "x 0 0 y",
    );
}

#[test]
#[should_panic(expected = "a value put or appended is in the persisted state of 0 of 3 servers")]
fn a_clerk_that_only_pings_the_servers_fails() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                local_replica(peers, me, persister, Keep::Everywhere)
            },
            make_clerk: |ends| {
                Box::new(PingingClerk {
                    ends,
                    data: MemoryClerk::default(),
                })
            },
        },
        "x 0 0 y",
    );
}

/// A one-character value is a byte that a log may hold for other reasons
/// (here a "term" of 48); the tester's own Put of a long random value
/// still tells.
#[test]
#[should_panic(
    expected = "the value of a Put the tester made at the end of the test is in the \
                           persisted state of 0 of 3 servers"
)]
fn a_short_value_found_by_chance_is_not_enough() {
    scenario(
        KvService {
            start_server: |peers, me, persister, _| {
                persister.save([48, 1, 0, 0], []);
                local_replica(peers, me, persister, Keep::Nothing)
            },
            make_clerk: |ends| Box::new(AskingClerk(ends)),
        },
        "0",
    );
}
