//! Threads for lab code.
//!
//! [`spawn`] and [`spawn_named`] start an OS thread and return a
//! [`JoinHandle`]. Name your long-lived threads (`"raft-2-ticker"`): the name
//! appears in panic messages and, later, in deadlock reports.
//!
//! A panic in a thread started here ends the whole process with exit code 101
//! after printing the thread's name, the location and the message on the real
//! stderr (cargo's output capture would otherwise swallow it). That is what
//! Go does for a panicking goroutine, and it is what a student needs: the
//! alternative, a peer that silently lost its ticker thread, shows up minutes
//! later as "expected one leader, got none".

use std::any::Any;
use std::cell::RefCell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// An owned permission to join a thread started by [`spawn`].
#[derive(Debug)]
pub struct JoinHandle<T>(std::thread::JoinHandle<T>);

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result.
    ///
    /// Lab threads never return `Err`: a panic ends the process instead.
    pub fn join(self) -> std::thread::Result<T> {
        self.0.join()
    }

    /// Whether the thread has finished running its closure.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
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
    let mut name = name.into();
    if name.is_empty() {
        name = format!("lab-{}", next_thread_number());
    }
    let inner = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            LAB_THREAD.with(|t| *t.borrow_mut() = Some(name));
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => v,
                // The hook already printed the panic; now end the run, as Go would.
                Err(_) => std::process::exit(101),
            }
        })
        .unwrap_or_else(|e| panic!("labrt: cannot start a thread: {e}"));
    JoinHandle(inner)
}

/// Lets another thread run.
pub fn yield_now() {
    std::thread::yield_now();
}

/// The name of the current thread, if it was started by labrt.
pub fn current_name() -> Option<String> {
    LAB_THREAD.with(|t| t.borrow().clone())
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

fn next_thread_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Lab threads print their panics on the real stderr, because the process
/// exits right after and captured output would be lost; other threads (the
/// test's own) keep the default behaviour, so `#[should_panic]` and cargo's
/// failure report work as usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default_hook = panic::take_hook();
        panic::set_hook(Box::new(move |info| match current_name() {
            Some(name) if !is_caught_by_framework() => report_lab_panic(&name, info),
            _ => default_hook(info),
        }));
    });
}

fn report_lab_panic(name: &str, info: &PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let message = panic_message(info.payload());
    let backtrace = std::backtrace::Backtrace::capture();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "\nthread '{name}' panicked{location}:\n{message}\n\
         (a panic in any lab thread ends the test run, as in Go)"
    );
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        let _ = writeln!(err, "{backtrace}");
    }
}

thread_local! {
    static CAUGHT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn is_caught_by_framework() -> bool {
    CAUGHT.with(|c| c.get() > 0)
}

/// Runs `f`, returning its panic instead of ending the process.
///
/// For framework code that forwards a panic elsewhere: labrpc runs RPC
/// handlers through this and re-raises a handler's panic in the caller,
/// naming the method. The panic hook still prints the original message and
/// location (through cargo's capture, so a failing test shows it).
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CAUGHT.with(|c| c.set(c.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CAUGHT.with(|c| c.set(c.get() - 1));
    result.map_err(|payload| panic_message(&*payload))
}
