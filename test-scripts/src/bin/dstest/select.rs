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

/// A test that could be selected: its name and its binary's target name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub target: String,
}

/// Selects tests from `candidates` (in their order within each argument,
/// arguments in the order given, no test twice) and returns their indices.
///
/// An argument is, in this order of preference: a part, one digit and one
/// letter (`2A`, `3b`), selecting the names ending in `_2a`; an exact name;
/// or a piece of names, case-insensitive (`election`).
pub fn select(patterns: &[String], candidates: &[Candidate]) -> Result<Vec<usize>, SelectError> {
    let mut chosen: Vec<usize> = Vec::new();
    for pattern in patterns {
        let hits = matches(pattern, candidates)?;
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
    Ok(chosen)
}

fn matches(pattern: &str, candidates: &[Candidate]) -> Result<Vec<usize>, SelectError> {
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
        return Ok(hits);
    }
    let exact = indices_where(&|name| name == pattern);
    if !exact.is_empty() {
        return Ok(exact);
    }
    let piece = pattern.to_lowercase();
    let hits = indices_where(&|name| name.to_lowercase().contains(&piece));
    if hits.is_empty() {
        return Err(SelectError::NoMatch {
            pattern: pattern.to_string(),
            closest: closest(pattern, candidates),
        });
    }
    Ok(hits)
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
            })
            .collect()
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
