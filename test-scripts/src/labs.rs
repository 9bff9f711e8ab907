//! The labs, as the tools see them: which package holds a lab's code, which
//! file its tests, and which files are the student's.
//!
//! The student owns a lab's *student modules*: for a module `m` of package
//! `p`, the file `p/src/m.rs` and everything under `p/src/m/` (so a student
//! may split a module into files of their own). Every other file, the crate
//! root `lib.rs` included, belongs to the framework: the grader builds a
//! submission with the staff's copy of each, and the source gate
//! (`gate`) checks only the student's.

/// One lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lab {
    /// Its package, as in `cargo test -p <package>`.
    pub package: &'static str,
    /// Its test target, as in `cargo test --test <target>`.
    pub test_target: &'static str,
    /// The file of its tests, relative to the repository's root.
    pub test_file: &'static str,
    /// The modules the student writes (see the module documentation).
    pub student_modules: &'static [&'static str],
}

/// Lab 2 (Raft) and lab 3 (the key/value service), in course order.
pub const LABS: &[Lab] = &[
    Lab {
        package: "raft",
        test_target: "raft_test",
        test_file: "raft/tests/raft_test.rs",
        student_modules: &["raft"],
    },
    Lab {
        package: "kvraft",
        test_target: "kvraft_test",
        test_file: "kvraft/tests/kvraft_test.rs",
        student_modules: &["client", "common", "server"],
    },
];

impl Lab {
    /// Whether `path` (relative to the repository's root, `/`-separated) is
    /// one of this lab's student files.
    pub fn owns(&self, path: &str) -> bool {
        let Some(rest) = path
            .strip_prefix(self.package)
            .and_then(|p| p.strip_prefix("/src/"))
        else {
            return false;
        };
        self.student_modules.iter().any(|module| {
            rest.strip_prefix(module)
                .is_some_and(|after| after == ".rs" || (after.starts_with('/') && after.len() > 1))
        })
    }
}

/// Whether `path` (relative to the repository's root) is a student file of
/// any lab.
pub fn is_student_file(path: &str) -> bool {
    LABS.iter().any(|lab| lab.owns(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_files_are_the_student_modules_and_what_is_under_them() {
        for path in [
            "raft/src/raft.rs",
            "raft/src/raft/log.rs",
            "raft/src/raft/deep/er.rs",
            "kvraft/src/server.rs",
            "kvraft/src/client/retry.rs",
        ] {
            assert!(is_student_file(path), "{path}");
        }
        for path in [
            "raft/src/lib.rs",
            "raft/src/debug.rs",
            "raft/src/raftx.rs",
            "raft/src/raft/",
            "raft/tests/raft_test.rs",
            "kvraft/src/lib.rs",
            "tester/src/raft.rs",
            "raft/Cargo.toml",
        ] {
            assert!(!is_student_file(path), "{path}");
        }
    }
}
