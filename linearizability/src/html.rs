//! The HTML visualization: one self-contained page (inline CSS, JS and
//! SVG; it fetches nothing) that shows each partition's operations on a
//! time line, one lane per client, with the longest linearizable prefix the
//! search found and the operations that cannot follow it.
//!
//! The markup holds the verdict and each partition's explanation in words
//! (all a reader without JavaScript gets); the script (`html.js`) draws
//! a partition's time line when it is opened (the failing ones are open),
//! with a tooltip per operation (description, times, state), a click that
//! shows the longest prefix through that operation instead (as porcupine's
//! does), the path through the linearization points, and zoom.
//!
//! What the script needs is embedded as JSON ([`Data`]), and must stay
//! about as large as the history, however long the history and however many
//! prefixes the search kept; a page that grew with the square of the
//! history was 1.1 GB for a lab 3 failure. So:
//!
//! * each distinct prefix is kept once, and only if it is some operation's
//!   longest (the search frees the others);
//! * prefixes are sorted, and each is stored as its part after the prefix
//!   before it (they share most of their beginnings);
//! * states and descriptions are stored as changes of an earlier text (a
//!   key's value after an append is the value before plus the appended
//!   bit), which the script resolves when it shows one;
//! * the model is replayed once along each stored part, not once per prefix.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::rc::Rc;

use serde::Serialize;

use crate::check::{CheckResult, LinearizationInfo};
use crate::explain::{Analysis, MAX_TEXT, count, replay_step};
use crate::model::Model;
use crate::search::{NONE, Timeline};

/// What the page's script reads.
#[derive(Serialize)]
struct Data {
    /// Texts longer than this are cut in the middle for display.
    max: usize,
    /// Every description and state, by number.
    texts: Vec<Text>,
    /// The partitions, in the order of their sections.
    parts: Vec<Part>,
}

/// A text, whole, or as a change of an earlier one: `(base, head, tail,
/// middle)` is the first `head` and the last `tail` UTF-16 units of text
/// `base` (JavaScript's string units) around `middle`.
#[derive(Serialize)]
#[serde(untagged)]
enum Text {
    Whole(String),
    Change(u32, usize, usize, String),
}

/// One partition.
#[derive(Serialize)]
struct Part {
    /// "illegal", "unknown" or "ok".
    v: &'static str,
    /// Each operation: client, positions of its call and return among the
    /// partition's events, description (a text), call time, return time
    /// (`None`: no reply). Times are strings: JavaScript's numbers are
    /// exact only to 2^53.
    ops: Vec<(usize, u32, u32, u32, String, Option<String>)>,
    /// The initial state (a text).
    init: u32,
    /// The prefixes kept, sorted.
    pre: Vec<Prefix>,
    /// For each operation, the longest prefix through it, or -1.
    lo: Vec<i64>,
    /// The longest prefix.
    best: usize,
}

/// One prefix: the first `l` operations of prefix `b` (the one before it,
/// or -1), then `t`.
#[derive(Serialize)]
struct Prefix {
    b: i64,
    l: usize,
    t: Vec<u32>,
    /// The state after each operation of `t` (texts).
    s: Vec<u32>,
    /// The operations that could come next, each with 1 if legal there.
    n: Vec<(u32, u8)>,
    /// The operation to blame, or -1.
    c: i64,
}

