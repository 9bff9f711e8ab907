//! The key/value tester: a port of MIT 6.824's `kvraft/config.go` and of
//! the helpers of `kvraft/test_test.go` (2023).
//!
//! [`Config`] starts n key/value servers (each with its Raft peer) on a
//! simulated labrpc network, makes clerks, shuts servers down and restarts
//! them, and partitions the network. [`generic_test`] is most of the lab 3
//! tests: clients append and get for 5 seconds while the network and the
//! servers misbehave, three times; then every client's appends must be
//! there, in order, and the whole history must be linearizable.
//!
//! ```text
//! let cfg = Config::new(5, false, None);    -- 5 servers, reliable net, no snapshots
//! cfg.begin("Test: one client (3A)");       -- print the title, start the figures
//! let mut ck = cfg.make_client(&cfg.all()); -- a clerk connected to every server
//! put(&cfg, &mut ck, "k", "v", Some(&log), cli); check(&cfg, &mut ck, "k", "v");
//! cfg.partition(&p1, &p2);                  -- two groups that cannot talk
//! cfg.shutdown_server(i); cfg.start_server(i); cfg.connect_all();
//! cfg.end();                                -- print the Passed line
//! ```
//!
//! Failures panic with MIT's messages and the seed, as in the Raft tester;
//! a test may run 120 seconds.
//!
//! Not in Go: `cfg.end()` fails a test whose clerks completed an operation
//! that no server answered, or whose Puts and Appends left no trace in the
//! persisted Raft state of a majority of the servers: lab 3 cannot be passed
//! without Raft. [`Config::with_service`] runs another service than the
//! student's (see [`KvService`]), for the harness's own tests of these checks.

mod config;
mod generic;
mod service;

pub use config::{Client, Config};
pub use generic::{
    ELECTION_TIMEOUT, Generic, OpLog, append, check, check_clnt_appends, check_concurrent_appends,
    generic_test, generic_test_speed, get, in_background, put, spawn_clients_and_wait,
};
pub use service::{KvClerk, KvService, Replica, StartServer};
