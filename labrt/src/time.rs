//! Time for lab code: [`sleep`], [`Instant`] and [`Duration`].
//!
//! `Instant` is labrt's own type so that the simulation mode can make it read
//! a virtual clock; in real mode it is `std::time::Instant` underneath.
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
        Instant(std::time::Instant::now())
    }

    /// Time passed since `self`.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
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
#[inline]
pub fn sleep(d: Duration) {
    std::thread::sleep(d);
}
