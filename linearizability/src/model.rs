//! What the checker checks against: [`Operation`]s of a history and the
//! [`Model`] of the object they ran on.

use std::fmt::Debug;
use std::hash::Hash;

/// One operation of a history: who ran it, what it asked, what it got, and
/// when it was called and when it returned.
///
/// Times are any monotonic clock, in any unit, as long as every operation of
/// one history uses the same one: the kvraft tester uses nanoseconds since the
/// start of the test run, the recorded histories use line numbers. Only their
/// order matters; two events at the same time count as concurrent.
///
/// An operation whose client never learned the outcome (it timed out, or
/// Jepsen recorded it as `:info`) has no output: it may have taken effect at
/// any time after its call, or never, and the checker tries both. Reports
/// show it as "no reply". (Jepsen's `:fail`, an operation that certainly did
/// not happen, is simply left out of the history.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client (clerk) that ran the operation.
    pub client_id: usize,
    /// What the client asked, e.g. a key/value `Get("k")`.
    pub input: I,
    /// When the client called the operation.
    pub call: u64,
    /// What the client got back, or `None` if it got no reply.
    pub output: Option<O>,
    /// When the operation returned to the client, not before `call`; for an
    /// operation without a reply, when the client stopped waiting (only the
    /// check that a client runs one operation at a time looks at it: the
    /// operation itself may take effect at any later time).
    pub ret: u64,
}

impl<I, O> Operation<I, O> {
    /// The same operation, but its client got no reply (its output is
    /// dropped; `ret` becomes when the client gave up).
    ///
    /// ```
    /// use linearizability::KvOperation;
    ///
    /// let timed_out = KvOperation::put(0, "k", "v", 10, 20).no_reply();
    /// assert_eq!(timed_out.output, None);
    /// ```
    pub fn no_reply(self) -> Self {
        Operation {
            output: None,
            ..self
        }
    }

    /// When the operation returned, as the checker sees it: never, for one
    /// without a reply.
    pub fn returned(&self) -> Option<u64> {
        self.output.as_ref().map(|_| self.ret)
    }
}

/// What one operation does to the model's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step<S> {
    /// The operation cannot have happened in this state (a read that returned
    /// another value than the state holds).
    Illegal,
    /// The operation is legal and leaves the state as it was (a read).
    ///
    /// Saying so, rather than returning a copy of the state, saves the checker
    /// a copy and a hash at every read it tries.
    Unchanged,
    /// The operation is legal and leads to this state (a write).
    Changed(S),
}

/// A sequential specification of an object: how each operation changes its
/// state and which outputs are legal. The checker decides whether a
/// concurrent history can be explained by some order of its operations that
/// this model accepts and that respects real time.
///
/// `step` must be a pure function of its arguments: the checker calls it many
/// times on the same state, and memoizes states by `Eq` and `Hash`.
///
/// The model, inputs and outputs are shared with the checker's threads,
/// hence `Send + Sync + 'static`; a partition's search, states included,
/// may move from one thread to another.
pub trait Model: Send + Sync + 'static {
    /// What a client asks.
    type Input: Debug + Send + Sync + 'static;
    /// What a client gets back.
    type Output: Debug + Send + Sync + 'static;
    /// The object's state. Two states are the same state iff they are `==`.
    type State: Debug + Eq + Hash + Send;

    /// Whether each client runs one operation at a time, as the lab clerks
    /// and the recorded histories' processes do. If so, a client operation
    /// called before the same client's previous one returned means the
    /// history was recorded wrongly (bad timestamps, a shared client id), and
    /// checking it is refused with [`HistoryError::ClientOverlap`](crate::HistoryError::ClientOverlap).
    const SEQUENTIAL_CLIENTS: bool = true;

    /// The partition an operation belongs to. Operations in different
    /// partitions never affect each other, so each partition is checked on
    /// its own (in parallel), which is what keeps the search small: a
    /// history is linearizable iff every partition's history is. The
    /// key/value model partitions by key. The default puts every operation in
    /// one partition, named `all` (reports say `partition 'all'`).
    fn partition(&self, _input: &Self::Input) -> String {
        String::from("all")
    }

    /// How reports name a partition: the key/value model says `key '3'`.
    fn describe_partition(&self, partition: &str) -> String {
        format!("partition '{partition}'")
    }

    /// The heap memory `state` owns (a `String`'s buffer, say), which the
    /// checker counts towards its memory limit. The default counts none,
    /// right for plain data.
    fn state_heap_size(&self, _state: &Self::State) -> usize {
        0
    }

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies one operation, with the output the client saw, to `state`.
    ///
    /// `output` is `None` for an operation whose client got no reply: the
    /// step is then the operation taking effect with whatever output it
    /// would have had (a write writes, a read changes nothing), and must not
    /// be [`Step::Illegal`] where the operation could have run. (That it
    /// may not have run at all needs no step: the checker can always place
    /// it after every other operation, where it is invisible.)
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Step<Self::State>;

    /// One operation, for reports: the key/value model says `get('k') -> 'v'`,
    /// and `get('k') -> no reply` without an output.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?} -> no reply"),
        }
    }

    /// A state, for reports.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}
