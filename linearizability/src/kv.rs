//! The model of lab 3's key/value service (MIT's `models/kv.go`).

use crate::model::{Model, Operation, Step};

/// The three key/value operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Read the key's value ("" if the key is missing).
    Get,
    /// Replace the key's value.
    Put,
    /// Append to the key's value.
    Append,
}

/// What a key/value client asks: `value` is the argument of a put or an
/// append, and empty for a get.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvInput {
    pub op: KvOp,
    pub key: String,
    pub value: String,
}

/// What a key/value client gets back: the value read by a get, empty for a
/// put or an append.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvOutput {
    pub value: String,
}

/// The key/value model: partitioned by key, each partition's state is its
/// key's value, initially "". A get is legal iff it returns the current
/// value; a put replaces it; an append concatenates to it.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvModel;

/// One key/value operation, as the kvraft tester logs it.
pub type KvOperation = Operation<KvInput, KvOutput>;

impl KvOperation {
    /// A get of `key` by `client_id`, called at `call`, that returned `value`
    /// at `ret`.
    pub fn get(client_id: usize, key: &str, value: &str, call: u64, ret: u64) -> KvOperation {
        Self::kv(client_id, KvOp::Get, key, "", value, call, ret)
    }

    /// A put of `value` under `key`.
    pub fn put(client_id: usize, key: &str, value: &str, call: u64, ret: u64) -> KvOperation {
        Self::kv(client_id, KvOp::Put, key, value, "", call, ret)
    }

    /// An append of `value` to `key`.
    pub fn append(client_id: usize, key: &str, value: &str, call: u64, ret: u64) -> KvOperation {
        Self::kv(client_id, KvOp::Append, key, value, "", call, ret)
    }

    fn kv(
        client_id: usize,
        op: KvOp,
        key: &str,
        value: &str,
        read: &str,
        call: u64,
        ret: u64,
    ) -> KvOperation {
        Operation {
            client_id,
            input: KvInput {
                op,
                key: key.to_string(),
                value: value.to_string(),
            },
            call,
            output: Some(KvOutput {
                value: read.to_string(),
            }),
            ret,
        }
    }
}

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = String;

    fn partition(&self, input: &KvInput) -> String {
        input.key.clone()
    }

    fn describe_partition(&self, partition: &str) -> String {
        format!("key '{partition}'")
    }

    fn state_heap_size(&self, state: &String) -> usize {
        state.capacity()
    }

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Step<String> {
        match input.op {
            // A get without a reply could have read anything.
            KvOp::Get if output.is_none_or(|o| o.value == *state) => Step::Unchanged,
            KvOp::Get => Step::Illegal,
            KvOp::Put if input.value == *state => Step::Unchanged,
            KvOp::Put => Step::Changed(input.value.clone()),
            KvOp::Append if input.value.is_empty() => Step::Unchanged,
            KvOp::Append => {
                // One allocation of the final size (`clone() + ..` makes two).
                let mut appended = String::with_capacity(state.len() + input.value.len());
                appended.push_str(state);
                appended.push_str(&input.value);
                Step::Changed(appended)
            }
        }
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let KvInput { op, key, value } = input;
        match (op, output) {
            (KvOp::Get, Some(output)) => format!("get('{key}') -> '{}'", output.value),
            (KvOp::Get, None) => format!("get('{key}') -> no reply"),
            (KvOp::Put, _) => format!("put('{key}', '{value}')"),
            (KvOp::Append, _) => format!("append('{key}', '{value}')"),
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("'{state}'")
    }
}
