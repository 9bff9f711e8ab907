//! Ports of MIT's labrpc/test_test.go, same steps and assertions, plus
//! tests of how raftlab reports bad calls.

use labrpc::{Network, Server, Service};
use labrt::sync::{Arc, Mutex};
use labrt::thread;
use labrt::time::{Duration, Instant, sleep};
use serde::{Deserialize, Serialize};

#[derive(Default)]
struct JunkServer {
    log1: Vec<String>,
    log2: Vec<i64>,
}

#[derive(Serialize, Deserialize, Debug)]
struct JunkArgs {
    x: i64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct JunkReply {
    x: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct OtherArgs {
    y: i64,
}

/// The JunkServer service of the Go tests, over a shared JunkServer.
fn junk_service(js: &Arc<Mutex<JunkServer>>) -> Service {
    let (j1, j2, j3) = (js.clone(), js.clone(), js.clone());
    Service::new("JunkServer")
        .method("Handler1", move |args: String| {
            j1.lock().log1.push(args.clone());
            args.parse::<i64>().unwrap_or(0)
        })
        .method("Handler2", move |args: i64| {
            j2.lock().log2.push(args);
            format!("handler2-{args}")
        })
        .method("Handler3", move |args: i64| {
            let _guard = j3.lock();
            sleep(Duration::from_secs(20));
            -args
        })
        .method("Handler4", |_: JunkArgs| JunkReply {
            x: "pointer".into(),
        })
        .method("Handler5", |_: OtherArgs| JunkReply {
            x: "no pointer".into(),
        })
        .method("Handler6", |args: String| args.len())
        .method("Handler7", |args: usize| "y".repeat(args))
}

/// A network with one JunkServer called "server99" (or `name`).
fn setup(name: impl Into<labrpc::Name>) -> (Network, Arc<Mutex<JunkServer>>) {
    let net = Network::new();
    let js = Arc::new(Mutex::new(JunkServer::default()));
    let server = Server::new();
    server.add_service(junk_service(&js));
    net.add_server(name, server);
    (net, js)
}

/// An end called `name`, connected to `server` and enabled.
fn connected_end(net: &Network, name: &str, server: impl Into<labrpc::Name>) -> labrpc::ClientEnd {
    let end = net.make_end(name);
    net.connect(name, server);
    net.enable(name, true);
    end
}

#[test]
fn basic() {
    let (net, _) = setup("server99");
    let end = connected_end(&net, "end1-99", "server99");

    let reply: Option<String> = end.call("JunkServer.Handler2", &111i64);
    assert_eq!(
        reply.as_deref(),
        Some("handler2-111"),
        "wrong reply from Handler2"
    );

    let reply: Option<i64> = end.call("JunkServer.Handler1", &"9099".to_string());
    assert_eq!(reply, Some(9099), "wrong reply from Handler1");
    net.cleanup();
}

/// Go's TestTypes checks pointer vs value arguments; Rust has one way to pass
/// a value, so this checks that two methods taking different struct types
/// each get their own.
#[test]
fn types() {
    let (net, _) = setup("server99");
    let end = connected_end(&net, "end1-99", "server99");

    let reply: Option<JunkReply> = end.call("JunkServer.Handler4", &JunkArgs { x: 0 });
    assert_eq!(reply.expect("no reply").x, "pointer");
    let reply: Option<JunkReply> = end.call("JunkServer.Handler5", &OtherArgs { y: 0 });
    assert_eq!(reply.expect("no reply").x, "no pointer");
    net.cleanup();
}

/// Does net.enable(endname, false) really disconnect a client?
#[test]
fn disconnect() {
    let (net, _) = setup("server99");
    let end = net.make_end("end1-99");
    net.connect("end1-99", "server99");

    let reply: Option<String> = end.call("JunkServer.Handler2", &111i64);
    assert_eq!(reply, None, "unexpected reply");

    net.enable("end1-99", true);
    let reply: Option<i64> = end.call("JunkServer.Handler1", &"9099".to_string());
    assert_eq!(reply, Some(9099), "wrong reply");
    net.cleanup();
}

/// Test net.count().
#[test]
fn counts() {
    let (net, _) = setup(99);
    let end = connected_end(&net, "end1-99", 99);

    for i in 0..17i64 {
        let reply: Option<String> = end.call("JunkServer.Handler2", &i);
        let wanted = format!("handler2-{i}");
        assert_eq!(reply, Some(wanted), "wrong reply");
    }
    assert_eq!(net.count(99), 17, "wrong count");
    net.cleanup();
}

/// Not in Go: end.reply_count() counts the calls through an end, or a
/// clone of it, that got their reply; not the lost ones.
#[test]
fn reply_counts() {
    let (net, _) = setup(99);
    let end = connected_end(&net, "end1-99", 99);
    let clone = end.clone();
    let other = connected_end(&net, "end2-99", 99);

    for i in 0..5i64 {
        let reply: Option<String> = clone.call("JunkServer.Handler2", &i);
        assert!(reply.is_some());
    }
    assert_eq!(end.reply_count(), 5, "wrong reply count");
    assert_eq!(other.reply_count(), 0, "another end's replies counted");

    net.enable("end1-99", false);
    let reply: Option<String> = end.call("JunkServer.Handler2", &5i64);
    assert_eq!(reply, None);
    assert_eq!(end.reply_count(), 5, "a call without a reply counted");
    net.cleanup();
}

/// Test net.total_bytes().
///
/// The bounds are Go's. Go's gob sends a 288-char string as 296 bytes, we
/// send it as 290 (a 2-byte length and the characters) plus a 2-byte reply,
/// so 17 calls make 4,964 bytes, inside Go's [4828, 6000]. The second part
/// sends 1-byte ints and gets 108-byte strings back: 17 × 109 = 1,853, inside
/// Go's [1800, 2500]. So the bounds need no change for our codec.
#[test]
fn bytes() {
    let (net, _) = setup(99);
    let end = connected_end(&net, "end1-99", 99);

    let arg = "x".repeat(288);
    for _ in 0..17 {
        let reply: Option<usize> = end.call("JunkServer.Handler6", &arg);
        assert_eq!(reply, Some(arg.len()), "wrong reply");
    }
    let n = net.total_bytes();
    assert!(
        (4828..=6000).contains(&n),
        "wrong total_bytes {n}, expected about 5000"
    );

    for _ in 0..17 {
        let reply: Option<String> = end.call("JunkServer.Handler7", &107usize);
        assert_eq!(reply.map(|s| s.len()), Some(107), "wrong reply");
    }
    let nn = net.total_bytes() - n;
    assert!(
        (1800..=2500).contains(&nn),
        "wrong total_bytes {nn}, expected about 2000"
    );
    net.cleanup();
}

/// Are concurrent client RPCs OK?
#[test]
fn concurrent_many() {
    let (net, _) = setup(1000);
    let (nclients, nrpcs) = (20, 10);
    let handles: Vec<_> = (0..nclients)
        .map(|ii| {
            let net = net.clone();
            thread::spawn(move || {
                let end = net.make_end(format!("end{ii}"));
                net.connect(format!("end{ii}"), 1000);
                net.enable(format!("end{ii}"), true);
                let mut n = 0;
                for j in 0..nrpcs {
                    let arg = (ii * 100 + j) as i64;
                    let reply: Option<String> = end.call("JunkServer.Handler2", &arg);
                    assert_eq!(reply, Some(format!("handler2-{arg}")), "wrong reply");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, nclients * nrpcs, "wrong number of RPCs completed");
    assert_eq!(net.count(1000), (nclients * nrpcs) as u64, "wrong count");
    net.cleanup();
}

/// Test unreliable.
#[test]
fn unreliable() {
    let (net, _) = setup(1000);
    net.reliable(false);
    let nclients = 300;
    let handles: Vec<_> = (0..nclients)
        .map(|ii| {
            let net = net.clone();
            thread::spawn(move || {
                let end = net.make_end(format!("end{ii}"));
                net.connect(format!("end{ii}"), 1000);
                net.enable(format!("end{ii}"), true);
                let arg = i64::from(ii) * 100;
                let reply: Option<String> = end.call("JunkServer.Handler2", &arg);
                if let Some(reply) = &reply {
                    assert_eq!(*reply, format!("handler2-{arg}"), "wrong reply");
                }
                reply.is_some()
            })
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|&ok| ok)
        .count();
    assert!(
        ok != nclients as usize && ok != 0,
        "{ok} of {nclients} RPCs succeeded despite unreliable"
    );
    net.cleanup();
}

/// Test concurrent RPCs from a single ClientEnd.
#[test]
fn concurrent_one() {
    let (net, js) = setup(1000);
    let end = connected_end(&net, "c", 1000);

    let nrpcs = 20;
    let handles: Vec<_> = (0..nrpcs as i64)
        .map(|ii| {
            let end = end.clone();
            thread::spawn(move || {
                let arg = 100 + ii;
                let reply: Option<String> = end.call("JunkServer.Handler2", &arg);
                assert_eq!(reply, Some(format!("handler2-{arg}")), "wrong reply");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        js.lock().log2.len(),
        nrpcs as usize,
        "wrong number of RPCs delivered"
    );
    assert_eq!(net.count(1000), nrpcs as u64, "wrong count");
    net.cleanup();
}

/// Regression: an RPC that's delayed while its end is disabled must not be
/// delivered once the end is enabled again, and must not delay later RPCs.
#[test]
fn regression1() {
    let (net, js) = setup(1000);
    let end = net.make_end("c");
    net.connect("c", 1000);
    // Start some RPCs while the end is disabled; they'll be delayed.
    net.enable("c", false);
    let handles: Vec<_> = (0..20i64)
        .map(|ii| {
            let end = end.clone();
            thread::spawn(move || {
                let arg = 100 + ii;
                let _: Option<String> = end.call("JunkServer.Handler2", &arg);
            })
        })
        .collect();
    sleep(Duration::from_millis(100));

    // Now enable the end; an RPC should complete quickly.
    net.enable("c", true);
    let t0 = Instant::now();
    let arg = 99i64;
    let reply: Option<String> = end.call("JunkServer.Handler2", &arg);
    assert_eq!(reply, Some(format!("handler2-{arg}")), "wrong reply");
    let dur = t0.elapsed();
    assert!(
        dur <= Duration::from_millis(30),
        "RPC took too long ({dur:?}) after enable"
    );
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(js.lock().log2.len(), 1, "wrong number of RPCs delivered");
    assert_eq!(net.count(1000), 1, "wrong count");
    net.cleanup();
}

/// If an RPC is stuck in a server and the server is killed with
/// delete_server(), does the RPC get un-stuck?
#[test]
fn killed() {
    let (net, _) = setup("server99");
    let end = connected_end(&net, "end1-99", "server99");

    let (done_tx, done_rx) = labrt::channel::bounded(1);
    thread::spawn(move || {
        let reply: Option<i64> = end.call("JunkServer.Handler3", &99i64);
        let _ = done_tx.send(reply);
    });
    sleep(Duration::from_millis(1000));
    assert!(
        done_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "Handler3 returned prematurely"
    );
    net.delete_server("server99");
    match done_rx.recv_timeout(Duration::from_millis(100)) {
        Ok(reply) => assert_eq!(
            reply, None,
            "Handler3 returned successfully despite delete_server()"
        ),
        Err(_) => panic!("Handler3 didn't return after delete_server()"),
    }
    net.cleanup();
}

// ---- raftlab's own tests: bad calls, panics, cleanup, reordering ----

/// Calls `method` of a fresh JunkServer through a connected end.
fn call_junk<A, R>(method: &str, args: &A) -> Option<R>
where
    A: Serialize + serde::de::DeserializeOwned + std::fmt::Debug + 'static,
    R: serde::de::DeserializeOwned + 'static,
{
    let (net, _) = setup("s");
    connected_end(&net, "e", "s").call(method, args)
}

#[test]
#[should_panic(
    expected = "unknown method \"Handler9\" in call \"JunkServer.Handler9\"; JunkServer has [\"Handler1\""
)]
fn unknown_method_lists_the_valid_ones() {
    let _: Option<String> = call_junk("JunkServer.Handler9", &1i64);
}

#[test]
#[should_panic(
    expected = "unknown service \"Junk\" in call \"Junk.Handler1\"; expecting one of [\"JunkServer\"]"
)]
fn unknown_service_lists_the_valid_ones() {
    let _: Option<String> = call_junk("Junk.Handler1", &1i64);
}

#[test]
#[should_panic(expected = "\"Handler2\" is not a method name")]
fn method_without_service_is_an_error() {
    let _: Option<String> = call_junk("Handler2", &1i64);
}

#[test]
#[should_panic(
    expected = "JunkServer.Handler2 has arguments of type i64, but the call used alloc::string::String"
)]
fn wrong_argument_type_names_both_types() {
    let _: Option<String> = call_junk("JunkServer.Handler2", &"111".to_string());
}

#[test]
#[should_panic(
    expected = "JunkServer.Handler2 has reply of type alloc::string::String, but the call used i64"
)]
fn wrong_reply_type_names_both_types() {
    let _: Option<i64> = call_junk("JunkServer.Handler2", &111i64);
}

fn panicking_server(net: &Network) {
    let server = Server::new();
    server.add_service(
        Service::new("Boom")
            .method("Explode", |n: i64| -> i64 { panic!("exploded on {n}") })
            .method("Fine", |n: i64| n + 1),
    );
    net.add_server("s", server);
}

#[test]
fn panicking_handler_reaches_the_caller_and_the_network_goes_on() {
    let net = Network::new();
    panicking_server(&net);
    let end = connected_end(&net, "e", "s");
    let caller = end.clone();
    let err = labrt::thread::catch_panic(move || {
        let _: Option<i64> = caller.call("Boom.Explode", &7i64);
    })
    .expect_err("a panicking handler must make the call panic");
    assert!(
        err.contains("the handler of Boom.Explode panicked: exploded on 7"),
        "unhelpful message: {err}"
    );
    // The network and its workers are not wedged by the panic.
    for i in 0..5 {
        assert_eq!(end.call::<i64, i64>("Boom.Fine", &i), Some(i + 1));
    }
}

#[test]
fn calls_after_cleanup_fail_at_once() {
    let (net, _) = setup("s");
    let end = connected_end(&net, "e", "s");
    net.cleanup();
    let t0 = Instant::now();
    let reply: Option<String> = end.call("JunkServer.Handler2", &1i64);
    assert_eq!(reply, None);
    assert!(
        t0.elapsed() < Duration::from_millis(5),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
fn unreachable_server_fails_within_the_short_delay() {
    let net = Network::new();
    let end = connected_end(&net, "e", "nobody");
    for _ in 0..10 {
        let t0 = Instant::now();
        let reply: Option<String> = end.call("JunkServer.Handler2", &1i64);
        assert_eq!(reply, None);
        assert!(
            t0.elapsed() < Duration::from_millis(150),
            "took {:?}",
            t0.elapsed()
        );
    }
    assert_eq!(net.total_count(), 10);
}

#[test]
fn long_reordering_holds_back_most_replies() {
    let (net, _) = setup("s");
    net.long_reordering(true);
    let handles: Vec<_> = (0..30)
        .map(|i| {
            let end = connected_end(&net, &format!("e{i}"), "s");
            thread::spawn(move || {
                let t0 = Instant::now();
                let reply: Option<String> = end.call("JunkServer.Handler2", &1i64);
                assert_eq!(reply.as_deref(), Some("handler2-1"));
                t0.elapsed()
            })
        })
        .collect();
    let delays: Vec<Duration> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let held = delays
        .iter()
        .filter(|d| **d >= Duration::from_millis(200))
        .count();
    // 2/3 are held back: 30 calls give 20 on average; 8..=29 is ~5 sigma wide.
    assert!((8..30).contains(&held), "{held} of 30 replies held back");
    assert!(delays.iter().all(|d| *d < Duration::from_millis(2400)));
}

#[test]
fn handler_threads_follow_concurrency_not_call_count() {
    let (net, _) = setup("s");
    let end = connected_end(&net, "e", "s");
    let before = labrt::thread::os_threads_started();
    for i in 0..2000i64 {
        let reply: Option<String> = end.call("JunkServer.Handler2", &i);
        assert!(reply.is_some());
    }
    let started = labrt::thread::os_threads_started() - before;
    assert!(
        started <= 2,
        "{started} threads started for sequential calls"
    );
}

#[test]
#[should_panic(expected = "make_end: end \"e\" already exists")]
fn duplicate_end_is_an_error() {
    let net = Network::new();
    net.make_end("e");
    net.make_end("e");
}

#[test]
#[should_panic(expected = "enable: no end called \"nope\"")]
fn enabling_an_unknown_end_is_an_error() {
    Network::new().enable("nope", true);
}
