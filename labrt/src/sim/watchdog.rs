//! The stall watchdog: an OS thread per world that ends the process when a
//! simulated thread keeps the test's OS thread too long.
//!
//! The scheduler cannot take the OS thread back from a simulated thread
//! that never calls labrt again: one that blocks outside labrt (a std
//! lock, `std::thread::sleep`, I/O) or loops without a labrt call (polling
//! `Instant::now()`, whose virtual time moves only at labrt calls that are
//! scheduling points). The whole test would hang, silently. So every world
//! starts a watchdog ([`start`]); the scheduler publishes, at every
//! scheduling point, the virtual time and who runs ([`Progress::stepped`],
//! atomics, no lock), and a watchdog that sees the virtual time stand
//! still for [`STALL`] of real time prints who holds the OS thread and
//! where it last blocked, and exits. When the world is torn down
//! ([`Progress::stop`]) its watchdog stops within a second.

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::world::Tid;

/// How long a simulated thread may run without coming back to the
/// scheduler (a labrt call) before the run is declared stuck.
const STALL: Duration = Duration::from_secs(30);

/// Why a simulated thread would not come back to the scheduler.
const CAUSES: &str = "blocks outside labrt (a std lock, std::thread::sleep, I/O) or loops without \
                      a labrt call";

/// What the watchdog sees of a world. Written at every scheduling point,
/// so atomics rather than a lock.
pub(super) struct Progress {
    /// The virtual time in nanoseconds: it moves at every scheduling point,
    /// even one where a thread alone goes on.
    clock: AtomicU64,
    thread: AtomicUsize,
    /// Where the running thread last blocked (null: nowhere yet).
    at: AtomicPtr<Location<'static>>,
    /// The world is gone: the watchdog stops.
    done: AtomicBool,
    /// The world's threads' names, by number.
    names: Mutex<Vec<String>>,
}

/// Starts the watchdog of a world whose first thread (the test's own,
/// running) is called `main`.
pub(super) fn start(main: String, running: Tid) -> Arc<Progress> {
    let progress = Arc::new(Progress {
        clock: AtomicU64::new(0),
        thread: AtomicUsize::new(running),
        at: AtomicPtr::new(std::ptr::null_mut()),
        done: AtomicBool::new(false),
        names: Mutex::new(vec![main]),
    });
    let watched = progress.clone();
    std::thread::Builder::new()
        .name("labrt-sim-watchdog".to_string())
        .spawn(move || watch_for_stalls(watched))
        .unwrap_or_else(|e| panic!("labrt: cannot start the simulation's watchdog: {e}"));
    progress
}

impl Progress {
    /// Thread `tid` was started (a new number, or a done thread's): the
    /// watchdog may have to name it.
    pub(super) fn started(&self, tid: Tid, name: String) {
        let mut names = self.names.lock();
        match names.get_mut(tid) {
            Some(old) => *old = name,
            None => names.push(name),
        }
    }

    /// The clock moved to `clock` with the running thread going on.
    #[inline]
    pub(super) fn ticked(&self, clock: Duration) {
        self.clock.store(clock.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Thread `thread` was picked at `clock`; it last blocked at `at`.
    #[inline]
    pub(super) fn stepped(
        &self,
        clock: Duration,
        thread: Tid,
        at: Option<&'static Location<'static>>,
    ) {
        self.clock.store(clock.as_nanos() as u64, Ordering::Relaxed);
        self.thread.store(thread, Ordering::Relaxed);
        let at = at.map_or(std::ptr::null_mut(), |at| std::ptr::from_ref(at).cast_mut());
        self.at.store(at, Ordering::Relaxed);
    }

    /// The world is gone.
    pub(super) fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Watches a world from an OS thread of its own, and ends the process with
/// a report when a simulated thread keeps the OS thread for [`STALL`], or
/// for a second once Ctrl-\\ asked the world to quit (which the world
/// answers itself at its next scheduling point, if it comes).
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
        let quit = super::quit_asked();
        let held = seen.1.elapsed();
        if held >= STALL || (quit && held >= Duration::from_secs(1)) {
            // SAFETY: null or a `&'static Location` stored by `stepped`.
            let at = unsafe { p.at.load(Ordering::Relaxed).as_ref() }
                .map_or(String::new(), |at| format!(", since it blocked at {at}"));
            let thread = &p.names.lock()[p.thread.load(Ordering::Relaxed)];
            let (secs, env) = (held.as_secs(), super::replay_env());
            if quit {
                // Ctrl-\ may come while a thread computes for a while
                // (the tester's linearizability check): not a stall yet.
                eprintln!(
                    "\n{}\nthread '{thread}' has run for {secs} s without a labrt call{at}: it \
                     computes, or {CAUSES}. {env}",
                    super::QUIT_HEADLINE
                );
            } else {
                eprintln!(
                    "\nsimulation stuck: thread '{thread}' has not come back to the scheduler for \
                     {secs} s{at}. It {CAUSES} (virtual time moves only at labrt calls). {env}"
                );
            }
            std::process::exit(if quit { 2 } else { 1 });
        }
    }
}
