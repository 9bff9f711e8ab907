//! The deterministic simulation: `LAB_SIM=1`.
//!
//! In simulation mode every labrt thread is a coroutine, and all of a
//! test's threads take turns on the test's own OS thread: exactly one runs
//! at a time, and it runs until it calls a labrt operation that blocks or
//! publishes something (a lock, a condvar wait or notify, a channel send or
//! receive, spawn, join, sleep, yield). There the scheduler picks, with a
//! random generator seeded by `LAB_SEED`, which runnable thread goes next.
//! Time is virtual: `Instant::now()` reads a clock that moves on by
//! [`STEP_COST`] at each scheduling point, as if the work between two of
//! them took that long, and jumps to the next timer (a sleep, a timed wait)
//! when no thread can run. So a run is a function of the seed: the same
//! binary and seed give the same interleaving, the same network decisions,
//! the same clock readings, the same log; and a 30-second test takes a
//! fraction of a second.
//!
//! ```text
//! World (one per test thread)          the test's OS thread
//!   threads: [main, raft-0-ticker, ...]  main = the test itself, on its own stack;
//!   ready:   the runnable ones            the others are coroutines it resumes
//!   timers:  (deadline, thread)           when main blocks (`run_others`)
//!   queues:  waiters by object address    (a Mutex, Condvar, channel, JoinHandle)
//! ```
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

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::discipline::Record;

/// The virtual time that passes at each scheduling point: the simulated
/// machine does 200,000 labrt operations a second, about what this kind of
/// machine does with real threads (lab 3's tests, 27 s of CPU in real time
/// for about 5 million of them in the simulation). Without it a clock that
/// stood still while threads ran would let work that never sleeps (a Raft
/// that replicates at once on `start`, over labrpc's reliable network,
/// which has no delay) take no time at all: a KV test's clerks would loop
/// for ever inside its first virtual instant. With it, a busy loop moves
/// the clock as it would on a real machine, and timers fire on time while
/// other threads are busy.
pub const STEP_COST: Duration = Duration::from_micros(5);

/// A simulated thread's number: its place in the world's thread list.
type Tid = usize;

/// The test's own thread, the one that drives the others.
const MAIN: Tid = 0;

/// The stack of each simulated thread. Stacks are reserved, not committed:
/// only the pages a thread touches cost memory.
const STACK_SIZE: usize = 1 << 20;

/// Stacks of finished threads, for the next ones (of any test: a new
/// stack costs a system call and page faults).
static STACKS: Mutex<Vec<DefaultStack>> = Mutex::new(Vec::new());

/// At most this many stacks are kept for reuse.
const KEPT_STACKS: usize = 1024;

/// The wait queues and lock holders are keyed by addresses, which need no
/// randomly seeded hasher: their order is never looked at.
type Addresses = std::hash::BuildHasherDefault<AddressHasher>;

#[derive(Default)]
struct AddressHasher(u64);

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
    *ENABLED.get_or_init(|| match std::env::var("LAB_SIM") {
        Err(_) => false,
        Ok(v) => match v.trim() {
            "" | "0" => false,
            "1" => true,
            other => panic!("LAB_SIM must be 0 or 1, got {other:?}"),
        },
    })
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

/// Every blocked thread of the current test: what it waits for and where,
/// and who holds the lock it wants (Go's goroutine dump, for a test that
/// ran out of time). `None` outside the simulation.
pub fn dump(headline: &str) -> Option<String> {
    let world = world()?;
    let w = world.inner.borrow();
    Some(w.report(headline))
}

/// Runs `f`, tagging the threads it starts (and the threads they start)
/// with `tag`, so that [`still_running`] can find them later: the Raft
/// tester tags each peer's threads, to check that a killed peer stops.
/// Outside the simulation it only runs `f`.
pub fn tag_threads<R>(tag: &str, f: impl FnOnce() -> R) -> R {
    let Some(world) = world() else {
        // On real threads the tag is for the thread dump only.
        let outer = crate::discipline::replace_tag(Some(Arc::from(tag)));
        let result = f();
        crate::discipline::replace_tag(outer);
        return result;
    };
    let me = world.inner.borrow().current;
    let tag: Rc<str> = Rc::from(tag);
    let outer = world.inner.borrow_mut().threads[me].tag.replace(tag);
    let result = f();
    let mut w = world.inner.borrow_mut();
    let me = w.current;
    w.threads[me].tag = outer;
    result
}

