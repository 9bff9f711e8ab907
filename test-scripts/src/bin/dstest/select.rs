//! Turning dstest's test arguments into tests: exact names, parts (`2A`),
//! or pieces of names.

use std::fmt;

use test_scripts::labs::{self, normalize_part, part_of};

/// How many existing names an error suggests for one that matched nothing.
const SUGGESTIONS: usize = 3;

/// Why some arguments selected no test, or selected one ambiguously.
#[derive(Debug, PartialEq, Eq)]
pub enum SelectError {
    /// `pattern` is no test's name, part or piece of name; `closest` are the
    /// nearest names by edit distance.
    NoMatch {
        pattern: String,
        closest: Vec<String>,
    },
    /// `part` (like `2E`) has no test; `parts` are those that do.
    NoPart { part: String, parts: Vec<String> },
    /// Two selected tests have the same name, in two test binaries.
    Ambiguous { test: String, targets: Vec<String> },
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::NoMatch { pattern, closest } => write!(
                f,
                "no test is named {pattern:?} or has it in its name; closest: {}",
                closest.join(", ")
            ),
            SelectError::NoPart { part, parts } => write!(
                f,
                "no test of part {part} (no name ends in {}); parts: {}",
                labs::part_suffix(part),
                parts.join(", ")
            ),
            SelectError::Ambiguous { test, targets } => write!(
                f,
                "{test:?} is a test of each of {}; choose one with --test",
                targets.join(", ")
            ),
        }
    }
}

/// A test that could be selected: its name, its binary's target name, and
/// the lab of its suite (the `lab` column of `test-scripts/labs.txt`: `2`,
/// `2+`, `3`, ...), if its binary is a lab's suite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub target: String,
    pub lab: Option<String>,
}

/// The tests an argument that is a piece of names selected in more than one
/// lab (`persist`: lab 2's `persist1_2c` and lab 3's `persist_concurrent_3a`):
/// selected, but worth a warning, as a student working on one lab seldom
/// means another lab's tests, which fail on its stubs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossLab {
    pub pattern: String,
    /// Each lab (`None`: tests of no lab's suite) with its suites' targets
    /// and the tests selected in it, in the candidates' order.
    pub labs: Vec<LabTests>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabTests {
    pub lab: Option<String>,
    pub targets: Vec<String>,
    pub tests: Vec<String>,
}

impl fmt::Display for CrossLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:?} is a piece of the names of tests of {} labs, and selects them all:",
            self.pattern,
            self.labs.len()
        )?;
        for lab in &self.labs {
            let name = match &lab.lab {
                Some(lab) => format!("lab {lab}"),
                None => "no lab".to_string(),
            };
            writeln!(
                f,
                "  {name} ({}): {}",
                lab.targets.join(", "),
                lab.tests.join(", ")
            )?;
        }
        let example = self
            .labs
            .iter()
            .find_map(|lab| lab.lab.as_deref())
            .unwrap_or("2");
        write!(
            f,
            "  to run the tests of some labs only, add --lab for each (e.g. --lab {example}), or \
             name parts (like 2B) or whole test names"
        )
    }
}

/// What [`select`] chose: the candidates' indices, and the arguments that
/// reached across labs.
#[derive(Debug, PartialEq, Eq)]
pub struct Selection {
    pub chosen: Vec<usize>,
    pub cross_lab: Vec<CrossLab>,
}

/// Selects tests from `candidates` (in their order within each argument,
/// arguments in the order given, no test twice) and returns their indices.
///
/// An argument is, in this order of preference: a part, one digit and one
/// letter (`2A`, `3b`), selecting the names ending in `_2a`; an exact name;
/// or a piece of names, case-insensitive (`election`). A piece that selects
/// tests of more than one lab is reported in [`Selection::cross_lab`].
pub fn select(patterns: &[String], candidates: &[Candidate]) -> Result<Selection, SelectError> {
    let mut chosen: Vec<usize> = Vec::new();
    let mut cross_lab = Vec::new();
    for pattern in patterns {
        let (hits, piece) = matches(pattern, candidates)?;
        if piece && let Some(warning) = across_labs(pattern, &hits, candidates) {
            cross_lab.push(warning);
        }
        for hit in hits {
            if !chosen.contains(&hit) {
                chosen.push(hit);
            }
        }
    }
    for (i, &a) in chosen.iter().enumerate() {
        let name = &candidates[a].name;
        let targets: Vec<String> = chosen[i..]
            .iter()
            .filter(|&&b| candidates[b].name == *name)
            .map(|&b| candidates[b].target.clone())
            .collect();
        if targets.len() > 1 {
            return Err(SelectError::Ambiguous {
                test: name.clone(),
                targets,
            });
        }
    }
    Ok(Selection { chosen, cross_lab })
}

