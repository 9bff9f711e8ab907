//! The model of a read / write / compare-and-set register (Jepsen's
//! `cas-register`, porcupine's etcd model), one per key.

use crate::model::{Model, Operation, Step};

/// The three register operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// Read the value (`None`: never written, Jepsen's `nil`).
    Read,
    /// Write a value.
    Write(i64),
    /// Compare and set: if the value is the first, make it the second.
    /// Only successful ones are in a history: a failed cas (Jepsen's
    /// `:fail`) did not happen.
    Cas(i64, i64),
}

/// What a register client asks: the operation, and which register if a
/// history has several (`None`: the only one).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegisterInput {
    pub key: Option<String>,
    pub op: RegisterOp,
}

/// The register model: partitioned by key, each partition's state is its
/// register's value, initially `None` (never written). A read is legal iff
/// it returns the value; a write sets it; a cas is legal iff the value is
/// its first argument, and sets the second. The output of a read is the
/// value read (`None`: nil); writes and cas have `None`.
///
/// Without a reply, a read may have read anything, a write may have written,
/// and a cas may have set its value if the register held the one it expects
/// (else it failed, changing nothing).
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterModel;

/// One register operation.
pub type RegisterOperation = Operation<RegisterInput, Option<i64>>;

impl RegisterOperation {
    /// A read by `client_id`, called at `call`, that returned `value` at
    /// `ret` (`None`: the register was never written).
    pub fn read(client_id: usize, value: Option<i64>, call: u64, ret: u64) -> RegisterOperation {
        Self::register(client_id, RegisterOp::Read, value, call, ret)
    }

    /// A write of `value`.
    pub fn write(client_id: usize, value: i64, call: u64, ret: u64) -> RegisterOperation {
        Self::register(client_id, RegisterOp::Write(value), None, call, ret)
    }

    /// A successful compare-and-set from `from` to `to`.
    pub fn cas(client_id: usize, from: i64, to: i64, call: u64, ret: u64) -> RegisterOperation {
        Self::register(client_id, RegisterOp::Cas(from, to), None, call, ret)
    }

    /// The same operation on the register named `key`.
    pub fn on(self, key: &str) -> RegisterOperation {
        Operation {
            input: RegisterInput {
                key: Some(key.to_string()),
                ..self.input
            },
            ..self
        }
    }

    fn register(
        client_id: usize,
        op: RegisterOp,
        read: Option<i64>,
        call: u64,
        ret: u64,
    ) -> RegisterOperation {
        Operation {
            client_id,
            input: RegisterInput { key: None, op },
            call,
            output: Some(read),
            ret,
        }
    }
}

impl Model for RegisterModel {
    type Input = RegisterInput;
    type Output = Option<i64>;
    type State = Option<i64>;

    /// `register 'x'`, or `the register` for a history of one.
    fn partition(&self, input: &RegisterInput) -> String {
        match &input.key {
            Some(key) => format!("register '{key}'"),
            None => "the register".to_string(),
        }
    }

    fn describe_partition(&self, partition: &str) -> String {
        partition.to_string()
    }

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterInput,
        output: Option<&Option<i64>>,
    ) -> Step<Option<i64>> {
        let set = |value: i64| match *state == Some(value) {
            true => Step::Unchanged,
            false => Step::Changed(Some(value)),
        };
        match (input.op, output) {
            (RegisterOp::Read, None) => Step::Unchanged,
            (RegisterOp::Read, Some(read)) if read == state => Step::Unchanged,
            (RegisterOp::Read, Some(_)) => Step::Illegal,
            (RegisterOp::Write(value), _) => set(value),
            (RegisterOp::Cas(from, to), _) if *state == Some(from) => set(to),
            // It ran and failed: only if nobody saw it succeed.
            (RegisterOp::Cas(..), None) => Step::Unchanged,
            (RegisterOp::Cas(..), Some(_)) => Step::Illegal,
        }
    }

    fn describe_operation(&self, input: &RegisterInput, output: Option<&Option<i64>>) -> String {
        let value = |v: &Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
        match (input.op, output) {
            (RegisterOp::Read, Some(read)) => format!("read() -> {}", value(read)),
            (RegisterOp::Read, None) => "read() -> no reply".to_string(),
            (RegisterOp::Write(v), _) => format!("write({v})"),
            (RegisterOp::Cas(from, to), _) => format!("cas({from}, {to})"),
        }
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        state.map_or("nil".to_string(), |v| v.to_string())
    }
}
