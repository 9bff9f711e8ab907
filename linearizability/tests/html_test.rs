//! The HTML visualization: a well-formed, self-contained page whose data
//! is what the check found, that stays about as large as the history, and
//! that is written where the run's output goes, a capped number at a time.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Bug, Spec, generate, recorded_dir};
use linearizability::{
    Budget, CheckResult, Failure, KvModel, KvOperation, Model, Step, check_history,
    check_operations_verbose, output_dir, read_kv_history,
};
use serde_json::Value;

use KvOperation as Op;

#[test]
fn a_failure_writes_a_self_contained_html_visualization() {
    let history = generate(
        Spec {
            seed: 11,
            clients: 5,
            ops_per_client: 30,
            keys: 3,
            latency: 15,
        },
        Bug::StaleRead,
    );
    let failure = check_history(KvModel, history, &Budget::default()).unwrap_err();
    let Failure::NotLinearizable {
        summary,
        visualization,
    } = &failure
    else {
        panic!("expected NotLinearizable, got {failure}");
    };
    let path = visualization
        .as_ref()
        .expect("the visualization was written");
    assert!(
        path.extension().is_some_and(|e| e == "html"),
        "{}",
        path.display()
    );
    // Where the run's output goes: the workspace's target directory unless
    // LAB_OUTPUT_DIR or CARGO_TARGET_DIR say otherwise; named after the test.
    assert_eq!(path.parent(), Some(output_dir().as_path()));
    if std::env::var_os("LAB_OUTPUT_DIR").is_none()
        && std::env::var_os("CARGO_TARGET_DIR").is_none()
    {
        let name = path.file_name().unwrap();
        assert!(path.ends_with(Path::new("target/linearizability").join(name)));
    }
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with("linearizability-a_failure_writes_a_self_contained_html_visualization-"),
        "{name}"
    );
    // The message a lab test fails with names it.
    let message = failure.to_string();
    assert!(
        message.starts_with("history is not linearizable\n"),
        "{message}"
    );
    assert!(message.ends_with(&format!(
        "info: wrote history visualization to {}",
        path.display()
    )));
    assert!(summary.contains("key '0' is not linearizable"), "{summary}");

    let html = std::fs::read_to_string(path).unwrap();
    std::fs::remove_file(path).unwrap();
    let text = parse_html(&html);
    assert!(text.contains("History not linearizable"), "{text}");
    assert!(text.contains("key '0'"));
    let page = PageData::of(&html);
    // Every operation is there, with its description.
    let ops: Vec<&PageOp> = page.parts.iter().flat_map(|p| &p.ops).collect();
    assert_eq!(ops.len(), 150);
    assert!(ops.iter().any(|o| o.text.starts_with("append('1', 'x ")));
    // The failing partition comes first, and the stale read is the
    // operation its longest prefix blames.
    let part = &page.parts[0];
    assert_eq!(part.verdict, "illegal");
    let culprit = part.prefixes[part.best].culprit.expect("someone to blame");
    assert!(part.ops[culprit].text.starts_with("get('0') -> '"));
    assert!(
        part.prefixes[part.best].next.contains(&(culprit, false)),
        "the culprit is an illegal candidate"
    );
    // Offline: nothing is fetched.
    for outside in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }
}

