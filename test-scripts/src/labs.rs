//! The labs, as the tools see them: which package holds a lab's code, which
//! file its tests, and which files are the student's.
//!
//! The student owns a lab's *student modules*: for a module `m` of package
//! `p`, the file `p/src/m.rs` and everything under `p/src/m/` (so a student
//! may split a module into files of their own). Every other file, the crate
//! root `lib.rs` included, belongs to the framework: the grader builds a
//! submission with the staff's copy of each, and the source gate
//! (`gate`) checks only the student's.

use std::io;
use std::path::Path;
use std::sync::LazyLock;

/// One test suite of a lab: a row of `test-scripts/labs.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lab {
    /// The lab's number, with a `+` for its hardening suite: `2`, `2+`.
    pub lab: &'static str,
    /// The letters of its parts: `ABCD`.
    pub parts: &'static str,
    /// Its package, as in `cargo test -p <package>`.
    pub package: &'static str,
    /// Its test target, as in `cargo test --test <target>`.
    pub test_target: &'static str,
    /// The file of its tests, relative to the repository's root:
    /// `<package>/tests/<target>.rs`.
    pub test_file: String,
    /// The modules the student writes (see the module documentation).
    pub student_modules: Vec<&'static str>,
}

/// The harness's package: built on the labs' packages, so on the
/// student's code, like them.
pub const HARNESS: &str = "tester";

/// The table of the labs' test suites, as the repository holds it: what
/// make, dstest, the grader, the handout and the gate know of a lab.
pub const TABLE: &str = include_str!("../labs.txt");

/// The suites of [`TABLE`], in its order (course order, each lab's
/// hardening suite after it).
pub static LABS: LazyLock<Vec<Lab>> =
    LazyLock::new(|| parse_table(TABLE).unwrap_or_else(|e| panic!("test-scripts/labs.txt: {e}")));

/// Reads a table of labs: one suite per line, `lab parts package target
/// modules...`, `#` comments and blank lines skipped.
pub fn parse_table(table: &'static str) -> Result<Vec<Lab>, String> {
    let mut labs = Vec::new();
    for (number, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&'static str> = line.split_whitespace().collect();
        let [lab, parts, package, test_target, modules @ ..] = words.as_slice() else {
            return Err(format!(
                "line {}: expected `lab parts package target modules...`",
                number + 1
            ));
        };
        let well_formed = lab.trim_end_matches('+').parse::<u32>().is_ok()
            && !parts.is_empty()
            && parts.chars().all(|c| c.is_ascii_uppercase())
            && !modules.is_empty();
        if !well_formed {
            return Err(format!(
                "line {}: expected a lab number (2, or 2+ for a hardening suite), part letters \
                 (ABCD) and at least one student module",
                number + 1
            ));
        }
        labs.push(Lab {
            lab,
            parts,
            package,
            test_target,
            test_file: format!("{package}/tests/{test_target}.rs"),
            student_modules: modules.to_vec(),
        });
    }
    Ok(labs)
}

impl Lab {
    /// Its parts' names: `2A`, `2B`, ... (`2A+`, ... for a hardening suite).
    pub fn part_names(&self) -> Vec<String> {
        let (number, plus) = match self.lab.strip_suffix('+') {
            Some(number) => (number, "+"),
            None => (self.lab, ""),
        };
        self.parts
            .chars()
            .map(|letter| format!("{number}{letter}{plus}"))
            .collect()
    }

