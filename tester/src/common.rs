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
//! * A lab's config is a [`Handle`] on state its threads share, torn down
//!   (Go's `cleanup`) when the last handle goes or a failing test drops one.

use std::io::Write;
use std::sync::Once;

use labrpc::{ClientEnd, Name, Network};
use labrt::channel::{self, RecvTimeoutError, Sender};
use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::sync::{Arc, Mutex, Weak};
use labrt::thread_group::Group;
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
    print_begin_as(&format!("{description} ..."));
}

/// [`print_begin`] with the line as given: some of lab 4B's Go titles have
/// no space before the dots (`Test: unreliable 1...`).
pub fn print_begin_as(line: &str) {
    crate::verdict::begin();
    print_live(&format!("\n{line}\n"));
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
            "  ... simulated: {:.1} s virtual, {} steps, trace {:016x} ({})\n",
            trace.now.as_secs_f64(),
            trace.steps,
            trace.hash,
            labrt::sim::replay_env()
        ));
        if let Err(divergence) = labrt::sim::check_determinism() {
            fatal(divergence);
        }
    }
    if labrt::discipline::warning().is_some() {
        if labrt::discipline::strict() {
            fatal(
                "the test passed, but labrt's lock-discipline check found problems, and \
                 LAB_STRICT=1 makes them failures",
            );
        }
        if let Some(block) = labrt::discipline::warning() {
            print_live(&block);
        }
    }
    crate::verdict::sign();
}

/// The lock-discipline findings of this test (see [`labrt::discipline`]),
/// as a block to end a failure message with; empty if there are none.
fn discipline_block() -> String {
    labrt::discipline::warning().map_or(String::new(), |block| format!("\n{block}"))
}

/// `message` followed by the seed of this run: `... (LAB_SEED=123)`, and in
/// the simulation on a machine of another speed than the default, that
/// speed too, which the seed needs to be the same run:
/// `... (LAB_SIM_STEP=50us LAB_SEED=123)`.
pub fn with_seed(message: impl std::fmt::Display) -> String {
    format!("{message} ({})", labrt::sim::replay_env())
}

