//! A stand-in for a lab test binary, which dstest's and the runner's own
//! tests run as the children they manage: one test passes, one fails (and
//! writes a page to `LAB_OUTPUT_DIR`, as a failed linearizability check
//! does), one hangs, one fails only for odd seeds. The part suffixes (`_9a`, `_9b`,
//! `_9c`) exercise part selection without touching a real lab.
//!
//! The `hostile_*` tests stand in for a submission that attacks its grader:
//! each tries one thing a sandboxed, verdict-checked run must not let it do,
//! and reports the test passed (as the tester would) if the attack worked.
//! They have no part suffix, so dstest's part selection never picks them.
//!
//! Each test misbehaves only when `DSTEST_FIXTURE` is set, as those tests
//! set it for their children; under a plain `cargo test` all pass at once.
//! Several would harm an unsandboxed runner (`hostile_signal_parent` kills
//! it): the runner's tests run them in the sandbox only.

// A test process stands in for a lab, but is no lab code: it never runs under
// labrt's simulation.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::time::Duration;

/// `Some(LAB_SEED)` when armed by `DSTEST_FIXTURE`, after printing the seed
/// as a lab test's failure message would show it.
fn armed_seed() -> Option<u64> {
    std::env::var_os("DSTEST_FIXTURE")?;
    let seed = std::env::var("LAB_SEED").map_or(0, |s| s.parse().expect("LAB_SEED is a u64"));
    println!("fixture: LAB_SEED={seed}");
    if let Some(dir) = std::env::var_os("TMPDIR") {
        println!("fixture: TMPDIR={}", dir.to_string_lossy());
    }
    if let Some(step) = std::env::var_os("LAB_SIM_STEP") {
        println!("fixture: LAB_SIM_STEP={}", step.to_string_lossy());
    }
    Some(seed)
}

/// What the tester does when a test passed every check (as
/// `tester::verdict::sign`): writes `<key> passed <test>` to the verdict
/// file, if the runner asked for a verdict.
fn sign() {
    let (Ok(key), Some(file)) = (
        std::env::var("LAB_VERDICT_KEY"),
        std::env::var_os("LAB_VERDICT_FILE"),
    ) else {
        return;
    };
    sign_with(&key, std::path::Path::new(&file));
}

fn sign_with(key: &str, file: &std::path::Path) {
    let test = std::thread::current().name().unwrap_or("").to_string();
    std::fs::write(file, format!("{key} passed {test}\n")).expect("fixture: cannot sign");
}

#[test]
fn pass_9a() {
    armed_seed();
    sign();
}

/// Fails; with `LAB_OUTPUT_DIR` set, first writes a page there, as a failed
/// linearizability check does.
#[test]
fn fail_9a() {
    if let Some(seed) = armed_seed() {
        if let Some(dir) = std::env::var_os("LAB_OUTPUT_DIR") {
            let dir = std::path::Path::new(&dir);
            let page = dir.join(format!(
                "linearizability-fail_9a-{}-0.html",
                std::process::id()
            ));
            std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&page, "<html>fixture</html>\n"))
                .expect("fixture: cannot write the page");
            println!("info: wrote history visualization to {}", page.display());
        }
        eprintln!("fixture: about to fail");
        panic!("fixture failure (LAB_SEED={seed})");
    }
}

