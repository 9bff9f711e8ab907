//! Locks for lab code: [`Mutex`] and [`Condvar`] with parking_lot's API.
//!
//! `lock()` returns the guard directly (no poisoning, no `unwrap()`), and a
//! condition variable waits on a `&mut MutexGuard`:
//!
//! ```
//! use labrt::sync::{Arc, Condvar, Mutex};
//!
//! let pair = Arc::new((Mutex::new(false), Condvar::new()));
//! let pair2 = pair.clone();
//! labrt::thread::spawn(move || {
//!     *pair2.0.lock() = true;
//!     pair2.1.notify_all();
//! });
//! let mut ready = pair.0.lock();
//! while !*ready {
//!     pair.1.wait(&mut ready);
//! }
//! ```
//!
//! The rule every lab repeats: never hold a lock while you wait for something
//! that may need the same lock, an RPC reply or a send on the apply channel
//! above all.
//!
//! Each primitive keeps its real implementation (parking_lot's) and, beside
//! it in the same method, the simulated path (`LAB_SIM=1`, see
//! [`crate::sim`]): a simulated thread never blocks the OS thread on a
//! lock, it waits in the world's scheduler until no thread of its world
//! holds it (`wait_until_free`), and a condvar wait releases the lock and
//! blocks in one step (`wait_simulated`). Both modes report to
//! [`crate::discipline`] the same way.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use crate::discipline::{self, Op};
use crate::sim::World;
use crate::time::{Duration, Instant};

pub use std::sync::{Arc, Weak, atomic};

use atomic::AtomicU64;

/// A mutual-exclusion lock protecting a `T`.
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    /// The lock's number for the lock-discipline checker, given at its
    /// first lock (0 until then): see [`crate::discipline`].
    id: AtomicU64,
    inner: parking_lot::Mutex<T>,
}

/// Access to the data of a locked [`Mutex`]; the lock is released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    guard: ManuallyDrop<parking_lot::MutexGuard<'a, T>>,
    /// The mutex's number (see [`Mutex`]).
    id: u64,
}

/// The address that names a lock or a condvar to the simulation.
fn address<T: ?Sized>(object: &T) -> usize {
    std::ptr::from_ref(object).cast::<()>() as usize
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    #[inline]
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            id: AtomicU64::new(0),
            inner: parking_lot::Mutex::new(value),
        }
    }

    /// Consumes the mutex and returns the data.
    #[inline]
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is free, then takes it.
    ///
    /// Panics if this thread holds the lock already (it would wait for
    /// itself for ever), naming where it took it.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let at = Location::caller();
        let id = discipline::key(&self.id);
        let record = discipline::locking(id, at);
        if let Some(world) = crate::sim::world() {
            return self.lock_simulated(&world, id, at);
        }
        // A lock that is not free (after a short spin) is marked as wanted
        // while the thread waits: the thread dump shows who waits for it.
        // try_lock_for's first step is lock()'s bare CAS; try_lock reads
        // the lock word first, which costs the fast path 5 %.
        let guard = match self.inner.try_lock_for(Duration::ZERO) {
            Some(guard) => guard,
            None => {
                let _waiting = discipline::waiting_for_lock(id, at);
                self.inner.lock()
            }
        };
        discipline::push(record, id, at);
        MutexGuard {
            guard: ManuallyDrop::new(guard),
            id,
        }
    }

    /// Takes the lock if it is free right now.
    #[inline]
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let guard = self.inner.try_lock()?;
        let at = Location::caller();
        if let Some(world) = crate::sim::world() {
            world.locked(address(&self.inner), at);
        }
        let id = discipline::key(&self.id);
        discipline::acquired(id, at);
        Some(MutexGuard {
            guard: ManuallyDrop::new(guard),
            id,
        })
    }

    /// In the simulation a thread never blocks the OS thread on a lock:
    /// it waits (letting the holder run) until the lock is free, then
    /// takes it at once.
    fn lock_simulated(
        &self,
        world: &World,
        id: u64,
        at: &'static Location<'static>,
    ) -> MutexGuard<'_, T> {
        wait_until_free(world, &self.inner, "locking a Mutex", at);
        let guard = self.inner.lock();
        world.locked(address(&self.inner), at);
        discipline::acquired(id, at);
        MutexGuard {
            guard: ManuallyDrop::new(guard),
            id,
        }
    }

    /// The data, through a unique borrow (no locking needed).
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: ?Sized> MutexGuard<'_, T> {
    /// Releases the lock while `f` runs, then takes it again.
    ///
    /// The way to do something slow (send on a channel, make an RPC) in the
    /// middle of a critical section without holding the lock:
    ///
    /// ```
    /// use labrt::sync::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new(1);
    /// let mut g = m.lock();
    /// let n = MutexGuard::unlocked(&mut g, || 41); // the lock is free here
    /// *g += n;
    /// assert_eq!(*g, 42);
    /// ```
    #[track_caller]
    pub fn unlocked<U>(guard: &mut Self, f: impl FnOnce() -> U) -> U {
        let id = guard.id;
        let at = Location::caller();
        let Some(world) = crate::sim::world() else {
            let site = discipline::suspend(id);
            let result = parking_lot::MutexGuard::unlocked(&mut guard.guard, || {
                let result = f();
                discipline::locking(id, at);
                result
            });
            discipline::acquired(id, site.unwrap_or(at));
            return result;
        };
        let mutex = parking_lot::MutexGuard::mutex(&guard.guard);
        let object = address(mutex);
        let site = discipline::suspend(id);
        let result = parking_lot::MutexGuard::unlocked(&mut guard.guard, || {
            world.unlocked(object);
            let result = f();
            discipline::locking(id, at);
            wait_until_free(&world, mutex, "locking a Mutex again", at);
            result
        });
        world.locked(object, at);
        discipline::acquired(id, site.unwrap_or(at));
        result
    }
}

