//! The key/value tests' helpers: a port of the functions of MIT 6.824's
//! `kvraft/test_test.go` that the tests share, with `GenericTest` and
//! `GenericTestSpeed`, which most tests are.

use labrt::channel;
use labrt::sync::Arc;
use labrt::sync::atomic::{AtomicBool, Ordering};
use labrt::thread::{self, JoinHandle};
use labrt::time::{Duration, Instant, sleep};
use linearizability::{Budget, KvOperation};

use super::config::{Client, Config};
use crate::common::print_live;
use crate::fatal;
use crate::faults;
pub use crate::history::OpLog;
use crate::history::{check_linearizable, logged};

/// The tests' allowance for an election: they sleep this long where they
/// want a new leader, and the partitioner keeps a partition this long, or a
/// little longer.
pub const ELECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs one clerk operation, counts it, and logs it (with its call and
/// return times) if a log is given, under client id `cli`.
fn timed<T>(
    cfg: &Config,
    log: Option<&OpLog>,
    clerk: usize,
    op: impl FnOnce() -> T,
    record: impl FnOnce(&T, u64, u64) -> KvOperation,
) -> T {
    // (the clerk's lane in the timeline, named as `make_client` names it.)
    let result = logged(log, || format!("C{clerk}"), op, record);
    cfg.op();
    result
}

/// `ck.get(key)`, counted and logged.
pub fn get(cfg: &Config, ck: &mut Client, key: &str, log: Option<&OpLog>, cli: usize) -> String {
    timed(
        cfg,
        log,
        ck.id(),
        || ck.get(key),
        |v, start, end| KvOperation::get(cli, key, v, start, end),
    )
}

/// `ck.put(key, value)`, counted and logged.
pub fn put(cfg: &Config, ck: &mut Client, key: &str, value: &str, log: Option<&OpLog>, cli: usize) {
    timed(
        cfg,
        log,
        ck.id(),
        || ck.put(key, value),
        |_, start, end| KvOperation::put(cli, key, value, start, end),
    );
}

/// `ck.append(key, value)`, counted and logged.
pub fn append(
    cfg: &Config,
    ck: &mut Client,
    key: &str,
    value: &str,
    log: Option<&OpLog>,
    cli: usize,
) {
    timed(
        cfg,
        log,
        ck.id(),
        || ck.append(key, value),
        |_, start, end| KvOperation::append(cli, key, value, start, end),
    );
}

/// Checks that `key` has `value` (an unlogged, counted get).
#[track_caller]
pub fn check(cfg: &Config, ck: &mut Client, key: &str, value: &str) {
    let v = get(cfg, ck, key, None, 0);
    if v != value {
        fatal!("Get({key}): expected:\n{value}\nreceived:\n{v}");
    }
}

/// Runs `f(cli, clerk)` for `cli` in `0..ncli`, each in a thread of its own
/// with a new clerk connected to every server; waits for all, and returns
/// what each returned. (A client that fails ends the process, as Go's
/// `t.Fatalf` outside the test's goroutine would end the test.)
pub fn spawn_clients_and_wait<T: Send + 'static>(
    cfg: &Config,
    ncli: usize,
    f: impl Fn(usize, &mut Client) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = Arc::new(f);
    let clients: Vec<JoinHandle<T>> = (0..ncli)
        .map(|cli| {
            let (cfg, f) = (cfg.clone(), f.clone());
            thread::spawn_named(format!("tester-client-{cli}"), move || {
                let mut ck = cfg.make_client(&cfg.all());
                let result = f(cli, &mut ck);
                cfg.delete_client(ck);
                result
            })
        })
        .collect();
    clients
        .into_iter()
        .map(|client| client.join().unwrap_or_else(|_| fatal!("failure")))
        .collect()
}

/// Checks that client `clnt`'s appends `x <clnt> <j> y`, for `j` in
/// `0..count`, each appear in `v` exactly once, in order.
///
/// Go looks for each element in the whole of `v`, which is quadratic in a
/// value that grows by an element per append; this reads `v` once, with the
/// same verdicts and messages. An element starts with the only `x` in it,
/// so no two occurrences of elements overlap, and each starts at an `x` of
/// `v`: the occurrences of `x <clnt> <j> y` are the `x`s followed by
/// ` <clnt> `, then `j` written as `format!` writes it, then ` y`.
#[track_caller]
pub fn check_clnt_appends(clnt: usize, v: &str, count: usize) {
    if let Err(message) = clnt_appends(clnt, v, count) {
        fatal!("{message}");
    }
}