/// The names of the threads tagged `tag` that are not finished and ran
/// at or after `since`: after a peer is killed, its threads that keep
/// running. Empty outside the simulation.
pub fn still_running(tag: &str, since: crate::time::Instant) -> Vec<String> {
    let Some(world) = world() else {
        return Vec::new();
    };
    let since = world.since_base(since.into_std());
    let w = world.inner.borrow();
    w.threads
        .iter()
        .filter(|t| t.tag.as_deref() == Some(tag))
        .filter(|t| !matches!(t.state, State::Done) && t.last_ran >= since)
        .map(|t| t.name.clone())
        .collect()
}

/// The current test's trace, or `None` outside the simulation.
pub fn trace() -> Option<Trace> {
    let world = world()?;
    let w = world.inner.borrow();
    Some(Trace {
        now: w.now,
        steps: w.steps,
        hash: w.hash,
    })
}

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

/// The simulated world of the current OS thread (made at its first labrt
/// call), or `None` when the simulation is off.
#[inline]
pub(crate) fn world() -> Option<Rc<World>> {
    if !enabled() {
        return None;
    }
    simulated_world()
}

fn simulated_world() -> Option<Rc<World>> {
    Some(WORLD.with(|w| {
        w.0.borrow_mut()
            .get_or_insert_with(|| Rc::new(World::new()))
            .clone()
    }))
}

pub(crate) struct World {
    /// The real time that virtual time 0 stands for.
    base: std::time::Instant,
    inner: RefCell<Inner>,
    /// What the stall watchdog (an OS thread) sees of the world.
    progress: Arc<Progress>,
    /// The lock-discipline findings of this world's test.
    checker: RefCell<crate::discipline::Checker>,
}

/// How long a simulated thread may run without coming back to the
/// scheduler (a labrt call) before the run is declared stuck: it blocks
/// outside labrt (a std lock, `std::thread::sleep`, I/O) or loops without
/// one (polling `Instant::now()`, whose virtual time moves only at labrt
/// calls that are scheduling points).
const STALL: Duration = Duration::from_secs(30);

/// Written at every scheduling point, so atomics rather than a lock.
struct Progress {
    /// The virtual time in nanoseconds: it moves at every scheduling point,
    /// even one where a thread alone goes on.
    clock: AtomicU64,
    thread: AtomicUsize,
    /// Where the running thread last blocked (null: nowhere yet).
    at: AtomicPtr<Location<'static>>,
    /// The world is gone: the watchdog stops.
    done: AtomicBool,
    names: Mutex<Vec<String>>,
}

/// Watches a world from an OS thread of its own, and ends the process with
/// a report when a simulated thread keeps the OS thread for [`STALL`].
fn watch_for_stalls(p: Arc<Progress>) {
    let mut seen = (u64::MAX, std::time::Instant::now());
    loop {
        std::thread::sleep(Duration::from_secs(1));
        if p.done.load(Ordering::Relaxed) {
            return;
        }
        let clock = p.clock.load(Ordering::Relaxed);
        if clock != seen.0 {
            seen = (clock, std::time::Instant::now());
            continue;
        }
        if seen.1.elapsed() >= STALL {
            // SAFETY: null or a `&'static Location` stored by `pick`.
            let at = unsafe { p.at.load(Ordering::Relaxed).as_ref() }
                .map_or(String::new(), |at| format!(", since it blocked at {at}"));
            eprintln!(
                "\nsimulation stuck: thread '{}' has not come back to the scheduler for {} s{at}. \
                 It blocks outside labrt (a std lock, std::thread::sleep, I/O) or loops without a \
                 labrt call (virtual time moves only at labrt calls). LAB_SEED={}",
                p.names.lock()[p.thread.load(Ordering::Relaxed)],
                STALL.as_secs(),
                crate::rand::seed()
            );
            std::process::exit(1);
        }
    }
}

