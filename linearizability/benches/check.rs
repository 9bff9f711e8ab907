//! Checking time on porcupine's six recorded histories, next to Go
//! porcupine's on this machine, on histories recorded from our own lab 3
//! tests, and on larger generated histories.
//!
//! Run with `cargo bench -p linearizability`. Each figure is the median of
//! several runs; the ratio is Go's time over ours (above 1: we are faster).
//! "quick" is `check_operations` (what Go's figures measure: stop at the
//! first illegal partition, keep nothing); "verbose" is what the lab tests
//! run, which also keeps the prefixes for the explanation.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use common::{Bug, LAB_RECORDED, RECORDED, Spec, generate, lab_recorded_path, recorded_dir};
use labrt::time::{Duration, Instant};
use linearizability::{
    CheckResult, KvInput, KvModel, KvOp, KvOutput, Model, Operation, Step, check_operations,
    check_operations_verbose, read_kv_history,
};

/// Go porcupine's times here (ms), from the histories' README.
const GO_MS: [(&str, f64); 6] = [
    ("c01-ok", 0.13),
    ("c01-bad", 0.06),
    ("c10-ok", 0.94),
    ("c10-bad", 0.61),
    ("c50-ok", 108.7),
    ("c50-bad", 11.8),
];

/// Go porcupine's times without partitioning (the whole history, one state
/// for all keys), from the same README.
const GO_UNPARTITIONED_MS: [(&str, f64); 2] = [("c10-ok", 1540.0), ("c10-bad", 1860.0)];

/// Runs `f` at least 11 times and for at least a second (at most 201
/// times), and returns the median time in milliseconds.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 11 || (start.elapsed() < Duration::from_secs(1) && samples.len() < 201) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn expect<M>(model: M, history: &[Operation<M::Input, M::Output>], want: CheckResult)
where
    M: Model,
    M::Input: Clone,
    M::Output: Clone,
{
    let got = check_operations(model, history.to_vec(), None).expect("a valid history");
    assert_eq!(got, want, "wrong verdict");
}

fn main() {
    println!("linearizability checker: median time to check one history (ms); ratio = Go / ours");
    println!(
        "{:<10} {:>6}  {:>9} {:>9}  {:>9}  {:>7}",
        "history", "ops", "quick", "verbose", "Go", "ratio"
    );
    let dir = recorded_dir();
    let mut ratios = Vec::new();
    let mut recorded = BTreeMap::new();
    for ((name, linearizable), (go_name, go_ms)) in RECORDED.into_iter().zip(GO_MS) {
        assert_eq!(name, go_name);
        let history = read_kv_history(dir.join(format!("{name}.txt"))).unwrap();
        let want = if linearizable {
            CheckResult::Ok
        } else {
            CheckResult::Illegal
        };
        expect(KvModel, &history, want);
        let quick = median_ms(|| {
            check_operations(KvModel, history.clone(), None).unwrap();
        });
        let verbose = median_ms(|| {
            check_operations_verbose(KvModel, history.clone(), None).unwrap();
        });
        ratios.push(go_ms / quick);
        println!(
            "{name:<10} {:>6}  {quick:>9.3} {verbose:>9.3}  {go_ms:>9.2}  {:>6.1}x",
            history.len(),
            go_ms / quick
        );
        recorded.insert(name, history);
    }
    let geomean = ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64;
    println!("geometric mean of the ratios: {:.1}x", geomean.exp());

    println!(
        "\nwithout partitioning (one state for all keys: the search itself, on a harder problem)"
    );
    for (name, go_ms) in GO_UNPARTITIONED_MS {
        let history = &recorded[name];
        expect(
            WholeStore,
            history,
            if name.ends_with("ok") {
                CheckResult::Ok
            } else {
                CheckResult::Illegal
            },
        );
        let quick = median_ms(|| {
            check_operations(WholeStore, history.clone(), None).unwrap();
        });
        println!(
            "{name:<10} {:>6}  {quick:>9.1}            {go_ms:>9.0}  {:>6.1}x",
            history.len(),
            go_ms / quick
        );
    }

    println!("\nrecorded from raftlab's lab 3 tests (15 clients, 7 servers, random keys)");
    for name in LAB_RECORDED {
        let history = read_kv_history(lab_recorded_path(name)).unwrap();
        expect(KvModel, &history, CheckResult::Ok);
        let quick = median_ms(|| {
            check_operations(KvModel, history.clone(), None).unwrap();
        });
        let verbose = median_ms(|| {
            check_operations_verbose(KvModel, history.clone(), None).unwrap();
        });
        println!(
            "{:<66} {:>6}  {quick:>9.3} {verbose:>9.3}",
            name,
            history.len()
        );
    }

    println!("\ngenerated histories (clients x operations each, keys, latency)");
    for (clients, ops_per_client, keys, latency) in
        [(50, 60, 10, 20), (15, 1000, 15, 20), (5, 2000, 3, 20)]
    {
        let spec = Spec {
            seed: 1,
            clients,
            ops_per_client,
            keys,
            latency,
        };
        let clean = generate(spec, Bug::None);
        let buggy = generate(spec, Bug::LostAppend);
        expect(KvModel, &clean, CheckResult::Ok);
        expect(KvModel, &buggy, CheckResult::Illegal);
        let ok = median_ms(|| {
            check_operations_verbose(KvModel, clean.clone(), None).unwrap();
        });
        let bad = median_ms(|| {
            check_operations_verbose(KvModel, buggy.clone(), None).unwrap();
        });
        println!(
            "{clients:>3} x {ops_per_client:<5} {keys:>2} keys, latency {latency:>2}: {:>6} ops   \
             linearizable {ok:>8.2} ms   with a lost append {bad:>8.2} ms   (verbose)",
            clean.len()
        );
    }
}

/// The key/value store as one object (porcupine's `kvNoPartitionModel`):
/// every key in one state, so the search sees all operations at once.
#[derive(Clone, Copy)]
struct WholeStore;

impl Model for WholeStore {
    type Input = KvInput;
    type Output = KvOutput;
    type State = BTreeMap<String, String>;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &KvInput,
        output: Option<&KvOutput>,
    ) -> Step<Self::State> {
        let current = state.get(&input.key).map_or("", String::as_str);
        let write = |value: String| {
            let mut next = state.clone();
            next.insert(input.key.clone(), value);
            Step::Changed(next)
        };
        match input.op {
            KvOp::Get if output.is_none_or(|o| o.value == current) => Step::Unchanged,
            KvOp::Get => Step::Illegal,
            KvOp::Put => write(input.value.clone()),
            KvOp::Append => write(format!("{current}{}", input.value)),
        }
    }
}
