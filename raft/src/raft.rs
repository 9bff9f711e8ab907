//! Your Raft peer.
//!
//! This is the file you write. The tester drives your peer only through the
//! public methods below (`make`, `start`, `get_state`, `snapshot`, `kill`,
//! `service`) and the messages it sends on its apply channel; everything else
//! is yours to shape. Follow the paper's Figure 2 closely: nearly every rule
//! in it is there because some test breaks without it.
//!
//! The parts, in order:
//! - 2A: leader election and heartbeats (`RequestVote`, empty `AppendEntries`).
//! - 2B: log replication, commitment, the apply channel.
//! - 2C: persistence: save the state of Figure 2 whenever it changes, read
//!   it back in `make`.
//! - 2D: snapshots: `snapshot()` trims the log, `InstallSnapshot` brings a
//!   lagging follower up to date.
//!
//! The shape we suggest (and the reference solution uses):
//! - one `Mutex` around all mutable state, held only for short moments;
//! - a ticker thread that starts elections when the election timer runs
//!   out, and sends heartbeats when leading (sleeping in small steps works;
//!   the reference waits on a `Condvar` until the next timer is due);
//! - each RPC sent from a thread of its own, with the lock released while it
//!   waits for the reply (a peer holding its lock while it waits cannot
//!   answer anyone else, and the network may take seconds to answer);
//! - an applier thread that waits on a `Condvar` for new commits and sends
//!   them on the apply channel **without holding the lock**: the tester
//!   reads that channel and calls `snapshot()` from the same thread, which
//!   needs your lock;
//! - every loop checks `killed()`, so a killed peer's threads go away.
//!
//! Timing: the tester allows five seconds for an election and wants no more
//! than about ten heartbeats per second from a leader.

// SOLUTION BEGIN
// SOLUTION STUB
// // The skeleton leaves much unused until you write your code. Delete this
// // line once you have, so the compiler can point at what is left over.
// #![allow(dead_code, unused_imports, unused_variables)]
// SOLUTION END

use std::fmt::Debug;

use labrpc::{ClientEnd, Service};
use labrt::channel::Sender;
use labrt::sync::atomic::{AtomicBool, Ordering};
use labrt::sync::{Arc, Condvar, Mutex, MutexGuard};
use labrt::time::{Duration, Instant};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Persister;
use crate::dlog;
// SOLUTION BEGIN
use persister::ChunkedBytes;
// SOLUTION END

/// What a Raft log can hold: any value that can be copied, printed, sent to
/// another thread and encoded with labgob. The tester uses integers and
/// strings; the key/value server of lab 3 uses its own `Op` type.
pub trait Command: Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static {}

impl<T> Command for T where T: Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static {}

/// What a peer sends on its apply channel, in log order.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyMsg<C> {
    /// The entry at `index` is committed; the service should apply it.
    Command { index: usize, command: C },
    /// (2D) A snapshot from the leader replaces the log up to `index`; the
    /// service should load it instead of applying those entries.
    Snapshot {
        term: u64,
        index: usize,
        data: Vec<u8>,
    },
}

// SOLUTION BEGIN
/// A leader sends a heartbeat to each follower this often (the tester wants
/// at most about ten a second).
const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);
/// Election timeouts are drawn from this range, in milliseconds: well above
/// the heartbeat interval, and random so that one candidate usually wins
/// before another one times out.
const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 300..600;
/// A leader that has heard from no majority for this long steps down: it is
/// probably cut off from the others, who elect a new leader when the first
/// of them times out (300 to 600 ms). Stepping down by then matters to
/// clients and to the tester: a cut-off leader that still believes it leads
/// when it is reconnected takes commands that never commit, and `one()`
/// waits two seconds on each (at 500 ms, half the install-snapshot tests'
/// reconnected leaders did). Much shorter would not do: a leader must keep
/// hearing from a majority through lost and delayed replies (and a busy
/// machine), and at 150 ms figure8_unreliable_2c, whose network holds
/// replies back for up to two seconds, could not commit. 300 ms gained
/// little more than 400 ms.
const LEADER_LEASE: Duration = Duration::from_millis(400);
/// At most this many entries go in one AppendEntries: a follower that is far
/// behind, or unreachable, gets the log in batches rather than all of it in
/// every call.
const MAX_ENTRIES_PER_APPEND: usize = 256;
/// The applier copies at most this many committed entries out of the log
/// at a time. A restarted replica replays its whole log, and copying it all
/// at once held a second copy of it while it was sent (42 MB of the 275 MB
/// peak of persist_concurrent_3a, whose logs reach 58,000 entries).
const MAX_APPLY_BATCH: usize = 256;
/// New commands go out at once, unless commands went out less than this
/// long ago: then they wait out the rest of it, and go together with the
/// commands started meanwhile (group commit: one persist on the leader,
/// one AppendEntries and one persist on each follower for all of them).
///
/// Without this floor a clerk that waits for each op before the next runs
/// at the speed of the machine (0.1 ms an op here), and a lab 3 test makes
/// as many operations as that allows: one client's 15 s made 41,000. Their
/// history (every value a Get read, and the values grow with every Append)
/// once took 1.4 GB, quadratic in the operations on a key; the tester and
/// the linearizability checker now share those values (`SharedStr`,
/// `KvState`), so it grows linearly, and the floor is set for speed. At
/// 0.8 ms a clerk takes 0.5 to 0.7 ms an op in a release build (speed_3b;
/// MIT's Go solution: 0.9 ms; at the former 2 ms floor, 1.2 to 1.6), and
/// the heaviest lab 3 test, snapshot_recover_many_clients_3b, makes
/// 246,000 operations in 190 MB, checked in 0.2 s. A lower floor is faster
/// still (0.5 ms: 0.3 ms an op), for still more operations, each of which
/// the simulation runs too (its lab 3 seeds take time in proportion, and
/// 2 ms made 2.5 times fewer). A clerk is held to
/// about one op per interval; a burst of commands from many clerks shares
/// one round. Lab 2 starts commands tens of milliseconds apart, so there
/// every command goes out at once.
const MIN_ROUND_INTERVAL: Duration = Duration::from_micros(800);
// SOLUTION END

