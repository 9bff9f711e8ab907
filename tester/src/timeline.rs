//! The timeline of a run: `LAB_TRACE=run.html` on any lab test writes one
//! self-contained HTML page at the end of the test, passed or failed.
//!
//! Not in Go. The page has a lane per server (and one for the tester, and
//! one for the clerks), time across: each peer's term and role as coloured
//! bands (polled with `get_state` every 10 ms, as the hardening tests do),
//! every RPC as an arrow from its sending to its handler's answer (marked
//! when no answer came, when the end was cut off, when a test's
//! [`Faults`](crate::faults::Faults) dropped it, when the network lost the
//! reply after the handler answered), its arguments and reply on hover, the
//! tester's actions
//! (start, crash, connect, disconnect, partition), `start()`s, applies and
//! snapshots, the key/value clerks' operations from call to return (the
//! op log's entries), the student's `dlog!` lines (all topics, whatever
//! `LAB_LOG` says), and the failure message at its time. Everything comes from the
//! framework: the network's tap, the cluster, the apply-channel readers,
//! `raft::debug`'s sink and the panic hook.
//!
//! ```text
//! let tl = Timeline::start(&net, faults)  -- None unless LAB_TRACE is set; taps the network
//! cluster.set_timeline(&tl)               -- lanes, ends and the tester's actions
//! tl.mark(lane, Kind::Apply, text)        -- an event on a lane
//! tl.finish()                             -- writes the page (once; also on failure)
//! ```
//!
//! `LAB_TRACE_ONLY_FAILED=1` writes the page only if the test failed
//! (dstest's setting). The recording takes no labrt lock and starts no
//! thread of its own, but the role poller is a thread, so a traced run is
//! not the untraced run of the same seed: in the simulation, replay a
//! traced run with `LAB_TRACE` set (it is then exact).
//!
//! A reply the network lost after its handler answered is known from
//! labrpc's [`Tap::returned`], called when the call is over; a delivered
//! reply's arrival time (after the network's delays) is shown on hover.

// The recorder must not be a scheduling point of the simulation (turning
// the trace on would change the run more than it must) nor show up in
// labrt's lock-discipline report: it uses std's lock, held only to push a
// record, never across anything that blocks.
#![allow(clippy::disallowed_types)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex as StdMutex, OnceLock, Weak};

use labrpc::tap::{Call, Fate, Tap};
use labrpc::{Name, Network};
use labrt::sync::Arc;
use labrt::sync::atomic::{AtomicBool, Ordering};
use labrt::time::Instant;

/// The environment variable naming the page to write.
pub const TRACE_ENV: &str = "LAB_TRACE";
/// Set (to anything but `0`): write the page only for a failed test.
pub const ONLY_FAILED_ENV: &str = "LAB_TRACE_ONLY_FAILED";

/// The longest rendering of a call's arguments or of a command kept.
const MAX_TEXT: usize = 160;

/// The d3 library (ISC license, `tester/vendor/d3/LICENSE`), embedded in
/// every page so that it opens with no network.
const D3: &str = include_str!("../vendor/d3/d3.v7.9.2.min.js");
const PAGE: &str = include_str!("timeline/page.html");
const SCRIPT: &str = include_str!("timeline/timeline.js");

/// Whether `LAB_TRACE` asks for a page (read once).
pub fn enabled() -> bool {
    trace_path().is_some()
}

fn trace_path() -> Option<&'static PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var_os(TRACE_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    })
    .as_ref()
}

/// What a mark on a lane is.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// The tester started a server (or restarted it).
    Start,
    /// The tester crashed (shut down) a server.
    Crash,
    /// Links enabled or disabled, partitions.
    Net,
    /// `start(cmd)` accepted by a leader.
    Submit,
    /// A command applied.
    Apply,
    /// A snapshot taken by the service, or installed from the apply channel.
    Snapshot,
    /// Anything else the tester says.
    Note,
}

impl Kind {
    fn code(self) -> u8 {
        self as u8
    }
}

/// A handle on one test's recording; clones share it.
#[derive(Clone)]
pub struct Timeline(Arc<Inner>);

struct Inner {
    t0: Instant,
    path: PathBuf,
    title: String,
    rec: StdMutex<Rec>,
    written: AtomicBool,
    finished: AtomicBool,
    /// A test's faults tap, which decides fates; the timeline only watches.
    faults: OnceLock<Arc<dyn Tap>>,
}

