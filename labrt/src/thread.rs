//! Threads for lab code.
//!
//! [`spawn`] and [`spawn_named`] start an OS thread and return a
//! [`JoinHandle`]. Name your long-lived threads (`"raft-2-ticker"`): the name
//! appears in panic messages and, later, in deadlock reports.
//!
//! Threads are pooled: a thread whose closure returned waits a few seconds
//! for another one before it exits, because lab code starts a thread per
//! RPC and an OS thread is slow to start. Nothing of that shows: each
//! closure runs with its own name and its own `JoinHandle`.
//!
//! A panic in a thread started here ends the whole process with exit code 101
//! after printing the thread's name, the location and the message on the real
//! stderr (cargo's output capture would otherwise swallow it). That is what
//! Go does for a panicking goroutine, and it is what a student needs: the
//! alternative, a peer that silently lost its ticker thread, shows up minutes
//! later as "expected one leader, got none".
//!
//! In the simulation (`LAB_SIM=1`) `spawn` starts a coroutine of the
//! running world instead (its scheduler, `sim/scheduler.rs`), `join` waits
//! there, and `catch_panic`'s count is kept per simulated thread by the
//! world; each function shows its real and its simulated half together.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};

use parking_lot::Mutex;

pub use crate::spin::Spin;

/// An owned permission to join a thread started by [`spawn`].
pub struct JoinHandle<T>(Arc<Packet<T>>);

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result.
    ///
    /// Lab threads never return `Err`: a panic ends the process instead.
    #[track_caller]
    pub fn join(self) -> std::thread::Result<T> {
        let _waiting = crate::discipline::blocking(
            crate::discipline::Op::Join,
            std::panic::Location::caller(),
        );
        let mut result = self.0.result.lock();
        loop {
            if let Some(value) = result.take() {
                return Ok(value);
            }
            self.0.done.wait(&mut result);
        }
    }

    /// Whether the thread has finished running its closure.
    pub fn is_finished(&self) -> bool {
        self.0.result.lock().is_some()
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad("JoinHandle { .. }")
    }
}

/// Where a thread leaves its result for `join`. It uses labrt's own lock
/// and condvar, so that `join` also waits the simulation's way.
struct Packet<T> {
    result: crate::sync::Mutex<Option<T>>,
    done: crate::sync::Condvar,
}

/// Starts a thread running `f`, named `lab-<n>`.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_named(String::new(), f)
}

/// Starts a thread running `f` under `name` (shown in panics and logs).
///
/// ```
/// let h = labrt::thread::spawn_named("adder", || 2 + 2);
/// assert_eq!(h.join().unwrap(), 4);
/// ```
pub fn spawn_named<F, T>(name: impl Into<String>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    install_panic_hook();
    let name = name.into();
    let packet = Arc::new(Packet {
        result: crate::sync::Mutex::new(None),
        done: crate::sync::Condvar::new(),
    });
    let theirs = packet.clone();
    let run = move || match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => {
            *theirs.result.lock() = Some(value);
            theirs.done.notify_all();
        }
        // The hook already printed the panic; now end the run, as Go would.
        Err(_) => std::process::exit(101),
    };
    match crate::sim::world() {
        Some(world) => world.spawn(name, Box::new(run)),
        None => {
            let name = if name.is_empty() {
                format!("lab-{}", next_number())
            } else {
                name
            };
            let membership = crate::discipline::inheritance();
            pool_run(Box::new(move || {
                crate::discipline::begin_lab_thread(&name, membership);
                LAB_THREAD.with(|t| *t.borrow_mut() = Some(name));
                run();
                LAB_THREAD.with(|t| *t.borrow_mut() = None);
                crate::discipline::end_lab_thread();
            }));
        }
    }
    JoinHandle(packet)
}

// Lab code starts a thread for every RPC it sends, as Go code starts a
// goroutine. An OS thread costs about 60 µs of CPU to start and stop on
// this kind of machine, so finished threads wait a while for another
// closure to run instead of exiting: a start then costs a hand-off.

type Job = Box<dyn FnOnce() + Send>;

/// How long a finished thread waits for a new closure before it exits.
const IDLE_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The threads waiting for a closure, each by the slot that reaches it
/// and its number; the most recently idle last.
static IDLE: Mutex<Vec<(u64, Arc<Slot>)>> = Mutex::new(Vec::new());

