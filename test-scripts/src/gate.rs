//! The gate on student source: a syntactic check of the student files that
//! runs before anything of a submission is built, and refuses what could let
//! lab code escape the tests, or pass them without doing the lab.
//!
//! ```text
//! gate::check_source("raft/src/raft.rs", &source) -> Vec<Violation>  // one file
//! gate::check_tree(root) -> io::Result<Vec<Violation>>               // every student file under root
//! violation.to_string()  // "raft/src/raft.rs:12:5: std::process is not allowed in lab code: ..."
//! ```
//!
//! Students are treated as hostile: the grader runs their code in its own
//! processes, next to the tester that judges it. The gate reads each student
//! file ([`labs::is_student_file`]) as tokens, parsed with `syn`, and is
//! conservative: what it cannot see through, it refuses, with a message that
//! names the thing and says why. The rules:
//!
//! 1. No `unsafe` (blocks, functions, impls, traits, `#[unsafe(...)]`), no
//!    extern blocks, and none of the attributes that act on the linker
//!    (`no_mangle`, `export_name`, `link_section`, `link`, `used`,
//!    `global_allocator`): memory safety is what keeps a submission out of
//!    the grader's memory.
//! 2. No path into the parts of std that reach outside the test
//!    (`std::process`, `env`, `fs`, `path`, `net`, `os`, `io::stdin`, the
//!    panic hooks, `catch_unwind`, `alloc`, `intrinsics`, `arch`), nor into
//!    what labrt replaces (`std::thread`, `std::time::{Instant, SystemTime}`,
//!    the locks, channels and once-cells of `std::sync`), so that the
//!    simulation sees every thread, clock and lock. `core` and `alloc` count
//!    as std. Around that rule, nothing that could hide such a path: no
//!    import of std itself or of a module that holds a forbidden item (`use
//!    std::sync;` would make `sync::Mutex` unreadable), no glob import from
//!    std, no `extern crate`, no name starting with `__` (`serde::__private`
//!    re-exports std), no macro variable that could complete a path (`std::$x`,
//!    `$x::`), and no `env!`, `option_env!`, `thread_local!` or `asm!`.
//!    `include!`, `include_str!`, `include_bytes!` and `#[path]` may only
//!    name a student file, by a relative path without `..` (code only in a
//!    `.rs` file, which the gate then checks too). String literals in
//!    attributes are read as code, since serde's attributes name functions
//!    in them. `labrt::thread::catch_panic` counts as `catch_unwind`; `labrt::discipline`
//!    (the tester's lock-discipline findings) is the tester's alone.
//! 3. No `static` items (`const` is fine): peers, servers and clerks may
//!    share nothing but the network; a clerk that kept data in a
//!    process-wide map could pass lab 3 without Raft.
//!
//! The gate sees paths wherever they are: in `use` trees (`use std::{fs,
//! process::exit}`), expressions, types, patterns, attributes, and in the
//! raw tokens of macro invocations and `macro_rules!` bodies, where it reads
//! `std :: ...` sequences through nested use-tree braces. A local module
//! named `fs`, `self::fs` or `labrt::thread` is fine: only paths that start
//! at std, core or alloc name std. Comments and string literals outside
//! attributes are not code, so `println!("std::process")` is fine.
//!
//! Each violation is reported once per line and rule. A file that does not
//! parse is one violation (rule "parse"); so is a student path that is a
//! symbolic link or not a regular file, a file that is not UTF-8, and one
//! larger than [`MAX_SOURCE`] or nested deeper than [`MAX_DEPTH`] (a
//! submission must not be able to crash the grader's parser).

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;
use std::thread;

