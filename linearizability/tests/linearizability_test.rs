//! The checker against histories whose verdict is known: hand-built ones,
//! generated ones with and without an injected bug, porcupine's six
//! recorded histories and two of our own lab tests'; its errors, time limits, summary and visualization.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Bug, LAB_RECORDED, RECORDED, Spec, generate, lab_recorded_path, recorded_dir};
use linearizability::{
    Budget, CheckResult, Checked, Failure, HistoryError, KvModel, KvOperation, Model, Operation,
    Step, check_history, check_operations, check_operations_verbose, parse_kv_history,
    read_kv_history,
};

fn check(history: Vec<KvOperation>) -> CheckResult {
    check_operations(KvModel, history, None).expect("a valid history")
}

/// Checks both ways (stopping at the first illegal partition, and verbose)
/// and insists they agree.
fn verdict(history: Vec<KvOperation>) -> CheckResult {
    let quick = check(history.clone());
    let (verbose, info) = check_operations_verbose(KvModel, history, None).unwrap();
    assert_eq!(quick, verbose, "the quick and the verbose check disagree");
    assert_eq!(info.result(), verbose);
    verbose
}

use KvOperation as Op;

#[test]
fn sequential_history_is_linearizable() {
    let history = vec![
        Op::put(0, "k", "a", 0, 10),
        Op::get(0, "k", "a", 20, 30),
        Op::append(0, "k", "b", 40, 50),
        Op::get(0, "k", "ab", 60, 70),
        Op::get(1, "missing", "", 80, 90),
    ];
    assert_eq!(verdict(history), CheckResult::Ok);
}

#[test]
fn read_after_a_completed_write_must_see_it() {
    let history = vec![Op::put(0, "k", "a", 0, 10), Op::get(1, "k", "", 20, 30)];
    assert_eq!(verdict(history), CheckResult::Illegal);
}

#[test]
fn concurrent_reads_may_see_either_value() {
    // The put of "b" overlaps both gets: each may see "a" or "b"...
    let history = vec![
        Op::put(0, "k", "a", 0, 10),
        Op::put(1, "k", "b", 15, 100),
        Op::get(2, "k", "a", 20, 30),
        Op::get(3, "k", "b", 40, 50),
    ];
    assert_eq!(verdict(history.clone()), CheckResult::Ok);
    // ...but once one read saw "b", a later read cannot see "a" again.
    let mut inverted = history;
    inverted[2] = Op::get(2, "k", "b", 20, 30);
    inverted[3] = Op::get(3, "k", "a", 40, 50);
    assert_eq!(verdict(inverted), CheckResult::Illegal);
}

#[test]
fn touching_operations_are_concurrent() {
    // The get is called at the very moment the put returns: either order.
    let history = vec![Op::put(0, "k", "a", 0, 10), Op::get(1, "k", "", 10, 20)];
    assert_eq!(verdict(history), CheckResult::Ok);
}

#[test]
fn appends_apply_in_one_order_for_everyone() {
    let history = vec![
        Op::append(0, "k", "x", 0, 50),
        Op::append(1, "k", "y", 0, 50),
        Op::get(2, "k", "yx", 60, 70),
        Op::get(3, "k", "yx", 60, 70),
    ];
    assert_eq!(verdict(history.clone()), CheckResult::Ok);
    let mut split = history;
    split[3] = Op::get(3, "k", "xy", 60, 70);
    assert_eq!(verdict(split), CheckResult::Illegal);
}

#[test]
fn a_lost_append_is_caught() {
    let history = vec![
        Op::append(0, "k", "x", 0, 10),
        Op::append(1, "k", "y", 20, 30),
        Op::get(0, "k", "y", 40, 50),
    ];
    assert_eq!(verdict(history), CheckResult::Illegal);
}

