//! dslogs — pretty-prints a lab's topic log: one color per topic, and
//! optionally one column per peer (a port of the `dslogs` script of 6.824
//! students).
//!
//! ```text
//! LAB_LOG=1 cargo test -p raft --test raft_test -- --exact initial_election_2a --nocapture 2> run.log
//! dslogs run.log -c 3                     # peers S0, S1, S2 side by side
//! dslogs run.log --just VOTE,LEAD         # only elections
//! dslogs dstest-logs/backup_2b_7.log -c 5 --ignore TIMR
//! ```
//!
//! It reads FILE (or stdin) line by line, as it comes. A log line is
//! `<ms> <TOPIC> S<peer> <message>`, as `dlog!` writes it
//! (raft/src/debug.rs), e.g. `001234 VOTE S1 granting vote to S2 in T4`;
//! it is printed in its topic's color. Every other line (test titles,
//! `Passed` lines, panics, cargo's `test … ok`, dstest's log header) is
//! printed as it is.
//!
//! Flags:
//!
//! * `-c, --columns N`: one column per peer `S0..S<N-1>` after the time,
//!   headed by the peers' names; a message shows as `TOPIC message` in its
//!   peer's column, wrapped to the column's width. Columns share the
//!   terminal's width (160 characters when stdout is not a terminal). A line
//!   of a peer beyond N is printed whole.
//! * `-j, --just TOPICS` shows only these topics; `-i, --ignore TOPICS`
//!   hides these. TOPICS is a comma list, in any case (`vote,lead`); a name
//!   that is not a topic is an error.
//! * `--no-color`: no colors. There are none either when stdout is not a
//!   terminal, or when `NO_COLOR` is set.

// A tool that reads logs; it never runs under labrt's simulation, so the
// workspace ban on std items (clippy.toml) does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use console::Style;

/// The topics of raft/src/debug.rs and their colors, xterm 256-color codes
/// close to those of MIT's dslogs.
const TOPICS: [(&str, u8); 17] = [
    ("TIMR", 247),
    ("VOTE", 73),
    ("LEAD", 179),
    ("TERM", 70),
    ("LOG1", 68),
    ("LOG2", 30),
    ("CMIT", 139),
    ("PERS", 173),
    ("SNAP", 208),
    ("DROP", 203),
    ("CLNT", 29),
    ("CTRL", 37),
    ("SHKV", 135),
    ("TEST", 197),
    ("INFO", 252),
    ("WARN", 214),
    ("ERRO", 196),
];

/// The width of the time column: the 6 digits `dlog!` writes.
const TIME_WIDTH: usize = 6;
/// The narrowest column, however many peers share the width.
const MIN_COLUMN: usize = 12;
/// The width assumed when stdout is not a terminal.
const DEFAULT_WIDTH: usize = 160;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Pretty-prints a lab's topic log (LAB_LOG=1): colors by topic, optionally a column per peer."
)]
struct Cli {
    /// The log to read; stdin if absent
    file: Option<PathBuf>,

    /// One column per peer, `S0` to `S<N-1>`
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    columns: Option<u16>,

    /// Show only these topics (comma list, e.g. VOTE,LEAD)
    #[arg(short, long, value_name = "TOPICS", value_parser = topic_set)]
    just: Option<TopicSet>,

    /// Hide these topics (comma list, e.g. TIMR,DROP)
    #[arg(short, long, value_name = "TOPICS", value_parser = topic_set)]
    ignore: Option<TopicSet>,

    /// No colors
    #[arg(long)]
    no_color: bool,
}

/// A set of topics, by their index in [`TOPICS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TopicSet(u16);

impl TopicSet {
    const ALL: TopicSet = TopicSet(u16::MAX);
    const NONE: TopicSet = TopicSet(0);

    fn contains(self, topic: usize) -> bool {
        self.0 & (1 << topic) != 0
    }
}

fn topic_index(name: &str) -> Option<usize> {
    TOPICS.iter().position(|&(topic, _)| topic == name)
}

/// Parses a comma list of topics, in any case.
fn topic_set(text: &str) -> Result<TopicSet, String> {
    let mut set = TopicSet::NONE;
    for name in text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        let Some(topic) = topic_index(&name.to_ascii_uppercase()) else {
            let names: Vec<&str> = TOPICS.iter().map(|&(topic, _)| topic).collect();
            return Err(format!(
                "unknown topic {name:?}; the topics are {}",
                names.join(",")
            ));
        };
        set.0 |= 1 << topic;
    }
    if set == TopicSet::NONE {
        return Err("expected a comma list of topics, like VOTE,LEAD".to_string());
    }
    Ok(set)
}