/// [`check_clnt_appends`]'s verdict: what is wrong, in Go's words.
fn clnt_appends(clnt: usize, v: &str, count: usize) -> Result<(), String> {
    let prefix = format!("x {clnt} ");
    // For each j: where it first occurs, and whether it occurs again.
    let mut found: Vec<Option<(usize, bool)>> = vec![None; count];
    for (off, _) in v.match_indices('x') {
        let Some(rest) = v[off..].strip_prefix(&prefix) else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let canonical = digits == 1 || (digits > 1 && !rest.starts_with('0'));
        if !canonical || !rest[digits..].starts_with(" y") {
            continue;
        }
        if let Ok(j) = rest[..digits].parse::<usize>()
            && let Some(slot) = found.get_mut(j)
        {
            match slot {
                None => *slot = Some((off, false)),
                Some((_, again)) => *again = true,
            }
        }
    }
    let mut lastoff = None;
    for (j, slot) in found.into_iter().enumerate() {
        let wanted = || format!("x {clnt} {j} y");
        let Some((off, again)) = slot else {
            return Err(format!(
                "{clnt} missing element {} in Append result {v}",
                wanted()
            ));
        };
        if again {
            return Err(format!("duplicate element {} in Append result", wanted()));
        }
        if lastoff.is_some_and(|last| off <= last) {
            return Err(format!(
                "wrong order for element {} in Append result",
                wanted()
            ));
        }
        lastoff = Some(off);
    }
    Ok(())
}

/// Checks the appends of every client `i` (`counts[i]` of them) in `v`.
#[track_caller]
pub fn check_concurrent_appends(v: &str, counts: &[usize]) {
    for (i, &count) in counts.iter().enumerate() {
        check_clnt_appends(i, v, count);
    }
}

/// Repartitions the servers at random, about once a second, until `done`.
/// Each server lands on either side with even odds (a side may be empty);
/// the clerks' connections are not touched.
fn partitioner(cfg: &Config, done: &AtomicBool) {
    while !done.load(Ordering::SeqCst) {
        let (p0, p1): (Vec<usize>, Vec<usize>) = cfg
            .all()
            .into_iter()
            .partition(|_| labrt::rand::random_bool(0.5));
        cfg.partition(&p0, &p1);
        sleep(ELECTION_TIMEOUT + Duration::from_millis(labrt::rand::random_range(0..200)));
    }
}

/// The parameters of [`generic_test`], Go's positional arguments by name:
/// `Generic::new("3A", 5, 5).unreliable().crash()` is Go's
/// `GenericTest(t, "3A", 5, 5, true, true, false, -1, false)`.
#[derive(Clone, Debug)]
pub struct Generic {
    /// "3A" or "3B".
    part: &'static str,
    nclients: usize,
    nservers: usize,
    unreliable: bool,
    crash: bool,
    partitions: bool,
    maxraftstate: Option<usize>,
    random_keys: bool,
    duplicates: bool,
}

impl Generic {
    /// `nclients` clients of `nservers` servers, on a reliable network,
    /// without crashes, partitions or snapshots, each client on its own key.
    pub fn new(part: &'static str, nclients: usize, nservers: usize) -> Generic {
        Generic {
            part,
            nclients,
            nservers,
            unreliable: false,
            crash: false,
            partitions: false,
            maxraftstate: None,
            random_keys: false,
            duplicates: false,
        }
    }

    /// The network also delivers one request in ten a second time, up to a
    /// second later (not in Go, whose network never duplicates; a real one
    /// may, and a late copy of a clerk's old request must not be applied
    /// again).
    pub fn duplicates(self) -> Generic {
        Generic {
            duplicates: true,
            ..self
        }
    }

    /// The network drops RPC requests and replies.
    pub fn unreliable(self) -> Generic {
        Generic {
            unreliable: true,
            ..self
        }
    }

    /// Every server is shut down and restarted after each round, so
    /// persistence must work.
    pub fn crash(self) -> Generic {
        Generic {
            crash: true,
            ..self
        }
    }

    /// The network is repartitioned at random during each round.
    pub fn partitions(self) -> Generic {
        Generic {
            partitions: true,
            ..self
        }
    }

    /// The servers snapshot when Raft's state reaches `maxraftstate` bytes.
    pub fn snapshots(self, maxraftstate: usize) -> Generic {
        Generic {
            maxraftstate: Some(maxraftstate),
            ..self
        }
    }

    /// Clients work on each other's keys at random, and sometimes put: the
    /// order of their appends is then checked by linearizability only.
    pub fn random_keys(self) -> Generic {
        Generic {
            random_keys: true,
            ..self
        }
    }
}

impl Generic {
    /// The test's title: `Test: unreliable net, restarts, ..., many clients (3A)`.
    fn title(&self) -> String {
        let mut title = String::from("Test: ");
        for (on, words) in [
            // the network drops RPC requests and replies.
            (self.unreliable, "unreliable net, "),
            // peers re-start, and thus persistence must work.
            (self.crash, "restarts, "),
            // the network may partition
            (self.partitions, "partitions, "),
            (self.maxraftstate.is_some(), "snapshots, "),
            (self.random_keys, "random keys, "),
            (self.duplicates, "duplicated messages, "),
        ] {
            if on {
                title.push_str(words);
            }
        }
        title.push_str(if self.nclients > 1 {
            "many clients"
        } else {
            "one client"
        });
        format!("{title} ({})", self.part)
    }
}

