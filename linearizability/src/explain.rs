//! Why a history is not linearizable, in words: the longest linearizable
//! prefix of a failing partition, the state it leaves, and the operations
//! that could come next but cannot. The HTML visualization shows the same
//! analysis for every prefix the search kept.
//!
//! Descriptions and states longer than [`MAX_TEXT`] characters are cut in
//! the middle, here and in the page's display, so that a report stays
//! readable (and small) however long the values are.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::check::{CheckResult, Limit, LinearizationInfo};
use crate::model::{Model, Operation, Step};
use crate::search::Timeline;

/// How many operations of the longest prefix the summary lists (its end,
/// where it got stuck, is what matters).
const PREFIX_TAIL: usize = 5;

/// Longer descriptions and states are abbreviated in the text summary.
pub(crate) const MAX_TEXT: usize = 120;

/// What could follow a linearizable prefix of a partition.
pub(crate) struct Analysis {
    /// The operations that could be linearized next: called before the
    /// earliest return of an operation outside the prefix, in call order,
    /// each with whether the model accepts it after the prefix. Empty when
    /// the prefix is complete. In a prefix where the search got stuck, the
    /// legal ones lead to states it had already explored without success.
    pub next: Vec<(u32, bool)>,
    /// The operation outside the prefix that returns first: whatever comes
    /// next must be placed before its return.
    pub blocker: Option<u32>,
}

/// The state after `op` in `state`, as a step of a prefix the search
/// found: `None` if `op` leaves it unchanged.
///
/// Panics if the model rejects the step: the search accepted it, so the
/// model's `step` is not a pure function.
pub(crate) fn replay_step<M: Model>(
    model: &M,
    state: &M::State,
    op: &Operation<M::Input, M::Output>,
) -> Option<M::State> {
    match model.step(state, &op.input, op.output.as_ref()) {
        Step::Illegal => panic!(
            "linearizability: the model rejects {} on replay though the search \
             accepted it; Model::step must be a pure function",
            model.describe_operation(&op.input, op.output.as_ref())
        ),
        Step::Unchanged => None,
        Step::Changed(next) => Some(next),
    }
}

impl Analysis {
    /// Looks at what could follow `prefix` (operations of one partition, as
    /// numbered by the search), which leaves the model in `state`.
    pub fn new<M: Model>(
        model: &M,
        ops: &[&Operation<M::Input, M::Output>],
        timeline: &Timeline,
        prefix: &[u32],
        state: &M::State,
    ) -> Analysis {
        let mut placed = vec![false; ops.len()];
        for &op in prefix {
            placed[op as usize] = true;
        }
        let rest = || (0..ops.len() as u32).filter(|&op| !placed[op as usize]);
        let blocker = rest().min_by_key(|&op| timeline.ret_pos[op as usize]);
        let mut next: Vec<(u32, bool)> = match blocker {
            None => Vec::new(),
            Some(b) => rest()
                .filter(|&op| timeline.call_pos[op as usize] < timeline.ret_pos[b as usize])
                .map(|op| {
                    let o = ops[op as usize];
                    let step = model.step(state, &o.input, o.output.as_ref());
                    (op, !matches!(step, Step::Illegal))
                })
                .collect(),
        };
        next.sort_by_key(|&(op, _)| timeline.call_pos[op as usize]);
        Analysis { next, blocker }
    }

    /// The operation to blame: the blocker if it cannot follow the prefix,
    /// else the earliest-returning candidate that cannot; if every candidate
    /// is legal (each only leads to dead ends later), the blocker.
    pub fn culprit(&self, timeline: &Timeline) -> Option<(u32, bool)> {
        let blocker = self.blocker?;
        let illegal = self.next.iter().filter(|(_, legal)| !legal);
        let first_illegal = illegal.min_by_key(|(op, _)| timeline.ret_pos[*op as usize]);
        match self.next.iter().find(|(op, _)| *op == blocker) {
            Some(&(_, false)) => Some((blocker, false)),
            _ => first_illegal.copied().or(Some((blocker, true))),
        }
    }
}

impl<M: Model> LinearizationInfo<M> {
    /// A text explanation of the verdict, readable without a browser: for
    /// each partition that is not linearizable, the longest linearizable
    /// prefix (its last operations and the state it leaves), the operations
    /// that could come next and why none can, and the first operation that
    /// cannot follow the prefix; a line for each partition left Unknown.
    pub fn summary(&self) -> String {
        let checker = &self.checker;
        let mut out = String::new();
        let all: Vec<usize> = (0..checker.history.len()).collect();
        let _ = writeln!(
            out,
            "{} by {} in {}: {}.",
            count(checker.history.len(), "operation"),
            count(self.clients(&all), "client"),
            count(checker.partitions.len(), "partition"),
            match self.result() {
                CheckResult::Ok => "linearizable",
                CheckResult::Illegal => "not linearizable",
                CheckResult::Unknown => "no verdict in the time allowed",
            }
        );
        for p in 0..self.results.len() {
            self.explain_result(&mut out, p);
        }
        out
    }

