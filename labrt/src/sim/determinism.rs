//! `LAB_SIM_CHECK=1`: is the same seed still the same run?
//!
//! A run is a function of its seed only while everything that decides it
//! goes through labrt. Code that escapes (a std lock or sleep, a clock read
//! outside labrt, a randomly seeded `HashMap` iterated, threads of the OS)
//! makes two runs of one seed differ, and a failure found with a seed no
//! longer replays. With the variable set, a world keeps every scheduling
//! decision (thread, virtual time) as well as their hash ([`wanted`]), and
//! [`check_determinism`], which the testers call when a test ends, runs the
//! same test again in a child process (`LAB_SIM_CHECK_CHILD` names the file
//! the child writes its decisions to) and names the first decision that
//! differs.

use std::time::Duration;

use super::world::Tid;

/// `LAB_SIM_CHECK=1`: [`check_determinism`] runs the test a second time and
/// compares.
const CHECK: &str = "LAB_SIM_CHECK";

/// Set in the second run: where to write its decisions.
const CHECK_CHILD: &str = "LAB_SIM_CHECK_CHILD";

/// With `LAB_SIM_CHECK=1`, at the end of a simulated test: runs the same
/// test again, in a child process with the same seed, and compares the two
/// runs' scheduling decisions up to this point (the second run, which goes
/// on to the end of the test, must have made the same ones first; only the
/// first call of a test checks). Returns a description of the first one that
/// differs, if any: the run escaped the simulation somewhere (a std lock
/// or sleep, a clock read outside labrt, a randomly seeded `HashMap`
/// iterated, threads of the OS), and the same seed no longer means the
/// same run. Does nothing (`Ok`) outside the simulation or without the
/// variable; the testers call it when a test ends.
pub fn check_determinism() -> Result<(), String> {
    let Some(world) = super::world() else {
        return Ok(());
    };
    let w = world.inner.borrow();
    let Some(log) = &w.log else {
        return Ok(());
    };
    if w.checked.replace(true) {
        return Ok(());
    }
    let describe = |(tid, now): (Tid, Duration)| format!("{tid} {}", now.as_nanos());
    if let Some(path) = std::env::var_os(CHECK_CHILD) {
        let text: Vec<String> = log
            .iter()
            .map(|&(tid, now)| format!("{} {}", describe((tid, now)), w.threads[tid].name))
            .collect();
        return std::fs::write(&path, text.join("\n"))
            .map_err(|e| format!("{CHECK}: cannot write {}: {e}", path.to_string_lossy()));
    }
    let test = std::thread::current()
        .name()
        .map(str::to_string)
        .ok_or_else(|| format!("{CHECK}: the test's thread has no name to run it again by"))?;
    let path = std::env::temp_dir().join(format!(
        "labsim-check-{}-{}.txt",
        std::process::id(),
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let exe = std::env::current_exe().map_err(|e| format!("{CHECK}: {e}"))?;
    let status = std::process::Command::new(exe)
        .args(["--exact", &test, "--test-threads=1"])
        .env("LAB_SIM", "1")
        .env("LAB_SEED", crate::rand::seed().to_string())
        .env_remove(CHECK)
        .env(CHECK_CHILD, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{CHECK}: cannot run the test again: {e}"))?;
    let theirs = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{CHECK}: the second run ({status}) left no trace in {}: {e}",
            path.display()
        )
    })?;
    let _ = std::fs::remove_file(&path);
    let theirs: Vec<&str> = theirs.lines().collect();
    for (step, &(tid, now)) in log.iter().enumerate() {
        let ours = describe((tid, now));
        match theirs.get(step) {
            Some(line) if line.starts_with(&format!("{ours} ")) => {}
            other => {
                return Err(format!(
                    "{CHECK}: the runs differ at step {step} of {} (virtual time {:.6} s): the \
                     first ran '{}', the second {}",
                    log.len(),
                    now.as_secs_f64(),
                    w.threads[tid].name,
                    other.map_or("had ended".to_string(), |l| format!(
                        "ran '{}'",
                        l.splitn(3, ' ').nth(2).unwrap_or("?")
                    ))
                ));
            }
        }
    }
    Ok(())
}

/// Whether this process keeps the decisions: it checks, or is checked.
pub(super) fn wanted() -> bool {
    std::env::var_os(CHECK).is_some() || std::env::var_os(CHECK_CHILD).is_some()
}
