//! Random numbers for lab code, from one seeded source.
//!
//! Every random choice made through labrt (election timeouts in Raft, the
//! network's delays and drops in labrpc, the testers' choices) is drawn from
//! one generator. Its seed comes from the `LAB_SEED` environment variable
//! when set, and is drawn from the OS otherwise; [`seed`] tells which, so a
//! test can print it and a run can be repeated. (With real threads the
//! interleaving still varies from run to run; the simulation mode makes the
//! whole run a function of the seed.)
//!
//! In the simulation (`LAB_SIM=1`) each simulated world (one per test) owns a
//! generator of its own (`sim/world.rs`), started from the seed: a test draws the same
//! numbers whatever ran before it, and whatever runs beside it on other OS
//! threads (`--test-threads=2`). Outside it, the process shares one.
//!
//! ```
//! use labrt::rand::{self, Rng};
//!
//! let timeout_ms = rand::random_range(300..600);
//! assert!((300..600).contains(&timeout_ms));
//! let coin: bool = rand::rng().random();
//! let _ = coin;
//!
//! use labrt::rand::SliceRandom;
//! let mut order = [0, 1, 2, 3];
//! order.shuffle(&mut rand::rng());
//! ```

use std::sync::OnceLock;

use parking_lot::Mutex;
use rand::distr::uniform::{SampleRange, SampleUniform};
use rand::distr::{Distribution, StandardUniform};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

pub use rand::Rng;
pub use rand::seq::SliceRandom;

/// The seed of this process's generator: `LAB_SEED` if set, else drawn once.
///
/// # Panics
/// If `LAB_SEED` is set but is not an unsigned 64-bit integer.
pub fn seed() -> u64 {
    global().0
}

/// A uniformly random value in `range` (`a..b` or `a..=b`).
pub fn random_range<T, R>(range: R) -> T
where
    T: SampleUniform,
    R: SampleRange<T>,
{
    rng().random_range(range)
}

/// `true` with probability `p`.
pub fn random_bool(p: f64) -> bool {
    rng().random_bool(p)
}

/// A random value of any type rand can make (`u64`, `bool`, `f64`, …).
pub fn random<T>() -> T
where
    StandardUniform: Distribution<T>,
{
    rng().random()
}

/// A handle on the current generator; use it with the methods of [`Rng`].
pub fn rng() -> LabRng {
    LabRng(())
}

/// A handle on labrt's generator: the simulated world's, or the process's
/// outside the simulation. It implements [`RngCore`], so every method of
/// [`Rng`] (and `rand`'s distributions and `shuffle`) works on it.
#[derive(Clone, Copy, Debug)]
pub struct LabRng(());

impl RngCore for LabRng {
    fn next_u32(&mut self) -> u32 {
        with_generator(StdRng::next_u32)
    }

    fn next_u64(&mut self) -> u64 {
        with_generator(StdRng::next_u64)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        with_generator(|g| g.fill_bytes(dst));
    }
}

fn with_generator<R>(draw: impl FnOnce(&mut StdRng) -> R) -> R {
    match crate::sim::world() {
        Some(world) => world.with_generator(draw),
        None => draw(&mut global().1.lock()),
    }
}

fn global() -> &'static (u64, Mutex<StdRng>) {
    static GLOBAL: OnceLock<(u64, Mutex<StdRng>)> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let seed = seed_from_env().unwrap_or_else(|| StdRng::from_os_rng().next_u64());
        (seed, Mutex::new(StdRng::seed_from_u64(seed)))
    })
}

fn seed_from_env() -> Option<u64> {
    let text = std::env::var("LAB_SEED").ok()?;
    match text.trim().parse() {
        Ok(seed) => Some(seed),
        Err(_) => panic!("LAB_SEED must be an unsigned 64-bit integer, got {text:?}"),
    }
}
