//! Faults on cue: the hardening tests' control of single messages.
//!
//! Not in Go. MIT's tests fault the network at random; a mistake that
//! needs one message at one moment (a vote request that reaches a voter
//! just after it restarted, a reply that arrives after its sender moved to
//! a newer term, an InstallSnapshot delivered again after the follower
//! committed past it) survives them on most seeds. [`Faults`] is a
//! [`labrpc::tap::Tap`] that knows which peer sends through which end, so
//! that a test can say what it wants in the peers' terms:
//!
//! ```text
//! let faults = Faults::default();                -- rules may be set before peers start
//! faults.add(Rule::new(Select::request().method(REQUEST_VOTE), Action::Hold));
//! let cfg = Config::<i64>::with_faults(3, false, false, faults.clone());
//! faults.wait(timeout, |f| f.held().len() >= 2)   -- until two vote requests wait
//! faults.release(|m| m.from == Some(1))           -- deliver peer 1's
//! faults.drop_held(|_| true); faults.clear();     -- lose the rest; stop holding
//! cfg.replay(&message)                            -- deliver an old request again
//! ```
//!
//! The rules are data: each selects messages (request or reply, method,
//! sender, receiver) and gives them an [`Action`]; the first rule that
//! selects a message decides, and a message no rule selects goes on as
//! the network would treat it. Every message is also recorded, with the
//! other events a config with faults reports (a peer saved its state,
//! applied an entry, changed term or role as `get_state` shows it), so
//! that a test can wait for an event ("peer 2 answered a RequestVote")
//! and then act (crash it). Everything runs on labrt, so a scenario
//! replays by seed in the simulation like any test.

use std::collections::HashMap;
use std::fmt;

use labrpc::Name;
use labrpc::tap::{self, Call, Fate, Opener, Tap};
use labrt::sync::{Arc, Condvar, Mutex};
use labrt::time::{Duration, Instant};

/// The Raft service's methods, as the skeleton's `service()` names them.
pub const REQUEST_VOTE: &str = "Raft.RequestVote";
pub const APPEND_ENTRIES: &str = "Raft.AppendEntries";
pub const INSTALL_SNAPSHOT: &str = "Raft.InstallSnapshot";

/// A request on its way to a handler, or a reply on its way back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    Request,
    Reply,
}

/// One message, in the peers' terms.
#[derive(Clone)]
pub struct Message {
    pub step: Step,
    /// The peer that made the call (`None`: an end the tester did not
    /// name, e.g. a clerk's).
    pub from: Option<usize>,
    /// The peer it was made to (`None`: as for `from`).
    pub to: Option<usize>,
    pub call: Call,
}

impl Message {
    pub fn method(&self) -> &str {
        &self.call.method
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peer = |p: Option<usize>| p.map_or("?".to_string(), |p| p.to_string());
        write!(
            f,
            "{:?} #{} {} {} -> {}",
            self.step,
            self.call.id,
            self.call.method,
            peer(self.from),
            peer(self.to)
        )
    }
}

/// What a test can wait for.
#[derive(Clone, Debug)]
pub enum Event {
    /// A request or a reply, as the tap saw it.
    Message(Message),
    /// Peer `peer` saved its state (`Persister::save` returned).
    Persisted { peer: usize },
    /// The tester read from peer `peer`'s apply channel the entry at `index`.
    Applied { peer: usize, index: usize },
    /// `get_state` on peer `peer` gave another term or role than before.
    Role {
        peer: usize,
        term: u64,
        leader: bool,
    },
}

/// Which messages a rule applies to; `None` fields match anything.
#[derive(Clone, Copy, Debug)]
pub struct Select {
    pub step: Step,
    pub method: Option<&'static str>,
    pub from: Option<usize>,
    pub to: Option<usize>,
}

impl Select {
    /// Every request.
    pub fn request() -> Select {
        Select {
            step: Step::Request,
            method: None,
            from: None,
            to: None,
        }
    }

    /// Every reply.
    pub fn reply() -> Select {
        Select {
            step: Step::Reply,
            ..Select::request()
        }
    }

    /// Only those of `method` (e.g. [`REQUEST_VOTE`]).
    pub fn method(self, method: &'static str) -> Select {
        Select {
            method: Some(method),
            ..self
        }
    }

    /// Only those of calls made by peer `i`.
    pub fn from(self, i: usize) -> Select {
        Select {
            from: Some(i),
            ..self
        }
    }

    /// Only those of calls made to peer `i`.
    pub fn to(self, i: usize) -> Select {
        Select {
            to: Some(i),
            ..self
        }
    }

    fn matches(&self, m: &Message) -> bool {
        self.step == m.step
            && self.method.is_none_or(|x| x == m.call.method)
            && self.from.is_none_or(|x| m.from == Some(x))
            && self.to.is_none_or(|x| m.to == Some(x))
    }
}

/// What a rule does with the messages it selects.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    /// Keep them until the test releases or drops them.
    Hold,
    /// Lose them.
    Drop,
    /// Deliver them, and `per_mille` of 1000 requests a second time, up to
    /// `within` later (a real network's duplicates, which MIT's never makes).
    Duplicate { per_mille: u32, within: Duration },
}