#[test]
fn recorded_bad_history_visualizes() {
    let history = read_kv_history(recorded_dir().join("c10-bad.txt")).unwrap();
    let (result, info) = check_operations_verbose(KvModel, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    let html = info.to_html();
    parse_html(&html);
    let page = PageData::of(&html);
    assert_eq!(page.parts.iter().map(|p| p.ops.len()).sum::<usize>(), 405);
    // One operation to blame in each illegal partition.
    let illegal = info
        .partition_results()
        .iter()
        .filter(|(_, r)| *r == CheckResult::Illegal)
        .count();
    let culprits = page
        .parts
        .iter()
        .filter(|p| p.prefixes[p.best].culprit.is_some())
        .count();
    assert!(illegal > 1);
    assert_eq!(culprits, illegal);
}

#[test]
fn the_page_holds_every_prefix_the_check_kept_with_its_states() {
    for name in ["c10-bad", "c50-bad", "c10-ok"] {
        let history = read_kv_history(recorded_dir().join(format!("{name}.txt"))).unwrap();
        let (_, info) = check_operations_verbose(KvModel, history.clone(), None).unwrap();
        let page = PageData::of(&info.to_html());
        // The page's partitions are sorted failing first: match them by name.
        let mut expected: Vec<Vec<Vec<String>>> = info
            .partial_linearizations()
            .iter()
            .map(|prefixes| {
                let mut described: Vec<Vec<String>> = prefixes
                    .iter()
                    .map(|p| p.iter().map(|&i| describe(&history[i])).collect())
                    .collect();
                described.sort();
                described
            })
            .collect();
        let mut found: Vec<Vec<Vec<String>>> = page
            .parts
            .iter()
            .map(|part| {
                let mut described: Vec<Vec<String>> = part
                    .prefixes
                    .iter()
                    .filter(|p| !p.ops.is_empty())
                    .map(|p| {
                        // Each state is the model's, after each operation.
                        let mut state = KvModel.init();
                        for (i, &op) in p.ops.iter().enumerate() {
                            let o = &part.ops[op];
                            let op = history
                                .iter()
                                .find(|h| describe(h) == o.text && h.call.to_string() == o.call)
                                .unwrap();
                            match KvModel.step(&state, &op.input, op.output.as_ref()) {
                                Step::Illegal => panic!("{name}: an illegal prefix"),
                                Step::Unchanged => {}
                                Step::Changed(next) => state = next,
                            }
                            assert_eq!(p.states[i + 1], KvModel.describe_state(&state));
                        }
                        p.ops.iter().map(|&op| part.ops[op].text.clone()).collect()
                    })
                    .collect();
                described.sort();
                described
            })
            .collect();
        expected.sort();
        found.sort();
        assert_eq!(found, expected, "{name}");
    }
}

fn describe(op: &KvOperation) -> String {
    KvModel.describe_operation(&op.input, op.output.as_ref())
}

#[test]
fn the_page_of_a_large_illegal_history_stays_small() {
    // Lab 3's longest histories: clients appending to their keys for long,
    // so that values and the gets that read them grow long; the read that
    // fails is late, so the longest prefix is most of its key's history.
    // Every state and every get's value written out whole, the page grew
    // with the square of the history (1.1 GB for a lab 3 failure).
    let history = generate(
        Spec {
            seed: 5,
            clients: 3,
            ops_per_client: 1000,
            keys: 1,
            latency: 3,
        },
        Bug::LateStaleRead,
    );
    let ops = history.len();
    let edn = linearizability::format_kv_history(&history).len();
    let (result, info) =
        check_operations_verbose(KvModel, history, Some(Duration::from_secs(60))).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    let prefix = info.partial_linearizations()[0][0].len();
    let html = info.to_html();
    println!(
        "{ops} operations ({edn} bytes as EDN), longest prefix of key '0' {prefix}: \
         page of {} bytes",
        html.len()
    );
    assert!(
        ops >= 3000 && prefix > 1000,
        "{ops} operations, prefix {prefix}"
    );
    assert!(edn > 5 << 20, "the history itself is larger than the bound");
    assert!(
        html.len() < 5 << 20,
        "the page has {} bytes, for {ops} operations",
        html.len()
    );
    let page = PageData::of(&html);
    let longest = &page.parts[0].prefixes[page.parts[0].best];
    assert_eq!(longest.ops.len(), prefix);
    assert!(longest.states.last().unwrap().len() > 3000);
}

#[test]
fn a_directory_keeps_the_newest_pages_only() {
    let dir = std::env::temp_dir().join(format!("linearizability-cap-{}", std::process::id()));
    let history = vec![Op::put(0, "k", "a", 0, 10), Op::get(1, "k", "", 20, 30)];
    let (_, info) = check_operations_verbose(KvModel, history, None).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("dstest.log");
    std::fs::write(&other, "a log").unwrap();
    let mut written: Vec<PathBuf> = Vec::new();
    for _ in 0..5 {
        written.push(info.write_html_in(&dir, 3).unwrap());
        // Distinct modification times, oldest first.
        labrt::time::sleep(Duration::from_millis(20));
    }
    let mut left: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &other)
        .collect();
    left.sort();
    let mut newest = written[2..].to_vec();
    newest.sort();
    assert_eq!(left, newest, "the two oldest pages are gone");
    assert!(other.exists(), "only pages are removed");
    let refused = info.write_html_in(&dir, 0).unwrap_err();
    assert!(refused.to_string().contains("LAB_HTML_MAX=0"), "{refused}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_operation_without_a_reply_shows_as_such() {
    let history = vec![
        Op::put(0, "k", "a", 0, 10).no_reply(),
        Op::get(1, "k", "a", 20, 30),
        Op::get(2, "k", "", 40, 50),
    ];
    let (result, info) = check_operations_verbose(KvModel, history, None).unwrap();
    assert_eq!(result, CheckResult::Illegal);
    let html = info.to_html();
    assert!(!html.contains(&u64::MAX.to_string()));
    let page = PageData::of(&html);
    let put = &page.parts[0].ops[0];
    assert_eq!(
        (put.text.as_str(), put.ret.as_deref()),
        ("put('k', 'a')", None)
    );
}

#[test]
fn texts_stored_as_changes_survive_any_characters() {
    // States and descriptions are stored as changes counted in UTF-16
    // units, as the page's script counts them.
    // (Long enough that storing a change saves something.)
    let long = "é😀".repeat(100);
    let v = |tail: &str| format!("{long}{tail}");
    let history = vec![
        Op::put(0, "k", &long, 0, 10),
        Op::append(0, "k", "😀x", 20, 30),
        Op::append(0, "k", "ÿ€", 40, 50),
        Op::get(1, "k", &v("😀xÿ€"), 60, 70),
        Op::get(1, "k", &v("😀xÿ€"), 80, 90),
        Op::get(1, "k", &v("😀x"), 100, 110),
    ];
    let (_, info) = check_operations_verbose(KvModel, history.clone(), None).unwrap();
    let html = info.to_html();
    let page = PageData::of(&html);
    let part = &page.parts[0];
    let texts: Vec<&str> = part.ops.iter().map(|o| o.text.as_str()).collect();
    let expected: Vec<String> = history.iter().map(describe).collect();
    assert_eq!(texts, expected);
    let best = &part.prefixes[part.best];
    let quoted = |s: &str| format!("'{s}'");
    assert_eq!(
        best.states,
        [
            quoted(""),
            quoted(&long),
            quoted(&v("😀x")),
            quoted(&v("😀xÿ€")),
            quoted(&v("😀xÿ€")),
            quoted(&v("😀xÿ€"))
        ]
    );
    assert_eq!(
        html.matches(&long).count(),
        3,
        "the long value is whole in the put, its state and the first get; the rest are changes"
    );
}

/// The page's data (see html.rs), resolved as its script resolves it.
struct PageData {
    parts: Vec<PagePart>,
}

struct PagePart {
    verdict: String,
    ops: Vec<PageOp>,
    prefixes: Vec<PagePrefix>,
    best: usize,
}

struct PageOp {
    text: String,
    call: String,
    ret: Option<String>,
}

struct PagePrefix {
    ops: Vec<usize>,
    /// The initial state, then the state after each operation.
    states: Vec<String>,
    next: Vec<(usize, bool)>,
    culprit: Option<usize>,
}

impl PageData {
    fn of(html: &str) -> PageData {
        let start = "<script type=\"application/json\" id=\"data\">";
        let json = &html[html.find(start).expect("the data") + start.len()..];
        let json = &json[..json.find("</script>").unwrap()];
        let data: Value = serde_json::from_str(json).unwrap();
        let mut texts: Vec<String> = Vec::new();
        for t in data["texts"].as_array().unwrap() {
            let text = match t {
                Value::String(s) => s.clone(),
                Value::Array(change) => {
                    let base: Vec<u16> = texts[n(&change[0])].encode_utf16().collect();
                    let (head, tail) = (n(&change[1]), n(&change[2]));
                    let mut units = base[..head].to_vec();
                    units.extend(change[3].as_str().unwrap().encode_utf16());
                    units.extend(&base[base.len() - tail..]);
                    String::from_utf16(&units).unwrap()
                }
                other => panic!("a text is {other}"),
            };
            texts.push(text);
        }
        let parts = data["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|part| {
                let ops = part["ops"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| PageOp {
                        text: texts[n(&o[3])].clone(),
                        call: o[4].as_str().unwrap().to_string(),
                        ret: o[5].as_str().map(str::to_string),
                    })
                    .collect();
                let mut prefixes: Vec<PagePrefix> = Vec::new();
                for p in part["pre"].as_array().unwrap() {
                    let shared = n(&p["l"]);
                    let (mut ops, mut states) = match p["b"].as_i64().unwrap() {
                        -1 => (vec![], vec![texts[n(&part["init"])].clone()]),
                        b => {
                            let base = &prefixes[b as usize];
                            (base.ops[..shared].to_vec(), base.states[..=shared].to_vec())
                        }
                    };
                    ops.extend(p["t"].as_array().unwrap().iter().map(n));
                    states.extend(
                        p["s"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| texts[n(s)].clone()),
                    );
                    let next = p["n"].as_array().unwrap();
                    prefixes.push(PagePrefix {
                        ops,
                        states,
                        next: next.iter().map(|x| (n(&x[0]), n(&x[1]) == 1)).collect(),
                        culprit: usize::try_from(p["c"].as_i64().unwrap()).ok(),
                    });
                }
                PagePart {
                    verdict: part["v"].as_str().unwrap().to_string(),
                    ops,
                    prefixes,
                    best: n(&part["best"]),
                }
            })
            .collect();
        PageData { parts }
    }
}

