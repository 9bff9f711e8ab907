//! The search of one partition: porcupine's depth-first search for a
//! linearization (Wing & Gong's algorithm with Lowe's memoization).
//!
//! Representation, all index-based:
//!
//! * The [`Timeline`] puts the call and the return of every operation in
//!   time order (calls before returns at equal times: touching operations
//!   count as concurrent). Operations are numbered 0..n within the partition.
//! * A doubly linked list over that order, as `next`/`prev` arrays: node 0
//!   is a head sentinel, node `pos + 1` the event at position `pos`, node
//!   `2n + 1` a tail sentinel (so linking never meets a missing neighbour).
//!   Linearizing an operation lifts its call and return out of the list;
//!   backtracking puts them back, in O(1) each.
//! * The linearized set is a bitset. Its hash is kept incrementally as the
//!   XOR of one random 64-bit key per operation (Zobrist hashing), so it
//!   costs O(1) per step instead of a pass over the words.
//! * Model states are interned: each distinct state is stored once and
//!   named by a `u32`, so the stack and the cache hold numbers, a step that
//!   leaves the state unchanged costs nothing, and comparing two cache
//!   entries compares two numbers and a few bitset words.
//! * The cache holds every (linearized set, state) pair the search has
//!   entered. Reaching one again means repeating work already done (and
//!   failed), so that branch is cut: this is what makes the search usable.
//!
//! The search is resumable ([`Search::run`] takes a number of steps), so
//! the driver can share threads among partitions and stop it at any time.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use crate::model::{Model, Operation, Step};

/// "No index" in the `u32` index arrays.
pub(crate) const NONE: u32 = u32::MAX;

/// The outcome of one partition's search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Linearizable,
    Illegal,
}

/// What a verbose search keeps for the explanation: for each operation the
/// longest linearizable prefix found that contains it (porcupine's
/// "partial linearizations"), each distinct prefix once, and only those
/// that are some operation's longest. A linearizable partition's full
/// linearization is the one prefix of all its operations.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prefixes {
    /// Distinct prefixes, each a sequence of operations (partition numbers).
    pub prefixes: Vec<Vec<u32>>,
    /// For each operation, its prefix in `prefixes`, or `NONE`.
    pub longest: Vec<u32>,
}

impl Prefixes {
    /// The longest prefix of all (empty if the search placed nothing).
    pub fn best(&self) -> &[u32] {
        self.prefixes
            .iter()
            .max_by_key(|p| p.len())
            .map_or(&[], Vec::as_slice)
    }
}

/// The calls and returns of a partition's operations in time order.
pub(crate) struct Timeline {
    /// For each position, the event there: `op << 1`, plus 1 for a return.
    pub events: Vec<u32>,
    /// For each operation, the position of its call.
    pub call_pos: Vec<u32>,
    /// For each operation, the position of its return.
    pub ret_pos: Vec<u32>,
}

impl Timeline {
    pub fn new<I, O>(ops: &[&Operation<I, O>]) -> Timeline {
        let mut events: Vec<(u64, u32)> = Vec::with_capacity(ops.len() * 2);
        for (op, o) in (0u32..).zip(ops) {
            events.push((o.call, op << 1));
            // An operation without a reply may take effect at any time after
            // its call: it returns after everything.
            events.push((o.returned().unwrap_or(u64::MAX), op << 1 | 1));
        }
        // By time, then calls (even) before returns (odd), then by operation
        // so that the order is the same in every run.
        events.sort_unstable_by_key(|&(time, event)| (time, event & 1, event));
        let mut call_pos = vec![0; ops.len()];
        let mut ret_pos = vec![0; ops.len()];
        for (pos, &(_, event)) in (0u32..).zip(&events) {
            let slot = if event & 1 == 0 {
                &mut call_pos
            } else {
                &mut ret_pos
            };
            slot[(event >> 1) as usize] = pos;
        }
        Timeline {
            events: events.into_iter().map(|(_, event)| event).collect(),
            call_pos,
            ret_pos,
        }
    }
}

