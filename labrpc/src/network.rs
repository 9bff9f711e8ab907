//! The network: ends, servers, and the life of one call.

use std::collections::HashMap;
use std::fmt::Debug;

use labrt::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use labrt::sync::{Arc, Condvar, Mutex};
use labrt::thread::Spin;
use labrt::time::{Duration, sleep};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::name::Name;
use crate::server::{Outcome, Request, Server};
use crate::tap::{Call, Fate, Tap};

/// Requests and replies on an unreliable network wait 0..SHORT_DELAY ms.
const SHORT_DELAY_MS: u64 = 27;
/// Calls to an unreachable server fail after 0..LONG_DELAY ms (long delays).
const LONG_DELAY_MS: u64 = 7000;
/// The longest the network itself holds a call before it returns (to an
/// unreachable server, with long delays); a handler's own time comes on top.
pub const MAX_NETWORK_DELAY: Duration = Duration::from_millis(LONG_DELAY_MS);
/// ... or after 0..100 ms otherwise.
const UNREACHABLE_DELAY_MS: u64 = 100;
/// An unreliable network drops 100 of every 1000 requests and of the replies.
const DROP_PER_MILLE: u32 = 100;
/// With long reordering, 600 of 900 replies are held back 200..2199 ms.
const REORDER_PER_900: u32 = 600;
const REORDER_MIN_MS: u64 = 200;
const REORDER_SPREAD_MS: u64 = 2000;
/// How often a call waiting for its handler checks whether it became dead.
const DEATH_POLL: Duration = Duration::from_millis(100);

/// A simulated network of client ends and servers. Cloning gives another
/// handle on the same network.
#[derive(Clone)]
pub struct Network(Arc<Net>);

/// One client's end-point, through which it calls one server.
#[derive(Clone)]
pub struct ClientEnd {
    name: Name,
    net: Arc<Net>,
    /// What this end shares with its clones.
    shared: Arc<EndShared>,
}

struct EndShared {
    /// Calls through the end whose reply arrived.
    replies: AtomicU64,
    /// How its callers spin for a reply: an end reaches one kind of server
    /// (a Raft peer answers at once, a key/value server after a commit), so
    /// its waits are alike.
    spin: Spin,
}

struct Net {
    state: Mutex<State>,
    done: AtomicBool,
    total_count: AtomicU64,
    total_bytes: AtomicU64,
    /// Whether a tap is set, so that calls on an untapped network do not
    /// take the lock for it.
    tapped: AtomicBool,
}

#[derive(Default)]
struct State {
    tap: Option<Arc<dyn Tap>>,
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    ends: HashMap<Name, End>,
    servers: HashMap<Name, Server>,
}

#[derive(Default)]
struct End {
    enabled: bool,
    server: Option<Name>,
}

/// What a call sees of the network when it starts.
struct Route {
    server: Option<(Name, Server)>,
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
}

impl Network {
    /// A reliable network with no ends and no servers.
    pub fn new() -> Network {
        Network(Arc::new(Net {
            state: Mutex::new(State {
                reliable: true,
                ..State::default()
            }),
            done: AtomicBool::new(false),
            total_count: AtomicU64::new(0),
            total_bytes: AtomicU64::new(0),
            tapped: AtomicBool::new(false),
        }))
    }

    /// Makes a client end called `name`, disabled and connected to nothing.
    ///
    /// # Panics
    /// If an end of that name exists.
    pub fn make_end(&self, name: impl Into<Name>) -> ClientEnd {
        let name = name.into();
        let mut st = self.0.state.lock();
        assert!(
            !st.ends.contains_key(&name),
            "labrpc: make_end: end {name} already exists"
        );
        st.ends.insert(name.clone(), End::default());
        ClientEnd {
            name,
            net: self.0.clone(),
            shared: Arc::new(EndShared {
                replies: AtomicU64::new(0),
                spin: Spin::new(),
            }),
        }
    }

    /// Forgets the end called `name`; calls through it then reach nothing.
    pub fn delete_end(&self, name: impl Into<Name>) {
        let name = name.into();
        if self.0.state.lock().ends.remove(&name).is_none() {
            panic!("labrpc: delete_end: no end called {name}");
        }
    }

    /// Puts `server` on the network as `name`, replacing any server of that
    /// name (calls in progress to the old one then fail).
    pub fn add_server(&self, name: impl Into<Name>, server: Server) {
        self.0.state.lock().servers.insert(name.into(), server);
    }

