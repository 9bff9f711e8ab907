//! A simulated world: everything one test's simulation owns.
//!
//! ```text
//! World (one per test thread)          the test's OS thread
//!   threads: [main, raft-0-ticker, ...]  main = the test itself, on its own stack;
//!   ready:   the runnable ones            the others are coroutines it resumes
//!   timers:  (deadline, thread)           when main blocks (`run_others`)
//!   queues:  waiters by object address    (a Mutex, Condvar, channel, JoinHandle)
//!   clock, generators, findings, watchdog
//! ```
//!
//! A test's thread makes its world at its first labrt call ([`current`])
//! and keeps it in a thread-local; every labrt primitive asks for it
//! (`crate::sim::world()`) and calls the scheduler's methods on it
//! (`scheduler.rs`). Nothing that decides a run is shared between worlds:
//! each has its own clock, its own two generators (the scheduler's, and the
//! one `labrt::rand` draws from for lab code, both started from
//! `LAB_SEED`), its own thread numbers and names, and its own
//! lock-discipline findings; so tests that run at once on other OS threads
//! (`--test-threads=2`) cannot change each other's runs. The stack pool
//! (`stacks.rs`) is shared, and never shows in a run.
//!
//! A world ends with its test's thread ([`World::teardown`]): the threads
//! still blocked are abandoned, not unwound, and their stacks reused.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, Yielder};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::clock::Clock;
use super::watchdog::{self, Progress};
use super::{Trace, determinism, stacks};
use crate::discipline::{Checker, Record};

/// A simulated thread's number: its place in the world's thread list.
pub(super) type Tid = usize;

/// The test's own thread, the one that drives the others.
pub(super) const MAIN: Tid = 0;

/// Stale timers are swept out once there are this many timers, or twice
/// as many as were left by the last sweep.
pub(super) const TIMERS_FLOOR: usize = 1024;

thread_local! {
    static WORLD: Slot = const { Slot(RefCell::new(None)) };
}

/// Where a test's thread keeps its world. A world is seldom dropped by its
/// last `Rc`: threads still blocked when the test ends hold clones on their
/// stacks, and the world holds their stacks. So the world is torn down
/// when its test's thread exits, whoever still holds it.
struct Slot(RefCell<Option<Rc<World>>>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(world) = self.0.get_mut().take() {
            world.teardown();
        }
    }
}

/// The world of the current OS thread, made at its first call.
pub(super) fn current() -> Option<Rc<World>> {
    Some(WORLD.with(|w| {
        w.0.borrow_mut()
            .get_or_insert_with(|| Rc::new(World::new()))
            .clone()
    }))
}

pub(crate) struct World {
    pub(super) inner: RefCell<Inner>,
    /// What the stall watchdog (an OS thread) sees of the world.
    pub(super) progress: Arc<Progress>,
    /// The lock-discipline findings of this world's test.
    checker: RefCell<Checker>,
}

/// The world's state, borrowed for the length of each operation (never
/// across a switch of threads).
pub(super) struct Inner {
    /// Chooses among the ready threads.
    pub(super) rng: StdRng,
    /// What `labrt::rand` draws from in this world: a stream apart from the
    /// scheduler's, so that lab code gets the numbers it would get outside
    /// the simulation with the same seed, in the order it asks for them.
    lab_rng: StdRng,
    pub(super) clock: Clock,
    pub(super) threads: Vec<Thread>,
    /// The numbers of the threads done, for the next threads started: a
    /// KV test starts a thread for every RPC, hundreds of thousands, and
    /// a table that only grew was a tenth of the simulation's time (its
    /// copies as it grew, and their page faults).
    pub(super) free: Vec<Tid>,
    /// How many threads were started, for the names of unnamed ones.
    pub(super) started: usize,
    pub(super) current: Tid,
    /// Runnable threads, the current one excluded.
    pub(super) ready: Vec<Tid>,
    /// (deadline, order of arming, thread, the thread's wait number).
    pub(super) timers: BinaryHeap<Reverse<(Duration, u64, Tid, u64)>>,
    pub(super) armed: u64,
    /// How many timers there may be before stale ones are swept out.
    pub(super) timers_limit: usize,
    /// Threads waiting on an object, by the object's address.
    pub(super) queues: HashMap<usize, VecDeque<(Tid, u64)>, Addresses>,
    /// Emptied wait queues, kept for the next object waited on: a queue is
    /// made and dropped for nearly every wait (a lock, a channel), and its
    /// allocation was one of the simulation's largest costs.
    pub(super) spare_queues: Vec<VecDeque<(Tid, u64)>>,
    /// Who holds each locked mutex, and where it was locked.
    pub(super) holders: HashMap<usize, (Tid, &'static Location<'static>), Addresses>,
    pub(super) steps: u64,
    pub(super) hash: u64,
    /// Every decision (thread, virtual time), kept for `LAB_SIM_CHECK`.
    pub(super) log: Option<Vec<(Tid, Duration)>>,
    /// Whether `check_determinism` ran in this test.
    pub(super) checked: Cell<bool>,
}