#[test]
fn an_operation_without_a_reply_may_take_effect_later_or_never() {
    // Client 0's put timed out at 10: it may land at any later time...
    let lost = Op::put(0, "k", "a", 0, 10).no_reply();
    let sees = |value, call, ret| Op::get(1, "k", value, call, ret);
    assert_eq!(
        verdict(vec![lost.clone(), sees("", 20, 30)]),
        CheckResult::Ok
    );
    assert_eq!(
        verdict(vec![lost.clone(), sees("a", 20, 30)]),
        CheckResult::Ok
    );
    // ...long after the client gave up, or never...
    let later = vec![lost.clone(), sees("", 20, 30), sees("a", 1000, 1010)];
    assert_eq!(verdict(later), CheckResult::Ok);
    // ...but once, for everyone.
    let flicker = vec![lost.clone(), sees("a", 20, 30), sees("", 40, 50)];
    assert_eq!(verdict(flicker.clone()), CheckResult::Illegal);
    // A get without a reply constrains nothing.
    let blind = vec![lost, Op::get(2, "k", "zzz", 5, 6).no_reply()];
    assert_eq!(verdict(blind), CheckResult::Ok);

    let (_, info) = check_operations_verbose(KvModel, flicker, None).unwrap();
    let summary = info.summary();
    assert!(
        summary.contains("client 0: put('k', 'a')  (called 0, no reply)"),
        "{summary}"
    );
    assert!(!summary.contains(&u64::MAX.to_string()), "{summary}");
    let no_reply = KvModel.describe_operation(&Op::get(2, "k", "v", 0, 1).input, None);
    assert_eq!(no_reply, "get('k') -> no reply");
}

#[test]
fn keys_are_checked_independently() {
    // Each key alone is fine; the interleaving across keys does not matter.
    let history = vec![
        Op::put(0, "a", "1", 0, 10),
        Op::put(1, "b", "2", 5, 15),
        Op::get(0, "b", "2", 20, 30),
        Op::get(1, "a", "1", 20, 30),
    ];
    assert_eq!(verdict(history.clone()), CheckResult::Ok);
    let mut bad = history;
    bad[3] = Op::get(1, "a", "2", 20, 30);
    assert_eq!(verdict(bad), CheckResult::Illegal);
}

#[test]
fn kv_model_describes_operations_like_porcupine() {
    let describe = |op: &KvOperation| KvModel.describe_operation(&op.input, op.output.as_ref());
    assert_eq!(describe(&Op::get(0, "k", "v", 0, 1)), "get('k') -> 'v'");
    assert_eq!(describe(&Op::put(0, "k", "v", 0, 1)), "put('k', 'v')");
    assert_eq!(describe(&Op::append(0, "k", "v", 0, 1)), "append('k', 'v')");
    assert_eq!(KvModel.describe_partition("k"), "key 'k'");
}

#[test]
fn generated_histories_pass_clean_and_fail_with_a_bug() {
    for seed in 0..30 {
        let spec = Spec {
            seed,
            clients: 6,
            ops_per_client: 40,
            keys: 3,
            latency: 20,
        };
        assert_eq!(
            check(generate(spec, Bug::None)),
            CheckResult::Ok,
            "clean history, seed {seed}"
        );
        for bug in [Bug::StaleRead, Bug::LostAppend] {
            assert_eq!(
                verdict(generate(spec, bug)),
                CheckResult::Illegal,
                "{bug:?}, seed {seed}"
            );
        }
    }
}