    /// Takes server `name` off the network, as if it crashed: calls in
    /// progress to it fail, and new calls reach nothing.
    pub fn delete_server(&self, name: impl Into<Name>) {
        self.0.state.lock().servers.remove(&name.into());
    }

    /// Makes end `end` talk to server `server` (which need not exist yet).
    pub fn connect(&self, end: impl Into<Name>, server: impl Into<Name>) {
        let end = end.into();
        self.0
            .end_mut(&end, "connect", |e| e.server = Some(server.into()));
    }

    /// Lets calls through end `end` (true) or cuts them off (false).
    pub fn enable(&self, end: impl Into<Name>, enabled: bool) {
        let end = end.into();
        self.0.end_mut(&end, "enable", |e| e.enabled = enabled);
    }

    /// A reliable network delivers every message at once; an unreliable one
    /// delays, and sometimes drops, requests and replies.
    pub fn reliable(&self, yes: bool) {
        self.0.state.lock().reliable = yes;
    }

    /// With long delays, calls to unreachable servers fail after up to 7 s.
    pub fn long_delays(&self, yes: bool) {
        self.0.state.lock().long_delays = yes;
    }

    /// With long reordering, most replies are held back up to 2.2 s.
    pub fn long_reordering(&self, yes: bool) {
        self.0.state.lock().long_reordering = yes;
    }

    /// Lets `tap` see every call from now on and decide its fate (see
    /// [`crate::tap`]), before the network's own losses and delays, which
    /// still apply to what the tap delivers. Replaces any tap set before.
    pub fn tap(&self, tap: Arc<dyn Tap>) {
        self.0.state.lock().tap = Some(tap);
        self.0.tapped.store(true, Ordering::Release);
    }

    /// Sends `call`'s request again, through the same end to whatever
    /// server the end reaches now, as a real network may deliver a copy of
    /// a message late. Returns at once; the handler runs on a thread of
    /// its own and its reply goes nowhere. Not seen by the tap.
    pub fn replay(&self, call: &Call) {
        let net = self.0.clone();
        let call = call.clone();
        spawn_for_server("labrpc-replay", move || net.replay(&call));
    }

    /// How many calls reached the handlers of server `name`.
    ///
    /// # Panics
    /// If no server is called `name`.
    pub fn count(&self, name: impl Into<Name>) -> u64 {
        let name = name.into();
        let st = self.0.state.lock();
        match st.servers.get(&name) {
            Some(server) => server.count(),
            None => panic!("labrpc: count: no server called {name} (deleted?)"),
        }
    }

    /// How many calls were made on the network, whatever became of them.
    pub fn total_count(&self) -> u64 {
        self.0.total_count.load(Ordering::Relaxed)
    }

    /// Encoded bytes of every request, plus those of every delivered reply.
    pub fn total_bytes(&self) -> u64 {
        self.0.total_bytes.load(Ordering::Relaxed)
    }

    /// Shuts the network: from now on every call returns `None` at once.
    /// Calls already past the start get no reply either. The servers go:
    /// a server's handlers hold its peer, whose ends hold this network, so
    /// keeping them would keep every peer of a finished test alive, with
    /// its whole log, until the test process ends.
    pub fn cleanup(&self) {
        self.0.done.store(true, Ordering::Release);
        let servers = std::mem::take(&mut self.0.state.lock().servers);
        drop(servers); // Not under the lock: a peer's state may go with it.
    }
}

impl Default for Network {
    fn default() -> Network {
        Network::new()
    }
}