/// One line of a topic log.
#[derive(Debug, PartialEq, Eq)]
struct Entry<'a> {
    time: &'a str,
    /// Its index in [`TOPICS`].
    topic: usize,
    peer: usize,
    message: &'a str,
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Reads `<ms> <TOPIC> S<peer> <message>`; `None` for any other line.
fn parse(line: &str) -> Option<Entry<'_>> {
    let mut fields = line.splitn(4, ' ');
    let time = fields.next().filter(|time| all_digits(time))?;
    let topic = topic_index(fields.next()?)?;
    let peer = fields
        .next()?
        .strip_prefix('S')
        .filter(|peer| all_digits(peer))?;
    Some(Entry {
        time,
        topic,
        peer: peer.parse().ok()?,
        message: fields.next().unwrap_or(""),
    })
}

/// How to print: which topics, in columns or not, how wide, in color or
/// not.
struct View {
    shown: TopicSet,
    /// `(peers, width of a column)` in column mode.
    columns: Option<(usize, usize)>,
    color: bool,
}

impl View {
    /// `columns` peers (if any) sharing `width` characters.
    fn new(shown: TopicSet, columns: Option<usize>, width: usize, color: bool) -> View {
        let columns = columns.map(|peers| {
            let share = width.saturating_sub(TIME_WIDTH) / peers;
            (peers, share.saturating_sub(1).max(MIN_COLUMN))
        });
        View {
            shown,
            columns,
            color,
        }
    }

    /// The column mode's header: the peers' names over their columns.
    fn header(&self) -> Option<String> {
        let (peers, width) = self.columns?;
        let names: Vec<String> = (0..peers)
            .map(|peer| format!("{:<width$}", format!("S{peer}")))
            .collect();
        let header = format!("{:TIME_WIDTH$} {}", "", names.join(" "));
        Some(format!("{}\n", header.trim_end()))
    }

    /// Appends the printed form of `line` (without its newline) to `out`:
    /// nothing if its topic is filtered out, else one line or more, each
    /// ending in a newline.
    fn render(&self, line: &str, out: &mut String) {
        let Some(entry) = parse(line) else {
            out.push_str(line);
            out.push('\n');
            return;
        };
        if !self.shown.contains(entry.topic) {
            return;
        }
        let (name, color) = TOPICS[entry.topic];
        let style = Style::new().color256(color).force_styling(self.color);
        match self.columns {
            Some((peers, width)) if entry.peer < peers => {
                let text = format!("{name} {}", entry.message);
                let indent = " ".repeat(entry.peer * (width + 1));
                for (i, piece) in wrap(&text, width).iter().enumerate() {
                    let time = if i == 0 { entry.time } else { "" };
                    out.push_str(&format!(
                        "{time:<TIME_WIDTH$} {indent}{}\n",
                        style.apply_to(piece)
                    ));
                }
            }
            _ => {
                out.push_str(&style.apply_to(line).to_string());
                out.push('\n');
            }
        }
    }
}