/// The search of one partition.
pub(crate) struct Search<S> {
    timeline: Timeline,
    list: List,
    /// The random key of each operation in the set hash.
    zobrist: Vec<u64>,
    /// The linearized set, and its hash.
    linearized: Vec<u64>,
    set_hash: u64,
    states: Interner<S>,
    cache: Cache,
    recorder: Option<Recorder>,
    stack: Vec<Frame>,
    /// The current state.
    state: u32,
    /// The list node to look at next.
    node: u32,
}

impl<S: Eq + Hash> Search<S> {
    /// A search of `ops` (one partition's operations, numbered 0.. in this
    /// order); with `record`, it keeps the longest prefixes.
    pub fn new<M: Model<State = S>>(
        model: &M,
        ops: &[&Operation<M::Input, M::Output>],
        record: bool,
    ) -> Search<S> {
        let n = ops.len();
        let list = List::new(n);
        let words = n.div_ceil(64);
        let mut states = Interner::default();
        let state = states.intern(model, model.init());
        Search {
            timeline: Timeline::new(ops),
            node: list.first(),
            list,
            zobrist: (0..n as u64).map(|op| mix(op.wrapping_add(1))).collect(),
            linearized: vec![0; words],
            set_hash: 0,
            states,
            cache: Cache::new(),
            recorder: record.then(|| Recorder::new(n)),
            stack: Vec::with_capacity(n),
            state,
        }
    }

    /// Searches on for at most `steps` steps; `None` if still undecided.
    /// `ops` must be the operations the search was made with.
    pub fn run<M: Model<State = S>>(
        &mut self,
        model: &M,
        ops: &[&Operation<M::Input, M::Output>],
        steps: u32,
    ) -> Option<Verdict> {
        let node_of = |pos: u32| pos + 1;
        // The hot scalars live in locals (registers) for the slice: as
        // fields, every store through `self` would be redone around the
        // calls into the model.
        let (mut node, mut state, mut set_hash) = (self.node, self.state, self.set_hash);
        let mut verdict = None;
        for _ in 0..steps {
            if self.list.is_empty() {
                verdict = Some(Verdict::Linearizable);
                break;
            }
            let event = self.timeline.events[node as usize - 1];
            let op = event >> 1;
            let (word, bit) = (op as usize / 64, 1u64 << (op % 64));
            if event & 1 == 0 {
                // A call: try to linearize its operation next.
                let o = ops[op as usize];
                let next_state =
                    match model.step(self.states.get(state), &o.input, o.output.as_ref()) {
                        Step::Illegal => {
                            node = self.list.next[node as usize];
                            continue;
                        }
                        Step::Unchanged => state,
                        Step::Changed(s) => self.states.intern(model, s),
                    };
                let next_hash = set_hash ^ self.zobrist[op as usize];
                self.linearized[word] |= bit;
                if self.cache.insert(&self.linearized, next_hash, next_state) {
                    self.stack.push(Frame {
                        op,
                        state,
                        recorded: 0,
                    });
                    state = next_state;
                    set_hash = next_hash;
                    let ret = node_of(self.timeline.ret_pos[op as usize]);
                    self.list.lift(node, ret);
                    node = self.list.first();
                } else {
                    // Been here before, and it led nowhere.
                    self.linearized[word] &= !bit;
                    node = self.list.next[node as usize];
                }
            } else {
                // A return: its operation had to be linearized by now, and no
                // remaining call could be. Undo the last choice, try the next.
                if let Some(recorder) = &mut self.recorder {
                    recorder.record(&mut self.stack);
                }
                let Some(top) = self.stack.pop() else {
                    verdict = Some(Verdict::Illegal);
                    break;
                };
                let call = node_of(self.timeline.call_pos[top.op as usize]);
                let ret = node_of(self.timeline.ret_pos[top.op as usize]);
                self.list.unlift(call, ret);
                self.linearized[top.op as usize / 64] &= !(1u64 << (top.op % 64));
                set_hash ^= self.zobrist[top.op as usize];
                state = top.state;
                node = self.list.next[call as usize];
            }
        }
        (self.node, self.state, self.set_hash) = (node, state, set_hash);
        verdict
    }