impl ClientEnd {
    /// Calls `svc_meth` (`"Service.Method"`) on the server this end is
    /// connected to, and waits for the reply.
    ///
    /// `Some(reply)` means the handler ran and its reply arrived; `None`
    /// means no reply arrived: the request or the reply was lost, the server
    /// is unreachable or was deleted, or the handler took too long to beat a
    /// crash. `None` does not tell whether the handler ran.
    ///
    /// # Panics
    /// If the server has no such method, if `A` or `R` are not the types
    /// its handler takes and returns, or if the handler panicked; each
    /// message names the method.
    #[track_caller]
    pub fn call<A, R>(&self, svc_meth: &str, args: &A) -> Option<R>
    where
        A: Serialize + DeserializeOwned + Debug + 'static,
        R: DeserializeOwned + 'static,
    {
        // labrt's lock-discipline check: a call made while holding a lock
        // is reported at the caller's line; the waits inside are the call's.
        let _calling =
            labrt::discipline::calling(svc_meth, MAX_NETWORK_DELAY, std::panic::Location::caller());
        let net = &self.net;
        if net.done.load(Ordering::Acquire) {
            return None;
        }
        let req = Request::new::<A, R>(svc_meth, labgob::encode(args));
        let id = net.total_count.fetch_add(1, Ordering::Relaxed);
        net.total_bytes
            .fetch_add(req.args.len() as u64, Ordering::Relaxed);

        let reply = match net.tap() {
            None => self.deliver(req, None)?,
            Some(tap) => self.deliver_tapped(&*tap, Call::new(id, &self.name, &req), req)?,
        };
        self.shared.replies.fetch_add(1, Ordering::Relaxed);
        let decoded = labgob::decode::<R>(&reply)
            .unwrap_or_else(|e| panic!("labrpc: {svc_meth}: cannot decode the reply: {e}"));
        Some(decoded)
    }

    /// How many calls through this end, or through a clone of it, got their
    /// reply (returned `Some`). Not in Go: the key/value tester checks with
    /// it that every operation a clerk completed was answered by a server.
    pub fn reply_count(&self) -> u64 {
        self.shared.replies.load(Ordering::Relaxed)
    }

    /// [`ClientEnd::deliver`], with the tap's say before and after.
    fn deliver_tapped(&self, tap: &dyn Tap, call: Call, req: Request) -> Option<Vec<u8>> {
        match tap.request(&call) {
            Fate::Deliver => {}
            Fate::Drop => {
                tap.returned(&call, false);
                return None;
            }
            Fate::Duplicate(after) => {
                let net = self.net.clone();
                let copy = call.clone();
                spawn_for_server("labrpc-duplicate", move || {
                    sleep(after);
                    net.replay(&copy);
                });
            }
            Fate::Hold(gate) => {
                if !gate.wait() {
                    tap.returned(&call, false);
                    return None;
                }
            }
        }
        let mut answered = None;
        let reply = self.deliver(req, Some((tap, &call, &mut answered)));
        tap.returned(answered.as_ref().unwrap_or(&call), reply.is_some());
        reply
    }

    /// Routes `req`, runs its handler and brings its reply back, losing and
    /// delaying them as the network does. A tapped call asks the tap about
    /// its reply, and leaves in `answered` the call with its reply.
    fn deliver(
        &self,
        req: Request,
        tapped: Option<(&dyn Tap, &Call, &mut Option<Call>)>,
    ) -> Option<Vec<u8>> {
        let route = self.net.route(&self.name);
        if let Some((server_name, _)) = &route.server {
            // For the thread dump: whom the caller waits for.
            labrt::discipline::calling_to(server_name);
        }
        let Some((server_name, server)) = route.server else {
            // Simulate no reply and an eventual timeout.
            let max = if route.long_delays {
                LONG_DELAY_MS
            } else {
                UNREACHABLE_DELAY_MS
            };
            sleep(Duration::from_millis(labrt::rand::random_range(0..max)));
            return None;
        };
        if !route.reliable {
            sleep(Duration::from_millis(labrt::rand::random_range(
                0..SHORT_DELAY_MS,
            )));
            if drop_one() {
                return None;
            }
        }

        let outcome = self.run_handler(req, &server_name, &server)?;
        let (reply, render) = outcome.unwrap_or_else(|fault| panic!("{fault}"));
        // A server that was replaced or deleted (a crash) must not answer:
        // its reply could reflect state the tester has since thrown away.
        if self.net.is_dead(&self.name, &server_name, &server) {
            return None;
        }
        if let Some((tap, call, answered)) = tapped {
            let call = answered.insert(call.answered(&reply, render));
            let deliver = match tap.reply(call) {
                Fate::Deliver | Fate::Duplicate(_) => true,
                Fate::Drop => false,
                Fate::Hold(gate) => gate.wait(),
            };
            // A held reply may have outlived its server.
            if !deliver || self.net.is_dead(&self.name, &server_name, &server) {
                return None;
            }
        }
        if !route.reliable && drop_one() {
            return None;
        }
        if route.long_reordering && labrt::rand::random_range(0..900) < REORDER_PER_900 {
            // Skewed toward short delays, as in Go: 200 + rand(0 .. 1+rand(0..2000)).
            let spread = labrt::rand::random_range(0..REORDER_SPREAD_MS);
            let ms = REORDER_MIN_MS + labrt::rand::random_range(0..=spread);
            sleep(Duration::from_millis(ms));
        }
        self.net
            .total_bytes
            .fetch_add(reply.len() as u64, Ordering::Relaxed);
        Some(reply)
    }