use proc_macro2::{Delimiter, Group, Literal, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::visit::{self, Visit};

use crate::labs;

/// One broken rule, at a place in a student file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The file, relative to the repository's root, `/`-separated.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// A short id of the rule, e.g. "unsafe", "static", "std::process".
    pub rule: &'static str,
    /// What is forbidden and why, in one sentence.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// The largest student file the gate reads, five times the reference Raft.
pub const MAX_SOURCE: usize = 256 * 1024;

/// The deepest code the gate reads, in tokens (see `parse_depth`):
/// parsing is recursive, and a submission must not be able to overflow the
/// grader's stack. The deepest file of raftlab reaches 137.
pub const MAX_DEPTH: usize = 512;

/// The stack of the thread that parses a file. Code of [`MAX_DEPTH`] needs
/// at most 4 MiB (nested blocks, at about 8 KiB a level); this leaves room
/// for builds that optimize less.
const PARSER_STACK: usize = 64 << 20;

/// The roots of std's paths.
const ROOTS: [&str; 3] = ["std", "core", "alloc"];

const ASIDE: &str = "a submission may not reach outside the tests";
const NO_HOOK: &str =
    "panics are how the tester reports failures, and lab code may not change that";
const NO_CATCH: &str = "a panic in lab code must end the test, as in Go";
const NO_THREAD: &str = "use labrt::thread (the simulation must see every thread)";
const NO_CLOCK: &str = "use labrt::time::Instant (the simulation keeps the time)";
const NO_LOCK: &str = "use labrt::sync::Mutex (the simulation must see every lock)";
const NO_GLOBAL: &str =
    "it holds process-wide state, and peers, servers and clerks may share nothing but the network";
const NO_UNSAFE: &str = "memory safety is what keeps a submission out of the grader's memory";

/// The parts of std lab code may not name, and why. Each path is also its
/// rule's id; the longest that prefixes a path is the one reported.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "std::process",
        "a submission may not end or start processes",
    ),
    (
        "std::env",
        "a submission may not read or change the environment, where the grader keeps its settings",
    ),
    (
        "std::fs",
        "a submission may not touch files (a peer saves its state with the Persister)",
    ),
    ("std::path", "a submission may not look at the file system"),
    ("std::net", "peers may talk only through labrpc"),
    ("std::os", ASIDE),
    ("std::io::stdin", ASIDE),
    ("std::panic::set_hook", NO_HOOK),
    ("std::panic::take_hook", NO_HOOK),
    ("std::panic::always_abort", NO_HOOK),
    ("std::panic::catch_unwind", NO_CATCH),
    ("std::panic::resume_unwind", NO_CATCH),
    ("std::alloc", NO_UNSAFE),
    ("std::intrinsics", NO_UNSAFE),
    ("std::arch", NO_UNSAFE),
    (
        "std::thread::spawn",
        "use labrt::thread::spawn (the simulation must see every thread)",
    ),
    (
        "std::thread::Builder",
        "use labrt::thread::spawn_named (the simulation must see every thread)",
    ),
    (
        "std::thread::sleep",
        "use labrt::time::sleep (the simulation keeps the time)",
    ),
    ("std::thread", NO_THREAD),
    ("std::time::Instant", NO_CLOCK),
    ("std::time::SystemTime", NO_CLOCK),
    ("std::time::UNIX_EPOCH", NO_CLOCK),
    ("std::sync::Mutex", NO_LOCK),
    (
        "std::sync::MutexGuard",
        "use labrt::sync::MutexGuard (the simulation must see every lock)",
    ),
    ("std::sync::RwLock", NO_LOCK),
    ("std::sync::RwLockReadGuard", NO_LOCK),
    ("std::sync::RwLockWriteGuard", NO_LOCK),
    (
        "std::sync::Condvar",
        "use labrt::sync::Condvar (the simulation must see every wait)",
    ),
    (
        "std::sync::Barrier",
        "use labrt::sync::Mutex and Condvar (the simulation must see every wait)",
    ),
    (
        "std::sync::mpsc",
        "use labrt::channel (the simulation must see every channel)",
    ),
    ("std::sync::Once", NO_GLOBAL),
    ("std::sync::OnceLock", NO_GLOBAL),
    ("std::sync::LazyLock", NO_GLOBAL),
];

/// The attributes that act on the linker.
const LINKER_ATTRIBUTES: [&str; 6] = [
    "no_mangle",
    "export_name",
    "link_section",
    "link",
    "used",
    "global_allocator",
];

/// Checks one student file's source. `path` is relative to the repository's
/// root, `/`-separated; it names the file in messages and is where
/// `include!` and `#[path]` are resolved from.
pub fn check_source(path: &str, source: &str) -> Vec<Violation> {
    if source.len() > MAX_SOURCE {
        let message = format!(
            "this file is larger than {} KiB, the most the gate reads",
            MAX_SOURCE / 1024
        );
        return vec![whole_file(path, "size", message)];
    }
    // A stack overflow would end the grader: parse on a thread whose stack
    // holds code of MAX_DEPTH, with room to spare.
    let found = thread::scope(|scope| {
        thread::Builder::new()
            .name("gate".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || {
                let mut checker = Checker::new(path);
                checker.check_file(source);
                checker.found
            })
            .map(|handle| handle.join())
    });
    match found {
        Ok(Ok(found)) => dedup(found),
        _ => vec![whole_file(
            path,
            "parse",
            "the gate could not check this file".into(),
        )],
    }
}