impl<M: Model> LinearizationInfo<M> {
    /// The visualization, as a self-contained HTML page (see
    /// [`write_html_to_output_dir`](Self::write_html_to_output_dir)).
    pub fn to_html(&self) -> String {
        let checker = &self.checker;
        let mut texts = Texts::default();
        let mut sections = String::new();
        // Failing partitions first, then undecided ones, then the rest.
        let mut order: Vec<usize> = (0..self.results.len()).collect();
        order.sort_by_key(|&p| match self.results[p].0 {
            CheckResult::Illegal => 0,
            CheckResult::Unknown => 1,
            CheckResult::Ok => 2,
        });
        let parts = order
            .iter()
            .map(|&p| self.render_partition(p, &mut sections, &mut texts))
            .collect();
        let data = Data {
            max: MAX_TEXT,
            texts: texts.texts,
            parts,
        };
        // `<` only occurs in strings, where `\u003c` means the same: the
        // data can never close its <script> element.
        let data = serde_json::to_string(&data)
            .expect("the page's data is plain")
            .replace('<', "\\u003c");

        let how_many = |r: CheckResult| self.results.iter().filter(|(x, _)| *x == r).count();
        let verdict = verdict_text(self.result());
        let first_bad = order
            .iter()
            .find(|&&p| self.results[p].0 != CheckResult::Ok)
            .map(|p| format!(" <a href=\"#p{p}\">Jump to the first problem.</a>"))
            .unwrap_or_default();
        let clients: BTreeSet<usize> = checker.history.iter().map(|o| o.client_id).collect();
        let mut chips = String::new();
        for &p in &order {
            let _ = write!(
                chips,
                "<a class=\"chip {}\" href=\"#p{p}\">{}</a>",
                class_of(self.results[p].0),
                esc(&checker
                    .model
                    .describe_partition(&checker.partitions[p].name))
            );
        }
        let mut page = String::with_capacity(sections.len() + data.len() + 32_768);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Linearizability check: {verdict}</title>\n<style>{CSS}</style>\n</head>\n\
             <body>\n<header>\n<h1>History <span class=\"verdict {vclass}\">{verdict}</span></h1>\n\
             <p>{ops} by {clients}, in {parts}: {illegal} not linearizable, {unknown} undecided, \
             {ok} linearizable.{first_bad}</p>\n\
             <nav>{chips}</nav>\n</header>\n{LEGEND}\n<main>\n<noscript><p>The time lines need \
             JavaScript; each partition's explanation below is complete without it.</p></noscript>\n\
             {sections}</main>\n<div id=\"tip\" hidden></div>\n\
             <script type=\"application/json\" id=\"data\">{data}</script>\n\
             <script>{SCRIPT}</script>\n</body>\n</html>\n",
            vclass = class_of(self.result()),
            ops = count(checker.history.len(), "operation"),
            clients = count(clients.len(), "client"),
            parts = count(checker.partitions.len(), "partition"),
            illegal = how_many(CheckResult::Illegal),
            unknown = how_many(CheckResult::Unknown),
            ok = how_many(CheckResult::Ok),
        );
        page
    }

    /// Appends partition `p`'s section to `html` and returns its data.
    fn render_partition(&self, p: usize, html: &mut String, texts: &mut Texts) -> Part {
        let checker = &self.checker;
        let model = &checker.model;
        let (result, prefixes) = &self.results[p];
        let ops = checker.ops(p);
        let timeline = Timeline::new(&ops);

        // Descriptions, each as a change of one of the few before it if
        // that is shorter (a get's value is mostly the previous get's).
        let mut recent: Vec<(u32, Rc<str>)> = Vec::new();
        let op_data = (0..ops.len())
            .map(|i| {
                let o = ops[i];
                let text: Rc<str> = model.describe_operation(&o.input, o.output.as_ref()).into();
                let id = texts.add(&text, &recent);
                if recent.len() == RECENT {
                    recent.remove(0);
                }
                recent.push((id, text));
                let ret = o.returned().map(|t| t.to_string());
                (
                    o.client_id,
                    timeline.call_pos[i],
                    timeline.ret_pos[i],
                    id,
                    o.call.to_string(),
                    ret,
                )
            })
            .collect();

        // The prefixes to show, sorted, with an empty one if the search kept
        // none (it could not even place a first operation).
        let mut kept: Vec<&[u32]> = prefixes.prefixes.iter().map(Vec::as_slice).collect();
        if kept.is_empty() {
            kept.push(&[]);
        }
        let mut sorted: Vec<usize> = (0..kept.len()).collect();
        sorted.sort_by_key(|&k| kept[k]);
        let mut rank = vec![0; kept.len()];
        for (r, &k) in sorted.iter().enumerate() {
            rank[k] = r;
        }

        // Replay them in that order: the states along the current prefix,
        // of which the next one keeps what it shares.
        struct Node<S> {
            state: Rc<S>,
            text: u32,
            described: Rc<str>,
        }
        let init = model.init();
        let described: Rc<str> = model.describe_state(&init).into();
        let mut path = vec![Node {
            text: texts.add(&described, &[]),
            state: Rc::new(init),
            described,
        }];
        let init = path[0].text;
        let mut pre: Vec<Prefix> = Vec::with_capacity(kept.len());
        for (r, &k) in sorted.iter().enumerate() {
            let prefix = kept[k];
            let shared = match r {
                0 => 0,
                _ => common_start(kept[sorted[r - 1]], prefix),
            };
            path.truncate(shared + 1);
            let mut states = Vec::with_capacity(prefix.len() - shared);
            for &op in &prefix[shared..] {
                let last = path.last().expect("the initial state stays");
                let node = match replay_step(model, &last.state, ops[op as usize]) {
                    None => Node {
                        state: Rc::clone(&last.state),
                        text: last.text,
                        described: Rc::clone(&last.described),
                    },
                    Some(next) => {
                        let described: Rc<str> = model.describe_state(&next).into();
                        Node {
                            text: texts.add(&described, &[(last.text, Rc::clone(&last.described))]),
                            state: Rc::new(next),
                            described,
                        }
                    }
                };
                states.push(node.text);
                path.push(node);
            }
            let state = &path.last().expect("the initial state stays").state;
            let analysis = Analysis::new(model, &ops, &timeline, prefix, state);
            // Only a failing partition's prefixes are dead ends with someone
            // to blame; an undecided one's search was merely stopped.
            let culprit = match result {
                CheckResult::Illegal => analysis.culprit(&timeline).map(|(op, _)| op),
                CheckResult::Ok | CheckResult::Unknown => None,
            };
            pre.push(Prefix {
                b: r as i64 - 1,
                l: shared,
                t: prefix[shared..].to_vec(),
                s: states,
                n: analysis
                    .next
                    .iter()
                    .map(|&(op, legal)| (op, u8::from(legal)))
                    .collect(),
                c: culprit.map_or(-1, i64::from),
            });
        }
        let best = (0..kept.len()).max_by_key(|&k| kept[k].len()).unwrap_or(0);
        let lo = (0..ops.len())
            .map(|op| match prefixes.longest.get(op) {
                Some(&k) if k != NONE => rank[k as usize] as i64,
                _ => -1,
            })
            .collect();

        let clients: BTreeSet<usize> = ops.iter().map(|o| o.client_id).collect();
        let mut why = String::new();
        self.explain_result(&mut why, p);
        let _ = write!(
            html,
            "<details class=\"part\" id=\"p{p}\" data-p=\"{p}\"{open}>\n<summary><span \
             class=\"name\">{name}</span> <span class=\"verdict {vclass}\">{verdict}</span> \
             <span class=\"count\">{n}, {clients}</span></summary>\n{why}\
             <p class=\"status\"></p>\n<div class=\"chart\"></div>\n</details>\n",
            open = if *result == CheckResult::Ok {
                ""
            } else {
                " open"
            },
            name = esc(&model.describe_partition(&checker.partitions[p].name)),
            vclass = class_of(*result),
            verdict = verdict_text(*result),
            n = count(ops.len(), "operation"),
            clients = count(clients.len(), "client"),
            why = if why.is_empty() {
                String::new()
            } else {
                format!("<pre class=\"why\">{}</pre>\n", esc(&why))
            },
        );
        Part {
            v: class_of(*result),
            ops: op_data,
            init,
            pre,
            lo,
            best: rank[best],
        }
    }
}

