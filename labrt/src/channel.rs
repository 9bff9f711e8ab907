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

use std::fmt;

use crate::time::{Duration, Instant};

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// The sending side of a channel.
pub struct Sender<T>(crossbeam_channel::Sender<T>);

/// The receiving side of a channel.
pub struct Receiver<T>(crossbeam_channel::Receiver<T>);

/// A channel that holds any number of messages.
#[inline]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (Sender(tx), Receiver(rx))
}

/// A channel that holds at most `cap` messages; `cap == 0` makes every send
/// wait for a receiver (a rendezvous, like an unbuffered Go channel).
#[inline]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::bounded(cap);
    (Sender(tx), Receiver(rx))
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting for room if the channel is bounded and full.
    /// Fails, handing `msg` back, if every receiver is gone.
    #[inline]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.0.send(msg)
    }

    /// Sends `msg` only if that can be done without waiting.
    #[inline]
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.0.try_send(msg)
    }

    /// Like [`send`](Self::send), giving up after `timeout`.
    #[inline]
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.0.send_timeout(msg, timeout)
    }

    /// Number of messages waiting in the channel.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no message is waiting in the channel.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> Receiver<T> {
    /// Waits for a message; fails once the channel is empty and disconnected.
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.0.recv()
    }

    /// Takes a message if one is waiting.
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    #[inline]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.0.recv_timeout(timeout)
    }

    /// Like [`recv`](Self::recv), giving up at `deadline`.
    #[inline]
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.0.recv_deadline(deadline.into_std())
    }

    /// Number of messages waiting in the channel.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no message is waiting in the channel.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
