//! The scheduler: which simulated thread runs, and when the clock moves.
//!
//! A world's threads run one at a time on its test's OS thread. The test's
//! own thread is thread 0 ([`MAIN`]) and the host: when it blocks, it runs
//! the others ([`World::run_others`]) until it is picked again; any other
//! thread is a coroutine, and blocking suspends it back to the host. The
//! primitives of `sync`, `channel`, `thread` and `time` use five
//! operations:
//!
//! * [`World::spawn`]: a new thread, runnable at once;
//! * [`World::yield_now`]: a scheduling point; another thread may go first;
//! * [`World::block`]: wait on an object (by its address), and/or until a
//!   virtual deadline; returns whether the deadline came first;
//! * [`World::notify_one`] / [`World::notify_all`]: wake waiters of an
//!   object, oldest first;
//! * [`World::locked`] / [`World::unlocked`] / [`World::holds`]: who holds
//!   each mutex, for waiting and for the deadlock report.
//!
//! Every switch goes through [`World::pick`], the one place where a run is
//! decided: it moves the clock on by a step's cost and wakes the timers
//! that brings due, then takes a ready thread at random (the scheduler's
//! generator), or jumps the clock to the next timer, or panics with the
//! deadlock report when no thread can ever run again. Each decision (the
//! thread, the virtual time) feeds the trace hash, and for
//! `LAB_SIM_CHECK` the log. A wait is numbered, so a wake-up for a wait
//! that has ended (a timer after a notify, say) is ignored.

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use corosensei::{Coroutine, CoroutineResult, Yielder};
use rand::Rng;

use super::stacks;
use super::world::{Inner, MAIN, State, TIMERS_FLOOR, Thread, Tid, Wait, World};
use crate::discipline::Record;

