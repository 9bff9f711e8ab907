//! The run timeline (`LAB_TRACE`) in a real browser: a simulated run of a
//! fixed seed writes its page, headless Chromium loads it with no network,
//! and the page must have run without a script error, drawn a lane per
//! peer, and shown a RequestVote the data holds. A failed run's page must
//! show the failure, and so must the page of a run the time limit ended.
//! With the `kvraft` feature, a lab 3 run's page must
//! show its servers' role bands, its clerk's operations as spans, and a
//! reply's `Debug` form in the data.
//!
//! The runs are this binary again (`child`), in a process of their own,
//! since `LAB_SIM`, `LAB_SEED` and `LAB_TRACE` are read once per process.
//! Without a browser (`chromium`, `chromium-browser`, `google-chrome`, or
//! `LAB_CHROMIUM`) the test says SKIPPED on stderr and passes, unless
//! `LAB_REQUIRE_BROWSER=1` (CI sets it when it found a browser).

#![allow(clippy::disallowed_methods)] // std::process and fs in a test driver

use std::path::{Path, PathBuf};
use std::process::Command;

use tester::raft::Config;

const SEED: &str = "7";

/// The run a page is made of; does nothing unless the driver started it.
#[test]
fn child() {
    let Ok(mode) = std::env::var("TIMELINE_CHILD") else {
        return;
    };
    #[cfg(feature = "kvraft")]
    if mode == "kv" {
        let cfg = tester::kvraft::Config::new(3, false, None);
        cfg.begin("timeline: a lab 3 run for the browser test");
        let mut ck = cfg.make_client(&cfg.all());
        tester::kvraft::put(&cfg, &mut ck, "k", "v", None, 0);
        tester::kvraft::append(&cfg, &mut ck, "k", "w", None, 0);
        tester::kvraft::check(&cfg, &mut ck, "k", "vw");
        // The role poller samples every 10 ms, and the three operations
        // take about 3 ms at the reference's pace: without this wait (in
        // virtual time), the run could end before a sample saw the leader
        // the operations went through, and there would be no band to find.
        labrt::time::sleep(labrt::time::Duration::from_millis(100));
        cfg.end();
        return;
    }
    let cfg = Config::<i64>::new(3, false, false);
    cfg.begin("timeline: a run for the browser test");
    cfg.check_one_leader();
    cfg.one(101, 3, false);
    cfg.disconnect(1);
    cfg.one(102, 2, false);
    cfg.connect(1);
    cfg.one(103, 3, true);
    if mode == "fail" {
        tester::fatal!("a failure on purpose, for the timeline");
    }
    if mode == "hang" {
        // Virtual time: the watchdog's 120 s pass at once.
        labrt::time::sleep(labrt::time::Duration::from_secs(1000));
    }
    cfg.end();
}