impl World {
    /// Ends the world: the watchdog stops, and the threads still blocked
    /// are abandoned. Dropping a suspended coroutine would unwind its
    /// stack, running destructors that call into a world being torn down;
    /// what they own is leaked instead, but their stacks are reused: a
    /// test ends with dozens of such threads, and new stacks are system
    /// calls and page faults.
    fn teardown(&self) {
        self.progress.done.store(true, Ordering::Relaxed);
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
            recycle(coroutine.into_stack());
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Keeps a finished thread's stack for the next thread.
fn recycle(stack: DefaultStack) {
    let mut stacks = STACKS.lock();
    if stacks.len() < KEPT_STACKS {
        stacks.push(stack);
    }
}

struct Inner {
    /// Chooses among the ready threads.
    rng: StdRng,
    /// What `labrt::rand` draws from in this world: a stream apart from the
    /// scheduler's, so that lab code gets the numbers it would get outside
    /// the simulation with the same seed, in the order it asks for them.
    lab_rng: StdRng,
    now: Duration,
    threads: Vec<Thread>,
    current: Tid,
    /// Runnable threads, the current one excluded.
    ready: Vec<Tid>,
    /// (deadline, order of arming, thread, the thread's wait number).
    timers: BinaryHeap<Reverse<(Duration, u64, Tid, u64)>>,
    armed: u64,
    /// Threads waiting on an object, by the object's address.
    queues: HashMap<usize, VecDeque<(Tid, u64)>, Addresses>,
    /// Who holds each locked mutex, and where it was locked.
    holders: HashMap<usize, (Tid, &'static Location<'static>), Addresses>,
    steps: u64,
    hash: u64,
    /// Every decision (thread, virtual time), kept for `LAB_SIM_CHECK`.
    log: Option<Vec<(Tid, Duration)>>,
    /// Whether `check_determinism` ran in this test.
    checked: std::cell::Cell<bool>,
}

struct Thread {
    name: String,
    state: State,
    /// Counts the thread's waits; a wake-up for an older wait is stale.
    wait: u64,
    timed_out: bool,
    /// Where the thread last blocked.
    last_at: Option<&'static Location<'static>>,
    /// The group the thread belongs to (see [`tag_threads`]), inherited
    /// from the thread that started it.
    tag: Option<Rc<str>>,
    /// When it was last picked to run.
    last_ran: Duration,
    /// How many `labrt::thread::catch_panic` calls it is inside.
    catch_depth: u32,
    /// `None` for the main thread, and while the thread runs.
    coroutine: Option<Coroutine<(), (), (), DefaultStack>>,
    /// Its locks and waits, for the lock-discipline checker; `None` once
    /// it is done.
    record: Option<Arc<Record>>,
    yielder: *const Yielder<(), ()>,
}

enum State {
    Running,
    Ready,
    Blocked(Wait),
    Done,
}

/// What a blocked thread waits for, for the deadlock report.
struct Wait {
    what: String,
    object: Option<usize>,
    at: &'static Location<'static>,
}

impl World {
    fn new() -> World {
        let seed = crate::rand::seed();
        let main = std::thread::current().name().unwrap_or("main").to_string();
        let progress = Arc::new(Progress {
            clock: AtomicU64::new(0),
            thread: AtomicUsize::new(MAIN),
            at: AtomicPtr::new(std::ptr::null_mut()),
            done: AtomicBool::new(false),
            names: Mutex::new(vec![main.clone()]),
        });
        let watched = progress.clone();
        std::thread::Builder::new()
            .name("labrt-sim-watchdog".to_string())
            .spawn(move || watch_for_stalls(watched))
            .unwrap_or_else(|e| panic!("labrt: cannot start the simulation's watchdog: {e}"));
        World {
            progress,
            checker: RefCell::default(),
            base: std::time::Instant::now(),
            inner: RefCell::new(Inner {
                rng: StdRng::seed_from_u64(seed ^ 0x5eed_5eed_5eed_5eed),
                lab_rng: crate::rand::world_generator(),
                now: Duration::ZERO,
                threads: vec![Thread {
                    name: main,
                    state: State::Running,
                    wait: 0,
                    timed_out: false,
                    last_at: None,
                    tag: None,
                    last_ran: Duration::ZERO,
                    catch_depth: 0,
                    coroutine: None,
                    record: crate::discipline::own_record(),
                    yielder: std::ptr::null(),
                }],
                current: MAIN,
                ready: Vec::new(),
                timers: BinaryHeap::new(),
                armed: 0,
                queues: HashMap::default(),
                holders: HashMap::default(),
                steps: 0,
                hash: 0xcbf2_9ce4_8422_2325,
                log: (std::env::var_os(CHECK).is_some() || std::env::var_os(CHECK_CHILD).is_some())
                    .then(Vec::new),
                checked: std::cell::Cell::new(false),
            }),
        }
    }

    /// The virtual time, as an instant.
    pub(crate) fn now(&self) -> std::time::Instant {
        self.base + self.inner.borrow().now
    }

    /// The virtual time of `instant` (0 if it is before the world began).
    pub(crate) fn since_base(&self, instant: std::time::Instant) -> Duration {
        instant.saturating_duration_since(self.base)
    }

    /// Adds `by` to the running thread's count of `catch_panic` calls it
    /// is inside, and returns the count.
    pub(crate) fn catch_depth(&self, by: i32) -> u32 {
        let mut w = self.inner.borrow_mut();
        let me = w.current;
        let depth = &mut w.threads[me].catch_depth;
        *depth = crate::thread::add_depth(*depth, by);
        *depth
    }

    /// Draws from this world's generator (see [`crate::rand`]).
    pub(crate) fn with_generator<R>(&self, draw: impl FnOnce(&mut StdRng) -> R) -> R {
        draw(&mut self.inner.borrow_mut().lab_rng)
    }

    /// The name of the running thread, `None` for the test's own.
    pub(crate) fn current_name(&self) -> Option<String> {
        let w = self.inner.borrow();
        (w.current != MAIN).then(|| w.threads[w.current].name.clone())
    }

    /// Starts a simulated thread running `f`; it is runnable at once. A
    /// thread without a name is called `lab-<its number in this world>`, not
    /// by a count of the process, which tests running at once share.
    pub(crate) fn spawn(self: &Rc<Self>, mut name: String, f: Box<dyn FnOnce()>) {
        {
            let mut w = self.inner.borrow_mut();
            if name.is_empty() {
                name = format!("lab-{}", w.threads.len());
            }
            let stack = STACKS.lock().pop().unwrap_or_else(|| {
                DefaultStack::new(STACK_SIZE)
                    .unwrap_or_else(|e| panic!("labrt: cannot allocate a thread stack: {e}"))
            });
            let tid = w.threads.len();
            let world = Rc::clone(self);
            let record = Record::new(name.clone(), true, None);
            let ours = record.clone();
            let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
                world.inner.borrow_mut().threads[tid].yielder = yielder;
                crate::discipline::set_current(&ours);
                drop((world, ours));
                f();
            });
            self.progress.names.lock().push(name.clone());
            let tag = w.threads[w.current].tag.clone();
            w.threads.push(Thread {
                name,
                state: State::Ready,
                wait: 0,
                timed_out: false,
                last_at: None,
                tag,
                last_ran: Duration::ZERO,
                catch_depth: 0,
                coroutine: Some(coroutine),
                record: Some(record),
                yielder: std::ptr::null(),
            });
            w.ready.push(tid);
        }
        self.yield_now();
    }