/// Breaks `text` into lines of at most `width` characters, between words
/// where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut rest = word;
        loop {
            let used = line.chars().count();
            let len = rest.chars().count();
            if used > 0 && used + 1 + len <= width {
                line.push(' ');
                line.push_str(rest);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            if len <= width {
                line.push_str(rest);
                break;
            }
            // A word longer than a line: cut it.
            let cut = rest
                .char_indices()
                .nth(width)
                .map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
    }
    lines.push(line);
    lines
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let input: Box<dyn BufRead> = match &cli.file {
        Some(path) => match File::open(path) {
            Ok(file) => Box::new(BufReader::new(file)),
            Err(err) => {
                eprintln!("dslogs: cannot read {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(io::stdin().lock()),
    };
    let stdout = console::Term::stdout();
    let width = stdout
        .size_checked()
        .map_or(DEFAULT_WIDTH, |(_, columns)| columns.into());
    let shown =
        TopicSet(cli.just.unwrap_or(TopicSet::ALL).0 & !cli.ignore.unwrap_or(TopicSet::NONE).0);
    let view = View::new(
        shown,
        cli.columns.map(usize::from),
        width,
        !cli.no_color && console::colors_enabled(),
    );
    match print(input, &view) {
        Ok(()) => ExitCode::SUCCESS,
        // `dslogs run.log | head` closes the pipe early: not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dslogs: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `input` line by line through `view`, as it comes (so that a log
/// still being written can be followed through a pipe).
fn print(mut input: Box<dyn BufRead>, view: &View) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if let Some(header) = view.header() {
        out.write_all(header.as_bytes())?;
    }
    let mut bytes = Vec::new();
    let mut rendered = String::new();
    while input.read_until(b'\n', &mut bytes)? > 0 {
        // A panic message may hold any bytes; show them rather than stop.
        let line = String::from_utf8_lossy(&bytes);
        view.render(line.trim_end_matches(['\n', '\r']), &mut rendered);
        out.write_all(rendered.as_bytes())?;
        bytes.clear();
        rendered.clear();
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dslogs does not depend on the raft crate (it must read a student's
    /// logs even when their code does not build), so the topics are written
    /// twice; this keeps the two lists the same.
    #[test]
    fn topics_are_those_of_raft_debug() {
        let debug = include_str!("../../../raft/src/debug.rs");
        let names: Vec<&str> = debug
            .lines()
            .filter_map(|line| line.trim().strip_prefix("Topic::")?.split_once(" => \""))
            .map(|(_, rest)| rest.trim_end_matches("\","))
            .collect();
        let ours: Vec<&str> = TOPICS.iter().map(|(name, _)| *name).collect();
        assert_eq!(ours, names);
    }

    fn rendered(view: &View, lines: &[&str]) -> String {
        let mut out = view.header().unwrap_or_default();
        for line in lines {
            view.render(line, &mut out);
        }
        out
    }

    #[test]
    fn parses_log_lines_only() {
        assert_eq!(
            parse("001234 VOTE S1 granting vote to S2 in T4"),
            Some(Entry {
                time: "001234",
                topic: 1,
                peer: 1,
                message: "granting vote to S2 in T4",
            })
        );
        assert_eq!(
            parse("000007 LEAD S12").map(|e| (e.peer, e.message)),
            Some((12, ""))
        );
        for other in [
            "Test (2A): initial election ...",
            "  ... Passed --   3.1  3   56     606    0",
            "test initial_election_2a ... ok",
            "thread 'x' panicked at raft/tests/raft_test.rs:60:5:",
            "001234 VOTES S1 x",
            "001234 VOTE 1 x",
            "001234 VOTE S+1 x",
            "12:00 VOTE S1 x",
            "",
        ] {
            assert_eq!(parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn topic_lists() {
        assert_eq!(topic_set("vote, LEAD"), Ok(TopicSet(0b110)));
        let err = topic_set("VOTE,VOTES").unwrap_err();
        assert!(
            err.starts_with("unknown topic \"VOTES\"; the topics are TIMR,VOTE,"),
            "{err}"
        );
        assert!(topic_set(" , ").is_err());
    }

    #[test]
    fn filters_topics_but_keeps_other_lines() {
        let view = View::new(topic_set("VOTE").unwrap(), None, 80, false);
        let out = rendered(
            &view,
            &[
                "Test (2A): x ...",
                "000001 VOTE S0 a",
                "000002 LEAD S0 b",
                "  ... Passed --",
            ],
        );
        assert_eq!(out, "Test (2A): x ...\n000001 VOTE S0 a\n  ... Passed --\n");
    }

    #[test]
    fn colors_by_topic_when_asked() {
        let line = "000001 VOTE S0 a";
        let colored = rendered(&View::new(TopicSet::ALL, None, 80, true), &[line]);
        assert_eq!(colored, "\u{1b}[38;5;73m000001 VOTE S0 a\u{1b}[0m\n");
        let plain = rendered(&View::new(TopicSet::ALL, None, 80, false), &[line]);
        assert_eq!(plain, "000001 VOTE S0 a\n");
    }

    #[test]
    fn columns_per_peer_with_wrapping() {
        // 6 + 3 × (1 + 15) = 54 characters.
        let view = View::new(TopicSet::ALL, Some(3), 54, false);
        let out = rendered(
            &view,
            &[
                "000010 TIMR S0 election timeout",
                "000011 VOTE S2 granting vote to S0 in T1",
                "test initial_election_2a ... ok",
                "000012 LEAD S7 a peer past the columns",
            ],
        );
        let expected = "       S0              S1              S2\n\
                        000010 TIMR election\n       timeout\n\
                        000011                                 VOTE granting\n\
                        \x20                                      vote to S0 in\n\
                        \x20                                      T1\n\
                        test initial_election_2a ... ok\n\
                        000012 LEAD S7 a peer past the columns\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn columns_never_narrower_than_the_minimum() {
        let view = View::new(TopicSet::ALL, Some(10), 40, false);
        assert_eq!(view.columns, Some((10, MIN_COLUMN)));
    }

    #[test]
    fn wraps_between_words_and_cuts_long_words() {
        assert_eq!(wrap("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), [""]);
    }
}
