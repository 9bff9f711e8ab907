//! The virtual clock of a simulated world.
//!
//! Virtual time is a `Duration` since the world began, which stands for
//! the real instant `base`: `labrt::time::Instant::now()` reads
//! `base + now`, so lab code sees an ordinary `Instant` that moves only
//! when the simulation says so. It moves in two ways, both the
//! scheduler's: [`STEP_COST`] at every scheduling point ([`Clock::step`]),
//! and a jump to the next timer when no thread can run
//! ([`Clock::advance_to`]). `labrt::time` depends on this module, never the
//! reverse: a deadline given as an `Instant` becomes virtual time through
//! [`Clock::since_base`].

use std::time::{Duration, Instant};

/// The virtual time that passes at each scheduling point: the simulated
/// machine does 200,000 labrt operations a second. That was what this kind
/// of machine did with real threads when it was chosen (lab 3's tests, 27 s
/// of CPU in real time for about 5 million of them in the simulation); the
/// reference has since become faster for real than here (concurrent_3a:
/// 108,000 operations in real time, 28,000 simulated). A busy seed's CPU is
/// proportional to its steps, so a larger cost runs seeds faster on a slower
/// simulated machine: one seed of all of lab 3 took 7.0 s of CPU at 5 µs,
/// 3.8 s at 10 µs, 1.6 s at 25 µs and 0.95 s at 50 µs (where speed_3a's
/// clerk takes 6 ms an operation instead of 0.8). Without it a clock that
/// stood still while threads ran would let work that never sleeps (a Raft
/// that replicates at once on `start`, over labrpc's reliable network,
/// which has no delay) take no time at all: a KV test's clerks would loop
/// for ever inside its first virtual instant. With it, a busy loop moves
/// the clock as it would on a real machine, and timers fire on time while
/// other threads are busy.
pub const STEP_COST: Duration = Duration::from_micros(5);

/// A world's clock.
pub(super) struct Clock {
    /// The real time that virtual time 0 stands for.
    base: Instant,
    /// The virtual time.
    now: Duration,
}

impl Clock {
    /// A clock at virtual time 0, standing for the real time now.
    pub(super) fn new() -> Clock {
        Clock {
            base: Instant::now(),
            now: Duration::ZERO,
        }
    }

    /// The virtual time.
    #[inline]
    pub(super) fn now(&self) -> Duration {
        self.now
    }

    /// The virtual time, as the instant it stands for.
    #[inline]
    pub(super) fn instant(&self) -> Instant {
        self.base + self.now
    }

    /// The virtual time of `instant` (0 if it is before the world began).
    #[inline]
    pub(super) fn since_base(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.base)
    }

    /// One scheduling point's worth of work.
    #[inline]
    pub(super) fn step(&mut self) {
        self.now += STEP_COST;
    }

    /// Jumps to `deadline`, if that is later.
    #[inline]
    pub(super) fn advance_to(&mut self, deadline: Duration) {
        self.now = self.now.max(deadline);
    }
}
