//! MIT's TestBenchmark and a concurrent variant, printing µs/RPC and RPCs/s,
//! first on the machine as it is, then again under load.
//!
//! Run with `cargo bench -p labrpc` (or `make bench`). Target: at least twice
//! the throughput of Go's labrpc on the same machine, whose TestBenchmark
//! takes a median 1.54 s for 100,000 sequential RPCs here (15.4 µs/RPC).
//!
//! The load rounds run the same rounds while `LABRPC_BENCH_LOAD` busy
//! processes (default: 2 per core) spin, as on a student's busy laptop or
//! under `dstest` running several tests at once; `LABRPC_BENCH_LOAD=0`
//! skips them. Each prints its median and worst round. With
//! `GO_LABRPC_DIR` set to a directory holding MIT's Go `labrpc` package
//! (see `test-scripts/bench-go-labrpc.sh`), Go's TestBenchmark runs
//! `ROUNDS` times under the same load, right after ours, for the
//! side-by-side figure.

use std::process::{Child, Command, Stdio};

use labrpc::{ClientEnd, Network, Server, Service};
use labrt::thread;
use labrt::time::Instant;

const RPCS: u64 = 100_000;
const CLIENTS: u64 = 8;
const ROUNDS: usize = 5;
const GO_SEQUENTIAL_US: f64 = 15.4;
/// Set in the busy processes the load rounds start (copies of this binary).
const SPIN_ENV: &str = "LABRPC_BENCH_SPINNER";

fn network() -> Network {
    let net = Network::new();
    let server = Server::new();
    server.add_service(
        Service::new("JunkServer").method("Handler2", |n: i64| format!("handler2-{n}")),
    );
    net.add_server("server99", server);
    net
}

fn end(net: &Network, name: String) -> ClientEnd {
    let end = net.make_end(name.clone());
    net.connect(name.clone(), "server99");
    net.enable(name, true);
    end
}

fn calls(end: &ClientEnd, n: u64) {
    for _ in 0..n {
        let reply: Option<String> = end.call("JunkServer.Handler2", &111i64);
        assert_eq!(reply.as_deref(), Some("handler2-111"), "wrong reply");
    }
}

/// Seconds for RPCS calls spread over `clients` threads.
fn round(net: &Network, round: usize, clients: u64) -> f64 {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let end = end(net, format!("end-{round}-{clients}-{c}"));
            thread::spawn(move || calls(&end, RPCS / clients))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    t0.elapsed().as_secs_f64()
}

/// Median and worst of `secs`, which it sorts.
fn median_worst(secs: &mut [f64]) -> (f64, f64) {
    secs.sort_by(f64::total_cmp);
    (secs[secs.len() / 2], secs[secs.len() - 1])
}

/// Runs the rounds and prints them; returns the median and worst round.
fn report(what: &str, clients: u64, first: usize) -> (f64, f64) {
    let net = network();
    let threads_before = labrt::thread::os_threads_started();
    let mut secs: Vec<f64> = (0..ROUNDS)
        .map(|r| round(&net, first + r, clients))
        .collect();
    let (median, worst) = median_worst(&mut secs);
    let us = median * 1e6 / RPCS as f64;
    println!(
        "{what:<28} {median:6.3} s for {RPCS} RPCs   {us:6.2} µs/RPC   {:9.0} RPCs/s   \
         (rounds {:.3}..{worst:.3} s, worst {:.1}x the median, {} threads started)",
        RPCS as f64 / median,
        secs[0],
        worst / median,
        labrt::thread::os_threads_started() - threads_before
    );
    (median, worst)
}

/// Busy processes that spin until dropped (or until this process dies).
struct Load(Vec<Child>);

