//! What a suite's grade rests on, and the refusals that follow from it.
//!
//! A suite's tests compile the student files of its own package and of
//! every student package that package depends on: labs 3 and 4 are built on
//! the student's Raft, lab 4B on their lab 4A controller too. A file the
//! gate refuses must then refuse every suite whose build would compile it,
//! or a `static` in `raft/src/raft.rs` would cost lab 2 and still score
//! labs 3 and 4. [`built_on`] reads which student packages each suite
//! compiles from the manifests the stage builds with (the handout's
//! `Cargo.toml` files): the path dependencies, followed transitively, with
//! the suite's package's dev-dependencies (the harness) and the optional
//! dependencies its features turn on, as `cargo test -p <package>` builds
//! them. Nothing here names a lab: a new lab's crate, its line in
//! `test-scripts/labs.txt` and its manifest are all it takes.
//!
//! [`refusals`] then gives each suite's reasons to be refused: what the gate
//! finds in the student files of every package it builds on, and what made
//! those files unusable (a symbolic link, a file past the limits), each
//! saying whose file it is.

use std::collections::{BTreeMap, BTreeSet};

use test_scripts::gate;
use test_scripts::labs::{LABS, Lab};
use toml_edit::{DocumentMut, Item, TableLike};

use crate::stage::Submission;

/// A path dependency, as a manifest declares it.
#[derive(Clone, Debug)]
struct PathDep {
    /// Its key in the table: what `dep:<key>` and `<key>/<feature>` name.
    key: String,
    /// Its package's directory, relative to the workspace's root.
    dir: String,
    optional: bool,
    features: Vec<String>,
    default_features: bool,
}

/// What [`built_on`] needs of one manifest.
#[derive(Debug, Default)]
struct Manifest {
    /// `[dependencies]` and `[build-dependencies]`, of every target.
    normal: Vec<PathDep>,
    /// `[dev-dependencies]`, of every target: built only for the package
    /// whose tests run.
    dev: Vec<PathDep>,
    features: BTreeMap<String, Vec<String>>,
}

/// The student packages each suite of `labs` builds on: for each suite, in
/// `labs`' order, the packages of `labs` (its own among them, each once, in
/// the table's order) whose files `cargo test -p <package>` compiles. `manifest(dir)` is the text of
/// `<dir>/Cargo.toml` (`dir` relative to the workspace's root, `""` for
/// the root), or `None` if there is none.
///
/// Features are followed as cargo does, or more widely where it is simpler
/// (every target's dependencies, a feature enabled by any edge into a
/// package): a package counted that cargo would not build refuses too much,
/// never too little. A dependency this cannot read is an error, not a
/// package skipped.
pub fn built_on(
    labs: &[Lab],
    manifest: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Vec<&'static str>>, String> {
    let workspace = match manifest("") {
        Some(text) => workspace_deps(&text)?,
        None => BTreeMap::new(),
    };
    let mut manifests: BTreeMap<String, Manifest> = BTreeMap::new();
    let mut result = Vec::new();
    for lab in labs {
        // Each package the build reaches, with the features enabled on it.
        let mut enabled: BTreeMap<String, BTreeSet<String>> =
            BTreeMap::from([(lab.package.to_string(), BTreeSet::from(["default".into()]))]);
        loop {
            let mut grown = false;
            for (dir, features) in enabled.clone() {
                if !manifests.contains_key(&dir) {
                    let text = manifest(&dir)
                        .ok_or_else(|| format!("{dir}/Cargo.toml: no such manifest"))?;
                    let parsed = parse_manifest(&dir, &text, &workspace)?;
                    manifests.insert(dir.clone(), parsed);
                }
                let package = &manifests[&dir];
                let on = Enabled::of(package, &features);
                let dev = if dir == lab.package {
                    &package.dev[..]
                } else {
                    &[]
                };
                for dep in package.normal.iter().chain(dev) {
                    if dep.optional && !on.optional.contains(&dep.key) {
                        continue;
                    }
                    let wanted = dep
                        .features
                        .iter()
                        .cloned()
                        .chain(dep.default_features.then(|| "default".to_string()))
                        .chain(on.dep_features.get(&dep.key).into_iter().flatten().cloned());
                    let theirs = enabled.entry(dep.dir.clone()).or_default();
                    for feature in wanted {
                        grown |= theirs.insert(feature);
                    }
                    if theirs.is_empty() {
                        // Reached with no feature at all: still built.
                        grown |= theirs.insert(String::new());
                    }
                }
            }
            if !grown {
                break;
            }
        }
        let mut packages: Vec<&'static str> = Vec::new();
        for package in labs.iter().map(|l| l.package) {
            if enabled.contains_key(package) && !packages.contains(&package) {
                packages.push(package);
            }
        }
        result.push(packages);
    }
    Ok(result)
}

