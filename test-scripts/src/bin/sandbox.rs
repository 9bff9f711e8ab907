//! `sandbox`: runs a program under Landlock, rlimits and an unprivileged
//! uid. See `test_scripts::sandbox` for the flags and the layers.
//!
//! ```text
//! sandbox --read /usr --read /lib --write /tmp/run --memory 2G -- ./test_binary --exact basic_3a
//! ```

use std::process::ExitCode;

use clap::Parser;
use test_scripts::sandbox::{self, Args, SETUP_FAILED};

fn main() -> ExitCode {
    // A usage error is a setup failure too: the program did not run.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(SETUP_FAILED as u8);
        }
        Err(e) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    // Returns only if the program could not be started under the sandbox.
    let message = sandbox::launch(&args);
    eprintln!("sandbox: {message}");
    ExitCode::from(SETUP_FAILED as u8)
}