impl World {
    /// Starts a simulated thread running `f`; it is runnable at once. A
    /// thread without a name is called `lab-<its number in this world>`, not
    /// by a count of the process, which tests running at once share.
    pub(crate) fn spawn(self: &Rc<Self>, mut name: String, f: Box<dyn FnOnce()>) {
        {
            let mut w = self.inner.borrow_mut();
            if name.is_empty() {
                name = format!("lab-{}", w.started);
            }
            w.started += 1;
            let stack = stacks::take();
            let tid = w.free.pop().unwrap_or(w.threads.len());
            let world = Rc::clone(self);
            let record = Record::new(name.clone(), true, crate::discipline::inheritance());
            let ours = record.clone();
            let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<(), ()>, ()| {
                world.inner.borrow_mut().threads[tid].yielder = yielder;
                crate::discipline::set_current(&ours);
                drop((world, ours));
                f();
            });
            self.progress.started(tid, name.clone());
            let mut thread = Thread::new(name, State::Ready, Some(coroutine), Some(record));
            match w.threads.get_mut(tid) {
                // A done thread's number: its waits stay counted, so that
                // a wake-up meant for one of them (a stale timer or queue
                // entry) is never taken for one of the new thread's.
                Some(done) => {
                    thread.wait = done.wait;
                    *done = thread;
                }
                None => w.threads.push(thread),
            }
            w.ready.push(tid);
        }
        self.yield_now();
    }

    /// A scheduling point: the running thread may go on, or another
    /// runnable thread may run first.
    pub(crate) fn yield_now(&self) {
        self.quit_if_asked();
        {
            let mut w = self.inner.borrow_mut();
            if w.ready.is_empty() {
                // Alone, the thread goes on; its work still takes time,
                // which may bring a timer due.
                w.tick();
                if w.ready.is_empty() {
                    self.progress.ticked(w.clock.now());
                    return;
                }
            }
            let me = w.current;
            w.threads[me].state = State::Ready;
            w.ready.push(me);
        }
        self.switch();
    }

    /// Blocks the running thread until [`World::notify_one`] or
    /// [`World::notify_all`] on `object` wakes it, or the virtual time
    /// reaches `deadline`; returns whether the deadline passed first.
    /// Without an object the thread only sleeps.
    pub(crate) fn block(
        &self,
        what: &'static str,
        object: Option<usize>,
        deadline: Option<Duration>,
        at: &'static Location<'static>,
    ) -> bool {
        {
            let mut w = self.inner.borrow_mut();
            let me = w.current;
            let wait = w.threads[me].wait + 1;
            let thread = &mut w.threads[me];
            thread.wait = wait;
            thread.timed_out = false;
            thread.last_at = Some(at);
            thread.state = State::Blocked(Wait { what, object, at });
            if let Some(object) = object {
                let w = &mut *w;
                w.queues
                    .entry(object)
                    .or_insert_with(|| w.spare_queues.pop().unwrap_or_default())
                    .push_back((me, wait));
            }
            if let Some(deadline) = deadline {
                let armed = w.armed;
                w.armed += 1;
                w.timers.push(Reverse((deadline, armed, me, wait)));
                if w.timers.len() >= w.timers_limit {
                    w.sweep_timers();
                }
            }
        }
        self.switch();
        let w = self.inner.borrow();
        w.threads[w.current].timed_out
    }

    /// Wakes the longest-waiting thread blocked on `object`; returns
    /// whether there was one.
    pub(crate) fn notify_one(&self, object: usize) -> bool {
        let mut w = self.inner.borrow_mut();
        while let Some((tid, wait)) = w.queues.get_mut(&object).and_then(VecDeque::pop_front) {
            if w.wake(tid, wait, false) {
                return true;
            }
        }
        if let Some(queue) = w.queues.remove(&object) {
            w.keep_queue(queue);
        }
        false
    }

    /// Wakes every thread blocked on `object`; returns how many.
    pub(crate) fn notify_all(&self, object: usize) -> usize {
        let mut w = self.inner.borrow_mut();
        let Some(mut waiters) = w.queues.remove(&object) else {
            return 0;
        };
        let woken = waiters
            .drain(..)
            .filter(|&(tid, wait)| w.wake(tid, wait, false))
            .count();
        w.keep_queue(waiters);
        woken
    }

    /// Records that the running thread locked the mutex at `object`.
    pub(crate) fn locked(&self, object: usize, at: &'static Location<'static>) {
        let mut w = self.inner.borrow_mut();
        let me = w.current;
        w.holders.insert(object, (me, at));
    }

    /// Whether a thread of this world holds the mutex at `object`.
    pub(crate) fn holds(&self, object: usize) -> bool {
        self.inner.borrow().holders.contains_key(&object)
    }

    /// Records that the mutex at `object` is free, and wakes a thread
    /// waiting for it.
    pub(crate) fn unlocked(&self, object: usize) {
        self.inner.borrow_mut().holders.remove(&object);
        self.notify_one(object);
    }

    /// Gives the OS thread to the next thread to run; returns when the
    /// running thread (which has put itself in the ready list, or blocked)
    /// is picked again.
    fn switch(&self) {
        let (me, yielder) = {
            let w = self.inner.borrow();
            (w.current, w.threads[w.current].yielder)
        };
        if me == MAIN {
            self.run_others();
        } else {
            // SAFETY: the yielder belongs to the running coroutine, which
            // set it when it started and is suspended only from here.
            unsafe { (*yielder).suspend(()) };
        }
        self.resume_record(me);
    }

    /// Points the lock-discipline checker at thread `tid`'s record: it
    /// runs now.
    fn resume_record(&self, tid: Tid) {
        if let Some(record) = &self.inner.borrow().threads[tid].record {
            crate::discipline::set_current(record);
        }
    }

    /// The scheduler, on the main thread's stack: runs other threads until
    /// the main thread is picked.
    fn run_others(&self) {
        loop {
            self.quit_if_asked();
            let next = self.pick();
            if next == MAIN {
                return;
            }
            let mut coroutine = self.inner.borrow_mut().threads[next]
                .coroutine
                .take()
                .expect("a runnable thread has its coroutine");
            let result = coroutine.resume(());
            // Back on the main thread's stack: its record is current.
            self.resume_record(MAIN);
            let mut w = self.inner.borrow_mut();
            match result {
                CoroutineResult::Yield(()) => w.threads[next].coroutine = Some(coroutine),
                CoroutineResult::Return(()) => {
                    w.threads[next].state = State::Done;
                    w.threads[next].record = None;
                    w.free.push(next);
                    stacks::recycle(coroutine.into_stack());
                }
            }
        }
    }

    /// Ctrl-\\ was pressed ([`super::ask_to_quit`]): prints every blocked
    /// thread and ends the process, as Go does. Called where the world is
    /// not borrowed, at the scheduling points a busy world passes most.
    #[inline]
    fn quit_if_asked(&self) {
        if super::quit_asked() {
            let report = self.report(&format!(
                "{}\nthe simulated threads, what each waits for and where",
                super::QUIT_HEADLINE
            ));
            eprint!("{report}");
            std::process::exit(2);
        }
    }

    /// Takes the next thread to run off the ready list, chosen at random;
    /// if none is ready, moves the clock to the next timer. Panics with a
    /// deadlock report if no thread can ever run again.
    fn pick(&self) -> Tid {
        let mut w = self.inner.borrow_mut();
        w.tick();
        loop {
            if !w.ready.is_empty() {
                let n = w.ready.len();
                let i = w.rng.random_range(0..n);
                let next = w.ready.swap_remove(i);
                w.current = next;
                let at = w.threads[next].last_at;
                let now = w.clock.now();
                w.threads[next].state = State::Running;
                w.record(next);
                self.progress.stepped(now, next, at);
                return next;
            }
            let Some(Reverse((deadline, _, tid, wait))) = w.timers.pop() else {
                let report = w.deadlock_report();
                // The panic unwinds the test's own thread, on whose stack
                // the scheduler runs: name it, not the last thread to block.
                w.current = MAIN;
                drop(w);
                panic!("{report}");
            };
            if w.timer_is_live(tid, wait) {
                w.clock.advance_to(deadline);
                w.wake(tid, wait, true);
            }
        }
    }
}

