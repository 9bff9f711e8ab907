//! Checking a whole history: validation, partitioning, the parallel driver
//! and its time limit, and what a verbose check returns.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io;
use std::path::Path;

use labrt::sync::atomic::{AtomicUsize, Ordering};
use labrt::sync::{Arc, Mutex};
use labrt::time::{Duration, Instant};

use crate::model::{Model, Operation};
use crate::search::{Prefixes, Search, Verdict};

/// The verdict of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckResult {
    /// The history is linearizable.
    Ok,
    /// The history is not linearizable: no order of its operations both
    /// respects real time and is legal for the model.
    Illegal,
    /// The search reached its time limit (or its memory limit) before it
    /// could decide. Not a pass:
    /// see [`check_history`](crate::check_history) for what the lab tests
    /// do about it.
    Unknown,
}

/// A history the checker refuses, because its verdict would be meaningless.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryError {
    /// No operations at all: the test logged nothing.
    Empty,
    /// An operation returned before it was called.
    ReturnBeforeCall {
        /// Its index in the history.
        index: usize,
        client_id: usize,
        description: String,
        call: u64,
        ret: u64,
    },
    /// A client called an operation before its previous one returned (for
    /// models whose clients are sequential, see
    /// [`Model::SEQUENTIAL_CLIENTS`]).
    ClientOverlap {
        client_id: usize,
        /// The earlier operation: index in the history, description, call
        /// and return times.
        first: (usize, String, u64, u64),
        /// The operation that started while `first` was still running.
        second: (usize, String, u64, u64),
    },
    /// More operations than the checker's 32-bit indices can number.
    TooLarge { operations: usize },
    /// Two calls of an event history have the same id.
    DuplicateCall {
        /// The second call's position among the events.
        position: usize,
        id: usize,
    },
    /// A return of an event history matches no call before it.
    UnmatchedReturn { position: usize, id: usize },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Empty => write!(f, "the history has no operations"),
            HistoryError::ReturnBeforeCall {
                index,
                client_id,
                description,
                call,
                ret,
            } => write!(
                f,
                "operation {index} (client {client_id}, {description}) returns at {ret}, \
                 before its call at {call}"
            ),
            HistoryError::ClientOverlap {
                client_id,
                first,
                second,
            } => write!(
                f,
                "client {client_id} runs two operations at once: operation {} ({}, {}..{}) \
                 starts before operation {} ({}, {}..{}) returned; a client runs one \
                 operation at a time, so the history's timestamps or client ids are wrong",
                second.0, second.1, second.2, second.3, first.0, first.1, first.2, first.3
            ),
            HistoryError::DuplicateCall { position, id } => write!(
                f,
                "event {position} calls an operation with id {id}, which an earlier call has"
            ),
            HistoryError::UnmatchedReturn { position, id } => write!(
                f,
                "event {position} returns id {id}, which no open call before it has"
            ),
            HistoryError::TooLarge { operations } => write!(
                f,
                "the history has {operations} operations, more than the checker can number \
                 ({MAX_OPERATIONS})"
            ),
        }
    }
}

impl std::error::Error for HistoryError {}

/// The most operations a history may have: node numbers (two per
/// operation, plus two sentinels) must fit in a `u32`.
const MAX_OPERATIONS: usize = (u32::MAX as usize - 2) / 2;

/// Checks `history` against `model`, giving up after `timeout` with
/// [`CheckResult::Unknown`]. Stops at the first partition found illegal.
///
/// `None` and `Some(Duration::ZERO)` both mean no time limit, as a zero
/// timeout does in porcupine (the memory limit still applies); a time limit
/// too short to decide anything is `Duration::from_nanos(1)`.
///
/// ```
/// use linearizability::{check_operations, CheckResult, KvModel, KvOperation};
///
/// // Client 1 reads "a" after client 0's put of "a" returned: fine.
/// let ok = vec![
///     KvOperation::put(0, "k", "a", 0, 10),
///     KvOperation::get(1, "k", "a", 20, 30),
/// ];
/// assert_eq!(check_operations(KvModel, ok, None), Ok(CheckResult::Ok));
///
/// // A read that starts after the put returned cannot miss it.
/// let stale = vec![
///     KvOperation::put(0, "k", "a", 0, 10),
///     KvOperation::get(1, "k", "", 20, 30),
/// ];
/// assert_eq!(check_operations(KvModel, stale, None), Ok(CheckResult::Illegal));
/// ```
pub fn check_operations<M: Model>(
    model: M,
    history: Vec<Operation<M::Input, M::Output>>,
    timeout: Option<Duration>,
) -> Result<CheckResult, HistoryError> {
    let checker = Arc::new(Checker::new(model, history)?);
    let all: Vec<usize> = (0..checker.partitions.len()).collect();
    let (outcomes, _) = run(&checker, &all, timeout, false);
    Ok(combine(outcomes.iter().map(|(result, _)| *result)))
}