/// How many of the descriptions before it a description may be stored as a
/// change of (a get's is mostly the last get's, with appends in between).
const RECENT: usize = 4;

/// The page's texts, stored as changes where that is shorter.
#[derive(Default)]
struct Texts {
    texts: Vec<Text>,
}

impl Texts {
    /// Adds `text` and returns its number: whole, or as a change of the
    /// base (a number and its text) it shares most with, if that saves
    /// more than the change costs.
    fn add(&mut self, text: &str, bases: &[(u32, Rc<str>)]) -> u32 {
        let change = bases
            .iter()
            .map(|(id, base)| (*id, change(base, text)))
            .max_by_key(|(_, c)| text.len() - c.middle.len());
        self.texts.push(match change {
            Some((base, c)) if text.len() - c.middle.len() > 24 => {
                Text::Change(base, c.head, c.tail, c.middle.to_string())
            }
            _ => Text::Whole(text.to_string()),
        });
        (self.texts.len() - 1) as u32
    }
}

/// `text` as a change of `base`: the units (UTF-16, as JavaScript counts)
/// they share at the start, and after that at the end, and what is left of
/// `text` between.
struct Change<'a> {
    head: usize,
    tail: usize,
    middle: &'a str,
}

fn change<'a>(base: &str, text: &'a str) -> Change<'a> {
    let (mut head, mut head_bytes) = (0, 0);
    for (a, b) in base.chars().zip(text.chars()) {
        if a != b {
            break;
        }
        head += b.len_utf16();
        head_bytes += b.len_utf8();
    }
    // (The head is the same bytes in both.)
    let (base_rest, text_rest) = (&base[head_bytes..], &text[head_bytes..]);
    let (mut tail, mut tail_bytes) = (0, 0);
    for (a, b) in base_rest.chars().rev().zip(text_rest.chars().rev()) {
        if a != b {
            break;
        }
        tail += b.len_utf16();
        tail_bytes += b.len_utf8();
    }
    Change {
        head,
        tail,
        middle: &text_rest[..text_rest.len() - tail_bytes],
    }
}