/// A Raft peer.
pub struct Raft<C> {
    /// Ends to every peer, this one included, in the same order on every peer.
    peers: Vec<ClientEnd>,
    /// Where this peer saves its persistent state and snapshot.
    persister: Persister,
    /// This peer's index in `peers`.
    me: usize,
    /// Set by `kill()`.
    dead: AtomicBool,
    // SOLUTION BEGIN
    state: Mutex<State<C>>,
    /// Signalled when there is something new to apply (or the peer is killed).
    apply_cond: Condvar,
    /// Signalled when the ticker's next timer moves earlier (or the peer is
    /// killed).
    timer_cond: Condvar,
    // SOLUTION STUB
    // // Your data here (2A, 2B, 2C, 2D): most of it belongs in a struct
    // // behind one Mutex. Look at the paper's Figure 2 for the state a
    // // Raft server must keep.
    // _command: std::marker::PhantomData<C>,
    // SOLUTION END
}

// SOLUTION BEGIN
/// Everything that changes, behind the peer's one lock.
struct State<C> {
    /// What Figure 2 says must survive a crash.
    p: Persistent<C>,
    /// The latest snapshot, saved with `p` on every persist.
    snapshot: Vec<u8>,
    role: Role,
    /// Highest log index known to be committed.
    commit_index: usize,
    /// Highest log index handed to the applier.
    last_applied: usize,
    /// A snapshot from the leader waits to be delivered on the apply channel.
    snapshot_pending: bool,
    /// When to start an election if no leader is heard from.
    election_deadline: Instant,
    /// Candidate: votes received in this term, our own included.
    votes: usize,
    /// Leader: the next log index to send to each peer.
    next_index: Vec<usize>,
    /// Leader: the highest log index known to be replicated on each peer.
    match_index: Vec<usize>,
    /// Leader: when each peer last answered one of this term's calls.
    last_heard: Vec<Instant>,
    /// Leader: this term's calls to each peer that have not returned yet.
    in_flight: Vec<usize>,
    /// Leader: the call to each peer whose reply its next entries wait for,
    /// by number, and when it went out (see `replicate`).
    awaited: Vec<Option<(u64, Instant)>>,
    /// Leader: the number the next call gets.
    next_call: u64,
    /// Leader: the highest commit index each peer has acknowledged hearing
    /// of (the `leader_commit` of a call it answered with success).
    commit_known: Vec<usize>,
    /// Leader: when each peer was last sent a call.
    last_sent: Vec<Instant>,
    /// Leader: when the next round of heartbeats is due.
    heartbeat_due: Instant,
    /// Leader: when new commands last went out to the followers.
    last_round: Instant,
    /// Leader: the first command started since then, if it waits for
    /// `MIN_ROUND_INTERVAL` to pass, and when it goes out.
    batch: Option<(usize, Instant)>,
}

/// Figure 2's persistent state.
#[derive(Debug)]
struct Persistent<C> {
    current_term: u64,
    voted_for: Option<usize>,
    log: Log<C>,
}

impl<C: Command> Persistent<C> {
    /// The bytes to save are labgob's encoding of the tuple
    /// `(current_term, voted_for, first, entries)`: this head, then the
    /// entries, `log.encoded`.
    ///
    /// Without snapshots (lab 3A) the log grows to thousands of entries and
    /// is saved again with every new one; encoding all of it each time
    /// would cost most of the CPU of a run, and copying it nearly as much.
    /// So each entry is encoded once, into `log.encoded`, which the
    /// persister shares rather than copies (`Persister::save_chunked`), and
    /// a save encodes only the fields before the entries. Together they are
    /// the tuple's encoding because labgob (postcard) encodes a tuple as
    /// its fields one after the other, and a `Vec` as its length followed
    /// by its elements.
    fn encode_head(&self) -> Vec<u8> {
        let log = &self.log;
        labgob::encode(&(
            self.current_term,
            self.voted_for,
            log.first,
            log.entries.len(),
        ))
    }

