//! The source gate: the reference solution passes, each rule catches what
//! it is for (and the evasions around it), and ordinary code passes.

// Tests of a tool, never run under labrt's simulation.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use test_scripts::gate::{self, Violation};

const RAFT: &str = "raft/src/raft.rs";

fn check(source: &str) -> Vec<Violation> {
    gate::check_source(RAFT, source)
}

/// `source` breaks `rule`.
#[track_caller]
fn caught(source: &str, rule: &str) -> Violation {
    let found = check(source);
    match found.iter().find(|v| v.rule == rule) {
        Some(violation) => violation.clone(),
        None => panic!(
            "expected rule {rule:?} on\n{}\nfound: {found:#?}",
            short(source)
        ),
    }
}

#[track_caller]
fn passes(source: &str) {
    let found = check(source);
    assert!(
        found.is_empty(),
        "expected no violation on\n{source}\nfound: {found:#?}"
    );
}

/// The start of a source, for failure messages.
fn short(source: &str) -> &str {
    &source[..source.floor_char_boundary(300)]
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_reference_solution_passes() {
    let found = gate::check_tree(&repo_root()).unwrap();
    assert!(found.is_empty(), "{found:#?}");
    for path in ["raft/src/raft.rs", "kvraft/src/server.rs"] {
        let source = fs::read_to_string(repo_root().join(path)).unwrap();
        assert!(gate::check_source(path, &source).is_empty(), "{path}");
    }
}

#[test]
fn a_violation_prints_as_file_line_column_message() {
    let violation = caught("fn f() {\n    std::process::exit(0);\n}\n", "std::process");
    assert_eq!((violation.line, violation.column), (2, 5));
    assert_eq!(
        violation.to_string(),
        "raft/src/raft.rs:2:5: std::process is not allowed in lab code: a submission may not end or start processes"
    );
}

#[test]
fn unsafe_is_caught_everywhere() {
    caught("fn f() { unsafe {} }", "unsafe");
    caught("unsafe fn f() {}", "unsafe");
    caught("struct S; unsafe impl Send for S {}", "unsafe");
    caught("unsafe trait T {}", "unsafe");
    caught("trait T { unsafe fn f(); }", "unsafe");
    caught("type F = unsafe fn();", "unsafe");
    caught("extern \"C\" { fn abs(x: i32) -> i32; }", "unsafe");
    caught(
        "unsafe extern \"C\" { safe fn abs(x: i32) -> i32; }",
        "unsafe",
    );
    caught("mod a { mod b { pub fn f() { unsafe {} } } }", "unsafe");
    caught("macro_rules! m { () => { unsafe { 1 } }; }", "unsafe");
    caught("fn f() { vec![unsafe { 1 }]; }", "unsafe");
}

#[test]
fn linker_attributes_are_caught() {
    let found = check("#[unsafe(no_mangle)]\npub fn f() {}");
    let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
    assert_eq!(rules, ["unsafe", "no_mangle"], "{found:#?}");
    caught("#[no_mangle] pub fn f() {}", "no_mangle");
    caught("#[export_name = \"main\"] pub fn f() {}", "export_name");
    caught(
        "#[link_section = \".init_array\"] pub fn f() {}",
        "link_section",
    );
    caught("#[link(name = \"c\")] extern \"C\" {}", "link");
    caught("#[used] const X: u8 = 0;", "used");
    caught("#[cfg_attr(all(), no_mangle)] pub fn f() {}", "no_mangle");
    caught(
        "mod m { #![cfg_attr(all(), unsafe(no_mangle))] }",
        "no_mangle",
    );
}

#[test]
fn forbidden_std_paths_are_caught() {
    caught("use std::process;", "std::process");
    caught("fn f() { ::std::fs::read(\"x\").ok(); }", "std::fs");
    caught("fn f() { let _ = std::env::var(\"HOME\"); }", "std::env");
    caught(
        "fn f() { std::path::Path::new(\"/\").exists(); }",
        "std::path",
    );
    caught("use std::net::TcpStream;", "std::net");
    caught("fn f<T: std::os::fd::AsRawFd>() {}", "std::os");
    caught("fn f() { std::io::stdin(); }", "std::io::stdin");
    caught(
        "fn f() { std::panic::set_hook(Box::new(|_| {})); }",
        "std::panic::set_hook",
    );
    caught("use core::panic::catch_unwind;", "std::panic::catch_unwind");
    caught("use std::alloc::System;", "std::alloc");
    caught("use core::arch::x86_64::_rdtsc;", "std::arch");
    caught("fn f() { r#std::process::exit(0) }", "std::process");
}

#[test]
fn what_labrt_replaces_points_to_labrt() {
    let spawn = caught(
        "fn f() { std::thread::spawn(|| {}); }",
        "std::thread::spawn",
    );
    assert_eq!(
        spawn.message,
        "std::thread::spawn is not allowed in lab code: use labrt::thread::spawn (the simulation must see every thread)"
    );
    caught("use std::thread;", "std::thread");
    caught("fn f() { std::thread::sleep(D); }", "std::thread::sleep");
    let instant = caught("use std::time::Instant;", "std::time::Instant");
    assert!(
        instant.message.contains("use labrt::time::Instant"),
        "{instant}"
    );
    caught(
        "fn f() { std::time::UNIX_EPOCH.elapsed(); }",
        "std::time::UNIX_EPOCH",
    );
    caught("use std::time::SystemTime;", "std::time::SystemTime");
    caught("use std::sync::{Arc, Mutex};", "std::sync::Mutex");
    caught("struct S { c: std::sync::Condvar }", "std::sync::Condvar");
    caught(
        "fn f() -> std::sync::MutexGuard<'static, u8> { g() }",
        "std::sync::MutexGuard",
    );
    caught("use std::sync::mpsc::channel;", "std::sync::mpsc");
    caught(
        "fn f(e: E) { match e { std::sync::mpsc::RecvError => {} } }",
        "std::sync::mpsc",
    );
    caught(
        "fn f() -> Vec<std::sync::RwLock<u8>> { v() }",
        "std::sync::RwLock",
    );
    caught("use std::sync::OnceLock;", "std::sync::OnceLock");
    caught("use std::sync::LazyLock;", "std::sync::LazyLock");
    caught("thread_local! { static X: u8 = 0; }", "thread_local!");
    caught("std::thread_local! { static X: u8 = 0; }", "thread_local!");
}

#[test]
fn use_trees_are_seen_through() {
    let found = check("use std::{fs, process::exit};");
    let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
    assert_eq!(rules, ["std::fs", "std::process"], "{found:#?}");
    caught("use std::{self, fs};", "std::fs");
    caught("use ::std::{io::{self, Read}, net};", "std::net");
    caught("use std::{self};", "use-module");
    caught("use std as s;", "use-module");
    caught("use ::std::{self as s};", "use-module");
    caught("use core as c;", "use-module");
    caught("use std::sync;", "use-module");
    caught("use std::io::{self, Write};", "use-module");
    caught("use std::time as t;", "use-module");
    caught("use std::*;", "use-glob");
    caught("use std::panic::*;", "use-glob");
    caught("use std::collections::*;", "use-glob");
    caught("extern crate std as s;", "extern crate");
    caught("extern crate alloc;", "extern crate");
}

#[test]
fn hidden_names_and_caught_panics_are_caught() {
    caught("use serde::__private::Vec;", "hidden");
    caught("fn f() { serde::__private::de::f(); }", "hidden");
    caught(
        "fn f() { labrt::thread::catch_panic(|| 1); }",
        "catch_panic",
    );
    caught("fn f() { labrt::discipline::reset(); }", "discipline");
    caught("use labrt::discipline as d;", "discipline");
    caught(
        "fn f() { labrt::thread_group::outside(|| ()); }",
        "thread_group",
    );
    caught("use labrt::{thread_group as g};", "thread_group");
}

#[test]
fn macro_bodies_and_invocations_are_scanned() {
    caught(
        "macro_rules! m { () => { std::process::exit(1) }; }",
        "std::process",
    );
    caught(
        "macro_rules! m { () => { use std::{fs, io}; }; }",
        "std::fs",
    );
    caught(
        "macro_rules! m { () => { use ::std::{io::{self as x}}; }; }",
        "use-module",
    );
    caught(
        "macro_rules! m { () => { use std::sync::*; }; }",
        "use-glob",
    );
    caught("macro_rules! m { () => { static X: u8 = 0; }; }", "static");
    caught(
        "macro_rules! m { () => { extern crate std; }; }",
        "extern crate",
    );
    caught("macro_rules! m { () => { std::env!(\"HOME\") }; }", "env!");
    caught(
        "fn f() { m!(std::include_str!(\"/etc/passwd\")); }",
        "include!",
    );
    caught(
        "fn f() { println!(\"{:?}\", std::env::var(\"HOME\")); }",
        "std::env",
    );
    caught(
        "fn f() { vec![std::time::Instant::now()]; }",
        "std::time::Instant",
    );
    caught("fn f() { m!(std); }", "use-module");
    caught("fn f() { m!(std::sync); }", "use-module");
}

#[test]
fn macro_variables_that_could_name_std_are_caught() {
    caught(
        "macro_rules! m { ($x:ident) => { std::$x::exit(1) }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($x:ident) => { ::std::process::$x(1) }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($r:ident) => { $r::process::exit(1) }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($($s:ident)*) => { $($s)::*(1) }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($m:ident) => { $m!(\"HOME\") }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($a:ident) => { use $a as s; }; }",
        "macro-path",
    );
    caught(
        "macro_rules! m { ($a:meta) => { #[$a] fn f() {} }; }",
        "macro-path",
    );
    caught("macro_rules! m { () => { std:: }; }", "macro-path");
    caught(
        "macro_rules! m { ($a:tt) => { # $a fn f() {} }; }",
        "macro-path",
    );
    caught("fn f() { m!(#, [no_mangle]); }", "macro-path");
    passes("macro_rules! m { ($e:expr) => { $crate::f($e as u64) }; }");
}

#[test]
fn includes_and_path_attributes_must_name_own_files() {
    caught("const S: &str = include_str!(\"../../x\");", "include!");
    caught("const S: &str = include_str!(\"/etc/passwd\");", "include!");
    caught("const S: &str = include_str!(\"lib.rs\");", "include!");
    caught(
        "const S: &[u8] = include_bytes!(concat!(\"/etc\", \"/passwd\"));",
        "include!",
    );
    caught("include!(\"raft/notes.txt\");", "include!");
    caught(
        "#[doc = include_str!(\"/etc/passwd\")] fn f() {}",
        "include!",
    );
    passes("const S: &str = include_str!(\"raft/words.txt\");");
    passes("include!(\"raft/part.rs\");");
    passes("const S: &str = include_str!(\"./raft/words.txt\");");
    caught("#[path = \"/etc\"] mod m;", "path");
    caught("#[path = \"../src/lib.rs\"] mod m;", "path");
    caught("#[path = \"raft/../lib.rs\"] mod m;", "path");
    caught("#[cfg_attr(all(), path = \"/etc/x.rs\")] mod m;", "path");
    passes("#[path = \"raft/log.rs\"] mod log;");
    let kv = gate::check_source(
        "kvraft/src/server/apply.rs",
        "#[path = \"../client.rs\"] mod c;",
    );
    assert_eq!(kv[0].rule, "path");
    assert!(
        gate::check_source("kvraft/src/server/apply.rs", "#[path = \"x/y.rs\"] mod y;").is_empty()
    );
}

#[test]
fn env_asm_are_caught() {
    caught("const H: &str = env!(\"HOME\");", "env!");
    caught("const H: Option<&str> = option_env!(\"HOME\");", "env!");
    caught("fn f() { std::arch::asm!(\"nop\"); }", "asm!");
    caught("core::arch::global_asm!(\"\");", "asm!");
}

#[test]
fn statics_are_caught() {
    caught("static X: u8 = 0;", "static");
    caught("static mut X: u8 = 0;", "static");
    caught(
        "fn f() { static X: AtomicU64 = AtomicU64::new(0); }",
        "static",
    );
    caught("impl S { fn f(&self) { static N: u8 = 0; } }", "static");
    caught("mod a { pub static M: u8 = 0; }", "static");
}

#[test]
fn serde_attribute_strings_are_read_as_code() {
    let source = "#[derive(Deserialize)]\nstruct S {\n    #[serde(default = \"std::process::abort\")]\n    x: u8,\n}\n";
    let violation = caught(source, "std::process");
    assert_eq!(violation.line, 3);
    passes("/// Never calls std::process::exit.\n#[serde(rename = \"term\")]\nstruct S;");
}

#[test]
fn ordinary_code_passes() {
    passes(
        r#"
        //! Uses labrt; no unsafe, no std::process.
        use std::collections::{BTreeMap, HashMap};
        use std::fmt::{self, Debug};
        use std::io::Write;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        use labrt::thread;
        use labrt::sync::{Mutex, Condvar};

        mod fs {
            pub fn read() {}
        }

        const X: u64 = 3;

        fn f(m: &mut Vec<u8>) -> &'static str {
            fs::read();
            self::fs::read();
            let _ = std::mem::take(m);
            let _ = std::cmp::max(1, 2);
            let _ = std::time::Duration::from_millis(5);
            let _: HashMap<u8, u8> = std::collections::HashMap::new();
            let _ = AtomicBool::new(false).load(std::sync::atomic::Ordering::SeqCst);
            println!("std::process {}", X);
            thread::spawn(|| {});
            labrt::thread::spawn(|| {});
            // unsafe, static, std::fs: a comment
            "static"
        }
        "#,
    );
}