#[derive(Default)]
struct Rec {
    lanes: Vec<String>,
    lane_of: HashMap<String, usize>,
    /// Each end's sender and receiver lanes, and whether it is enabled.
    ends: HashMap<Name, (usize, usize, bool)>,
    methods: Vec<String>,
    method_of: HashMap<String, usize>,
    texts: Vec<String>,
    text_of: HashMap<String, usize>,
    rpcs: Vec<Rpc>,
    /// Index in `rpcs` by call id.
    by_id: HashMap<u64, usize>,
    /// (time, lane, term, leader; term u64::MAX: crashed).
    roles: Vec<(u64, usize, u64, bool)>,
    marks: Vec<(u64, usize, u8, usize)>,
    logs: Vec<(u64, usize, usize, usize)>,
    /// Clerk operations: (call, return, lane, kind, text).
    ops: Vec<(u64, u64, usize, u8, usize)>,
    topics: Vec<&'static str>,
    failure: Option<(u64, String)>,
}

struct Rpc {
    sent: u64,
    from: usize,
    to: usize,
    method: usize,
    args: usize,
    answered: Option<u64>,
    fate: RpcFate,
    /// The reply's text, once the handler answered.
    reply: Option<usize>,
    /// When the reply reached the caller.
    back: Option<u64>,
}

#[derive(Clone, Copy)]
enum RpcFate {
    /// No answer seen (yet): lost on the way, or the server crashed.
    Open = 0,
    /// The handler answered.
    Answered = 1,
    /// Sent through a disabled end: the server was unreachable.
    Unreachable = 2,
    /// A test's faults dropped it (the request or the reply).
    DroppedByTest = 3,
    /// A test's faults held it.
    Held = 4,
    /// The handler answered but the reply never reached the caller: the
    /// network lost it, or delayed it past the server's crash.
    ReplyLost = 5,
}

const TESTER: usize = 0;
const CLERKS: usize = 1;