    /// A scheduling point: the running thread may go on, or another
    /// runnable thread may run first.
    pub(crate) fn yield_now(&self) {
        {
            let mut w = self.inner.borrow_mut();
            if w.ready.is_empty() {
                // Alone, the thread goes on; its work still takes time,
                // which may bring a timer due.
                w.tick();
                if w.ready.is_empty() {
                    let clock = w.now.as_nanos() as u64;
                    self.progress.clock.store(clock, Ordering::Relaxed);
                    return;
                }
            }
            let me = w.current;
            w.threads[me].state = State::Ready;
            w.ready.push(me);
        }
        self.switch();
    }

    /// Blocks the running thread until [`World::notify_one`] or
    /// [`World::notify_all`] on `object` wakes it, or the virtual time
    /// reaches `deadline`; returns whether the deadline passed first.
    /// Without an object the thread only sleeps.
    pub(crate) fn block(
        &self,
        what: impl Into<String>,
        object: Option<usize>,
        deadline: Option<Duration>,
        at: &'static Location<'static>,
    ) -> bool {
        {
            let mut w = self.inner.borrow_mut();
            let me = w.current;
            let wait = w.threads[me].wait + 1;
            let thread = &mut w.threads[me];
            thread.wait = wait;
            thread.timed_out = false;
            thread.last_at = Some(at);
            thread.state = State::Blocked(Wait {
                what: what.into(),
                object,
                at,
            });
            if let Some(object) = object {
                w.queues.entry(object).or_default().push_back((me, wait));
            }
            if let Some(deadline) = deadline {
                let armed = w.armed;
                w.armed += 1;
                w.timers.push(Reverse((deadline, armed, me, wait)));
            }
        }
        self.switch();
        let w = self.inner.borrow();
        w.threads[w.current].timed_out
    }

