//! The tap: a test's say in each call's fate (not in Go).

use labrpc::tap::{self, Call, Fate, Opener, Tap};
use labrpc::{ClientEnd, Network, Server, Service};
use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::sync::{Arc, Mutex};
use labrt::thread;
use labrt::time::{Duration, sleep};

/// A server "s" whose `Count.Add` adds to a shared total and returns it,
/// and an end "e" connected to it.
fn setup() -> (Network, ClientEnd, Arc<AtomicU64>) {
    let net = Network::new();
    let total = Arc::new(AtomicU64::new(0));
    add_server(&net, &total);
    let end = net.make_end("e");
    net.connect("e", "s");
    net.enable("e", true);
    (net, end, total)
}

fn add_server(net: &Network, total: &Arc<AtomicU64>) {
    let t = total.clone();
    let server = Server::new();
    server.add_service(
        Service::new("Count").method("Add", move |x: u64| t.fetch_add(x, Ordering::SeqCst) + x),
    );
    net.add_server("s", server);
}

fn add(end: &ClientEnd, x: u64) -> Option<u64> {
    end.call("Count.Add", &x)
}

/// Gives every request (or every reply) one fate, and holds those it holds
/// for the test to open.
struct Fixed {
    replies: bool,
    fate: fn() -> Fate,
    held: Mutex<Vec<(Call, Opener)>>,
}

impl Fixed {
    fn new(replies: bool, fate: fn() -> Fate) -> Arc<Fixed> {
        Arc::new(Fixed {
            replies,
            fate,
            held: Mutex::new(Vec::new()),
        })
    }

    fn decide(&self, call: &Call, here: bool) -> Fate {
        if !here {
            return Fate::Deliver;
        }
        match (self.fate)() {
            Fate::Hold(_) => {
                let (gate, opener) = tap::gate();
                self.held.lock().push((call.clone(), opener));
                Fate::Hold(gate)
            }
            fate => fate,
        }
    }

    /// Waits until `n` messages are held, and takes them.
    fn take(&self, n: usize) -> Vec<(Call, Opener)> {
        while self.held.lock().len() < n {
            sleep(Duration::from_millis(1));
        }
        std::mem::take(&mut *self.held.lock())
    }
}

impl Tap for Fixed {
    fn request(&self, call: &Call) -> Fate {
        self.decide(call, !self.replies)
    }

    fn reply(&self, call: &Call) -> Fate {
        self.decide(call, self.replies)
    }
}

/// Marks the messages a `Fixed` holds; it makes their gates itself.
fn hold() -> Fate {
    Fate::Hold(tap::gate().0)
}

#[test]
fn a_held_request_waits_for_its_opener() {
    let (net, end, total) = setup();
    let tap = Fixed::new(false, hold);
    net.tap(tap.clone());
    let caller = thread::spawn(move || add(&end, 5));
    let held = tap.take(1);
    assert_eq!(held[0].0.method, "Count.Add");
    assert_eq!(held[0].0.end, "e".into());
    sleep(Duration::from_millis(200));
    assert_eq!(
        total.load(Ordering::SeqCst),
        0,
        "a held request reached its handler"
    );
    held.into_iter().next().unwrap().1.deliver();
    assert_eq!(caller.join().unwrap(), Some(5));
}

#[test]
fn a_dropped_or_abandoned_request_never_runs() {
    let (net, end, total) = setup();
    let tap = Fixed::new(false, || Fate::Drop);
    net.tap(tap);
    assert_eq!(add(&end, 1), None);

    let tap = Fixed::new(false, hold);
    net.tap(tap.clone());
    let caller = thread::spawn(move || add(&end, 1));
    drop(tap.take(1));
    assert_eq!(caller.join().unwrap(), None);
    assert_eq!(total.load(Ordering::SeqCst), 0);
}

