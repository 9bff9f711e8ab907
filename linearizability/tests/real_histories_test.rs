//! Histories from real systems: Jepsen's register histories (EDN and log
//! lines) with `:fail` and `:info`, the register model, the event-based
//! entry point, and the `linearizability check` CLI.

use std::path::PathBuf;
use std::process::Command;

use linearizability::{
    CheckResult, Event, EventKind, HistoryError, KvInput, KvModel, KvOp, KvOutput, Model,
    RegisterModel, RegisterOp, RegisterOperation, check_events, check_operations,
    check_operations_verbose, operations_from_events, parse_kv_history, parse_register_history,
    read_register_history,
};

fn register_history(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/histories/jepsen-register/{name}"))
}

fn check_file(name: &str) -> CheckResult {
    let history = read_register_history(register_history(name)).unwrap();
    check_operations(RegisterModel, history, None).unwrap()
}

#[test]
fn jepsen_register_histories_get_their_known_verdicts() {
    // See tests/histories/jepsen-register/README.md for why.
    assert_eq!(check_file("ok.edn"), CheckResult::Ok);
    assert_eq!(check_file("bad.edn"), CheckResult::Illegal);
    assert_eq!(check_file("info.edn"), CheckResult::Ok);
}

#[test]
fn info_operations_may_have_happened() {
    let history = read_register_history(register_history("info.edn")).unwrap();
    let unknown: Vec<&RegisterOperation> = history.iter().filter(|o| o.output.is_none()).collect();
    // The timed-out write and cas, and the write that never completed.
    assert_eq!(unknown.len(), 3, "{history:?}");
    assert_eq!(unknown[2].input.op, RegisterOp::Write(9));
    // Treated as failed (left out), the history could not be explained.
    let completed: Vec<RegisterOperation> = history
        .iter()
        .filter(|o| o.output.is_some())
        .cloned()
        .collect();
    assert_eq!(
        check_operations(RegisterModel, completed, None),
        Ok(CheckResult::Illegal)
    );
    // Reported as what they are.
    let (_, info) = check_operations_verbose(RegisterModel, history, None).unwrap();
    assert_eq!(
        info.partition_results(),
        vec![("the register", CheckResult::Ok)]
    );
}

#[test]
fn a_failed_cas_did_not_happen_and_a_succeeded_one_must_match() {
    let r = RegisterOperation::read;
    let w = RegisterOperation::write;
    let cas = RegisterOperation::cas;
    let ok = vec![w(0, 1, 0, 10), cas(1, 1, 2, 20, 30), r(2, Some(2), 40, 50)];
    assert_eq!(
        check_operations(RegisterModel, ok, None),
        Ok(CheckResult::Ok)
    );
    let wrong = vec![w(0, 1, 0, 10), cas(1, 5, 2, 20, 30)];
    assert_eq!(
        check_operations(RegisterModel, wrong, None),
        Ok(CheckResult::Illegal)
    );
    // A cas without a reply may have failed (the register did not hold 5)...
    let unknown = vec![
        w(0, 1, 0, 10),
        cas(1, 5, 2, 20, 30).no_reply(),
        r(2, Some(1), 40, 50),
    ];
    assert_eq!(
        check_operations(RegisterModel, unknown, None),
        Ok(CheckResult::Ok)
    );
    // ...and nil is a value a read can return.
    let never = vec![r(0, None, 0, 10), w(1, 3, 20, 30), r(0, Some(3), 40, 50)];
    assert_eq!(
        check_operations(RegisterModel, never, None),
        Ok(CheckResult::Ok)
    );
    let describe =
        |o: &RegisterOperation| RegisterModel.describe_operation(&o.input, o.output.as_ref());
    assert_eq!(describe(&r(0, None, 0, 1)), "read() -> nil");
    assert_eq!(
        describe(&r(0, Some(3), 0, 1).no_reply()),
        "read() -> no reply"
    );
    assert_eq!(describe(&cas(0, 1, 2, 0, 1)), "cas(1, 2)");
}

