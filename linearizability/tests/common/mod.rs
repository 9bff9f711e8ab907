//! Shared by the tests and the benchmark (which includes this file by
//! path): generated key/value histories, with or without an injected bug,
//! and the recorded histories with known verdicts.
//!
//! Each includer uses only part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use linearizability::{KvOp, KvOperation};

/// The six recorded porcupine histories and whether each is linearizable.
pub const RECORDED: [(&str, bool); 6] = [
    ("c01-ok", true),
    ("c01-bad", false),
    ("c10-ok", true),
    ("c10-bad", false),
    ("c50-ok", true),
    ("c50-bad", false),
];

/// Histories recorded from raftlab's own lab 3 tests (with
/// `LAB_SAVE_HISTORY`, reference solution), all linearizable: 15 clients on
/// 7 servers, unreliable network, restarts, partitions, random keys.
pub const LAB_RECORDED: [&str; 2] = [
    "persist_partition_unreliable_linearizable_3a",
    "snapshot_unreliable_recover_concurrent_partition_linearizable_3b",
];

/// Where [`LAB_RECORDED`] are: `tests/histories/<name>.edn`.
pub fn lab_recorded_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/histories/{name}.edn"))
}

/// Where porcupine's recorded histories are: `tests/histories/porcupine-kv`
/// (their README says where they come from). Panics if they are missing: a
/// test that silently skipped them would pass without checking anything.
pub fn recorded_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine-kv");
    assert!(
        dir.join("c01-ok.txt").is_file(),
        "the recorded histories are missing: expected {}",
        dir.display()
    );
    dir
}

/// A small deterministic generator (splitmix64), so that a failing seed can
/// be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The shape of a generated history.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub seed: u64,
    pub clients: usize,
    pub ops_per_client: usize,
    pub keys: usize,
    /// An operation runs for up to twice this (call to linearization point,
    /// then to return); larger means more overlap, a harder search.
    pub latency: u64,
}

/// A bug to inject into a generated history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    None,
    /// A get returns the value from before an append that returned before
    /// the get was called.
    StaleRead,
    /// An append returns, but the store never applies it.
    LostAppend,
    /// A stale read as above, but of the last append a later get must see:
    /// the longest linearizable prefix is most of the key's history.
    LateStaleRead,
}

/// A history of a correct store, or of one with `bug`.
///
/// Each client runs operations one after another (key uniform, 1/2 append,
/// 2/5 get, 1/10 put, values `x <client> <j> y` all distinct); every
/// operation takes effect at a random point between its call and its return,
/// and the outputs are what a store applying them in that order returns,
/// so the clean history is linearizable by construction.
///
/// Puts never go to key "0", so its value only grows: a read that misses
/// an append which returned before the read was called is illegal in every
/// order. That is where the bugs go, so a buggy history is certainly not
/// linearizable. Panics if the history has no place for the bug (make it
/// longer).
pub fn generate(spec: Spec, bug: Bug) -> Vec<KvOperation> {
    let mut rng = Rng::new(spec.seed);
    struct Planned {
        client: usize,
        op: KvOp,
        key: String,
        value: String,
        call: u64,
        point: u64,
        ret: u64,
    }
    let mut plan: Vec<Planned> = Vec::new();
    for client in 0..spec.clients {
        let mut t = rng.below(spec.latency + 1);
        for j in 0..spec.ops_per_client {
            let key = rng.below(spec.keys as u64);
            let op = match rng.below(10) {
                0..5 => KvOp::Append,
                5..9 => KvOp::Get,
                _ if key == 0 => KvOp::Append,
                _ => KvOp::Put,
            };
            let point = t + rng.below(spec.latency + 1);
            let ret = point + rng.below(spec.latency + 1);
            plan.push(Planned {
                client,
                op,
                key: key.to_string(),
                value: if op == KvOp::Get {
                    String::new()
                } else {
                    format!("x {client} {j} y")
                },
                call: t,
                point,
                ret,
            });
            t = ret + 1 + rng.below(spec.latency / 2 + 1);
        }
    }

    // Which operation the bug hits: the first append to key "0" (in effect
    // order) that a later get of key "0" must see.
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&i| (plan[i].point, plan[i].client));
    let must_see = |a: &Planned, g: &Planned| a.ret < g.call && g.op == KvOp::Get && g.key == a.key;
    let victim = (bug != Bug::None).then(|| {
        let candidate = |&a: &usize| {
            plan[a].op == KvOp::Append
                && plan[a].key == "0"
                && plan.iter().any(|g| must_see(&plan[a], g))
        };
        let found = if bug == Bug::LateStaleRead {
            order.iter().copied().rfind(candidate)
        } else {
            order.iter().copied().find(candidate)
        };
        found.expect("no append to key \"0\" that a later get must see: generate more operations")
    });
    // For a stale read: the first get that must see the victim.
    let stale = matches!(bug, Bug::StaleRead | Bug::LateStaleRead);
    let stale_get = victim.filter(|_| stale).and_then(|a| {
        order
            .iter()
            .copied()
            .find(|&g| must_see(&plan[a], &plan[g]))
    });

    let mut values: std::collections::HashMap<String, String> = Default::default();
    let mut outputs = vec![String::new(); plan.len()];
    let mut before_victim = String::new();
    for &i in &order {
        let p = &plan[i];
        let value = values.entry(p.key.clone()).or_default();
        if Some(i) == victim {
            before_victim = value.clone();
            if bug == Bug::LostAppend {
                continue;
            }
        }
        match p.op {
            KvOp::Get => {
                outputs[i] = if Some(i) == stale_get {
                    before_victim.clone()
                } else {
                    value.clone()
                }
            }
            KvOp::Put => *value = p.value.clone(),
            KvOp::Append => value.push_str(&p.value),
        }
    }
    plan.iter()
        .zip(outputs)
        .map(|(p, out)| match p.op {
            KvOp::Get => KvOperation::get(p.client, &p.key, &out, p.call, p.ret),
            KvOp::Put => KvOperation::put(p.client, &p.key, &p.value, p.call, p.ret),
            KvOp::Append => KvOperation::append(p.client, &p.key, &p.value, p.call, p.ret),
        })
        .collect()
}