pub(super) struct Thread {
    pub(super) name: String,
    pub(super) state: State,
    /// Counts the thread's waits; a wake-up for an older wait is stale.
    pub(super) wait: u64,
    pub(super) timed_out: bool,
    /// Where the thread last blocked.
    pub(super) last_at: Option<&'static Location<'static>>,
    /// How many `labrt::thread::catch_panic` calls it is inside.
    catch_depth: u32,
    /// `None` for the main thread, and while the thread runs.
    pub(super) coroutine: Option<Coroutine<(), (), (), DefaultStack>>,
    /// Its locks and waits, for the lock-discipline checker; `None` once
    /// it is done.
    pub(super) record: Option<Arc<Record>>,
    pub(super) yielder: *const Yielder<(), ()>,
}

pub(super) enum State {
    Running,
    Ready,
    Blocked(Wait),
    Done,
}

/// What a blocked thread waits for, for the deadlock report.
pub(super) struct Wait {
    pub(super) what: &'static str,
    pub(super) object: Option<usize>,
    pub(super) at: &'static Location<'static>,
}

/// The wait queues and lock holders are keyed by addresses, which need no
/// randomly seeded hasher: their order is never looked at.
pub(super) type Addresses = std::hash::BuildHasherDefault<AddressHasher>;

#[derive(Default)]
pub(super) struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl Thread {
    /// A thread not started yet, with its lock record.
    pub(super) fn new(
        name: String,
        state: State,
        coroutine: Option<Coroutine<(), (), (), DefaultStack>>,
        record: Option<Arc<Record>>,
    ) -> Thread {
        Thread {
            name,
            state,
            wait: 0,
            timed_out: false,
            last_at: None,
            catch_depth: 0,
            coroutine,
            record,
            yielder: std::ptr::null(),
        }
    }
}

impl World {
    fn new() -> World {
        let seed = crate::rand::seed();
        let main = std::thread::current().name().unwrap_or("main").to_string();
        World {
            progress: watchdog::start(main.clone(), MAIN),
            checker: RefCell::default(),
            inner: RefCell::new(Inner {
                rng: StdRng::seed_from_u64(seed ^ 0x5eed_5eed_5eed_5eed),
                lab_rng: StdRng::seed_from_u64(seed),
                clock: Clock::new(),
                threads: vec![Thread::new(
                    main,
                    State::Running,
                    None,
                    crate::discipline::own_record(),
                )],
                free: Vec::new(),
                started: 1,
                current: MAIN,
                ready: Vec::new(),
                timers: BinaryHeap::new(),
                armed: 0,
                timers_limit: TIMERS_FLOOR,
                queues: HashMap::default(),
                spare_queues: Vec::new(),
                holders: HashMap::default(),
                steps: 0,
                hash: 0xcbf2_9ce4_8422_2325,
                log: determinism::wanted().then(Vec::new),
                checked: Cell::new(false),
            }),
        }
    }

    /// Ends the world: the watchdog stops, and the threads still blocked
    /// are abandoned. Dropping a suspended coroutine would unwind its
    /// stack, running destructors that call into a world being torn down;
    /// what they own is leaked instead, but their stacks are reused: a
    /// test ends with dozens of such threads, and new stacks are system
    /// calls and page faults.
    fn teardown(&self) {
        self.progress.stop();
        let abandoned: Vec<_> = self
            .inner
            .borrow_mut()
            .threads
            .drain(..)
            .filter_map(|thread| thread.coroutine)
            .collect();
        for mut coroutine in abandoned {
            // SAFETY: skipping the destructors of what is on the stack
            // only leaks it. Nothing outside points into a simulated
            // thread's stack: labrt threads are 'static, a waiting thread
            // is known to the world by number, not by address, simulated
            // channels keep their messages on the heap, and no simulated
            // thread ever parks in parking_lot.
            unsafe { coroutine.force_reset() };
            stacks::recycle(coroutine.into_stack());
        }
    }