    fn decode(bytes: &[u8]) -> Result<Persistent<C>, labgob::Error> {
        let (current_term, voted_for, first, entries) = labgob::decode(bytes)?;
        Ok(Persistent {
            current_term,
            voted_for,
            log: Log::from_entries(first, entries),
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// The log, indexed as in the paper (the first command has index 1), with
/// everything up to `first` compacted into the snapshot. `entries[0]` is a
/// sentinel standing for the last compacted entry (index 0, term 0 before
/// any snapshot), so that there is always a previous entry to compare with.
#[derive(Debug)]
struct Log<C> {
    first: usize,
    entries: Vec<Entry<C>>,
    /// The entries encoded one after the other, kept in step with
    /// `entries` (see `Persistent::encode_head`)...
    encoded: ChunkedBytes,
    /// ...where entry `i` ends at `ends[i]`.
    ends: Vec<usize>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Entry<C> {
    term: u64,
    /// `None` only in the sentinel.
    command: Option<C>,
}

impl<C: Command> Log<C> {
    /// A log holding nothing but a sentinel for `index` and `term`.
    fn starting_at(index: usize, term: u64) -> Log<C> {
        let sentinel = Entry {
            term,
            command: None,
        };
        Log::from_entries(index, vec![sentinel])
    }

    /// The log of `entries`, the first of them the sentinel for `first`.
    fn from_entries(first: usize, entries: Vec<Entry<C>>) -> Log<C> {
        let mut log = Log {
            first,
            entries: Vec::with_capacity(entries.len()),
            encoded: ChunkedBytes::new(),
            ends: Vec::new(),
        };
        for entry in entries {
            log.push_entry(entry);
        }
        log
    }

    fn first_index(&self) -> usize {
        self.first
    }

    fn last_index(&self) -> usize {
        self.first + self.entries.len() - 1
    }

    fn last_term(&self) -> u64 {
        self.entries[self.entries.len() - 1].term
    }

    /// The term of the entry at `index`, if the log still holds it.
    fn term(&self, index: usize) -> Option<u64> {
        let i = index.checked_sub(self.first)?;
        self.entries.get(i).map(|e| e.term)
    }

    /// Copies of the entries from `index` on, at most `max` of them.
    fn entries_from(&self, index: usize, max: usize) -> Vec<Entry<C>> {
        let from = index - self.first;
        let to = self.entries.len().min(from + max);
        self.entries[from..to].to_vec()
    }

    fn command(&self, index: usize) -> C {
        let entry = &self.entries[index - self.first];
        entry.command.clone().expect("the sentinel has no command")
    }

    fn push(&mut self, term: u64, command: C) -> usize {
        self.push_entry(Entry {
            term,
            command: Some(command),
        });
        self.last_index()
    }

    fn push_entry(&mut self, entry: Entry<C>) {
        self.encoded.extend_from_slice(&labgob::encode(&entry));
        self.ends.push(self.encoded.len());
        self.entries.push(entry);
    }

    /// Removes the entries from `index` (which must follow the sentinel) on.
    fn truncate_from(&mut self, index: usize) {
        let i = index - self.first;
        self.entries.truncate(i);
        self.ends.truncate(i);
        self.encoded.truncate(self.ends[i - 1]);
    }

    /// The highest index of an entry of `term`, if the log has one.
    fn last_index_of_term(&self, term: u64) -> Option<usize> {
        (self.first..=self.last_index())
            .rev()
            .find(|&i| self.term(i) == Some(term))
    }

    /// The lowest index of the run of entries of `term` that ends at `index`.
    fn first_index_of_run(&self, index: usize, term: u64) -> usize {
        let mut i = index;
        while i > self.first + 1 && self.term(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// Compacts the log up to `index`, the last entry a snapshot covers.
    /// Entries after it are kept if the log has `index` with `term` (so they
    /// follow the snapshot); otherwise the whole log is replaced.
    fn compact(&mut self, index: usize, term: u64) {
        if self.term(index) == Some(term) {
            let mut kept = self.entries.split_off(index - self.first);
            kept[0].command = None;
            *self = Log::from_entries(index, kept);
        } else {
            *self = Log::starting_at(index, term);
        }
    }
}
// SOLUTION END

// RPC arguments and replies. Their fields are up to you; they travel through
// labgob, so they must derive Serialize and Deserialize.

/// Arguments of RequestVote (2A). See Figure 2.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct RequestVoteArgs {
    // SOLUTION BEGIN
    term: u64,
    candidate: usize,
    last_log_index: usize,
    last_log_term: u64,
    // SOLUTION STUB
    // // Your data here (2A, 2B).
    // SOLUTION END
}

/// Reply of RequestVote (2A). See Figure 2.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct RequestVoteReply {
    // SOLUTION BEGIN
    term: u64,
    vote_granted: bool,
    // SOLUTION STUB
    // // Your data here (2A).
    // SOLUTION END
}

/// Arguments of AppendEntries (2A, 2B). See Figure 2.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct AppendEntriesArgs<C> {
    // SOLUTION BEGIN
    term: u64,
    leader: usize,
    prev_log_index: usize,
    prev_log_term: u64,
    entries: Vec<Entry<C>>,
    leader_commit: usize,
    // SOLUTION STUB
    // // Your data here (2A, 2B).
    // _command: std::marker::PhantomData<C>,
    // SOLUTION END
}

/// Reply of AppendEntries (2A, 2B).
#[derive(Serialize, Deserialize, Clone, Debug)]
struct AppendEntriesReply {
    // SOLUTION BEGIN
    term: u64,
    success: bool,
    /// On a conflict: the term of the follower's entry at `prev_log_index`
    /// (None if its log is too short), the first index it holds of that
    /// term, and the length of its log. With these the leader skips a whole
    /// term per round trip instead of one entry (backup_2b needs it).
    x_term: Option<u64>,
    x_index: usize,
    x_len: usize,
    // SOLUTION STUB
    // // Your data here (2A, 2B).
    // SOLUTION END
}

/// Arguments of InstallSnapshot (2D). See Figure 13 of the paper.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct InstallSnapshotArgs {
    // SOLUTION BEGIN
    term: u64,
    leader: usize,
    last_included_index: usize,
    last_included_term: u64,
    data: Vec<u8>,
    // SOLUTION STUB
    // // Your data here (2D).
    // SOLUTION END
}

/// Reply of InstallSnapshot (2D).
#[derive(Serialize, Deserialize, Clone, Debug)]
struct InstallSnapshotReply {
    // SOLUTION BEGIN
    term: u64,
    // SOLUTION STUB
    // // Your data here (2D).
    // SOLUTION END
}

impl<C: Command> Raft<C> {
    /// Creates a Raft peer and starts its background threads.
    ///
    /// `peers[i]` reaches peer `i` (all peers see the same order; `peers[me]`
    /// is this one). `persister` holds what this peer saved before a crash,
    /// if anything. Committed commands go out on `apply_tx`, in order.
    /// `make` must return quickly: start threads for long-running work.
    pub fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_tx: Sender<ApplyMsg<C>>,
    ) -> Arc<Raft<C>> {
        // SOLUTION BEGIN
        let n = peers.len();
        let state = State {
            p: Persistent {
                current_term: 0,
                voted_for: None,
                log: Log::starting_at(0, 0),
            },
            snapshot: Vec::new(),
            role: Role::Follower,
            commit_index: 0,
            last_applied: 0,
            snapshot_pending: false,
            election_deadline: election_deadline(),
            votes: 0,
            next_index: vec![1; n],
            match_index: vec![0; n],
            last_heard: vec![Instant::now(); n],
            in_flight: vec![0; n],
            awaited: vec![None; n],
            next_call: 0,
            commit_known: vec![0; n],
            last_sent: vec![Instant::now(); n],
            heartbeat_due: Instant::now(),
            last_round: Instant::now(),
            batch: None,
        };
        let rf = Arc::new(Raft {
            peers,
            persister,
            me,
            dead: AtomicBool::new(false),
            state: Mutex::new(state),
            apply_cond: Condvar::new(),
            timer_cond: Condvar::new(),
        });
        rf.read_persist();

        let ticker = rf.clone();
        labrt::thread::spawn_named(format!("raft-{me}-ticker"), move || ticker.ticker());
        let applier = rf.clone();
        labrt::thread::spawn_named(format!("raft-{me}-applier"), move || {
            applier.applier(apply_tx)
        });
        rf
        // SOLUTION STUB
        // let rf = Arc::new(Raft {
        //     peers,
        //     persister,
        //     me,
        //     dead: AtomicBool::new(false),
        //     _command: std::marker::PhantomData,
        // });
        // // Your initialization code here (2A, 2B, 2C).
        // let _ = apply_tx;
        //
        // // Initialize from state persisted before a crash.
        // rf.read_persist();
        //
        // // Start the ticker thread to start elections.
        // let ticker = rf.clone();
        // labrt::thread::spawn_named(format!("raft-{me}-ticker"), move || ticker.ticker());
        // rf
        // SOLUTION END
    }

    /// Returns this peer's current term and whether it believes it is the
    /// leader.
    pub fn get_state(&self) -> (u64, bool) {
        // SOLUTION BEGIN
        let st = self.state.lock();
        (st.p.current_term, st.role == Role::Leader)
        // SOLUTION STUB
        // // Your code here (2A).
        // (0, false)
        // SOLUTION END
    }

    /// Asks this peer to append `command` to the replicated log.
    ///
    /// If this peer is not the leader, returns `(_, _, false)` at once.
    /// Otherwise starts the agreement and returns at once, without waiting
    /// for it: there is no guarantee the command will ever be committed,
    /// since the leader may fail or lose an election. Returns the index the
    /// command will have if it is ever committed, the current term, and
    /// whether this peer believes it is the leader.
    pub fn start(self: &Arc<Self>, command: C) -> (usize, u64, bool) {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        if st.role != Role::Leader || self.killed() {
            return (0, st.p.current_term, false);
        }
        let term = st.p.current_term;
        let index = st.p.log.push(term, command);
        dlog!(Log1, self.me, "T{term} start: appended entry {index}");
        // Replicate now rather than at the next heartbeat: clients wait.
        // Only to followers with no call out, though: the others get this
        // entry, with whatever else is started meanwhile, when their call
        // returns (see `replicate`). The entry is saved just before it first
        // goes out (see `save_started`). If commands went out a moment ago,
        // this one waits for the rest of MIN_ROUND_INTERVAL.
        if st.batch.is_none() {
            let now = Instant::now();
            let due = st.last_round + MIN_ROUND_INTERVAL;
            if now >= due {
                self.new_round(&mut st, now);
            } else {
                st.batch = Some((index, due));
                self.timer_cond.notify_one();
            }
        }
        (index, term, true)
        // SOLUTION STUB
        // // Your code here (2B).
        // let _ = command;
        // (0, 0, false)
        // SOLUTION END
    }

    /// The service has saved a snapshot that holds all entries up to and
    /// including `index`, and no longer needs them: trim the log (2D).
    pub fn snapshot(&self, index: usize, snapshot: Vec<u8>) {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        if index <= st.p.log.first_index() || index > st.commit_index {
            dlog!(Snap, self.me, "ignoring snapshot at {index}");
            return;
        }
        let term = st.p.log.term(index).expect("index is in the log");
        st.p.log.compact(index, term);
        st.snapshot = snapshot;
        self.persist(&mut st);
        dlog!(
            Snap,
            self.me,
            "snapshot up to {index}, log now from {index}"
        );
        // SOLUTION STUB
        // // Your code here (2D).
        // let _ = (index, snapshot);
        // SOLUTION END
    }

    /// The tester calls `kill()` when it is done with this peer (it does not
    /// stop your threads for you). Your long-running loops should check
    /// `killed()` and stop once it is true; a killed peer's threads that keep
    /// printing make a mess of the debug output.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        // SOLUTION BEGIN
        // Notify under the lock, so that the applier and the ticker cannot
        // miss the wake-up between their check of killed() and their wait.
        let _st = self.state.lock();
        self.apply_cond.notify_all();
        self.timer_cond.notify_all();
        // SOLUTION STUB
        // // Your code here, if desired.
        // SOLUTION END
    }

    /// Whether `kill()` was called.
    pub fn killed(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The "Raft" RPC service, to put on a labrpc server: the tester (and the
    /// key/value server) registers it so that other peers' calls to
    /// "Raft.RequestVote" and so on reach this peer's handlers.
    pub fn service(self: &Arc<Self>) -> Service {
        let (rv, ae, is) = (self.clone(), self.clone(), self.clone());
        Service::new("Raft")
            .method("RequestVote", move |args| rv.request_vote(args))
            .method("AppendEntries", move |args| ae.append_entries(args))
            .method("InstallSnapshot", move |args| is.install_snapshot(args))
    }

    /// Saves the persistent state (Figure 2) and the snapshot, so that a
    /// restarted peer can read them back in `read_persist` (2C, 2D).
    ///
    /// Encode with labgob: `labgob::encode(&value)` gives the bytes for
    /// `persister.save(state_bytes, snapshot_bytes)`. Save both every time;
    /// a save replaces both.
    // SOLUTION BEGIN
    fn persist(&self, st: &mut State<C>) {
        let head = st.p.encode_head();
        let entries = &st.p.log.encoded;
        dlog!(
            Pers,
            self.me,
            "T{} saved {} bytes of state, log {}..={}",
            st.p.current_term,
            head.len() + entries.len(),
            st.p.log.first_index(),
            st.p.log.last_index()
        );
        self.persister.save_chunked(&head, entries, &st.snapshot);
    }
    // SOLUTION STUB
    // fn persist(&self) {
    //     // Your code here (2C).
    //     // Example:
    //     // let state = labgob::encode(&my_persistent_state);
    //     // self.persister.save(state, snapshot_or_empty_vec);
    // }
    // SOLUTION END

    /// Restores the state saved by `persist`, if there is any (2C, 2D).
    fn read_persist(&self) {
        let data = self.persister.read_raft_state();
        // SOLUTION BEGIN
        if data.is_empty() {
            return; // bootstrap without any state
        }
        let p = Persistent::<C>::decode(&data)
            .unwrap_or_else(|e| panic!("S{}: cannot read the persisted state: {e}", self.me));
        let mut st = self.state.lock();
        // A restarted service loads the snapshot itself, so everything up to
        // it counts as applied already.
        st.commit_index = p.log.first_index();
        st.last_applied = p.log.first_index();
        st.p = p;
        st.snapshot = self.persister.read_snapshot();
        dlog!(
            Pers,
            self.me,
            "T{} restored, log {}..={}",
            st.p.current_term,
            st.p.log.first_index(),
            st.p.log.last_index()
        );
        // SOLUTION STUB
        // // Your code here (2C).
        // // `data` is empty when the peer starts for the first time: there
        // // is nothing to restore then. Otherwise, for example:
        // // let state: MyPersistentState = labgob::decode(&data).expect("...");
        // let _ = data;
        // SOLUTION END
    }

    /// RequestVote RPC handler (2A, 2B).
    fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        if args.term > st.p.current_term {
            self.become_follower(&mut st, args.term);
        }
        let term = st.p.current_term;
        let up_to_date = (args.last_log_term, args.last_log_index)
            >= (st.p.log.last_term(), st.p.log.last_index());
        let free = st.p.voted_for.is_none_or(|v| v == args.candidate);
        let vote_granted = args.term == term && free && up_to_date;
        if vote_granted {
            st.p.voted_for = Some(args.candidate);
            // Only a granted vote resets the timer: a stale candidate that
            // keeps asking must not keep an up-to-date peer from running.
            st.election_deadline = election_deadline();
            self.persist(&mut st);
        }
        dlog!(
            Vote,
            self.me,
            "T{term} vote for S{} in T{}: {} (free {free}, up to date {up_to_date})",
            args.candidate,
            args.term,
            if vote_granted { "granted" } else { "refused" }
        );
        RequestVoteReply { term, vote_granted }
        // SOLUTION STUB
        // // Your code here (2A, 2B).
        // let _ = args;
        // RequestVoteReply {}
        // SOLUTION END
    }

    /// AppendEntries RPC handler (2A, 2B).
    fn append_entries(&self, mut args: AppendEntriesArgs<C>) -> AppendEntriesReply {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        let mut reply = AppendEntriesReply {
            term: st.p.current_term,
            success: false,
            x_term: None,
            x_index: 0,
            x_len: 0,
        };
        if args.term < st.p.current_term {
            dlog!(
                Drop,
                self.me,
                "T{} ignoring AppendEntries of T{}",
                reply.term,
                args.term
            );
            return reply;
        }
        if args.term > st.p.current_term || st.role != Role::Follower {
            self.become_follower(&mut st, args.term);
        }
        reply.term = st.p.current_term;
        st.election_deadline = election_deadline();

        // Entries up to our snapshot are committed, so they match the
        // leader's: skip them.
        let first = st.p.log.first_index();
        if args.prev_log_index < first {
            let covered = (first - args.prev_log_index).min(args.entries.len());
            args.entries.drain(..covered);
            args.prev_log_index += covered;
            if args.prev_log_index < first {
                reply.success = true; // everything sent is in the snapshot
                return reply;
            }
            args.prev_log_term = st.p.log.term(first).expect("first is in the log");
        }

        match st.p.log.term(args.prev_log_index) {
            None => {
                reply.x_len = st.p.log.last_index() + 1;
                dlog!(
                    Log2,
                    self.me,
                    "no entry {}: log ends at {}",
                    args.prev_log_index,
                    reply.x_len - 1
                );
                return reply;
            }
            Some(t) if t != args.prev_log_term => {
                reply.x_term = Some(t);
                reply.x_index = st.p.log.first_index_of_run(args.prev_log_index, t);
                reply.x_len = st.p.log.last_index() + 1;
                dlog!(
                    Log2,
                    self.me,
                    "entry {} has T{t}, not T{}",
                    args.prev_log_index,
                    args.prev_log_term
                );
                return reply;
            }
            Some(_) => {}
        }

        // Append what we lack; truncate only at a real conflict, because an
        // old, delayed AppendEntries must not cut entries a newer one added.
        let last_new = args.prev_log_index + args.entries.len();
        let mut changed = false;
        for (i, entry) in args.entries.into_iter().enumerate() {
            let index = args.prev_log_index + 1 + i;
            match st.p.log.term(index) {
                Some(t) if t == entry.term => continue,
                Some(_) => st.p.log.truncate_from(index),
                None => {}
            }
            st.p.log.push_entry(entry);
            changed = true;
        }
        if changed {
            self.persist(&mut st);
            dlog!(
                Log2,
                self.me,
                "T{} log now ends at {}",
                reply.term,
                st.p.log.last_index()
            );
        }

        let commit = args.leader_commit.min(last_new);
        if commit > st.commit_index {
            st.commit_index = commit;
            dlog!(Cmit, self.me, "T{} commit index {commit}", reply.term);
            self.apply_cond.notify_one();
        }
        reply.success = true;
        reply
        // SOLUTION STUB
        // // Your code here (2A, 2B).
        // let _ = &mut args;
        // AppendEntriesReply {}
        // SOLUTION END
    }

    /// InstallSnapshot RPC handler (2D).
    fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        // SOLUTION BEGIN
        let mut st = self.state.lock();
        if args.term < st.p.current_term {
            return InstallSnapshotReply {
                term: st.p.current_term,
            };
        }
        if args.term > st.p.current_term || st.role != Role::Follower {
            self.become_follower(&mut st, args.term);
        }
        st.election_deadline = election_deadline();
        let term = st.p.current_term;
        if args.last_included_index <= st.commit_index {
            // We have all of it already; an older snapshot would move the
            // service backwards.
            dlog!(
                Snap,
                self.me,
                "T{term} ignoring snapshot at {}",
                args.last_included_index
            );
            return InstallSnapshotReply { term };
        }
        st.p.log
            .compact(args.last_included_index, args.last_included_term);
        st.snapshot = args.data;
        st.commit_index = args.last_included_index;
        st.snapshot_pending = true;
        self.persist(&mut st);
        self.apply_cond.notify_one();
        dlog!(
            Snap,
            self.me,
            "T{term} installed snapshot at {}",
            args.last_included_index
        );
        InstallSnapshotReply { term }
        // SOLUTION STUB
        // // Your code here (2D).
        // let _ = args;
        // InstallSnapshotReply {}
        // SOLUTION END
    }

    /// Starts elections when no leader has been heard from for a while.
    fn ticker(self: Arc<Self>) {
        // SOLUTION BEGIN
        // Rather than polling in small sleeps, wait on a condvar until the
        // next timer is due; code that moves a timer earlier (a new leader,
        // a commit to announce) notifies it. An idle peer then wakes a few
        // times a second instead of a hundred, which keeps the CPU cost of
        // a test low.
        let mut st = self.state.lock();
        while !self.killed() {
            let now = Instant::now();
            match st.role {
                // The lease is checked when it ends, not at the next
                // heartbeat: up to an interval late, a cut-off leader could
                // still believe it leads when a new one is elected.
                Role::Leader if self.lease_end(&st).is_some_and(|end| now >= end) => {
                    self.step_down(&mut st);
                }
                Role::Leader if now >= st.heartbeat_due => {
                    st.heartbeat_due = now + HEARTBEAT_INTERVAL;
                    self.broadcast_append(&mut st);
                }
                Role::Leader if st.batch.is_some_and(|(_, due)| now >= due) => {
                    self.new_round(&mut st, now);
                }
                Role::Follower | Role::Candidate if now >= st.election_deadline => {
                    self.start_election(&mut st);
                }
                _ => {}
            }
            let due = match st.role {
                Role::Leader => [st.batch.map(|(_, due)| due), self.lease_end(&st)]
                    .into_iter()
                    .flatten()
                    .fold(st.heartbeat_due, Instant::min),
                Role::Follower | Role::Candidate => st.election_deadline,
            };
            self.timer_cond.wait_until(&mut st, due);
        }
        // SOLUTION STUB
        // while !self.killed() {
        //     // Your code here (2A).
        //     // Check if a leader election should be started.
        //
        //     // Pause for a random amount of time between 50 and 350
        //     // milliseconds.
        //     labrt::time::sleep(Duration::from_millis(labrt::rand::random_range(50..350)));
        // }
        // SOLUTION END
    }

    // SOLUTION BEGIN
    /// Moves to `term` (if newer) as a follower, forgetting any vote of an
    /// older term.
    fn become_follower(&self, st: &mut State<C>, term: u64) {
        if term > st.p.current_term {
            dlog!(Term, self.me, "T{} -> T{term}", st.p.current_term);
            st.p.current_term = term;
            st.p.voted_for = None;
            self.persist(st);
        }
        st.role = Role::Follower;
    }

    fn start_election(self: &Arc<Self>, st: &mut State<C>) {
        st.p.current_term += 1;
        st.p.voted_for = Some(self.me);
        st.role = Role::Candidate;
        st.votes = 1;
        st.election_deadline = election_deadline();
        self.persist(st);
        let args = RequestVoteArgs {
            term: st.p.current_term,
            candidate: self.me,
            last_log_index: st.p.log.last_index(),
            last_log_term: st.p.log.last_term(),
        };
        dlog!(
            Vote,
            self.me,
            "T{} election timeout: asking for votes",
            args.term
        );
        if st.votes * 2 > self.peers.len() {
            self.become_leader(st); // a cluster of one
            return;
        }
        for peer in self.others() {
            let (rf, args) = (self.clone(), args.clone());
            labrt::thread::spawn_named(format!("raft-{}-vote-{peer}", self.me), move || {
                if let Some(reply) = rf.peers[peer].call("Raft.RequestVote", &args) {
                    rf.handle_vote_reply(args.term, reply);
                }
            });
        }
    }

    fn handle_vote_reply(self: &Arc<Self>, term: u64, reply: RequestVoteReply) {
        let mut st = self.state.lock();
        if reply.term > st.p.current_term {
            self.become_follower(&mut st, reply.term);
            return;
        }
        if st.role != Role::Candidate || st.p.current_term != term || !reply.vote_granted {
            return;
        }
        st.votes += 1;
        if st.votes * 2 > self.peers.len() {
            self.become_leader(&mut st);
        }
    }

    /// When the leader will have heard from no majority (itself included)
    /// for `LEADER_LEASE`, unless more replies come: `LEADER_LEASE` after
    /// the last reply of the follower that completes a majority with the
    /// most recent ones. `None` for a cluster of one.
    fn lease_end(&self, st: &State<C>) -> Option<Instant> {
        let mut heard: Vec<Instant> = self.others().map(|p| st.last_heard[p]).collect();
        heard.sort_unstable_by(|a, b| b.cmp(a));
        let needed = self.peers.len() / 2;
        needed.checked_sub(1).map(|i| heard[i] + LEADER_LEASE)
    }

    /// A leader cut off from the majority stops acting as one (the check
    /// described in section 6.2 of Ongaro's thesis). Raft is safe without
    /// it, since such a leader commits nothing; but clients would keep
    /// sending it commands that never commit, and the tester's `one()`
    /// would wait two seconds on each of them.
    fn step_down(&self, st: &mut State<C>) {
        dlog!(
            Lead,
            self.me,
            "T{} no majority heard from: stepping down",
            st.p.current_term
        );
        st.role = Role::Follower;
        st.election_deadline = election_deadline();
    }

    fn become_leader(self: &Arc<Self>, st: &mut State<C>) {
        dlog!(Lead, self.me, "T{} won the election", st.p.current_term);
        st.role = Role::Leader;
        let next = st.p.log.last_index() + 1;
        st.next_index.fill(next);
        st.match_index.fill(0);
        st.match_index[self.me] = next - 1;
        st.last_heard.fill(Instant::now());
        st.in_flight.fill(0);
        st.awaited.fill(None);
        st.commit_known.fill(0);
        st.heartbeat_due = Instant::now() + HEARTBEAT_INTERVAL;
        self.broadcast_append(st);
        self.timer_cond.notify_one(); // it was waiting for an election timeout
    }

    /// Sends every follower what it lacks (an empty AppendEntries is the
    /// heartbeat), each from its own thread, if it may have a call now
    /// (see `may_send`).
    fn broadcast_append(self: &Arc<Self>, st: &mut State<C>) {
        let now = Instant::now();
        st.batch = None; // it goes out with the rest
        st.last_round = now;
        for peer in self.others() {
            if self.may_send(st, peer, now) {
                self.send_append(st, peer);
            }
        }
    }

    /// Whether `peer` may be sent a call now: it has none in flight, or it
    /// answered within a heartbeat interval, or a heartbeat is due. A peer
    /// that stopped answering gets a call at a time plus heartbeats: its
    /// calls can take seconds to fail, and one per commit piled up hundreds
    /// of waiting threads. (Half an interval for the heartbeat: the last one
    /// went out a little after its `now`.)
    fn may_send(&self, st: &State<C>, peer: usize, now: Instant) -> bool {
        st.in_flight[peer] == 0
            || now < st.last_heard[peer] + HEARTBEAT_INTERVAL
            || now >= st.last_sent[peer] + HEARTBEAT_INTERVAL / 2
    }

    /// Leader: saves the entries started since the last save, before any of
    /// them goes out. The leader's match index is what it has saved, so a
    /// majority of acknowledgements always includes its own copy on disk.
    fn save_started(&self, st: &mut State<C>) {
        let last = st.p.log.last_index();
        if st.match_index[self.me] < last {
            self.persist(st);
            st.match_index[self.me] = last;
        }
    }

    /// Sends the commands started since the last round to every follower
    /// (that has no call awaited, see `replicate`).
    fn new_round(self: &Arc<Self>, st: &mut State<C>, now: Instant) {
        st.batch = None;
        st.last_round = now;
        for peer in self.others() {
            self.replicate(st, peer);
        }
    }

    /// The last entry that may go out now: a batch waiting for its round
    /// does not.
    fn last_due(&self, st: &State<C>) -> usize {
        st.batch
            .map_or(st.p.log.last_index(), |(first, _)| first - 1)
    }

    /// Sends `peer` what it lacks, entries or news of a commit, unless a
    /// call to it is awaited. This is the whole of the leader's pacing: a
    /// follower with no call out hears of a command (or a commit) at once,
    /// and one with a call out gets everything that came meanwhile in the
    /// one call that follows the reply, with one persist for all of it.
    /// Under load the batches grow by themselves, and a follower is sent
    /// each entry about once.
    fn replicate(self: &Arc<Self>, st: &mut State<C>, peer: usize) {
        let lacks_entries = st.next_index[peer] <= self.last_due(st);
        let lacks_commit = st.commit_known[peer] < st.commit_index;
        if !self.awaiting(st, peer, Instant::now()) && (lacks_entries || lacks_commit) {
            self.send_append(st, peer);
        }
    }

    /// Whether `peer`'s entries wait for the reply to a call. Not for long:
    /// a call to a peer that is cut off fails only after seconds, and a
    /// peer that comes back must not wait that long for its entries, so a
    /// call unanswered for a heartbeat interval is given up on (a reply
    /// then comes within milliseconds, or late from a reordering network).
    fn awaiting(&self, st: &State<C>, peer: usize, now: Instant) -> bool {
        st.awaited[peer].is_some_and(|(_, sent)| now < sent + HEARTBEAT_INTERVAL)
    }

    /// Sends `peer` the entries from its next index, or the snapshot if the
    /// log no longer holds them. The arguments are made under the lock; the
    /// call is made without it.
    fn send_append(self: &Arc<Self>, st: &mut State<C>, peer: usize) {
        self.save_started(st);
        let now = Instant::now();
        let call = st.next_call;
        st.next_call += 1;
        if !self.awaiting(st, peer, now) {
            st.awaited[peer] = Some((call, now));
        }
        st.in_flight[peer] += 1;
        st.last_sent[peer] = now;
        let next = st.next_index[peer];
        let rf = self.clone();
        let name = format!("raft-{}-append-{peer}", self.me);
        if next <= st.p.log.first_index() {
            let args = InstallSnapshotArgs {
                term: st.p.current_term,
                leader: self.me,
                last_included_index: st.p.log.first_index(),
                last_included_term: st.p.log.term(st.p.log.first_index()).unwrap_or(0),
                data: st.snapshot.clone(),
            };
            dlog!(
                Snap,
                self.me,
                "T{} sending snapshot at {} to S{peer}",
                args.term,
                args.last_included_index
            );
            labrt::thread::spawn_named(name, move || {
                let reply = rf.peers[peer].call("Raft.InstallSnapshot", &args);
                rf.handle_snapshot_reply(peer, call, &args, reply);
            });
            return;
        }
        let args = AppendEntriesArgs {
            term: st.p.current_term,
            leader: self.me,
            prev_log_index: next - 1,
            prev_log_term: st.p.log.term(next - 1).expect("next - 1 is in the log"),
            entries: st.p.log.entries_from(next, MAX_ENTRIES_PER_APPEND),
            leader_commit: st.commit_index,
        };
        labrt::thread::spawn_named(name, move || {
            let reply = rf.peers[peer].call("Raft.AppendEntries", &args);
            rf.handle_append_reply(peer, call, &args, reply);
        });
    }

    /// Locks the state to handle the outcome of call number `call` to
    /// `peer`, made in `sent_term` (`reply_term` is `None` when no reply
    /// came), counting the call as returned. Gives the lock back only if the
    /// outcome still matters: not when the reply reveals a newer term (then
    /// this peer steps down), nor when this peer is no longer the leader of
    /// the term it sent the call in.
    fn lock_for_reply(
        &self,
        peer: usize,
        call: u64,
        sent_term: u64,
        reply_term: Option<u64>,
    ) -> Option<MutexGuard<'_, State<C>>> {
        let mut st = self.state.lock();
        let still_leader = st.role == Role::Leader && st.p.current_term == sent_term;
        if still_leader {
            st.in_flight[peer] -= 1;
            // The awaited call is over, or, if a later call was answered,
            // lost or slow: the peer's next entries wait no longer.
            if let Some((awaited, _)) = st.awaited[peer]
                && (awaited == call || (awaited < call && reply_term.is_some()))
            {
                st.awaited[peer] = None;
            }
        }
        if let Some(term) = reply_term.filter(|&t| t > st.p.current_term) {
            self.become_follower(&mut st, term);
            return None;
        }
        if !still_leader || self.killed() {
            return None; // the outcome of an older term's call, or too late
        }
        if reply_term.is_some() {
            st.last_heard[peer] = Instant::now();
        }
        Some(st)
    }

