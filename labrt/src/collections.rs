//! Hash maps and sets that iterate in the same order in every run.
//!
//! `std`'s `HashMap` seeds its hasher at random in each process, so the
//! order of `iter()`, `keys()` or `drain()` changes from run to run. Code
//! whose behaviour follows that order (which peer to ask first, which
//! pending request to retry) then breaks the simulation's promise that a
//! seed replays the same run, and `LAB_SIM_CHECK=1` reports the divergence.
//! These types use one fixed hasher instead: the same insertions give the
//! same order, in every run of the same binary. Make them with `default()`
//! (`new()` belongs to the randomly seeded kind). When the order matters
//! to the logic, a `BTreeMap` says so more plainly.
//!
//! ```
//! use labrt::collections::HashMap;
//!
//! let build = || {
//!     let mut pending: HashMap<u64, &str> = HashMap::default();
//!     for id in [7, 3, 11, 5] {
//!         pending.insert(id, "request");
//!     }
//!     pending.keys().copied().collect::<Vec<u64>>()
//! };
//! // Two std maps built alike usually iterate differently, even in one
//! // process; these never do.
//! assert_eq!(build(), build());
//! ```

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

/// The hasher of [`HashMap`] and [`HashSet`]: SipHash with fixed keys.
pub type FixedState = BuildHasherDefault<DefaultHasher>;

/// `std::collections::HashMap` with a fixed hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, FixedState>;

/// `std::collections::HashSet` with a fixed hasher.
pub type HashSet<T> = std::collections::HashSet<T, FixedState>;
