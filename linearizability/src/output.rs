//! Where the HTML pages of failed checks go, and how many may pile up.
//!
//! A page goes where the run's other output goes, so that it is found
//! next to the log that mentions it and removed with it: the directory in
//! `LAB_OUTPUT_DIR` if set (dstest gives each run its own, `<logs>/<test>_<run>/`), else
//! `target/linearizability/` of the cargo workspace the test runs in, else
//! the system's temporary directory. Stress runs of a buggy server fail
//! again and again, so a directory keeps at most `LAB_HTML_MAX` pages (20
//! unless set; 0 writes none): writing one more removes the oldest first.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::check::LinearizationInfo;
use crate::model::Model;

/// The environment variable naming the directory for the pages.
pub const OUTPUT_DIR_ENV: &str = "LAB_OUTPUT_DIR";

/// The environment variable that caps the pages in a directory.
pub const HTML_MAX_ENV: &str = "LAB_HTML_MAX";

/// How many pages a directory keeps unless [`HTML_MAX_ENV`] says otherwise.
pub const DEFAULT_HTML_MAX: usize = 20;

/// The pages' names start with this and end with `.html`; only such files
/// are ever removed.
const PREFIX: &str = "linearizability-";

/// Where pages go: see the module header.
pub fn output_dir() -> PathBuf {
    let cwd = std::env::current_dir().ok();
    choose_dir(
        std::env::var_os(OUTPUT_DIR_ENV),
        std::env::var_os("CARGO_TARGET_DIR"),
        cwd.as_deref(),
    )
}

fn choose_dir(output: Option<OsString>, target: Option<OsString>, cwd: Option<&Path>) -> PathBuf {
    if let Some(dir) = output.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match cwd.and_then(workspace_root) {
        Some(root) => {
            let target = target.filter(|t| !t.is_empty()).map(PathBuf::from);
            // (A relative CARGO_TARGET_DIR is relative to the workspace.)
            root.join(target.unwrap_or_else(|| "target".into()))
                .join("linearizability")
        }
        None => std::env::temp_dir(),
    }
}

/// The nearest directory from `dir` up whose Cargo.toml has a
/// `[workspace]` table: tests run in their package's directory.
fn workspace_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// The cap on pages per directory: [`HTML_MAX_ENV`], or
/// [`DEFAULT_HTML_MAX`].
fn html_max() -> io::Result<usize> {
    match std::env::var(HTML_MAX_ENV) {
        Err(_) => Ok(DEFAULT_HTML_MAX),
        Ok(n) => n
            .trim()
            .parse()
            .map_err(|_| io::Error::other(format!("{HTML_MAX_ENV} must be a number, got {n:?}"))),
    }
}

impl<M: Model> LinearizationInfo<M> {
    /// Writes the HTML visualization to a new file in [`output_dir`], keeping
    /// at most `LAB_HTML_MAX` pages there (see the module header), and
    /// returns its path.
    pub fn write_html_to_output_dir(&self) -> io::Result<PathBuf> {
        self.write_html_in(&output_dir(), html_max()?)
    }

    /// Writes the HTML visualization to a new file in `dir` (made if
    /// missing), named after the test thread and the process, first
    /// removing the oldest pages there until fewer than `max_pages` are
    /// left. With `max_pages` 0 it writes nothing and says so in the error.
    pub fn write_html_in(&self, dir: &Path, max_pages: usize) -> io::Result<PathBuf> {
        if max_pages == 0 {
            return Err(io::Error::other(format!(
                "not written, as {HTML_MAX_ENV}=0"
            )));
        }
        std::fs::create_dir_all(dir)?;
        remove_oldest(dir, max_pages - 1)?;
        let html = self.to_html();
        let name = test_name();
        for attempt in 0..1000 {
            let path = dir.join(format!(
                "{PREFIX}{name}{}-{attempt}.html",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(html.as_bytes())?;
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "no free file name for {PREFIX}{name}{}-*.html in {}",
            std::process::id(),
            dir.display()
        )))
    }
}

/// The current test's name and a dash (the test harness names each test's
/// thread after it), for the page's name: `linearizability-basic_3a-…`.
/// Empty outside a named thread.
fn test_name() -> String {
    let Some(name) = std::thread::current().name().map(str::to_string) else {
        return String::new();
    };
    if name == "main" {
        return String::new();
    }
    let last = name.rsplit("::").next().unwrap_or(&name);
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    format!("{safe}-")
}

/// Removes the oldest pages in `dir` (by modification time, then name)
/// until at most `keep` are left. Another process may remove the same
/// ones at the same time: a page already gone is fine.
fn remove_oldest(dir: &Path, keep: usize) -> io::Result<()> {
    let mut pages: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(".html")) {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        pages.push((modified, entry.path()));
    }
    pages.sort();
    let excess = pages.len().saturating_sub(keep);
    for (_, path) in pages.into_iter().take(excess) {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_dir_is_the_variable_else_the_workspace_target_else_temp() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = here.parent().unwrap();
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            choose_dir(os("/logs/run-7"), None, Some(here)),
            PathBuf::from("/logs/run-7")
        );
        assert_eq!(
            choose_dir(None, None, Some(&here.join("src"))),
            root.join("target/linearizability")
        );
        assert_eq!(
            choose_dir(os(""), os("/t"), Some(here)),
            PathBuf::from("/t/linearizability")
        );
        assert_eq!(
            choose_dir(None, None, Some(Path::new("/"))),
            std::env::temp_dir()
        );
    }
}
