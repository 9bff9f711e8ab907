//! Splitting a set of (test, run) pairs over machines: `--shard K/N`, the
//! K-th (from 1) of N disjoint slices, which together make the whole set.
//! dstest splits a sweep with it, the grader (`course`) a grading.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `--shard K/N`: the K-th (from 1) of N slices of the (test, run) pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// From 1 to `count`.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole set, as one slice.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Reads `K/N`, with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("expected K/N with 1 <= K <= N, like 1/4 (the first of 4 slices), not {text:?}")
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (Ok(index), Ok(count)) = (k.trim().parse::<usize>(), n.trim().parse::<usize>()) else {
            return Err(bad());
        };
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether run `run` (from 1) of test `test` (from 0) is this slice's:
    /// that of `(test + run - 1) mod N`. Each test's runs go round-robin
    /// over the slices, each test starting one slice further, so every
    /// slice gets its share of every test even when N divides the number of
    /// tests (a plain round-robin over the pairs would give each slice whole
    /// tests). A pair's slice depends on nothing else (the order the runs
    /// are made in, rounds), so the slices are disjoint and together make
    /// the whole set.
    pub fn owns(&self, test: usize, run: usize) -> bool {
        test.wrapping_add(run - 1) % self.count == self.index - 1
    }

    /// Checks that `shards` (each with the name of where it came from) are
    /// the N slices of one set, each exactly once: the same N, every K from
    /// 1 to N. The error names what differs, what is twice, or what is
    /// missing.
    pub fn check_complete(shards: &[(String, Shard)]) -> Result<(), String> {
        let Some((first_name, first)) = shards.first() else {
            return Err("no shard given".to_string());
        };
        if let Some((name, other)) = shards.iter().find(|(_, s)| s.count != first.count) {
            return Err(format!(
                "{first_name} is shard {first} but {name} is shard {other}: not the slices of \
                 one split"
            ));
        }
        let mut problems = Vec::new();
        for k in 1..=first.count {
            let with: Vec<&str> = shards
                .iter()
                .filter(|(_, s)| s.index == k)
                .map(|(name, _)| name.as_str())
                .collect();
            match with.len() {
                0 => problems.push(format!("shard {k}/{} is missing", first.count)),
                1 => {}
                _ => problems.push(format!(
                    "shard {k}/{} is given {} times ({})",
                    first.count,
                    with.len(),
                    with.join(", ")
                )),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_disjoint_and_make_the_whole() {
        for count in 1..=5 {
            for test in 0..4 {
                for run in 1..=7 {
                    let owners = (1..=count)
                        .filter(|&index| Shard { index, count }.owns(test, run))
                        .count();
                    assert_eq!(owners, 1, "test {test} run {run} of {count} slices");
                }
            }
        }
        assert!((0..3).all(|t| (1..=9).all(|r| Shard::WHOLE.owns(t, r))));
    }

    #[test]
    fn parse_takes_k_of_n_only() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse("2/3").unwrap().to_string(), "2/3");
        for bad in ["0/3", "4/3", "1", "a/b", "1/0", ""] {
            let err = Shard::parse(bad).unwrap_err();
            assert!(err.contains("1 <= K <= N"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_complete_set_is_every_slice_once() {
        let set = |list: &[(usize, usize)]| -> Vec<(String, Shard)> {
            list.iter()
                .map(|&(index, count)| (format!("p{index}"), Shard { index, count }))
                .collect()
        };
        assert_eq!(
            Shard::check_complete(&set(&[(2, 3), (1, 3), (3, 3)])),
            Ok(())
        );
        let err = Shard::check_complete(&set(&[(1, 3), (3, 3)])).unwrap_err();
        assert_eq!(err, "shard 2/3 is missing");
        let err = Shard::check_complete(&set(&[(1, 2), (1, 2), (2, 2)])).unwrap_err();
        assert!(err.contains("shard 1/2 is given 2 times (p1, p1)"), "{err}");
        let err = Shard::check_complete(&set(&[(1, 2), (2, 3)])).unwrap_err();
        assert!(err.contains("p1 is shard 1/2 but p2 is shard 2/3"), "{err}");
        assert!(Shard::check_complete(&[]).is_err());
    }
}