/// Walks the lab packages under `root`, checks every student file, and
/// returns all violations, sorted by file and place. A student path that is
/// a symbolic link or not a regular file, and a `.rs` file that is not
/// UTF-8, are violations too.
pub fn check_tree(root: &Path) -> Result<Vec<Violation>, io::Error> {
    let mut found = Vec::new();
    let mut packages: Vec<&str> = labs::LABS.iter().map(|lab| lab.package).collect();
    // A lab's suites share its package: walk each once.
    packages.sort_unstable();
    packages.dedup();
    for package in packages {
        let src = format!("{package}/src");
        match fs::symlink_metadata(root.join(&src)) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
            Ok(_) => walk(root, &src, &mut found)?,
        }
    }
    found.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Ok(found)
}

/// Checks the student files under `dir` (relative to `root`), never
/// following a symbolic link.
fn walk(root: &Path, dir: &str, found: &mut Vec<Violation>) -> io::Result<()> {
    let mut entries = fs::read_dir(root.join(dir))?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = format!("{dir}/{}", name.to_string_lossy());
        let kind = entry.file_type()?;
        if !is_student_path(&path) {
            if kind.is_dir() && name.to_str().is_some() {
                walk(root, &path, found)?;
            }
        } else if name.to_str().is_none() {
            let message = "this file's name is not UTF-8".into();
            found.push(whole_file(&path, "utf8", message));
        } else if kind.is_symlink() {
            let message = "this is a symbolic link: student files must be regular files, since a link could point at the grader's files".into();
            found.push(whole_file(&path, "symlink", message));
        } else if kind.is_dir() {
            walk(root, &path, found)?;
        } else if !kind.is_file() {
            let message = "this is not a regular file: student files must be".into();
            found.push(whole_file(&path, "file", message));
        } else if path.ends_with(".rs") {
            found.extend(check_file(root, &path)?);
        }
    }
    Ok(())
}

/// Checks one `.rs` student file of the tree.
fn check_file(root: &Path, path: &str) -> io::Result<Vec<Violation>> {
    let bytes = fs::read(root.join(path))?;
    Ok(match String::from_utf8(bytes) {
        Ok(source) => check_source(path, &source),
        Err(_) => vec![whole_file(
            path,
            "utf8",
            "this file is not UTF-8, as Rust source must be".into(),
        )],
    })
}

/// Whether `path` is a student file, or a directory that holds them.
fn is_student_path(path: &str) -> bool {
    labs::is_student_file(path) || labs::is_student_file(&format!("{path}/x"))
}

/// A violation about a file as a whole, placed at its start.
fn whole_file(path: &str, rule: &'static str, message: String) -> Violation {
    Violation {
        file: path.to_string(),
        line: 1,
        column: 1,
        rule,
        message,
    }
}

/// Sorts by place and keeps one violation per line and rule.
fn dedup(mut found: Vec<Violation>) -> Vec<Violation> {
    found.sort_by_key(|v| (v.line, v.column, v.rule));
    let mut seen = std::collections::HashSet::new();
    found.retain(|v| seen.insert((v.line, v.rule)));
    found
}

/// A path's segment: its name (raw identifiers unraw) and where it is.
type Segment = (String, Span);

/// What one file breaks: the syntax tree's visitor, and the scanner of the
/// raw tokens the tree leaves unparsed (macros, attributes).
struct Checker<'a> {
    file: &'a str,
    found: Vec<Violation>,
    /// Where to report: set while scanning code read from a string literal,
    /// whose tokens have no place in the file.
    at: Option<Span>,
}

impl<'a> Checker<'a> {
    fn new(file: &'a str) -> Self {
        Checker {
            file,
            found: Vec::new(),
            at: None,
        }
    }

    fn report(&mut self, span: Span, rule: &'static str, message: String) {
        let start = self.at.unwrap_or(span).start();
        self.found.push(Violation {
            file: self.file.to_string(),
            line: start.line.max(1),
            column: start.column + 1,
            rule,
            message,
        });
    }

    fn check_file(&mut self, source: &str) {
        // rustc skips a byte order mark; the lexer does not.
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let tokens = match source.parse::<TokenStream>() {
            Ok(tokens) => tokens,
            Err(err) => {
                let message = "this file does not parse: a bracket, string or comment is not closed, or a character is not Rust's".into();
                self.report(err.span(), "parse", message);
                return;
            }
        };
        if parse_depth(tokens.clone()) > MAX_DEPTH {
            self.found.push(whole_file(self.file, "parse", too_deep()));
            return;
        }
        match syn::parse2::<syn::File>(tokens) {
            Ok(file) => self.visit_file(&file),
            Err(err) => {
                let message = format!("this file does not parse: {err}");
                self.report(err.span(), "parse", message);
            }
        }
    }

    // ---- The rules, shared by the tree and the raw tokens ----

    fn unsafe_code(&mut self, span: Span) {
        let message = format!("unsafe is not allowed in lab code: {NO_UNSAFE}");
        self.report(span, "unsafe", message);
    }

