//! The pool of threads that run handlers.
//!
//! A handler may block for as long as it likes (on a lock, or a 20-second
//! sleep in the tests), so a fixed pool could starve; one new thread per
//! call would cost a thread start (~70 µs here) on every RPC. So the pool
//! grows whenever every worker is busy and a worker that stays idle for
//! [`IDLE_RETIREMENT`] exits: the number of threads follows the number of
//! handlers running at the same moment.
//!
//! Accounting: `idle` counts workers waiting for a job that no one has
//! claimed yet. A submitter claims one (decrements) or, finding none, starts a
//! worker; so the jobs in the queue never outnumber the waiting workers.

use labrt::channel::{self, Receiver, RecvTimeoutError, Sender};
use labrt::sync::Arc;
use labrt::sync::atomic::{AtomicUsize, Ordering};
use labrt::time::Duration;

const IDLE_RETIREMENT: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Workers {
    jobs: Sender<Job>,
    queue: Receiver<Job>,
    idle: Arc<AtomicUsize>,
    started: AtomicUsize,
}

impl Workers {
    pub(crate) fn new() -> Workers {
        let (jobs, queue) = channel::unbounded();
        Workers {
            jobs,
            queue,
            idle: Arc::new(AtomicUsize::new(0)),
            started: AtomicUsize::new(0),
        }
    }

    /// Runs `job` on a worker thread, starting one if all are busy.
    pub(crate) fn run(&self, job: impl FnOnce() + Send + 'static) {
        if !self.claim_idle_worker() {
            self.start_worker();
        }
        self.jobs
            .send(Box::new(job))
            .expect("labrpc: the worker queue outlives the pool");
    }

    /// How many worker threads were started so far.
    pub(crate) fn started(&self) -> usize {
        self.started.load(Ordering::Relaxed)
    }

    fn claim_idle_worker(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
    }

    fn start_worker(&self) {
        let n = self.started.fetch_add(1, Ordering::Relaxed);
        let (queue, idle) = (self.queue.clone(), self.idle.clone());
        // Started with a job already reserved for it: it is not idle yet.
        labrt::thread::spawn_named(format!("labrpc-worker-{n}"), move || work(&queue, &idle));
    }
}

fn work(queue: &Receiver<Job>, idle: &AtomicUsize) {
    loop {
        match queue.recv_timeout(IDLE_RETIREMENT) {
            Ok(job) => {
                job();
                idle.fetch_add(1, Ordering::AcqRel);
            }
            Err(RecvTimeoutError::Timeout) => {
                // Retire only if an unclaimed idle slot is left; otherwise a
                // submitter counted on a waiting worker, so keep waiting.
                let retired = idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                if retired {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
