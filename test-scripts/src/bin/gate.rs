//! gate — checks the student files of a raftlab tree for what lab code may
//! not use (the rules are in `test_scripts::gate`).
//!
//! ```text
//! gate                 # the repository around the current directory
//! gate path/to/raftlab
//! ```
//!
//! It prints each violation as `file:line:col: message`, then a summary
//! line, and exits with 1 if there was any violation, 0 if none, and 2 if
//! it could not check (no tree, unreadable files). `make lint` runs it
//! first.

// A tool that reads files; it never runs under labrt's simulation, so the
// workspace ban on std items (clippy.toml) does not apply.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use test_scripts::gate;
use test_scripts::labs::LABS;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Checks the student files (raft/src/raft.rs, kvraft/src/...) for what lab code may not use."
)]
struct Cli {
    /// The repository's root; by default the Cargo workspace around the
    /// current directory
    root: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.root) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("gate: {err}");
            ExitCode::from(2)
        }
    }
}

/// Checks the tree; whether it passed.
fn run(root: Option<PathBuf>) -> Result<bool, String> {
    let root = match root {
        Some(root) => root,
        None => workspace_root()?,
    };
    // A wrong root would have no student files, and would pass.
    if !LABS.iter().any(|lab| root.join(lab.package).is_dir()) {
        return Err(format!(
            "{} holds no lab package ({}): is it the repository's root?",
            root.display(),
            LABS.iter()
                .map(|lab| lab.package)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let violations =
        gate::check_tree(&root).map_err(|err| format!("cannot read {}: {err}", root.display()))?;
    for violation in &violations {
        println!("{violation}");
    }
    if violations.is_empty() {
        println!("gate: the student files pass");
    } else {
        println!(
            "gate: {} violation(s) in the student files",
            violations.len()
        );
    }
    Ok(violations.is_empty())
}

/// The nearest directory, from the current one up, whose Cargo.toml has a
/// `[workspace]` table.
fn workspace_root() -> Result<PathBuf, String> {
    let here = env::current_dir().map_err(|err| format!("no current directory: {err}"))?;
    here.ancestors()
        .find(|dir| is_workspace(dir))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "no Cargo workspace around {}; name the repository's root",
                here.display()
            )
        })
}

fn is_workspace(dir: &Path) -> bool {
    fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
}
