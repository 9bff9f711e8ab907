//! What every lab tester shares: its output lines, its way of failing, its
//! time limit.
//!
//! * Output goes straight to the real stdout ([`print_live`]): cargo's test
//!   capture only intercepts `print!` and friends, so a student sees each
//!   `Test (2A): ... ...` title and its `Passed` line as the test runs, as
//!   with `go test`, without `--nocapture`.
//! * A failure is a panic of the test's thread with MIT's message followed
//!   by the seed, `expected one leader, got none (LAB_SEED=123)`, so that
//!   `LAB_SEED=123 cargo test ...` repeats the run ([`fatal!`](crate::fatal)).
//! * A test may take [`TIME_LIMIT`]; a [`Watchdog`] ends the whole process
//!   when one takes longer, so a deadlocked peer cannot hang the run.
//! * The `Passed` line is also the moment the harness signs the grader's
//!   verdict ([`crate::verdict`]).

use std::io::Write;
use std::sync::Once;

use labrpc::{ClientEnd, Name, Network};
use labrt::channel::{self, RecvTimeoutError, Sender};
use labrt::sync::Mutex;
use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::time::{Duration, Instant};

/// How long one test may run, counted from the making of its config.
pub const TIME_LIMIT: Duration = Duration::from_secs(120);

const TIMEOUT_MESSAGE: &str = "test took longer than 120 seconds";

/// Writes `text` to the real stdout at once, past cargo's output capture.
pub fn print_live(text: &str) {
    let mut out = std::io::stdout().lock();
    // Nothing sensible to do if stdout is gone; the test's verdict stands.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Writes `text` to the real stderr at once: for messages printed right
/// before the process exits, which captured output would lose.
pub fn eprint_live(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Prints a test's title line: `Test (2A): initial election ...`.
///
/// It starts on a line of its own: cargo's test runner has just written
/// `test initial_election_2a ... ` without ending its line.
pub fn print_begin(description: &str) {
    crate::verdict::begin();
    print_live(&format!("\n{description} ...\n"));
}

/// Prints the line of a test that passed: `  ... Passed --`, the seconds it
/// took, the number of peers, then `counts`, the lab's own figures already
/// laid out (the Raft tester's are RPCs, bytes and agreements; the KV
/// tester's RPCs and client operations).
///
/// In the simulation (`LAB_SIM=1`) a second line gives the virtual time,
/// the number of scheduling decisions and a hash of them: the same seed
/// must give the same hash. With `LAB_SIM_CHECK=1` the test is run again
/// to check that, and fails at the first decision that differs.
#[track_caller]
pub fn print_passed(elapsed: Duration, peers: usize, counts: &str) {
    let secs = elapsed.as_secs_f64();
    print_passed_as(&format!("  ... Passed --  {secs:4.1}  {peers} {counts}"));
}

/// [`print_passed`] with the line as given: lab 4A's Go tests print
/// `  ... Passed` alone.
#[track_caller]
pub fn print_passed_as(line: &str) {
    print_live(&format!("{line}\n"));
    if let Some(trace) = labrt::sim::trace() {
        print_live(&format!(
            "  ... simulated: {:.1} s virtual, {} steps, trace {:016x} (LAB_SEED={})\n",
            trace.now.as_secs_f64(),
            trace.steps,
            trace.hash,
            labrt::rand::seed()
        ));
        if let Err(divergence) = labrt::sim::check_determinism() {
            fatal(divergence);
        }
    }
    crate::verdict::sign();
}

/// `message` followed by the seed of this run: `... (LAB_SEED=123)`.
pub fn with_seed(message: impl std::fmt::Display) -> String {
    format!("{message} (LAB_SEED={})", labrt::rand::seed())
}

/// Fails the test: panics with `message` and the seed (see [`fatal!`](crate::fatal)).
///
/// On the test's thread this fails the test, like Go's `t.Fatalf`; in a lab
/// thread (an apply-channel reader) it ends the process, like `log.Fatalf`.
#[track_caller]
pub fn fatal(message: impl std::fmt::Display) -> ! {
    panic!("{}", with_seed(message))
}

/// `fatal!("only {} decided for index {}", nd, index)`: fails the test with
/// MIT's message and the seed of the run.
#[macro_export]
macro_rules! fatal {
    ($($arg:tt)+) => {
        $crate::common::fatal(format_args!($($arg)+))
    };
}

/// `n` random characters of base64's URL alphabet, like Go's `randstring`
/// (whose base64 of random bytes makes each character uniform over 64).
pub fn randstring(n: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n)
        .map(|_| char::from(ALPHABET[labrt::rand::random_range(0..ALPHABET.len())]))
        .collect()
}

/// An end to each of servers `0..n` under a new random name, connected
/// but not enabled; and the names (to enable and disable them by).
pub fn fresh_ends(net: &Network, n: usize) -> (Vec<String>, Vec<ClientEnd>) {
    let servers: Vec<Name> = (0..n).map(Name::from).collect();
    fresh_ends_to(net, &servers)
}

/// [`fresh_ends`] to the servers named `servers`: end `j` reaches
/// `servers[j]`.
pub fn fresh_ends_to(net: &Network, servers: &[Name]) -> (Vec<String>, Vec<ClientEnd>) {
    let names: Vec<String> = servers.iter().map(|_| randstring(20)).collect();
    let ends = names
        .iter()
        .zip(servers)
        .map(|(name, server)| {
            let end = net.make_end(name);
            net.connect(name, server.clone());
            end
        })
        .collect();
    (names, ends)
}

/// Warns once per process, as Go's testers do, that one CPU hides races.
pub fn warn_if_one_cpu() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            print_live("warning: only one CPU, which may conceal locking bugs\n");
        }
    });
}

