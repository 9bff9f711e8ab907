//! The virtual clock of a simulated world.
//!
//! Virtual time is a `Duration` since the world began, which stands for
//! the real instant `base`: `labrt::time::Instant::now()` reads
//! `base + now`, so lab code sees an ordinary `Instant` that moves only
//! when the simulation says so. It moves in two ways, both the
//! scheduler's: a step's cost ([`step_cost`]) at every scheduling point
//! ([`Clock::step`]), and a jump to the next timer when no thread can run
//! ([`Clock::advance_to`]). `labrt::time` depends on this module, never the
//! reverse: a deadline given as an `Instant` becomes virtual time through
//! [`Clock::since_base`].

use std::ops::RangeInclusive;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The virtual time that passes at each scheduling point, unless
/// `LAB_SIM_STEP` says otherwise ([`step_cost`]): the simulated machine
/// does 200,000 labrt operations a second. That was what this kind of
/// machine did with real threads when it was chosen (lab 3's tests, 27 s of
/// CPU in real time for about 5 million of them in the simulation); the
/// reference has since become faster for real than here (concurrent_3a:
/// 108,000 operations in real time, 28,000 simulated). Without a step cost
/// a clock that stood still while threads ran would let work that never
/// sleeps (a Raft that replicates at once on `start`, over labrpc's
/// reliable network, which has no delay) take no time at all: a KV test's
/// clerks would loop for ever inside its first virtual instant. With it, a
/// busy loop moves the clock as it would on a real machine, and timers fire
/// on time while other threads are busy.
pub const STEP_COST: Duration = Duration::from_micros(5);

/// The step costs `LAB_SIM_STEP` may ask for: a machine from a million
/// labrt operations a second down to a thousand (a slower one could not
/// send a heartbeat in time).
pub const STEP_RANGE: RangeInclusive<Duration> =
    Duration::from_micros(1)..=Duration::from_millis(1);

/// The step cost of this process's simulated machine: `LAB_SIM_STEP` (a
/// whole number and a unit, `50us`) if set, else [`STEP_COST`].
///
/// A seed whose threads keep the machine busy (a KV test's clerks) costs
/// CPU in proportion to its steps, so a larger step cost is a slower
/// simulated machine and a faster sweep: one seed of all of lab 3 took
/// 6.6 s of CPU at 5 µs and 1.0 s at 50 µs (where speed_3a's clerk takes
/// 6 ms an operation instead of 0.8).
/// A seed is the same run only at the same step cost: replay commands carry
/// it ([`replay_env`](super::replay_env)).
///
/// # Panics
/// If `LAB_SIM_STEP` is set but is not a duration in [`STEP_RANGE`].
pub fn step_cost() -> Duration {
    static STEP: OnceLock<Duration> = OnceLock::new();
    *STEP.get_or_init(|| match std::env::var("LAB_SIM_STEP") {
        Err(_) => STEP_COST,
        Ok(text) => parse_step(&text).unwrap_or_else(|message| panic!("{message}")),
    })
}

/// `LAB_SIM_STEP=<cost>` as the user wrote it (`1ms` stays `1ms`), for a
/// replay command; `None` when it is not set.
pub(super) fn step_setting() -> Option<String> {
    let text = std::env::var("LAB_SIM_STEP").ok()?;
    // A bad value never reaches a replay command: this panics on it first.
    step_cost();
    Some(format!("LAB_SIM_STEP={}", text.trim()))
}

/// Reads a step cost as `LAB_SIM_STEP` gives it: whole microseconds, with
/// the unit, `us` (or `µs`), or whole milliseconds, `ms`.
///
/// ```
/// use std::time::Duration;
/// use labrt::sim::parse_step;
///
/// assert_eq!(parse_step("50us"), Ok(Duration::from_micros(50)));
/// assert_eq!(parse_step("1ms"), Ok(Duration::from_millis(1)));
/// assert!(parse_step("50").unwrap_err().contains("LAB_SIM_STEP"));
/// ```
pub fn parse_step(text: &str) -> Result<Duration, String> {
    let wanted = || {
        format!(
            "LAB_SIM_STEP must be the virtual time of a scheduling point, from 1us to 1ms \
             (e.g. 5us, the default, or 50us), got {text:?}"
        )
    };
    let text = text.trim();
    let (number, unit): (&str, fn(u64) -> Duration) = if let Some(n) = text.strip_suffix("ms") {
        (n, Duration::from_millis)
    } else if let Some(n) = text.strip_suffix("us").or_else(|| text.strip_suffix("µs")) {
        (n, Duration::from_micros)
    } else {
        return Err(wanted());
    };
    let step = unit(number.trim().parse().map_err(|_| wanted())?);
    if STEP_RANGE.contains(&step) {
        Ok(step)
    } else {
        Err(wanted())
    }
}

/// A world's clock.
pub(super) struct Clock {
    /// The real time that virtual time 0 stands for.
    base: Instant,
    /// The virtual time.
    now: Duration,
    /// What each scheduling point adds to it.
    step: Duration,
}

impl Clock {
    /// A clock at virtual time 0, standing for the real time now, on this
    /// process's simulated machine ([`step_cost`]).
    pub(super) fn new() -> Clock {
        Clock {
            base: Instant::now(),
            now: Duration::ZERO,
            step: step_cost(),
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
        self.now += self.step;
    }

    /// Jumps to `deadline`, if that is later.
    #[inline]
    pub(super) fn advance_to(&mut self, deadline: Duration) {
        self.now = self.now.max(deadline);
    }
}