/// Fails the test: panics with `message` and the seed (see [`fatal!`](crate::fatal)).
///
/// On the test's thread this fails the test, like Go's `t.Fatalf`; in a lab
/// thread (an apply-channel reader) it ends the process, like `log.Fatalf`.
#[track_caller]
pub fn fatal(message: impl std::fmt::Display) -> ! {
    panic!("{}{}", with_seed(message), discipline_block())
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

/// How late after its peer's kill a thread may still wake from a timer
/// and go on waiting (its time in labrpc calls not counted): one nap
/// between two checks of `killed()`, an election timeout at most. Later,
/// it is a straggler (`labrt::thread_group`), reported after the test in both
/// modes (`LAB_STRICT=1`: a failure).
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// In the simulation, a straggler this late fails the test even without
/// `LAB_STRICT`: the simulation's kill check has always failed a peer that
/// ran on this long, and a seed replays it.
pub const KILL_LIMIT: Duration = Duration::from_secs(1).saturating_add(labrpc::MAX_NETWORK_DELAY);

/// Checks that a killed peer stops: the lab rule that every long-running
/// thread checks `killed()`. Each start of a peer is a `labrt::thread_group::Group`
/// (the threads it starts are members); a kill stops the group;
/// [`KillCheck::check`] reports the members that still ran afterwards.
///
/// A group's label holds the peer's name on the network, so that the
/// clusters of one network (lab 4's controllers and three groups, each with
/// its own `KillCheck`) never share one.
#[derive(Default)]
pub struct KillCheck {
    /// Each peer's current group (`None` before its first start).
    groups: Mutex<Vec<Option<Started>>>,
    /// The groups stopped, with how messages call their peer.
    killed: Mutex<Vec<(Arc<Group>, String, Instant)>>,
    starts: AtomicU64,
}

/// A start of a peer: its group, and how messages call the peer.
type Started = (Arc<Group>, String);

impl KillCheck {
    /// Runs `f`, which starts peer `peer`, called `name` on the network,
    /// with the threads it starts in a group of their own.
    pub fn start<R>(&self, peer: usize, name: &Name, f: impl FnOnce() -> R) -> R {
        let n = self.starts.fetch_add(1, Ordering::Relaxed);
        let label = server_label(name);
        let group = Group::new(format!("{label} (start {n})"));
        {
            let mut groups = self.groups.lock();
            if groups.len() <= peer {
                groups.resize(peer + 1, None);
            }
            groups[peer] = Some((group.clone(), label));
        }
        group.run(f)
    }

    /// Records that peer `peer` was killed just now.
    pub fn killed(&self, peer: usize) {
        let started = self.groups.lock().get(peer).cloned().flatten();
        if let Some((group, label)) = started {
            group.stop();
            self.killed.lock().push((group, label, Instant::now()));
        }
    }

    /// Reports the killed peers' threads that still ran (see [`KILL_GRACE`]);
    /// in the simulation, fails the test for one later than [`KILL_LIMIT`].
    #[track_caller]
    pub fn check(&self) {
        for (group, label, at) in self.killed.lock().iter() {
            let stragglers = group.check(KILL_GRACE);
            let late: Vec<&str> = stragglers
                .iter()
                .filter(|s| s.late > KILL_LIMIT)
                .map(|s| s.thread.as_str())
                .collect();
            if labrt::sim::enabled() && !late.is_empty() {
                fatal(format!(
                    "{label} was killed {:.1} s ago, but its threads {} still run: a killed \
                     peer's long-running threads must check killed() and return",
                    at.elapsed().as_secs_f64(),
                    group_thread_names(&late).join(", ")
                ));
            }
        }
    }
}

/// How failure messages call a server: `server 2` for labs 2 and 3, whose
/// servers are numbered; lab 4's by their names, `server-101-2`.
fn server_label(name: &Name) -> String {
    match name {
        Name::Int(i) => format!("server {i}"),
        Name::Str(s) => s.clone(),
    }
}

/// Thread names for a message, grouped: the names that differ only in a
/// trailing number (`raft-4-vote-17`, `raft-4-vote-3`, ...) as their pattern
/// and count, `raft-4-vote-* (28)`; a name repeated as itself and its count,
/// `labrpc-handler (3)`; a name alone of its kind as it is. Groups come in
/// the order of their first name. A peer that ignores `killed()` can leave
/// hundreds of threads of a few kinds, and the kinds are what tell the bug.
pub fn group_thread_names<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    // (pattern, first name, whether every name is the first, count)
    let mut groups: Vec<(String, &str, bool, usize)> = Vec::new();
    for name in names {
        let name = name.as_ref();
        let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let pattern = if stem.is_empty() || stem.len() == name.len() {
            name.to_string()
        } else {
            format!("{stem}*")
        };
        match groups.iter_mut().find(|g| g.0 == pattern) {
            Some(group) => {
                group.2 &= group.1 == name;
                group.3 += 1;
            }
            None => groups.push((pattern, name, true, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(pattern, first, same, count)| match (count, same) {
            (1, _) => first.to_string(),
            (_, true) => format!("{first} ({count})"),
            (_, false) => format!("{pattern} ({count})"),
        })
        .collect()
}

/// What a lab's config does when its test ends: Go's `cleanup` (kill every
/// server, shut the network), under the watchdog's [`CLEANUP_LIMIT`]
/// ([`Watchdog::cleanup`]). It must be idempotent.
pub trait Teardown {
    fn teardown(&self);
}

/// A lab's config: a handle on the state it shares with the threads it
/// starts (clerks hold one), which derefs to that state. The last handle
/// to go tears the test down; a handle dropped by a failing test (its
/// thread panicking) tears it down at once, so that the peers stop before
/// the failure is reported, whoever still holds a handle.
pub struct Handle<T: Teardown>(Arc<Torn<T>>);

/// The shared state, torn down when the last handle drops it.
struct Torn<T: Teardown>(T);

impl<T: Teardown> Handle<T> {
    /// The first handle on a test's `state`.
    pub fn new(state: T) -> Handle<T> {
        Handle(Arc::new(Torn(state)))
    }

    /// A handle that does not keep the test going (a poller's).
    pub fn downgrade(&self) -> WeakHandle<T> {
        WeakHandle(Arc::downgrade(&self.0))
    }
}

/// See [`Handle::downgrade`].
pub struct WeakHandle<T: Teardown>(Weak<Torn<T>>);

impl<T: Teardown> WeakHandle<T> {
    /// A handle again, while another one lives.
    pub fn upgrade(&self) -> Option<Handle<T>> {
        self.0.upgrade().map(Handle)
    }
}

impl<T: Teardown> Clone for Handle<T> {
    fn clone(&self) -> Handle<T> {
        Handle(self.0.clone())
    }
}

impl<T: Teardown> std::ops::Deref for Handle<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.0
    }
}

impl<T: Teardown> Drop for Handle<T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.0.teardown();
        }
    }
}