    fn handle_append_reply(
        self: &Arc<Self>,
        peer: usize,
        call: u64,
        args: &AppendEntriesArgs<C>,
        reply: Option<AppendEntriesReply>,
    ) {
        let reply_term = reply.as_ref().map(|r| r.term);
        let Some(mut st) = self.lock_for_reply(peer, call, args.term, reply_term) else {
            return;
        };
        let Some(reply) = reply else {
            // Lost (or the peer is unreachable): send again at once what
            // still matters, rather than a heartbeat later. One call at a
            // time, paced by the network's delays.
            self.replicate(&mut st, peer);
            return;
        };
        if reply.success {
            let matched = args.prev_log_index + args.entries.len();
            st.commit_known[peer] = st.commit_known[peer].max(args.leader_commit);
            if matched > st.match_index[peer] {
                st.match_index[peer] = matched;
                st.next_index[peer] = st.next_index[peer].max(matched + 1);
                // Tells every idle follower of the new commit, this one too.
                self.advance_commit(&mut st);
            }
            // Entries beyond this call's (capped) batch or started while it
            // was out, or a commit it did not carry.
            self.replicate(&mut st, peer);
            return;
        }
        // Unless another reply already moved next_index, back it up past
        // the conflict, a whole term at a time.
        if st.next_index[peer] == args.prev_log_index + 1 {
            let next = match reply.x_term {
                None => reply.x_len,
                Some(term) => match st.p.log.last_index_of_term(term) {
                    Some(last) => last + 1,
                    None => reply.x_index,
                },
            };
            st.next_index[peer] = next.clamp(1, st.p.log.last_index() + 1);
            dlog!(
                Log1,
                self.me,
                "S{peer} lacks entry {}: next {}",
                args.prev_log_index,
                st.next_index[peer]
            );
        }
        // Try again right away rather than a heartbeat later: a follower far
        // behind needs several rounds.
        self.replicate(&mut st, peer);
    }