/// Like [`check_operations`], but checks every partition to the end (or the
/// time limit; once one partition is illegal, the others get 100 ms more,
/// for the report) and returns what the search learned: the material for
/// [`LinearizationInfo::summary`] and the HTML visualization.
pub fn check_operations_verbose<M: Model>(
    model: M,
    history: Vec<Operation<M::Input, M::Output>>,
    timeout: Option<Duration>,
) -> Result<(CheckResult, LinearizationInfo<M>), HistoryError> {
    let checker = Arc::new(Checker::new(model, history)?);
    let mut info = LinearizationInfo {
        results: vec![(CheckResult::Unknown, Prefixes::default()); checker.partitions.len()],
        checker,
        stopped_by: Limit::Time,
    };
    info.recheck_unknown(timeout);
    Ok((info.result(), info))
}

/// Illegal if any partition is, else Unknown if any is, else Ok.
fn combine(results: impl Iterator<Item = CheckResult>) -> CheckResult {
    results.fold(CheckResult::Ok, |acc, r| match (acc, r) {
        (CheckResult::Illegal, _) | (_, CheckResult::Illegal) => CheckResult::Illegal,
        (CheckResult::Unknown, _) | (_, CheckResult::Unknown) => CheckResult::Unknown,
        _ => CheckResult::Ok,
    })
}

/// A validated history, split into partitions, shared with the threads.
pub(crate) struct Checker<M: Model> {
    pub model: M,
    pub history: Vec<Operation<M::Input, M::Output>>,
    pub partitions: Vec<Partition>,
}

/// One partition: its name and its operations (indices into the history,
/// in history order; the search numbers them 0.. in this order).
pub(crate) struct Partition {
    pub name: String,
    pub ops: Vec<usize>,
}

impl<M: Model> Checker<M> {
    fn new(
        model: M,
        history: Vec<Operation<M::Input, M::Output>>,
    ) -> Result<Checker<M>, HistoryError> {
        if history.is_empty() {
            return Err(HistoryError::Empty);
        }
        if history.len() > MAX_OPERATIONS {
            return Err(HistoryError::TooLarge {
                operations: history.len(),
            });
        }
        let checker = Checker {
            partitions: {
                let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
                for (index, op) in history.iter().enumerate() {
                    by_name
                        .entry(model.partition(&op.input))
                        .or_default()
                        .push(index);
                }
                by_name
                    .into_iter()
                    .map(|(name, ops)| Partition { name, ops })
                    .collect()
            },
            model,
            history,
        };
        checker.validate()?;
        Ok(checker)
    }

    fn validate(&self) -> Result<(), HistoryError> {
        if let Some((index, op)) = self
            .history
            .iter()
            .enumerate()
            .find(|(_, op)| op.ret < op.call)
        {
            return Err(HistoryError::ReturnBeforeCall {
                index,
                client_id: op.client_id,
                description: self.describe(index),
                call: op.call,
                ret: op.ret,
            });
        }
        if !M::SEQUENTIAL_CLIENTS {
            return Ok(());
        }
        let mut by_client: HashMap<usize, Vec<usize>> = HashMap::new();
        for (index, op) in self.history.iter().enumerate() {
            by_client.entry(op.client_id).or_default().push(index);
        }
        let mut overlaps: Vec<(usize, usize)> = Vec::new();
        for ops in by_client.values_mut() {
            ops.sort_by_key(|&i| (self.history[i].call, self.history[i].ret));
            overlaps.extend(
                ops.windows(2)
                    .filter(|w| self.history[w[1]].call < self.history[w[0]].ret)
                    .map(|w| (w[0], w[1])),
            );
        }
        // Report the earliest overlap, so the message is the same every run.
        match overlaps.into_iter().min_by_key(|&(_, second)| second) {
            None => Ok(()),
            Some((first, second)) => Err(HistoryError::ClientOverlap {
                client_id: self.history[first].client_id,
                first: self.located(first),
                second: self.located(second),
            }),
        }
    }