/// Where an idle thread waits for its next closure. It spins a little
/// first, as long as that pays ([`Spin`]: on an idle machine a closure
/// handed to a spinning thread starts within a microsecond, to a parked
/// one in about 15), then parks on a futex (parking_lot's condvar) rather
/// than in a crossbeam channel's receive, which calls `sched_yield` a few
/// times first: on a machine busier than its cores each yield hands the
/// core to another process for a whole time slice.
#[derive(Default)]
struct Slot {
    job: Mutex<Option<Job>>,
    /// Whether `job` holds a closure, for the spin to look at.
    filled: AtomicBool,
    ready: parking_lot::Condvar,
}

/// How idle pool threads spin for work.
static IDLE_SPIN: Spin = Spin::new();

/// How many OS threads labrt has started so far. Finished threads are
/// reused, so this follows the number of threads alive at once, not the
/// number of `spawn` calls.
pub fn os_threads_started() -> u64 {
    OS_THREADS.load(Ordering::Relaxed)
}

static OS_THREADS: AtomicU64 = AtomicU64::new(0);

fn pool_run(job: Job) {
    let idle = IDLE.lock().pop();
    match idle {
        Some((_, worker)) => {
            *worker.job.lock() = Some(job);
            worker.filled.store(true, Ordering::Release);
            worker.ready.notify_one();
        }
        None => {
            OS_THREADS.fetch_add(1, Ordering::Relaxed);
            let id = next_number();
            std::thread::Builder::new()
                .name(format!("labrt-{id}"))
                .spawn(move || pool_worker(id, job))
                .unwrap_or_else(|e| panic!("labrt: cannot start a thread: {e}"));
        }
    }
}

fn pool_worker(id: u64, mut job: Job) {
    let slot = Arc::new(Slot::default());
    loop {
        job();
        IDLE.lock().push((id, slot.clone()));
        let deadline = std::time::Instant::now() + IDLE_EXIT;
        let mut promised = false;
        IDLE_SPIN.spin_until(|| slot.filled.load(Ordering::Acquire));
        let mut next = slot.job.lock();
        job = loop {
            if let Some(job) = next.take() {
                slot.filled.store(false, Ordering::Relaxed);
                break job;
            }
            if promised {
                slot.ready.wait(&mut next);
            } else if slot.ready.wait_until(&mut next, deadline).timed_out() && next.is_none() {
                let mut idle = IDLE.lock();
                match idle.iter().position(|(i, _)| *i == id) {
                    Some(pos) => {
                        idle.remove(pos);
                        return;
                    }
                    // Taken off the list just now: a closure is on its way.
                    None => promised = true,
                }
            }
        };
    }
}

/// Lets another thread run.
pub fn yield_now() {
    match crate::sim::world() {
        Some(world) => world.yield_now(),
        None => std::thread::yield_now(),
    }
}

/// The name of the current thread, if it was started by labrt.
pub fn current_name() -> Option<String> {
    match crate::sim::world() {
        Some(world) => world.current_name(),
        None => LAB_THREAD.with(|t| t.borrow().clone()),
    }
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

thread_local! {
    static LAB_THREAD: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn next_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A lab thread's panic is printed with the thread's lab name. One that
/// ends the process goes to the real stderr, since captured output would be
/// lost with the process; one that framework code catches goes through
/// cargo's capture like any test output. Other threads (the test's own)
/// keep the default behaviour, so `#[should_panic]` and cargo's failure
/// report work as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| match current_name() {
            Some(name) => report_lab_panic(&name, info),
            None => default_hook(info),
        }));
    });
}

fn report_lab_panic(name: &str, info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let message = panic_message(info.payload());
    if catch_depth(0) > 0 {
        eprintln!("\nthread '{name}' panicked{location}:\n{message}");
        return;
    }
    let backtrace = std::backtrace::Backtrace::capture();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\nthread '{name}' panicked{location}:\n{message}\n\
         (a panic in any lab thread ends the test run, as in Go)"
    );
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        let _ = writeln!(err, "{}", from_the_panic(&backtrace.to_string()));
    }
}