    fn handle_snapshot_reply(
        self: &Arc<Self>,
        peer: usize,
        call: u64,
        args: &InstallSnapshotArgs,
        reply: Option<InstallSnapshotReply>,
    ) {
        let reply_term = reply.as_ref().map(|r| r.term);
        let Some(mut st) = self.lock_for_reply(peer, call, args.term, reply_term) else {
            return;
        };
        if reply.is_some() {
            st.match_index[peer] = st.match_index[peer].max(args.last_included_index);
            st.next_index[peer] = st.next_index[peer].max(args.last_included_index + 1);
        }
        // The entries after the snapshot, or (lost) the snapshot again.
        self.replicate(&mut st, peer);
    }

    /// Commits the highest index stored on a majority, if it is of the
    /// current term. Older entries are committed only indirectly, with it:
    /// counting replicas of an old entry is unsafe (Figure 8 of the paper).
    fn advance_commit(self: &Arc<Self>, st: &mut State<C>) {
        let mut matched = st.match_index.clone();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let majority = matched[self.peers.len() / 2];
        if majority > st.commit_index && st.p.log.term(majority) == Some(st.p.current_term) {
            st.commit_index = majority;
            dlog!(
                Cmit,
                self.me,
                "T{} commit index {majority}",
                st.p.current_term
            );
            self.apply_cond.notify_one();
            // Tell the followers now rather than a heartbeat later, so they
            // apply without delay (the tester's one() waits for all of
            // them). A follower with a call out learns it from the call
            // that follows its reply.
            for peer in self.others() {
                self.replicate(st, peer);
            }
        }
    }