    /// The lab's tests, read from its test file under `root` (see
    /// [`test_names_in_source`]).
    pub fn test_names(&self, root: &Path) -> io::Result<Vec<String>> {
        std::fs::read_to_string(root.join(&self.test_file)).map(|s| test_names_in_source(&s))
    }

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

/// A part's name as the tools print it, from how a user or the points
/// table writes it: `2a` or `2A` is `2A`; `2a+` or `2A+` is `2A+`, the
/// hardening tests of 2A. Anything else is no part.
pub fn normalize_part(word: &str) -> Option<String> {
    let (base, plus) = match word.strip_suffix('+') {
        Some(base) => (base, "+"),
        None => (word, ""),
    };
    match base.as_bytes() {
        [lab, part] if lab.is_ascii_digit() && part.is_ascii_alphabetic() => {
            Some(format!("{}{plus}", base.to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// The part a test belongs to, from its name's suffix: `backup_2b` is in
/// `2B`, `votes_survive_a_crash_2c_plus` in `2C+`.
pub fn part_of(test: &str) -> Option<String> {
    let (base, plus) = match test.strip_suffix("_plus") {
        Some(base) => (base, "+"),
        None => (test, ""),
    };
    normalize_part(&format!("{}{plus}", base.rsplit_once('_')?.1))
}

/// How the names of a part's tests end: `_2a` for `2A`, `_2a_plus` for
/// `2A+` (`part` as [`normalize_part`] gives it).
pub fn part_suffix(part: &str) -> String {
    match part.strip_suffix('+') {
        Some(base) => format!("_{}_plus", base.to_lowercase()),
        None => format!("_{}", part.to_lowercase()),
    }
}

/// The test functions of a test file, in the file's order: the names of the
/// `fn`s that follow a `#[test]` attribute (on their line or the one
/// before). Read from the source, not the test binary, so that a submission
/// that does not compile can still be graded test by test, tests are
/// numbered in MIT's order, not alphabetically, and a name is checked
/// without building anything.
pub fn test_names_in_source(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut after_test_attribute = false;
    for line in source.lines().map(str::trim) {
        let line = match line.strip_prefix("#[test]") {
            Some(rest) => {
                after_test_attribute = true;
                rest.trim_start()
            }
            None => line,
        };
        if after_test_attribute && let Some(rest) = line.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            names.push(name);
            after_test_attribute = false;
        }
    }
    names
}

/// The lab whose tests include `test`, from the test files under `root`.
pub fn lab_of_test(root: &Path, test: &str) -> io::Result<Option<&'static Lab>> {
    for lab in LABS.iter() {
        if lab.test_names(root)?.iter().any(|name| name == test) {
            return Ok(Some(lab));
        }
    }
    Ok(None)
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
    fn test_names_are_read_in_file_order() {
        let src = "fn helper() {}\n#[test]\nfn b_2a() {\n}\n\n#[test]\nfn a_2a() {}\nfn x() {}\n\
                   #[test] fn c_2a() {}\n";
        assert_eq!(test_names_in_source(src), ["b_2a", "a_2a", "c_2a"]);
    }

    #[test]
    fn parts_come_from_name_suffixes() {
        assert_eq!(part_of("initial_election_2a").as_deref(), Some("2A"));
        assert_eq!(part_of("basic_3b").as_deref(), Some("3B"));
        assert_eq!(
            part_of("votes_survive_a_crash_2c_plus").as_deref(),
            Some("2C+")
        );
        assert_eq!(part_of("helper"), None);
        assert_eq!(part_of("fixture_passes"), None);
        assert_eq!(part_of("a_plus"), None);
        for (word, part) in [("2a", "2A"), ("3B", "3B"), ("2c+", "2C+")] {
            assert_eq!(normalize_part(word).as_deref(), Some(part));
        }
        for word in ["2", "2ab", "a2", "2a++", "+"] {
            assert_eq!(normalize_part(word), None, "{word}");
        }
        assert_eq!(part_suffix("2C+"), "_2c_plus");
        assert_eq!(part_suffix("3A"), "_3a");
    }

    #[test]
    fn every_test_is_of_a_part_its_suite_lists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for lab in LABS.iter() {
            let names = lab.test_names(&root).expect("the test files");
            assert!(!names.is_empty(), "{} has no tests", lab.test_file);
            for name in names {
                let part = part_of(&name);
                assert!(
                    part.as_ref().is_some_and(|p| lab.part_names().contains(p)),
                    "{name} in {} is of part {part:?}, not one of {:?}",
                    lab.test_file,
                    lab.part_names()
                );
            }
        }
    }

    #[test]
    fn a_bad_table_line_is_named() {
        let err = parse_table("2 ABCD raft raft_test raft\nx AB kvraft t m\n").unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        assert!(
            parse_table("2 AB raft raft_test\n").is_err(),
            "no student module"
        );
        assert_eq!(
            parse_table("# c\n\n2+ AB p t m n\n").unwrap()[0].part_names(),
            ["2A+", "2B+"]
        );
    }

    #[test]
    fn every_lab_test_has_its_lab() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let lab = |test| {
            lab_of_test(&root, test)
                .expect("the test files")
                .map(|l| l.package)
        };
        assert_eq!(lab("initial_election_2a"), Some("raft"));
        assert_eq!(lab("basic_3a"), Some("kvraft"));
        assert_eq!(lab("votes_survive_a_crash_2c_plus"), Some("raft"));
        assert_eq!(
            lab("late_duplicates_are_not_applied_again_3a_plus"),
            Some("kvraft")
        );
        assert_eq!(lab("basic_4a"), Some("shardctrler"));
        assert_eq!(lab("join_leave_4b"), Some("shardkv"));
        assert_eq!(lab("challenge2_partial_4b"), Some("shardkv"));
        assert_eq!(lab("no_such_test_2b"), None);
    }

    /// Lab 4 is two rows, one per part, each its own package: a part finds
    /// its row, a test its package, a file its owner.
    #[test]
    fn one_lab_may_have_a_row_per_part() {
        let labs = parse_table(
            "4 A shardctrler shardctrler_test client common server\n\
             4 B shardkv shardkv_test client common server\n",
        )
        .unwrap();
        assert_eq!(labs[0].part_names(), ["4A"]);
        assert_eq!(labs[1].part_names(), ["4B"]);
        assert_eq!(labs[1].test_file, "shardkv/tests/shardkv_test.rs");
        assert!(labs[1].owns("shardkv/src/server.rs") && !labs[0].owns("shardkv/src/server.rs"));
        for (test, part) in [
            ("multi_4a", "4A"),
            ("join_leave_4b", "4B"),
            ("challenge1_delete_4b", "4B"),
        ] {
            assert_eq!(part_of(test).as_deref(), Some(part), "{test}");
        }
        // And so in the repository's table.
        let suites: Vec<(&str, &str)> = LABS
            .iter()
            .filter(|lab| lab.lab == "4")
            .map(|lab| (lab.parts, lab.package))
            .collect();
        assert_eq!(suites, [("A", "shardctrler"), ("B", "shardkv")]);
    }

    #[test]
    fn student_files_are_the_student_modules_and_what_is_under_them() {
        for path in [
            "raft/src/raft.rs",
            "raft/src/raft/log.rs",
            "raft/src/raft/deep/er.rs",
            "kvraft/src/server.rs",
            "kvraft/src/client/retry.rs",
            "shardctrler/src/common.rs",
            "shardkv/src/server.rs",
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
            "shardkv/src/lib.rs",
            "tester/src/raft.rs",
            "raft/Cargo.toml",
        ] {
            assert!(!is_student_file(path), "{path}");
        }
    }
}