/// The warning for `pattern` if its `hits` are tests of more than one lab.
fn across_labs(pattern: &str, hits: &[usize], candidates: &[Candidate]) -> Option<CrossLab> {
    let mut labs: Vec<LabTests> = Vec::new();
    for &hit in hits {
        let candidate = &candidates[hit];
        let group = match labs.iter().position(|g| g.lab == candidate.lab) {
            Some(i) => &mut labs[i],
            None => {
                labs.push(LabTests {
                    lab: candidate.lab.clone(),
                    targets: Vec::new(),
                    tests: Vec::new(),
                });
                labs.last_mut().expect("just pushed")
            }
        };
        if !group.targets.contains(&candidate.target) {
            group.targets.push(candidate.target.clone());
        }
        group.tests.push(candidate.name.clone());
    }
    (labs.len() > 1).then(|| CrossLab {
        pattern: pattern.to_string(),
        labs,
    })
}

/// The indices of the tests `pattern` selects, and whether it selected them
/// as a piece of their names.
fn matches(pattern: &str, candidates: &[Candidate]) -> Result<(Vec<usize>, bool), SelectError> {
    let indices_where = |keep: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..candidates.len())
            .filter(|&i| keep(&candidates[i].name))
            .collect()
    };
    if let Some(suffix) = part_suffix(pattern) {
        let hits = indices_where(&|name| name.ends_with(&suffix));
        if hits.is_empty() {
            return Err(SelectError::NoPart {
                part: normalize_part(pattern).unwrap_or_default(),
                parts: parts(candidates),
            });
        }
        return Ok((hits, false));
    }
    let exact = indices_where(&|name| name == pattern);
    if !exact.is_empty() {
        return Ok((exact, false));
    }
    let piece = pattern.to_lowercase();
    let hits = indices_where(&|name| name.to_lowercase().contains(&piece));
    if hits.is_empty() {
        return Err(SelectError::NoMatch {
            pattern: pattern.to_string(),
            closest: closest(pattern, candidates),
        });
    }
    Ok((hits, true))
}

/// `_2a` for the part `2A` or `2a`, `_2a_plus` for `2A+`; `None` if
/// `pattern` is not a part.
fn part_suffix(pattern: &str) -> Option<String> {
    normalize_part(pattern).map(|part| labs::part_suffix(&part))
}

/// The parts that have tests (`2A`, `2B`, …), sorted.
fn parts(candidates: &[Candidate]) -> Vec<String> {
    let mut parts: Vec<String> = candidates.iter().filter_map(|c| part_of(&c.name)).collect();
    parts.sort();
    parts.dedup();
    parts
}

