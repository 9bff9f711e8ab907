//! The history of a key/value test's clerk operations, and its
//! linearizability check: what lab 3's tester (`kvraft`) and lab 4B's
//! (`shardkv`) share. A test logs each completed operation with its call
//! and return times ([`logged`]) and checks the whole [`OpLog`] at the end
//! ([`check_linearizable`]), which fails with the checker's explanation and
//! the path of its HTML visualization.

use std::sync::LazyLock;

use labrt::sync::{Arc, Mutex};
use labrt::time::{Duration, Instant};
use linearizability::{
    Budget, KvModel, KvOp, KvOperation, SharedReads, SharedStr, check_history, write_kv_history,
};

use crate::common::print_live;
use crate::fatal;

/// Operations are timed from here: a fixed instant of the process
/// (monotonic, as Go's are since 2022).
static T0: LazyLock<Instant> = LazyLock::new(Instant::now);

fn since_t0() -> u64 {
    T0.elapsed().as_nanos() as u64
}

/// The completed operations of a test, for the linearizability check.
/// Clones share the log.
#[derive(Clone, Default)]
pub struct OpLog(Arc<Mutex<Log>>);

/// What an [`OpLog`] holds. A test makes tens of thousands of operations,
/// and each get reads its key's whole value, which grows with every append:
/// copies of all the values read would take memory quadratic in the number
/// of operations. So a get's value goes to [`SharedReads`], which keeps
/// each key's longest value read once, and the get keeps only its length
/// when it can; [`OpLog::take`] makes those outputs views of the key's value.
#[derive(Default)]
struct Log {
    /// Each operation, and for a get kept as a length, that length (its
    /// output's value is left empty until `take`).
    ops: Vec<(KvOperation, Option<usize>)>,
    reads: SharedReads,
}

impl OpLog {
    pub fn new() -> OpLog {
        OpLog::default()
    }

    fn append(&self, mut op: KvOperation) {
        let mut log = self.0.lock();
        let mut kept = None;
        if let (KvOp::Get, Some(output)) = (op.input.op, &mut op.output) {
            kept = log.reads.keep(&op.input.key, &output.value);
            if kept.is_some() {
                output.value = SharedStr::default();
            }
        }
        log.ops.push((op, kept));
    }

    /// The operations logged so far, leaving the log empty: a history holds
    /// every value read, and can be large.
    pub fn take(&self) -> Vec<KvOperation> {
        let Log { ops, reads } = std::mem::take(&mut *self.0.lock());
        let view = reads.into_views();
        ops.into_iter()
            .map(|(mut op, kept)| {
                if let (Some(len), Some(output)) = (kept, &mut op.output) {
                    output.value = view(&op.input.key, len);
                }
                op
            })
            .collect()
    }
}

/// Runs one clerk operation and, if a log is given, logs it: `record` makes
/// the entry from the result and the call and return times. With a
/// timeline (`LAB_TRACE`), the operation is also a span on lane `lane`.
pub(crate) fn logged<T>(
    log: Option<&OpLog>,
    lane: impl FnOnce() -> String,
    op: impl FnOnce() -> T,
    record: impl FnOnce(&T, u64, u64) -> KvOperation,
) -> T {
    let start = since_t0();
    let result = op();
    let end = since_t0();
    let traced = crate::timeline::enabled();
    if log.is_none() && !traced {
        return result;
    }
    let entry = record(&result, start, end);
    if traced {
        let at = |ns: u64| *T0 + Duration::from_nanos(ns);
        let input = &entry.input;
        let (kind, text) = match input.op {
            KvOp::Get => {
                let read = entry.output.as_ref().map_or("", |o| o.value.as_str());
                (0, format!("Get({:?}) -> {read:?}", input.key))
            }
            KvOp::Put => (1, format!("Put({:?}, {:?})", input.key, input.value)),
            KvOp::Append => (2, format!("Append({:?}, {:?})", input.key, input.value)),
        };
        crate::timeline::clerk_op(&lane(), at(start), at(end), kind, &text);
    }
    if let Some(log) = log {
        log.append(entry);
    }
    result
}

/// Fails the test unless the operations logged in `log` are linearizable
/// (or the checker cannot tell within `budget`, and the budget is not
/// strict).
#[track_caller]
pub(crate) fn check_linearizable(log: &OpLog, budget: &Budget) {
    let history = log.take();
    save_history(&history);
    if let Err(failure) = check_history(KvModel, history, budget) {
        fatal!("{failure}");
    }
}

/// With `LAB_SAVE_HISTORY=<dir>`, writes the test's history to
/// `<dir>/<test name>.edn` (the format of porcupine's recorded histories),
/// for the checker's benchmark or a closer look.
fn save_history(history: &[KvOperation]) {
    let Some(dir) = std::env::var_os("LAB_SAVE_HISTORY") else {
        return;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("kvraft")
        .replace("::", "-");
    let path = std::path::Path::new(&dir).join(format!("{test}.edn"));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::File::create(&path))
        .and_then(|file| write_kv_history(history, std::io::BufWriter::new(file)));
    match written {
        Ok(()) => print_live(&format!("info: wrote the history to {}\n", path.display())),
        Err(e) => print_live(&format!("info: cannot write {}: {e}\n", path.display())),
    }
}
