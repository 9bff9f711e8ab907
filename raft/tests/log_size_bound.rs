//! The 2D tests' bound on the persisted Raft state (`MAXLOGSIZE`, in
//! `bounds/mod.rs`) means what MIT's means: the same number of log entries.
//! MIT's 2000 bytes are Go's gob; labgob is about 1.8 times as compact, so
//! the same 2000 bytes would let a Raft that trims its log late (at 150
//! entries, say) pass here and fail at MIT.
//!
//! These tests feed the tests' check (`bounds::log_too_large`) with Raft
//! states encoded as the reference Raft encodes them, and once with the
//! state the Raft of this tree saves. They are not lab tests: the grader
//! runs `raft_test.rs` only, and `make test-2` too.

mod bounds;

use bounds::{MAXLOGSIZE, log_too_large};
use labrt::rand::random_range;
use raft::Persister;
use serde::{Deserialize, Serialize};
use tester::raft::Config;

/// MIT's bound, in bytes of gob.
const MIT_MAXLOGSIZE: usize = 2000;
/// Go 1.19's gob, measured: a Raft that saves `currentTerm`, `votedFor`,
/// `lastIncludedIndex`, `lastIncludedTerm` and `[]LogEntry{Term, Command}`
/// (a sentinel first) takes this many bytes with an empty log...
const GOB_FIXED: usize = 84;
/// ...and this many more per entry whose command is a random 63-bit int.
const GOB_PER_ENTRY: usize = 20;

/// A log entry as the reference Raft saves it (`Entry` in
/// `raft/src/raft.rs`).
#[derive(Serialize, Deserialize, Debug)]
struct Entry {
    term: u64,
    /// `None` only in the sentinel, which stands for the last entry the
    /// snapshot covers.
    command: Option<i64>,
}

/// The bytes the reference Raft saves for a log of `commands` after a
/// snapshot up to index `first` (`Persistent::encode_head`: the tuple of
/// term, vote, first index and entries, the sentinel first).
fn saved_state(term: u64, voted_for: Option<usize>, first: usize, commands: &[i64]) -> Vec<u8> {
    let mut entries = vec![Entry {
        term,
        command: None,
    }];
    entries.extend(commands.iter().map(|&command| Entry {
        term,
        command: Some(command),
    }));
    labgob::encode(&(term, voted_for, first, entries))
}

/// The size the tests' check sees: the state saved through a `Persister`,
/// as the tester reads it (`Config::log_size` is the largest of these).
fn persisted_size(state: Vec<u8>) -> usize {
    let persister = Persister::new();
    persister.save(state, Vec::new());
    persister.raft_state_size()
}

/// `n` random commands, as the 2D tests make them (`rand_cmd`, Go's
/// `rand.Int()`).
fn random_commands(n: usize) -> Vec<i64> {
    (0..n).map(|_| random_range(0..i64::MAX)).collect()
}

/// `n` commands whose sizes average those of random ones: every other
/// command takes 10 bytes (at least 2^62), the others 9.
fn typical_commands(n: usize) -> Vec<i64> {
    (0..n as i64)
        .map(|i| {
            if i % 2 == 0 {
                i64::MAX - i
            } else {
                (1 << 61) + i
            }
        })
        .collect()
}

/// A state as the 2D tests leave it: some hundreds of entries compacted
/// into the snapshot, a leader of a low term that voted for itself.
fn state_of(commands: &[i64]) -> Vec<u8> {
    saved_state(3, Some(1), 300, commands)
}

#[test]
fn maxlogsize_fails_a_log_at_mits_entry_count() {
    // The reference's encoding, as bounds/mod.rs describes it: 8 bytes
    // plus 11.5 per entry of random commands.
    let fixed = state_of(&[]).len();
    assert_eq!(
        fixed, 8,
        "the reference's fixed overhead changed: MAXLOGSIZE needs deriving again"
    );
    let per_two = state_of(&typical_commands(2)).len() - fixed;
    assert_eq!(
        per_two, 23,
        "the reference's bytes per entry changed: MAXLOGSIZE needs deriving again"
    );

    // MIT's test fails a Raft whose log holds this many entries.
    let mit_entries = (MIT_MAXLOGSIZE - GOB_FIXED).div_ceil(GOB_PER_ENTRY);
    assert_eq!(mit_entries, 96);
    // Ours, for commands of the average size.
    let ours = (1..)
        .find(|&n| log_too_large(persisted_size(state_of(&typical_commands(n)))))
        .unwrap();
    assert!(
        ours == mit_entries || ours + 1 == mit_entries,
        "MAXLOGSIZE = {MAXLOGSIZE} fails a log of {ours} entries; MIT's fails {mit_entries}"
    );
    // Under the old bound, MIT's 2000 bytes taken as they are:
    let unchanged = (1..)
        .find(|&n| persisted_size(state_of(&typical_commands(n))) >= MIT_MAXLOGSIZE)
        .unwrap();
    assert!(unchanged > 170, "{unchanged}");
}

#[test]
fn a_raft_that_trims_its_log_at_150_entries_fails() {
    for _ in 0..100 {
        let size = persisted_size(state_of(&random_commands(150)));
        assert!(
            log_too_large(size),
            "150 entries in {size} bytes pass MAXLOGSIZE = {MAXLOGSIZE}"
        );
        assert!(
            size < MIT_MAXLOGSIZE,
            "150 entries in {size} bytes: MIT's 2000 would let them pass"
        );
    }
    // Even if every command took 9 bytes (all but one random command in 256
    // take 9 or 10).
    let small = vec![1 << 55; 150];
    assert!(log_too_large(persisted_size(state_of(&small))));
}

#[test]
fn a_raft_that_trims_its_log_at_each_snapshot_passes() {
    // The tester snapshots every 10 entries, and snap_common starts up to
    // 15 at once, so a Raft that trims when told keeps some 25; 40 of the
    // largest commands (12-byte entries) are far under the bound...
    let largest = vec![i64::MAX; 40];
    let size = persisted_size(state_of(&largest));
    assert!(!log_too_large(size) && size * 2 < MAXLOGSIZE, "{size}");
    // ...and so are 90, where MIT's passes 95 of its own.
    assert!(!log_too_large(persisted_size(state_of(&vec![
        i64::MAX;
        90
    ]))));
    // A later snapshot, a higher term (under 128, as in the 2D tests) and
    // no vote change little.
    let later = saved_state(100, None, 100_000, &vec![i64::MAX; 90]);
    assert!(!log_too_large(persisted_size(later)));
}

/// The same with the Raft of this tree (yours, in the handout): without
/// the tester's snapshots it keeps every entry, and once it holds 150 the
/// check fails it, whatever its encoding (a random command alone takes 8
/// bytes or more). How many entries it may keep depends on its encoding;
/// the tests above pin the reference's.
#[test]
fn a_raft_that_keeps_150_entries_fails_the_check() {
    let servers = 3;
    let cfg = Config::<i64>::new(servers, false, false);
    cfg.begin("log size bound: a Raft that never trims");
    for _ in 0..150 {
        cfg.one(random_range(0..i64::MAX), servers, false);
    }
    let size = cfg.log_size();
    assert!(
        log_too_large(size),
        "150 entries in {size} bytes pass MAXLOGSIZE = {MAXLOGSIZE}"
    );
    cfg.end();
}