    fn extern_block(&mut self, span: Span) {
        let message = format!(
            "extern blocks are not allowed in lab code: foreign functions are unsafe, and {NO_UNSAFE}"
        );
        self.report(span, "unsafe", message);
    }

    fn static_item(&mut self, span: Span) {
        self.report(span, "static", "static items are not allowed in lab code: peers, servers and clerks may share nothing but the network, so keep state in your structs (a const is fine)".into());
    }

    fn extern_crate(&mut self, span: Span) {
        self.report(span, "extern crate", "extern crate is not allowed in lab code: it can rename std or bring in other crates, past the gate".into());
    }

    fn macro_path(&mut self, span: Span, what: &str) {
        let message = format!(
            "{what} is not allowed in lab code: a macro variable there could name any item of std, which the gate cannot check"
        );
        self.report(span, "macro-path", message);
    }

    /// The rules on any name: hidden internals and caught panics.
    fn check_name(&mut self, name: &str, span: Span) {
        if name.starts_with("__") {
            let message = format!(
                "{name} is not allowed in lab code: names that start with __ are hidden internals of other crates (serde::__private re-exports std)"
            );
            self.report(span, "hidden", message);
        } else if name == "catch_panic" {
            let message = format!("catch_panic is not allowed in lab code: {NO_CATCH}");
            self.report(span, "catch_panic", message);
        } else if name == "discipline" {
            let message = "labrt::discipline is not allowed in lab code: it is the tester's (a submission that reset its lock-discipline findings would pass a strict grading it fails)".to_string();
            self.report(span, "discipline", message);
        } else if name == "thread_group" {
            let message = "labrt::thread_group is not allowed in lab code: it is the tester's (a thread started outside its peer's group would escape the kill check)".to_string();
            self.report(span, "thread_group", message);
        }
    }

    /// The rules on a path's names (checked once each, as the path is
    /// read, so that a long path costs no more than its length).
    fn check_names(&mut self, path: &[Segment]) {
        for (name, span) in path {
            self.check_name(name, *span);
        }
    }

    /// The rules on a path that starts at std. `imported`: nothing follows
    /// its last segment (an import, or a path in raw tokens), so naming a
    /// module that holds forbidden items is refused too: after `use
    /// std::sync;`, `sync::Mutex` would be out of the gate's sight.
    fn check_path(&mut self, path: &[Segment], imported: bool) {
        let Some(((root, span), rest)) = path.split_first() else {
            return;
        };
        if !ROOTS.contains(&root.as_str()) {
            return;
        }
        // No forbidden path is longer than three segments after its root.
        let rest: Vec<&str> = rest.iter().take(4).map(|(name, _)| name.as_str()).collect();
        if let Some((depth, rule, why)) = forbidden(&rest) {
            let written = written(root, &rest[..depth]);
            let message = format!("{written} is not allowed in lab code: {why}");
            self.report(*span, rule, message);
        } else if imported && holds_forbidden(&rest) {
            let written = written(root, &rest);
            let message = format!(
                "importing {written} itself is not allowed in lab code: import the items you use from it by name, so the gate can check each one"
            );
            self.report(*span, "use-module", message);
        }
    }

    fn check_glob(&mut self, prefix: &[Segment], span: Span) {
        let is_std = prefix
            .first()
            .is_some_and(|(root, _)| ROOTS.contains(&root.as_str()));
        if is_std {
            let message = format!(
                "use {}::* is not allowed in lab code: import the items you use by name, so the gate can check each one",
                written_path(prefix)
            );
            self.report(span, "use-glob", message);
        }
    }

    /// The rules on a macro call, `name!(args)`.
    fn check_macro(&mut self, name: &str, args: TokenStream, span: Span) {
        let (rule, why) = match name {
            "include" | "include_str" | "include_bytes" => {
                if self.includes_own_file(args, name == "include") {
                    return;
                }
                (
                    "include!",
                    "it may only name a file of your own, by a relative path without .. (and code only from a .rs file)",
                )
            }
            "env" | "option_env" => (
                "env!",
                "it reads the environment of the machine that builds your code",
            ),
            "thread_local" => (
                "thread_local!",
                "peers, servers and clerks may share nothing but the network, so keep state in your structs",
            ),
            "asm" | "global_asm" | "naked_asm" => ("asm!", NO_UNSAFE),
            _ => return,
        };
        self.report(
            span,
            rule,
            format!("{name}! is not allowed in lab code: {why}"),
        );
    }

    /// Whether an include's argument is one string literal naming a student
    /// file (a `.rs` one if `code`).
    fn includes_own_file(&self, args: TokenStream, code: bool) -> bool {
        syn::parse2::<syn::LitStr>(args).is_ok_and(|lit| self.is_own_file(&lit.value(), code))
    }