    /// About how many bytes the search holds: what grows is the cache, the
    /// states and the prefixes kept. (Hash tables cost about 20 bytes a
    /// slot, more while they grow.)
    pub fn memory(&self) -> usize {
        const SLOT: usize = 24;
        let state = size_of::<S>() + size_of::<u32>() + SLOT;
        let prefixes = self.recorder.as_ref().map_or(0, |r| r.bytes);
        self.cache.bytes()
            + SLOT * self.cache.states.len()
            + self.states.states.len() * state
            + self.states.heap
            + prefixes
    }

    /// The prefixes kept (if made with `record`): after a `Linearizable`
    /// verdict, the linearization; otherwise the longest prefixes found.
    pub fn into_prefixes(self, verdict: Option<Verdict>) -> Prefixes {
        let Some(recorder) = self.recorder else {
            return Prefixes::default();
        };
        match verdict {
            Some(Verdict::Linearizable) => Prefixes {
                prefixes: vec![self.stack.iter().map(|f| f.op).collect()],
                longest: vec![0; recorder.longest.len()],
            },
            Some(Verdict::Illegal) | None => recorder.into_prefixes(),
        }
    }
}

/// One linearized operation on the search stack.
struct Frame {
    op: u32,
    /// The state before it, to return to when it is undone.
    state: u32,
    /// The longest prefix recorded while this frame was on the stack (see
    /// [`Recorder::record`]).
    recorded: u32,
}

/// The list of events not yet linearized (see the module header).
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    tail: u32,
}

impl List {
    fn new(ops: usize) -> List {
        let nodes = 2 * ops as u32 + 2;
        List {
            next: (1..=nodes).collect(),
            prev: (0..nodes).map(|i| i.wrapping_sub(1)).collect(),
            tail: nodes - 1,
        }
    }

    fn first(&self) -> u32 {
        self.next[0]
    }

    fn is_empty(&self) -> bool {
        self.next[0] == self.tail
    }

    fn unlink(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = next;
        self.prev[next as usize] = prev;
    }

    fn relink(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = node;
        self.prev[next as usize] = node;
    }

    /// Takes a call and its return out of the list.
    fn lift(&mut self, call: u32, ret: u32) {
        self.unlink(call);
        self.unlink(ret);
    }

    /// Puts back what the matching `lift` took out (in reverse order, so
    /// every node's saved neighbours are current again).
    fn unlift(&mut self, call: u32, ret: u32) {
        self.relink(ret);
        self.relink(call);
    }
}

/// Keeps, for each operation, the longest prefix on the stack it was part of
/// when the search had to backtrack.
///
/// A prefix stays only while some operation's longest is it: when the last
/// one moves on to a longer prefix, the old one is freed. Without that, a
/// search that backtracks often kept every prefix it ever recorded (most of
/// them nobody's longest), and the memory and the HTML page with them grew
/// with the square of the history.
struct Recorder {
    /// The prefixes, by number; a freed one is left empty (numbers stay).
    prefixes: Vec<Vec<u32>>,
    /// For each prefix, how many operations have it as their longest.
    users: Vec<u32>,
    longest: Vec<u32>,
    /// The memory the live prefixes take.
    bytes: usize,
}

impl Recorder {
    fn new(ops: usize) -> Recorder {
        Recorder {
            prefixes: Vec::new(),
            users: Vec::new(),
            longest: vec![NONE; ops],
            bytes: 0,
        }
    }