/// Basic test is as follows: one or more clients submitting Append/Get
/// operations to a set of servers for some period of time. After the
/// period is over, the test checks that all appended values are present
/// and in order for a particular key. If unreliable is set, RPCs may fail.
/// If crash is set, the servers crash after the period is over and restart.
/// If partitions is set, the test repartitions the network concurrently
/// with the clients and servers. If maxraftstate is a positive number, the
/// size of the state for Raft (i.e., log size) shouldn't exceed
/// 8*maxraftstate. If maxraftstate is negative, snapshots shouldn't be
/// used.
pub fn generic_test(p: Generic) {
    let cfg = Config::new(p.nservers, p.unreliable, p.maxraftstate);
    if p.duplicates {
        cfg.tap(faults::duplicates());
    }
    cfg.begin(&p.title());
    let op_log = OpLog::new();
    let mut ck = cfg.make_client(&cfg.all());
    let p = Arc::new(p);

    for _ in 0..3 {
        let done_clients = Arc::new(AtomicBool::new(false));
        let done_partitioner = Arc::new(AtomicBool::new(false));
        let clients = {
            let (cfg, p, op_log, done) =
                (cfg.clone(), p.clone(), op_log.clone(), done_clients.clone());
            thread::spawn_named("tester-clients", move || {
                let client_cfg = cfg.clone();
                spawn_clients_and_wait(&cfg, p.nclients, move |cli, myck| {
                    client(&client_cfg, &p, cli, myck, &op_log, &done)
                })
            })
        };

        let mut partitioner_thread = None;
        if p.partitions {
            // Allow the clients to perform some operations without
            // interruption
            sleep(Duration::from_secs(1));
            let (cfg, done) = (cfg.clone(), done_partitioner.clone());
            partitioner_thread = Some(thread::spawn_named("tester-partitioner", move || {
                partitioner(&cfg, &done)
            }));
        }
        sleep(Duration::from_secs(5));

        done_clients.store(true, Ordering::SeqCst); // tell clients to quit
        done_partitioner.store(true, Ordering::SeqCst); // tell partitioner to quit

        if let Some(partitioner) = partitioner_thread {
            let _ = partitioner.join();
            // reconnect network and submit a request. A client may have
            // submitted a request in a minority. That request won't return
            // until that server discovers a new term has started.
            cfg.connect_all();
            // wait for a while so that we have a new term
            sleep(ELECTION_TIMEOUT);
        }

        if p.crash {
            for i in 0..p.nservers {
                cfg.shutdown_server(i);
            }
            // Wait for a while for servers to shutdown, since shutdown
            // isn't a real crash and isn't instantaneous
            sleep(ELECTION_TIMEOUT);
            // crash and re-start all
            for i in 0..p.nservers {
                cfg.start_server(i);
            }
            cfg.connect_all();
        }

        let counts = clients.join().unwrap_or_else(|_| fatal!("failure"));
        for (i, &j) in counts.iter().enumerate() {
            let v = get(&cfg, &mut ck, &i.to_string(), Some(&op_log), 0);
            if !p.random_keys {
                check_clnt_appends(i, &v, j);
            }
        }

        if let Some(maxraftstate) = p.maxraftstate {
            // Check maximum after the servers have processed all client
            // requests and had time to checkpoint.
            let sz = cfg.log_size();
            if sz > 8 * maxraftstate {
                fatal!("logs were not trimmed ({sz} > 8*{maxraftstate})");
            }
        } else {
            // Check that snapshots are not used
            let ssz = cfg.snapshot_size();
            if ssz > 0 {
                fatal!("snapshot too large ({ssz}), should not be used when maxraftstate = -1");
            }
        }
    }

    check_linearizable(&op_log, &Budget::default());
    cfg.end();
}