    /// Sends committed entries (and installed snapshots) on the apply
    /// channel, in order, never holding the lock while sending.
    fn applier(&self, apply_tx: Sender<ApplyMsg<C>>) {
        let mut st = self.state.lock();
        while !self.killed() {
            let batch = self.next_to_apply(&mut st);
            if batch.is_empty() {
                self.apply_cond.wait(&mut st);
                continue;
            }
            let sent = MutexGuard::unlocked(&mut st, || {
                batch.into_iter().all(|msg| apply_tx.send(msg).is_ok())
            });
            if !sent {
                return; // the service is gone
            }
        }
    }

    /// What the applier should send next: a pending snapshot, or the
    /// committed entries not applied yet (the first `MAX_APPLY_BATCH` of
    /// them). Marks them applied, so that a
    /// `snapshot()` call that arrives while they are being sent (the tester
    /// makes one from the thread that reads them) may cover them.
    fn next_to_apply(&self, st: &mut State<C>) -> Vec<ApplyMsg<C>> {
        if st.snapshot_pending {
            st.snapshot_pending = false;
            let index = st.p.log.first_index();
            st.last_applied = st.last_applied.max(index);
            dlog!(Cmit, self.me, "applying snapshot at {index}");
            return vec![ApplyMsg::Snapshot {
                term: st.p.log.term(index).unwrap_or(0),
                index,
                data: st.snapshot.clone(),
            }];
        }
        let from = st.last_applied + 1;
        let to = st.commit_index.min(from + MAX_APPLY_BATCH - 1);
        st.last_applied = st.last_applied.max(to);
        (from..=to)
            .map(|index| ApplyMsg::Command {
                index,
                command: st.p.log.command(index),
            })
            .collect()
    }