    /// Whether `target`, relative to this file's directory, is a student
    /// file (a `.rs` one if `code`). The gate checks every student `.rs`
    /// file, so code included from one is checked too.
    fn is_own_file(&self, target: &str, code: bool) -> bool {
        if target.starts_with('/') || target.contains('\\') {
            return false;
        }
        let dir = self.file.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut parts: Vec<&str> = dir.split('/').filter(|part| !part.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => return false,
                part => parts.push(part),
            }
        }
        let resolved = parts.join("/");
        labs::is_student_file(&resolved) && (!code || resolved.ends_with(".rs"))
    }

    // ---- Raw tokens ----

    fn scan(&mut self, stream: TokenStream) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            i = self.scan_token(&tokens, i);
        }
    }

    /// Scans the token at `i`; returns the index of the next one to scan.
    fn scan_token(&mut self, tokens: &[TokenTree], i: usize) -> usize {
        match &tokens[i] {
            TokenTree::Group(group) => self.scan(group.stream()),
            TokenTree::Ident(_) => return self.scan_ident(tokens, i),
            TokenTree::Punct(p) if p.as_char() == '#' => return self.scan_attribute_at(tokens, i),
            TokenTree::Punct(p) if p.as_char() == '$' => self.scan_metavariable(tokens, i),
            _ => {}
        }
        i + 1
    }

    fn scan_ident(&mut self, tokens: &[TokenTree], i: usize) -> usize {
        let TokenTree::Ident(ident) = &tokens[i] else {
            return i + 1;
        };
        let span = ident.span();
        // A raw identifier keeps its `r#`, so `r#unsafe` is no keyword.
        match ident.to_string().as_str() {
            "unsafe" => self.unsafe_code(span),
            "static" if !is_punct(tokens.get(i.wrapping_sub(1)), '\'') => self.static_item(span),
            "extern" if is_ident(tokens.get(i + 1), "crate") => self.extern_crate(span),
            "extern" if is_punct(tokens.get(i + 1), '$') => self.macro_path(span, "extern $"),
            "use" => self.scan_use(tokens, i),
            _ => {}
        }
        let name = ident.unraw().to_string();
        self.check_name(&name, span);
        if ROOTS.contains(&name.as_str()) {
            if is_path_sep(tokens, i + 1) {
                return self.walk_path(&mut vec![(name, span)], tokens, i + 3);
            }
            let message = format!(
                "{name} on its own is not allowed in lab code: write {name}:: paths in full, so the gate can check each one"
            );
            self.report(span, "use-module", message);
        }
        if is_macro_bang(tokens, i + 1)
            && let Some(TokenTree::Group(args)) = tokens.get(i + 2)
        {
            self.check_macro(&name, args.stream(), span);
        }
        i + 1
    }

    /// Reads a path on from just after a `::`, through use-tree braces,
    /// and checks each path it names; returns the index after it. `prefix`
    /// is as it was when this returns.
    fn walk_path(
        &mut self,
        prefix: &mut Vec<Segment>,
        tokens: &[TokenTree],
        mut i: usize,
    ) -> usize {
        let base = prefix.len();
        let next = loop {
            match tokens.get(i) {
                Some(TokenTree::Ident(ident)) if ident == "self" => {
                    self.check_path(prefix, true);
                    break i + 1;
                }
                Some(TokenTree::Ident(ident)) => {
                    let name = ident.unraw().to_string();
                    self.check_name(&name, ident.span());
                    prefix.push((name, ident.span()));
                    if is_path_sep(tokens, i + 1) {
                        i += 3;
                        continue;
                    }
                    self.check_path(prefix, true);
                    if is_macro_bang(tokens, i + 1)
                        && let Some(TokenTree::Group(args)) = tokens.get(i + 2)
                    {
                        self.check_macro(&ident.unraw().to_string(), args.stream(), ident.span());
                    }
                    break i + 1;
                }
                Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => {
                    for item in split_commas(group.stream()) {
                        if !item.is_empty() {
                            self.walk_path(prefix, &item, 0);
                        }
                    }
                    break i + 1;
                }
                Some(TokenTree::Punct(p)) if p.as_char() == '*' => {
                    self.check_glob(prefix, p.span());
                    break i + 1;
                }
                Some(TokenTree::Punct(p)) if p.as_char() == '$' => {
                    let var = tokens
                        .get(i + 1)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    self.macro_path(p.span(), &format!("{}::${var}", written_path(prefix)));
                    break i + 1;
                }
                Some(_) => {
                    // `::<`: the path goes on with generic arguments.
                    self.check_path(prefix, false);
                    break i;
                }
                None => {
                    let what = format!("{}:: at the end of a group", written_path(prefix));
                    self.macro_path(prefix[0].1, &what);
                    break i;
                }
            }
        };
        prefix.truncate(base);
        next
    }

    /// `$x::` and `$x!(...)` could be `std::` and `env!(...)`; so could a
    /// repetition that uses `::` as its separator (`$($s)::*`) or is
    /// followed by either.
    fn scan_metavariable(&mut self, tokens: &[TokenTree], i: usize) {
        let (span, after) = match tokens.get(i + 1) {
            Some(TokenTree::Ident(var)) if var != "crate" => (var.span(), i + 2..i + 3),
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
                (group.span(), i + 2..i + 5)
            }
            _ => return,
        };
        if after
            .clone()
            .any(|j| is_path_sep(tokens, j) || is_macro_bang(tokens, j))
        {
            let written: String = tokens[i..after.end.min(tokens.len())]
                .iter()
                .map(ToString::to_string)
                .collect();
            self.macro_path(span, &written);
        }
    }

    /// A `use` whose tree holds a macro variable could import std under
    /// another name. (The tree ends at a `;`, or at the latest at the next
    /// `use`, so no token is looked at twice.)
    fn scan_use(&mut self, tokens: &[TokenTree], i: usize) {
        if is_punct(tokens.get(i + 1), '<') {
            return; // `impl Trait + use<'a>`
        }
        let end = (i + 1..tokens.len())
            .find(|&j| is_punct(tokens.get(j), ';') || is_ident(tokens.get(j), "use"))
            .unwrap_or(tokens.len());
        if let Some(span) = find_metavariable(&tokens[i + 1..end]) {
            self.macro_path(span, "use with a macro variable");
        }
    }

    /// An attribute at `#`, inner or outer; returns the index after it.
    fn scan_attribute_at(&mut self, tokens: &[TokenTree], i: usize) -> usize {
        let j = if is_punct(tokens.get(i + 1), '!') {
            i + 2
        } else {
            i + 1
        };
        match tokens.get(j) {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {
                self.scan_attribute(group);
                j + 1
            }
            // A macro could put it before brackets, making an attribute.
            _ => {
                self.macro_path(tokens[i].span(), "# without [...] after it");
                i + 1
            }
        }
    }

    fn scan_attribute(&mut self, group: &Group) {
        let tokens: Vec<TokenTree> = group.stream().into_iter().collect();
        let doc = is_ident(tokens.first(), "doc");
        self.scan_attribute_tokens(&tokens, doc);
        self.scan(group.stream());
    }

    /// The attribute rules, at every depth of an attribute, so that
    /// `cfg_attr(...)` and `unsafe(...)` hide nothing.
    fn scan_attribute_tokens(&mut self, tokens: &[TokenTree], doc: bool) {
        for (k, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => {
                    let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                    self.scan_attribute_tokens(&inner, doc);
                }
                TokenTree::Ident(ident) => {
                    let name = ident.unraw().to_string();
                    if let Some(rule) = LINKER_ATTRIBUTES.iter().find(|rule| **rule == name) {
                        let message = format!(
                            "#[{name}] is not allowed in lab code: it acts on the linker, outside of Rust's memory safety, which is what keeps a submission out of the grader's memory"
                        );
                        self.report(ident.span(), rule, message);
                    } else if name == "path" {
                        self.check_path_attribute(tokens, k);
                    }
                }
                TokenTree::Literal(literal) if !doc => self.scan_literal(literal),
                TokenTree::Punct(p)
                    if p.as_char() == '$' && !is_punct(tokens.get(k.wrapping_sub(1)), '=') =>
                {
                    self.macro_path(p.span(), "an attribute named by a macro variable");
                }
                _ => {}
            }
        }
    }

    /// `path = "..."` must name a student `.rs` file.
    fn check_path_attribute(&mut self, tokens: &[TokenTree], k: usize) {
        let value = match (tokens.get(k + 1), tokens.get(k + 2)) {
            (Some(TokenTree::Punct(eq)), Some(TokenTree::Literal(lit))) if eq.as_char() == '=' => {
                syn::parse2::<syn::LitStr>(TokenTree::Literal(lit.clone()).into()).ok()
            }
            _ => None,
        };
        if value.is_some_and(|lit| self.is_own_file(&lit.value(), true)) {
            return;
        }
        self.report(tokens[k].span(), "path", "#[path] is not allowed in lab code unless it names a .rs file of your own, by a relative path without ..".into());
    }

    /// Reads a string literal of an attribute as code, since serde's
    /// attributes name functions in strings (`default = "..."`).
    fn scan_literal(&mut self, literal: &Literal) {
        let Ok(lit) = syn::parse2::<syn::LitStr>(TokenTree::Literal(literal.clone()).into()) else {
            return;
        };
        let Ok(code) = lit.value().parse::<TokenStream>() else {
            return; // what does not lex cannot name anything
        };
        if parse_depth(code.clone()) > MAX_DEPTH {
            self.report(literal.span(), "parse", too_deep());
            return;
        }
        let outer = self.at;
        self.at = Some(outer.unwrap_or(literal.span()));
        self.scan(code);
        self.at = outer;
    }
}

