//! The lock-discipline checker: raftlab's answer to Go's `-race`.
//!
//! Rust rules out data races; what lab code gets wrong instead is how it
//! holds its locks. Every labrt [`Mutex`](crate::sync::Mutex) a thread
//! holds is on that thread's stack of held locks, with the line that locked
//! it (`#[track_caller]`), and every labrt operation that can wait (a
//! labrpc call, a send on a rendezvous or full channel, a receive, a sleep,
//! a join, a condvar wait) looks at that stack first. Three checks, in both
//! modes (real threads and `LAB_SIM=1`):
//!
//! * **blocking while holding a lock**: reported once per pair of lines
//!   (where the lock was taken, where the wait began), with a count;
//! * **locking a mutex the thread already holds**: a panic at once, naming
//!   both lines (the thread would wait for itself for ever);
//! * **lock-order inversion** (as Linux's lockdep): every "locked B while
//!   holding A" is recorded for the whole run; a B→A after an A→B is
//!   reported as a potential deadlock, with both orders' lines, even if
//!   this run did not deadlock; so is a longer ring (A→B, B→C, C→A).
//!
//! Reports collect until the tester prints them at the end of the test
//! ([`findings`]); `LAB_STRICT=1` makes the tester fail the test instead.
//! Locks taken by the framework (labrt, labrpc, the tester) do not count
//! for the first check: they are held across waits on purpose.
//!
//! Each labrt thread has a `Record`: its held locks, and what it waits
//! for and where (for the thread dump of [`dump`]). On real threads the
//! current record is found through a thread-local; in the simulation,
//! where many labrt threads share one OS thread, each simulated thread owns
//! a record and the scheduler points the thread-local at it whenever it
//! switches threads (`set_current`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;

use crate::thread_group::{Group, Membership};

type Site = &'static Location<'static>;

/// How many held locks a record keeps with their lines; a thread that holds
/// more (never seen in lab code) is checked for the first ones only.
const MAX_HELD: usize = 8;

/// A labrt thread's lock-discipline state, shared with the thread dump.
/// Only its own thread writes the held stack; other threads (the dump) only
/// read it, hence the atomics (relaxed: plain moves on x86).
pub(crate) struct Record {
    /// The thread's name (`raft-2-ticker`), or the test's name for a test's
    /// own thread.
    name: Mutex<String>,
    /// Whether labrt started the thread (else: a test's own thread).
    lab: AtomicBool,
    /// The group the thread belongs to (a peer's start, see
    /// `crate::thread_group`), and how late it ran after the group was stopped.
    membership: Mutex<Membership>,
    /// How many locks the thread holds (the first [`MAX_HELD`] in `held`).
    len: AtomicU32,
    held: [Held; MAX_HELD],
    /// Inside a blocking operation (a labrpc call, a join): the waits and
    /// locks it makes are its own, not checked again.
    quiet: AtomicU32,
    /// The lock-order edges this thread recorded lately (direct-mapped),
    /// to skip the shared table when a thread repeats itself.
    edges: [EdgeSlot; EDGE_CACHE],
    /// What the thread waits for now (a [`Waiting`] as u8, 0: nothing).
    waiting: AtomicU8,
    waiting_at: AtomicPtr<Location<'static>>,
    /// The mutex (its id) a thread waiting for a lock wants.
    waiting_for: AtomicU64,
    /// The words that say more (the method of an RPC, the duration of a
    /// sleep), for the slow waits only.
    waiting_detail: Mutex<String>,
}

/// One cached edge: (outer, inner, the [`GENERATION`] it was recorded in).
#[derive(Default)]
struct EdgeSlot(AtomicU64, AtomicU64, AtomicU64);

/// How many edges a thread's cache keeps.
const EDGE_CACHE: usize = 32;

/// Counts [`reset`]s: a cached edge of an older generation is forgotten.
static GENERATION: AtomicU64 = AtomicU64::new(1);

#[derive(Default)]
struct Held {
    id: AtomicU64,
    at: AtomicPtr<Location<'static>>,
}

/// What a thread can wait for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Waiting {
    Nothing = 0,
    Lock,
    Condvar,
    Send,
    Recv,
    Sleep,
    Join,
    Call,
}

impl Waiting {
    fn from_u8(n: u8) -> Waiting {
        match n {
            1 => Waiting::Lock,
            2 => Waiting::Condvar,
            3 => Waiting::Send,
            4 => Waiting::Recv,
            5 => Waiting::Sleep,
            6 => Waiting::Join,
            7 => Waiting::Call,
            _ => Waiting::Nothing,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Waiting::Nothing => "running",
            Waiting::Lock => "locking a Mutex",
            Waiting::Condvar => "waiting on a Condvar",
            Waiting::Send => "sending on a channel",
            Waiting::Recv => "receiving on a channel",
            Waiting::Sleep => "sleeping",
            Waiting::Join => "joining a thread",
            Waiting::Call => "calling",
        }
    }
}