    /// The virtual time now, for deadlines.
    pub(crate) fn elapsed(&self) -> Duration {
        self.inner.borrow().now
    }

    /// Wakes the longest-waiting thread blocked on `object`; returns
    /// whether there was one.
    pub(crate) fn notify_one(&self, object: usize) -> bool {
        let mut w = self.inner.borrow_mut();
        while let Some((tid, wait)) = w.queues.get_mut(&object).and_then(VecDeque::pop_front) {
            if w.wake(tid, wait, false) {
                return true;
            }
        }
        w.queues.remove(&object);
        false
    }

    /// Wakes every thread blocked on `object`; returns how many.
    pub(crate) fn notify_all(&self, object: usize) -> usize {
        let mut w = self.inner.borrow_mut();
        let waiters = w.queues.remove(&object).unwrap_or_default();
        waiters
            .into_iter()
            .filter(|&(tid, wait)| w.wake(tid, wait, false))
            .count()
    }

    /// Records that the running thread locked the mutex at `object`.
    pub(crate) fn locked(&self, object: usize, at: &'static Location<'static>) {
        let mut w = self.inner.borrow_mut();
        let me = w.current;
        w.holders.insert(object, (me, at));
    }

    /// Whether a thread of this world holds the mutex at `object`.
    pub(crate) fn holds(&self, object: usize) -> bool {
        self.inner.borrow().holders.contains_key(&object)
    }

    /// Records that the mutex at `object` is free, and wakes a thread
    /// waiting for it.
    pub(crate) fn unlocked(&self, object: usize) {
        self.inner.borrow_mut().holders.remove(&object);
        self.notify_one(object);
    }

    /// Gives the OS thread to the next thread to run; returns when the
    /// running thread (which has put itself in the ready list, or blocked)
    /// is picked again.
    fn switch(&self) {
        let (me, yielder) = {
            let w = self.inner.borrow();
            (w.current, w.threads[w.current].yielder)
        };
        if me == MAIN {
            self.run_others();
        } else {
            // SAFETY: the yielder belongs to the running coroutine, which
            // set it when it started and is suspended only from here.
            unsafe { (*yielder).suspend(()) };
        }
        self.resume_record(me);
    }

    /// Points the lock-discipline checker at thread `tid`'s record: it
    /// runs now.
    fn resume_record(&self, tid: Tid) {
        if let Some(record) = &self.inner.borrow().threads[tid].record {
            crate::discipline::set_current(record);
        }
    }

    /// Runs `f` on this world's lock-discipline findings.
    pub(crate) fn with_checker<R>(
        &self,
        f: impl FnOnce(&mut crate::discipline::Checker) -> R,
    ) -> R {
        f(&mut self.checker.borrow_mut())
    }