/// The frames of a backtrace (std's rendering) between the panic machinery
/// and the lab thread's start, as std's default hook prints them: without
/// this cut, the first dozen frames a student reads are this hook's and
/// std's, and the last dozen labrt's. std marks the panic's end with its
/// `__rust_end_short_backtrace` frame; the thread's start is the first frame
/// of the `catch_unwind` that `spawn` wraps every lab thread in (its frames
/// differ between builds), or std's `__rust_begin_short_backtrace`. Without the marks, the backtrace is
/// kept whole.
fn from_the_panic(backtrace: &str) -> &str {
    let frame_at = |marker: &str, from: usize| {
        let at = from + backtrace[from..].find(marker)?;
        // The frame's line begins with its number: "  9: std::sys::…".
        Some(backtrace[..at].rfind('\n').map_or(0, |nl| nl + 1))
    };
    let next_frame = |from: usize| {
        let rest = &backtrace[from..];
        let mut lines = rest.split_inclusive('\n');
        let first = lines.next().map_or(0, str::len);
        let indented: usize = lines
            .take_while(|line| !is_frame_line(line))
            .map(str::len)
            .sum();
        from + first + indented
    };
    let start = frame_at("__rust_end_short_backtrace", 0).map_or(0, next_frame);
    let catch_frames = [
        "<core::panic::unwind_safe::AssertUnwindSafe",
        "__rust_try",
        "std::panicking::catch_unwind",
        "__rust_begin_short_backtrace",
    ];
    let end = catch_frames
        .into_iter()
        .filter_map(|marker| frame_at(marker, start))
        .min()
        .unwrap_or(backtrace.len());
    &backtrace[start..end]
}

/// Whether a line of a rendered backtrace starts a frame ("  12: symbol")
/// rather than giving the previous frame's place ("      at file:line").
fn is_frame_line(line: &str) -> bool {
    let line = line.trim_start();
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && line[digits..].starts_with(':')
}

thread_local! {
    /// How many `catch_panic` calls the current OS thread is inside.
    static CAUGHT: Cell<u32> = const { Cell::new(0) };
}

/// Adds `by` to how many `catch_panic` calls the running lab thread is
/// inside, and returns the count. In the simulation every thread runs on
/// the test's OS thread, so each simulated thread keeps its own count in
/// the world: a thread-local one would let a thread that waits inside
/// `catch_panic` hide the panic of another, whose message would then go
/// through cargo's capture and be lost with the process.
fn catch_depth(by: i32) -> u32 {
    match crate::sim::world() {
        Some(world) => world.catch_depth(|depth| add_depth(depth, by)),
        None => {
            let depth = add_depth(CAUGHT.get(), by);
            CAUGHT.set(depth);
            depth
        }
    }
}

/// `depth + by`; a count that leaves `u32` is a bug of labrt's.
pub(crate) fn add_depth(depth: u32, by: i32) -> u32 {
    depth
        .checked_add_signed(by)
        .expect("labrt: catch_panic's count of nested calls went wrong")
}

/// Runs `f`, returning its panic instead of ending the process.
///
/// For framework code that forwards a panic elsewhere: labrpc runs RPC
/// handlers through this and re-raises a handler's panic in the caller,
/// naming the method. The panic hook still prints the original message and
/// location (through cargo's capture, so a failing test shows it).
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_depth(1);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    catch_depth(-1);
    result.map_err(|payload| panic_message(&*payload))
}

#[cfg(test)]
mod tests {
    use super::from_the_panic;

    #[test]
    fn a_backtrace_starts_after_the_panic_machinery_and_ends_at_the_thread_start() {
        let rendered = "   0: std::backtrace::Backtrace::capture
             at /rustc/library/std/src/backtrace.rs:296:9
   1: labrt::thread::report_lab_panic
   2: std::sys::backtrace::__rust_end_short_backtrace
             at /rustc/library/std/src/sys/backtrace.rs:168:18
   3: core::panicking::panic_fmt
   4: raft::raft::Raft::ticker
             at ./raft/src/raft.rs:898:13
   5: __rust_try
   6: labrt::thread::spawn_named::{{closure}}
   7: std::sys::backtrace::__rust_begin_short_backtrace
";
        assert_eq!(
            from_the_panic(rendered),
            "   3: core::panicking::panic_fmt
   4: raft::raft::Raft::ticker
             at ./raft/src/raft.rs:898:13
"
        );
        let unmarked = "   0: main\n";
        assert_eq!(from_the_panic(unmarked), unmarked);
    }
}
