//! Channels for lab code, with crossbeam-channel's API.
//!
//! Multi-producer multi-consumer: both [`Sender`] and [`Receiver`] can be
//! cloned. A channel disconnects when every sender (or every receiver) is
//! gone; `recv` then returns `Err(RecvError)` once the buffer is empty.
//!
//! ```
//! use labrt::channel::{self, RecvTimeoutError};
//! use labrt::time::Duration;
//!
//! let (tx, rx) = channel::bounded(1);
//! tx.send("apply 1").unwrap();
//! assert_eq!(rx.recv(), Ok("apply 1"));
//! assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
//! drop(tx);
//! assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Disconnected));
//! ```
//!
//! A send on a full bounded channel (or on a zero-capacity channel, until a
//! receiver takes the value) blocks: never do it while holding a lock the
//! receiver may need.
//!
//! Layout (crossbeam-channel's `flavors/`): this file is the API, and each
//! method dispatches on the channel's flavour: a real channel is
//! crossbeam's own, and a simulated one (`LAB_SIM=1`) is
//! `simulated.rs`, beside it, which keeps crossbeam's
//! semantics but waits in the simulation's scheduler.

mod simulated;

use std::fmt;
use std::panic::Location;

use self::simulated::End;
use crate::discipline::{self, Op};
use crate::time::{Duration, Instant};

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// The sending side of a channel.
pub struct Sender<T>(Flavor<crossbeam_channel::Sender<T>, T>);

/// The receiving side of a channel.
pub struct Receiver<T>(Flavor<crossbeam_channel::Receiver<T>, T>);

/// A crossbeam channel, or in the simulation (`LAB_SIM=1`) one whose
/// waiting the scheduler sees.
enum Flavor<C, T> {
    Real(C),
    Sim(End<T>),
}

/// A channel that holds any number of messages.
#[inline]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    if crate::sim::enabled() {
        let (tx, rx) = simulated::channel(None);
        return (Sender(Flavor::Sim(tx)), Receiver(Flavor::Sim(rx)));
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    (Sender(Flavor::Real(tx)), Receiver(Flavor::Real(rx)))
}

/// A channel that holds at most `cap` messages; `cap == 0` makes every send
/// wait for a receiver (a rendezvous, like an unbuffered Go channel).
#[inline]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    if crate::sim::enabled() {
        let (tx, rx) = simulated::channel(Some(cap));
        return (Sender(Flavor::Sim(tx)), Receiver(Flavor::Sim(rx)));
    }
    let (tx, rx) = crossbeam_channel::bounded(cap);
    (Sender(Flavor::Real(tx)), Receiver(Flavor::Real(rx)))
}