/// What a package's enabled features turn on in it.
#[derive(Default)]
struct Enabled {
    /// Optional dependencies turned on, by key.
    optional: BTreeSet<String>,
    /// Features asked of dependencies (`<key>/<feature>`), by key.
    dep_features: BTreeMap<String, BTreeSet<String>>,
}

impl Enabled {
    fn of(package: &Manifest, features: &BTreeSet<String>) -> Enabled {
        let mut on = Enabled::default();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut work: Vec<&str> = features.iter().map(String::as_str).collect();
        while let Some(feature) = work.pop() {
            if !seen.insert(feature) {
                continue;
            }
            let Some(entries) = package.features.get(feature) else {
                // Not a declared feature: an optional dependency's implicit
                // one (or `default`, when none is declared).
                on.optional.insert(feature.to_string());
                continue;
            };
            for entry in entries {
                if let Some(key) = entry.strip_prefix("dep:") {
                    on.optional.insert(key.to_string());
                } else if let Some((key, feature)) = entry.split_once('/') {
                    // `key?/feature` does not turn `key` on; counted as if
                    // it did, which only ever refuses more.
                    let key = key.trim_end_matches('?');
                    on.optional.insert(key.to_string());
                    on.dep_features
                        .entry(key.to_string())
                        .or_default()
                        .insert(feature.to_string());
                } else {
                    work.push(entry);
                }
            }
        }
        on
    }
}

/// The path dependencies of the root manifest's `[workspace.dependencies]`.
fn workspace_deps(text: &str) -> Result<BTreeMap<String, PathDep>, String> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("Cargo.toml: not TOML: {e}"))?;
    let Some(table) = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Item::as_table_like)
    else {
        return Ok(BTreeMap::new());
    };
    let mut deps = BTreeMap::new();
    for (key, item) in table.iter() {
        if let Some(spec) = item.as_table_like()
            && let Some(path) = spec.get("path").and_then(Item::as_str)
        {
            let dep = PathDep {
                key: key.to_string(),
                dir: join("", path, "Cargo.toml")?,
                optional: false,
                features: strings(spec.get("features")),
                default_features: spec
                    .get("default-features")
                    .and_then(Item::as_bool)
                    .unwrap_or(true),
            };
            deps.insert(key.to_string(), dep);
        }
    }
    Ok(deps)
}

/// Reads the manifest of the package in `dir`.
fn parse_manifest(
    dir: &str,
    text: &str,
    workspace: &BTreeMap<String, PathDep>,
) -> Result<Manifest, String> {
    let file = format!("{dir}/Cargo.toml");
    let doc: DocumentMut = text.parse().map_err(|e| format!("{file}: not TOML: {e}"))?;
    let mut manifest = Manifest::default();
    // The package's own tables, then each `[target.<cfg>]`'s.
    let mut tables: Vec<&dyn TableLike> = vec![doc.as_table()];
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        tables.extend(targets.iter().filter_map(|(_, t)| t.as_table_like()));
    }
    for table in tables {
        for (name, dev) in [
            ("dependencies", false),
            ("build-dependencies", false),
            ("dev-dependencies", true),
        ] {
            let Some(deps) = table.get(name).and_then(Item::as_table_like) else {
                continue;
            };
            for (key, item) in deps.iter() {
                if let Some(dep) = path_dep(dir, &file, key, item, workspace)? {
                    if dev {
                        manifest.dev.push(dep);
                    } else {
                        manifest.normal.push(dep);
                    }
                }
            }
        }
    }
    if let Some(features) = doc.get("features").and_then(Item::as_table_like) {
        for (name, entries) in features.iter() {
            manifest
                .features
                .insert(name.to_string(), strings(Some(entries)));
        }
    }
    Ok(manifest)
}