/// How long, in virtual time, a killed peer's threads may keep running: a
/// call it made before the kill may be held by the network for up to
/// [`labrpc::MAX_NETWORK_DELAY`], and the thread that made it then runs to
/// handle the outcome (seen: a heartbeat thread woke 3.5 s after its
/// peer's kill).
pub const KILL_GRACE: Duration = Duration::from_secs(1).saturating_add(labrpc::MAX_NETWORK_DELAY);

/// Checks, in the simulation, that a killed peer stops: the lab rule that
/// every long-running thread checks `killed()`. Each start of a peer tags
/// the threads it starts ([`labrt::sim::tag_threads`]); a kill records when;
/// [`KillCheck::check`] fails the test if any of a killed peer's threads
/// is still alive and ran more than [`KILL_GRACE`] after the kill. Outside
/// the simulation it does nothing.
#[derive(Default)]
pub struct KillCheck {
    /// Tells these peers' threads from other clusters' (lab 4).
    label: String,
    /// Each peer's current tag (empty before its first start).
    tags: Mutex<Vec<String>>,
    /// (tag, peer, when it was killed).
    killed: Mutex<Vec<(String, usize, Instant)>>,
    starts: AtomicU64,
}

impl KillCheck {
    /// A check for peers whose threads' tags begin with `label` (empty for
    /// the only cluster of a test).
    pub fn labelled(label: &str) -> KillCheck {
        KillCheck {
            label: label.to_string(),
            ..KillCheck::default()
        }
    }

    /// Runs `f`, which starts peer `peer`, with its threads tagged.
    pub fn start<R>(&self, peer: usize, f: impl FnOnce() -> R) -> R {
        let n = self.starts.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}peer {peer} (start {n})", self.label);
        {
            let mut tags = self.tags.lock();
            if tags.len() <= peer {
                tags.resize(peer + 1, String::new());
            }
            tags[peer].clone_from(&tag);
        }
        labrt::sim::tag_threads(&tag, f)
    }

    /// Records that peer `peer` was killed just now.
    pub fn killed(&self, peer: usize) {
        let tag = self.tags.lock().get(peer).cloned().unwrap_or_default();
        self.killed.lock().push((tag, peer, Instant::now()));
    }

    /// Fails the test if a killed peer's threads still run.
    #[track_caller]
    pub fn check(&self) {
        for (tag, peer, at) in self.killed.lock().iter() {
            let running = labrt::sim::still_running(tag, *at + KILL_GRACE);
            if !running.is_empty() {
                fatal(format!(
                    "server {peer} was killed {:.1} s ago, but its threads {} still run: a \
                     killed peer's long-running threads must check killed() and return",
                    at.elapsed().as_secs_f64(),
                    running.join(", ")
                ));
            }
        }
    }
}

/// Enforces [`TIME_LIMIT`] on one test.
///
/// Go checks the limit only when a test ends, so a test whose peers
/// deadlock never ends and hangs `go test`. The watchdog's thread instead
/// prints `test took longer than 120 seconds` (and the seed) and ends the
/// process once the limit passes, unless [`Watchdog::stop`] was called or
/// the watchdog dropped first.
pub struct Watchdog {
    start: Instant,
    /// Dropping the sender wakes the watchdog's thread and ends it.
    stop: Mutex<Option<Sender<()>>>,
}

impl Watchdog {
    /// Starts the clock, and the thread that watches it.
    ///
    /// Every lab config starts its watchdog before it starts a peer, so this
    /// is also where the grader's verdict is armed (see [`crate::verdict`]):
    /// before any of the student's code runs.
    pub fn start() -> Watchdog {
        crate::verdict::arm();
        let (stop, stopped) = channel::bounded::<()>(0);
        labrt::thread::spawn_named("tester-watchdog", move || {
            if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TIME_LIMIT) {
                eprint_live(&format!("\n{}\n", with_seed(TIMEOUT_MESSAGE)));
                // In the simulation, say where every thread is stuck.
                if let Some(dump) = labrt::sim::dump("the threads at the time limit") {
                    eprint_live(&dump);
                }
                std::process::exit(1);
            }
        });
        Watchdog {
            start: Instant::now(),
            stop: Mutex::new(Some(stop)),
        }
    }

    /// Fails the test if it has taken longer than the limit (Go's
    /// `checkTimeout`, for a test that ends just past it).
    #[track_caller]
    pub fn check(&self) {
        if self.start.elapsed() > TIME_LIMIT {
            fatal(TIMEOUT_MESSAGE);
        }
    }

    /// Ends the watch: the test is over, even if some of its threads linger.
    pub fn stop(&self) {
        self.stop.lock().take();
    }
}
