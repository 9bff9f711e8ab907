//! What the lab testers call: one check with a time budget that grows
//! before it gives up, a visible warning when it does, and a failure that
//! explains itself.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use labrt::time::{Duration, Instant};

use crate::check::{CheckResult, HistoryError, Limit, LinearizationInfo, check_operations_verbose};
use crate::model::{Model, Operation};

/// The environment variable that makes an undecided check fail the test.
pub const STRICT_ENV: &str = "LAB_LINEARIZABILITY_STRICT";

/// How long [`check_history`] may search, and what an undecided check means.
///
/// A zero duration means no time limit, as in
/// [`check_operations`](crate::check_operations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The time limit of the first check (MIT's `linearizabilityCheckTimeout`).
    pub first: Duration,
    /// Each retry's limit is the previous one times this (below 2: no
    /// retry)...
    pub growth: u32,
    /// ...up to this limit, after which the check gives up.
    pub max: Duration,
    /// Whether a check that stays undecided fails (otherwise it passes with
    /// a warning, as MIT's tests pass a timed-out check).
    pub strict: bool,
}

impl Default for Budget {
    /// 1 s, then 4 s, then 16 s (21 s at most, well inside a lab test's
    /// 120 s), strict iff `LAB_LINEARIZABILITY_STRICT=1`.
    fn default() -> Budget {
        Budget {
            first: Duration::from_secs(1),
            growth: 4,
            max: Duration::from_secs(16),
            strict: std::env::var(STRICT_ENV).is_ok_and(|v| v == "1"),
        }
    }
}

/// A history that passed [`check_history`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// It is linearizable.
    Linearizable,
    /// The search gave up on these partitions (named as the model
    /// describes them); the warning was printed. Only without
    /// [`Budget::strict`].
    Unknown { partitions: Vec<String> },
}

/// Why [`check_history`] failed; its `Display` is the whole message for the
/// test's failure.
#[derive(Debug)]
pub enum Failure {
    /// The history itself is broken (see [`HistoryError`]).
    BadHistory(HistoryError),
    /// The history is not linearizable.
    NotLinearizable {
        /// The text explanation ([`LinearizationInfo::summary`]).
        summary: String,
        /// The HTML visualization's path, or why it could not be written.
        visualization: Result<PathBuf, String>,
    },
    /// The search gave up within the budget, and the budget is strict.
    Unknown {
        partitions: Vec<String>,
        /// The limit that stopped the last attempt: "time" or "memory".
        limit: &'static str,
        /// Time spent searching, over all attempts.
        spent: Duration,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::BadHistory(e) => write!(f, "cannot check linearizability: {e}"),
            Failure::NotLinearizable {
                summary,
                visualization,
            } => {
                writeln!(f, "history is not linearizable\n{}", summary.trim_end())?;
                match visualization {
                    Ok(path) => {
                        write!(f, "info: wrote history visualization to {}", path.display())
                    }
                    Err(e) => write!(f, "info: failed to write history visualization: {e}"),
                }
            }
            Failure::Unknown {
                partitions,
                limit,
                spent,
            } => write!(
                f,
                "linearizability check reached its {limit} limit on {} after {spent:.1?} of \
                 searching, and {STRICT_ENV}=1 makes that a failure",
                partitions.join(", ")
            ),
        }
    }
}

impl std::error::Error for Failure {}

/// Checks a lab test's history: the one call a tester makes.
///
/// Searches with a time limit of `budget.first`. If that leaves partitions
/// undecided, checks those again (only those) with a limit `budget.growth`
/// times larger, up to `budget.max`, printing an `info:` line for each
/// retry. A history that stays undecided passes with a `warning:` line, or
/// fails if `budget.strict`. The lines go to the real stdout, past cargo's
/// output capture, like the testers' `Passed` lines: a passing test's
/// captured output is never shown.
///
/// A history that is not linearizable fails with the text summary and the
/// path of an HTML visualization, written to [`output_dir`](crate::output_dir)
/// (`LAB_OUTPUT_DIR`, else the workspace's `target/linearizability/`), which
/// keeps the last `LAB_HTML_MAX` pages (20).
///
/// ```
/// use linearizability::{check_history, Budget, Checked, KvModel, KvOperation};
///
/// let history = vec![
///     KvOperation::put(0, "k", "a", 0, 10),
///     KvOperation::append(1, "k", "b", 5, 25),
///     KvOperation::get(0, "k", "ab", 30, 40),
/// ];
/// match check_history(KvModel, history, &Budget::default()) {
///     Ok(Checked::Linearizable) => {}
///     Ok(Checked::Unknown { .. }) => panic!("no verdict"),
///     Err(failure) => panic!("{failure}"), // what a lab test does
/// }
/// ```
pub fn check_history<M: Model>(
    model: M,
    history: Vec<Operation<M::Input, M::Output>>,
    budget: &Budget,
) -> Result<Checked, Failure> {
    let start = Instant::now();
    let (_, mut info) = check_operations_verbose(model, history, Some(budget.first))
        .map_err(Failure::BadHistory)?;
    let mut timeout = budget.first;
    loop {
        match info.result() {
            CheckResult::Ok => return Ok(Checked::Linearizable),
            CheckResult::Illegal => {
                return Err(Failure::NotLinearizable {
                    summary: info.summary(),
                    visualization: info.write_html_to_output_dir().map_err(|e| e.to_string()),
                });
            }
            CheckResult::Unknown => {}
        }
        let next = timeout.saturating_mul(budget.growth).min(budget.max);
        if next <= timeout || info.stopped_by == Limit::Memory {
            break;
        }
        print_live(&format!(
            "info: linearizability check timed out after {timeout:?} on {}; retrying {} with \
             {next:?}\n",
            undecided(&info).join(", "),
            if info.unknown_partitions().len() == 1 {
                "it"
            } else {
                "them"
            },
        ));
        timeout = next;
        info.recheck_unknown(Some(timeout));
    }
    let partitions = undecided(&info);
    let limit = match info.stopped_by {
        Limit::Memory => "memory",
        Limit::Time | Limit::Verdict => "time",
    };
    if budget.strict {
        return Err(Failure::Unknown {
            partitions,
            limit,
            spent: start.elapsed(),
        });
    }
    print_live(&format!(
        "warning: linearizability check reached its {limit} limit on {} after {:.1?} of \
         searching; assuming the history is ok ({STRICT_ENV}=1 makes this a failure)\n",
        partitions.join(", "),
        start.elapsed()
    ));
    Ok(Checked::Unknown { partitions })
}

/// The undecided partitions, as the model names them.
fn undecided<M: Model>(info: &LinearizationInfo<M>) -> Vec<String> {
    let checker = &info.checker;
    info.unknown_partitions()
        .into_iter()
        .map(|p| {
            checker
                .model
                .describe_partition(&checker.partitions[p].name)
        })
        .collect()
}

/// Writes `text` to the real stdout at once, past cargo's output capture
/// (which only intercepts `print!` and friends).
fn print_live(text: &str) {
    let mut out = std::io::stdout().lock();
    // Nothing sensible to do if stdout is gone; the verdict stands.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