    /// Records the stack as a prefix for the operations on it that have no
    /// longer one.
    ///
    /// Porcupine looks at every operation of the stack each time; that is
    /// O(depth) per backtrack and dominates a verbose search. But a frame
    /// whose `recorded` is at least the stack's length already has a prefix
    /// that long, and so has every frame below it (they were on the stack
    /// during that record too): only the top frames with a smaller
    /// `recorded` need a look, and usually there are none.
    fn record(&mut self, stack: &mut [Frame]) {
        let len = stack.len() as u32;
        let mut shared = NONE;
        for level in (0..stack.len()).rev() {
            if stack[level].recorded >= len {
                break;
            }
            stack[level].recorded = len;
            let op = stack[level].op as usize;
            let old = self.longest[op];
            if old == NONE || (self.prefixes[old as usize].len() as u32) < len {
                if shared == NONE {
                    shared = self.prefixes.len() as u32;
                    self.prefixes.push(stack.iter().map(|f| f.op).collect());
                    self.users.push(0);
                    self.bytes += Self::size(stack.len());
                }
                self.longest[op] = shared;
                self.users[shared as usize] += 1;
                if old != NONE {
                    self.release(old);
                }
            }
        }
    }

    /// One operation fewer has prefix `k` as its longest.
    fn release(&mut self, k: u32) {
        let k = k as usize;
        self.users[k] -= 1;
        if self.users[k] == 0 {
            self.bytes -= Self::size(self.prefixes[k].len());
            self.prefixes[k] = Vec::new();
        }
    }

    /// The memory a prefix of `len` operations takes.
    fn size(len: usize) -> usize {
        size_of::<Vec<u32>>() + size_of::<u32>() + len * size_of::<u32>()
    }

    /// The live prefixes, renumbered in the order they were recorded.
    fn into_prefixes(self) -> Prefixes {
        let mut number = vec![NONE; self.prefixes.len()];
        let mut prefixes = Vec::new();
        for (k, prefix) in self.prefixes.into_iter().enumerate() {
            if self.users[k] > 0 {
                number[k] = prefixes.len() as u32;
                prefixes.push(prefix);
            }
        }
        let longest = self
            .longest
            .iter()
            .map(|&k| if k == NONE { NONE } else { number[k as usize] })
            .collect();
        Prefixes { prefixes, longest }
    }
}

/// Each distinct state once, named by its index.
struct Interner<S> {
    states: Vec<S>,
    index: HashIndex,
    /// The heap memory the states own, as the model counts it.
    heap: usize,
}

impl<S> Default for Interner<S> {
    fn default() -> Self {
        Interner {
            states: Vec::new(),
            index: HashIndex::default(),
            heap: 0,
        }
    }
}

impl<S: Eq + Hash> Interner<S> {
    fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    fn intern<M: Model<State = S>>(&mut self, model: &M, state: S) -> u32 {
        let mut hasher = FastHasher::default();
        state.hash(&mut hasher);
        let states = &self.states;
        match self
            .index
            .find_or_add(hasher.finish(), |id| states[id as usize] == state)
        {
            Ok(id) => id,
            Err(id) => {
                self.heap += model.state_heap_size(&state);
                self.states.push(state);
                id
            }
        }
    }
}

/// The (linearized set, state) pairs the search has entered. A set is kept
/// as the number of its leading full words and the words after them, up to
/// its last nonzero one. The search linearizes a history roughly in order,
/// so a set is mostly a full prefix and a short frontier; a whole bitset per
/// entry made the cache quadratic in a partition's size (in concurrent_3a,
/// about 26,000 operations a key, it peaked at 174 MB).
struct Cache {
    /// Entry `i`'s frontier: `words[starts[i]..starts[i + 1]]`.
    words: Vec<u64>,
    starts: Vec<usize>,
    /// Entry `i`'s number of leading full words.
    full: Vec<u32>,
    states: Vec<u32>,
    index: HashIndex,
}