    /// Appends partition `p`'s part of the summary to `out`: nothing if it
    /// is linearizable.
    pub(crate) fn explain_result(&self, out: &mut String, p: usize) {
        let (result, prefixes) = &self.results[p];
        let partition = &self.checker.partitions[p];
        let name = self.checker.model.describe_partition(&partition.name);
        let total = partition.ops.len();
        match result {
            CheckResult::Ok => {}
            CheckResult::Unknown => {
                let why = match self.stopped_by {
                    Limit::Time => "the search reached its time limit",
                    Limit::Memory => "the search reached its memory limit",
                    Limit::Verdict => "not searched to the end, as another partition fails",
                };
                let _ = writeln!(
                    out,
                    "{name}: unknown, {why} (longest linearizable prefix found: {} of \
                     {total} operations).",
                    prefixes.best().len()
                );
            }
            CheckResult::Illegal => {
                let _ = writeln!(
                    out,
                    "{name} is not linearizable ({} by {}).",
                    count(total, "operation"),
                    count(self.clients(&partition.ops), "client")
                );
                self.explain_partition(out, p, prefixes.best());
            }
        }
    }

    /// How many clients ran the history operations `ops`.
    fn clients(&self, ops: &[usize]) -> usize {
        let ids: BTreeSet<usize> = ops
            .iter()
            .map(|&i| self.checker.history[i].client_id)
            .collect();
        ids.len()
    }

    fn explain_partition(&self, out: &mut String, p: usize, prefix: &[u32]) {
        let checker = &self.checker;
        let ops = checker.ops(p);
        let timeline = Timeline::new(&ops);
        let model = &checker.model;
        let mut state = model.init();
        for &op in prefix {
            if let Some(next) = replay_step(model, &state, ops[op as usize]) {
                state = next;
            }
        }
        let analysis = Analysis::new(model, &ops, &timeline, prefix, &state);
        let describe = |op: u32| {
            let o = ops[op as usize];
            let text = abbreviate(
                &checker
                    .model
                    .describe_operation(&o.input, o.output.as_ref()),
            );
            format!("client {}: {text}", o.client_id)
        };
        let times = |op: u32| times(ops[op as usize]);
        let final_state = abbreviate(&model.describe_state(&state));
        if prefix.is_empty() {
            let _ = writeln!(
                out,
                "  No operation can be linearized first (initial state {final_state})."
            );
        } else {
            let _ = writeln!(
                out,
                "  Longest linearizable prefix: {} of {} operations, leaving state {final_state}. \
                 It ends with:",
                prefix.len(),
                ops.len()
            );
            let shown = prefix.len().saturating_sub(PREFIX_TAIL);
            for (i, &op) in prefix.iter().enumerate().skip(shown) {
                let _ = writeln!(out, "    {:>4}. {}  ({})", i + 1, describe(op), times(op));
            }
        }
        let Some(blocker) = analysis.blocker else {
            return;
        };
        let blocking = ops[blocker as usize];
        let _ = writeln!(
            out,
            "  Then one of these had to come next (each was called before client {}'s \
             operation {}), and none can:",
            blocking.client_id,
            match blocking.returned() {
                Some(ret) => format!("returned at {ret}"),
                None => "got no reply".to_string(),
            }
        );
        for &(op, legal) in &analysis.next {
            let why = if legal {
                "legal here, but every continuation fails later"
            } else {
                "illegal here"
            };
            let _ = writeln!(out, "          {}  ({})  {why}", describe(op), times(op));
        }
        if let Some((culprit, legal)) = analysis.culprit(&timeline) {
            let _ = writeln!(
                out,
                "  First operation that cannot follow the prefix: {} ({}){}.",
                describe(culprit),
                times(culprit),
                if legal {
                    "; it is legal there, but no linearization continues after it"
                } else {
                    ""
                }
            );
        }
    }
}

/// When `op` was called and returned: "called 3, returned 7", or "called
/// 3, no reply".
pub(crate) fn times<I, O>(op: &Operation<I, O>) -> String {
    match op.returned() {
        Some(ret) => format!("called {}, returned {ret}", op.call),
        None => format!("called {}, no reply", op.call),
    }
}

/// `n` and the noun, plural unless `n` is 1: "1 client", "3 clients".
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `text`, shortened to about `MAX_TEXT` characters by cutting its middle
/// (the start names the operation, the end is where appended values differ).
/// The page's script does the same (`short` in `html.js`).
pub(crate) fn abbreviate(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= MAX_TEXT {
        return text.to_string();
    }
    let head: String = chars[..MAX_TEXT / 3].iter().collect();
    let tail: String = chars[chars.len() - MAX_TEXT * 2 / 3..].iter().collect();
    format!(
        "{head}…[{} characters]…{tail}",
        chars.len() - head.chars().count() - tail.chars().count()
    )
}