#[test]
fn registers_with_keys_are_checked_independently() {
    // Jepsen's independent tuples, and a :key field, name the registers.
    let text = "{:process 0, :type :invoke, :f :write, :value [\"x\" 1]}
                {:process 0, :type :ok, :f :write, :value [\"x\" 1]}
                {:process 1, :type :invoke, :f :cas, :value [7 [0 2]]}
                {:process 1, :type :fail, :f :cas, :value [7 [0 2]]}
                {:process 1, :type :invoke, :f :read, :key :y, :value nil}
                {:process 1, :type :ok, :f :read, :key :y, :value nil}
                {:process 2, :type :invoke, :f :read, :value [\"x\" nil]}
                {:process 2, :type :ok, :f :read, :value [\"x\" 2]}";
    let history = parse_register_history(text, "keys").unwrap();
    let keys: Vec<Option<&str>> = history.iter().map(|o| o.input.key.as_deref()).collect();
    assert_eq!(keys, [Some("x"), Some(":y"), Some("x")]);
    let (result, info) = check_operations_verbose(RegisterModel, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    assert_eq!(
        info.partition_results(),
        vec![
            ("register ':y'", CheckResult::Ok),
            ("register 'x'", CheckResult::Illegal)
        ]
    );
    assert!(
        info.summary().contains("register 'x' is not linearizable"),
        "{}",
        info.summary()
    );
}

#[test]
fn jepsen_log_lines_as_in_porcupines_etcd_data() {
    let text = "INFO  jepsen.core - Worker 0 starting
INFO  jepsen.util - 0\t:invoke\t:write\t3
INFO  jepsen.util - 1\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:write\t3
INFO  jepsen.util - 1\t:ok\t:read\t3
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]
INFO  jepsen.util - 2\t:info\t:cas\t[3 4]
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:fail\t:read\t:timed-out
INFO  jepsen.util - 4\t:invoke\t:read\tnil
INFO  jepsen.util - 4\t:ok\t:read\t4
";
    let history = parse_register_history(text, "etcd.log").unwrap();
    assert_eq!(history.len(), 4, "the failed read is left out: {history:?}");
    assert_eq!((history[0].call, history[0].ret), (2, 4));
    assert_eq!(history[2].input.op, RegisterOp::Cas(3, 4));
    assert_eq!(history[2].output, None);
    assert_eq!(
        check_operations(RegisterModel, history, None),
        Ok(CheckResult::Ok)
    );
}

#[test]
fn kv_histories_may_have_fail_and_info() {
    let text = "{:process 0, :type :invoke, :f :append, :key \"k\", :value \"a\"}
{:process 0, :type :fail, :f :append, :key \"k\", :value \"a\"}
{:process 1, :type :invoke, :f :append, :key \"k\", :value \"b\"}
{:process 1, :type :info, :f :append, :key \"k\", :value \"b\"}
{:process 2, :type :invoke, :f :get, :key \"k\", :value nil}
{:process 2, :type :ok, :f :get, :key \"k\", :value \"b\"}
{:process 3, :type :invoke, :f :put, :key \"j\", :value \"z\"}
";
    let history = parse_kv_history(text, "kv").unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(
        (history[0].input.value.as_str(), history[0].output.as_ref()),
        ("b", None)
    );
    assert_eq!(
        (history[2].input.key.as_str(), history[2].output.as_ref()),
        ("j", None)
    );
    assert_eq!(
        check_operations(KvModel, history.clone(), None),
        Ok(CheckResult::Ok)
    );
    // Written back, an operation without a reply is an :info line.
    let text = linearizability::format_kv_history(&history);
    assert!(text.contains(":type :info, :f :append"), "{text}");
    assert_eq!(parse_kv_history(&text, "again").unwrap().len(), 3);
}

#[test]
fn events_pair_into_operations_and_are_checked() {
    let put = |v: &str| KvInput {
        op: KvOp::Put,
        key: "k".into(),
        value: v.into(),
    };
    let get = KvInput {
        op: KvOp::Get,
        key: "k".into(),
        value: String::new(),
    };
    let read = |v: &str| KvOutput { value: v.into() };
    let call = |client_id, input, id| Event {
        client_id,
        kind: EventKind::Call(input),
        id,
    };
    let ret = |client_id, output, id| Event {
        client_id,
        kind: EventKind::Return(output),
        id,
    };
    let events = vec![
        call(0, put("a"), 10),
        call(1, get.clone(), 11),
        ret(0, KvOutput::default(), 10),
        ret(1, read("a"), 11),
        call(2, put("b"), 12), // never returns: no reply
        call(1, get.clone(), 13),
        ret(1, read("b"), 13),
    ];
    let ops = operations_from_events(events.clone()).unwrap();
    assert_eq!(ops.len(), 4);
    assert_eq!((ops[1].call, ops[1].ret), (1, 3));
    assert_eq!(ops[2].output, None);
    assert_eq!(
        check_events(KvModel, events.clone(), None),
        Ok(CheckResult::Ok)
    );
    let mut stale = events.clone();
    stale[6] = ret(1, read(""), 13);
    assert_eq!(check_events(KvModel, stale, None), Ok(CheckResult::Illegal));

    let mut twice = events.clone();
    twice[4] = call(2, put("b"), 10);
    let err = operations_from_events(twice).unwrap_err();
    assert_eq!(
        err,
        HistoryError::DuplicateCall {
            position: 4,
            id: 10
        }
    );
    let mut stray = events;
    stray[6] = ret(1, read("b"), 99);
    let err = check_events(KvModel, stray, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "event 6 returns id 99, which no open call before it has"
    );
}

/// Runs the CLI; returns its exit code and stdout.
fn cli(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_linearizability"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_cli_checks_a_register_history_and_writes_the_page() {
    let ok = register_history("ok.edn");
    let (code, out, _) = cli(&["check", ok.to_str().unwrap(), "--model", "register"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("7 operations by 3 clients in 1 partition: linearizable."),
        "{out}"
    );

    let page =
        std::env::temp_dir().join(format!("linearizability-cli-{}.html", std::process::id()));
    let bad = register_history("bad.edn");
    let (code, out, _) = cli(&[
        "check",
        bad.to_str().unwrap(),
        "--model",
        "register",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the register is not linearizable"), "{out}");
    assert!(
        out.contains("First operation that cannot follow the prefix: client 2: read() -> 3"),
        "{out}"
    );
    assert!(out.ends_with(&format!(
        "info: wrote history visualization to {}\n",
        page.display()
    )));
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::remove_file(&page).unwrap();
    assert!(html.contains("History <span class=\"verdict illegal\">not linearizable</span>"));

    let info = register_history("info.edn");
    let (code, out, _) = cli(&[
        "check",
        info.to_str().unwrap(),
        "--model",
        "register",
        "--timeout",
        "0",
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_cli_checks_a_kv_history_and_explains_its_errors() {
    let c01 =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine-kv/c01-bad.txt");
    let page = std::env::temp_dir().join(format!(
        "linearizability-cli-kv-{}.html",
        std::process::id()
    ));
    let (code, out, _) = cli(&[
        "check",
        c01.to_str().unwrap(),
        "--model",
        "kv",
        "--html",
        page.to_str().unwrap(),
    ]);
    std::fs::remove_file(&page).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not linearizable"), "{out}");

    // A register history read as key/value: the line to blame.
    let ok = register_history("ok.edn");
    let (code, _, err) = cli(&["check", ok.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ok.edn:1: :f must be :get, :put or :append, not :write"),
        "{err}"
    );
    let (code, _, err) = cli(&["check", "x.edn"]);
    assert_eq!(code, 2);
    assert!(err.contains("--model kv or --model register is required") && err.contains("usage:"));
    let (code, _, err) = cli(&["check", "x.edn", "--model", "graph"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--model is kv or register, not \"graph\""),
        "{err}"
    );
}