// ---- The syntax tree ----

/// Visits the syn node type `$node` as syn does, but scans its `Verbatim`
/// variant (tokens syn keeps unparsed) as raw tokens.
macro_rules! scan_verbatim {
    ($($method:ident: $node:ident),* $(,)?) => {
        $(
            fn $method(&mut self, node: &'ast syn::$node) {
                match node {
                    syn::$node::Verbatim(tokens) => self.scan(tokens.clone()),
                    _ => visit::$method(self, node),
                }
            }
        )*
    };
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.check_use_tree(&mut Vec::new(), &item.tree);
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<Segment> = path.segments.iter().map(|s| segment(&s.ident)).collect();
        self.check_names(&segments);
        self.check_path(&segments, false);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            let name = last.ident.unraw().to_string();
            self.check_macro(&name, mac.tokens.clone(), last.ident.span());
        }
        self.scan(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        self.scan(attr.to_token_stream());
    }

    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.static_item(item.static_token.span);
        visit::visit_item_static(self, item);
    }

    fn visit_foreign_item_static(&mut self, item: &'ast syn::ForeignItemStatic) {
        self.static_item(item.static_token.span);
        visit::visit_foreign_item_static(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.extern_block(item.abi.extern_token.span);
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        self.extern_crate(item.extern_token.span);
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.unsafe_code(expr.unsafe_token.span);
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if let Some(token) = &sig.unsafety {
            self.unsafe_code(token.span);
        }
        visit::visit_signature(self, sig);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.unsafe_code(token.span);
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.unsafe_code(token.span);
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if let Some(token) = &item.unsafety {
            self.unsafe_code(token.span);
        }
        visit::visit_item_mod(self, item);
    }

    fn visit_type_bare_fn(&mut self, ty: &'ast syn::TypeBareFn) {
        if let Some(token) = &ty.unsafety {
            self.unsafe_code(token.span);
        }
        visit::visit_type_bare_fn(self, ty);
    }

    // What syn keeps as tokens (syntax it does not model) is scanned raw.
    scan_verbatim! {
        visit_item: Item,
        visit_expr: Expr,
        visit_type: Type,
        visit_pat: Pat,
        visit_foreign_item: ForeignItem,
        visit_impl_item: ImplItem,
        visit_trait_item: TraitItem,
        visit_type_param_bound: TypeParamBound,
    }
}

