//! tester — support for the lab tests: the harness they run the student's
//! code in.
//!
//! [`raft::Config`] is the Raft tester, a port of MIT 6.824's
//! `raft/config.go` (2023: no `CondInstallSnapshot`, `Persister::save`).
//! It starts n Raft peers in this process, connects them through a
//! simulated [`labrpc`] network, crashes, restarts, disconnects and
//! reconnects them as a test asks, and checks everything they apply.
//! The Raft tests (`raft/tests/raft_test.rs`) use it so:
//!
//! ```text
//! let cfg = Config::<i64>::new(3, false, false); -- 3 peers, reliable net, no snapshots
//! cfg.begin("Test (2B): basic agreement");       -- print the title, start the figures
//! cfg.check_one_leader()                         -- the leader among the connected peers
//! cfg.one(cmd, expected_servers, retry)          -- a complete agreement on cmd: its index
//! cfg.disconnect(i); cfg.connect(i);             -- cut peer i off the net; put it back
//! cfg.crash1(i); cfg.start1(i);                  -- crash peer i, keeping what it persisted; restart it
//! cfg.n_committed(index), cfg.wait(index, n, t)  -- who applied what at index
//! cfg.end();                                     -- print the Passed line and its figures
//! ```
//!
//! Each peer's apply channel is read by a thread of the harness that checks
//! that every peer applies the same command at each index, in order; in
//! snapshot mode it also snapshots every 10 entries, as a service would.
//!
//! A failed check panics with MIT's message and the run's seed, e.g.
//! `expected one leader, got none (LAB_SEED=123)`: on the test's thread
//! that fails the test; in an apply-channel reader it ends the process, as
//! Go's `log.Fatalf` does. Dropping the config (also when the test panics)
//! kills every peer and shuts the network. A test may run 120 seconds; a
//! watchdog ends the process if it runs longer.
//!
//! `kvraft::Config` is the key/value tester of lab 3, a port of
//! `kvraft/config.go` and the helpers of its tests, with
//! `kvraft::generic_test`. It is behind the feature `kvraft`, which lab 3's
//! tests turn on and lab 2's do not: building the Raft tests never compiles
//! the student's kvraft, so a lab 3 that does not compile costs nothing in
//! lab 2.
//!
//! [`common`] holds what every lab tester shares (output lines, failure
//! reporting, the time limit); [`verdict`] is how a grader learns, in a way
//! the student's code cannot forge, that a test finished.

pub mod cluster;
pub mod common;
pub mod faults;
#[cfg(any(feature = "kvraft", feature = "shardkv"))]
mod history;
#[cfg(feature = "kvraft")]
pub mod kvraft;
pub mod raft;
#[cfg(feature = "shardctrler")]
pub mod shardctrler;
#[cfg(feature = "shardkv")]
pub mod shardkv;
pub mod timeline;
pub mod verdict;
