//! The HTML visualization: one self-contained page (inline CSS, JS and
//! SVG; it fetches nothing) that shows each partition's operations on a
//! time line, one lane per client, with the longest linearizable prefix the
//! search found and the operations that cannot follow it.
//!
//! The page is complete without JavaScript: every operation box is in the
//! markup, marked for the longest prefix of its partition. The script adds
//! the interaction: a tooltip per operation (description, times, state), a
//! click that shows the longest prefix through that operation instead (as
//! porcupine's does), the path through the linearization points, and zoom.
//! The data it needs (prefixes, states, candidates) is embedded as JSON.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::check::{CheckResult, LinearizationInfo};
use crate::explain::{Analysis, count};
use crate::model::Model;
use crate::search::{NONE, Timeline};

impl<M: Model> LinearizationInfo<M> {
    /// The visualization, as a self-contained HTML page (see
    /// [`write_html_to_temp_dir`](Self::write_html_to_temp_dir)).
    pub fn to_html(&self) -> String {
        let checker = &self.checker;
        let mut states = StringTable::default();
        let mut sections = String::new();
        let mut data = String::from("{\"parts\":[");
        // Failing partitions first, then undecided ones, then the rest.
        let mut order: Vec<usize> = (0..self.results.len()).collect();
        order.sort_by_key(|&p| match self.results[p].0 {
            CheckResult::Illegal => 0,
            CheckResult::Unknown => 1,
            CheckResult::Ok => 2,
        });
        for (i, &p) in order.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            self.render_partition(p, &mut sections, &mut data, &mut states);
        }
        data.push_str("],\"states\":[");
        for (i, state) in states.strings.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            json_string(&mut data, state);
        }
        data.push_str("]}");

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
        let mut page = String::with_capacity(sections.len() + data.len() + 16_384);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Linearizability check: {verdict}</title>\n<style>{CSS}</style>\n</head>\n\
             <body>\n<header>\n<h1>History <span class=\"verdict {vclass}\">{verdict}</span></h1>\n\
             <p>{ops} by {clients}, in {parts}: {illegal} not linearizable, {unknown} undecided, \
             {ok} linearizable.{first_bad}</p>\n\
             <nav>{chips}</nav>\n</header>\n{LEGEND}\n<main>\n{sections}</main>\n\
             <div id=\"tip\" hidden></div>\n\
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

    /// Appends partition `p`'s section to `html` and its data to `json`.
    fn render_partition(
        &self,
        p: usize,
        html: &mut String,
        json: &mut String,
        states: &mut StringTable,
    ) {
        let checker = &self.checker;
        let (result, prefixes) = &self.results[p];
        let ops = checker.ops(p);
        let timeline = Timeline::new(&ops);
        let lanes: Vec<usize> = {
            let ids: BTreeSet<usize> = ops.iter().map(|o| o.client_id).collect();
            ids.into_iter().collect()
        };
        let lane_of: HashMap<usize, usize> =
            lanes.iter().enumerate().map(|(l, &c)| (c, l)).collect();
        let describe = |op: usize| {
            checker
                .model
                .describe_operation(&ops[op].input, ops[op].output.as_ref())
        };

        // The prefixes to offer, with an empty one if the search kept none
        // (it could not even place a first operation).
        let mut kept: Vec<&[u32]> = prefixes.prefixes.iter().map(Vec::as_slice).collect();
        if kept.is_empty() {
            kept.push(&[]);
        }
        let best = (0..kept.len()).max_by_key(|&k| kept[k].len()).unwrap_or(0);
        let analyses: Vec<Analysis> = kept
            .iter()
            .map(|prefix| Analysis::new(&checker.model, &ops, &timeline, prefix))
            .collect();
        // Only a failing partition's prefixes are dead ends with someone to
        // blame; an undecided one's search was merely stopped.
        let blamed = |analysis: &Analysis| match result {
            CheckResult::Illegal => analysis.culprit(&timeline).map(|(op, _)| op),
            CheckResult::Ok | CheckResult::Unknown => None,
        };

        // Data for the script.
        let _ = write!(json, "{{\"v\":\"{}\",\"ops\":[", class_of(*result));
        for (i, o) in ops.iter().enumerate() {
            let _ = write!(
                json,
                "{}[{},{},{},",
                if i > 0 { "," } else { "" },
                o.client_id,
                timeline.call_pos[i],
                timeline.ret_pos[i]
            );
            json_string(json, &describe(i));
            let _ = write!(json, ",\"{}\",\"{}\"]", o.call, o.ret);
        }
        json.push_str("],\"pre\":[");
        for (k, (prefix, analysis)) in kept.iter().zip(&analyses).enumerate() {
            let state_ids: Vec<String> = analysis
                .states
                .iter()
                .map(|s| states.id(s).to_string())
                .collect();
            let next: Vec<String> = analysis
                .next
                .iter()
                .map(|&(op, legal)| format!("[{op},{}]", u8::from(legal)))
                .collect();
            let culprit = blamed(analysis).map_or(-1, i64::from);
            let _ = write!(
                json,
                "{}{{\"o\":[{}],\"s\":[{}],\"n\":[{}],\"c\":{culprit}}}",
                if k > 0 { "," } else { "" },
                join(prefix.iter()),
                state_ids.join(","),
                next.join(",")
            );
        }
        let longest = (0..ops.len()).map(|op| match prefixes.longest.get(op) {
            Some(&k) if k != NONE => i64::from(k),
            _ => -1,
        });
        let _ = write!(json, "],\"lo\":[{}],\"best\":{best}}}", join(longest));

        // The static section, marked for the best prefix.
        let analysis = &analyses[best];
        let mut class = vec!["out"; ops.len()];
        let mut number = vec![0; ops.len()];
        for (i, &op) in kept[best].iter().enumerate() {
            class[op as usize] = "in";
            number[op as usize] = i + 1;
        }
        for &(op, legal) in &analysis.next {
            class[op as usize] = if legal { "next" } else { "bad" };
        }
        let culprit = blamed(analysis).map(|op| op as usize);
        let name = checker
            .model
            .describe_partition(&checker.partitions[p].name);
        let mut why = String::new();
        self.explain_result(&mut why, p);
        let _ = write!(
            html,
            "<details class=\"part\" id=\"p{p}\" data-p=\"{p}\"{open}>\n<summary><span \
             class=\"name\">{name}</span> <span class=\"verdict {vclass}\">{verdict}</span> \
             <span class=\"count\">{n}, {clients}</span></summary>\n{why}\
             <p class=\"status\"></p>\n<div class=\"chart\" style=\"--lanes:{c};--events:{e}\">\n\
             <div class=\"labels\">",
            open = if *result == CheckResult::Ok {
                ""
            } else {
                " open"
            },
            name = esc(&name),
            vclass = class_of(*result),
            verdict = verdict_text(*result),
            n = count(ops.len(), "operation"),
            clients = count(lanes.len(), "client"),
            c = lanes.len(),
            e = 2 * ops.len(),
            why = if why.is_empty() {
                String::new()
            } else {
                format!("<pre class=\"why\">{}</pre>\n", esc(&why))
            },
        );
        for client in &lanes {
            let _ = write!(html, "<div>client {client}</div>");
        }
        html.push_str("</div>\n<div class=\"scroll\"><div class=\"track\">\n");
        for (i, o) in ops.iter().enumerate() {
            let description = esc(&describe(i));
            let _ = writeln!(
                html,
                "<div class=\"op {}{}\" data-op=\"{i}\" style=\"--l:{};--s:{};--w:{}\" \
                 title=\"{description}&#10;client {}, called {}, returned {}\"><i>{}</i>\
                 <span>{description}</span></div>",
                class[i],
                if culprit == Some(i) { " culprit" } else { "" },
                lane_of[&o.client_id],
                timeline.call_pos[i],
                timeline.ret_pos[i] - timeline.call_pos[i] + 1,
                o.client_id,
                o.call,
                o.ret,
                if number[i] > 0 {
                    number[i].to_string()
                } else {
                    String::new()
                },
            );
        }
        html.push_str("<svg class=\"path\"></svg>\n</div></div>\n</div>\n</details>\n");
    }
}

