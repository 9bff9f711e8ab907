//! The student handout: the repository as students get it.
//!
//! What goes in is every file git tracks (`git ls-files`), as it is in the
//! work tree: a tracked file deleted from the work tree is left out, and an
//! untracked file never goes in, so scratch notes cannot leak. Then:
//!
//! - the [`STAFF_ONLY`] paths are left out;
//! - in the [`student_dirs`], every solution region is replaced by its stub
//!   ([`crate::regions`]); a Rust file elsewhere that holds a marker is an
//!   error, since it would be handed out with its solution;
//! - `README.md` is replaced by [`HANDOUT_README`], written for students;
//! - the workspace `Cargo.toml` no longer lists the members left out, and
//!   `Cargo.lock` keeps only the packages the remaining members use, so that
//!   the handout builds with `--locked` and its first build changes nothing.
//!
//! Everything is read and checked before anything is written, and every
//! problem found is reported: a bad marker leaves no half-made handout.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use toml_edit::{DocumentMut, Item};

use crate::regions;
use test_scripts::labs::LABS;

/// The directories whose files hold solution regions: the `src/` of each
/// lab's package in `test-scripts/labs.txt`.
pub fn student_dirs() -> Vec<String> {
    let mut dirs: Vec<String> = LABS
        .iter()
        .map(|lab| format!("{}/src/", lab.package))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The source of the handout's `README.md`.
pub const HANDOUT_README: &str = "docs/handout-README.md";

/// What is left out of the handout: a path, or a directory ending in `/`.
pub const STAFF_ONLY: &[&str] = &[
    // This crate: the generator and, later, the grader.
    "course/",
    ".ci/",
    // The maintainers' map of the code; it describes this generator and the
    // reference solution. Students have the crate headers and docs/.
    "ARCHITECTURE.md",
    "docs/staff.md",
    // It runs the reference solution's tests sandboxed; the stubs fail them.
    "test-scripts/tests/labs_sandboxed.rs",
    // Mutation testing of the solution regions, which a handout has not.
    "test-scripts/mutants.sh",
    // Timing the reference against a Go solution: a staff measurement.
    "test-scripts/compare-go.sh",
    "test-scripts/tests/compare_go.rs",
    // It becomes README.md.
    HANDOUT_README,
];

/// What no tree made here holds, the autograder's included: files that
/// quote the reference solution outside its regions (the catalogue of
/// mistakes is patches against it).
pub const QUOTES_SOLUTION: &[&str] = &["course/mistakes/"];

/// Where `make handout` writes, under the repository's root.
pub const DEFAULT_OUT: &str = "target/handout/raftlab";

/// Whether `path` (relative to the repository's root) is left out of the
/// handout.
pub fn is_staff_only(path: &str) -> bool {
    listed(STAFF_ONLY, path)
}

/// Whether `path` is one of `paths`, or under one of its directories (those
/// ending in `/`).
fn listed(paths: &[&str], path: &str) -> bool {
    paths.iter().any(|&listed| {
        if listed.ends_with('/') {
            path.starts_with(listed)
        } else {
            path == listed
        }
    })
}

/// Why no handout was made: one message per problem, each naming its file
/// (and line, for a marker).
#[derive(Debug)]
pub struct Error(pub Vec<String>);

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(vec![message])
    }
}

/// A file of the handout.
pub struct HandoutFile {
    /// Relative to the handout's root, with `/` separators (as git gives it).
    pub path: String,
    pub contents: Vec<u8>,
    /// The source file's, so that scripts stay executable.
    permissions: fs::Permissions,
}

/// The handout, made in memory.
pub struct Handout {
    pub files: Vec<HandoutFile>,
    /// How many solution regions were replaced.
    pub regions: usize,
}

/// The root of the git work tree that holds `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf, Error> {
    let root = git(dir, &["rev-parse", "--show-toplevel"])?;
    Ok(PathBuf::from(String::from_utf8_lossy(&root).trim_end()))
}

