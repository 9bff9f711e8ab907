#![doc = include_str!("../README.md")]
//!
//! # Inside
//!
//! The modules, for whoever works on the crate: `model.rs` (the [`Model`]
//! trait, [`Operation`]), `kv.rs` and `register.rs` (the models),
//! `search.rs` (one partition's search), `check.rs` (validation,
//! partitioning, the parallel driver and its limits), `explain.rs` (the
//! summary), `html.rs` with `html.css` and `html.js` (the page),
//! `output.rs` (where pages go), `harness.rs` (what the lab testers call),
//! `events.rs` (the event-based entry point), `edn.rs` (history files) and
//! `main.rs` (the CLI).
//!
//! # The algorithm
//!
//! Per partition, porcupine's depth-first search (Wing & Gong, with Lowe's
//! memoization), see `search.rs`:
//!
//! 1. Every operation becomes a call event and a return event; all events
//!    are sorted by time (calls first at equal times) into a doubly linked
//!    list, held in index arrays.
//! 2. Walk the list from the start. At a call, try to linearize its
//!    operation now: if the model accepts it in the current state, and the
//!    pair (set of linearized operations, new state) was never reached
//!    before, push it on the stack, take its call and return out of the
//!    list, and start again from the head. If the pair was reached before,
//!    the search from there already failed: skip it.
//! 3. At a return, the operation returning there should have been
//!    linearized already, and no call before it could be: backtrack. Pop
//!    the last operation, restore its state, put its events back, and go on
//!    with the call after it. An empty stack means there is no way out: the
//!    history is not linearizable.
//! 4. An empty list means every operation is placed: the stack is a
//!    linearization.
//!
//! The memo of (set, state) pairs is what makes this practical: the set is a
//! bitset hashed incrementally, and states are interned so that the stack
//! and the memo hold small numbers.
//!
//! # Time limits
//!
//! The search is exponential in the worst case, so it takes a time limit
//! (and keeps to a memory limit, about 1 GB) and then answers
//! [`CheckResult::Unknown`]: "I don't know", which is not a pass. A
//! partition that finishes counts even if the limit has passed (its verdict
//! is real); any Illegal partition makes the history Illegal. Partitions
//! take turns on the threads in short slices, as goroutines would, so one
//! hard partition cannot hold up the easy ones; a small history is checked
//! on the calling thread alone. A check uses one thread per core, or
//! `LAB_LINEARIZABILITY_THREADS` ([`THREADS_ENV`]); in labrt's simulation 2
//! unless that variable says otherwise, never the host's core count, so a
//! seed replays the same schedule on any machine. [`check_history`]
//! retries the undecided partitions with a larger time limit (1 s, 4 s,
//! 16 s by default; not after the memory limit), then passes with a
//! printed warning, or fails if `LAB_LINEARIZABILITY_STRICT=1`.
//!
//! # Explaining a failure
//!
//! While it searches, a verbose check records for every operation the
//! longest linearizable prefix it found that contains it. The summary
//! replays the longest prefix of a failing partition through the model and
//! lists what could come next and why nothing can: each operation called
//! before the earliest pending return is either illegal after the prefix,
//! or legal but leads only to states already explored without success. The
//! HTML page shows the same on a time line per partition, one lane per
//! client; it is one self-contained file that opens offline, and it stays
//! about as large as the history (see `html.rs` for how).
//!
//! # Bad histories
//!
//! An empty history, an operation that returns before its call, and a
//! client that runs two operations at once (for models whose clients are
//! sequential, as the lab clerks are) are reported as [`HistoryError`]s:
//! the verdict on such a history would mean nothing.
//!
//! Threads, time and atomics come from `labrt`, since the checker runs
//! inside the lab tests: it must keep working under the deterministic
//! simulation mode.

mod check;
mod edn;
mod events;
mod explain;
mod harness;
mod html;
mod kv;
mod model;
mod output;
mod register;
mod search;

pub use check::{
    CheckResult, HistoryError, LinearizationInfo, THREADS_ENV, check_operations,
    check_operations_verbose,
};
pub use edn::{
    ReadError, format_kv_history, parse_kv_history, parse_register_history, read_kv_history,
    read_register_history, write_kv_history,
};
pub use events::{Event, EventKind, check_events, check_events_verbose, operations_from_events};
pub use harness::{Budget, Checked, Failure, STRICT_ENV, check_history};
pub use kv::{KvInput, KvModel, KvOp, KvOperation, KvOutput, KvState, SharedReads, SharedStr};
pub use model::{Model, Operation, Step};
pub use output::{DEFAULT_HTML_MAX, HTML_MAX_ENV, OUTPUT_DIR_ENV, output_dir};
pub use register::{RegisterInput, RegisterModel, RegisterOp, RegisterOperation};