/// How many operations two prefixes share at their start.
fn common_start(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn class_of(result: CheckResult) -> &'static str {
    match result {
        CheckResult::Ok => "ok",
        CheckResult::Illegal => "illegal",
        CheckResult::Unknown => "unknown",
    }
}

fn verdict_text(result: CheckResult) -> &'static str {
    match result {
        CheckResult::Ok => "linearizable",
        CheckResult::Illegal => "not linearizable",
        CheckResult::Unknown => "undecided",
    }
}

/// `text` escaped for HTML text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const LEGEND: &str = r##"<section class="legend">
<div class="keys">
<span><b class="sw in"><i>7</i></b>in the shown linearizable prefix; the number is its place in the order</span>
<span><b class="sw bad"></b>could come next, but is illegal after the prefix</span>
<span><b class="sw bad culprit"></b>the first operation that cannot follow the prefix</span>
<span><b class="sw next"></b>legal after the prefix; in a failing partition every continuation fails later</span>
<span><b class="sw out"></b>outside the prefix, not a candidate yet</span>
<span><b class="sw out noreply"></b>no reply: may take effect at any time after its call, or never</span>
<span><svg width="34" height="14"><polyline points="2,11 17,3 32,11" class="line"/><circle cx="17" cy="3" r="3" class="dot"/></svg>linearization points, in order</span>
</div>
<p>One lane per client; time runs left to right, one step per event (a call or a return), so the scale is the order of events, not seconds. Hover an operation for its details; click it to show the longest linearizable prefix that contains it. <span class="zoom">Zoom <button type="button" data-zoom="0.5">−</button><button type="button" data-zoom="2">+</button></span></p>
</section>"##;

const CSS: &str = include_str!("html.css");

const SCRIPT: &str = include_str!("html.js");
