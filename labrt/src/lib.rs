//! labrt — the runtime facade of raftlab.
//!
//! Lab code (the student's Raft and key/value server, labrpc, the testers)
//! gets every thread, clock reading, lock, channel and random number from
//! here, never from `std::thread`, `std::time`, `parking_lot`, `crossbeam`
//! or `rand` directly; clippy's `disallowed-types` and `disallowed-methods`
//! (see `clippy.toml`) enforce the rule. Because all of those operations pass
//! through one place, raftlab can later run the very same student code in a
//! deterministic simulation with virtual time, without changing a line of it.
//!
//! The modules mirror the crates students would otherwise use, with the same
//! method names and semantics:
//!
//! * [`thread`] — `spawn`, `spawn_named`, `JoinHandle`, `yield_now`.
//!   A panic in a lab thread ends the whole test process, as a panic in any
//!   goroutine ends a Go test: a peer that died silently would otherwise
//!   surface much later as a baffling timeout.
//! * [`time`] — `sleep`, `Instant`, `Duration`.
//! * [`sync`] — `Mutex` and `Condvar` with parking_lot's API (`lock()` returns
//!   the guard directly; there is no poisoning), `Arc` and atomics.
//! * [`channel`] — crossbeam-channel's `unbounded`, `bounded`, `Sender`,
//!   `Receiver` and error types.
//! * [`collections`] — `HashMap` and `HashSet` with a fixed hasher, so that
//!   their iteration order is the same in every run.
//! * [`rand`] — random numbers from one seeded source (in the simulation,
//!   one for each test). Set `LAB_SEED=<n>` to fix the seed; otherwise one
//!   is drawn and [`rand::seed`] reports it.
//! * [`discipline`] — the lock-discipline checker, always on: a wait
//!   begun while holding a `Mutex` (an RPC, a send on the apply channel, a
//!   receive, a sleep, a join), a mutex locked twice by one thread (a panic
//!   at once), two locks taken in opposite orders; the testers print its
//!   findings after each test (`LAB_STRICT=1`: they fail it).
//! * [`thread_group`] — a peer's threads as a group, and the kill check: after
//!   the tester stops a group (kills the peer), a member that still wakes
//!   from its timers and goes on waiting is a straggler (a ticker that
//!   ignores `killed()`), in both modes.
//! * [`sim`] — with `LAB_SIM=1`, all of the above run in a deterministic
//!   simulation: labrt threads become coroutines that take turns on the
//!   test's thread, chosen at each labrt call by a generator seeded with
//!   `LAB_SEED`, and time is virtual. The same seed gives the same run; a
//!   deadlock is reported with who waits for what; a 30-second test takes
//!   milliseconds. Lab code is the same in both modes, and the same test
//!   binary runs either.
//!
//! ```
//! use labrt::{channel, sync::{Arc, Mutex}, thread, time::Duration};
//!
//! let count = Arc::new(Mutex::new(0));
//! let (tx, rx) = channel::unbounded();
//! for i in 0..3 {
//!     let (count, tx) = (count.clone(), tx.clone());
//!     thread::spawn_named(format!("worker-{i}"), move || {
//!         *count.lock() += 1;
//!         tx.send(i).unwrap();
//!     });
//! }
//! let mut got: Vec<i32> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
//! got.sort();
//! assert_eq!(got, [0, 1, 2]);
//! assert_eq!(*count.lock(), 3);
//! ```

// labrt is the one place allowed to touch what it wraps.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod channel;
pub mod collections;
pub mod discipline;
pub mod rand;
pub mod sim;
mod spin;
pub mod sync;
pub mod thread;
pub mod thread_group;
pub mod time;