    /// The virtual time, as an instant (`labrt::time::Instant::now`).
    #[inline]
    pub(crate) fn now(&self) -> std::time::Instant {
        self.inner.borrow().clock.instant()
    }

    /// The virtual time now, for deadlines.
    #[inline]
    pub(crate) fn elapsed(&self) -> Duration {
        self.inner.borrow().clock.now()
    }

    /// The virtual time of `instant` (0 if it is before the world began).
    pub(crate) fn since_base(&self, instant: std::time::Instant) -> Duration {
        self.inner.borrow().clock.since_base(instant)
    }

    /// The trace of the decisions so far.
    pub(super) fn trace(&self) -> Trace {
        let w = self.inner.borrow();
        Trace {
            now: w.clock.now(),
            steps: w.steps,
            hash: w.hash,
        }
    }

    /// Draws from this world's generator (see [`crate::rand`]).
    pub(crate) fn with_generator<R>(&self, draw: impl FnOnce(&mut StdRng) -> R) -> R {
        draw(&mut self.inner.borrow_mut().lab_rng)
    }

    /// Runs `f` on this world's lock-discipline findings.
    pub(crate) fn with_checker<R>(&self, f: impl FnOnce(&mut Checker) -> R) -> R {
        f(&mut self.checker.borrow_mut())
    }

    /// The name of the running thread, `None` for the test's own.
    pub(crate) fn current_name(&self) -> Option<String> {
        let w = self.inner.borrow();
        (w.current != MAIN).then(|| w.threads[w.current].name.clone())
    }

    /// Updates the running thread's count of the `catch_panic` calls it
    /// is inside (kept by `labrt::thread`), and returns the new count.
    pub(crate) fn catch_depth(&self, update: impl FnOnce(u32) -> u32) -> u32 {
        let mut w = self.inner.borrow_mut();
        let me = w.current;
        let depth = &mut w.threads[me].catch_depth;
        *depth = update(*depth);
        *depth
    }

    /// The lock-discipline records of the threads not done yet.
    pub(crate) fn records(&self) -> Vec<Arc<Record>> {
        let w = self.inner.borrow();
        w.threads.iter().filter_map(|t| t.record.clone()).collect()
    }

    /// `headline`, then every blocked thread: what it waits for, where, and
    /// who holds the lock it wants; and every thread ready to run, with
    /// where it last blocked (in a livelock, the threads that go round).
    pub(super) fn report(&self, headline: &str) -> String {
        self.inner.borrow().report(headline)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.teardown();
    }
}

impl Inner {
    /// See [`World::report`].
    pub(super) fn report(&self, headline: &str) -> String {
        let mut report = format!(
            "{headline} (virtual time {:.3} s, {})\n",
            self.clock.now().as_secs_f64(),
            super::replay_env()
        );
        // Threads blocked alike (the RPC threads of a peer, say) share a
        // line, in the order their first one was started.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for thread in &self.threads {
            let line = match &thread.state {
                State::Blocked(wait) => {
                    let mut line =
                        format!("  '{}' blocked {} at {}\n", thread.name, wait.what, wait.at);
                    if let Some((holder, at)) = wait.object.and_then(|o| self.holders.get(&o)) {
                        let holder = &self.threads[*holder].name;
                        let _ = writeln!(line, "      which '{holder}' holds, locked at {at}");
                    }
                    line
                }
                State::Ready => match thread.last_at {
                    Some(at) => format!("  '{}' ready to run, last blocked at {at}\n", thread.name),
                    None => format!("  '{}' ready to run\n", thread.name),
                },
                State::Running | State::Done => continue,
            };
            match lines.iter_mut().find(|(l, _)| *l == line) {
                Some((_, count)) => *count += 1,
                None => lines.push((line, 1)),
            }
        }
        for (line, count) in lines {
            match count {
                1 => report.push_str(&line),
                _ => report.push_str(&line.replacen('\n', &format!(" ({count} threads)\n"), 1)),
            }
        }
        report
    }
}