    /// The scheduler, on the main thread's stack: runs other threads until
    /// the main thread is picked.
    fn run_others(&self) {
        loop {
            let next = self.pick();
            if next == MAIN {
                return;
            }
            let mut coroutine = self.inner.borrow_mut().threads[next]
                .coroutine
                .take()
                .expect("a runnable thread has its coroutine");
            let result = coroutine.resume(());
            // Back on the main thread's stack: its record is current.
            self.resume_record(MAIN);
            let mut w = self.inner.borrow_mut();
            match result {
                CoroutineResult::Yield(()) => w.threads[next].coroutine = Some(coroutine),
                CoroutineResult::Return(()) => {
                    w.threads[next].state = State::Done;
                    w.threads[next].record = None;
                    recycle(coroutine.into_stack());
                }
            }
        }
    }

    /// Takes the next thread to run off the ready list, chosen at random;
    /// if none is ready, moves the clock to the next timer. Panics with a
    /// deadlock report if no thread can ever run again.
    fn pick(&self) -> Tid {
        let mut w = self.inner.borrow_mut();
        w.tick();
        loop {
            if !w.ready.is_empty() {
                let n = w.ready.len();
                let i = w.rng.random_range(0..n);
                let next = w.ready.swap_remove(i);
                w.current = next;
                let at = w.threads[next].last_at;
                w.threads[next].last_ran = w.now;
                w.threads[next].state = State::Running;
                w.record(next);
                let progress = &self.progress;
                progress
                    .clock
                    .store(w.now.as_nanos() as u64, Ordering::Relaxed);
                progress.thread.store(next, Ordering::Relaxed);
                let at = at.map_or(std::ptr::null_mut(), |at| std::ptr::from_ref(at).cast_mut());
                progress.at.store(at, Ordering::Relaxed);
                return next;
            }
            let Some(Reverse((deadline, _, tid, wait))) = w.timers.pop() else {
                let report = w.deadlock_report();
                // The panic unwinds the test's own thread, on whose stack
                // the scheduler runs: name it, not the last thread to block.
                w.current = MAIN;
                drop(w);
                panic!("{report}");
            };
            if w.threads[tid].wait == wait && matches!(w.threads[tid].state, State::Blocked(_)) {
                w.now = w.now.max(deadline);
                w.wake(tid, wait, true);
            }
        }
    }
}

impl Inner {
    /// Moves the clock on by one step's cost, and wakes the threads whose
    /// timers that brings due.
    fn tick(&mut self) {
        self.now += STEP_COST;
        while let Some(&Reverse((deadline, _, tid, wait))) = self.timers.peek() {
            if deadline > self.now {
                break;
            }
            self.timers.pop();
            self.wake(tid, wait, true);
        }
    }

    /// Makes `tid` runnable if it is still in wait number `wait`.
    fn wake(&mut self, tid: Tid, wait: u64, timed_out: bool) -> bool {
        let thread = &mut self.threads[tid];
        if thread.wait != wait || !matches!(thread.state, State::Blocked(_)) {
            return false;
        }
        thread.state = State::Ready;
        thread.timed_out = timed_out;
        self.ready.push(tid);
        true
    }

    /// Adds a scheduling decision to the trace. A word-at-a-time mix (as
    /// in rustc's FxHash) rather than a byte-at-a-time one: this runs at
    /// every step, and only has to make two different runs differ.
    fn record(&mut self, tid: Tid) {
        self.steps += 1;
        let now = self.now;
        if let Some(log) = &mut self.log {
            log.push((tid, now));
        }
        let mix =
            |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
        self.hash = mix(mix(self.hash, tid as u64), now.as_nanos() as u64);
    }

    fn deadlock_report(&self) -> String {
        self.report("deadlock: every thread is blocked and no timer is pending")
    }