/// One client of [`generic_test`]: until `done`, appends or gets at even
/// odds (with random keys, a tenth of the gets are puts instead), checking
/// what it gets against what it appended. Returns how many values it
/// appended or put.
fn client(
    cfg: &Config,
    p: &Generic,
    cli: usize,
    ck: &mut Client,
    log: &OpLog,
    done: &AtomicBool,
) -> usize {
    let mut j = 0;
    let mut last = String::new(); // only used when not random_keys
    if !p.random_keys {
        put(cfg, ck, &cli.to_string(), &last, Some(log), cli);
    }
    while !done.load(Ordering::SeqCst) {
        let key = if p.random_keys {
            labrt::rand::random_range(0..p.nclients).to_string()
        } else {
            cli.to_string()
        };
        let nv = format!("x {cli} {j} y");
        if labrt::rand::random_range(0..1000) < 500 {
            append(cfg, ck, &key, &nv, Some(log), cli);
            if !p.random_keys {
                last.push_str(&nv);
            }
            j += 1;
        } else if p.random_keys && labrt::rand::random_range(0..1000) < 100 {
            // we only do this when using random keys, because it would
            // break the check done after Get() operations
            put(cfg, ck, &key, &nv, Some(log), cli);
            j += 1;
        } else {
            let v = get(cfg, ck, &key, Some(log), cli);
            // the following check only makes sense when we're not using
            // random keys
            if !p.random_keys && v != last {
                fatal!("get wrong value, key {key}, wanted:\n{last}\n, got\n{v}\n");
            }
        }
    }
    j
}

/// Checks that 1000 appends, one after the other, take at most 33.3 ms
/// each on average: the servers must not wait for a heartbeat to commit.
pub fn generic_test_speed(part: &str, maxraftstate: Option<usize>) {
    const NSERVERS: usize = 3;
    const NUM_OPS: u32 = 1000;
    let cfg = Config::new(NSERVERS, false, maxraftstate);
    let mut ck = cfg.make_client(&cfg.all());

    cfg.begin(&format!("Test: ops complete fast enough ({part})"));

    // wait until first op completes, so we know a leader is elected and KV
    // servers are ready to process client requests
    ck.get("x");

    let start = Instant::now();
    for i in 0..NUM_OPS {
        ck.append("x", &format!("x 0 {i} y"));
    }
    let dur = start.elapsed();

    let v = ck.get("x");
    check_clnt_appends(0, &v, NUM_OPS as usize);

    // heartbeat interval should be ~ 100 ms; require at least 3 ops per
    const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
    const OPS_PER_INTERVAL: u32 = 3;
    const TIME_PER_OP: Duration = HEARTBEAT_INTERVAL.checked_div(OPS_PER_INTERVAL).unwrap();
    // Not in Go: the figure a student tuning for speed wants to see.
    print_live(&format!(
        "info: {NUM_OPS} appends in {dur:.1?}, {:.1?}/op (the limit is {TIME_PER_OP:.1?}/op)\n",
        dur / NUM_OPS
    ));
    if dur > TIME_PER_OP * NUM_OPS {
        fatal!(
            "Operations completed too slowly {:?}/op > {TIME_PER_OP:?}/op",
            dur / NUM_OPS
        );
    }

    cfg.end();
}

/// A one-shot signal from a background operation: the test waits on it
/// with a time limit.
pub fn in_background(name: &str, f: impl FnOnce() + Send + 'static) -> channel::Receiver<()> {
    let (done_tx, done_rx) = channel::bounded(1);
    thread::spawn_named(name, move || {
        f();
        let _ = done_tx.send(());
    });
    done_rx
}

#[cfg(test)]
mod tests {
    use super::clnt_appends;

    /// Go's `checkClntAppends`, word for word: the verdicts to keep.
    fn go_clnt_appends(clnt: usize, v: &str, count: usize) -> Result<(), String> {
        let mut lastoff = None;
        for j in 0..count {
            let wanted = format!("x {clnt} {j} y");
            let Some(off) = v.find(&wanted) else {
                return Err(format!(
                    "{clnt} missing element {wanted} in Append result {v}"
                ));
            };
            if v.rfind(&wanted) != Some(off) {
                return Err(format!("duplicate element {wanted} in Append result"));
            }
            if lastoff.is_some_and(|last| off <= last) {
                return Err(format!("wrong order for element {wanted} in Append result"));
            }
            lastoff = Some(off);
        }
        Ok(())
    }

    #[test]
    fn the_same_verdicts_as_go_on_values_made_of_likely_pieces() {
        const PIECES: [&str; 14] = [
            "x 0 0 y", "x 0 1 y", "x 0 2 y", "x 1 0 y", "x 1 1 y", "x 0 01 y", "x 0 10 y", "x 0 1",
            "x 0 ", "xx", " y", "1", "é", "x 10 1 y",
        ];
        let mut state = 1u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            let v: String = (0..next(8)).map(|_| PIECES[next(PIECES.len())]).collect();
            let (clnt, count) = (next(2), next(4));
            let want = go_clnt_appends(clnt, &v, count);
            assert_eq!(clnt_appends(clnt, &v, count), want, "{clnt} {v:?} {count}");
            if let Err(message) = want {
                kinds.insert(
                    ["missing", "duplicate", "wrong order"].map(|kind| message.contains(kind)),
                );
            }
        }
        assert_eq!(
            kinds.len(),
            3,
            "the values should fail in each of the three ways"
        );
    }
}