impl Checker<'_> {
    /// Checks every path a `use` tree imports, as if written out in full.
    fn check_use_tree(&mut self, prefix: &mut Vec<Segment>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                self.with_segment(prefix, &path.ident, |this, prefix| {
                    this.check_use_tree(prefix, &path.tree);
                });
            }
            syn::UseTree::Name(name) => self.check_import(prefix, &name.ident),
            syn::UseTree::Rename(rename) => self.check_import(prefix, &rename.ident),
            syn::UseTree::Glob(glob) => self.check_glob(prefix, glob.star_token.spans[0]),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.check_use_tree(prefix, item);
                }
            }
        }
    }

    /// `prefix::name`, where `self` imports the prefix itself.
    fn check_import(&mut self, prefix: &mut Vec<Segment>, name: &syn::Ident) {
        if name == "self" {
            self.check_path(prefix, true);
        } else {
            self.with_segment(prefix, name, |this, path| this.check_path(path, true));
        }
    }

    /// Runs `f` on `prefix::ident`, checking the new name once.
    fn with_segment(
        &mut self,
        prefix: &mut Vec<Segment>,
        ident: &syn::Ident,
        f: impl FnOnce(&mut Self, &mut Vec<Segment>),
    ) {
        let segment = segment(ident);
        self.check_name(&segment.0, segment.1);
        prefix.push(segment);
        f(self, prefix);
        prefix.pop();
    }
}

// ---- Helpers ----

fn too_deep() -> String {
    format!("this code nests deeper than {MAX_DEPTH} tokens, more than the gate reads")
}

fn segment(ident: &syn::Ident) -> Segment {
    (ident.unraw().to_string(), ident.span())
}

