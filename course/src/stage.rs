//! Staging a submission: the student's files, and nothing else of theirs,
//! inside a fresh copy of the handout, where the grader builds and runs them.
//!
//! A submission is any directory holding a lab's `src/` (a handout
//! checkout, a Gradescope upload, or this repository). [`Submission::read`]
//! takes from it only the student files ([`test_scripts::labs`]): every
//! framework file, the tests and the harness come from the staff's own
//! handout, so a submission cannot change what grades it. Symbolic links,
//! and files or trees past [`LIMITS`], are refused.
//!
//! [`stage`] writes the handout into the stage directory, replacing the
//! student files of each lab the submission has, after removing whatever an
//! earlier grading left there. The stage holds no `.git`, no reference
//! solution and no `course/`. Compiled dependencies are kept between
//! gradings in the stage's target directory (only cargo writes there; the
//! tests run sandboxed, without the right to write it), and so that cargo
//! reuses the framework crates too, every framework file gets a fixed
//! modification time as long as the handout is unchanged. Student files
//! always get the current time, so cargo always rebuilds them: a submission
//! whose files carry old dates cannot pass for the last one graded.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use test_scripts::labs::{self, LABS, Lab};

use crate::handout::Handout;

/// The most a submission may hold.
pub struct Limits {
    pub files: usize,
    pub file_bytes: u64,
    pub total_bytes: u64,
}

pub const LIMITS: Limits = Limits {
    files: 200,
    file_bytes: 1 << 20,
    total_bytes: 4 << 20,
};

/// The framework's files' modification time while the handout is unchanged:
/// any fixed time in the past.
const FRAMEWORK_MTIME: Duration = Duration::from_secs(1_000_000_000);

/// The student files of a submission.
#[derive(Debug, Default)]
pub struct Submission {
    /// Where they were read from (the directory holding the labs' packages).
    pub root: PathBuf,
    /// (path relative to `root`, contents), sorted by path.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files found in the labs' `src/` that are not the student's, and so
    /// not used (see [`Submission::changed_framework_files`]).
    pub ignored: Vec<String>,
    /// What makes a lab's files unusable, per lab index in [`LABS`].
    pub problems: Vec<(usize, String)>,
}

impl Submission {
    /// Reads the student files under `dir`, or under its one subdirectory
    /// that holds them (an upload of a whole checkout, `raftlab/raft/src`).
    pub fn read(dir: &Path) -> Result<Submission, String> {
        let root = find_root(dir)?;
        let mut submission = Submission {
            root: root.clone(),
            ..Submission::default()
        };
        for (i, lab) in LABS.iter().enumerate() {
            // A lab's suites share its package (raft's hardening suite):
            // its files are read once, under the first.
            if LABS[..i].iter().any(|l| l.package == lab.package) {
                continue;
            }
            let src = root.join(lab.package).join("src");
            // A link here could name any directory of the grading machine,
            // the staff's own solution included: refuse it, as read_dir
            // refuses links further down.
            let linked = [root.join(lab.package), src.clone()]
                .iter()
                .any(|p| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()));
            if linked {
                let rel = format!("{}/src", lab.package);
                submission.problems.push((
                    i,
                    format!("{rel}: a symbolic link on the way; submit the directory itself"),
                ));
            } else if src.is_dir() {
                submission.read_dir(i, &src, &format!("{}/src", lab.package));
            }
        }
        submission.files.sort();
        submission.check_limits();
        Ok(submission)
    }

    /// The framework files in the labs' `src/` that the submission changed
    /// (or added): they are not used, and the student should know it.
    pub fn changed_framework_files<'a>(
        &'a self,
        base: &'a Handout,
    ) -> impl Iterator<Item = &'a str> {
        self.ignored.iter().map(String::as_str).filter(|path| {
            let theirs = fs::read(self.root.join(path)).unwrap_or_default();
            !base
                .files
                .iter()
                .any(|f| f.path == *path && f.contents == theirs)
        })
    }

    /// Whether the submission has files of `lab` (index in [`LABS`]).
    pub fn has_lab(&self, lab: usize) -> bool {
        self.files.iter().any(|(path, _)| LABS[lab].owns(path))
    }

    fn read_dir(&mut self, lab: usize, dir: &Path, rel: &str) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                return self
                    .problems
                    .push((lab, format!("{rel}: cannot read it: {e}")));
            }
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                self.problems.push((
                    lab,
                    format!("{rel}: a file name that is not UTF-8: {name:?}"),
                ));
                continue;
            };
            let path = format!("{rel}/{name}");
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                if labs::is_student_file(&path) {
                    self.problems.push((
                        lab,
                        format!("{path}: a symbolic link; submit the file itself"),
                    ));
                }
            } else if kind.is_dir() {
                self.read_dir(lab, &entry.path(), &path);
            } else if !labs::is_student_file(&path) {
                self.ignored.push(path);
            } else if !kind.is_file() {
                self.problems
                    .push((lab, format!("{path}: not a regular file")));
            } else {
                self.read_file(lab, &entry.path(), path);
            }
        }
    }

    fn read_file(&mut self, lab: usize, file: &Path, path: String) {
        let size = fs::metadata(file).map_or(0, |m| m.len());
        if size > LIMITS.file_bytes {
            let limit = LIMITS.file_bytes >> 10;
            self.problems
                .push((lab, format!("{path}: {size} bytes, more than {limit} KiB")));
            return;
        }
        match fs::read(file) {
            Ok(contents) => self.files.push((path, contents)),
            Err(e) => self
                .problems
                .push((lab, format!("{path}: cannot read it: {e}"))),
        }
    }

    fn check_limits(&mut self) {
        let total: u64 = self.files.iter().map(|(_, c)| c.len() as u64).sum();
        let too_many = self.files.len() > LIMITS.files;
        if too_many || total > LIMITS.total_bytes {
            let message = format!(
                "the submission's student files are {} files and {total} bytes; at most {} \
                 files and {} KiB are accepted",
                self.files.len(),
                LIMITS.files,
                LIMITS.total_bytes >> 10
            );
            for lab in 0..LABS.len() {
                if self.has_lab(lab) {
                    self.problems.push((lab, message.clone()));
                }
            }
        }
    }
}

