//! The simulated flavour of [`crate::channel`]: crossbeam-channel's
//! semantics (bounded, unbounded, zero capacity; disconnection when every
//! sender or every receiver is gone), with waiting done the simulation's
//! way. The API in `channel/mod.rs` calls it with the running world.
//!
//! A channel is a queue under a lock that no simulated thread ever waits
//! for (only one runs at a time), and two wait queues in the world, keyed
//! by the channel's address: receivers wait at it, senders one byte past
//! it. A receive that takes a message wakes every sender (room, or the
//! rendezvous done); a send wakes one receiver; the last end to go wakes
//! everyone on the other side, who then see the disconnection.
//!
//! A zero-capacity send puts its message in the queue and waits until a
//! receiver has taken it (`taken` passes the message's number), which is a
//! rendezvous as crossbeam's: the sender returns only once the message is
//! received.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use parking_lot::Mutex;

use crate::sim::World;

pub(crate) struct Channel<T> {
    /// `None`: unbounded.
    cap: Option<usize>,
    state: Mutex<State<T>>,
}

struct State<T> {
    queue: VecDeque<T>,
    senders: usize,
    receivers: usize,
    /// How many messages were ever queued, and taken.
    queued: u64,
    taken: u64,
}

/// One end of a simulated channel; dropping the last sender or receiver
/// disconnects it.
pub(crate) struct End<T> {
    channel: Arc<Channel<T>>,
    sender: bool,
}

pub(crate) fn channel<T>(cap: Option<usize>) -> (End<T>, End<T>) {
    let channel = Arc::new(Channel {
        cap,
        state: Mutex::new(State {
            queue: VecDeque::new(),
            senders: 1,
            receivers: 1,
            queued: 0,
            taken: 0,
        }),
    });
    (
        End {
            channel: channel.clone(),
            sender: true,
        },
        End {
            channel,
            sender: false,
        },
    )
}

impl<T> State<T> {
    /// Takes the message numbered `number` (not yet received) back out of
    /// the queue: its send failed.
    fn take_back(&mut self, number: u64) -> T {
        let position = (number - self.taken - 1) as usize;
        self.queued -= 1;
        self.queue
            .remove(position)
            .expect("an untaken message is queued")
    }
}

impl<T> Channel<T> {
    /// Where receivers wait.
    fn receivers_key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Where senders wait (for room, or for a receiver to take theirs).
    fn senders_key(&self) -> usize {
        self.receivers_key() + 1
    }
}

impl<T> End<T> {
    pub(crate) fn send(
        &self,
        world: &World,
        msg: T,
        deadline: Option<Duration>,
        at: &'static Location<'static>,
    ) -> Result<(), SendTimeoutError<T>> {
        world.yield_now();
        let ch = &*self.channel;
        let number = loop {
            let mut st = ch.state.lock();
            if st.receivers == 0 {
                return Err(SendTimeoutError::Disconnected(msg));
            }
            if ch.cap.is_none_or(|cap| cap == 0 || st.queue.len() < cap) {
                st.queue.push_back(msg);
                st.queued += 1;
                break st.queued;
            }
            drop(st);
            if world.block(
                "sending on a full channel",
                Some(ch.senders_key()),
                deadline,
                at,
            ) {
                return Err(SendTimeoutError::Timeout(msg));
            }
        };
        world.notify_one(ch.receivers_key());
        if ch.cap != Some(0) {
            return Ok(());
        }
        // A rendezvous: wait for a receiver to take it.
        loop {
            let mut st = ch.state.lock();
            if st.taken >= number {
                return Ok(());
            }
            if st.receivers == 0 {
                return Err(SendTimeoutError::Disconnected(st.take_back(number)));
            }
            drop(st);
            let what = "sending on a channel, waiting for a receiver";
            if world.block(what, Some(ch.senders_key()), deadline, at) {
                let mut st = ch.state.lock();
                if st.taken >= number {
                    return Ok(());
                }
                return Err(SendTimeoutError::Timeout(st.take_back(number)));
            }
        }
    }

    pub(crate) fn try_send(&self, world: &World, msg: T) -> Result<(), TrySendError<T>> {
        let ch = &*self.channel;
        let mut st = ch.state.lock();
        if st.receivers == 0 {
            return Err(TrySendError::Disconnected(msg));
        }
        // Zero capacity: a try_send succeeds only if a receiver is waiting,
        // which a simulated receiver never is at the moment of the call
        // (it would be blocked, and is taken care of by `send`).
        if ch.cap.is_some_and(|cap| st.queue.len() >= cap) {
            return Err(TrySendError::Full(msg));
        }
        st.queue.push_back(msg);
        st.queued += 1;
        drop(st);
        world.notify_one(ch.receivers_key());
        Ok(())
    }

    pub(crate) fn recv(
        &self,
        world: &World,
        deadline: Option<Duration>,
        at: &'static Location<'static>,
    ) -> Result<T, RecvTimeoutError> {
        world.yield_now();
        let ch = &*self.channel;
        loop {
            match self.try_recv(world) {
                Ok(msg) => return Ok(msg),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if world.block(
                "receiving on a channel",
                Some(ch.receivers_key()),
                deadline,
                at,
            ) {
                return self.try_recv(world).map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                });
            }
        }
    }

    pub(crate) fn try_recv(&self, world: &World) -> Result<T, TryRecvError> {
        let ch = &*self.channel;
        let mut st = ch.state.lock();
        match st.queue.pop_front() {
            Some(msg) => {
                st.taken += 1;
                drop(st);
                world.notify_all(ch.senders_key());
                Ok(msg)
            }
            None if st.senders == 0 => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.channel.cap
    }

    pub(crate) fn len(&self) -> usize {
        let st = self.channel.state.lock();
        // A rendezvous channel holds nothing: queued messages are senders
        // waiting.
        if self.channel.cap == Some(0) {
            0
        } else {
            st.queue.len()
        }
    }
}

impl<T> Clone for End<T> {
    fn clone(&self) -> End<T> {
        let mut st = self.channel.state.lock();
        if self.sender {
            st.senders += 1;
        } else {
            st.receivers += 1;
        }
        End {
            channel: self.channel.clone(),
            sender: self.sender,
        }
    }
}

impl<T> Drop for End<T> {
    fn drop(&mut self) {
        let ch = &*self.channel;
        let mut st = ch.state.lock();
        let last = if self.sender {
            st.senders -= 1;
            st.senders == 0
        } else {
            st.receivers -= 1;
            st.receivers == 0
        };
        drop(st);
        if !last {
            return;
        }
        // Those waiting on the other side learn of the disconnection.
        if let Some(world) = crate::sim::world() {
            world.notify_all(if self.sender {
                ch.receivers_key()
            } else {
                ch.senders_key()
            });
        }
    }
}
