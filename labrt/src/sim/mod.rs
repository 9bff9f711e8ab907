//! The deterministic simulation: `LAB_SIM=1`.
//!
//! In simulation mode every labrt thread is a coroutine, and all of a
//! test's threads take turns on the test's own OS thread: exactly one runs
//! at a time, and it runs until it calls a labrt operation that blocks or
//! publishes something (a lock, a condvar wait or notify, a channel send or
//! receive, spawn, join, sleep, yield). There the scheduler picks, with a
//! random generator seeded by `LAB_SEED`, which runnable thread goes next.
//! Time is virtual: `Instant::now()` reads a clock that moves on by
//! [`STEP_COST`] (or `LAB_SIM_STEP`, [`step_cost`]) at each scheduling
//! point, as if the work between two of them took that long, and jumps to
//! the next timer (a sleep, a timed wait) when no thread can run. So a run
//! is a function of the seed: the same binary, seed and step cost give the
//! same interleaving, the same network decisions, the same clock readings,
//! the same log; and a 30-second test takes a fraction of a second.
//!
//! A thread that blocks records what it waits for and where (the caller's
//! location, through `#[track_caller]`). When every thread is blocked and no
//! timer is pending, nothing can ever happen again: the scheduler panics on
//! the test's thread with a report of each thread, what it waits for, and
//! who holds the mutexes involved (a deadlock, found rather than hung).
//!
//! What a simulated thread must not do is block outside labrt (a std
//! mutex, `std::thread::sleep`, I/O that waits): the whole test would wait
//! with it.
//!
//! The API, for the testers: [`enabled`], [`trace`] (the hash of the run's
//! decisions, which the testers print), [`check_determinism`]
//! (`LAB_SIM_CHECK=1`), [`dump`] (every blocked thread, at a time limit),
//! [`step_cost`] (the simulated machine's speed, `LAB_SIM_STEP`), and
//! [`replay_env`] (what a command that repeats the run must set).
//! Ctrl-\\ (SIGQUIT) reaches a world through `ask_to_quit`: its next
//! scheduling point prints the report and ends the process, or, if no
//! thread comes back to the scheduler, its watchdog names the one that
//! keeps the OS thread.
//! The kill check, which the simulation once kept alone, is
//! `crate::thread_group`'s, in both modes.
//!
//! The simulation is a tree of owners, one module each, read top to bottom:
//!
//! ```text
//! sim/mod.rs          this API
//! sim/world.rs        World: one per test thread (a thread-local), owns all
//!                     of the below; the thread table, the generators, the
//!                     lock-discipline findings; teardown; the report
//! sim/scheduler.rs    the ready list, timers, wait queues, lock holders:
//!                     spawn, yield, block, notify, and pick (the decisions)
//! sim/clock.rs        the virtual clock (a step's cost a step); `time` reads it
//! sim/watchdog.rs     an OS thread per world: a thread that never comes back
//! sim/stacks.rs       the coroutine stacks, reused across worlds
//! sim/determinism.rs  LAB_SIM_CHECK: the decisions compared with a child's
//! ```
//!
//! The simulated half of each primitive lives beside its real half:
//! `channel/simulated.rs` next to `channel/mod.rs`, the simulated paths of
//! `Mutex` and `Condvar` in `sync.rs`, of `sleep` and `Instant` in
//! `time.rs`, of `spawn` and `join` in `thread.rs`. The per-thread records
//! of locks held and waits begun are `crate::discipline`'s, shared by both
//! modes: each simulated thread owns one, and the scheduler makes it the
//! current one at every switch.

mod clock;
mod determinism;
mod scheduler;
mod stacks;
mod watchdog;
mod world;

use std::rc::Rc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

pub use clock::{STEP_COST, STEP_RANGE, parse_step, step_cost};
pub use determinism::check_determinism;
pub(crate) use world::World;

/// Whether `LAB_SIM=1`: labrt then simulates every thread that uses it.
#[inline]
pub fn enabled() -> bool {
    // One load on the paths of every lock and unlock (0: not read yet).
    static ENABLED: AtomicU8 = AtomicU8::new(0);
    match ENABLED.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let on = read_enabled();
            ENABLED.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
    }
}

#[cold]
fn read_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    let on = *ENABLED.get_or_init(|| match std::env::var("LAB_SIM") {
        Err(_) => false,
        Ok(v) => match v.trim() {
            "" | "0" => false,
            "1" => true,
            other => panic!("LAB_SIM must be 0 or 1, got {other:?}"),
        },
    });
    // A bad LAB_SIM_STEP is reported here, at the first labrt call, rather
    // than while the first world is being made (where a panic aborts).
    if on {
        step_cost();
    }
    on
}

/// The simulated world of the current OS thread (made at its first labrt
/// call), or `None` when the simulation is off.
#[inline]
pub(crate) fn world() -> Option<Rc<World>> {
    if !enabled() {
        return None;
    }
    world::current()
}

/// What a run of the simulation looked like so far: the virtual time, the
/// number of scheduling decisions, and a hash of all of them (which thread
/// ran, at what virtual time). Two runs with the same hash took the same
/// path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trace {
    pub now: Duration,
    pub steps: u64,
    pub hash: u64,
}

/// The environment that repeats this run, for messages and replay commands:
/// `LAB_SEED=123`, and in the simulation on a machine of another speed than
/// the default, that speed too, `LAB_SIM_STEP=50us LAB_SEED=123`.
pub fn replay_env() -> String {
    let seed = crate::rand::seed();
    match enabled().then(clock::step_setting).flatten() {
        Some(step) => format!("{step} LAB_SEED={seed}"),
        None => format!("LAB_SEED={seed}"),
    }
}

/// What the simulation prints first when Ctrl-\\ (SIGQUIT) ends a run.
pub(crate) const QUIT_HEADLINE: &str = "SIGQUIT: quit";

/// Set by the SIGQUIT thread: see [`ask_to_quit`].
static QUIT: AtomicBool = AtomicBool::new(false);

/// Asks the running world to print every blocked thread and end the
/// process with status 2, as Go does at SIGQUIT. The signal arrives on an
/// OS thread of its own, which cannot read a world (a world is its test
/// thread's), so the world answers at its next scheduling point; a thread
/// that never reaches one is named by the world's watchdog instead.
pub(crate) fn ask_to_quit() {
    QUIT.store(true, Ordering::Relaxed);
}

/// Whether [`ask_to_quit`] was called: one load at a scheduling point.
#[inline]
pub(crate) fn quit_asked() -> bool {
    QUIT.load(Ordering::Relaxed)
}

/// The current test's trace, or `None` outside the simulation.
pub fn trace() -> Option<Trace> {
    Some(world()?.trace())
}

/// Every blocked thread of the current test: what it waits for and where,
/// and who holds the lock it wants (Go's goroutine dump, for a test that
/// ran out of time). `None` outside the simulation.
pub fn dump(headline: &str) -> Option<String> {
    Some(world()?.report(headline))
}
