//! The model of lab 3's key/value service (MIT's `models/kv.go`).

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::OnceLock;

use labrt::sync::Arc;

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
    pub value: SharedStr,
}

/// A string that may share its bytes with other strings: the first `len`
/// bytes of `base`. It reads like a `&str` (it derefs to one, and compares,
/// hashes and prints as its text).
///
/// Why: a key's value only grows while a test appends to it, so every get
/// of the key reads a prefix of the longest value read. Copies of all those
/// values take memory quadratic in the number of operations on the key (a
/// lab 3 history of 40,000 operations took 1.4 GB); views of one base take
/// linear memory. The kvraft tester makes its gets' outputs such views
/// (`tester/src/history.rs`); anything else can use `From<String>`, which
/// makes a base of its own.
#[derive(Clone, Default)]
pub struct SharedStr {
    base: Arc<str>,
    len: usize,
}

impl SharedStr {
    /// The first `len` bytes of `base`. Panics unless `len` is at most the
    /// base's length and on a character boundary.
    pub fn prefix(base: &Arc<str>, len: usize) -> SharedStr {
        assert!(
            base.is_char_boundary(len),
            "{len} is no prefix length of a base of {} bytes",
            base.len()
        );
        SharedStr {
            base: Arc::clone(base),
            len,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.base[..self.len]
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for SharedStr {
    fn from(value: String) -> SharedStr {
        let len = value.len();
        SharedStr {
            base: value.into(),
            len,
        }
    }
}

impl From<&str> for SharedStr {
    fn from(value: &str) -> SharedStr {
        SharedStr {
            base: value.into(),
            len: value.len(),
        }
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &SharedStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SharedStr {}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl Hash for SharedStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

/// The values the gets of a history read, kept once per key: each key's
/// longest value read, which grows as reads extend it. A get that read a
/// prefix of it is kept as its length alone, and becomes a view of it
/// ([`SharedStr`]) once the history is complete. The kvraft tester keeps
/// its history so as it goes; the readers of recorded histories share a
/// history's reads once it is read. The checker then compares a get only
/// with the writes made since the last get it matched ([`KvState`]).
#[derive(Debug, Default)]
pub struct SharedReads {
    longest: HashMap<String, String>,
}

impl SharedReads {
    /// Notes that a get of `key` read `read`. Returns its length if it is
    /// a prefix of the key's longest value read (extended by `read` first
    /// if `read` extends it); `None` if not (a put replaced the value, say),
    /// and the get must keep its own copy.
    pub fn keep(&mut self, key: &str, read: &str) -> Option<usize> {
        let longest = self.longest.entry(key.to_string()).or_default();
        if let Some(more) = read.strip_prefix(longest.as_str()) {
            longest.push_str(more);
        }
        longest.starts_with(read).then_some(read.len())
    }

    /// The gets' outputs: `view(key, len)` is the first `len` bytes of
    /// `key`'s longest value, for a `len` that [`keep`](Self::keep) gave.
    pub fn into_views(self) -> impl Fn(&str, usize) -> SharedStr {
        let bases: HashMap<String, Arc<str>> = self
            .longest
            .into_iter()
            .map(|(key, value)| (key, Arc::from(value)))
            .collect();
        move |key, len| SharedStr::prefix(&bases[key], len)
    }
}

/// Makes the gets' outputs of each key views of one base where they can
/// be (see [`SharedReads`]).
pub(crate) fn share_reads(ops: &mut [KvOperation]) {
    let mut reads = SharedReads::default();
    let kept: Vec<Option<usize>> = ops
        .iter()
        .map(|op| match (op.input.op, &op.output) {
            (KvOp::Get, Some(output)) => reads.keep(&op.input.key, &output.value),
            _ => None,
        })
        .collect();
    let view = reads.into_views();
    for (op, len) in ops.iter_mut().zip(kept) {
        if let (Some(len), Some(output)) = (len, &mut op.output) {
            output.value = view(&op.input.key, len);
        }
    }
}

/// The key/value model's state: a key's value, as the chain of writes that
/// made it (the last put, then each append since), newest first.
///
/// Why not a `String`: the checker keeps every distinct state it reaches,
/// and in a lab 3 history those are the key's value after each append, so
/// strings would take memory quadratic in the number of appends (and the
/// search would hash each whole value at each step). A chain shares
/// everything before its newest write with the state it came from: a step
/// costs memory and time of the size of the write alone. The chain keeps
/// its text's length and a hash of the text, both extended in O(1) per
/// write, so that states of different chains with the same text are equal
/// and hash alike, as the checker needs. And a get compares only the writes
/// made since the last get that matched (the gets of a key share one base,
/// see [`SharedStr`]), not the whole value each time.
#[derive(Clone, Default)]
pub struct KvState(Option<Arc<Write>>);

/// One write of a [`KvState`] chain: its text follows the `before` state's.
struct Write {
    before: KvState,
    text: String,
    /// The whole state's length and hash (see [`KvState::extended`]).
    len: usize,
    hash: u64,
    /// A string the whole state's text is known to be a prefix of: the base
    /// of a get's output that matched it, so that a later get with the same
    /// base compares only the writes made since (see [`KvState::reads_as`]).
    read_from: OnceLock<Arc<str>>,
}

impl KvState {
    /// The multiplier of the polynomial hash: any odd 64-bit number mixes
    /// well enough for the checker's hash tables.
    const HASH_BASE: u64 = 0x0000_0100_0000_01b3;

    /// This state's text followed by `text`: the state after an append
    /// (or, after the empty state, after a put).
    fn extended(&self, text: &str) -> KvState {
        if text.is_empty() {
            return self.clone();
        }
        // hash(a ++ b) = hash(a) * BASE^len(b) + hash(b), wrapping.
        let tail = text.bytes().fold(0u64, |h, b| {
            h.wrapping_mul(Self::HASH_BASE).wrapping_add(b.into())
        });
        let shift = Self::HASH_BASE.wrapping_pow(text.len() as u32);
        KvState(Some(Arc::new(Write {
            before: self.clone(),
            text: text.to_string(),
            len: self.len() + text.len(),
            hash: self.hash_value().wrapping_mul(shift).wrapping_add(tail),
            read_from: OnceLock::new(),
        })))
    }

    /// The length of the text, in bytes.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |w| w.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn hash_value(&self) -> u64 {
        self.0.as_ref().map_or(0, |w| w.hash)
    }

    /// The writes, newest first.
    fn writes(&self) -> impl Iterator<Item = &Write> {
        std::iter::successors(self.0.as_deref(), |w| w.before.0.as_deref())
    }

    /// The text's bytes, last first.
    fn rev_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.writes().flat_map(|w| w.text.bytes().rev())
    }

    /// Whether the text is `text`.
    fn is(&self, text: &str) -> bool {
        self.len() == text.len() && self.begins(text, None)
    }

    /// Whether the text is `read`'s. All the gets of a key in a lab test
    /// read prefixes of one base, so once a state has matched a read, the
    /// states that follow it compare only their own writes with the next
    /// read: a get costs the writes since the last one, not the whole value.
    fn reads_as(&self, read: &SharedStr) -> bool {
        let matched = self.len() == read.len && self.begins(&read.base, Some(&read.base));
        // Remember it, for the gets of the states that follow this one.
        if let (true, Some(newest)) = (matched, &self.0) {
            let _ = newest.read_from.set(Arc::clone(&read.base));
        }
        matched
    }

    /// Whether `text` begins with this state's text, comparing newest
    /// writes first. `base` is `text` itself, if it is a get's base: then
    /// the comparison stops at a write known to be a prefix of it.
    fn begins(&self, text: &str, base: Option<&Arc<str>>) -> bool {
        let mut end = self.len();
        if text.len() < end {
            return false;
        }
        for w in self.writes() {
            let known = w.read_from.get().zip(base);
            if known.is_some_and(|(a, b)| Arc::ptr_eq(a, b)) {
                return true;
            }
            let start = end - w.text.len();
            if text.as_bytes()[start..end] != *w.text.as_bytes() {
                return false;
            }
            end = start;
        }
        true
    }
}

impl PartialEq for KvState {
    fn eq(&self, other: &KvState) -> bool {
        if self.len() != other.len() || self.hash_value() != other.hash_value() {
            return false;
        }
        // Two equal states are usually the same writes to one earlier
        // state: compare write by write until the chains meet.
        let (mut a, mut b) = (self, other);
        loop {
            match (&a.0, &b.0) {
                (None, None) => return true,
                (Some(x), Some(y)) if Arc::ptr_eq(x, y) => return true,
                (Some(x), Some(y)) if x.text == y.text => (a, b) = (&x.before, &y.before),
                _ => return self.rev_bytes().eq(other.rev_bytes()),
            }
        }
    }
}

impl Eq for KvState {}

impl Hash for KvState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_value());
    }
}

