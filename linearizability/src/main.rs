//! `linearizability check FILE --model kv|register [--html OUT] [--timeout SECONDS]`:
//! checks a recorded history (the formats of the crate's reader: Jepsen's
//! EDN or log lines, porcupine's key/value files), prints the verdict and
//! its explanation, and writes the HTML visualization.
//!
//! Exit status: 0 linearizable, 1 not linearizable, 2 a usage error or a
//! history that cannot be read or checked, 3 no verdict within the time
//! limit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use linearizability::{
    CheckResult, KvModel, Model, Operation, RegisterModel, check_operations_verbose,
    read_kv_history, read_register_history,
};

const USAGE: &str = "usage: linearizability check FILE --model kv|register [--html OUT] \
                     [--timeout SECONDS]

Checks the history in FILE for linearizability against the model:
  kv        get / put / append on string keys (lab 3, porcupine's key/value files)
  register  read / write / cas on integer registers, by key if the history has keys (Jepsen)
FILE holds one event per line: Jepsen-style EDN maps, or Jepsen's log lines
(`INFO jepsen.util - 3 :invoke :cas [1 4]`); :fail operations did not happen,
:info ones (and invokes never completed) may have happened at any time after
their call.
  --html OUT         write the visualization to OUT (else, if the history is not
                     linearizable, to LAB_OUTPUT_DIR or target/linearizability/)
  --timeout SECONDS  give up with no verdict after this long (default 60; 0: never)
Exit status: 0 linearizable, 1 not linearizable, 2 error, 3 no verdict.";

struct Options {
    file: PathBuf,
    model: String,
    html: Option<PathBuf>,
    timeout: Duration,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("linearizability: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match options.model.as_str() {
        "kv" => read_kv_history(&options.file)
            .map_err(|e| e.to_string())
            .and_then(|history| check(KvModel, history, &options)),
        _ => read_register_history(&options.file)
            .map_err(|e| e.to_string())
            .and_then(|history| check(RegisterModel, history, &options)),
    };
    match outcome {
        Ok(CheckResult::Ok) => ExitCode::SUCCESS,
        Ok(CheckResult::Illegal) => ExitCode::from(1),
        Ok(CheckResult::Unknown) => ExitCode::from(3),
        Err(message) => {
            eprintln!("linearizability: {message}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        Some("check") => {}
        Some("-h" | "--help") | None => return Err("what to do?".to_string()),
        Some(other) => return Err(format!("unknown command {other:?}")),
    }
    let (mut file, mut model, mut html, mut timeout) = (None, None, None, Duration::from_secs(60));
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--model" => model = Some(value("--model")?),
            "--html" => html = Some(PathBuf::from(value("--html")?)),
            "--timeout" => {
                let seconds = value("--timeout")?;
                timeout = seconds
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| format!("--timeout wants seconds, not {seconds:?}"))?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if file.is_none() => file = Some(PathBuf::from(path)),
            extra => return Err(format!("one FILE only, not also {extra:?}")),
        }
    }
    let model = model.ok_or("--model kv or --model register is required")?;
    if model != "kv" && model != "register" {
        return Err(format!("--model is kv or register, not {model:?}"));
    }
    Ok(Options {
        file: file.ok_or("no FILE to check")?,
        model,
        html,
        timeout,
    })
}

/// Checks `history`, prints the verdict and its explanation, and writes the
/// page: to `--html` always, else where a failing lab test's goes.
fn check<M: Model>(
    model: M,
    history: Vec<Operation<M::Input, M::Output>>,
    options: &Options,
) -> Result<CheckResult, String> {
    let (result, info) = check_operations_verbose(model, history, Some(options.timeout))
        .map_err(|e| format!("{}: {e}", options.file.display()))?;
    print!("{}", info.summary());
    let written = match (&options.html, result) {
        (Some(path), _) => info.write_html(path).map(|()| Some(path.clone())),
        (None, CheckResult::Ok) => Ok(None),
        (None, _) => info.write_html_to_output_dir().map(Some),
    };
    match written {
        Ok(Some(path)) => println!("info: wrote history visualization to {}", path.display()),
        Ok(None) => {}
        Err(e) => return Err(format!("cannot write the visualization: {e}")),
    }
    Ok(result)
}