/// The most specific forbidden part of std that `rest` (a path after its
/// root) starts with: how many segments it covers, its rule, and why.
fn forbidden(rest: &[&str]) -> Option<(usize, &'static str, &'static str)> {
    FORBIDDEN
        .iter()
        .filter_map(|&(path, why)| {
            let parts: Vec<&str> = path.split("::").skip(1).collect();
            rest.starts_with(&parts).then_some((parts.len(), path, why))
        })
        .max_by_key(|&(depth, _, _)| depth)
}

/// Whether `rest` names a module that holds a forbidden part of std (std
/// itself if empty).
fn holds_forbidden(rest: &[&str]) -> bool {
    FORBIDDEN.iter().any(|(path, _)| {
        let parts: Vec<&str> = path.split("::").skip(1).collect();
        parts.len() > rest.len() && parts.starts_with(rest)
    })
}

fn written(root: &str, rest: &[&str]) -> String {
    std::iter::once(root)
        .chain(rest.iter().copied())
        .collect::<Vec<_>>()
        .join("::")
}

/// A path as written, cut short if long (a message per item of a long
/// path's braces must not cost the path's length each).
fn written_path(path: &[Segment]) -> String {
    let mut names: Vec<&str> = path.iter().take(8).map(|(name, _)| name.as_str()).collect();
    if path.len() > names.len() {
        names.push("...");
    }
    names.join("::")
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(token: Option<&TokenTree>, name: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(ident)) if ident == name)
}

/// Whether the `!` of a macro call is at `i`.
fn is_macro_bang(tokens: &[TokenTree], i: usize) -> bool {
    is_punct(tokens.get(i), '!') && matches!(tokens.get(i + 1), Some(TokenTree::Group(_)))
}

/// Whether a `::` starts at `i`.
fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(i + 1), ':')
}

/// Where a macro variable other than `$crate` is, at any depth of `tokens`.
fn find_metavariable(tokens: &[TokenTree]) -> Option<Span> {
    tokens
        .iter()
        .enumerate()
        .find_map(|(k, token)| match token {
            TokenTree::Punct(p) if p.as_char() == '$' && !is_ident(tokens.get(k + 1), "crate") => {
                Some(p.span())
            }
            TokenTree::Group(group) => {
                find_metavariable(&group.stream().into_iter().collect::<Vec<_>>())
            }
            _ => None,
        })
}

/// The items of a brace group, split at its top-level commas.
fn split_commas(stream: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = vec![Vec::new()];
    for token in stream {
        if is_punct(Some(&token), ',') {
            items.push(Vec::new());
        } else if let Some(item) = items.last_mut() {
            item.push(token);
        }
    }
    items
}

/// An upper bound on how deep a recursive parser goes to read `stream`,
/// counted without recursion: over every token, the tokens before it since
/// the start of its statement or item, summed over the brackets around it.
/// A parser loops, rather than recursing, from one statement or item to the
/// next: after a `;`, or after a `{...}` that nothing but a new item or
/// statement follows (`else` and `as` go on with an expression).
fn parse_depth(stream: TokenStream) -> usize {
    struct Frame {
        tokens: Vec<TokenTree>,
        next: usize,
        /// The depth of the group this frame reads.
        base: usize,
        /// Tokens since the start of the statement.
        run: usize,
    }
    let frame = |stream: TokenStream, base| Frame {
        tokens: stream.into_iter().collect(),
        next: 0,
        base,
        run: 0,
    };
    let mut deepest = 0;
    let mut stack = vec![frame(stream, 0)];
    while let Some(top) = stack.last_mut() {
        let Some(token) = top.tokens.get(top.next).cloned() else {
            stack.pop();
            continue;
        };
        top.next += 1;
        if top.run == 0 && is_punct(Some(&token), '#') {
            // A statement's or an item's attributes: a parser loops over them.
            if is_punct(top.tokens.get(top.next), '!') {
                top.next += 1;
            }
            if let Some(TokenTree::Group(group)) = top.tokens.get(top.next).cloned() {
                top.next += 1;
                let base = top.base + 1;
                stack.push(frame(group.stream(), base));
            }
            continue;
        }
        top.run += 1;
        let depth = top.base + top.run;
        deepest = deepest.max(depth);
        match token {
            TokenTree::Punct(p) if p.as_char() == ';' => top.run = 0,
            TokenTree::Group(group) => {
                if group.delimiter() == Delimiter::Brace && ends_statement(top.tokens.get(top.next))
                {
                    top.run = 0;
                }
                stack.push(frame(group.stream(), depth));
            }
            _ => {}
        }
    }
    deepest
}

/// Whether a `{...}` followed by `next` ends a statement or an item.
fn ends_statement(next: Option<&TokenTree>) -> bool {
    match next {
        None => true,
        Some(TokenTree::Ident(ident)) => ident != "else" && ident != "as",
        Some(token) => is_punct(Some(token), '#'),
    }
}
