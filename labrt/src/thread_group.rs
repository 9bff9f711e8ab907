//! Thread groups, and the check that a stopped group's threads stop.
//!
//! The lab rule: once the tester kills a peer, every long-running thread of
//! that peer checks `killed()` and returns. A thread that ignores it (a
//! ticker that sleeps and starts elections for ever) keeps a dead peer
//! half alive, and in Go nothing notices. Here the tester puts each start
//! of a peer in a [`Group`] ([`Group::run`]: the threads `f` starts, and
//! the threads they start, are members), calls [`Group::stop`] when it
//! kills the peer, and asks [`Group::stragglers`] at the end of the test.
//!
//! A straggler is a member that **woke from a timer** (a sleep, or a timed
//! wait that timed out) more than `grace` after the stop, and then **went
//! back to waiting** instead of returning. Two kinds of late running are
//! excused, because the thread could not have checked `killed()` sooner:
//!
//! * time inside a labrpc call: a call made just before the kill may be
//!   held by the network for up to 7 s, and the thread then handles its
//!   outcome (each member counts the time its calls overlapped the stop;
//!   a thread started after the stop inherits its starter's count);
//! * waking because another thread sent, notified or unlocked: that one is
//!   the cause, and it is either excused or itself a straggler.
//!
//! So the grace only has to cover one nap between two checks of `killed()`
//! (an election timeout), and a short crash test catches a ticker that
//! ignores `killed()`, in both modes: the times are `labrt::time`'s, virtual
//! in the simulation.
//!
//! RPC handlers run on threads that belong to no group ([`outside`]): they
//! are the server's, not the caller's.
//!
//! ```
//! use labrt::thread_group::Group;
//! use std::time::Duration;
//!
//! let peer = Group::new("server 2");
//! let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
//! let seen = stop.clone();
//! let ticker = peer.run(|| {
//!     labrt::thread::spawn_named("ticker", move || {
//!         while !seen.load(std::sync::atomic::Ordering::Relaxed) {
//!             labrt::time::sleep(Duration::from_millis(50));
//!         }
//!     })
//! });
//! peer.stop();
//! stop.store(true, std::sync::atomic::Ordering::Relaxed);
//! ticker.join().unwrap();
//! assert!(peer.stragglers(Duration::from_secs(1)).is_empty());
//! ```

use std::panic::Location;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::discipline;
use crate::time::{Duration, Instant};

type Site = &'static Location<'static>;

/// The threads of one start of a peer (see the module's header).
pub struct Group {
    label: String,
    /// When [`Group::stop`] was called.
    stopped: Mutex<Option<Instant>>,
}

/// A member that ran on after its group was stopped.
#[derive(Clone, Debug)]
pub struct Straggler {
    /// The thread's name (`raft-2-ticker`).
    pub thread: String,
    /// How long after the stop it last woke from a timer, not counting its
    /// time in labrpc calls.
    pub late: Duration,
    /// Where the timed wait it woke from then began.
    pub woke_from: &'static Location<'static>,
    /// What it waits for now, and where (`sleeping at raft/src/raft.rs:812`).
    pub waiting: String,
}

impl Group {
    /// A group called `label` in reports (`server 2 (start 3)`).
    pub fn new(label: impl Into<String>) -> Arc<Group> {
        Arc::new(Group {
            label: label.into(),
            stopped: Mutex::new(None),
        })
    }

    /// How reports call the group.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `f` with the running thread in this group: the threads it
    /// starts (and the threads they start) are members.
    pub fn run<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        let outer = discipline::replace_membership(Membership::of(Some(self.clone())));
        let result = f();
        discipline::replace_membership(outer);
        result
    }

    /// The peer was killed just now: from here on, members should return.
    pub fn stop(&self) {
        *self.stopped.lock() = Some(Instant::now());
    }

    /// The members that woke from a timer more than `grace` after
    /// [`stop`](Self::stop) (excused time not counted) and are waiting
    /// again (see the module's header). Empty if the group was not stopped.
    pub fn stragglers(self: &Arc<Self>, grace: Duration) -> Vec<Straggler> {
        if self.stopped.lock().is_none() {
            return Vec::new();
        }
        discipline::members(self)
            .into_iter()
            .filter_map(|(thread, membership, waiting)| {
                let (late, woke_at) = membership.late?;
                Some(Straggler {
                    thread,
                    late,
                    woke_from: woke_at,
                    waiting: waiting?,
                })
            })
            .filter(|straggler| straggler.late > grace)
            .collect()
    }
}

impl Group {
    /// [`stragglers`](Self::stragglers), each also reported as a finding
    /// of the lock-discipline checker (printed after the test, a failure
    /// with `LAB_STRICT=1`; see `crate::discipline`).
    pub fn check(self: &Arc<Self>, grace: Duration) -> Vec<Straggler> {
        let stragglers = self.stragglers(grace);
        for s in &stragglers {
            let text = format!(
                "'{}' of {} still ran {:.1} s after the peer was killed: it woke from the timed \
                 wait at {}:{} and went on {} instead of returning (time in labrpc calls not \
                 counted). A killed peer's long-running threads must check killed() and return",
                s.thread,
                self.label,
                s.late.as_secs_f64(),
                s.woke_from.file(),
                s.woke_from.line(),
                s.waiting,
            );
            discipline::add_stop_finding(s.woke_from, &s.thread, text);
        }
        stragglers
    }
}

/// Runs `f` with the running thread in no group: the threads it starts
/// belong to none (labrpc's handler threads, which serve the callee).
pub fn outside<R>(f: impl FnOnce() -> R) -> R {
    let outer = discipline::replace_membership(Membership::default());
    let result = f();
    discipline::replace_membership(outer);
    result
}

/// A thread's place in its group, kept in its lock-discipline record.
#[derive(Clone, Default)]
pub(crate) struct Membership {
    pub(crate) group: Option<Arc<Group>>,
    /// Time spent inside labrpc calls after the stop, by this thread and,
    /// before it started, by the thread that started it.
    excused: Duration,
    /// Its latest wake from a timer after the stop: how late, and the wait.
    late: Option<(Duration, Site)>,
}

impl Membership {
    fn of(group: Option<Arc<Group>>) -> Membership {
        Membership {
            group,
            ..Membership::default()
        }
    }

    /// What a thread started now inherits.
    pub(crate) fn inherited(&self) -> Membership {
        Membership {
            group: self.group.clone(),
            excused: self.excused,
            late: None,
        }
    }

    /// When the group was stopped, if it was.
    fn stopped(&self) -> Option<Instant> {
        *self.group.as_ref()?.stopped.lock()
    }

    /// A labrpc call that began at `began` returned just now.
    pub(crate) fn call_ended(&mut self, began: Instant) {
        if let Some(stop) = self.stopped() {
            self.excused += Instant::now().duration_since(began.max(stop));
        }
    }

    /// The thread woke from the timed wait at `at` just now.
    pub(crate) fn timer_fired(&mut self, at: Site) {
        if let Some(stop) = self.stopped() {
            let late = Instant::now()
                .duration_since(stop)
                .saturating_sub(self.excused);
            self.late = Some((late, at));
        }
    }
}