/// The dependency `key = item` of the manifest `file` in `dir`, if it is a
/// path dependency (its own, or the workspace's).
fn path_dep(
    dir: &str,
    file: &str,
    key: &str,
    item: &Item,
    workspace: &BTreeMap<String, PathDep>,
) -> Result<Option<PathDep>, String> {
    let Some(spec) = item.as_table_like() else {
        return Ok(None); // `name = "1.0"`: from a registry.
    };
    let optional = spec.get("optional").and_then(Item::as_bool) == Some(true);
    let mut features = strings(spec.get("features"));
    if spec.get("workspace").and_then(Item::as_bool) == Some(true) {
        return Ok(workspace.get(key).map(|inherited| {
            features.extend(inherited.features.iter().cloned());
            PathDep {
                key: key.to_string(),
                optional,
                features,
                ..inherited.clone()
            }
        }));
    }
    let Some(path) = spec.get("path").and_then(Item::as_str) else {
        return Ok(None);
    };
    Ok(Some(PathDep {
        key: key.to_string(),
        dir: join(dir, path, file)?,
        optional,
        features,
        default_features: spec
            .get("default-features")
            .and_then(Item::as_bool)
            .unwrap_or(true),
    }))
}

/// `base/rel`, normalized, relative to the workspace's root (`file` names
/// the manifest that says it, for the error).
fn join(base: &str, rel: &str, file: &str) -> Result<String, String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or_else(|| {
                    format!("{file}: the path dependency {rel:?} leaves the workspace")
                })?;
            }
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// An array of strings (`features = [...]`); anything else is none.
fn strings(item: Option<&Item>) -> Vec<String> {
    item.and_then(Item::as_array)
        .map(|array| {
            array
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// How a suite is named in messages: its part when it has one (`4A`), else
/// its lab (`2`, `3+`).
pub fn suite_name(lab: &Lab) -> String {
    match lab.part_names().as_slice() {
        [part] => part.clone(),
        _ => lab.lab.to_string(),
    }
}

/// The suite whose student files `package`'s are, named: the first of its
/// rows (lab 2's, not its hardening suite's).
fn owner_name(package: &str) -> String {
    LABS.iter()
        .find(|lab| lab.package == package)
        .map_or_else(|| package.to_string(), suite_name)
}

/// Each suite's reasons to be refused, in [`LABS`]' order (none: it may be
/// built): what made the student files of a package it builds on unusable,
/// and, unless `skip_gate`, every rule of the gate they break. A reason from
/// another lab's files says so: "shardctrler/src/server.rs:3:1 (lab 4A's
/// file, which 4B builds on): ...". `built_on` is [`built_on`]'s answer for
/// [`LABS`].
pub fn refusals(
    submission: &Submission,
    built_on: &[Vec<&str>],
    skip_gate: bool,
) -> Vec<Vec<String>> {
    // Each package's reasons, once (its suites share them).
    let mut problems: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (lab, problem) in &submission.problems {
        let listed = problems.entry(LABS[*lab].package).or_default();
        if !listed.contains(&problem.as_str()) {
            listed.push(problem);
        }
    }
    let mut violations: BTreeMap<&str, Vec<gate::Violation>> = BTreeMap::new();
    if !skip_gate {
        for (path, contents) in &submission.files {
            let Some(owner) = LABS.iter().find(|lab| lab.owns(path)) else {
                continue;
            };
            let source = String::from_utf8_lossy(contents);
            violations
                .entry(owner.package)
                .or_default()
                .extend(gate::check_source(path, &source));
        }
    }
    LABS.iter()
        .zip(built_on)
        .map(|(lab, packages)| {
            let mut reasons = Vec::new();
            // Its own package's first, then the others' in the table's order.
            let theirs = packages.iter().filter(|p| **p != lab.package);
            for &package in std::iter::once(&lab.package).chain(theirs) {
                let whose = |what: &str| {
                    if package == lab.package {
                        String::new()
                    } else {
                        format!(
                            " (lab {}'s {what}, which {} builds on)",
                            owner_name(package),
                            suite_name(lab)
                        )
                    }
                };
                for problem in problems.get(package).into_iter().flatten() {
                    let reason = format!("{problem}{}", whose("files"));
                    if !reasons.contains(&reason) && !reasons.iter().any(|r| r == problem) {
                        reasons.push(reason);
                    }
                }
                for v in violations.get(package).into_iter().flatten() {
                    reasons.push(format!(
                        "{}:{}:{}{}: {}",
                        v.file,
                        v.line,
                        v.column,
                        whose("file"),
                        v.message
                    ));
                }
            }
            reasons
        })
        .collect()
}

/// What each test of a refused suite reports.
pub fn refusal_message(lab: &Lab, reasons: &[String]) -> String {
    format!(
        "the submission's files for lab {} were refused; nothing of them was built or run:\n{}",
        suite_name(lab),
        reasons.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use test_scripts::labs::parse_table;

    use super::*;

    /// The repository's own manifests.
    fn on_disk(dir: &str) -> Option<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join(dir).join("Cargo.toml")).ok()
    }

    fn names(sets: &[Vec<&str>]) -> Vec<Vec<String>> {
        sets.iter()
            .map(|s| s.iter().map(|p| p.to_string()).collect())
            .collect()
    }

    /// The repository's labs: 3 and 4A on raft, 4B on raft and shardctrler;
    /// lab 2 on nothing else (its harness, a dev-dependency, has kvraft
    /// and the controllers only behind features lab 2 does not turn on).
    #[test]
    fn the_labs_build_on_the_labs_before_them() {
        let built = built_on(&LABS, on_disk).unwrap();
        let of = |lab: &str, parts: &str| {
            let i = LABS
                .iter()
                .position(|l| l.lab == lab && l.parts == parts)
                .unwrap_or_else(|| panic!("no suite {lab} {parts}"));
            built[i].clone()
        };
        assert_eq!(of("2", "ABCD"), ["raft"]);
        assert_eq!(of("2+", "ABCD"), ["raft"]);
        assert_eq!(of("3", "AB"), ["raft", "kvraft"]);
        assert_eq!(of("3+", "AB"), ["raft", "kvraft"]);
        assert_eq!(of("4", "A"), ["raft", "shardctrler"]);
        assert_eq!(of("4", "B"), ["raft", "shardctrler", "shardkv"]);
    }

    /// The dependency is followed however the manifests say it: through a
    /// framework crate, the workspace's table, a dev-dependency's feature,
    /// a feature of one's own; an optional one no feature turns on is not.
    #[test]
    fn path_dependencies_are_followed_through_every_form() {
        let labs = parse_table(
            "1 A a a_test m\n2 A b b_test m\n3 A c c_test m\n4 A d d_test m\n5 A e e_test m\n",
        )
        .unwrap();
        let manifest = |dir: &str| {
            Some(
                match dir {
                    "" => {
                        "[workspace]\nmembers = []\n[workspace.dependencies]\n\
                           a = { path = \"a\" }\nserde = \"1\"\n"
                    }
                    "a" => "[package]\nname = \"a\"\n[dependencies]\nserde = \"1\"\n",
                    // b on a through the workspace's table, by way of a
                    // framework crate.
                    "b" => "[dependencies]\nmid = { path = \"../crates/../mid\" }\n",
                    "mid" => "[dependencies]\na.workspace = true\n",
                    // c: a harness whose feature turns on b; e only for
                    // another feature.
                    "c" => "[dev-dependencies]\nh = { path = \"../h\", features = [\"b\"] }\n",
                    "h" => {
                        "[dependencies]\nb = { path = \"../b\", optional = true }\n\
                            e = { path = \"../e\", optional = true }\n\
                            [features]\nb = [\"dep:b\"]\nall = [\"b\", \"e\"]\n"
                    }
                    // d: its default feature turns on `x/y`, x on c.
                    "d" => {
                        "[features]\ndefault = [\"x/y\"]\n[dependencies]\n\
                            x = { package = \"cc\", path = \"../c\", optional = true }\n"
                    }
                    "e" => "[target.'cfg(unix)'.dependencies]\nh = { path = \"../h\" }\n",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let built = built_on(&labs, manifest).unwrap();
        assert_eq!(
            names(&built),
            [
                vec!["a"],
                vec!["a", "b"],
                // The harness's dev-dependencies are c's, not what c's
                // dependents build.
                vec!["a", "b", "c"],
                vec!["c", "d"],
                vec!["e"],
            ]
        );
    }

    #[test]
    fn a_dependency_that_cannot_be_read_is_an_error() {
        let labs = parse_table("1 A a a_test m\n").unwrap();
        let missing = |dir: &str| {
            (dir == "a").then(|| "[dependencies]\nb = { path = \"../b\" }\n".to_string())
        };
        let err = built_on(&labs, missing).unwrap_err();
        assert!(err.contains("b/Cargo.toml"), "{err}");
        let outside = |dir: &str| {
            (dir == "a").then(|| "[dependencies]\nb = { path = \"../../b\" }\n".to_string())
        };
        let err = built_on(&labs, outside).unwrap_err();
        assert!(err.contains("leaves the workspace"), "{err}");
        let not_toml = |_: &str| Some("[dependencies".to_string());
        assert!(built_on(&labs, not_toml).is_err());
    }

    fn submission(files: &[(&str, &str)]) -> Submission {
        Submission {
            files: files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
            ..Submission::default()
        }
    }

    /// The suites refused, by name.
    fn refused(submission: &Submission) -> Vec<(String, Vec<String>)> {
        let built = built_on(&LABS, on_disk).unwrap();
        LABS.iter()
            .zip(refusals(submission, &built, false))
            .filter(|(_, reasons)| !reasons.is_empty())
            .map(|(lab, reasons)| (suite_name(lab), reasons))
            .collect()
    }

    const STATIC: &str = "pub static SHARED: u64 = 0;\n";

    #[test]
    fn a_violation_refuses_every_suite_built_on_its_file() {
        let clean = "pub fn f() {}\n";
        let raft = refused(&submission(&[
            ("raft/src/raft.rs", STATIC),
            ("kvraft/src/server.rs", clean),
        ]));
        let suites: Vec<&str> = raft.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(suites, ["2", "2+", "3", "3+", "4A", "4B"]);
        assert!(raft[0].1[0].starts_with("raft/src/raft.rs:1:"), "{raft:?}");
        for (suite, reasons) in &raft[2..] {
            assert_eq!(reasons.len(), 1, "{suite}: {reasons:?}");
            let whose = format!("raft/src/raft.rs:1:5 (lab 2's file, which {suite} builds on): ");
            assert!(reasons[0].starts_with(&whose), "{suite}: {reasons:?}");
            assert!(reasons[0].contains("static"), "{reasons:?}");
        }

        let ctrler = refused(&submission(&[
            ("raft/src/raft.rs", clean),
            ("shardctrler/src/server.rs", STATIC),
        ]));
        let suites: Vec<&str> = ctrler.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(suites, ["4A", "4B"]);
        assert!(
            ctrler[1].1[0]
                .starts_with("shardctrler/src/server.rs:1:5 (lab 4A's file, which 4B builds on): "),
            "{ctrler:?}"
        );

        // Its own files first, then those it builds on.
        let both = refused(&submission(&[
            ("raft/src/raft.rs", STATIC),
            ("shardkv/src/client.rs", STATIC),
        ]));
        let (suite, reasons) = both.last().unwrap();
        assert_eq!(suite, "4B");
        assert!(
            reasons[0].starts_with("shardkv/src/client.rs:1:5: "),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("(lab 2's file, which 4B builds on)"),
            "{reasons:?}"
        );
        assert!(
            refusal_message(&LABS[LABS.len() - 1], reasons)
                .starts_with("the submission's files for lab 4B were refused"),
        );
    }

    /// Files that could not be taken (a link, too many bytes) refuse what
    /// builds on them too; a reason every suite has is said once.
    #[test]
    fn unusable_files_refuse_what_builds_on_them() {
        let mut linked = submission(&[]);
        linked.problems = vec![(0, "raft/src: a symbolic link on the way".to_string())];
        let refused = refused(&linked);
        assert_eq!(refused.len(), 6, "{refused:?}");
        assert_eq!(refused[0].1, ["raft/src: a symbolic link on the way"]);
        assert_eq!(
            refused[5].1,
            ["raft/src: a symbolic link on the way (lab 2's files, which 4B builds on)"]
        );

        let mut large = submission(&[]);
        let too_big = "the submission's student files are 300 files".to_string();
        large.problems = (0..LABS.len()).map(|i| (i, too_big.clone())).collect();
        for (suite, reasons) in self::refused(&large) {
            assert_eq!(reasons, std::slice::from_ref(&too_big), "{suite}");
        }
    }

    #[test]
    fn suites_are_named_by_part_when_they_have_one() {
        let names: Vec<String> = LABS.iter().map(suite_name).collect();
        assert_eq!(names, ["2", "2+", "3", "3+", "4A", "4B"]);
    }
}