impl<T: Teardown> Drop for Torn<T> {
    fn drop(&mut self) {
        self.0.teardown();
    }
}

/// Enforces [`TIME_LIMIT`] on one test, and [`CLEANUP_LIMIT`] on its
/// cleanup.
///
/// Go checks the limit only when a test ends, so a test whose peers
/// deadlock never ends and hangs `go test`. The watchdog's thread instead
/// prints `test took longer than 120 seconds` (and the seed) and ends the
/// process once the limit passes, unless the test's cleanup began first
/// ([`Watchdog::cleanup`]). It then reports where every thread waits: the
/// simulation's report, or on real threads labrt's thread dump
/// ([`labrt::discipline::dump`], what Ctrl-\ prints too) followed by the
/// command that runs the test in the simulation ([`sim_command`]), and
/// exits with status 2 as Go does. The cleanup kills the servers, which
/// runs the student's `kill()`: one that waits for a lock held for ever
/// (or by a thread that holds it across RPCs, behind ever more threads that
/// want it) would hang the run after the test's own verdict, so the
/// cleanup gets a limit of its own, reported the same way.
pub struct Watchdog {
    start: Instant,
    /// A message says the cleanup began; dropping the sender says it ended,
    /// and ends the watchdog's thread.
    stop: Mutex<Option<Sender<()>>>,
}

/// The last panic of a test's own thread (not a lab thread's, which ends
/// the process at once), as `thread 'name' panicked at file:line: message`:
/// libtest prints a failure only when its test ends, so a cleanup that
/// hangs after one would take it with the process.
///
/// std's lock, not labrt's: a panic hook must not be a scheduling point.
#[allow(clippy::disallowed_types)]
static TEST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Keeps each test thread's panic in [`TEST_PANIC`] (forgetting the last
/// test's), then lets the hooks before it (labrt's, std's) report it as
/// usual.
fn record_test_panics() {
    *TEST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = None;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if labrt::thread::current_name().is_none() {
                let name = std::thread::current().name().unwrap_or("main").to_string();
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()));
                let message = labrt::thread::panic_message(info.payload());
                *TEST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
                    "thread '{name}' panicked{}:\n{message}",
                    at.unwrap_or_default()
                ));
            }
            previous(info);
        }));
    });
}

