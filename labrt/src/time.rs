//! Time for lab code: [`sleep`], [`Instant`] and [`Duration`].
//!
//! `Instant` is labrt's own type so that the simulation mode (`LAB_SIM=1`)
//! can make it read a virtual clock; it is `std::time::Instant` underneath.
//! In the simulation, `sleep` waits for the virtual clock, which jumps
//! ahead whenever no thread can run.
//!
//! Each function has its real half and its simulated half side by side:
//! the simulated one asks the running world (`crate::sim`), which owns the
//! virtual clock (`sim/clock.rs`) and the timers (`sim/scheduler.rs`).
//! `time` depends on the simulation, not the reverse.
//!
//! ```
//! use labrt::time::{sleep, Duration, Instant};
//!
//! let start = Instant::now();
//! sleep(Duration::from_millis(10));
//! assert!(start.elapsed() >= Duration::from_millis(10));
//! ```

use std::ops::{Add, AddAssign, Sub, SubAssign};

pub use std::time::Duration;

/// A point in (monotonic) time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time.
    #[inline]
    pub fn now() -> Instant {
        match crate::sim::world() {
            Some(world) => Instant(world.now()),
            None => Instant(std::time::Instant::now()),
        }
    }

    /// Time passed since `self`.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    #[inline]
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self + d`, or `None` on overflow.
    #[inline]
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` if that would precede the clock's origin.
    #[inline]
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }

    #[inline]
    pub(crate) fn into_std(self) -> std::time::Instant {
        self.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    #[inline]
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    #[inline]
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    #[inline]
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    #[inline]
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Like [`Instant::duration_since`]: zero if `other` is later.
    #[inline]
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// Blocks the current thread for `d`.
#[track_caller]
pub fn sleep(d: Duration) {
    let waiting = crate::discipline::blocking(
        crate::discipline::Op::Sleep(d),
        std::panic::Location::caller(),
    );
    match crate::sim::world() {
        Some(world) => {
            let deadline = world.elapsed() + d;
            world.block(
                "sleeping",
                None,
                Some(deadline),
                std::panic::Location::caller(),
            );
        }
        None => std::thread::sleep(d),
    }
    waiting.timed_out();
}

/// The virtual deadline of `instant` in the simulated `world`.
pub(crate) fn sim_deadline(world: &crate::sim::World, instant: Instant) -> Duration {
    world.since_base(instant.0)
}
