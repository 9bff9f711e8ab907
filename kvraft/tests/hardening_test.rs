//! The key/value hardening suite: tests beyond MIT's (not in Go), as for
//! Raft in `raft/tests/hardening_test.rs`. Parts 3A+ and 3B+: `make
//! test-hardening` runs them; the grader scores them as the points table
//! says (0 by default).

use tester::kvraft::{Generic, generic_test};

/// A late copy of a clerk's old request is not applied again: a duplicate
/// table that recognizes only a clerk's latest request (`==` where `<=`
/// is needed) applies it twice. MIT's network never delivers a request
/// twice, so its tests cannot tell.
#[test]
fn late_duplicates_are_not_applied_again_3a_plus() {
    // Test: unreliable net, duplicated messages, many clients (3A+) ...
    generic_test(Generic::new("3A+", 5, 5).unreliable().duplicates());
}

/// The same with snapshots: the duplicate table travels in them.
#[test]
fn late_duplicates_are_not_applied_again_after_snapshots_3b_plus() {
    // Test: unreliable net, snapshots, duplicated messages, many clients (3B+) ...
    generic_test(
        Generic::new("3B+", 5, 5)
            .unreliable()
            .crash()
            .duplicates()
            .snapshots(1000),
    );
}