/// `dir`, if it holds a lab's `src/`; else its only subdirectory that does.
fn find_root(dir: &Path) -> Result<PathBuf, String> {
    let holds_labs = |d: &Path| {
        LABS.iter()
            .any(|lab| d.join(lab.package).join("src").is_dir())
    };
    if holds_labs(dir) {
        return Ok(dir.to_path_buf());
    }
    let entries = fs::read_dir(dir)
        .map_err(|e| format!("cannot read the submission {}: {e}", dir.display()))?;
    let candidates: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|d| holds_labs(d))
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one.clone()),
        _ => {
            let mut wanted: Vec<String> =
                LABS.iter().map(|l| format!("{}/src", l.package)).collect();
            // A lab's suites share its package (raft's hardening suite).
            wanted.dedup();
            Err(format!(
                "the submission {} holds no {} (nor does exactly one of its subdirectories)",
                dir.display(),
                wanted.join(" or ")
            ))
        }
    }
}

/// Writes the handout `base` into `dir` (emptied first), with the student
/// files of every lab that `submission` has replaced by the submission's.
pub fn stage(base: &Handout, submission: &Submission, dir: &Path) -> Result<(), String> {
    let replaced: Vec<&Lab> = (0..LABS.len())
        .filter(|&i| submission.has_lab(i))
        .map(|i| &LABS[i])
        .collect();
    let framework_mtime = framework_mtime(base, dir)?;
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    for file in &base.files {
        if replaced.iter().any(|lab| lab.owns(&file.path)) {
            continue;
        }
        let mtime = if labs::is_student_file(&file.path) {
            SystemTime::now()
        } else {
            framework_mtime
        };
        file.write_into(dir, Some(mtime))?;
    }
    for (path, contents) in &submission.files {
        write(dir, path, contents)?;
    }
    Ok(())
}

/// The time to give the framework's files: [`FRAMEWORK_MTIME`] if the
/// handout is the one staged last time in `dir` (as recorded beside it),
/// else now, so that cargo rebuilds what changed.
fn framework_mtime(base: &Handout, dir: &Path) -> Result<SystemTime, String> {
    let mut hasher = DefaultHasher::new();
    for file in base
        .files
        .iter()
        .filter(|f| !labs::is_student_file(&f.path))
    {
        (&file.path, &file.contents).hash(&mut hasher);
    }
    let hash = format!("{:016x}\n", hasher.finish());
    let record = dir.with_extension("handout-hash");
    let unchanged = fs::read_to_string(&record).is_ok_and(|old| old == hash);
    fs::write(&record, hash).map_err(|e| format!("cannot write {}: {e}", record.display()))?;
    Ok(if unchanged {
        SystemTime::UNIX_EPOCH + FRAMEWORK_MTIME
    } else {
        SystemTime::now()
    })
}

/// Writes a new file, so that its modification time is now.
fn write(dir: &Path, path: &str, contents: &[u8]) -> Result<(), String> {
    let dest = dir.join(path);
    let failed = |e: std::io::Error| format!("cannot write {}: {e}", dest.display());
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(failed)?;
    }
    fs::write(&dest, contents).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raft's two suites (MIT's and the hardening one) share its files:
    /// read once, they count once against the limits and the gate.
    #[test]
    fn a_package_with_two_suites_is_read_once() {
        let submission = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(submission.path().join("raft/src/raft")).unwrap();
        std::fs::write(submission.path().join("raft/src/raft.rs"), "// mine").unwrap();
        std::fs::write(submission.path().join("raft/src/raft/log.rs"), "// mine").unwrap();
        let read = Submission::read(submission.path()).unwrap();
        let paths: Vec<&str> = read.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["raft/src/raft.rs", "raft/src/raft/log.rs"]);
    }

    #[test]
    fn a_linked_lab_directory_is_refused_not_followed() {
        let staff = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(staff.path().join("raft/src")).unwrap();
        std::fs::write(staff.path().join("raft/src/raft.rs"), "// the staff's").unwrap();
        let submission = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(staff.path().join("raft"), submission.path().join("raft"))
            .unwrap();
        let read = Submission::read(submission.path()).unwrap();
        assert!(read.files.is_empty(), "{:?}", read.files);
        assert!(
            read.problems
                .iter()
                .any(|(lab, why)| *lab == 0 && why.contains("symbolic link")),
            "{:?}",
            read.problems
        );
    }
}