    fn located(&self, index: usize) -> (usize, String, u64, u64) {
        let op = &self.history[index];
        (index, self.describe(index), op.call, op.ret)
    }

    /// The model's description of history operation `index`.
    pub fn describe(&self, index: usize) -> String {
        let op = &self.history[index];
        self.model.describe_operation(&op.input, op.output.as_ref())
    }

    /// Partition `p`'s operations, numbered as the search numbers them.
    pub fn ops(&self, p: usize) -> Vec<&Operation<M::Input, M::Output>> {
        self.partitions[p]
            .ops
            .iter()
            .map(|&i| &self.history[i])
            .collect()
    }
}

/// How many steps a search takes before its thread turns to the next
/// partition (a millisecond or two). Every partition progresses, as
/// porcupine's goroutines all do in Go, so a hard one cannot hold up easy
/// ones that may settle the verdict; and a stop takes effect within a slice.
/// (Shorter slices cost more in cache misses, longer ones delay the easy
/// partitions: this length measured best on the recorded histories.)
const SLICE: u32 = 16384;

/// The caller checks alone at first, and starts helper threads only after
/// this long: handing work to a thread costs tens of microseconds, more than
/// checking a small history.
const HELPERS_AFTER: Duration = Duration::from_millis(1);

/// In a verbose check, how long the other partitions may go on once one is
/// found illegal. The verdict is known; a little more time lets the quick
/// ones finish for the report, without waiting out the hard ones.
const GRACE: Duration = Duration::from_millis(100);

/// The memory the searches of one check may hold together (as they
/// estimate it); reaching it stops them all, as the deadline would. A
/// search can take a hundred megabytes a second, and a retry with a longer
/// time limit must not exhaust the machine.
const MAX_MEMORY: usize = 1 << 30;

/// When a check that started at `start` stops: never for no time limit,
/// which a zero `timeout` means too (see [`check_operations`]).
fn deadline(start: Instant, timeout: Option<Duration>) -> Option<Instant> {
    timeout
        .filter(|t| !t.is_zero())
        .and_then(|t| start.checked_add(t))
}

/// The environment variable that sets how many threads a check uses (the
/// caller's included): a number from 1.
pub const THREADS_ENV: &str = "LAB_LINEARIZABILITY_THREADS";

/// How many threads a check uses in the simulation unless [`THREADS_ENV`]
/// says otherwise.
const SIM_THREADS: usize = 2;

/// How many threads a check uses: [`THREADS_ENV`] if set; else, in labrt's
/// simulation, [`SIM_THREADS`]; else one per core.
///
/// In the simulation the helpers are simulated threads whose turns the
/// seed decides: their number is part of the schedule, so it must not come
/// from the machine, or a seed would replay differently on another one.
/// (The cores are asked only when needed, and only once the check runs
/// long enough to want helpers: the cgroup files it reads take a good part
/// of checking a small history.)
fn threads() -> usize {
    threads_for(
        labrt::sim::enabled(),
        std::env::var(THREADS_ENV).ok().as_deref(),
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
    )
}

fn threads_for(simulated: bool, setting: Option<&str>, cores: impl FnOnce() -> usize) -> usize {
    match setting.map(str::trim) {
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => panic!("{THREADS_ENV} must be a number from 1, got {n:?}"),
        },
        None if simulated => SIM_THREADS,
        None => cores(),
    }
}