impl fmt::Display for KvState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut writes: Vec<&Write> = self.writes().collect();
        writes.reverse();
        writes.iter().try_for_each(|w| f.write_str(&w.text))
    }
}

impl fmt::Debug for KvState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string(), f)
    }
}

impl Drop for KvState {
    /// Drops the chain one write at a time: a chain of 40,000 appends would
    /// overflow the stack if dropped recursively.
    fn drop(&mut self) {
        let mut next = self.0.take();
        while let Some(write) = next {
            next = match Arc::try_unwrap(write) {
                Ok(mut write) => write.before.0.take(),
                Err(_) => None, // still in use by another state
            };
        }
    }
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
            output: Some(KvOutput { value: read.into() }),
            ret,
        }
    }
}

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    type State = KvState;

    fn partition(&self, input: &KvInput) -> String {
        input.key.clone()
    }

    fn describe_partition(&self, partition: &str) -> String {
        format!("key '{partition}'")
    }

    fn state_heap_size(&self, state: &KvState) -> usize {
        // Only the newest write is the state's own: the rest is shared.
        state
            .0
            .as_ref()
            .map_or(0, |w| size_of::<Write>() + w.text.capacity())
    }

    fn init(&self) -> KvState {
        KvState::default()
    }

    fn step(&self, state: &KvState, input: &KvInput, output: Option<&KvOutput>) -> Step<KvState> {
        match input.op {
            // A get without a reply could have read anything.
            KvOp::Get if output.is_none_or(|o| state.reads_as(&o.value)) => Step::Unchanged,
            KvOp::Get => Step::Illegal,
            KvOp::Put if state.is(&input.value) => Step::Unchanged,
            KvOp::Put => Step::Changed(KvState::default().extended(&input.value)),
            KvOp::Append if input.value.is_empty() => Step::Unchanged,
            KvOp::Append => Step::Changed(state.extended(&input.value)),
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

    fn describe_state(&self, state: &KvState) -> String {
        format!("'{state}'")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    fn hash<T: Hash>(value: &T) -> u64 {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
    }

    fn after(writes: &[(KvOp, &str)]) -> KvState {
        writes.iter().fold(KvModel.init(), |state, &(op, value)| {
            let input = KvInput {
                op,
                key: "k".into(),
                value: value.into(),
            };
            match KvModel.step(&state, &input, None) {
                Step::Changed(next) => next,
                Step::Unchanged => state,
                Step::Illegal => unreachable!(),
            }
        })
    }

    #[test]
    fn states_with_the_same_text_are_equal_and_hash_alike() {
        use KvOp::{Append, Put};
        let one_put = after(&[(Put, "abc")]);
        let appends = after(&[(Append, "a"), (Append, ""), (Append, "bc")]);
        let put_and_append = after(&[(Put, "x"), (Put, "ab"), (Append, "c")]);
        for state in [&appends, &put_and_append] {
            assert_eq!(*state, one_put);
            assert_eq!(hash(state), hash(&one_put));
            assert_eq!(state.to_string(), "abc");
            assert_eq!(KvModel.describe_state(state), "'abc'");
        }
        assert_ne!(after(&[(Append, "bc"), (Append, "a")]), one_put);
        assert_ne!(after(&[(Append, "ab")]), one_put);
        assert_eq!(after(&[(Put, "")]), KvModel.init());
        assert_ne!(hash(&one_put), 0);
    }

    #[test]
    fn gets_compare_the_text() {
        let state = after(&[(KvOp::Append, "ab"), (KvOp::Append, "c")]);
        let get = |read: &str| {
            let input = KvInput {
                op: KvOp::Get,
                key: "k".into(),
                value: String::new(),
            };
            KvModel.step(&state, &input, Some(&KvOutput { value: read.into() }))
        };
        assert_eq!(get("abc"), Step::Unchanged);
        for wrong in ["", "ab", "abd", "xbc", "abcd"] {
            assert_eq!(get(wrong), Step::Illegal, "{wrong:?}");
        }
    }

    #[test]
    fn a_get_after_a_matched_get_compares_only_the_new_writes_correctly() {
        let base: Arc<str> = Arc::from("abcd");
        let ab = after(&[(KvOp::Append, "ab")]);
        assert!(ab.reads_as(&SharedStr::prefix(&base, 2)));
        assert!(ab.extended("cd").reads_as(&SharedStr::prefix(&base, 4)));
        assert!(!ab.extended("cx").reads_as(&SharedStr::prefix(&base, 4)));
        assert!(!ab.extended("c").reads_as(&SharedStr::prefix(&base, 4)));
        let other: Arc<str> = Arc::from("xbcd");
        assert!(!ab.extended("cd").reads_as(&SharedStr::prefix(&other, 4)));
    }

    #[test]
    fn a_long_chain_drops_without_recursion() {
        let mut state = KvModel.init();
        for _ in 0..1_000_000 {
            state = state.extended("x");
        }
        assert_eq!(state.len(), 1_000_000);
        drop(state);
    }

    #[test]
    fn reads_of_a_key_share_its_longest_value() {
        let mut reads = SharedReads::default();
        assert_eq!(reads.keep("k", "ab"), Some(2));
        assert_eq!(reads.keep("k", "a"), Some(1));
        assert_eq!(reads.keep("k", "abc"), Some(3));
        assert_eq!(reads.keep("k", "x"), None, "not a prefix: its own copy");
        assert_eq!(reads.keep("j", ""), Some(0));
        let view = reads.into_views();
        assert_eq!(view("k", 2), "ab");
        assert_eq!(view("k", 3), "abc");
        assert_eq!(view("j", 0), "");
    }

    #[test]
    fn shared_strs_are_their_text() {
        let base: Arc<str> = Arc::from("hello");
        let view = SharedStr::prefix(&base, 4);
        assert_eq!(view, "hell");
        assert_eq!(view, SharedStr::from("hell".to_string()));
        assert_eq!(hash(&view), hash(&SharedStr::from("hell")));
        assert_eq!(format!("{view} {view:?}"), "hell \"hell\"");
        assert_eq!(SharedStr::default(), "");
    }
}