impl Timeline {
    /// A recording for this test if `LAB_TRACE` is set, tapping `net`
    /// (through `faults` first, which keeps deciding every fate).
    pub fn start(net: &Network, faults: Option<Arc<dyn Tap>>) -> Option<Timeline> {
        let path = trace_path()?.clone();
        let title = std::thread::current().name().unwrap_or("test").to_string();
        let mut rec = Rec::default();
        rec.lane("tester");
        rec.lane("clerks");
        let tl = Timeline(Arc::new(Inner {
            t0: Instant::now(),
            path,
            title,
            rec: StdMutex::new(rec),
            written: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            faults: OnceLock::new(),
        }));
        if let Some(faults) = faults {
            tl.set_faults(faults);
        }
        net.tap(Arc::new(tl.clone()));
        live()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&tl.0));
        ::raft::debug::set_sink(dlog_sink);
        Some(tl)
    }

    /// Lets `faults` decide every fate from now on (a test's own tap,
    /// composed with the timeline's: labrpc has one tap per network). The
    /// first set stays.
    pub fn set_faults(&self, faults: Arc<dyn Tap>) {
        let _ = self.0.faults.set(faults);
    }

    /// Installs the panic hook that records a failure at its time (and
    /// writes the page at once, since a lab thread's panic ends the
    /// process). Call after the first lab thread started, so that it
    /// chains to labrt's hook rather than being replaced by it.
    pub fn hook_panics(&self) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                fail_all(&panic_message(info.payload()));
                previous(info);
            }));
        });
    }

    fn now(&self) -> u64 {
        (Instant::now() - self.0.t0).as_micros() as u64
    }

    fn rec(&self) -> std::sync::MutexGuard<'_, Rec> {
        self.0.rec.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lane of the server called `name` (made on first use).
    pub fn lane_of(&self, name: &Name) -> usize {
        self.rec().lane(&lane_name(name))
    }

    /// Records that `end` goes from lane `from` to lane `to`.
    pub fn name_end(&self, end: &str, from: usize, to: usize) {
        self.rec().ends.insert(end.into(), (from, to, false));
    }

    /// Records that `end` was enabled or disabled.
    pub fn enable(&self, end: &str, enabled: bool) {
        if let Some(e) = self.rec().ends.get_mut(&Name::from(end)) {
            e.2 = enabled;
        }
    }

    /// An event on lane `lane` now.
    pub fn mark(&self, lane: usize, kind: Kind, text: impl AsRef<str>) {
        let t = self.now();
        let mut rec = self.rec();
        let text = rec.text(text.as_ref());
        rec.marks.push((t, lane, kind.code(), text));
    }

    /// An event on the tester's lane now.
    pub fn tester(&self, kind: Kind, text: impl AsRef<str>) {
        self.mark(TESTER, kind, text);
    }

    /// Peer on lane `lane` reports `term` and leadership (recorded on change
    /// by the caller).
    pub fn role(&self, lane: usize, term: u64, leader: bool) {
        let t = self.now();
        self.rec().roles.push((t, lane, term, leader));
    }

    /// The server on lane `lane` is down (its role band ends).
    pub fn down(&self, lane: usize) {
        let t = self.now();
        self.rec().roles.push((t, lane, u64::MAX, false));
    }

    /// The test failed with `message` (the first failure is kept); writes
    /// the page at once.
    pub fn fail(&self, message: &str) {
        let t = self.now();
        {
            let mut rec = self.rec();
            if rec.failure.is_none() {
                rec.failure = Some((t, message.to_string()));
            }
        }
        self.write();
    }

    /// Whether the test is over ([`Timeline::finish`] was called).
    pub fn is_finished(&self) -> bool {
        self.0.finished.load(Ordering::Acquire)
    }

    /// The test is over: writes the page unless it was written already
    /// after a failure, or the test passed and only failures are asked for.
    pub fn finish(&self) {
        if self.0.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.0.written.load(Ordering::Acquire) {
            // written at the failure; again, with what came after it.
            self.write();
            return;
        }
        let failed = self.rec().failure.is_some() || std::thread::panicking();
        if !failed && only_failed() {
            return;
        }
        self.write();
    }

    fn write(&self) {
        self.0.written.store(true, Ordering::Release);
        let end = self.now();
        let html = self.render(end);
        let path = &self.0.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(path, html) {
            Ok(()) => crate::common::eprint_live(&format!("timeline: {}\n", path.display())),
            Err(e) => crate::common::eprint_live(&format!(
                "timeline: cannot write {}: {e}\n",
                path.display()
            )),
        }
    }

    fn render(&self, end: u64) -> String {
        let rec = self.rec();
        let mut j = String::with_capacity(64 + rec.rpcs.len() * 40 + rec.logs.len() * 60);
        j.push('{');
        let _ = write!(j, "\"title\":{},", json_str(&self.0.title));
        let _ = write!(j, "\"env\":{},", json_str(&labrt::sim::replay_env()));
        let _ = write!(j, "\"sim\":{},", labrt::sim::enabled());
        let _ = write!(j, "\"end\":{end},");
        list(&mut j, "lanes", &rec.lanes, |j, s| j.push_str(&json_str(s)));
        list(&mut j, "methods", &rec.methods, |j, s| {
            j.push_str(&json_str(s))
        });
        list(&mut j, "texts", &rec.texts, |j, s| j.push_str(&json_str(s)));
        list(&mut j, "topics", &rec.topics, |j, s| {
            j.push_str(&json_str(s))
        });
        list(&mut j, "rpcs", &rec.rpcs, |j, r| {
            let answered = r.answered.map_or(-1, |t| t as i64);
            let reply = r.reply.map_or(-1, |t| t as i64);
            let back = r.back.map_or(-1, |t| t as i64);
            let _ = write!(
                j,
                "[{},{},{},{},{},{},{},{reply},{back}]",
                r.sent, r.from, r.to, r.method, r.args, answered, r.fate as u8
            );
        });
        list(
            &mut j,
            "roles",
            &rec.roles,
            |j, &(t, lane, term, leader)| {
                let term = if term == u64::MAX { -1 } else { term as i64 };
                let _ = write!(j, "[{t},{lane},{term},{}]", u8::from(leader));
            },
        );
        list(&mut j, "marks", &rec.marks, |j, &(t, lane, kind, text)| {
            let _ = write!(j, "[{t},{lane},{kind},{text}]");
        });
        list(&mut j, "logs", &rec.logs, |j, &(t, lane, topic, text)| {
            let _ = write!(j, "[{t},{lane},{topic},{text}]");
        });
        list(&mut j, "ops", &rec.ops, |j, &(t0, t1, lane, kind, text)| {
            let _ = write!(j, "[{t0},{t1},{lane},{kind},{text}]");
        });
        let links = linearizability_pages(&self.0.path);
        list(&mut j, "links", &links, |j, s| j.push_str(&json_str(s)));
        match &rec.failure {
            Some((t, message)) => {
                let _ = write!(j, "\"failure\":[{t},{}]", json_str(message));
            }
            None => j.push_str("\"failure\":null"),
        }
        j.push('}');
        PAGE.replace("/*TITLE*/", &html_escape(&self.0.title))
            .replacen("/*D3*/", &D3.replace("</script", "<\\/script"), 1)
            .replacen("/*SCRIPT*/", SCRIPT, 1)
            .replacen("/*DATA*/", &j.replace("</", "<\\/"), 1)
    }

    fn request(&self, call: &Call) {
        let t = self.now();
        let args = call.args_debug();
        let mut rec = self.rec();
        let (from, to, enabled) = rec
            .ends
            .get(&call.end)
            .copied()
            .unwrap_or((CLERKS, CLERKS, true));
        let method = rec.method(&call.method);
        let args = rec.text(&args);
        let fate = if enabled {
            RpcFate::Open
        } else {
            RpcFate::Unreachable
        };
        let index = rec.rpcs.len();
        rec.rpcs.push(Rpc {
            sent: t,
            from,
            to,
            method,
            args,
            answered: None,
            fate,
            reply: None,
            back: None,
        });
        rec.by_id.insert(call.id, index);
    }

    fn reply(&self, call: &Call) {
        let t = self.now();
        let reply = call.reply_debug();
        let mut rec = self.rec();
        let reply = reply.map(|r| rec.text(&r));
        if let Some(&i) = rec.by_id.get(&call.id) {
            let rpc = &mut rec.rpcs[i];
            rpc.answered = Some(t);
            rpc.fate = RpcFate::Answered;
            rpc.reply = reply;
        }
    }

    /// `call` is over; its reply arrived if `delivered`.
    fn returned(&self, call: &Call, delivered: bool) {
        let t = self.now();
        let mut rec = self.rec();
        if let Some(&i) = rec.by_id.get(&call.id) {
            let rpc = &mut rec.rpcs[i];
            if delivered {
                rpc.back = Some(t);
            } else if matches!(rpc.fate, RpcFate::Answered) {
                rpc.fate = RpcFate::ReplyLost;
            }
        }
    }

    fn fated(&self, call: &Call, fate: &Fate) {
        let fate = match fate {
            Fate::Drop => RpcFate::DroppedByTest,
            Fate::Hold(_) => RpcFate::Held,
            Fate::Deliver | Fate::Duplicate(_) => return,
        };
        let mut rec = self.rec();
        if let Some(&i) = rec.by_id.get(&call.id) {
            rec.rpcs[i].fate = fate;
        }
    }
}