/// Checks the partitions `which` and returns their results in the same
/// order, with the prefixes kept if `record`.
///
/// The partitions' searches take turns in slices of [`SLICE`] steps, on
/// the calling thread and, once the check has taken [`HELPERS_AFTER`], on
/// helper threads, up to [`threads`] in all. They stop at the deadline, at
/// [`MAX_MEMORY`], and once one partition is illegal: at once if not
/// `record` (the verdict is known), else after [`GRACE`]. The [`Limit`]
/// returned says which of these stopped them.
///
/// A partition that finishes counts, even after the deadline (its verdict is
/// real); one that was stopped is Unknown.
fn run<M: Model>(
    checker: &Arc<Checker<M>>,
    which: &[usize],
    timeout: Option<Duration>,
    record: bool,
) -> (Vec<(CheckResult, Prefixes)>, Limit) {
    let start = Instant::now();
    let work = Arc::new(Work {
        queue: Mutex::new(which.iter().map(|&p| Turn { p, search: None }).collect()),
        stop: Mutex::new((deadline(start, timeout), Limit::Time)),
        memory: AtomicUsize::new(0),
        record,
    });
    let mut done = Vec::new();
    let mut helpers = Vec::new();
    let mut helped = false;
    while work.step(checker, &mut done) {
        if !helped && start.elapsed() >= HELPERS_AFTER {
            helped = true;
            helpers = (1..threads().min(which.len()))
                .map(|i| {
                    let (checker, work) = (Arc::clone(checker), Arc::clone(&work));
                    labrt::thread::spawn_named(format!("linearizability-{i}"), move || {
                        let mut done = Vec::new();
                        while work.step(&checker, &mut done) {}
                        done
                    })
                })
                .collect();
        }
    }
    for helper in helpers {
        let theirs = helper.join();
        done.extend(theirs.expect("labrt ends the process when a thread panics"));
    }
    let mut by_partition: HashMap<usize, (CheckResult, Prefixes)> = done.into_iter().collect();
    let results = which
        .iter()
        .map(|p| {
            by_partition
                .remove(p)
                .expect("every partition ends checked or stopped")
        })
        .collect();
    let stopped_by = work.stop.lock().1;
    (results, stopped_by)
}

/// The searches of one run, shared by its threads.
struct Work<M: Model> {
    /// The partitions whose search goes on, in turn.
    queue: Mutex<VecDeque<Turn<M::State>>>,
    /// When every search stops, and why: at the deadline, or earlier once
    /// the verdict is known or the memory is used up.
    stop: Mutex<(Option<Instant>, Limit)>,
    /// The memory of the searches under way.
    memory: AtomicUsize,
    record: bool,
}

/// A partition waiting for its turn, with its search (`None` until it
/// starts).
struct Turn<S> {
    p: usize,
    search: Option<Search<S>>,
}

impl<M: Model> Work<M> {
    /// Runs the next search in turn for one slice, and puts it back unless
    /// it ended. False when no search is left.
    fn step(&self, checker: &Checker<M>, done: &mut Vec<(usize, (CheckResult, Prefixes))>) -> bool {
        let Some(Turn { p, search }) = self.queue.lock().pop_front() else {
            return false;
        };
        let ops = checker.ops(p);
        // What the search held when it last counted (nothing, if new).
        let (mut search, before) = match search {
            Some(search) => {
                let held = search.memory();
                (search, held)
            }
            None => (Search::new(&checker.model, &ops, self.record), 0),
        };
        let stopped = self.stop.lock().0.is_some_and(|t| Instant::now() >= t);
        let verdict = if stopped {
            None
        } else {
            search.run(&checker.model, &ops, SLICE)
        };
        let grown = search.memory() - before;
        if self.memory.fetch_add(grown, Ordering::Relaxed) + grown > MAX_MEMORY {
            self.stop_by(Instant::now(), Limit::Memory);
        }
        if verdict.is_none() && !stopped {
            self.queue.lock().push_back(Turn {
                p,
                search: Some(search),
            });
            return true;
        }
        let result = match verdict {
            Some(Verdict::Linearizable) => CheckResult::Ok,
            Some(Verdict::Illegal) => {
                let grace = if self.record { GRACE } else { Duration::ZERO };
                self.stop_by(Instant::now() + grace, Limit::Verdict);
                CheckResult::Illegal
            }
            None => CheckResult::Unknown,
        };
        self.memory.fetch_sub(search.memory(), Ordering::Relaxed);
        done.push((p, (result, search.into_prefixes(verdict))));
        true
    }

    /// Makes every search stop at `at`, for `why`, unless they stop earlier.
    fn stop_by(&self, at: Instant, why: Limit) {
        let mut stop = self.stop.lock();
        if stop.0.is_none_or(|t| at < t) {
            *stop = (Some(at), why);
        }
    }
}

/// Why a check left partitions Unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The time limit.
    Time,
    /// The memory limit ([`MAX_MEMORY`]): more time would not help.
    Memory,
    /// Another partition is illegal, so the verdict was known.
    Verdict,
}