impl Cache {
    fn new() -> Cache {
        Cache {
            words: Vec::new(),
            starts: vec![0],
            full: Vec::new(),
            states: Vec::new(),
            index: HashIndex::default(),
        }
    }

    /// Adds the pair; false if it was there already.
    fn insert(&mut self, set: &[u64], set_hash: u64, state: u32) -> bool {
        let full = set.iter().take_while(|&&word| word == u64::MAX).count();
        let end = set
            .iter()
            .rposition(|&word| word != 0)
            .map_or(full, |last| last + 1);
        let frontier = &set[full..end];
        let hash = set_hash ^ mix(u64::from(state));
        let (words, starts, fulls, states) = (&self.words, &self.starts, &self.full, &self.states);
        let found = self.index.find_or_add(hash, |id| {
            let id = id as usize;
            states[id] == state
                && fulls[id] as usize == full
                && words[starts[id]..starts[id + 1]] == *frontier
        });
        if found.is_err() {
            self.words.extend_from_slice(frontier);
            self.starts.push(self.words.len());
            self.full.push(full as u32);
            self.states.push(state);
        }
        found.is_err()
    }

    /// About how many bytes the entries hold, besides the index.
    fn bytes(&self) -> usize {
        8 * self.words.len() + (8 + 2 * size_of::<u32>()) * self.states.len()
    }
}

/// A hash index over elements that the owner keeps in its own vectors: a
/// map from hash to the newest element with that hash, and a chain from
/// each element to the previous one with the same hash. Elements are
/// numbered in the order they were added. (It saves storing keys twice and
/// allocating per entry, which a `HashSet` of owned keys would do.)
#[derive(Default)]
struct HashIndex {
    heads: HashMap<u64, u32, BuildHasherDefault<FastHasher>>,
    chain: Vec<u32>,
}

impl HashIndex {
    /// `Ok(id)` of the element with this hash for which `same` holds, or
    /// `Err(id)` of a new element, which the caller must now add.
    fn find_or_add(&mut self, hash: u64, same: impl Fn(u32) -> bool) -> Result<u32, u32> {
        let new = self.chain.len() as u32;
        match self.heads.entry(hash) {
            Entry::Occupied(mut head) => {
                let mut id = *head.get();
                while id != NONE {
                    if same(id) {
                        return Ok(id);
                    }
                    id = self.chain[id as usize];
                }
                self.chain.push(head.insert(new));
            }
            Entry::Vacant(head) => {
                head.insert(new);
                self.chain.push(NONE);
            }
        }
        Err(new)
    }
}

/// A fast non-cryptographic hasher for states and cache keys (std's
/// SipHash costs several times more, and nobody attacks a checker's
/// hash tables): a multiply-rotate over 8-byte words, finished with
/// MurmurHash3's mixer.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        mix(self.0)
    }
}

/// MurmurHash3's 64-bit finalizer: a bijection that spreads every input bit
/// over the whole word.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::{Search, Verdict};
    use crate::register::{RegisterModel, RegisterOperation};

    /// A long history linearized in order keeps a small cache: each entry
    /// holds the set's frontier, not the whole bitset (20,000 operations
    /// held 50 MB that way).
    #[test]
    fn the_cache_of_a_long_history_grows_linearly() {
        let n = 20_000;
        let ops: Vec<RegisterOperation> = (0..n)
            .map(|i| {
                let t = 10 * i as u64;
                // Each write overlaps the next, so the search has choices.
                RegisterOperation::write(i % 5, i as i64, t, t + 15)
            })
            .collect();
        let refs: Vec<&RegisterOperation> = ops.iter().collect();
        let mut search = Search::new(&RegisterModel, &refs, false);
        assert_eq!(
            search.run(&RegisterModel, &refs, u32::MAX),
            Some(Verdict::Linearizable)
        );
        let per_op = search.memory() / n;
        assert!(per_op < 200, "{per_op} bytes per operation");
    }
}
