//! The 2D tests' bound on the persisted Raft state, shared by
//! `raft_test.rs` (the tests) and `log_size_bound.rs` (the test of the
//! bound itself).

/// The 2D tests' bound on a peer's persisted Raft state, in bytes (MIT's
/// `MAXLOGSIZE`).
///
/// MIT's is 2000 bytes of Go's gob; ours is the same number of log entries
/// in labgob, which is about 1.8 times as compact. Measured with Go 1.19's
/// gob, a Raft that saves `currentTerm`, `votedFor`, `lastIncludedIndex`,
/// `lastIncludedTerm` and its log (`[]LogEntry{Term, Command}`, a sentinel
/// first) takes 84 bytes plus 20 per entry of these tests' commands (random
/// 63-bit ints: two field numbers, the term, the interface's type name
/// `"int"` and type id, a length, a 9-byte int, the end of the struct). MIT's
/// tests fail it at 96 entries past the snapshot (2004 bytes) and pass it at
/// 95 (1984 bytes); without the two `lastIncluded` fields, at 97.
///
/// The reference Raft saves the same state with labgob (postcard, see
/// `Persistent::encode_head` in `raft/src/raft.rs`): 8 bytes (term,
/// vote, first index, length, sentinel) plus 11.5 per entry on average (the
/// term, the `Option` tag, and the command's zigzag varint: 10 bytes for
/// half of the random values, 9 for the others). 96 entries take 1112
/// bytes; rounded, as MIT's figure is, to 1100, which a log of 95 entries
/// reaches about half of the time and one of 94 almost never. MIT's 2000
/// bytes would let a Raft keep 170 entries here. The reference keeps fewer
/// than 10 (at most 115 bytes in the 2D tests).
///
/// `log_size_bound.rs` checks this arithmetic against labgob, and that a
/// Raft that trims its log only at 150 entries fails.
pub const MAXLOGSIZE: usize = 1100;

/// The 2D tests' check (`if cfg.LogSize() >= MAXLOGSIZE` in Go): whether
/// the largest persisted Raft state, `raft_state_size` bytes, is too large.
pub fn log_too_large(raft_state_size: usize) -> bool {
    raft_state_size >= MAXLOGSIZE
}