/// A test that hangs is ended by the tester's watchdog, which exits the
/// process without a panic: its page must be written all the same, with
/// the time limit as its failure. (No browser needed: the data says it.)
#[test]
fn a_hung_run_writes_its_timeline() {
    let dir = std::env::temp_dir().join(format!("raftlab-hung-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("hung.html");
    run_child("hang", &page, false);
    let html = std::fs::read_to_string(&page).expect("the hung run wrote no timeline");
    let failure = data_of(&html)["failure"][1].as_str().unwrap().to_string();
    assert!(
        failure.contains("test took longer than 120 seconds"),
        "{failure}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timeline_in_a_browser() {
    let Some(browser) = browser() else {
        let required = std::env::var("LAB_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(!required, "LAB_REQUIRE_BROWSER=1 but no chromium found");
        eprintln!("SKIPPED timeline_in_a_browser: no chromium (apt-get install -y chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("raftlab-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // A passed run.
    let page = dir.join("passed.html");
    run_child("pass", &page, true);
    let html = std::fs::read_to_string(&page).expect("the passed run wrote no timeline");
    let data = data_of(&html);
    let rpcs = data["rpcs"].as_array().unwrap();
    let methods = data["methods"].as_array().unwrap();
    let vote = methods
        .iter()
        .position(|m| m == "Raft.RequestVote")
        .expect("no RequestVote method");
    // The first RequestVote that was answered: drawn as an arrow.
    let known = rpcs
        .iter()
        .position(|r| r[3] == vote && r[5].as_i64() >= Some(0))
        .expect("no answered RequestVote in the run");
    let dom = dump_dom(&browser, &page, &dir);
    assert!(
        !dom.contains("data-error="),
        "a script error: {}",
        attr(&dom, "data-error")
    );
    assert!(
        dom.contains("data-status=\"ok\""),
        "the page did not finish drawing"
    );
    for lane in ["tester", "S0", "S1", "S2"] {
        assert!(
            dom.contains(&format!("class=\"lane\" data-lane=\"{lane}\"")),
            "no lane {lane}"
        );
    }
    let arrow = format!("data-id=\"{known}\" data-method=\"Raft.RequestVote\"");
    assert!(
        dom.contains(&arrow),
        "RPC #{known}, a RequestVote, is not drawn"
    );
    assert!(dom.contains("data-kind=\"apply\""), "no apply drawn");
    assert!(dom.contains("class=\"log\""), "no dlog line listed");
    eprintln!(
        "timeline_in_a_browser: {} bytes, {} RPCs, RequestVote #{known} drawn",
        html.len(),
        rpcs.len()
    );

    // A failed run: the page is written though the test panicked.
    let page = dir.join("failed.html");
    run_child("fail", &page, false);
    let html = std::fs::read_to_string(&page).expect("the failed run wrote no timeline");
    assert!(
        data_of(&html)["failure"][1]
            .as_str()
            .unwrap()
            .contains("on purpose")
    );
    let dom = dump_dom(&browser, &page, &dir);
    assert!(
        !dom.contains("data-error="),
        "a script error: {}",
        attr(&dom, "data-error")
    );
    assert!(dom.contains("FAILED at"), "the failure is not shown");
    assert!(
        dom.contains("class=\"failure-line\""),
        "the failure's time is not marked"
    );

    #[cfg(feature = "kvraft")]
    {
        // A lab 3 run: role bands from the servers' Rafts, the clerk's
        // operations as spans, replies in the data.
        let page = dir.join("kv.html");
        run_child("kv", &page, true);
        let html = std::fs::read_to_string(&page).expect("the lab 3 run wrote no timeline");
        let data = data_of(&html);
        assert!(
            !data["roles"].as_array().unwrap().is_empty(),
            "no roles polled in lab 3"
        );
        let texts = data["texts"].as_array().unwrap();
        let ops: Vec<&str> = data["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| texts[o[4].as_u64().unwrap() as usize].as_str().unwrap())
            .collect();
        assert_eq!(
            ops,
            [
                r#"Put("k", "v")"#,
                r#"Append("k", "w")"#,
                r#"Get("k") -> "vw""#
            ]
        );
        assert!(
            data["rpcs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r[7].as_i64().is_some_and(|t| t >= 0)),
            "no reply recorded"
        );
        let dom = dump_dom(&browser, &page, &dir);
        assert!(
            !dom.contains("data-error="),
            "a script error: {}",
            attr(&dom, "data-error")
        );
        assert!(
            dom.contains("data-status=\"ok\""),
            "the lab 3 page did not finish drawing"
        );
        for op in ["put", "append", "get"] {
            assert!(
                dom.contains(&format!("class=\"op\" data-op=\"{op}\"")),
                "no {op} span drawn"
            );
        }
        assert!(
            dom.contains("class=\"band leader\""),
            "no leader band drawn in lab 3"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn browser() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LAB_CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

fn run_child(mode: &str, page: &Path, should_pass: bool) {
    let _ = std::fs::remove_file(page);
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("TIMELINE_CHILD", mode)
        .env("LAB_SIM", "1")
        .env("LAB_SEED", SEED)
        .env("LAB_TRACE", page)
        .env_remove("LAB_TRACE_ONLY_FAILED")
        .output()
        .unwrap();
    assert_eq!(
        out.status.success(),
        should_pass,
        "the {mode} run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn data_of(html: &str) -> serde_json::Value {
    let start = html.find("id=\"data\">").expect("no data") + "id=\"data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).expect("the data is not JSON")
}

fn dump_dom(browser: &Path, page: &Path, dir: &Path) -> String {
    let profile = dir.join("profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--window-size=1400,900",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("cannot run the browser");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn attr(dom: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    dom.find(&key)
        .map(|i| {
            dom[i + key.len()..]
                .split('"')
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}