#[test]
fn hang_9b() {
    if armed_seed().is_some() {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

#[test]
fn seeded_9c() {
    if let Some(seed) = armed_seed() {
        let output_dir = std::env::var("LAB_OUTPUT_DIR").unwrap_or_default();
        assert!(
            seed % 2 == 0,
            "odd seed (LAB_SEED={seed}); output to {output_dir}"
        );
    }
    sign();
}

/// Exits with status 0 from another thread while the test is still running.
#[test]
fn hostile_exit_early() {
    if armed_seed().is_some() {
        std::thread::spawn(|| std::process::exit(0));
        std::thread::sleep(Duration::from_secs(30));
        sign();
    }
}

/// Prints the verdict line on stdout instead of the verdict file, then exits 0.
#[test]
fn hostile_fake_verdict() {
    if armed_seed().is_some() {
        let key = std::env::var("LAB_VERDICT_KEY").unwrap_or_else(|_| "0".repeat(32));
        println!("{key} passed hostile_fake_verdict");
        std::process::exit(0);
    }
}

/// Writes a file outside its directories: `FIXTURE_OUTSIDE`.
#[test]
fn hostile_write_outside() {
    if armed_seed().is_some() {
        let path = std::env::var("FIXTURE_OUTSIDE").expect("FIXTURE_OUTSIDE names the file");
        if let Err(e) = std::fs::write(&path, "written by hostile_write_outside\n") {
            panic!("fixture: could not write {path}: {e}");
        }
        println!("fixture: wrote {path}");
        sign();
    }
}

/// Reads the verdict key back from `/proc/self/environ` (as a submission
/// would after the tester took it out of the environment), and signs with it.
#[test]
fn hostile_read_environ() {
    if armed_seed().is_some() {
        let environ = match std::fs::read("/proc/self/environ") {
            Ok(environ) => environ,
            Err(e) => panic!("fixture: could not read /proc/self/environ: {e}"),
        };
        let var = |name: &str| {
            environ.split(|&b| b == 0).find_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                entry.strip_prefix(&format!("{name}=")).map(String::from)
            })
        };
        println!("fixture: read /proc/self/environ");
        if let (Some(key), Some(file)) = (var("LAB_VERDICT_KEY"), var("LAB_VERDICT_FILE")) {
            sign_with(&key, std::path::Path::new(&file));
        }
    }
}

/// Sends a UDP datagram on the loopback (to reach a process outside the
/// sandbox: Landlock does not cover UDP), then reports a pass.
#[test]
fn hostile_udp() {
    if armed_seed().is_some() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0");
        let sent = socket.and_then(|s| s.send_to(b"verdict?", "127.0.0.1:9"));
        if let Err(e) = sent {
            panic!("fixture: could not send UDP: {e}");
        }
    }
}

/// Kills its parent, the grader, then reports a pass.
#[test]
fn hostile_signal_parent() {
    if armed_seed().is_some() {
        let parent = nix::unistd::getppid();
        if let Err(e) = nix::sys::signal::kill(parent, nix::sys::signal::Signal::SIGKILL) {
            panic!("fixture: could not kill its parent {parent}: {e}");
        }
        println!("fixture: killed its parent {parent}");
        sign();
    }
}

/// Leaves `sleep 1000` behind, holding the output pipe, and exits 0.
#[test]
fn hostile_grandchild() {
    if armed_seed().is_some() {
        let child = std::process::Command::new("sleep")
            .arg("1000")
            .stdout(std::process::Stdio::inherit())
            .spawn()
            .expect("fixture: cannot start sleep");
        println!("fixture: grandchild {}", child.id());
        std::process::exit(0);
    }
}

/// Leaves `sleep 30` behind in a process group of its own, out of reach of
/// the runner's kill, holding the output pipe; exits 0.
#[test]
fn hostile_escaped_grandchild() {
    if armed_seed().is_some() {
        let mut command = std::process::Command::new("sleep");
        command.arg("30").stdout(std::process::Stdio::inherit());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("fixture: cannot start sleep");
        println!("fixture: grandchild {}", child.id());
        std::process::exit(0);
    }
}

/// Prints 600 MB, then passes.
#[test]
fn hostile_flood_output() {
    if armed_seed().is_some() {
        let line = [b'x'; 1023];
        let mut chunk = Vec::with_capacity(1 << 20);
        for _ in 0..1024 {
            chunk.extend_from_slice(&line);
            chunk.push(b'\n');
        }
        let mut stdout = std::io::stdout().lock();
        for i in 0..600 {
            stdout.write_all(&chunk).expect("fixture: cannot print");
            if i == 0 {
                writeln!(stdout, "fixture: the first MiB is out").expect("fixture: cannot print");
            }
        }
        writeln!(stdout, "fixture: 600 MiB printed").expect("fixture: cannot print");
        drop(stdout);
        sign();
    }
}

/// Allocates and touches 8 GiB, 64 MiB at a time, then passes.
#[test]
fn hostile_allocate_8gb() {
    if armed_seed().is_some() {
        let mut blocks = Vec::new();
        for _ in 0..128 {
            blocks.push(vec![1u8; 64 << 20]);
        }
        println!("fixture: holds {} MiB", blocks.len() * 64);
        sign();
    }
}