#[test]
fn a_held_reply_arrives_after_the_handler_ran() {
    let (net, end, total) = setup();
    let tap = Fixed::new(true, hold);
    net.tap(tap.clone());
    let caller = thread::spawn(move || add(&end, 3));
    let held = tap.take(1);
    assert_eq!(
        total.load(Ordering::SeqCst),
        3,
        "the handler runs before the reply is held"
    );
    held.into_iter().next().unwrap().1.deliver();
    assert_eq!(caller.join().unwrap(), Some(3));
}

#[test]
fn a_held_reply_of_a_replaced_server_never_arrives() {
    let (net, end, total) = setup();
    let tap = Fixed::new(true, hold);
    net.tap(tap.clone());
    let caller = thread::spawn(move || add(&end, 3));
    let held = tap.take(1);
    add_server(&net, &total); // a crash and restart
    held.into_iter().next().unwrap().1.deliver();
    assert_eq!(caller.join().unwrap(), None);
}

#[test]
fn a_duplicate_runs_the_handler_twice_and_answers_once() {
    let (net, end, total) = setup();
    net.tap(Fixed::new(false, || {
        Fate::Duplicate(Duration::from_millis(100))
    }));
    assert_eq!(add(&end, 2), Some(2));
    sleep(Duration::from_millis(300));
    assert_eq!(total.load(Ordering::SeqCst), 4);
    assert_eq!(
        net.total_count(),
        2,
        "a duplicate is a message on the network"
    );
}

#[test]
fn a_replay_reaches_the_server_the_end_reaches_now() {
    let (net, end, total) = setup();
    let tap = Fixed::new(false, hold);
    net.tap(tap.clone());
    let caller = thread::spawn(move || add(&end, 7));
    let (call, opener) = tap.take(1).into_iter().next().unwrap();
    opener.deliver();
    assert_eq!(caller.join().unwrap(), Some(7));

    let restarted = Arc::new(AtomicU64::new(100));
    add_server(&net, &restarted);
    net.replay(&call);
    sleep(Duration::from_millis(100));
    assert_eq!(restarted.load(Ordering::SeqCst), 107);
    assert_eq!(total.load(Ordering::SeqCst), 7);
}

/// Records each reply as the tap sees it and how each call ended.
#[derive(Default)]
struct Ends {
    replies: Mutex<Vec<Option<String>>>,
    returned: Mutex<Vec<(u64, Option<String>, bool)>>,
}

impl Tap for Ends {
    fn request(&self, _: &Call) -> Fate {
        Fate::Deliver
    }

    fn reply(&self, call: &Call) -> Fate {
        self.replies.lock().push(call.reply_debug());
        Fate::Deliver
    }

    fn returned(&self, call: &Call, delivered: bool) {
        self.returned
            .lock()
            .push((call.id, call.reply_debug(), delivered));
    }
}

#[test]
fn a_tap_sees_each_reply_and_how_each_call_ended() {
    let (net, end, _) = setup();
    let ends = Arc::new(Ends::default());
    net.tap(ends.clone());
    assert_eq!(add(&end, 5), Some(5));
    assert_eq!(*ends.replies.lock(), vec![Some("5".to_string())]);
    assert_eq!(
        *ends.returned.lock(),
        vec![(0, Some("5".to_string()), true)]
    );

    // On an unreliable network some replies are lost after the handler
    // answered: the tap saw them answered, and then not delivered.
    net.reliable(false);
    let mut lost_after_answer = 0;
    for _ in 0..200 {
        let before = ends.replies.lock().len();
        let got = add(&end, 1);
        let answered = ends.replies.lock().len() > before;
        let (_, reply, delivered) = ends.returned.lock().last().cloned().unwrap();
        assert_eq!(delivered, got.is_some());
        assert_eq!(reply.is_some(), answered);
        if answered && got.is_none() {
            lost_after_answer += 1;
        }
    }
    assert!(
        lost_after_answer > 0,
        "no reply lost after its handler answered"
    );
    assert_eq!(ends.returned.lock().len(), 201);
}