#[test]
fn a_hard_partition_does_not_hold_up_an_illegal_one() {
    // Eight clients appending to one key at once: far too many orders to
    // search in a test's time. Next to it, a plainly stale read of key "z".
    let spec = Spec {
        seed: 1,
        clients: 8,
        ops_per_client: 500,
        keys: 1,
        latency: 10,
    };
    let mut history = generate(spec, Bug::None);
    history.push(Op::put(100, "z", "a", 0, 10));
    history.push(Op::get(101, "z", "", 20, 30));
    assert_eq!(check(history.clone()), CheckResult::Illegal);
    let (result, info) = check_operations_verbose(KvModel, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    assert_eq!(
        info.partition_results(),
        vec![("0", CheckResult::Unknown), ("z", CheckResult::Illegal)],
        "the hard key is stopped once the verdict is known"
    );
}

#[test]
fn recorded_histories_get_their_known_verdicts() {
    let dir = recorded_dir();
    for (name, linearizable) in RECORDED {
        let history = read_kv_history(dir.join(format!("{name}.txt"))).unwrap();
        let expected = if linearizable {
            CheckResult::Ok
        } else {
            CheckResult::Illegal
        };
        assert_eq!(verdict(history), expected, "{name}");
    }
}

#[test]
fn histories_of_our_lab_tests_are_linearizable() {
    for name in LAB_RECORDED {
        let history = read_kv_history(lab_recorded_path(name)).unwrap();
        assert!(
            history.len() > 1000,
            "{name}: only {} operations",
            history.len()
        );
        assert_eq!(verdict(history), CheckResult::Ok, "{name}");
    }
}

#[test]
fn linearizations_found_are_legal_and_respect_real_time() {
    let dir = recorded_dir();
    for name in ["c10-ok", "c10-bad"] {
        let history = read_kv_history(dir.join(format!("{name}.txt"))).unwrap();
        let (result, info) = check_operations_verbose(KvModel, history.clone(), None).unwrap();
        let partials = info.partial_linearizations();
        assert_eq!(partials.len(), info.partition_results().len());
        for ((key, partition_result), prefixes) in
            info.partition_results().into_iter().zip(partials)
        {
            assert!(!prefixes.is_empty(), "{name}, key {key}: no prefix kept");
            if partition_result == CheckResult::Ok {
                let ops = history.iter().filter(|o| o.input.key == key).count();
                assert_eq!(
                    prefixes[0].len(),
                    ops,
                    "{name}: key {key}'s linearization is incomplete"
                );
            }
            for prefix in prefixes {
                assert_legal_prefix(&history, &prefix);
            }
        }
        assert_eq!(result == CheckResult::Ok, name.ends_with("ok"));
    }
}

#[test]
fn each_partial_linearization_is_some_operations_longest() {
    // As documented (and as porcupine's are): every prefix returned is the
    // longest one found through at least one of its operations. A search
    // that backtracks often records many prefixes that later ones outgrow.
    let dir = recorded_dir();
    let mut checked = 0;
    for (name, _) in RECORDED {
        let history = read_kv_history(dir.join(format!("{name}.txt"))).unwrap();
        let (_, info) = check_operations_verbose(KvModel, history, None).unwrap();
        for prefixes in info.partial_linearizations() {
            // For each operation, the length of the longest prefix through it.
            let mut longest: HashMap<usize, usize> = HashMap::new();
            for prefix in &prefixes {
                for &op in prefix {
                    let l = longest.entry(op).or_default();
                    *l = (*l).max(prefix.len());
                }
            }
            for prefix in &prefixes {
                assert!(
                    prefix.iter().any(|op| longest[op] == prefix.len()),
                    "{name}: a prefix of {} operations is no operation's longest",
                    prefix.len()
                );
                checked += 1;
            }
            assert!(
                prefixes.windows(2).all(|w| w[0].len() >= w[1].len()),
                "{name}: longest first"
            );
        }
    }
    assert!(checked > 50, "only {checked} prefixes");
}

/// `prefix` (history indices) is legal for the model, and no operation in
/// it comes after one outside it that returned before it was called.
fn assert_legal_prefix(history: &[KvOperation], prefix: &[usize]) {
    let mut state = KvModel.init();
    for (place, &i) in prefix.iter().enumerate() {
        let op = &history[i];
        match KvModel.step(&state, &op.input, op.output.as_ref()) {
            Step::Illegal => panic!("step {place} of a kept prefix is illegal"),
            Step::Unchanged => {}
            Step::Changed(next) => state = next,
        }
        for &later in &prefix[place + 1..] {
            assert!(
                history[later].ret >= op.call,
                "operation {later} returned before {i} was called but comes after it"
            );
        }
    }
    let placed: std::collections::HashSet<usize> = prefix.iter().copied().collect();
    let key = prefix.first().map(|&i| &history[i].input.key);
    for (i, op) in history.iter().enumerate() {
        if !placed.contains(&i) && Some(&op.input.key) == key {
            for &j in prefix {
                assert!(
                    op.ret >= history[j].call,
                    "operation {i} returned before {j} was called, yet {j} is placed and {i} is not"
                );
            }
        }
    }
}

#[test]
fn bad_histories_are_errors_not_verdicts() {
    assert_eq!(
        check_operations(KvModel, vec![], None),
        Err(HistoryError::Empty)
    );

    let backwards = vec![Op::put(0, "k", "a", 0, 10), Op::get(1, "k", "a", 30, 20)];
    let err = check_operations(KvModel, backwards, None).unwrap_err();
    assert!(matches!(
        err,
        HistoryError::ReturnBeforeCall {
            index: 1,
            client_id: 1,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "operation 1 (client 1, get('k') -> 'a') returns at 20, before its call at 30"
    );

    let overlapping = vec![
        Op::put(0, "k", "a", 0, 10),
        Op::get(3, "k", "a", 20, 40),
        Op::get(3, "j", "", 30, 50),
    ];
    let err = check_operations(KvModel, overlapping, None).unwrap_err();
    assert!(
        matches!(err, HistoryError::ClientOverlap { client_id: 3, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("client 3 runs two operations at once")
            && message.contains("get('j') -> ''"),
        "{message}"
    );
    let failure = check_history(KvModel, vec![], &Budget::default()).unwrap_err();
    assert_eq!(
        failure.to_string(),
        "cannot check linearizability: the history has no operations"
    );
}

/// A single register whose clients may run operations concurrently: the
/// checker's generic side, with the default partition and descriptions.
struct Register;

#[derive(Debug)]
enum RegisterOp {
    Read,
    Write(i32),
}

impl Model for Register {
    type Input = RegisterOp;
    type Output = i32;
    type State = i32;
    const SEQUENTIAL_CLIENTS: bool = false;

    fn init(&self) -> i32 {
        0
    }

    fn step(&self, state: &i32, input: &RegisterOp, output: Option<&i32>) -> Step<i32> {
        match input {
            RegisterOp::Read if output.is_none_or(|o| o == state) => Step::Unchanged,
            RegisterOp::Read => Step::Illegal,
            RegisterOp::Write(v) => Step::Changed(*v),
        }
    }
}

#[test]
fn other_models_work_and_may_have_concurrent_clients() {
    let op = |input, output, call, ret| Operation {
        client_id: 0,
        input,
        call,
        output: Some(output),
        ret,
    };
    let history = vec![
        op(RegisterOp::Write(1), 0, 0, 100),
        op(RegisterOp::Read, 0, 10, 20),
        op(RegisterOp::Read, 1, 30, 40),
    ];
    assert_eq!(
        check_operations(Register, history, None),
        Ok(CheckResult::Ok)
    );
    let history = vec![
        op(RegisterOp::Write(1), 0, 0, 10),
        op(RegisterOp::Read, 0, 20, 30),
    ];
    let (result, info) = check_operations_verbose(Register, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    assert_eq!(
        info.partition_results(),
        vec![("all", CheckResult::Illegal)]
    );
    assert!(
        info.summary()
            .contains("partition 'all' is not linearizable")
    );
    assert!(info.summary().contains("Read -> 0"), "{}", info.summary());
}

#[test]
fn a_time_limit_too_short_gives_unknown_never_ok_and_zero_means_none() {
    let history = generate(
        Spec {
            seed: 7,
            clients: 4,
            ops_per_client: 20,
            keys: 2,
            latency: 10,
        },
        Bug::None,
    );
    let tiny = Some(Duration::from_nanos(1));
    assert_eq!(
        check_operations(KvModel, history.clone(), tiny),
        Ok(CheckResult::Unknown)
    );
    // Zero is no limit, as in porcupine.
    assert_eq!(
        check_operations(KvModel, history.clone(), Some(Duration::ZERO)),
        Ok(CheckResult::Ok)
    );
    let (result, info) = check_operations_verbose(KvModel, history.clone(), tiny).unwrap();
    assert_eq!(result, CheckResult::Unknown);
    assert!(
        info.summary()
            .contains("unknown, the search reached its time limit"),
        "{}",
        info.summary()
    );

    let no_time = |strict| Budget {
        first: Duration::from_nanos(1),
        growth: 4,
        max: Duration::from_nanos(1),
        strict,
    };
    assert_eq!(
        check_history(KvModel, history.clone(), &no_time(false)).unwrap(),
        Checked::Unknown {
            partitions: vec!["key '0'".to_string(), "key '1'".to_string()]
        }
    );
    let failure = check_history(KvModel, history, &no_time(true)).unwrap_err();
    assert!(matches!(failure, Failure::Unknown { .. }));
    assert!(
        failure.to_string().contains("LAB_LINEARIZABILITY_STRICT=1"),
        "{failure}"
    );
}

#[test]
fn an_undecided_check_is_retried_with_more_time() {
    // 1 ns is never enough; 1 µs, 1 ms or 1 s is, for this small history.
    let budget = Budget {
        first: Duration::from_nanos(1),
        growth: 1000,
        max: Duration::from_secs(10),
        strict: true,
    };
    let spec = Spec {
        seed: 3,
        clients: 4,
        ops_per_client: 30,
        keys: 2,
        latency: 10,
    };
    assert_eq!(
        check_history(KvModel, generate(spec, Bug::None), &budget).unwrap(),
        Checked::Linearizable
    );
    let failure = check_history(KvModel, generate(spec, Bug::LostAppend), &budget).unwrap_err();
    let Failure::NotLinearizable { visualization, .. } = failure else {
        panic!("expected NotLinearizable, got {failure}");
    };
    std::fs::remove_file(visualization.unwrap()).unwrap();
}

#[test]
fn the_summary_names_the_key_the_prefix_and_the_operation_that_cannot_follow() {
    let history = vec![
        Op::put(3, "other", "z", 0, 5),
        Op::put(0, "k", "a", 0, 10),
        Op::append(1, "k", "b", 20, 30),
        Op::get(2, "k", "a", 40, 50),
    ];
    let (result, info) = check_operations_verbose(KvModel, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    let summary = info.summary();
    for expected in [
        "4 operations by 4 clients in 2 partitions: not linearizable.",
        "key 'k' is not linearizable (3 operations by 3 clients).",
        "Longest linearizable prefix: 2 of 3 operations, leaving state 'ab'.",
        "1. client 0: put('k', 'a')  (called 0, returned 10)",
        "2. client 1: append('k', 'b')  (called 20, returned 30)",
        "client 2: get('k') -> 'a'  (called 40, returned 50)  illegal here",
        "First operation that cannot follow the prefix: client 2: get('k') -> 'a' (called 40, returned 50).",
    ] {
        assert!(
            summary.contains(expected),
            "missing {expected:?} in:\n{summary}"
        );
    }
    assert!(
        !summary.contains("key 'other'"),
        "a linearizable key is not explained:\n{summary}"
    );
}

#[test]
fn reader_errors_name_the_file_and_line() {
    let cases = [
        (
            "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil",
            "the map is not closed with '}'",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key \"k, :value nil}",
            "the string at column 43 is not closed",
        ),
        (
            "{:process -1, :type :invoke, :f :get, :key \"k\", :value nil}",
            ":process must be a number from 0, not -1",
        ),
        (
            "{:process 0, :type :done, :f :get, :key \"k\", :value nil}",
            ":type must be :invoke, :ok, :fail or :info, not :done",
        ),
        (
            "{:process 0, :type :invoke, :f :cas, :key \"k\", :value nil}",
            ":f must be :get, :put or :append, not :cas",
        ),
        (
            "{:process 0, :type :invoke, :f :get, :key 3, :value nil}",
            ":key must be a string, not 3",
        ),
        (
            "{:process 0, :type :invoke, :f :put, :key \"k\"}",
            "no :value field",
        ),
        (
            "{:process 0, :type :invoke, :f :put, :key \"k\", :value nil}",
            ":put needs a string :value",
        ),
        ("process 0 invokes", "expected a map"),
        (
            "{:process 0, :type :ok, :f :get, :key \"k\", :value \"a\"}",
            "process 0 returns, but has no operation in progress",
        ),
        (
            "{:process 9, :type :invoke, :f :get, :key \"k\", :value nil}",
            "process 9 invokes an operation while the one it invoked at line 1 has not returned",
        ),
    ];
    for (line, message) in cases {
        let text =
            format!("{{:process 9, :type :invoke, :f :get, :key \"z\", :value nil}}\n\n{line}\n");
        let err = parse_kv_history(&text, "bad.txt").unwrap_err();
        assert_eq!((err.file.as_str(), err.line), ("bad.txt", Some(3)), "{err}");
        assert!(err.to_string().starts_with("bad.txt:3: "), "{err}");
        assert!(
            err.message.contains(message),
            "{line}: got {:?}, want {message:?}",
            err.message
        );
    }

    // Invoked and never completed: the outcome is unknown, as with :info.
    let unfinished = "{:process 2, :type :invoke, :f :put, :key \"k\", :value \"v\"}\n";
    let ops = parse_kv_history(unfinished, "u.txt").unwrap();
    assert_eq!(ops, vec![Op::put(2, "k", "v", 1, 2).no_reply()]);

    let mismatched = "{:process 2, :type :invoke, :f :put, :key \"k\", :value \"v\"}\n\
                      {:process 2, :type :ok, :f :get, :key \"k\", :value \"v\"}\n";
    let err = parse_kv_history(mismatched, "m.txt").unwrap_err();
    assert_eq!(
        err.to_string(),
        "m.txt:2: process 2 returns :get of key \"k\", but invoked :put of key \"k\" at line 1"
    );

    let err = read_kv_history("/nonexistent/history.txt").unwrap_err();
    assert_eq!(
        (err.file.as_str(), err.line),
        ("/nonexistent/history.txt", None)
    );
    assert!(
        err.to_string()
            .starts_with("/nonexistent/history.txt: cannot read the file: ")
    );
}

#[test]
fn reader_keeps_times_clients_and_values() {
    let text = "{:process 4, :type :invoke, :f :append, :key \"k\", :value \"x \\\"q\\\" y\"}\n\
                {:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n\
                {:process 1, :type :ok, :f :get, :key \"k\", :value nil}\n\
                {:process 4, :type :ok, :f :append, :key \"k\", :value \"x \\\"q\\\" y\"}\n";
    let ops = parse_kv_history(text, "t").unwrap();
    assert_eq!(
        ops,
        vec![
            Op::append(4, "k", "x \"q\" y", 1, 4),
            Op::get(1, "k", "", 2, 3),
        ]
    );
    let counts: HashMap<&str, usize> = RECORDED
        .iter()
        .map(|&(name, _)| {
            let ops = read_kv_history(recorded_dir().join(format!("{name}.txt"))).unwrap();
            (name, ops.len())
        })
        .collect();
    // Two lines per operation (see the histories' README).
    assert_eq!(counts["c01-ok"], 58);
    assert_eq!(counts["c50-bad"], 2024);
}