/// Waits, in the simulation, until no thread of this world holds `mutex`,
/// so that locking it (what parking_lot does next) cannot block the OS
/// thread on a thread that only this OS thread can run. A mutex held
/// outside this world (a static, locked by a test running at once on
/// another OS thread) is left to that lock: the other world releases it on
/// its own OS thread, and no thread of this one could wake us for it. This
/// world's decisions are then the same however long that takes.
fn wait_until_free<T: ?Sized>(
    world: &World,
    mutex: &parking_lot::Mutex<T>,
    what: &'static str,
    at: &'static Location<'static>,
) {
    world.yield_now();
    let object = address(mutex);
    while mutex.is_locked() && world.holds(object) {
        world.block(what, Some(object), None, at);
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        let object = address(parking_lot::MutexGuard::mutex(&self.guard));
        // Before the unlock: the bookkeeping then overlaps the CAS.
        discipline::released(self.id);
        // SAFETY: the guard is dropped here once, and never used again.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        if let Some(world) = crate::sim::world() {
            world.unlocked(object);
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// A condition variable: wait for a change of the data behind a [`Mutex`].
#[derive(Default, Debug)]
pub struct Condvar(parking_lot::Condvar);

/// Whether a timed wait returned because its time ran out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended by timeout rather than by a notification.
    #[inline]
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A new condition variable.
    #[inline]
    pub const fn new() -> Condvar {
        Condvar(parking_lot::Condvar::new())
    }

    /// Releases the lock, sleeps until notified, then takes the lock again.
    /// Wake-ups can be spurious: always wait in a loop that re-checks.
    #[inline]
    #[track_caller]
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_checked(guard, Location::caller(), |world, guard, at| match world {
            Some(world) => self.wait_simulated(world, guard, None, at),
            None => {
                self.0.wait(guard);
                false
            }
        });
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`.
    #[inline]
    #[track_caller]
    pub fn wait_for<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(
            self.wait_checked(guard, Location::caller(), |world, guard, at| match world {
                Some(world) => {
                    let deadline = world.elapsed() + timeout;
                    self.wait_simulated(world, guard, Some(deadline), at)
                }
                None => self.0.wait_for(guard, timeout).timed_out(),
            }),
        )
    }

    /// Like [`wait`](Self::wait), giving up at `deadline`.
    #[inline]
    #[track_caller]
    pub fn wait_until<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Instant,
    ) -> WaitTimeoutResult {
        WaitTimeoutResult(
            self.wait_checked(guard, Location::caller(), |world, guard, at| match world {
                Some(world) => {
                    let deadline = crate::time::sim_deadline(world, deadline);
                    self.wait_simulated(world, guard, Some(deadline), at)
                }
                None => self.0.wait_until(guard, deadline.into_std()).timed_out(),
            }),
        )
    }

    /// A wait, seen by the lock-discipline checker: no other lock may be
    /// held, and the guard's lock is not held while the thread waits.
    /// `wait` returns whether it timed out (for the kill check, too).
    #[inline]
    fn wait_checked<'a, T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'a, T>,
        at: &'static Location<'static>,
        wait: impl FnOnce(
            Option<&World>,
            &mut parking_lot::MutexGuard<'a, T>,
            &'static Location<'static>,
        ) -> bool,
    ) -> bool {
        let id = guard.id;
        let waiting = discipline::blocking(Op::Condvar(id), at);
        let site = discipline::suspend(id);
        let world = crate::sim::world();
        let timed_out = wait(world.as_deref(), &mut guard.guard, at);
        discipline::acquired(id, site.unwrap_or(at));
        if timed_out {
            waiting.timed_out();
        }
        timed_out
    }

    /// Wakes one waiting thread; returns whether there was one.
    #[inline]
    pub fn notify_one(&self) -> bool {
        match crate::sim::world() {
            Some(world) => {
                let woke = world.notify_one(address(self));
                world.yield_now();
                woke
            }
            None => self.0.notify_one(),
        }
    }

    /// Wakes every waiting thread; returns how many there were.
    #[inline]
    pub fn notify_all(&self) -> usize {
        match crate::sim::world() {
            Some(world) => {
                let woke = world.notify_all(address(self));
                world.yield_now();
                woke
            }
            None => self.0.notify_all(),
        }
    }

    /// The simulation's wait: release the lock and block on this condvar
    /// in one step (no other thread runs in between, so no notification
    /// is lost), then wait for the lock to be free and take it.
    fn wait_simulated<T: ?Sized>(
        &self,
        world: &World,
        guard: &mut parking_lot::MutexGuard<'_, T>,
        deadline: Option<std::time::Duration>,
        at: &'static Location<'static>,
    ) -> bool {
        let mutex = parking_lot::MutexGuard::mutex(guard);
        let object = address(mutex);
        let timed_out = parking_lot::MutexGuard::unlocked(guard, || {
            world.unlocked(object);
            let timed_out = world.block("waiting on a Condvar", Some(address(self)), deadline, at);
            wait_until_free(
                world,
                mutex,
                "locking a Mutex again after a Condvar wait",
                at,
            );
            timed_out
        });
        world.locked(object, at);
        timed_out
    }
}