/// Each distinct string once, for the states in the JSON data.
#[derive(Default)]
struct StringTable {
    strings: Vec<String>,
    ids: HashMap<String, usize>,
}

impl StringTable {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), self.strings.len() - 1);
        self.strings.len() - 1
    }
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

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|x| x.to_string()).collect::<Vec<_>>().join(",")
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

/// Appends `text` as a JSON string. `<`, `>` and `&` are escaped too, so
/// the data can never close its `<script>` element.
fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const LEGEND: &str = r##"<section class="legend">
<div class="keys">
<span><b class="sw in"><i>7</i></b>in the shown linearizable prefix; the number is its place in the order</span>
<span><b class="sw bad"></b>could come next, but is illegal after the prefix</span>
<span><b class="sw bad culprit"></b>the first operation that cannot follow the prefix</span>
<span><b class="sw next"></b>legal after the prefix; in a failing partition every continuation fails later</span>
<span><b class="sw out"></b>outside the prefix, not a candidate yet</span>
<span><svg width="34" height="14"><polyline points="2,11 17,3 32,11" class="line"/><circle cx="17" cy="3" r="3" class="dot"/></svg>linearization points, in order</span>
</div>
<p>One lane per client; time runs left to right, one step per event (a call or a return), so the scale is the order of events, not seconds. Hover an operation for its details; click it to show the longest linearizable prefix that contains it. <span class="zoom">Zoom <button type="button" data-zoom="0.5">−</button><button type="button" data-zoom="2">+</button></span></p>
</section>"##;