impl Tap for Timeline {
    fn request(&self, call: &Call) -> Fate {
        Timeline::request(self, call);
        let fate = self
            .0
            .faults
            .get()
            .map_or(Fate::Deliver, |f| f.request(call));
        self.fated(call, &fate);
        fate
    }

    fn reply(&self, call: &Call) -> Fate {
        let fate = self.0.faults.get().map_or(Fate::Deliver, |f| f.reply(call));
        if matches!(fate, Fate::Deliver | Fate::Duplicate(_) | Fate::Hold(_)) {
            Timeline::reply(self, call);
        }
        self.fated(call, &fate);
        fate
    }

    fn returned(&self, call: &Call, delivered: bool) {
        if let Some(f) = self.0.faults.get() {
            f.returned(call, delivered);
        }
        Timeline::returned(self, call, delivered);
    }
}

impl Rec {
    fn lane(&mut self, name: &str) -> usize {
        if let Some(&i) = self.lane_of.get(name) {
            return i;
        }
        self.lanes.push(name.to_string());
        self.lane_of.insert(name.to_string(), self.lanes.len() - 1);
        self.lanes.len() - 1
    }

    fn method(&mut self, name: &str) -> usize {
        if let Some(&i) = self.method_of.get(name) {
            return i;
        }
        self.methods.push(name.to_string());
        self.method_of
            .insert(name.to_string(), self.methods.len() - 1);
        self.methods.len() - 1
    }

