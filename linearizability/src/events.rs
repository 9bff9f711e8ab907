//! The event-based entry point, porcupine's `CheckEvents`: a history as
//! the calls and returns a recorder saw, in the order it saw them, each
//! return matched to its call by an id.

use labrt::time::Duration;

use crate::check::{
    CheckResult, HistoryError, LinearizationInfo, check_operations, check_operations_verbose,
};
use crate::model::{Model, Operation};

/// One event of a history: a client calls an operation, or an operation
/// returns to its client. Events are given in time order (their index is
/// their time); a return's `id` is its call's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event<I, O> {
    pub client_id: usize,
    pub kind: EventKind<I, O>,
    /// Pairs a return with its call; unique among calls.
    pub id: usize,
}

/// What happened at an [`Event`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind<I, O> {
    /// A client called an operation with this input.
    Call(I),
    /// The operation returned this output.
    Return(O),
}

/// The operations of `events`: each call with its return, timed by the
/// events' positions. A call that never returns has no reply (see
/// [`Operation`]), as if its client had given up at once.
///
/// ```
/// use linearizability::{Event, EventKind, KvInput, KvOp, KvOutput, operations_from_events};
///
/// let put = KvInput { op: KvOp::Put, key: "k".into(), value: "a".into() };
/// let events = vec![
///     Event { client_id: 0, kind: EventKind::Call(put), id: 7 },
///     Event { client_id: 0, kind: EventKind::Return(KvOutput::default()), id: 7 },
/// ];
/// let ops = operations_from_events(events).unwrap();
/// assert_eq!((ops[0].call, ops[0].ret), (0, 1));
/// ```
pub fn operations_from_events<I, O>(
    events: Vec<Event<I, O>>,
) -> Result<Vec<Operation<I, O>>, HistoryError> {
    let mut ops: Vec<Operation<I, O>> = Vec::new();
    // For each id, its operation, while no return has matched it.
    let mut open: std::collections::HashMap<usize, usize> = Default::default();
    let mut ids: std::collections::HashSet<usize> = Default::default();
    for (time, event) in (0u64..).zip(events) {
        let position = time as usize;
        match event.kind {
            EventKind::Call(input) => {
                if !ids.insert(event.id) {
                    return Err(HistoryError::DuplicateCall {
                        position,
                        id: event.id,
                    });
                }
                open.insert(event.id, ops.len());
                ops.push(Operation {
                    client_id: event.client_id,
                    input,
                    call: time,
                    output: None,
                    ret: time,
                });
            }
            EventKind::Return(output) => {
                let Some(op) = open.remove(&event.id) else {
                    return Err(HistoryError::UnmatchedReturn {
                        position,
                        id: event.id,
                    });
                };
                ops[op].output = Some(output);
                ops[op].ret = time;
            }
        }
    }
    Ok(ops)
}

/// [`check_operations`] on the operations of `events` (see
/// [`operations_from_events`]).
pub fn check_events<M: Model>(
    model: M,
    events: Vec<Event<M::Input, M::Output>>,
    timeout: Option<Duration>,
) -> Result<CheckResult, HistoryError> {
    check_operations(model, operations_from_events(events)?, timeout)
}

/// [`check_operations_verbose`] on the operations of `events` (see
/// [`operations_from_events`]).
pub fn check_events_verbose<M: Model>(
    model: M,
    events: Vec<Event<M::Input, M::Output>>,
    timeout: Option<Duration>,
) -> Result<(CheckResult, LinearizationInfo<M>), HistoryError> {
    check_operations_verbose(model, operations_from_events(events)?, timeout)
}