/// See [`TEST_PANIC`].
fn test_panic() -> Option<String> {
    TEST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// How long a test's cleanup (killing its servers, shutting the network)
/// may take: more than the longest a `kill()` that waits for its lock can
/// legitimately wait, behind an RPC call made under it (labrpc's longest
/// delay, 7 s).
pub const CLEANUP_LIMIT: Duration = Duration::from_secs(10);

const CLEANUP_MESSAGE: &str = "the test's cleanup (killing the servers, which calls their kill(), \
     and shutting the network) took longer than 10 seconds";

impl Watchdog {
    /// Starts the clock, and the thread that watches it.
    ///
    /// Every lab config starts its watchdog before it starts a peer, so this
    /// is also where the grader's verdict is armed (see [`crate::verdict`]):
    /// before any of the student's code runs.
    pub fn start() -> Watchdog {
        crate::verdict::arm();
        // A test's lock-discipline findings are its own.
        labrt::discipline::reset();
        // Ctrl-\ (SIGQUIT) prints every lab thread's wait, as in Go.
        labrt::discipline::dump_on_sigquit();
        record_test_panics();
        let (stop, stopped) = channel::bounded::<()>(1);
        // libtest names a test's thread after the test; the watchdog's own
        // thread is named otherwise.
        let test = std::thread::current()
            .name()
            .filter(|&name| name != "main")
            .map(str::to_string);
        labrt::thread::spawn_named("tester-watchdog", move || {
            let (message, limit) = match stopped.recv_timeout(TIME_LIMIT) {
                Err(RecvTimeoutError::Timeout) => (TIMEOUT_MESSAGE, "time limit"),
                Err(RecvTimeoutError::Disconnected) => return,
                // The cleanup began.
                Ok(()) => match stopped.recv_timeout(CLEANUP_LIMIT) {
                    Err(RecvTimeoutError::Timeout) => (CLEANUP_MESSAGE, "cleanup's limit"),
                    _ => return,
                },
            };
            // The first line is MIT's message (scripts grep for it).
            eprint_live(&format!("\n{}\n", with_seed(message)));
            // A hung test's timeline is the one that most needs writing.
            crate::timeline::fail_all(&with_seed(message));
            // A cleanup after a failure: libtest would print the failure
            // (with the lock-discipline findings, if the tester's) when the
            // test ends, which it never will.
            match test_panic() {
                Some(failure) => eprint_live(&format!("the test had failed: {failure}\n")),
                None => eprint_live(&discipline_block()),
            }
            // Say where every thread is stuck: the simulation's report, or
            // on real threads labrt's dump (as Go's SIGQUIT), then how to
            // replay it in the simulation.
            if let Some(dump) = labrt::sim::dump(&format!("the threads at the {limit}")) {
                eprint_live(&dump);
                std::process::exit(1);
            }
            eprint_live(&labrt::discipline::dump(&format!(
                "the threads at the {limit}, what each waits for and where, and the locks each \
                 holds:"
            )));
            eprint_live(&sim_hint(labrt::rand::seed(), test.as_deref()));
            std::process::exit(2);
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

    /// Runs the test's `cleanup` (Go's: kill every server, shut the network)
    /// under [`CLEANUP_LIMIT`], then ends the watch: the test is over, even
    /// if some of its threads linger. Once ended, it runs `cleanup` unwatched
    /// (teardown is idempotent).
    pub fn cleanup(&self, cleanup: impl FnOnce()) {
        if let Some(stop) = &*self.stop.lock() {
            // Room for one: never blocks, and a second is not needed.
            let _ = stop.try_send(());
        }
        cleanup();
        self.stop.lock().take();
    }
}

/// What the watchdog adds on real threads: how to see, in the simulation,
/// who waits for what at the limit.
fn sim_hint(seed: u64, test: Option<&str>) -> String {
    let command = sim_command(seed, test, &this_binary_suite());
    let stress = test.unwrap_or("<test>");
    format!(
        "to see who waits for what, run the test in the simulation, which reports every \
         thread's wait at the limit:\n  {command}\n(a seed is not the same run there as on \
         real threads; if the test passes there, try more seeds: make stress TESTS={stress} \
         SIM=1 N=100)\n"
    )
}

/// The command that runs `test` (or `<test>` if unknown) with `seed` in the
/// simulation: `LAB_SIM=1 LAB_SEED=7 cargo test -p raft --test raft_test --
/// --exact backup_2b` when `suite` (package, target) is known, else through
/// `make test-one`, which finds the suite itself.
pub fn sim_command(seed: u64, test: Option<&str>, suite: &Option<(String, String)>) -> String {
    let test = test.unwrap_or("<test>");
    match suite {
        Some((package, target)) => format!(
            "LAB_SIM=1 LAB_SEED={seed} cargo test -p {package} --test {target} -- --exact {test}"
        ),
        None => format!("LAB_SIM=1 LAB_SEED={seed} make test-one T={test}"),
    }
}

/// The package and test target of the running test binary: the package from
/// `CARGO_PKG_NAME` (cargo sets it when it runs a test) or else the
/// `Cargo.toml` of the current directory (cargo, dstest and the grader run
/// a test in its package's directory); the target from the executable's
/// name, `raft_test-<hash>`.
fn this_binary_suite() -> Option<(String, String)> {
    let package = std::env::var("CARGO_PKG_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            let manifest = std::fs::read_to_string("Cargo.toml").ok()?;
            package_name(&manifest)
        })?;
    let exe = std::env::current_exe().ok()?;
    let target = target_of_executable(exe.file_name()?.to_str()?);
    Some((package, target.to_string()))
}

/// The `name` of the `[package]` table of a Cargo.toml.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some(value) = line.strip_prefix("name")
            && let Some(value) = value.trim_start().strip_prefix('=')
        {
            return Some(value.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    None
}

/// A test target's name from its executable's, which cargo suffixes with
/// `-` and a 16-digit hash: `raft_test-0123456789abcdef` is `raft_test`.
fn target_of_executable(file_name: &str) -> &str {
    let stem = file_name.strip_suffix(".exe").unwrap_or(file_name);
    match stem.rsplit_once('-') {
        Some((target, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            target
        }
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_group_by_their_trailing_number() {
        let mut names = vec!["raft-4-ticker".to_string()];
        names.extend((0..28).map(|i| format!("raft-4-vote-{}", i % 5)));
        names.extend(["labrpc-handler"; 3].map(String::from));
        names.push("raft-4-applier".to_string());
        names.push("raft-4-append-2".to_string());
        names.extend(["kv-1-applier-7"; 2].map(String::from));
        names.push("42".to_string());
        assert_eq!(
            group_thread_names(&names),
            [
                "raft-4-ticker",
                "raft-4-vote-* (28)",
                "labrpc-handler (3)",
                "raft-4-applier",
                "raft-4-append-2",
                "kv-1-applier-7 (2)",
                "42",
            ]
        );
        assert!(group_thread_names::<&str>(&[]).is_empty());
        // `raft-4` and `raft-12` share the pattern `raft-*`.
        assert_eq!(group_thread_names(&["raft-4", "raft-12"]), ["raft-* (2)"]);
    }

    #[test]
    fn the_sim_command_names_the_suite_when_known() {
        let suite = Some(("raft".to_string(), "raft_test".to_string()));
        assert_eq!(
            sim_command(7, Some("backup_2b"), &suite),
            "LAB_SIM=1 LAB_SEED=7 cargo test -p raft --test raft_test -- --exact backup_2b"
        );
        assert_eq!(
            sim_command(7, None, &None),
            "LAB_SIM=1 LAB_SEED=7 make test-one T=<test>"
        );
        assert_eq!(
            target_of_executable("raft_test-0123456789abcdef"),
            "raft_test"
        );
        assert_eq!(target_of_executable("hardening_test"), "hardening_test");
        assert_eq!(target_of_executable("my-test-1"), "my-test-1");
        let manifest = "[workspace]\nname = \"no\"\n[package]\nnamed = 1\nname = \"kvraft\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("kvraft"));
        assert_eq!(package_name("[workspace]\n"), None);
        let hint = sim_hint(3, Some("backup_2b"));
        assert!(hint.contains("make stress TESTS=backup_2b SIM=1"), "{hint}");
    }
}