/// A rule: these messages get this action.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub select: Select,
    pub action: Action,
}

impl Rule {
    pub fn new(select: Select, action: Action) -> Rule {
        Rule { select, action }
    }
}

/// A tap that duplicates one request in ten, the copy up to a second late.
pub fn duplicates() -> Faults {
    let faults = Faults::default();
    faults.add(Rule::new(
        Select::request(),
        Action::Duplicate {
            per_mille: 100,
            within: Duration::from_secs(1),
        },
    ));
    faults
}

/// The tap. A handle: clones share the same rules and records.
#[derive(Clone, Default)]
pub struct Faults(Arc<Inner>);

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// Which peer sends to which through each end.
    ends: HashMap<Name, (usize, usize)>,
    rules: Vec<Rule>,
    seen: Vec<Event>,
    held: Vec<(Message, Opener)>,
}

/// What the tap has seen and holds, at one moment.
pub struct Snapshot<'a>(&'a State);

impl Snapshot<'_> {
    /// Every event so far, in order.
    pub fn events(&self) -> &[Event] {
        &self.0.seen
    }

    /// The messages among the events from the `from`-th on.
    pub fn messages(&self, from: usize) -> impl Iterator<Item = &Message> {
        self.0.seen[from.min(self.0.seen.len())..]
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
    }

    /// The messages held now, in the order they arrived.
    pub fn held(&self) -> Vec<&Message> {
        self.0.held.iter().map(|(m, _)| m).collect()
    }
}

impl Faults {
    /// Records that peer `from` reaches peer `to` through end `end`.
    pub fn name_end(&self, end: &str, from: usize, to: usize) {
        self.0.state.lock().ends.insert(end.into(), (from, to));
    }

    /// Records `event` and wakes the tests waiting for one.
    pub fn note(&self, event: Event) {
        self.0.state.lock().seen.push(event);
        self.0.changed.notify_all();
    }

    /// Adds a rule, after those already there.
    pub fn add(&self, rule: Rule) {
        self.0.state.lock().rules.push(rule);
    }

    /// Removes every rule; what is held stays held.
    pub fn clear(&self) {
        self.0.state.lock().rules.clear();
    }

    /// Waits until `ready` holds of what the tap has seen and holds, up to
    /// `timeout`; returns whether it did.
    pub fn wait(&self, timeout: Duration, mut ready: impl FnMut(&Snapshot) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.0.state.lock();
        while !ready(&Snapshot(&st)) {
            if self.0.changed.wait_until(&mut st, deadline).timed_out() {
                return ready(&Snapshot(&st));
            }
        }
        true
    }

    /// Reads what the tap has seen and holds.
    pub fn with<T>(&self, f: impl FnOnce(&Snapshot) -> T) -> T {
        f(&Snapshot(&self.0.state.lock()))
    }

    /// Delivers the held messages that `which` selects, in the order they
    /// arrived; returns how many.
    pub fn release(&self, which: impl Fn(&Message) -> bool) -> usize {
        self.take_held(which)
            .into_iter()
            .map(|(_, opener)| opener.deliver())
            .count()
    }

    /// Loses the held messages that `which` selects; returns how many.
    pub fn drop_held(&self, which: impl Fn(&Message) -> bool) -> usize {
        self.take_held(which)
            .into_iter()
            .map(|(_, opener)| opener.drop_it())
            .count()
    }

    fn take_held(&self, which: impl Fn(&Message) -> bool) -> Vec<(Message, Opener)> {
        let mut st = self.0.state.lock();
        let (taken, kept) = std::mem::take(&mut st.held)
            .into_iter()
            .partition(|(m, _)| which(m));
        st.held = kept;
        taken
    }

    fn decide(&self, step: Step, call: &Call) -> Fate {
        let mut st = self.0.state.lock();
        let (from, to) = st
            .ends
            .get(&call.end)
            .map_or((None, None), |&(f, t)| (Some(f), Some(t)));
        let message = Message {
            step,
            from,
            to,
            call: call.clone(),
        };
        let action = st
            .rules
            .iter()
            .find(|rule| rule.select.matches(&message))
            .map(|rule| rule.action);
        let fate = match action {
            None => Fate::Deliver,
            Some(Action::Drop) => Fate::Drop,
            Some(Action::Duplicate { per_mille, within }) => {
                if labrt::rand::random_range(0..1000) < per_mille {
                    let ms = labrt::rand::random_range(0..within.as_millis().max(1) as u64);
                    Fate::Duplicate(Duration::from_millis(ms))
                } else {
                    Fate::Deliver
                }
            }
            Some(Action::Hold) => {
                let (gate, opener) = tap::gate();
                st.held.push((message.clone(), opener));
                Fate::Hold(gate)
            }
        };
        st.seen.push(Event::Message(message));
        self.0.changed.notify_all();
        fate
    }
}

impl Tap for Faults {
    fn request(&self, call: &Call) -> Fate {
        self.decide(Step::Request, call)
    }

    fn reply(&self, call: &Call) -> Fate {
        self.decide(Step::Reply, call)
    }
}
