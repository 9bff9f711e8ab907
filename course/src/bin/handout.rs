//! `handout`: writes the student handout of the raftlab repository that
//! holds the current directory (what goes in: `course/src/handout.rs`).
//!
//! ```text
//! handout [--autograder] [--out DIR]
//! ```
//!
//! With `--autograder` it writes the grader's tree instead (every file,
//! `course/` included, with only the solution regions replaced: what `make
//! autograder` packs for Gradescope). DIR defaults to
//! `target/handout/raftlab` under the repository's root; it
//! must not exist or be empty. Exit status: 0 when the handout is written, 1
//! when the repository cannot be handed out (each problem is printed, with
//! its file and line), 2 for a bad command line.

use std::path::PathBuf;
use std::process::ExitCode;

use course::handout::{self, Audience, Error};

const USAGE: &str = "usage: handout [--autograder] [--out DIR]   (DIR defaults to \
                     target/handout/raftlab in the repository)";

fn main() -> ExitCode {
    let (out, audience) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Make { out, audience }) => (out, audience),
        Err(message) => {
            eprintln!("handout: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(out, audience) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error(problems)) => {
            for problem in &problems {
                eprintln!("handout: {problem}");
            }
            eprintln!("handout: no handout written");
            ExitCode::FAILURE
        }
    }
}

enum Command {
    Help,
    Make {
        out: Option<PathBuf>,
        audience: Audience,
    },
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut out = None;
    let mut audience = Audience::Students;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--autograder" => audience = Audience::Autograder,
            "--out" => match args.next() {
                Some(dir) => out = Some(PathBuf::from(dir)),
                None => return Err("--out needs a directory".to_string()),
            },
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Command::Make { out, audience })
}

fn run(out: Option<PathBuf>, audience: Audience) -> Result<(), Error> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let repo = handout::repo_root(&cwd)?;
    let out = out.unwrap_or_else(|| repo.join(handout::DEFAULT_OUT));
    let made = handout::make_for(&repo, audience)?;
    made.write(&out)?;
    println!(
        "handout: wrote {} files to {} ({} solution regions replaced by their stubs)",
        made.files.len(),
        out.display(),
        made.regions
    );
    Ok(())
}
