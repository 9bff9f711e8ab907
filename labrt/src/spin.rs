//! Spinning before parking, where it pays: [`Spin`].
//!
//! A thread that parks on a futex and is woken a few microseconds later
//! pays for the wake-up twice over on a virtual machine: the kernel has to
//! run it, and when its core had nothing else to do, that core first has
//! to come out of its halt (about 15 µs here, against 1 µs for a call
//! through labrpc when both threads are awake). So a wait that usually ends
//! within microseconds is cheaper spun than parked, on an idle machine.
//!
//! On a busy machine it is the reverse: the thread the spinner waits for
//! may have no core to run on, and the spinner takes one. Each [`Spin`]
//! therefore learns from its own waits: it spins only while its spins end
//! in time, stops after a few that did not, and tries again now and then,
//! so that it notices when the machine is idle again. Measured on this
//! project's 2-core machine (`make bench`, five runs): 100,000 sequential
//! labrpc calls in 1.0 to 1.3 µs each instead of 26 to 44 µs idle; a spin
//! that never learned made them 69 µs each under load instead of 13 µs.
//!
//! In the simulation nothing spins: there is no other core, and a wait is
//! a scheduling decision of the seed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one wait spins at most: about what waking a parked thread on
/// an idle core costs, beyond which parking loses little.
const SPIN_FOR: Duration = Duration::from_micros(20);

/// The score's bounds: a run of good spins earns a few misses before the
/// spinning stops, and a run of misses needs a few good probes to resume.
const SCORE_MAX: i32 = 8;
const SCORE_MIN: i32 = -8;
/// What a spin that ended in time adds to the score, and one that did not
/// takes away.
const HIT: i32 = 1;
const MISS: i32 = 4;
/// While the score is negative, one wait in this many spins anyway.
const PROBE_EVERY: u32 = 16;

/// How many threads spin right now, across the process; at most one per
/// core, or the threads they wait for would find no core to run on.
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// The adaptive spinning of one kind of wait (an idle pool thread waiting
/// for work, a caller waiting for a handler's reply): see the module doc.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use labrt::thread::Spin;
///
/// static REPLIES: Spin = Spin::new();
/// let ready = AtomicBool::new(true);
/// // Before parking on a condvar for `ready`:
/// if !REPLIES.spin_until(|| ready.load(Ordering::Acquire)) {
///     // park
/// }
/// ```
pub struct Spin {
    /// ≥ 0: spin; < 0: recent spins did not end in time.
    score: AtomicI32,
    /// Waits seen while the score was negative, to pick the probes.
    skipped: AtomicU32,
}

impl Spin {
    /// A policy that starts out spinning.
    pub const fn new() -> Spin {
        Spin {
            score: AtomicI32::new(0),
            skipped: AtomicU32::new(0),
        }
    }

    /// Whether `done()` holds, after spinning for it up to 20 µs if this
    /// kind of wait has been ending within that lately. `false` means:
    /// park.
    pub fn spin_until(&self, done: impl Fn() -> bool) -> bool {
        if done() {
            return true;
        }
        if crate::sim::enabled() || !self.worth_trying() || !claim_a_core() {
            return false;
        }
        let hit = spin(&done);
        SPINNING.fetch_sub(1, Ordering::Relaxed);
        let change = if hit { HIT } else { -MISS };
        let _ = self
            .score
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some((s + change).clamp(SCORE_MIN, SCORE_MAX))
            });
        hit
    }

    fn worth_trying(&self) -> bool {
        self.score.load(Ordering::Relaxed) >= 0
            || self
                .skipped
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PROBE_EVERY)
    }
}

impl Default for Spin {
    fn default() -> Spin {
        Spin::new()
    }
}

/// Counts this thread among the spinners, if a core is left for one.
fn claim_a_core() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    SPINNING
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < cores).then_some(n + 1)
        })
        .is_ok()
}

/// Spins until `done()` or `SPIN_FOR` has passed; whether `done()`.
fn spin(done: &impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        // Reading the clock costs more than a look, so look a few times
        // between readings.
        for _ in 0..32 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN_FOR {
            return done();
        }
    }
}