#[test]
fn a_file_that_does_not_parse_is_one_violation() {
    let found = check("fn f() {\n    let x = ;\n}\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].rule, found[0].line), ("parse", 2));
    assert!(
        found[0].message.starts_with("this file does not parse"),
        "{}",
        found[0]
    );
}

#[test]
fn hostile_nesting_is_refused_without_crashing_the_gate() {
    let deep = |unit: &str, n: usize, close: &str| {
        format!(
            "fn f() {{ let _ = {}1{}; }}",
            unit.repeat(n),
            close.repeat(n)
        )
    };
    for (unit, close) in [("(", ")"), ("{", "}"), ("-", ""), ("&", ""), ("|| ", "")] {
        assert!(
            check(&deep(unit, gate::MAX_DEPTH / 2 - 10, close)).is_empty(),
            "{unit}"
        );
        assert_eq!(check(&deep(unit, 50_000, close))[0].rule, "parse", "{unit}");
    }
    let types = format!("type T = {}u8{};", "A<".repeat(50_000), ">".repeat(50_000));
    assert_eq!(check(&types)[0].rule, "parse");
    let chain = format!(
        "fn f(c: bool) {{ if c {{}} {} }}",
        "else if c {} ".repeat(15_000)
    );
    assert_eq!(check(&chain)[0].rule, "parse");
    let literal = format!(
        "#[serde(default = \"{}\")] struct S;",
        "(".repeat(10_000) + &")".repeat(10_000)
    );
    assert_eq!(check(&literal)[0].rule, "parse");
    caught(&" ".repeat(gate::MAX_SOURCE + 1), "size");
}

#[test]
fn a_file_of_the_largest_size_is_read_quickly() {
    let line = "use std::{a::{b, c}, d::*, e::f::g}; fn f() { m!(use $x); }\n";
    let source = line.repeat(gate::MAX_SOURCE / line.len());
    let start = Instant::now();
    let found = check(&source);
    assert_eq!(found.len(), 2 * (gate::MAX_SOURCE / line.len()));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

/// A fresh directory under cargo's temporary directory.
fn temp_tree(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gate-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("raft/src/raft")).unwrap();
    fs::create_dir_all(dir.join("kvraft/src")).unwrap();
    fs::write(dir.join("raft/src/lib.rs"), "static FRAMEWORK: u8 = 0;\n").unwrap();
    fs::write(dir.join("raft/src/raft.rs"), "pub fn f() {}\n").unwrap();
    fs::write(dir.join("kvraft/src/server.rs"), "pub fn g() {}\n").unwrap();
    dir
}

#[test]
fn check_tree_checks_only_student_files_and_refuses_links() {
    let root = temp_tree("tree");
    assert!(gate::check_tree(&root).unwrap().is_empty());
    fs::write(root.join("raft/src/raft/log.rs"), "\n\nstatic X: u8 = 0;\n").unwrap();
    fs::write(root.join("kvraft/src/client.rs"), [0xff, 0xfe, b'\n']).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("kvraft/src/common.rs")).unwrap();
    let found = gate::check_tree(&root).unwrap();
    let summary: Vec<(&str, usize, &str)> = found
        .iter()
        .map(|v| (v.file.as_str(), v.line, v.rule))
        .collect();
    assert_eq!(
        summary,
        [
            ("kvraft/src/client.rs", 1, "utf8"),
            ("kvraft/src/common.rs", 1, "symlink"),
            ("raft/src/raft/log.rs", 3, "static"),
        ]
    );
}

#[test]
fn a_linked_student_directory_is_refused() {
    let root = temp_tree("dirlink");
    fs::remove_dir(root.join("raft/src/raft")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("raft/src/raft")).unwrap();
    let found = gate::check_tree(&root).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].file.as_str(), found[0].rule),
        ("raft/src/raft", "symlink")
    );
}

#[test]
fn the_binary_exits_1_on_a_violation_and_0_on_a_clean_tree() {
    let root = temp_tree("bin");
    let gate = || {
        Command::new(env!("CARGO_BIN_EXE_gate"))
            .arg(&root)
            .output()
            .unwrap()
    };
    let clean = gate();
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout),
        "gate: the student files pass\n"
    );

    fs::write(
        root.join("raft/src/raft.rs"),
        "pub fn f() {\n    unsafe {}\n}\n",
    )
    .unwrap();
    let bad = gate();
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.starts_with("raft/src/raft.rs:2:5: unsafe is not allowed"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("gate: 1 violation(s) in the student files\n"),
        "{stdout}"
    );

    let nowhere = Command::new(env!("CARGO_BIN_EXE_gate"))
        .arg(root.join("raft"))
        .output()
        .unwrap();
    assert_eq!(nowhere.status.code(), Some(2), "{nowhere:?}");
}