/// Who a tree is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The student handout: see the module documentation.
    Students,
    /// The grader's tree on a grading server (`make autograder`): every file,
    /// `course/` included, with only the solution regions replaced.
    Autograder,
}

/// Makes the student handout of the repository at `repo` (its root).
pub fn make(repo: &Path) -> Result<Handout, Error> {
    make_for(repo, Audience::Students)
}

/// Makes the tree for `audience` of the tree at `repo`: a git work tree, or
/// a directory without `.git` (an autograder's tree), whose files are then
/// all of those outside `target/`.
pub fn make_for(repo: &Path, audience: Audience) -> Result<Handout, Error> {
    let mut problems = Vec::new();
    let mut files = read_files(repo, audience, &mut problems)?;
    let mut regions = 0;
    for file in &mut files {
        match stub_out(file, audience) {
            Ok(n) => regions += n,
            Err(problem) => problems.push(problem),
        }
    }
    if audience == Audience::Students {
        fix_workspace(&mut files, &mut problems);
    }
    if problems.is_empty() {
        Ok(Handout { files, regions })
    } else {
        Err(Error(problems))
    }
}

impl Handout {
    /// Writes the handout into `out`, which must not exist or be empty: the
    /// generator never deletes anything.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        if let Ok(mut entries) = fs::read_dir(out)
            && entries.next().is_some()
        {
            return Err(format!(
                "{} already exists and is not empty; remove it first (`make handout` does)",
                out.display()
            )
            .into());
        }
        for file in &self.files {
            file.write_into(out, None)?;
        }
        Ok(())
    }
}

impl HandoutFile {
    /// Writes the file under `out`, with its permissions and, if given, its
    /// modification time.
    pub fn write_into(&self, out: &Path, mtime: Option<SystemTime>) -> Result<(), String> {
        let dest = out.join(&self.path);
        let failed = |e: std::io::Error| format!("cannot write {}: {e}", dest.display());
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(failed)?;
        }
        fs::write(&dest, &self.contents).map_err(failed)?;
        fs::set_permissions(&dest, self.permissions.clone()).map_err(failed)?;
        if let Some(mtime) = mtime {
            File::options()
                .write(true)
                .open(&dest)
                .and_then(|f| f.set_modified(mtime))
                .map_err(failed)?;
        }
        Ok(())
    }
}

/// Runs git in `dir`; its output, or an error with git's own message.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(output.stdout)
}

/// The files of the tree (those git tracks, or all outside `target/`),
/// as they are in the work tree, less the staff-only ones and with the
/// student README as `README.md` for students. Unreadable files are
/// problems; a failing git is an error.
fn read_files(
    repo: &Path,
    audience: Audience,
    problems: &mut Vec<String>,
) -> Result<Vec<HandoutFile>, Error> {
    let listing = if repo.join(".git").exists() {
        git(repo, &["ls-files", "-z"])?
    } else {
        let mut listing = Vec::new();
        walk(repo, "", &mut listing)?;
        listing
    };
    let mut files = Vec::new();
    for path in listing.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let Ok(path) = std::str::from_utf8(path) else {
            problems.push(format!(
                "{}: a file name that is not UTF-8",
                String::from_utf8_lossy(path)
            ));
            continue;
        };
        if (audience == Audience::Students && is_staff_only(path)) || listed(QUOTES_SOLUTION, path)
        {
            continue;
        }
        let source = if path == "README.md" && audience == Audience::Students {
            HANDOUT_README
        } else {
            path
        };
        let file = repo.join(source);
        let read = fs::read(&file)
            .and_then(|contents| fs::metadata(&file).map(|m| (contents, m.permissions())));
        match read {
            Ok((contents, permissions)) => files.push(HandoutFile {
                path: path.to_string(),
                contents,
                permissions,
            }),
            // Deleted from the work tree, not yet from git: follow the work tree.
            Err(e) if e.kind() == ErrorKind::NotFound && source == path => {}
            Err(e) => problems.push(format!("{source}: cannot read it: {e}")),
        }
    }
    Ok(files)
}

