//! Topic logging for debugging Raft and the KV server.
//!
//! ```
//! # use raft::dlog;
//! # let (me, term) = (1, 4);
//! dlog!(Vote, me, "granting vote to S{} in T{}", 2, term);
//! ```
//!
//! prints, when logging is on, one line on stderr:
//!
//! ```text
//! 001234 VOTE S1 granting vote to S2 in T4
//! ```
//!
//! that is: milliseconds since the test started, the topic, the peer, the
//! message. `make dslogs` colors such logs and lays them out one column per
//! peer. Logging is off unless the environment variable `LAB_LOG` is set:
//! `LAB_LOG=1` shows every topic, `LAB_LOG=VOTE,LEAD` only those. When it is
//! off a `dlog!` costs one load and a branch: its arguments are not even
//! evaluated, so leave your log lines in.
//!
//! Topics: TIMR (timers), VOTE, LEAD (leadership), TERM, LOG1 (sending
//! entries), LOG2 (receiving entries), CMIT (commits and applies), PERS
//! (persistence), SNAP (snapshots), DROP (ignored RPCs and replies), CLNT
//! (KV clients and servers), CTRL (the shard controller), SHKV (the
//! sharded KV service's clerks and groups), TEST (the tester), INFO, WARN,
//! ERRO.

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use labrt::sync::atomic::{AtomicU64, Ordering};
use labrt::time::{Duration, Instant};

/// What a log line is about; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Topic {
    Timr,
    Vote,
    Lead,
    Term,
    Log1,
    Log2,
    Cmit,
    Pers,
    Snap,
    Drop,
    Clnt,
    Ctrl,
    Shkv,
    Test,
    Info,
    Warn,
    Erro,
}

const ALL: [Topic; 17] = [
    Topic::Timr,
    Topic::Vote,
    Topic::Lead,
    Topic::Term,
    Topic::Log1,
    Topic::Log2,
    Topic::Cmit,
    Topic::Pers,
    Topic::Snap,
    Topic::Drop,
    Topic::Clnt,
    Topic::Ctrl,
    Topic::Shkv,
    Topic::Test,
    Topic::Info,
    Topic::Warn,
    Topic::Erro,
];

impl Topic {
    /// The four-letter name that starts the log line.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Timr => "TIMR",
            Topic::Vote => "VOTE",
            Topic::Lead => "LEAD",
            Topic::Term => "TERM",
            Topic::Log1 => "LOG1",
            Topic::Log2 => "LOG2",
            Topic::Cmit => "CMIT",
            Topic::Pers => "PERS",
            Topic::Snap => "SNAP",
            Topic::Drop => "DROP",
            Topic::Clnt => "CLNT",
            Topic::Ctrl => "CTRL",
            Topic::Shkv => "SHKV",
            Topic::Test => "TEST",
            Topic::Info => "INFO",
            Topic::Warn => "WARN",
            Topic::Erro => "ERRO",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// Logs a line under a topic for a peer, if `LAB_LOG` lets that topic through.
///
/// `dlog!(Topic, peer, "format", args…)`, where `Topic` is one of the
/// [`Topic`] variants (`Vote`, `Lead`, …) and `peer` the server's index.
#[macro_export]
macro_rules! dlog {
    ($topic:ident, $peer:expr, $($arg:tt)+) => {
        if $crate::debug::enabled($crate::debug::Topic::$topic) {
            $crate::debug::write($crate::debug::Topic::$topic, $peer, format_args!($($arg)+));
        }
    };
}

/// Whether `LAB_LOG` lets `topic` through.
#[inline]
pub fn enabled(topic: Topic) -> bool {
    topics() & topic.bit() != 0
}

/// Writes one log line; call it through [`dlog!`](crate::dlog).
pub fn write(topic: Topic, peer: usize, message: fmt::Arguments<'_>) {
    if let Some(sink) = SINK.get() {
        sink(topic.name(), peer, &message.to_string());
    }
    if log_topics() & topic.bit() == 0 {
        return;
    }
    let ms = since_reset().as_millis();
    let line = format!("{ms:06} {} S{peer} {message}\n", topic.name());
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Where a trace (`LAB_TRACE`, the tester's timeline) takes every line:
/// the topic's name, the peer, the message.
pub type Sink = fn(&'static str, usize, &str);

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every `dlog!` line to `sink` from now on, whatever `LAB_LOG`
/// says (stderr still gets only what `LAB_LOG` lets through). Only when
/// `LAB_TRACE` is set are the lines formatted at all; the first sink set
/// stays.
pub fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Restarts the log clock; the tester calls it when a test begins.
pub fn reset_clock() {
    let since_origin = Instant::now() - origin();
    RESET.store(since_origin.as_nanos() as u64, Ordering::Relaxed);
}

// The clock is an atomic, not a lock: in the simulation every labrt lock is
// a point where another thread may be scheduled, and turning logging on
// must not change the run it logs.
static RESET: AtomicU64 = AtomicU64::new(0);

fn since_reset() -> Duration {
    let since_origin = Instant::now() - origin();
    since_origin.saturating_sub(Duration::from_nanos(RESET.load(Ordering::Relaxed)))
}

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// The topics a `dlog!` formats: all of them while a trace records
/// (`LAB_TRACE`), else those `LAB_LOG` lets through.
fn topics() -> u32 {
    static TOPICS: OnceLock<u32> = OnceLock::new();
    *TOPICS.get_or_init(|| {
        let tracing = std::env::var_os("LAB_TRACE").is_some_and(|p| !p.is_empty());
        if tracing { u32::MAX } else { log_topics() }
    })
}

/// The topics `LAB_LOG` lets through to stderr.
fn log_topics() -> u32 {
    static TOPICS: OnceLock<u32> = OnceLock::new();
    *TOPICS.get_or_init(|| parse_topics(std::env::var("LAB_LOG").ok().as_deref()))
}

fn parse_topics(setting: Option<&str>) -> u32 {
    match setting.map(str::trim) {
        None | Some("" | "0") => 0,
        Some("1" | "all" | "ALL") => u32::MAX,
        Some(list) => list
            .split(',')
            .map(|name| {
                let name = name.trim().to_ascii_uppercase();
                match ALL.iter().find(|t| t.name() == name) {
                    Some(t) => t.bit(),
                    None => panic!(
                        "LAB_LOG: unknown topic {name:?}; use 1 for all, or some of {}",
                        ALL.map(Topic::name).join(",")
                    ),
                }
            })
            .fold(0, |acc, bit| acc | bit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        assert_eq!(parse_topics(None), 0);
        assert_eq!(parse_topics(Some("0")), 0);
        assert_eq!(parse_topics(Some("1")), u32::MAX);
        let some = parse_topics(Some("vote, LEAD"));
        assert_eq!(some, Topic::Vote.bit() | Topic::Lead.bit());
    }

    #[test]
    #[should_panic(expected = "LAB_LOG: unknown topic \"VOTES\"")]
    fn unknown_topic_is_named() {
        parse_topics(Some("VOTES"));
    }
}