/// The simulated world, which a simulated channel is only ever used in.
fn world() -> std::rc::Rc<crate::sim::World> {
    crate::sim::world().expect("a simulated channel is used in the simulation")
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting for room if the channel is bounded and full.
    /// Fails, handing `msg` back, if every receiver is gone.
    #[inline]
    #[track_caller]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        let _waiting = self.may_wait(Location::caller());
        match &self.0 {
            Flavor::Real(tx) => tx.send(msg),
            Flavor::Sim(tx) => tx
                .send(&world(), msg, None, Location::caller())
                .map_err(|e| SendError(e.into_inner())),
        }
    }

    /// Sends `msg` only if that can be done without waiting.
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match &self.0 {
            Flavor::Real(tx) => tx.try_send(msg),
            Flavor::Sim(tx) => tx.try_send(&world(), msg),
        }
    }

    /// Like [`send`](Self::send), giving up after `timeout`.
    #[inline]
    #[track_caller]
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let _waiting = self.may_wait(Location::caller());
        match &self.0 {
            Flavor::Real(tx) => tx.send_timeout(msg, timeout),
            Flavor::Sim(tx) => {
                let world = world();
                let deadline = world.elapsed() + timeout;
                tx.send(&world, msg, Some(deadline), Location::caller())
            }
        }
    }

    /// Number of messages waiting in the channel.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Flavor::Real(tx) => tx.len(),
            Flavor::Sim(tx) => tx.len(),
        }
    }

    /// The channel's capacity, `None` if unbounded.
    #[inline]
    pub fn capacity(&self) -> Option<usize> {
        match &self.0 {
            Flavor::Real(tx) => tx.capacity(),
            Flavor::Sim(tx) => tx.capacity(),
        }
    }

    /// A send that may have to wait (on a rendezvous channel, or a full
    /// bounded one) is a blocking operation for the lock-discipline
    /// checker; one on an unbounded channel, or with room, never waits.
    #[inline]
    fn may_wait(&self, at: &'static Location<'static>) -> Option<discipline::Blocking> {
        let cap = self.capacity()?;
        (cap == 0 || self.len() >= cap).then(|| discipline::blocking(Op::Send(cap), at))
    }

    /// Whether no message is waiting in the channel.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Receiver<T> {
    /// Waits for a message; fails once the channel is empty and disconnected.
    #[inline]
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        let at = Location::caller();
        match &self.0 {
            Flavor::Real(rx) => {
                // The check always; the mark for the dump only if it waits.
                let record = discipline::check(Op::Recv, at);
                match rx.try_recv() {
                    Ok(msg) => Ok(msg),
                    Err(TryRecvError::Disconnected) => Err(RecvError),
                    Err(TryRecvError::Empty) => {
                        let _waiting = record.map(|r| discipline::mark(r, Op::Recv.waiting(), at));
                        rx.recv()
                    }
                }
            }
            Flavor::Sim(rx) => {
                let _waiting = discipline::blocking(Op::Recv, at);
                rx.recv(&world(), None, at).map_err(|_| RecvError)
            }
        }
    }

    /// Takes a message if one is waiting.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.0 {
            Flavor::Real(rx) => rx.try_recv(),
            Flavor::Sim(rx) => rx.try_recv(&world()),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    #[inline]
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let at = Location::caller();
        match &self.0 {
            Flavor::Real(rx) => {
                let record = discipline::check(Op::Recv, at);
                match rx.try_recv() {
                    Ok(msg) => Ok(msg),
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                    Err(TryRecvError::Empty) => {
                        let waiting = record.map(|r| discipline::mark(r, Op::Recv.waiting(), at));
                        timed(waiting.as_ref(), rx.recv_timeout(timeout))
                    }
                }
            }
            Flavor::Sim(rx) => {
                let waiting = discipline::blocking(Op::Recv, at);
                let world = world();
                let deadline = world.elapsed() + timeout;
                timed(Some(&waiting), rx.recv(&world, Some(deadline), at))
            }
        }
    }

    /// Like [`recv`](Self::recv), giving up at `deadline`.
    #[inline]
    #[track_caller]
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        let at = Location::caller();
        match &self.0 {
            Flavor::Real(rx) => {
                let waiting = discipline::blocking(Op::Recv, at);
                timed(Some(&waiting), rx.recv_deadline(deadline.into_std()))
            }
            Flavor::Sim(rx) => {
                let waiting = discipline::blocking(Op::Recv, at);
                let world = world();
                let deadline = crate::time::sim_deadline(&world, deadline);
                timed(Some(&waiting), rx.recv(&world, Some(deadline), at))
            }
        }
    }

    /// Number of messages waiting in the channel.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.0 {
            Flavor::Real(rx) => rx.len(),
            Flavor::Sim(rx) => rx.len(),
        }
    }

    /// Whether no message is waiting in the channel.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A blocking iterator over messages; it ends when the channel disconnects.
    #[inline]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self)
    }

    /// An iterator over the messages waiting right now.
    #[inline]
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter(self)
    }
}

impl<C: Clone, T> Clone for Flavor<C, T> {
    #[inline]
    fn clone(&self) -> Self {
        match self {
            Flavor::Real(end) => Flavor::Real(end.clone()),
            Flavor::Sim(end) => Flavor::Sim(end.clone()),
        }
    }
}

impl<T> Clone for Sender<T> {
    #[inline]
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> Clone for Receiver<T> {
    #[inline]
    fn clone(&self) -> Self {
        Receiver(self.0.clone())
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Sender { .. }")
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("Receiver { .. }")
    }
}

/// Blocking iterator returned by [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T>(&'a Receiver<T>);

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[inline]
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.0.recv().ok()
    }
}

/// Non-blocking iterator returned by [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T>(&'a Receiver<T>);

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        self.0.try_recv().ok()
    }
}

/// Owning blocking iterator (`for msg in rx { … }`).
#[derive(Debug)]
pub struct IntoIter<T>(Receiver<T>);

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[inline]
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.0.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    #[inline]
    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self)
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    #[inline]
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Tells the kill check (`crate::thread_group`) when a timed receive timed out:
/// the thread woke on its own.
fn timed<T>(
    waiting: Option<&discipline::Blocking>,
    result: Result<T, RecvTimeoutError>,
) -> Result<T, RecvTimeoutError> {
    if let (Some(waiting), Err(RecvTimeoutError::Timeout)) = (waiting, &result) {
        waiting.timed_out();
    }
    result
}
