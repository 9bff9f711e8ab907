//! The key/value service under test, as the harness sees it: replicas it
//! starts, kills and asks about leadership, and clerks it calls.
//!
//! The lab's tests always test the student's `kvraft` ([`KvService::kvraft`],
//! what [`Config::new`](super::Config::new) uses). The seam exists so that
//! the harness's own tests can run services that must fail, such as one that
//! never replicates through Raft (`tester/tests/kv_without_raft.rs`).

use kvraft::{Clerk, KvServer, start_kv_server};
use labrpc::{ClientEnd, Service};
use labrt::sync::Arc;
use persister::Persister;

use crate::cluster::Member;

/// One replica of a key/value service; the cluster shuts it down with
/// [`Member::kill`].
pub trait Replica: Member {
    /// The services to put on its labrpc server: `"KVServer"` and its
    /// Raft's.
    fn services(&self) -> Vec<Service>;
    /// Whether its Raft believes it is the leader.
    fn is_leader(&self) -> bool;
    /// Its Raft's term and whether it believes it is the leader, for the
    /// timeline's role bands (a service without Raft: term 0).
    fn state(&self) -> (u64, bool) {
        (0, self.is_leader())
    }
}

/// A client of a key/value service.
pub trait KvClerk: Send {
    fn get(&mut self, key: &str) -> String;
    fn put(&mut self, key: &str, value: &str);
    fn append(&mut self, key: &str, value: &str);
}

/// Starts a replica, as `start_kv_server` does: `(ends to every replica,
/// me, persister, maxraftstate)`; returns at once.
pub type StartServer = fn(Vec<ClientEnd>, usize, Persister, Option<usize>) -> Arc<dyn Replica>;

/// How to start a replica (`start_kv_server`'s signature) and make a clerk
/// (`Clerk::new`'s) of the service under test.
#[derive(Clone, Copy)]
pub struct KvService {
    pub start_server: StartServer,
    /// A clerk with an end to every replica.
    pub make_clerk: fn(Vec<ClientEnd>) -> Box<dyn KvClerk>,
}

impl KvService {
    /// The student's service: `kvraft::start_kv_server` and `kvraft::Clerk`.
    pub fn kvraft() -> KvService {
        KvService {
            start_server: |ends, me, persister, maxraftstate| {
                Arc::new(KvraftReplica(start_kv_server(
                    ends,
                    me,
                    persister,
                    maxraftstate,
                )))
            },
            make_clerk: |ends| Box::new(Clerk::new(ends)),
        }
    }
}

struct KvraftReplica(Arc<KvServer>);

impl Replica for KvraftReplica {
    fn services(&self) -> Vec<Service> {
        vec![self.0.service(), self.0.raft().service()]
    }

    fn is_leader(&self) -> bool {
        self.0.raft().get_state().1
    }

    fn state(&self) -> (u64, bool) {
        self.0.raft().get_state()
    }
}

impl Member for KvraftReplica {
    fn kill(&self) {
        self.0.kill();
    }
}

impl KvClerk for Clerk {
    fn get(&mut self, key: &str) -> String {
        Clerk::get(self, key)
    }

    fn put(&mut self, key: &str, value: &str) {
        Clerk::put(self, key, value);
    }

    fn append(&mut self, key: &str, value: &str) {
        Clerk::append(self, key, value);
    }
}
