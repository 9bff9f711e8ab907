//! MIT's TestBenchmark and a concurrent variant, printing µs/RPC and RPCs/s.
//!
//! Run with `cargo bench -p labrpc` (or `make bench`). Target: at least twice
//! the throughput of Go's labrpc on the same machine, whose TestBenchmark
//! takes a median 1.54 s for 100,000 sequential RPCs here (15.4 µs/RPC).

use labrpc::{ClientEnd, Network, Server, Service};
use labrt::thread;
use labrt::time::Instant;

const RPCS: u64 = 100_000;
const CLIENTS: u64 = 8;
const ROUNDS: usize = 5;
const GO_SEQUENTIAL_US: f64 = 15.4;

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

fn report(what: &str, clients: u64) -> f64 {
    let net = network();
    let threads_before = labrt::thread::os_threads_started();
    let mut secs: Vec<f64> = (0..ROUNDS).map(|r| round(&net, r, clients)).collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[ROUNDS / 2];
    let us = median * 1e6 / RPCS as f64;
    println!(
        "{what:<28} {median:6.3} s for {RPCS} RPCs   {us:6.2} µs/RPC   {:9.0} RPCs/s   \
         (rounds {:.3}..{:.3} s, {} threads started)",
        RPCS as f64 / median,
        secs[0],
        secs[ROUNDS - 1],
        labrt::thread::os_threads_started() - threads_before
    );
    us
}

fn main() {
    println!("labrpc benchmark, median of {ROUNDS} rounds, reliable network");
    let seq = report("sequential (TestBenchmark)", 1);
    report(&format!("{CLIENTS} concurrent clients"), CLIENTS);
    println!(
        "sequential vs Go's labrpc ({GO_SEQUENTIAL_US} µs/RPC here): {:.1}x the throughput",
        GO_SEQUENTIAL_US / seq
    );
}