impl Record {
    pub(crate) fn new(name: String, lab: bool, membership: Membership) -> Arc<Record> {
        Arc::new(Record {
            name: Mutex::new(name),
            lab: AtomicBool::new(lab),
            membership: Mutex::new(membership),
            len: AtomicU32::new(0),
            held: Default::default(),
            quiet: AtomicU32::new(0),
            edges: Default::default(),
            waiting: AtomicU8::new(0),
            waiting_at: AtomicPtr::new(ptr::null_mut()),
            waiting_for: AtomicU64::new(0),
            waiting_detail: Mutex::new(String::new()),
        })
    }

    /// How reports call the thread: `'raft-2-ticker'`, or `the test's
    /// thread`.
    fn who(&self) -> String {
        if self.lab.load(Ordering::Relaxed) {
            format!("'{}'", self.name.lock())
        } else {
            "the test's thread".to_string()
        }
    }

    /// What the thread waits for now and where (`sleeping at
    /// raft/src/raft.rs:812`); `None` if it is running.
    fn waiting_now(&self) -> Option<String> {
        let waiting = Waiting::from_u8(self.waiting.load(Ordering::Relaxed));
        // SAFETY: null or a `&'static Location` stored by `mark`.
        let at = short(unsafe { self.waiting_at.load(Ordering::Relaxed).as_ref() }?);
        match waiting {
            Waiting::Nothing => None,
            Waiting::Call => Some(format!("calling {} at {at}", self.waiting_detail.lock())),
            waiting => Some(format!("{} at {at}", waiting.describe())),
        }
    }

    /// The held locks, oldest first: (id, where locked).
    fn held(&self) -> Vec<(u64, Site)> {
        let len = (self.len.load(Ordering::Acquire) as usize).min(MAX_HELD);
        self.held[..len]
            .iter()
            .filter_map(|h| {
                let at = h.at.load(Ordering::Relaxed);
                // SAFETY: null or a `&'static Location` stored by `acquired`.
                let at = unsafe { at.as_ref() }?;
                Some((h.id.load(Ordering::Relaxed), at))
            })
            .collect()
    }
}

thread_local! {
    /// The record of the labrt thread running on this OS thread.
    static CURRENT: Cell<*const Record> = const { Cell::new(ptr::null()) };
    /// The record this OS thread owns (its own, as opposed to a simulated
    /// thread's), made at its first use.
    static OWN: Own = const { Own(RefCell::new(None)) };
}

struct Own(RefCell<Option<Arc<Record>>>);

impl Drop for Own {
    fn drop(&mut self) {
        if let Some(record) = self.0.get_mut().take() {
            CURRENT.with(|c| {
                if ptr::eq(c.get(), &*record) {
                    c.set(ptr::null());
                }
            });
            unregister(&record);
        }
    }
}

/// Every OS thread's own record, for the thread dump.
static REGISTRY: Mutex<Vec<Arc<Record>>> = Mutex::new(Vec::new());

fn unregister(record: &Arc<Record>) {
    let mut all = REGISTRY.lock();
    if let Some(i) = all.iter().position(|r| Arc::ptr_eq(r, record)) {
        all.swap_remove(i);
    }
}

/// The record of the running labrt thread; `None` only while the OS thread
/// exits.
#[inline]
fn current() -> Option<&'static Record> {
    let record = CURRENT.with(Cell::get);
    if record.is_null() {
        return own_slow();
    }
    // SAFETY: CURRENT points at a record kept alive by its owner (the OS
    // thread's `Own`, or a simulated thread of the running world) for as
    // long as it is current; `Own` clears it before it lets go, and the
    // scheduler points it elsewhere before a simulated thread's goes.
    Some(unsafe { &*record })
}

#[cold]
fn own_slow() -> Option<&'static Record> {
    let record = own_record()?;
    let p = Arc::as_ptr(&record);
    CURRENT.with(|c| c.set(p));
    // SAFETY: as in `current`: `Own` keeps it.
    Some(unsafe { &*p })
}

/// This OS thread's own record (made and registered at the first call).
pub(crate) fn own_record() -> Option<Arc<Record>> {
    OWN.try_with(|own| {
        own.0
            .borrow_mut()
            .get_or_insert_with(|| {
                let name = std::thread::current()
                    .name()
                    .unwrap_or("an unnamed thread")
                    .to_string();
                let record = Record::new(name, false, Membership::default());
                REGISTRY.lock().push(record.clone());
                record
            })
            .clone()
    })
    .ok()
}

/// Makes `record` the running thread's (the simulation's scheduler calls
/// this whenever it switches threads).
#[inline]
pub(crate) fn set_current(record: &Arc<Record>) {
    CURRENT.with(|c| c.set(Arc::as_ptr(record)));
}

/// A pool thread starts a lab closure: the OS thread's record takes its
/// name and group.
pub(crate) fn begin_lab_thread(name: &str, membership: Membership) {
    if let Some(record) = current() {
        name.clone_into(&mut record.name.lock());
        record.lab.store(true, Ordering::Relaxed);
        *record.membership.lock() = membership;
        record.len.store(0, Ordering::Relaxed);
    }
}

/// The closure is done; the pool thread waits for another (or, in the
/// simulation, the thread is over).
pub(crate) fn end_lab_thread() {
    if let Some(record) = current() {
        IDLE.clone_into(&mut record.name.lock());
        record.lab.store(false, Ordering::Relaxed);
        *record.membership.lock() = Membership::default();
    }
}