fn n(v: &Value) -> usize {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a number")) as usize
}

/// A strict check that `html` is well formed: a doctype, `html` > `head` +
/// `body`, every element closed in order (void elements and `/>` aside),
/// attributes quoted, `script` and `style` raw text. Panics otherwise.
/// Returns the text outside tags (and outside script and style), entities
/// decoded.
fn parse_html(html: &str) -> String {
    const VOID: [&str; 5] = ["meta", "br", "img", "input", "link"];
    let rest = html
        .strip_prefix("<!DOCTYPE html>")
        .expect("a doctype first");
    let mut stack: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let bytes = rest.as_bytes();
    while i < rest.len() {
        if bytes[i] != b'<' {
            let end = rest[i..].find('<').map_or(rest.len(), |j| i + j);
            text.push_str(&decode(&rest[i..end]));
            i = end;
            continue;
        }
        // A tag: find its end outside quoted attribute values.
        let mut j = i + 1;
        let mut quoted = false;
        while j < rest.len() && (quoted || bytes[j] != b'>') {
            if bytes[j] == b'"' {
                quoted = !quoted;
            }
            assert!(quoted || bytes[j] != b'<', "'<' inside a tag at byte {j}");
            j += 1;
        }
        assert!(j < rest.len(), "unclosed tag at byte {i}");
        let tag = &rest[i + 1..j];
        i = j + 1;
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "a tag without a name: <{tag}>");
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        seen.push(name.clone());
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let end = rest[i..]
                .find(&close)
                .unwrap_or_else(|| panic!("unclosed <{name}>"));
            i += end + close.len();
            continue;
        }
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    let top: Vec<&str> = seen.iter().map(String::as_str).take(3).collect();
    assert_eq!(
        top,
        ["html", "head", "meta"],
        "the page starts with <html><head><meta>"
    );
    assert!(seen.iter().any(|t| t == "body"));
    text
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}