/// The [`SUGGESTIONS`] names nearest to `pattern` by edit distance.
pub fn closest(pattern: &str, candidates: &[Candidate]) -> Vec<String> {
    let mut names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    names.sort_by_key(|name| (strsim::levenshtein(pattern, name), *name));
    names.dedup();
    names
        .into_iter()
        .take(SUGGESTIONS)
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(names: &[(&str, &str)]) -> Vec<Candidate> {
        names
            .iter()
            .map(|(target, name)| Candidate {
                name: name.to_string(),
                target: target.to_string(),
                lab: match *target {
                    "raft_test" => Some("2".to_string()),
                    "kvraft_test" => Some("3".to_string()),
                    _ => None,
                },
            })
            .collect()
    }

    /// The indices `select` chose, or its error.
    fn select(patterns: &[String], candidates: &[Candidate]) -> Result<Vec<usize>, SelectError> {
        super::select(patterns, candidates).map(|s| s.chosen)
    }

    /// Lab 2's persist and figure8 tests, lab 3's persist ones, and a test
    /// of no lab.
    fn two_labs() -> Vec<Candidate> {
        candidates(&[
            ("raft_test", "figure8_2c"),
            ("raft_test", "persist1_2c"),
            ("raft_test", "persist2_2c"),
            ("kvraft_test", "persist_one_client_3a"),
            ("kvraft_test", "persist_concurrent_3a"),
            ("labrt_test", "persisted_state"),
        ])
    }

    #[test]
    fn a_piece_that_reaches_across_labs_is_reported() {
        let both = &two_labs()[..5];
        let selection = super::select(&args(&["figure8", "2C", "persist", "basic"]), both);
        assert!(selection.is_err(), "basic matches nothing");
        let selection =
            super::select(&args(&["figure8", "2C", "persist", "persist1_2c"]), both).unwrap();
        assert_eq!(selection.chosen, [0, 1, 2, 3, 4]);
        assert_eq!(
            selection.cross_lab,
            [CrossLab {
                pattern: "persist".to_string(),
                labs: vec![
                    LabTests {
                        lab: Some("2".to_string()),
                        targets: vec!["raft_test".to_string()],
                        tests: vec!["persist1_2c".to_string(), "persist2_2c".to_string()],
                    },
                    LabTests {
                        lab: Some("3".to_string()),
                        targets: vec!["kvraft_test".to_string()],
                        tests: vec![
                            "persist_one_client_3a".to_string(),
                            "persist_concurrent_3a".to_string()
                        ],
                    },
                ],
            }]
        );
        assert_eq!(
            selection.cross_lab[0].to_string(),
            "\"persist\" is a piece of the names of tests of 2 labs, and selects them all:\n\
             \x20 lab 2 (raft_test): persist1_2c, persist2_2c\n\
             \x20 lab 3 (kvraft_test): persist_one_client_3a, persist_concurrent_3a\n\
             \x20 to run the tests of some labs only, add --lab for each (e.g. --lab 2), or name \
             parts (like 2B) or whole test names"
        );
    }

    #[test]
    fn tests_of_no_lab_are_a_group_of_their_own() {
        let selection = super::select(&args(&["PERSIST"]), &two_labs()).unwrap();
        let labs: Vec<_> = selection.cross_lab[0]
            .labs
            .iter()
            .map(|g| g.lab.clone())
            .collect();
        assert_eq!(labs, [Some("2".to_string()), Some("3".to_string()), None]);
        let warning = selection.cross_lab[0].to_string();
        assert!(
            warning.starts_with("\"PERSIST\" is a piece of the names of tests of 3 labs")
                && warning.contains("\n  no lab (labrt_test): persisted_state\n"),
            "{warning}"
        );
    }

    #[test]
    fn parts_names_and_pieces_of_one_lab_are_not_reported() {
        let both = two_labs();
        for patterns in [
            &["2C", "3A"][..],
            &["figure8"],
            &["persist1_2c"],
            &["persist_"],
        ] {
            let selection = super::select(&args(patterns), &both).unwrap();
            assert!(selection.cross_lab.is_empty(), "{patterns:?}");
        }
    }

    fn lab() -> Vec<Candidate> {
        candidates(&[
            ("raft_test", "initial_election_2a"),
            ("raft_test", "re_election_2a"),
            ("raft_test", "basic_agree_2b"),
            ("raft_test", "persist1_2c"),
            ("raft_test", "figure8_unreliable_2c"),
        ])
    }

    fn args(patterns: &[&str]) -> Vec<String> {
        patterns.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn parts_in_either_case() {
        assert_eq!(select(&args(&["2A"]), &lab()), Ok(vec![0, 1]));
        assert_eq!(select(&args(&["2c", "2b"]), &lab()), Ok(vec![3, 4, 2]));
    }

    #[test]
    fn exact_names_before_pieces() {
        let agree = candidates(&[("t", "agree_2b"), ("t", "fail_agree_2b")]);
        assert_eq!(select(&args(&["agree_2b"]), &agree), Ok(vec![0]));
        assert_eq!(select(&args(&["Agree"]), &agree), Ok(vec![0, 1]));
    }

    #[test]
    fn no_test_twice() {
        assert_eq!(select(&args(&["2A", "initial"]), &lab()), Ok(vec![0, 1]));
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let err = select(&args(&["initial_eletion_2a"]), &lab()).unwrap_err();
        let SelectError::NoMatch { closest, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(closest[0], "initial_election_2a");
        assert_eq!(closest.len(), SUGGESTIONS);
        assert!(err.to_string().contains("closest: initial_election_2a, "));
    }

    #[test]
    fn unknown_part_lists_the_parts() {
        let err = select(&args(&["2D"]), &lab()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no test of part 2D (no name ends in _2d); parts: 2A, 2B, 2C"
        );
    }

    #[test]
    fn same_name_in_two_binaries_is_ambiguous() {
        let both = candidates(&[("a_test", "basic"), ("b_test", "basic")]);
        assert_eq!(
            select(&args(&["basic"]), &both),
            Err(SelectError::Ambiguous {
                test: "basic".to_string(),
                targets: vec!["a_test".to_string(), "b_test".to_string()],
            })
        );
    }
}