/// What a thread the running one starts now inherits: its group.
pub(crate) fn inheritance() -> Membership {
    current().map_or_else(Membership::default, |r| r.membership.lock().inherited())
}

/// Puts the running thread in another group, returning its place in the
/// one it leaves.
pub(crate) fn replace_membership(membership: Membership) -> Membership {
    current().map_or_else(Membership::default, |r| {
        std::mem::replace(&mut *r.membership.lock(), membership)
    })
}

/// The live labrt threads of `group`: name, place in the group, and what
/// each waits for and where (`None` if it is running).
pub(crate) fn members(group: &Arc<Group>) -> Vec<(String, Membership, Option<String>)> {
    let records = match crate::sim::world() {
        Some(world) => world.records(),
        None => REGISTRY.lock().clone(),
    };
    records
        .iter()
        .filter(|r| r.lab.load(Ordering::Relaxed))
        .filter_map(|r| {
            let membership = r.membership.lock().clone();
            let ours = membership
                .group
                .as_ref()
                .is_some_and(|g| Arc::ptr_eq(g, group));
            ours.then(|| (r.name.lock().clone(), membership, r.waiting_now()))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Lock identities.
//
// A held lock is known by its address (its `key`): a mutex cannot go away
// while it is held, so no two held locks share one, and finding it costs
// nothing. What outlives the holding (the lock orders of the whole test) is
// kept by the mutex's number instead, given at first need: addresses are
// reused, numbers never are.

/// The key of the mutex whose number lives in `slot`: its address.
#[inline]
pub(crate) fn key(slot: &AtomicU64) -> u64 {
    ptr::from_ref(slot) as usize as u64
}

/// The number of the mutex of key `key`, which must be alive (held, or
/// being locked).
fn id_of(key: u64) -> u64 {
    // SAFETY: a key is the address of a mutex's number slot, and the
    // mutex is alive: the caller holds it or is locking it.
    mutex_id(unsafe { &*(key as usize as *const AtomicU64) })
}

/// A mutex's number, given at its first need. 0 means "not numbered yet".
#[inline]
pub(crate) fn mutex_id(slot: &AtomicU64) -> u64 {
    let id = slot.load(Ordering::Relaxed);
    if id != 0 { id } else { assign_id(slot) }
}

#[cold]
fn assign_id(slot: &AtomicU64) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    match slot.compare_exchange(0, id, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => id,
        Err(theirs) => theirs,
    }
}

// ---------------------------------------------------------------------------
// The hooks of the primitives.

/// Before a thread waits to lock the mutex of key `id` at `at`: panics if
/// it holds it already, and records the lock order against the locks it
/// holds. Returns the thread's record and how many locks it holds, for
/// [`push`].
#[inline]
#[track_caller]
pub(crate) fn locking(id: u64, at: Site) -> Option<(&'static Record, u32)> {
    let record = current()?;
    let len = record.len.load(Ordering::Relaxed);
    if len != 0 {
        locking_slow(record, id, at);
    }
    Some((record, len))
}

/// The thread took the mutex of key `id` at `at`.
#[inline]
pub(crate) fn acquired(id: u64, at: Site) {
    if let Some(record) = current() {
        push(Some((record, record.len.load(Ordering::Relaxed))), id, at);
    }
}

/// The thread of `record`, which held `len` locks, took the mutex of key
/// `id` at `at`.
#[inline]
pub(crate) fn push(record: Option<(&Record, u32)>, id: u64, at: Site) {
    if let Some((record, len)) = record {
        if let Some(slot) = record.held.get(len as usize) {
            slot.id.store(id, Ordering::Relaxed);
            slot.at
                .store(ptr::from_ref(at).cast_mut(), Ordering::Relaxed);
        }
        record.len.store(len + 1, Ordering::Release);
    }
}

/// The thread released mutex `id`.
#[inline]
pub(crate) fn released(id: u64) {
    if let Some(record) = current() {
        let len = record.len.load(Ordering::Relaxed);
        let top = len.wrapping_sub(1);
        match record.held.get(top as usize) {
            Some(slot) if slot.id.load(Ordering::Relaxed) == id => {
                record.len.store(top, Ordering::Release);
            }
            _ => released_slow(record, id),
        }
    }
}

/// A guard released out of order (or beyond [`MAX_HELD`]).
#[cold]
fn released_slow(record: &Record, id: u64) {
    let len = record.len.load(Ordering::Relaxed);
    if len == 0 {
        return;
    }
    let kept = (len as usize).min(MAX_HELD);
    if let Some(i) = (0..kept)
        .rev()
        .find(|&i| record.held[i].id.load(Ordering::Relaxed) == id)
    {
        for j in i..kept - 1 {
            let next = &record.held[j + 1];
            record.held[j]
                .id
                .store(next.id.load(Ordering::Relaxed), Ordering::Relaxed);
            record.held[j]
                .at
                .store(next.at.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        // The freed place (or an untracked lock's, beyond MAX_HELD) holds
        // no lock.
        record.held[kept - 1].id.store(0, Ordering::Relaxed);
        record.held[kept - 1]
            .at
            .store(ptr::null_mut(), Ordering::Relaxed);
    }
    record.len.store(len - 1, Ordering::Release);
}

#[cold]
#[track_caller]
fn locking_slow(record: &Record, id: u64, at: Site) {
    let len = (record.len.load(Ordering::Relaxed) as usize).min(MAX_HELD);
    let held = &record.held[..len];
    if let Some(slot) = held.iter().find(|h| h.id.load(Ordering::Relaxed) == id) {
        // SAFETY: null or a `&'static Location` stored by `push`.
        let first = unsafe { slot.at.load(Ordering::Relaxed).as_ref() };
        panic!(
            "{} locked a Mutex at {} that it already holds (locked at {}): it would wait for \
             itself for ever (labrt's lock-discipline check; docs/debugging.md)",
            record.who(),
            short(at),
            first.map_or("?".to_string(), short)
        );
    }
    if record.quiet.load(Ordering::Relaxed) != 0 {
        // labrt's own lock inside a wait (a join's): not the student's order.
        return;
    }
    let inner = id_of(id);
    let generation = GENERATION.load(Ordering::Relaxed);
    let mut who = None;
    for slot in held {
        // SAFETY: null or a `&'static Location` stored by `push`.
        let Some(outer_at) = (unsafe { slot.at.load(Ordering::Relaxed).as_ref() }) else {
            continue;
        };
        let outer = id_of(slot.id.load(Ordering::Relaxed));
        let cached = &record.edges[edge_slot(outer, inner)];
        if cached.0.load(Ordering::Relaxed) == outer
            && cached.1.load(Ordering::Relaxed) == inner
            && cached.2.load(Ordering::Relaxed) == generation
        {
            continue;
        }
        let who: &String = who.get_or_insert_with(|| record.who());
        with_checker(|checker| checker.edge(outer, outer_at, inner, at, who));
        cached.0.store(outer, Ordering::Relaxed);
        cached.1.store(inner, Ordering::Relaxed);
        cached.2.store(generation, Ordering::Relaxed);
    }
}

/// Where edge (outer, inner) goes in a thread's cache.
fn edge_slot(outer: u64, inner: u64) -> usize {
    let mix =
        (outer.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ inner).wrapping_mul(0x517c_c1b7_2722_0a95);
    (mix >> 32) as usize % EDGE_CACHE
}

/// What a blocking operation is, for the report of one started while
/// holding a lock.
pub(crate) enum Op<'a> {
    /// A labrpc call of this method, which may wait this long.
    Call(&'a str, Duration),
    /// A send on a rendezvous channel, or on a full one of this capacity.
    Send(usize),
    Recv,
    Sleep(Duration),
    Join,
    /// A condvar wait; the mutex it waits with (which it releases).
    Condvar(u64),
}

/// What a blocking operation in progress marks; ends (and clears the
/// thread's "waiting" for the dump) when dropped.
pub struct Blocking {
    record: Option<&'static Record>,
    /// Whether this one set the quiet mode (a labrpc call).
    quiet: bool,
    /// Where the wait began.
    at: Site,
    /// When a labrpc call of a thread in a group began (its time is
    /// excused by the kill check, `crate::thread_group`).
    call_began: Option<crate::time::Instant>,
}

impl Blocking {
    fn none(at: Site) -> Blocking {
        Blocking {
            record: None,
            quiet: false,
            at,
            call_began: None,
        }
    }

    /// The wait ended because its time was up (a sleep, or a timed wait
    /// that timed out): the thread woke on its own, which the kill check
    /// watches for in a stopped group.
    #[inline]
    pub(crate) fn timed_out(&self) {
        if let Some(record) = self.record {
            let mut membership = record.membership.lock();
            if membership.group.is_some() {
                membership.timer_fired(self.at);
            }
        }
    }
}

impl Drop for Blocking {
    #[inline]
    fn drop(&mut self) {
        if let Some(record) = self.record {
            record.waiting.store(0, Ordering::Relaxed);
            if self.quiet {
                let quiet = record.quiet.load(Ordering::Relaxed);
                record.quiet.store(quiet - 1, Ordering::Relaxed);
            }
            if let Some(began) = self.call_began {
                record.membership.lock().call_ended(began);
            }
        }
    }
}

/// A blocking operation starts at `at`: checks that the thread holds no
/// lock (but the one a condvar wait releases), and marks what it waits for.
/// Inside a labrpc call (the call's own waits) it does nothing.
#[inline]
pub(crate) fn blocking(op: Op<'_>, at: Site) -> Blocking {
    let waiting = op.waiting();
    match check(op, at) {
        Some(record) => mark(record, waiting, at),
        None => Blocking::none(at),
    }
}

/// The check of [`blocking`] alone, for an operation that may not have to
/// wait (a receive with a message ready): the thread's record, unless the
/// operation is another's own (quiet).
#[inline]
pub(crate) fn check(op: Op<'_>, at: Site) -> Option<&'static Record> {
    let record = current()?;
    if record.quiet.load(Ordering::Relaxed) != 0 {
        return None;
    }
    let len = record.len.load(Ordering::Relaxed);
    if len != 0 && !only_its_own(record, len, &op) {
        blocking_slow(record, &op, at);
    }
    if let Op::Call(method, _) = op {
        method.clone_into(&mut record.waiting_detail.lock());
    }
    Some(record)
}

/// Whether the one lock the thread holds is the one a condvar wait
/// releases: the usual wait, nothing to report.
#[inline]
fn only_its_own(record: &Record, len: u32, op: &Op<'_>) -> bool {
    match op {
        Op::Condvar(mutex) => len == 1 && record.held[0].id.load(Ordering::Relaxed) == *mutex,
        _ => false,
    }
}

/// The marking of [`blocking`] alone: the thread of `record` waits, at
/// `at`, for what `waiting` says (a mutex's key for a condvar wait).
#[inline]
pub(crate) fn mark(record: &'static Record, waiting: (Waiting, u64), at: Site) -> Blocking {
    record.waiting_for.store(waiting.1, Ordering::Relaxed);
    record
        .waiting_at
        .store(ptr::from_ref(at).cast_mut(), Ordering::Relaxed);
    record.waiting.store(waiting.0 as u8, Ordering::Relaxed);
    // The waits and locks inside this one (a call's, a join's) are its own.
    let quiet = record.quiet.load(Ordering::Relaxed);
    record.quiet.store(quiet + 1, Ordering::Relaxed);
    Blocking {
        record: Some(record),
        quiet: true,
        at,
        call_began: None,
    }
}

impl Op<'_> {
    /// What a thread in this operation waits for, for the dump.
    pub(crate) fn waiting(&self) -> (Waiting, u64) {
        match *self {
            Op::Call(..) => (Waiting::Call, 0),
            Op::Send(_) => (Waiting::Send, 0),
            Op::Recv => (Waiting::Recv, 0),
            Op::Sleep(_) => (Waiting::Sleep, 0),
            Op::Join => (Waiting::Join, 0),
            Op::Condvar(mutex) => (Waiting::Condvar, mutex),
        }
    }
}

/// A labrpc call of `method` starts at `at` (labrpc's hook): checks, as
/// every blocking operation does, that the calling thread holds no lock;
/// `longest` is how long the network may keep the caller waiting, for the
/// report. The waits the call makes inside labrpc are the call's own, not
/// checked again, until the returned guard drops.
#[inline]
pub fn calling(method: &str, longest: Duration, at: &'static Location<'static>) -> Blocking {
    let mut call = blocking(Op::Call(method, longest), at);
    if let Some(record) = call.record
        && record.membership.lock().group.is_some()
    {
        call.call_began = Some(crate::time::Instant::now());
    }
    call
}

/// A thread waits for a lock someone else holds (real mode, contended
/// locks only): marked for the dump.
#[inline]
pub(crate) fn waiting_for_lock(id: u64, at: Site) -> Blocking {
    // Inside another wait (a join's own lock), that wait is what shows.
    let record = current().filter(|r| r.quiet.load(Ordering::Relaxed) == 0);
    if let Some(record) = record {
        record.waiting_for.store(id, Ordering::Relaxed);
        record
            .waiting_at
            .store(ptr::from_ref(at).cast_mut(), Ordering::Relaxed);
        record.waiting.store(Waiting::Lock as u8, Ordering::Relaxed);
    }
    Blocking {
        record,
        quiet: false,
        at,
        call_began: None,
    }
}

#[cold]
fn blocking_slow(record: &Record, op: &Op<'_>, at: Site) {
    let held: Vec<(u64, Site)> = record
        .held()
        .into_iter()
        .filter(|&(id, site)| !matches!(op, Op::Condvar(m) if *m == id) && !framework(site))
        .collect();
    if held.is_empty() {
        return;
    }
    let who = record.who();
    let released = match op {
        Op::Condvar(m) => record
            .held()
            .into_iter()
            .find(|(id, _)| id == m)
            .map(|(_, site)| site),
        _ => None,
    };
    with_checker(|checker| {
        for (_, lock_at) in held {
            let key = Key::new(Kind::Blocking, &[at, lock_at]);
            checker.add(key, &who, || {
                let at = short(at);
                let lock_at = short(lock_at);
                match op {
                    Op::Call(method, longest) => format!(
                        "{who} called {method} at {at} while holding the Mutex locked at \
                         {lock_at}; a peer that does not answer holds every thread that needs \
                         this lock for up to {}",
                        seconds(*longest)
                    ),
                    Op::Send(0) => format!(
                        "{who} sent on a rendezvous channel (bounded(0), like the apply \
                         channel) at {at} while holding the Mutex locked at {lock_at}; the send \
                         waits until a receiver takes the value, and a receiver that needs this \
                         lock first never will (a deadlock)"
                    ),
                    Op::Send(cap) => format!(
                        "{who} sent on a full channel (bounded({cap})) at {at} while holding the \
                         Mutex locked at {lock_at}; the send waits for a receiver to make room, \
                         and a receiver that needs this lock first never will (a deadlock)"
                    ),
                    Op::Recv => format!(
                        "{who} waited to receive on a channel at {at} while holding the Mutex \
                         locked at {lock_at}; every thread that needs this lock waits as long, \
                         and a sender that needs it never sends (a deadlock)"
                    ),
                    Op::Sleep(d) => format!(
                        "{who} slept ({}) at {at} while holding the Mutex locked at {lock_at}; \
                         every thread that needs this lock sleeps with it",
                        seconds(*d)
                    ),
                    Op::Join => format!(
                        "{who} joined a thread at {at} while holding the Mutex locked at \
                         {lock_at}; if that thread needs this lock, neither ever finishes (a \
                         deadlock)"
                    ),
                    Op::Condvar(_) => format!(
                        "{who} waited on a Condvar at {at} while holding the Mutex locked at \
                         {lock_at}; the wait releases only its own Mutex{}, so a thread that \
                         must lock this one to notify never can (a deadlock)",
                        released.map_or(String::new(), |s| format!(" (locked at {})", short(s)))
                    ),
                }
            });
        }
    });
}

/// `7 s`, `100 ms`.
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) && d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A lock taken in the framework (labrt, labrpc, the testers): held
/// across waits on purpose, and not the student's to fix.
fn framework(site: Site) -> bool {
    let file = site.file().replace('\\', "/");
    [
        "labrt/src/",
        "labrpc/src/",
        "tester/src/",
        "linearizability/src/",
    ]
    .iter()
    .any(|dir| file.starts_with(dir) || file.contains(&format!("/{dir}")))
}

/// `raft/src/raft.rs:812` (no column).
fn short(site: Site) -> String {
    format!("{}:{}", site.file(), site.line())
}

/// The thread lets go of the mutex of key `id` for a while (a condvar
/// wait, `MutexGuard::unlocked`'s closure), and will take it again: returns
/// where it was locked, to put it back with that line.
#[inline]
pub(crate) fn suspend(id: u64) -> Option<Site> {
    let record = current()?;
    let len = (record.len.load(Ordering::Relaxed) as usize).min(MAX_HELD);
    let site = record.held[..len]
        .iter()
        .rev()
        .find(|h| h.id.load(Ordering::Relaxed) == id)
        // SAFETY: null or a `&'static Location` stored by `push`.
        .and_then(|h| unsafe { h.at.load(Ordering::Relaxed).as_ref() });
    released(id);
    site
}

// ---------------------------------------------------------------------------
// Findings.

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Blocking,
    Order,
    /// A killed peer's thread that ran on (`crate::thread_group`).
    Stop,
}

/// A finding's identity: its kind and the lines involved.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct Key(Kind, Vec<(&'static str, u32, u32)>);

impl Key {
    fn new(kind: Kind, sites: &[Site]) -> Key {
        Key(
            kind,
            sites
                .iter()
                .map(|s| (s.file(), s.line(), s.column()))
                .collect(),
        )
    }
}

/// One order seen: "locked `inner` at `inner_at` while holding `outer`,
/// locked at `outer_at`", by `who`.
struct Edge {
    outer_at: Site,
    inner_at: Site,
    who: String,
}

#[derive(Default)]
pub(crate) struct Checker {
    findings: Vec<Finding>,
    edges: HashMap<(u64, u64), Edge>,
    /// The same orders as a graph: for each mutex, those locked while
    /// holding it.
    after: HashMap<u64, Vec<u64>>,
}

/// The longest cycle of lock orders looked for (a ring of that many
/// threads); longer ones are not reported.
const MAX_CYCLE: usize = 8;

/// One report: its text (naming the first thread), how many times it was
/// seen, and by how many threads (at most [`MAX_NAMES`] kept).
struct Finding {
    key: Key,
    text: String,
    count: u64,
    threads: Vec<String>,
}

/// How many distinct thread names a finding keeps, to count them.
const MAX_NAMES: usize = 64;

impl Checker {
    fn add(&mut self, key: Key, who: &str, text: impl FnOnce() -> String) {
        match self.findings.iter_mut().find(|f| f.key == key) {
            Some(finding) => {
                finding.count += 1;
                if finding.threads.len() < MAX_NAMES && !finding.threads.iter().any(|t| t == who) {
                    finding.threads.push(who.to_string());
                }
            }
            None => self.findings.push(Finding {
                key,
                text: text(),
                count: 1,
                threads: vec![who.to_string()],
            }),
        }
    }

    fn edge(&mut self, outer: u64, outer_at: Site, inner: u64, inner_at: Site, who: &str) {
        if self.edges.contains_key(&(outer, inner)) {
            return;
        }
        self.edges.insert(
            (outer, inner),
            Edge {
                outer_at,
                inner_at,
                who: who.to_string(),
            },
        );
        self.after.entry(outer).or_default().push(inner);
        let Some(other) = self.edges.get(&(inner, outer)) else {
            self.cycle(outer, inner);
            return;
        };
        // Both orders: other = "locked outer while holding inner".
        let key = Key::new(
            Kind::Order,
            &[outer_at, inner_at, other.outer_at, other.inner_at],
        );
        let text = format!(
            "potential deadlock (lock-order inversion): {who} locked the Mutex at {} while \
             holding the one locked at {}, and {} locked them the other way round: the one at {} \
             while holding the one at {}. Two threads doing these at once wait for each other \
             for ever; take the two locks in one order everywhere",
            short(inner_at),
            short(outer_at),
            if other.who == who {
                "it also".to_string()
            } else {
                other.who.clone()
            },
            short(other.inner_at),
            short(other.outer_at),
        );
        self.add(key, who, || text);
    }
}

impl Checker {
    /// After the new order `outer` → `inner`: if orders already lead from
    /// `inner` back to `outer` through other locks, the orders form a ring
    /// (A→B, B→C, C→A): as many threads, each at its place at once, wait
    /// for each other for ever. Reported once, when its last order appears.
    fn cycle(&mut self, outer: u64, inner: u64) {
        let Some(path) = self.path(inner, outer) else {
            return;
        };
        // The ring's orders, the new one first: outer→inner→...→outer.
        let mut ring = vec![outer];
        ring.extend(path);
        let orders: Vec<&Edge> = ring
            .windows(2)
            .map(|w| &self.edges[&(w[0], w[1])])
            .collect();
        let sites: Vec<Site> = orders
            .iter()
            .flat_map(|e| [e.outer_at, e.inner_at])
            .collect();
        let mut text = format!(
            "potential deadlock (a ring of {} lock orders): ",
            orders.len()
        );
        for (i, e) in orders.iter().enumerate() {
            let _ = write!(
                text,
                "{}{} locked the Mutex at {} while holding the one locked at {}",
                if i == 0 { "" } else { "; " },
                e.who,
                short(e.inner_at),
                short(e.outer_at)
            );
        }
        let _ = write!(
            text,
            ". {} threads doing these at once wait for each other for ever; take the locks in \
             one order everywhere",
            orders.len()
        );
        let who = orders[0].who.clone();
        self.add(Key::new(Kind::Order, &sites), &who, || text);
    }

    /// A shortest chain of orders from `from` to `to` (both included), of
    /// at most [`MAX_CYCLE`] locks, if any.
    fn path(&self, from: u64, to: u64) -> Option<Vec<u64>> {
        let mut came_from: HashMap<u64, u64> = HashMap::from([(from, from)]);
        let mut frontier = vec![from];
        for _ in 1..MAX_CYCLE {
            let mut next = Vec::new();
            for &node in &frontier {
                for &after in self.after.get(&node).into_iter().flatten() {
                    if came_from.contains_key(&after) {
                        continue;
                    }
                    came_from.insert(after, node);
                    if after == to {
                        let mut path = vec![to];
                        while *path.last()? != from {
                            path.push(came_from[path.last()?]);
                        }
                        path.reverse();
                        return Some(path);
                    }
                    next.push(after);
                }
            }
            frontier = next;
        }
        None
    }
}

static GLOBAL: Mutex<Option<Checker>> = Mutex::new(None);

/// Runs `f` on the findings of this test: the simulated world's, or the
/// process's on real threads.
fn with_checker<R>(f: impl FnOnce(&mut Checker) -> R) -> R {
    if let Some(world) = crate::sim::world() {
        return world.with_checker(f);
    }
    f(GLOBAL.lock().get_or_insert_with(Checker::default))
}

/// Records the kill check's finding `text` about thread `who`, once per
/// `woke_from` (the timed wait it woke from), with a count.
pub(crate) fn add_stop_finding(woke_from: Site, who: &str, text: String) {
    let key = Key::new(Kind::Stop, &[woke_from]);
    with_checker(|checker| checker.add(key, &format!("'{who}'"), || text));
}

/// Forgets the findings and lock orders seen so far: each tester calls it
/// when a test starts.
pub fn reset() {
    with_checker(|c| *c = Checker::default());
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The findings so far, one line each (with its count); empty if none.
pub fn findings() -> Vec<String> {
    with_checker(|c| {
        c.findings
            .iter()
            .map(|f| match (f.count, f.threads.len()) {
                (1, _) => f.text.clone(),
                (n, 1) => format!("{} ({n} times)", f.text),
                (n, t) => format!(
                    "{} ({n} times, in {t}{} threads)",
                    f.text,
                    if t == MAX_NAMES { " or more" } else { "" }
                ),
            })
            .collect()
    })
}

/// The warning block the testers print at the end of a test, `None` if
/// there is nothing to report.
pub fn warning() -> Option<String> {
    let findings = findings();
    if findings.is_empty() {
        return None;
    }
    let mut block = format!(
        "warning: labrt's lock-discipline check found {} problem{} (docs/debugging.md; \
         LAB_STRICT=1 makes {} a failure):\n",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        if findings.len() == 1 { "it" } else { "each" }
    );
    for finding in findings {
        let _ = writeln!(block, "  - {finding}");
    }
    Some(block)
}

/// Whether `LAB_STRICT=1`: lock-discipline findings fail the test.
pub fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| match std::env::var("LAB_STRICT") {
        Err(_) => false,
        Ok(v) => match v.trim() {
            "" | "0" => false,
            "1" => true,
            other => panic!("LAB_STRICT must be 0 or 1, got {other:?}"),
        },
    })
}

// ---------------------------------------------------------------------------
// The thread dump.

/// Every labrt thread of the process (real threads): its name and tag,
/// what it waits for and where, and the locks it holds; for a thread
/// waiting for a lock, who holds it and where it was taken. Go's SIGQUIT
/// dump, for lab threads. Threads alike (the handler threads of a peer,
/// say) share a line, with their number.
pub fn dump(headline: &str) -> String {
    let mut records: Vec<Arc<Record>> = REGISTRY.lock().clone();
    // The test's threads first, then each peer's, by name.
    let order = |r: &Arc<Record>| {
        (
            r.lab.load(Ordering::Relaxed),
            r.membership
                .lock()
                .group
                .as_ref()
                .map(|g| g.label().to_string()),
            r.name.lock().clone(),
        )
    };
    records.sort_by_cached_key(order);
    let mut holders: HashMap<u64, (String, Site)> = HashMap::new();
    for record in &records {
        for (id, at) in record.held() {
            holders.insert(id, (record.who(), at));
        }
    }
    let mut entries: Vec<(String, usize)> = Vec::new();
    let mut idle = 0;
    // The thread that dumps (the tester's watchdog) is not stuck.
    let me = CURRENT.with(Cell::get);
    for record in records.iter().filter(|r| !ptr::eq(Arc::as_ptr(r), me)) {
        let name = record.name.lock().clone();
        let lab = record.lab.load(Ordering::Relaxed);
        let waiting = Waiting::from_u8(record.waiting.load(Ordering::Relaxed));
        let held = record.held();
        if !lab && waiting == Waiting::Nothing && held.is_empty() {
            // An idle pooled thread, or a thread labrt never saw wait
            // (libtest's main thread, say).
            idle += usize::from(name == IDLE);
            continue;
        }
        let tag = (record.membership.lock().group.as_ref())
            .map_or(String::new(), |g| format!(" [{}]", g.label()));
        let who = if lab {
            format!("'{name}'")
        } else {
            format!("the test's thread '{name}'")
        };
        let mut entry = format!("  {who}{tag} ");
        match record.waiting_now() {
            None => entry.push_str("is running (not waiting in labrt)\n"),
            Some(what) => {
                let _ = writeln!(entry, "is {what}");
            }
        }
        if waiting == Waiting::Lock {
            let id = record.waiting_for.load(Ordering::Relaxed);
            match holders.get(&id) {
                Some((holder, locked)) => {
                    let _ = writeln!(
                        entry,
                        "      which {holder} holds, locked at {}",
                        short(locked)
                    );
                }
                None => entry.push_str("      (just released)\n"),
            }
        }
        for (_, at) in held {
            let _ = writeln!(entry, "      holding the Mutex locked at {}", short(at));
        }
        match entries.iter_mut().find(|(e, _)| *e == entry) {
            Some((_, count)) => *count += 1,
            None => entries.push((entry, 1)),
        }
    }
    let mut out = format!("{headline}\n");
    for (entry, count) in entries {
        match count {
            1 => out.push_str(&entry),
            n => out.push_str(&entry.replacen('\n', &format!(" ({n} threads)\n"), 1)),
        }
    }
    if idle > 0 {
        let _ = writeln!(out, "  ({idle} idle pooled threads)");
    }
    out
}

/// What an idle pooled thread is called.
const IDLE: &str = "an idle labrt thread";

/// Adds to what the running thread's labrpc call shows in the dump: the
/// server it reaches (labrpc calls this once it knows).
pub fn calling_to(server: &dyn std::fmt::Display) {
    if let Some(record) = current()
        && Waiting::from_u8(record.waiting.load(Ordering::Relaxed)) == Waiting::Call
    {
        let _ = write!(record.waiting_detail.lock(), " to server {server}");
    }
}

/// From now on, SIGQUIT (Ctrl-\\ in the terminal) prints where every labrt
/// thread waits on stderr and ends the process with status 2, as Go does:
/// on real threads [`dump`]; in the simulation the world's report, which
/// it prints at its next scheduling point (see `crate::sim`). The testers
/// call it when a test starts; it acts once per process.
pub fn dump_on_sigquit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGQUIT;
            let mut signals = match signal_hook::iterator::Signals::new([SIGQUIT]) {
                Ok(signals) => signals,
                Err(e) => {
                    eprintln!("labrt: cannot catch SIGQUIT for the thread dump: {e}");
                    return;
                }
            };
            let started = std::thread::Builder::new()
                .name("labrt-sigquit".to_string())
                .spawn(move || {
                    if signals.forever().next().is_some() {
                        quit();
                    }
                });
            if let Err(e) = started {
                eprintln!("labrt: cannot start the SIGQUIT thread: {e}");
            }
        }
    });
}

/// SIGQUIT arrived: prints the dump and ends the process.
#[cfg(unix)]
fn quit() -> ! {
    if crate::sim::enabled() {
        crate::sim::ask_to_quit();
        // A world answers at once, or by its watchdog within about three
        // seconds; none does between two tests.
        std::thread::sleep(std::time::Duration::from_secs(5));
        eprintln!(
            "{}: no simulated test was running ({})",
            crate::sim::QUIT_HEADLINE,
            crate::sim::replay_env()
        );
        std::process::exit(2);
    }
    let dump = dump(&format!(
        "{}\nthe labrt threads, what each waits for and where, and the locks each holds ({}):",
        crate::sim::QUIT_HEADLINE,
        crate::sim::replay_env()
    ));
    let mut err = std::io::stderr().lock();
    let _ = std::io::Write::write_all(&mut err, dump.as_bytes());
    std::process::exit(2);
}