/// What a verbose check learned: each partition's verdict and the longest
/// linearizable prefixes the search found, for the text
/// [`summary`](Self::summary) and the [HTML visualization](Self::to_html).
pub struct LinearizationInfo<M: Model> {
    pub(crate) checker: Arc<Checker<M>>,
    /// For each partition, its verdict and prefixes.
    pub(crate) results: Vec<(CheckResult, Prefixes)>,
    /// Why the last check left partitions Unknown.
    pub(crate) stopped_by: Limit,
}

impl<M: Model> LinearizationInfo<M> {
    /// The verdict for the whole history.
    pub fn result(&self) -> CheckResult {
        combine(self.results.iter().map(|(result, _)| *result))
    }

    /// The checked history.
    pub fn history(&self) -> &[Operation<M::Input, M::Output>] {
        &self.checker.history
    }

    /// Each partition's name (in sorted order) and verdict.
    pub fn partition_results(&self) -> Vec<(&str, CheckResult)> {
        let names = self.checker.partitions.iter().map(|p| p.name.as_str());
        names.zip(self.results.iter().map(|(r, _)| *r)).collect()
    }

    /// For each partition, the distinct linearizable prefixes found, longest
    /// first, as indices into the history: for a linearizable partition its
    /// full linearization; otherwise, for each operation, the longest prefix
    /// that contains it (porcupine's partial linearizations).
    pub fn partial_linearizations(&self) -> Vec<Vec<Vec<usize>>> {
        let parts = self.checker.partitions.iter().zip(&self.results);
        parts
            .map(|(partition, (_, prefixes))| {
                let mut all: Vec<Vec<usize>> = prefixes
                    .prefixes
                    .iter()
                    .map(|prefix| {
                        prefix
                            .iter()
                            .map(|&op| partition.ops[op as usize])
                            .collect()
                    })
                    .collect();
                all.sort_by_key(|prefix| std::cmp::Reverse(prefix.len()));
                all
            })
            .collect()
    }

    /// Writes the HTML visualization to `path`.
    pub fn write_html(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.to_html())
    }

    /// Checks again, with a time limit of `timeout`, the partitions whose
    /// verdict is Unknown (all of them at first), keeping what they learn.
    pub(crate) fn recheck_unknown(&mut self, timeout: Option<Duration>) {
        let unknown = self.unknown_partitions();
        let (fresh, stopped_by) = run(&self.checker, &unknown, timeout, true);
        self.stopped_by = stopped_by;
        for (p, outcome) in unknown.into_iter().zip(fresh) {
            // A stopped search may have got less far than the last one.
            if outcome.0 != CheckResult::Unknown
                || outcome.1.best().len() >= self.results[p].1.best().len()
            {
                self.results[p] = outcome;
            }
        }
    }

    /// The partitions whose verdict is Unknown.
    pub(crate) fn unknown_partitions(&self) -> Vec<usize> {
        (0..self.results.len())
            .filter(|&p| self.results[p].0 == CheckResult::Unknown)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_decides_the_threads_only_outside_the_simulation() {
        let host = |n: usize| move || n;
        // Outside the simulation: one per core, unless set.
        assert_eq!(threads_for(false, None, host(1)), 1);
        assert_eq!(threads_for(false, None, host(64)), 64);
        assert_eq!(threads_for(false, Some("3"), host(64)), 3);
        // In it, the number never depends on the machine: a seed's schedule
        // (which thread runs at each step) is the same on any host. Forcing
        // 1 or 4 gives other schedules, each the same on every host.
        for cores in [1, 2, 4, 64] {
            let never = || -> usize { panic!("the simulation asked the host") };
            assert_eq!(threads_for(true, None, never), SIM_THREADS, "{cores}");
            assert_eq!(threads_for(true, Some("1"), host(cores)), 1);
            assert_eq!(threads_for(true, Some(" 4 "), host(cores)), 4);
        }
    }

    #[test]
    #[should_panic(expected = "LAB_LINEARIZABILITY_THREADS must be a number from 1, got \"0\"")]
    fn zero_threads_is_refused() {
        threads_for(true, Some("0"), || 1);
    }

    #[test]
    fn a_zero_timeout_means_no_limit() {
        let now = Instant::now();
        assert_eq!(deadline(now, None), None);
        assert_eq!(deadline(now, Some(Duration::ZERO)), None);
        assert_eq!(
            deadline(now, Some(Duration::from_secs(1))),
            Some(now + Duration::from_secs(1))
        );
    }
}