const CSS: &str = r##"
:root { --step: 26px; --lane: 30px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; }
body { margin: 0; background: #f6f7f9; }
header, .legend, main { margin: 0 auto; padding: 12px 24px; }
header { background: #fff; border-bottom: 1px solid #dde1e7; }
h1 { font-size: 20px; margin: 4px 0 6px; }
.verdict { padding: 1px 8px; border-radius: 10px; font-size: 0.85em; font-weight: 600; }
.verdict.illegal { background: #fde2e1; color: #a4161a; }
.verdict.unknown { background: #fff1cc; color: #7a5300; }
.verdict.ok { background: #dcf3e1; color: #1d6b33; }
nav { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { padding: 1px 8px; border-radius: 10px; text-decoration: none; font-size: 12px; border: 1px solid; }
.chip.illegal { color: #a4161a; border-color: #e5a3a3; background: #fdf0f0; }
.chip.unknown { color: #7a5300; border-color: #e6c67a; background: #fff8e6; }
.chip.ok { color: #1d6b33; border-color: #9fd3ac; background: #f1faf3; }
.legend { font-size: 13px; color: #444c5a; }
.legend .keys { display: flex; flex-wrap: wrap; gap: 6px 18px; }
.legend .keys span { display: inline-flex; align-items: center; gap: 6px; }
.legend p { margin: 8px 0 0; }
.sw { display: inline-block; width: 30px; height: 16px; border-radius: 3px; border: 1px solid; position: relative; }
.zoom button { font: inherit; width: 26px; margin-left: 4px; cursor: pointer; }
.part { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; margin: 0 0 14px; padding: 8px 12px; }
.part > summary { cursor: pointer; font-weight: 600; }
.part .count { font-weight: 400; color: #687184; font-size: 13px; }
.why { background: #fbfbfc; border: 1px solid #e6e8ec; border-radius: 4px; padding: 8px 10px; font-size: 12px; overflow-x: auto; white-space: pre; }
.status { color: #444c5a; font-size: 13px; margin: 6px 0; }
.status button { font: inherit; font-size: 12px; margin-left: 8px; cursor: pointer; }
.chart { display: flex; border: 1px solid #e6e8ec; border-radius: 4px; }
.labels { flex: none; width: 84px; border-right: 1px solid #e6e8ec; background: #fafbfc; }
.labels div { height: var(--lane); line-height: var(--lane); padding-left: 8px; font-size: 12px; color: #566; box-sizing: border-box; }
.labels div:nth-child(even) { background: #f3f5f8; }
.scroll { overflow-x: auto; flex: 1; }
.track { position: relative; width: calc(var(--step) * var(--events)); height: calc(var(--lane) * var(--lanes));
  background: repeating-linear-gradient(#fff 0 var(--lane), #f3f5f8 var(--lane) calc(2 * var(--lane))); }
.op { position: absolute; box-sizing: border-box; top: calc(var(--lane) * var(--l) + 4px); height: calc(var(--lane) - 8px);
  left: calc(var(--step) * var(--s) + 1px); width: calc(var(--step) * var(--w) - 2px); border: 1px solid; border-radius: 3px;
  font: 11px/20px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: nowrap; overflow: hidden; cursor: pointer; display: flex; }
.op span { overflow: hidden; text-overflow: ellipsis; padding: 0 3px; }
.op i, .sw i { font-style: normal; font-size: 10px; font-weight: 700; padding: 0 2px 0 3px; color: #1d6b33; }
.op i:empty { display: none; }
.in { background: #dcf3e1; border-color: #4fa866 !important; }
.bad { background: #fde2e1; border-color: #d64545 !important; color: #7d1013; }
.culprit { border-width: 2px; box-shadow: 0 0 0 2px #f3b0b0; font-weight: 700; }
.next { background: #fff1cc; border-color: #d9a21e !important; }
.out { background: #eef0f3; border-color: #b7bdc8 !important; color: #5d6573; }
.op.sel { outline: 2px solid #2f6fdf; outline-offset: 1px; }
svg.path { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; overflow: visible; }
.line { fill: none; stroke: #2f6fdf; stroke-width: 1.5; stroke-opacity: 0.7; }
.dot { fill: #2f6fdf; }
#tip { position: fixed; z-index: 10; max-width: 560px; background: #1d2330; color: #f2f4f7; border-radius: 5px; padding: 7px 10px;
  font-size: 12px; box-shadow: 0 4px 14px rgba(0,0,0,.25); pointer-events: none; }
#tip b { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
#tip div { margin-top: 3px; word-break: break-all; }
"##;

const SCRIPT: &str = r##"
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const tip = document.getElementById("tip");
  const lane = 30;
  let step = 26;
  const chosen = {};
  const boxes = {};
  document.querySelectorAll("details.part").forEach(function (part) {
    const p = +part.dataset.p;
    boxes[p] = [];
    part.querySelectorAll(".op").forEach(function (el) {
      boxes[p][+el.dataset.op] = el;
      el.removeAttribute("title");
    });
  });
  const partData = {};
  document.querySelectorAll("details.part").forEach(function (part, i) { partData[+part.dataset.p] = data.parts[i]; });

  function state(id) { return data.states[id]; }

  function show(p, k, selected) {
    const part = partData[p], pre = part.pre[k], els = boxes[p];
    chosen[p] = { k: k, sel: selected };
    els.forEach(function (el) { el.className = "op out"; el.firstChild.textContent = ""; });
    pre.o.forEach(function (op, i) { els[op].className = "op in"; els[op].firstChild.textContent = i + 1; });
    pre.n.forEach(function (n) { els[n[0]].className = "op " + (n[1] ? "next" : "bad"); });
    if (pre.c >= 0) els[pre.c].classList.add("culprit");
    if (selected !== undefined) els[selected].classList.add("sel");
    const status = document.querySelector("#p" + p + " .status");
    const bad = pre.n.filter(function (n) { return !n[1]; }).length;
    let text = "Showing " + (k === part.best ? "the longest" : "a") + " linearizable prefix: " + pre.o.length + " of " +
      part.ops.length + " operations, leaving state " + state(pre.s[pre.s.length - 1]) + ".";
    if (pre.n.length > 0) text += " Could come next: " + pre.n.length + " operation" + (pre.n.length === 1 ? "" : "s") +
      ", " + bad + " of them illegal after it (red).";
    status.textContent = text;
    if (k !== part.best) {
      const back = document.createElement("button");
      back.type = "button";
      back.textContent = "show the longest";
      back.onclick = function () { show(p, part.best); };
      status.appendChild(back);
    }
    draw(p);
  }

  function draw(p) {
    const part = partData[p], pre = part.pre[chosen[p].k];
    const svg = document.querySelector("#p" + p + " svg.path");
    const lanes = [...new Set(part.ops.map(function (o) { return o[0]; }))].sort(function (a, b) { return a - b; });
    let at = -1, points = [], dots = "";
    pre.o.forEach(function (op) {
      const o = part.ops[op];
      at = Math.min(Math.max(at + 0.3, o[1] + 0.5), o[2] + 0.5);
      // Along the boxes' lower edge, clear of their labels.
      const x = (at * step).toFixed(1), y = lanes.indexOf(o[0]) * lane + lane - 6;
      points.push(x + "," + y);
      dots += '<circle class="dot" r="2.5" cx="' + x + '" cy="' + y + '"/>';
    });
    svg.innerHTML = '<polyline class="line" points="' + points.join(" ") + '"/>' + dots;
  }

  function tipFor(p, op) {
    const part = partData[p], o = part.ops[op], pre = part.pre[chosen[p].k];
    const lines = [];
    const place = pre.o.indexOf(op);
    if (place >= 0) {
      lines.push("#" + (place + 1) + " in the shown prefix; state after it: " + state(pre.s[place + 1]));
    } else {
      const next = pre.n.find(function (n) { return n[0] === op; });
      const after = state(pre.s[pre.s.length - 1]);
      if (next && !next[1]) lines.push("Illegal after the shown prefix (state " + after + ")" + (pre.c === op ? "; the first operation that cannot follow it." : "."));
      else if (next) lines.push("Legal after the shown prefix (state " + after + ")" + (part.v === "illegal" ? ", but every continuation fails later." : "."));
      else lines.push("Outside the shown prefix.");
    }
    const k = part.lo[op];
    lines.push(k >= 0 ? "Longest linearizable prefix through it: " + part.pre[k].o.length + " operations (click to show)."
      : "Not part of any linearizable prefix the search kept.");
    tip.replaceChildren();
    const title = document.createElement("b");
    title.textContent = o[3];
    tip.appendChild(title);
    ["client " + o[0] + " · called " + o[4] + " · returned " + o[5]].concat(lines).forEach(function (text) {
      const div = document.createElement("div");
      div.textContent = text;
      tip.appendChild(div);
    });
  }

  document.addEventListener("mouseover", function (e) {
    const el = e.target.closest(".op");
    if (!el) { tip.hidden = true; return; }
    tipFor(+el.closest("details.part").dataset.p, +el.dataset.op);
    tip.hidden = false;
  });
  document.addEventListener("mousemove", function (e) {
    if (tip.hidden) return;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (e.clientY + 18 + h > window.innerHeight ? e.clientY - h - 10 : e.clientY + 18) + "px";
  });
  document.addEventListener("click", function (e) {
    const zoom = e.target.closest("[data-zoom]");
    if (zoom) {
      step = Math.max(2, Math.min(120, step * +zoom.dataset.zoom));
      document.documentElement.style.setProperty("--step", step + "px");
      Object.keys(chosen).forEach(function (p) { draw(+p); });
      return;
    }
    const el = e.target.closest(".op");
    if (!el) return;
    const p = +el.closest("details.part").dataset.p, op = +el.dataset.op, k = partData[p].lo[op];
    show(p, k >= 0 ? k : chosen[p].k, op);
    tipFor(p, op);
  });
  Object.keys(partData).forEach(function (p) { show(+p, partData[p].best); });
})();
"##;