    /// `headline`, then every blocked thread: what it waits for, where, and
    /// who holds the lock it wants.
    fn report(&self, headline: &str) -> String {
        let mut report = format!(
            "{headline} (virtual time {:.3} s, LAB_SEED={})\n",
            self.now.as_secs_f64(),
            crate::rand::seed()
        );
        // Threads blocked alike (the RPC threads of a peer, say) share a
        // line, in the order their first one was started.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for thread in &self.threads {
            let State::Blocked(wait) = &thread.state else {
                continue;
            };
            let mut line = format!("  '{}' blocked {} at {}\n", thread.name, wait.what, wait.at);
            if let Some((holder, at)) = wait.object.and_then(|o| self.holders.get(&o)) {
                let holder = &self.threads[*holder].name;
                let _ = writeln!(line, "      which '{holder}' holds, locked at {at}");
            }
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

/// `LAB_SIM_CHECK=1`: [`check_determinism`] runs the test a second time and
/// compares.
const CHECK: &str = "LAB_SIM_CHECK";

/// Set in the second run: where to write its decisions.
const CHECK_CHILD: &str = "LAB_SIM_CHECK_CHILD";

/// With `LAB_SIM_CHECK=1`, at the end of a simulated test: runs the same
/// test again, in a child process with the same seed, and compares the two
/// runs' scheduling decisions up to this point (the second run, which goes
/// on to the end of the test, must have made the same ones first; only the
/// first call of a test checks). Returns a description of the first one that
/// differs, if any: the run escaped the simulation somewhere (a std lock
/// or sleep, a clock read outside labrt, a randomly seeded `HashMap`
/// iterated, threads of the OS), and the same seed no longer means the
/// same run. Does nothing (`Ok`) outside the simulation or without the
/// variable; the testers call it when a test ends.
pub fn check_determinism() -> Result<(), String> {
    let Some(world) = world() else {
        return Ok(());
    };
    let w = world.inner.borrow();
    let Some(log) = &w.log else {
        return Ok(());
    };
    if w.checked.replace(true) {
        return Ok(());
    }
    let describe = |(tid, now): (Tid, Duration)| format!("{tid} {}", now.as_nanos());
    if let Some(path) = std::env::var_os(CHECK_CHILD) {
        let text: Vec<String> = log
            .iter()
            .map(|&(tid, now)| format!("{} {}", describe((tid, now)), w.threads[tid].name))
            .collect();
        return std::fs::write(&path, text.join("\n"))
            .map_err(|e| format!("{CHECK}: cannot write {}: {e}", path.to_string_lossy()));
    }
    let test = std::thread::current()
        .name()
        .map(str::to_string)
        .ok_or_else(|| format!("{CHECK}: the test's thread has no name to run it again by"))?;
    let path = std::env::temp_dir().join(format!(
        "labsim-check-{}-{}.txt",
        std::process::id(),
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let exe = std::env::current_exe().map_err(|e| format!("{CHECK}: {e}"))?;
    let status = std::process::Command::new(exe)
        .args(["--exact", &test, "--test-threads=1"])
        .env("LAB_SIM", "1")
        .env("LAB_SEED", crate::rand::seed().to_string())
        .env_remove(CHECK)
        .env(CHECK_CHILD, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{CHECK}: cannot run the test again: {e}"))?;
    let theirs = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{CHECK}: the second run ({status}) left no trace in {}: {e}",
            path.display()
        )
    })?;
    let _ = std::fs::remove_file(&path);
    let theirs: Vec<&str> = theirs.lines().collect();
    for (step, &(tid, now)) in log.iter().enumerate() {
        let ours = describe((tid, now));
        match theirs.get(step) {
            Some(line) if line.starts_with(&format!("{ours} ")) => {}
            other => {
                return Err(format!(
                    "{CHECK}: the runs differ at step {step} of {} (virtual time {:.6} s): the \
                     first ran '{}', the second {}",
                    log.len(),
                    now.as_secs_f64(),
                    w.threads[tid].name,
                    other.map_or("had ended".to_string(), |l| format!(
                        "ran '{}'",
                        l.splitn(3, ' ').nth(2).unwrap_or("?")
                    ))
                ));
            }
        }
    }
    Ok(())
}