    /// The index of `text` (truncated) in the page's table of texts.
    fn text(&mut self, text: &str) -> usize {
        let text = truncate(text);
        if let Some(&i) = self.text_of.get(text) {
            return i;
        }
        self.texts.push(text.to_string());
        self.text_of.insert(text.to_string(), self.texts.len() - 1);
        self.texts.len() - 1
    }
}

/// Lane names: `S3` for integer names (labs 2, 3), the name itself else.
pub fn lane_name(name: &Name) -> String {
    match name {
        Name::Int(i) => format!("S{i}"),
        Name::Str(s) => s.clone(),
    }
}

fn live() -> &'static StdMutex<Vec<Weak<Inner>>> {
    static LIVE: OnceLock<StdMutex<Vec<Weak<Inner>>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
}

/// The test failed with `message` where no panic says so (the watchdog's
/// time limit, which ends the process): every live timeline records it and
/// writes its page now.
pub fn fail_all(message: &str) {
    for tl in live_timelines() {
        tl.fail(message);
    }
}

fn live_timelines() -> Vec<Timeline> {
    let mut live = live().lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|w| w.strong_count() > 0);
    live.iter()
        .filter_map(|w| w.upgrade().map(Timeline))
        .collect()
}

/// `raft::debug`'s sink: a `dlog!` line, to every live timeline (one per
/// test; tests traced in parallel in one process would share their lines).
fn dlog_sink(topic: &'static str, peer: usize, message: &str) {
    for tl in live_timelines() {
        let t = tl.now();
        let mut rec = tl.rec();
        let lane = rec.lane(&format!("S{peer}"));
        let topic = match rec.topics.iter().position(|&x| x == topic) {
            Some(i) => i,
            None => {
                rec.topics.push(topic);
                rec.topics.len() - 1
            }
        };
        let text = rec.text(message);
        rec.logs.push((t, lane, topic, text));
    }
}

/// A key/value clerk's operation, from its call to its return, as a span
/// on lane `lane` of every live timeline (the op log's entries, lab 3 and
/// 4B); `kind` 0 is a Get, 1 a Put, 2 an Append.
pub fn clerk_op(lane: &str, call: Instant, ret: Instant, kind: u8, text: &str) {
    for tl in live_timelines() {
        let t00 = tl.0.t0;
        let since = |t: Instant| {
            if t > t00 {
                (t - t00).as_micros() as u64
            } else {
                0
            }
        };
        let (t0, t1) = (since(call), since(ret));
        let mut rec = tl.rec();
        let lane = rec.lane(lane);
        let text = rec.text(text);
        rec.ops.push((t0, t1, lane, kind, text));
    }
}

fn only_failed() -> bool {
    std::env::var(ONLY_FAILED_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// The linearizability checker's pages in the run's output directory
/// (dstest's `LAB_OUTPUT_DIR`, or the page's own directory), relative to
/// the page.
fn linearizability_pages(page: &std::path::Path) -> Vec<String> {
    let page_dir = page.parent().map(PathBuf::from).unwrap_or_default();
    let mut dirs = vec![page_dir.clone()];
    if let Some(out) = std::env::var_os("LAB_OUTPUT_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(out));
    }
    let mut pages = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
            ".".as_ref()
        } else {
            dir.as_path()
        }) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("linearizability-") && name.ends_with(".html") {
                let path = entry.path();
                let shown = path
                    .strip_prefix(&page_dir)
                    .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
                if !pages.contains(&shown) {
                    pages.push(shown);
                }
            }
        }
    }
    pages.sort();
    pages
}

fn truncate(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn list<T>(j: &mut String, key: &str, items: &[T], mut f: impl FnMut(&mut String, &T)) {
    let _ = write!(j, "\"{key}\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            j.push(',');
        }
        f(j, item);
    }
    j.push_str("],");
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_needs() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn long_texts_are_cut_on_a_char_boundary() {
        let s = "é".repeat(MAX_TEXT);
        assert!(truncate(&s).len() <= MAX_TEXT);
        assert!(s.starts_with(truncate(&s)));
    }
}