impl Load {
    fn start(n: usize) -> Load {
        let exe = std::env::current_exe().expect("bench: no path to this binary");
        let spinners = (0..n)
            .map(|_| {
                Command::new(&exe)
                    .env(SPIN_ENV, std::process::id().to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("bench: cannot start a busy process")
            })
            .collect();
        Load(spinners)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A busy process: spins, and exits once the bench that started it is gone.
fn spin(parent: u32) -> ! {
    loop {
        let t0 = Instant::now();
        while t0.elapsed().as_millis() < 50 {
            std::hint::black_box(0u64);
        }
        if std::os::unix::process::parent_id() != parent {
            std::process::exit(0);
        }
    }
}

/// A Go duration as `time.Duration.String()` prints it, in seconds.
fn go_duration(text: &str) -> Option<f64> {
    let (minutes, rest) = match text.split_once('m') {
        Some((m, rest)) if !rest.is_empty() && !rest.starts_with('s') => (m.parse().ok()?, rest),
        _ => (0.0, text),
    };
    let (number, unit) = rest.split_at(rest.find(|c: char| c.is_alphabetic() || c == 'µ')?);
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" | "us" => 1e-6,
        "ns" => 1e-9,
        _ => return None,
    };
    Some(minutes * 60.0 + number.parse::<f64>().ok()? * scale)
}

/// Go's TestBenchmark in `dir`, `ROUNDS` times; prints median and worst.
fn go_rounds(dir: &str) -> Option<(f64, f64)> {
    let mut secs = Vec::new();
    for _ in 0..ROUNDS {
        let out = Command::new("go")
            .args(["test", "-run", "^TestBenchmark$", "-count=1", "-v", "."])
            .current_dir(dir)
            .output()
            .map_err(|e| println!("Go's TestBenchmark in {dir}: cannot run go: {e}"))
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.ends_with(" for 100000"));
        let Some(s) = line.and_then(|l| go_duration(l.split(' ').next()?)) else {
            println!("Go's TestBenchmark in {dir}: no `... for 100000` line:\n{text}");
            return None;
        };
        secs.push(s);
    }
    let (median, worst) = median_worst(&mut secs);
    println!(
        "{:<28} {median:6.3} s for {RPCS} RPCs   {:6.2} µs/RPC   {:9.0} RPCs/s   \
         (rounds {:.3}..{worst:.3} s, worst {:.1}x the median)",
        "Go's TestBenchmark",
        median * 1e6 / RPCS as f64,
        RPCS as f64 / median,
        secs[0],
        worst / median,
    );
    Some((median, worst))
}

fn main() {
    if let Ok(parent) = std::env::var(SPIN_ENV) {
        spin(parent.parse().expect("bench: a spinner's parent"));
    }
    let go_dir = std::env::var("GO_LABRPC_DIR")
        .ok()
        .filter(|d| !d.is_empty());

    println!("labrpc benchmark, median of {ROUNDS} rounds, reliable network");
    let (seq, _) = report("sequential (TestBenchmark)", 1, 0);
    report(&format!("{CLIENTS} concurrent clients"), CLIENTS, 0);
    let seq_us = seq * 1e6 / RPCS as f64;
    println!(
        "sequential vs Go's labrpc ({GO_SEQUENTIAL_US} µs/RPC here): {:.1}x the throughput",
        GO_SEQUENTIAL_US / seq_us
    );
    if let Some(dir) = &go_dir
        && let Some((go, _)) = go_rounds(dir)
    {
        println!(
            "sequential vs Go's labrpc, same minutes: {:.1}x the throughput",
            go / seq
        );
    }

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let busy = match std::env::var("LABRPC_BENCH_LOAD") {
        Ok(n) => n
            .parse()
            .expect("LABRPC_BENCH_LOAD: a number of busy processes"),
        Err(_) => 2 * cores,
    };
    if busy == 0 {
        return;
    }
    println!("\nunder load: the same rounds while {busy} busy processes spin on {cores} cores");
    let load = Load::start(busy);
    let (seq, _) = report("sequential (TestBenchmark)", 1, ROUNDS);
    report(&format!("{CLIENTS} concurrent clients"), CLIENTS, ROUNDS);
    if let Some(dir) = &go_dir
        && let Some((go, _)) = go_rounds(dir)
    {
        println!(
            "sequential vs Go's labrpc, same load: {:.1}x the throughput",
            go / seq
        );
    }
    drop(load);
}