    /// Hands `req` to a worker and waits, giving up (`None`) if the call
    /// becomes dead first. The handler itself is never interrupted.
    fn run_handler(&self, req: Request, server_name: &Name, server: &Server) -> Option<Outcome> {
        // The reply comes back through a slot the caller waits on: it spins
        // while that pays (labrt's `Spin`), then parks on a condvar's futex,
        // where a channel's receive would first call `sched_yield`, which
        // on a busy machine gives the core away for a time slice.
        let slot = Arc::new(ReplySlot::default());
        let theirs = slot.clone();
        let target = server.clone();
        // labrt reuses finished threads, so a handler thread per call costs
        // a hand-off, not a thread start.
        spawn_for_server("labrpc-handler", move || {
            let outcome = target.dispatch(req);
            // The caller may have given up; then nobody wants the reply.
            *theirs.outcome.lock() = Some(outcome);
            theirs.filled.store(true, Ordering::Release);
            theirs.ready.notify_one();
        });
        self.shared
            .spin
            .spin_until(|| slot.filled.load(Ordering::Acquire));
        loop {
            let mut outcome = slot.outcome.lock();
            if outcome.is_none() && slot.ready.wait_for(&mut outcome, DEATH_POLL).timed_out() {
                // Not holding the slot's lock while taking the network's.
                drop(outcome);
                if self.net.is_dead(&self.name, server_name, server) {
                    return None;
                }
                continue;
            }
            if let Some(outcome) = outcome.take() {
                return Some(outcome);
            }
        }
    }
}

/// Where a handler leaves its outcome for the caller.
#[derive(Default)]
struct ReplySlot {
    outcome: Mutex<Option<Outcome>>,
    /// Whether `outcome` is in, for the spin to look at.
    filled: AtomicBool,
    ready: Condvar,
}

/// Starts a thread that works for a server (a handler, a late copy of a
/// request): in no thread group, whoever the caller is. The kill check
/// (`labrt::thread_group`) watches a killed peer's own threads; a handler the
/// peer's call started belongs to the server it runs on.
fn spawn_for_server(name: &str, f: impl FnOnce() + Send + 'static) {
    labrt::thread_group::outside(|| labrt::thread::spawn_named(name, f));
}

impl Net {
    fn tap(&self) -> Option<Arc<dyn Tap>> {
        if !self.tapped.load(Ordering::Acquire) {
            return None;
        }
        self.state.lock().tap.clone()
    }

    /// Runs `call`'s handler again, on whatever server its end reaches now;
    /// see [`Network::replay`].
    fn replay(&self, call: &Call) {
        if self.done.load(Ordering::Acquire) {
            return;
        }
        self.total_count.fetch_add(1, Ordering::Relaxed);
        self.total_bytes
            .fetch_add(call.args.len() as u64, Ordering::Relaxed);
        if let Some((_, server)) = self.route(&call.end).server
            && let Err(fault) = server.dispatch(call.request())
        {
            panic!("{fault}");
        }
    }

    fn end_mut(&self, end: &Name, op: &str, f: impl FnOnce(&mut End)) {
        match self.state.lock().ends.get_mut(end) {
            Some(e) => f(e),
            None => panic!("labrpc: {op}: no end called {end} (make it with make_end first)"),
        }
    }

    fn route(&self, end: &Name) -> Route {
        let st = self.state.lock();
        let server = st
            .ends
            .get(end)
            .filter(|e| e.enabled)
            .and_then(|e| e.server.as_ref())
            .and_then(|name| Some((name.clone(), st.servers.get(name)?.clone())));
        Route {
            server,
            reliable: st.reliable,
            long_delays: st.long_delays,
            long_reordering: st.long_reordering,
        }
    }

    /// A call is dead once its end is disabled or its server is no longer
    /// the one registered under its name.
    fn is_dead(&self, end: &Name, server_name: &Name, server: &Server) -> bool {
        let st = self.state.lock();
        let enabled = st.ends.get(end).is_some_and(|e| e.enabled);
        let same_server = st.servers.get(server_name).is_some_and(|s| s.same(server));
        !enabled || !same_server
    }
}

fn drop_one() -> bool {
    labrt::rand::random_range(0..1000) < DROP_PER_MILLE
}