    /// Every peer but this one.
    fn others(&self) -> impl Iterator<Item = usize> + use<C> {
        let me = self.me;
        (0..self.peers.len()).filter(move |&p| p != me)
    }
    // SOLUTION END
}

// SOLUTION BEGIN
/// A fresh election deadline, a random timeout from now.
fn election_deadline() -> Instant {
    Instant::now() + Duration::from_millis(labrt::rand::random_range(ELECTION_TIMEOUT_MS))
}
// SOLUTION END

// SOLUTION BEGIN
#[cfg(test)]
mod tests {
    use super::{Log, Persistent};

    /// The bytes a save writes, and the bytes labgob gives for the tuple
    /// they stand for.
    fn saved_and_expected(p: &Persistent<String>) -> (Vec<u8>, Vec<u8>) {
        let mut saved = p.encode_head();
        saved.extend_from_slice(&p.log.encoded.to_vec());
        let expected = labgob::encode(&(
            p.current_term,
            p.voted_for,
            p.log.first,
            p.log.entries.clone(),
        ));
        (saved, expected)
    }

    #[test]
    fn the_log_encoded_as_it_changes_is_the_log_encoded_from_scratch() {
        let mut p = Persistent {
            current_term: 0,
            voted_for: None,
            log: Log::<String>::starting_at(0, 0),
        };
        // A small generator of our own: the steps must be the same in
        // every run, and labrt's needs no world here.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut draw = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut longest = 0;
        for step in 0..1500 {
            match draw(40) {
                // Mostly appends, some long enough to fill a chunk alone.
                0..=29 => {
                    let len = if draw(30) == 0 { 20_000 } else { draw(300) };
                    p.log.push(p.current_term, "x".repeat(len));
                }
                // A conflict drops the last few entries (not the sentinel).
                30..=33 => {
                    let after_first = p.log.last_index() - p.log.first_index();
                    if after_first > 0 {
                        p.log
                            .truncate_from(p.log.last_index() + 1 - (1 + draw(after_first.min(8))));
                    }
                }
                // A snapshot, whose entry the log holds or does not.
                34 => {
                    let index =
                        p.log.first_index() + draw(p.log.last_index() - p.log.first_index() + 1);
                    let term = p.log.term(index).unwrap() + (draw(4) == 0) as u64;
                    p.log.compact(index, term);
                }
                _ => {
                    p.current_term += 1;
                    p.voted_for = Some(draw(5)).filter(|&v| v < 3);
                }
            }
            longest = longest.max(p.log.encoded.len());
            let (saved, expected) = saved_and_expected(&p);
            assert!(
                saved == expected,
                "step {step}: the saved bytes differ from labgob's"
            );
            let back = Persistent::<String>::decode(&saved).unwrap();
            assert_eq!(
                (back.current_term, back.voted_for),
                (p.current_term, p.voted_for)
            );
            assert_eq!(
                format!("{:?}", back.log.entries),
                format!("{:?}", p.log.entries),
                "step {step}"
            );
            assert_eq!(back.log.first, p.log.first);
            assert!(
                back.log.encoded.to_vec() == p.log.encoded.to_vec(),
                "step {step}"
            );
        }
        assert!(
            longest > 4 * persister::ChunkedBytes::CHUNK,
            "{longest} bytes at most"
        );
    }
}
// SOLUTION END