impl Inner {
    /// Moves the clock on by one step's cost, and wakes the threads whose
    /// timers that brings due.
    fn tick(&mut self) {
        self.clock.step();
        while let Some(&Reverse((deadline, _, tid, wait))) = self.timers.peek() {
            if deadline > self.clock.now() {
                break;
            }
            self.timers.pop();
            self.wake(tid, wait, true);
        }
    }

    /// Drops the timers of waits that have ended. Most timed waits end
    /// early (a labrpc call's death poll, a KV server's commit timeout, a
    /// Raft ticker's wait_until), and their timers would otherwise stay
    /// in the heap until their deadlines, making every push and pop
    /// slower. The timers left keep their order, a total one, so the
    /// sweep changes no decision. Sweeping when the heap has doubled since
    /// the last sweep keeps its cost proportional to the timers armed.
    fn sweep_timers(&mut self) {
        let mut timers = std::mem::take(&mut self.timers);
        timers.retain(|&Reverse((_, _, tid, wait))| self.timer_is_live(tid, wait));
        self.timers = timers;
        self.timers_limit = TIMERS_FLOOR.max(2 * self.timers.len());
    }

    /// Whether a timer armed for `tid`'s wait number `wait` still ends
    /// that wait: the thread is blocked in it, not woken since.
    fn timer_is_live(&self, tid: Tid, wait: u64) -> bool {
        self.threads[tid].wait == wait && matches!(self.threads[tid].state, State::Blocked(_))
    }

    /// Keeps an emptied wait queue's allocation for the next object waited
    /// on (a few dozen at most: no more are ever in use at once).
    fn keep_queue(&mut self, queue: VecDeque<(Tid, u64)>) {
        debug_assert!(queue.is_empty());
        if self.spare_queues.len() < 64 {
            self.spare_queues.push(queue);
        }
    }

    /// Makes `tid` runnable if it is still in wait number `wait`.
    fn wake(&mut self, tid: Tid, wait: u64, timed_out: bool) -> bool {
        let thread = &mut self.threads[tid];
        if thread.wait != wait || !matches!(thread.state, State::Blocked(_)) {
            return false;
        }
        thread.state = State::Ready;
        thread.timed_out = timed_out;
        self.ready.push(tid);
        true
    }

    /// Adds a scheduling decision to the trace. A word-at-a-time mix (as
    /// in rustc's FxHash) rather than a byte-at-a-time one: this runs at
    /// every step, and only has to make two different runs differ.
    fn record(&mut self, tid: Tid) {
        self.steps += 1;
        let now = self.clock.now();
        if let Some(log) = &mut self.log {
            log.push((tid, now));
        }
        let mix =
            |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
        self.hash = mix(mix(self.hash, tid as u64), now.as_nanos() as u64);
    }

    fn deadlock_report(&self) -> String {
        self.report("deadlock: every thread is blocked and no timer is pending")
    }
}