/// Appends to `listing` the files under `dir` (relative path `rel`), each
/// followed by a NUL as in `git ls-files -z`, leaving out `target/` and
/// `.git/`.
fn walk(dir: &Path, rel: &str, listing: &mut Vec<u8>) -> Result<(), Error> {
    let path = dir.join(rel);
    let entries =
        fs::read_dir(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() && child != "target" && name != ".git" => {
                walk(dir, &child, listing)?
            }
            Ok(t) if t.is_file() => {
                listing.extend_from_slice(child.as_bytes());
                listing.push(0);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Replaces the solution regions of a student file by their stubs, and
/// checks that any other Rust file holds no marker. The number of regions
/// replaced.
fn stub_out(file: &mut HandoutFile, audience: Audience) -> Result<usize, String> {
    let dirs = student_dirs();
    if dirs.iter().any(|dir| file.path.starts_with(dir.as_str())) {
        let text = std::str::from_utf8(&file.contents).map_err(|_| {
            format!(
                "{}: not UTF-8 text, which every file of a student directory must be",
                file.path
            )
        })?;
        let stripped =
            regions::strip(text).map_err(|e| format!("{}:{}: {}", file.path, e.line, e.message))?;
        file.contents = stripped.text.into_bytes();
        Ok(stripped.regions)
    } else if file.path.ends_with(".rs") && audience == Audience::Students {
        match regions::first_marker(&String::from_utf8_lossy(&file.contents)) {
            Some(line) => Err(format!(
                "{}:{line}: a solution marker outside the student directories ({}) would be \
                 handed out with its solution; a lab's package is listed in \
                 test-scripts/labs.txt",
                file.path,
                dirs.join(", ")
            )),
            None => Ok(0),
        }
    } else {
        Ok(0)
    }
}

/// Drops the left-out members from the workspace's `Cargo.toml`, checks that
/// every remaining one is in the handout, and prunes `Cargo.lock` to what
/// they use.
fn fix_workspace(files: &mut [HandoutFile], problems: &mut Vec<String>) {
    let rewritten = text_of(files, "Cargo.toml").and_then(|manifest| {
        rewrite_members(
            &manifest.ok_or("Cargo.toml: git does not track the workspace's Cargo.toml")?,
        )
    });
    let (manifest, members) = match rewritten {
        Ok(rewritten) => rewritten,
        Err(problem) => {
            problems.push(problem);
            return;
        }
    };
    set(files, "Cargo.toml", manifest);
    let mut packages = Vec::new();
    for member in &members {
        match member_package(files, member) {
            Ok(name) => packages.push(name),
            Err(problem) => problems.push(problem),
        }
    }
    match text_of(files, "Cargo.lock") {
        Ok(Some(lock)) => set(files, "Cargo.lock", prune_lock(&lock, &packages)),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
}

/// The package name of workspace member `member`, which must be in the
/// handout.
fn member_package(files: &[HandoutFile], member: &str) -> Result<String, String> {
    let path = format!("{member}/Cargo.toml");
    let manifest = text_of(files, &path)?.ok_or_else(|| {
        format!(
            "Cargo.toml: workspace member `{member}` has no {path} among the files git tracks \
             (git add it, or take it out of members)"
        )
    })?;
    package_name(&manifest)
        .ok_or_else(|| format!("{path}: found no `name = \"...\"` in its [package]"))
}

/// The text of the handout file at `path`, if there is one.
fn text_of(files: &[HandoutFile], path: &str) -> Result<Option<String>, String> {
    files
        .iter()
        .find(|f| f.path == path)
        .map(|f| String::from_utf8(f.contents.clone()).map_err(|_| format!("{path}: not UTF-8")))
        .transpose()
}

/// Replaces the contents of the handout file at `path`, which exists.
fn set(files: &mut [HandoutFile], path: &str, text: String) {
    if let Some(file) = files.iter_mut().find(|f| f.path == path) {
        file.contents = text.into_bytes();
    }
}

/// The workspace manifest with the left-out members taken out of its
/// `members`, and the members that remain. toml_edit keeps the rest of the
/// file as it was, comments and layout included.
fn rewrite_members(manifest: &str) -> Result<(String, Vec<String>), String> {
    let mut doc: DocumentMut = manifest
        .parse()
        .map_err(|e| format!("Cargo.toml: not TOML: {e}"))?;
    let members = doc
        .get_mut("workspace")
        .and_then(|workspace| workspace.get_mut("members"))
        .and_then(Item::as_array_mut)
        .ok_or("Cargo.toml: found no `members = [...]` in its [workspace]")?;
    members.retain(|m| m.as_str().is_none_or(|m| !is_staff_only(&format!("{m}/"))));
    let kept = members
        .iter()
        .map(|m| m.as_str().map(String::from))
        .collect::<Option<Vec<String>>>()
        .ok_or("Cargo.toml: a workspace member that is not a plain string")?;
    Ok((doc.to_string(), kept))
}

/// The `name` of a crate manifest's `[package]`.
fn package_name(manifest: &str) -> Option<String> {
    let doc: DocumentMut = manifest.parse().ok()?;
    doc.get("package")?.get("name")?.as_str().map(String::from)
}

/// One `[[package]]` of a Cargo.lock.
struct LockedPackage<'a> {
    name: &'a str,
    version: &'a str,
    /// From the workspace (no `source`), rather than from a registry or git.
    local: bool,
    /// Each as `name`, or `name version` when the lock has several versions.
    dependencies: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> LockedPackage<'a> {
    fn parse(block: &'a str) -> LockedPackage<'a> {
        let field = |key: &str| {
            block.lines().find_map(|line| {
                let value = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
                Some(value.trim().trim_matches('"'))
            })
        };
        let dependencies = block
            .split_once("dependencies = [")
            .map(|(_, rest)| rest.split(']').next().unwrap_or(""))
            .unwrap_or("")
            .lines()
            .filter_map(|line| {
                let spec = line.trim().trim_end_matches(',').trim_matches('"');
                let mut words = spec.split_whitespace();
                Some((words.next()?, words.next()))
            })
            .collect();
        LockedPackage {
            name: field("name").unwrap_or(""),
            version: field("version").unwrap_or(""),
            local: field("source").is_none(),
            dependencies,
        }
    }
}

/// Cargo.lock with only the packages that the workspace packages `roots`
/// use, directly or not: what cargo itself would write for the handout's
/// workspace, with every version unchanged.
fn prune_lock(lock: &str, roots: &[String]) -> String {
    // Cargo writes a header, then one block per package, separated by blank
    // lines.
    let blocks: Vec<&str> = lock.split("\n\n").map(str::trim_end).collect();
    let packages: Vec<Option<LockedPackage>> = blocks
        .iter()
        .map(|block| {
            block
                .starts_with("[[package]]")
                .then(|| LockedPackage::parse(block))
        })
        .collect();
    let mut used = BTreeSet::new();
    let mut todo: Vec<usize> = (0..packages.len())
        .filter(|&i| {
            packages[i]
                .as_ref()
                .is_some_and(|p| p.local && roots.iter().any(|r| r == p.name))
        })
        .collect();
    while let Some(i) = todo.pop() {
        if !used.insert(i) {
            continue;
        }
        let Some(package) = &packages[i] else {
            continue;
        };
        for &(name, version) in &package.dependencies {
            todo.extend((0..packages.len()).filter(|&j| {
                packages[j]
                    .as_ref()
                    .is_some_and(|p| p.name == name && version.is_none_or(|v| v == p.version))
            }));
        }
    }
    let kept: Vec<&str> = blocks
        .iter()
        .enumerate()
        .filter(|&(i, _)| packages[i].is_none() || used.contains(&i))
        .map(|(_, block)| *block)
        .filter(|block| !block.is_empty())
        .collect();
    kept.join("\n\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_only_paths() {
        assert!(is_staff_only("course/src/lib.rs"));
        assert!(is_staff_only(".ci/run"));
        assert!(is_staff_only("docs/staff.md"));
        assert!(is_staff_only(HANDOUT_README));
        assert!(!is_staff_only("docs/lab2-raft.md"));
        assert!(!is_staff_only("raft/src/raft.rs"));
        // A directory entry matches its own files only.
        assert!(!is_staff_only("course-notes.md"));
        assert!(listed(
            QUOTES_SOLUTION,
            "course/mistakes/voted-for-not-persisted.patch"
        ));
        assert!(!listed(QUOTES_SOLUTION, "course/kill-rate.sh"));
    }

    #[test]
    fn members_lose_the_staff_crates_and_the_rest_stays() {
        let manifest = "[workspace]\nresolver = \"3\"\n# the crates\nmembers = [\"labrt\", \"raft\", \
                        \"course\", \"tester\"]\n\n[workspace.package]\nedition = \"2024\"\n";
        let (out, kept) = rewrite_members(manifest).unwrap();
        assert_eq!(kept, ["labrt", "raft", "tester"]);
        assert_eq!(
            out,
            "[workspace]\nresolver = \"3\"\n# the crates\nmembers = [\"labrt\", \"raft\", \"tester\"]\n\n\
             [workspace.package]\nedition = \"2024\"\n"
        );
        let several_lines = "[workspace]\nmembers = [\n  \"labrt\",\n  \"course\",\n]\n";
        let (out, kept) = rewrite_members(several_lines).unwrap();
        assert_eq!(kept, ["labrt"]);
        assert!(
            !out.contains("course") && out.contains("\"labrt\""),
            "{out}"
        );
    }

    #[test]
    fn members_must_be_there() {
        let manifest = "[package]\nname = \"x\"\nmembers = [\"a\"]\n";
        assert_eq!(
            rewrite_members(manifest).unwrap_err(),
            "Cargo.toml: found no `members = [...]` in its [workspace]"
        );
    }

    #[test]
    fn package_name_is_read_from_package() {
        let manifest = "[package]\nname = \"test-scripts\"\n[dependencies]\nname = \"no\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("test-scripts"));
        assert_eq!(package_name("[dependencies]\nname = \"no\"\n"), None);
    }

    #[test]
    fn lock_keeps_what_the_remaining_members_use() {
        let lock = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "course"
version = "0.1.0"
dependencies = [
 "clap",
 "serde 1.0.0",
]

[[package]]
name = "clap"
version = "4.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "raft"
version = "0.1.0"
dependencies = [
 "serde 2.0.0",
]

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "serde"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "serde_derive",
]

[[package]]
name = "serde_derive"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let want = r#"# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "raft"
version = "0.1.0"
dependencies = [
 "serde 2.0.0",
]

[[package]]
name = "serde"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "serde_derive",
]

[[package]]
name = "serde_derive"
version = "2.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        assert_eq!(prune_lock(lock, &["raft".to_string()]), want);
    }

    #[test]
    fn rust_file_with_marker_outside_student_dirs_is_refused() {
        let mut file = HandoutFile {
            path: "tester/src/raft.rs".to_string(),
            contents: b"fn f() {}\n// SOLUTION BEGIN\n".to_vec(),
            permissions: fs::metadata(".").unwrap().permissions(),
        };
        let problem = stub_out(&mut file, Audience::Students).unwrap_err();
        assert!(
            problem.starts_with("tester/src/raft.rs:2: a solution marker outside the student"),
            "{problem}"
        );
    }

    #[test]
    fn student_file_errors_name_file_and_line() {
        let mut file = HandoutFile {
            path: "raft/src/raft.rs".to_string(),
            contents: b"a\n// SOLUTION END\n".to_vec(),
            permissions: fs::metadata(".").unwrap().permissions(),
        };
        assert_eq!(
            stub_out(&mut file, Audience::Students).unwrap_err(),
            "raft/src/raft.rs:2: SOLUTION END without a SOLUTION BEGIN before it"
        );
    }
}
