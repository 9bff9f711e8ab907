// The timeline page's script (see tester/src/timeline.rs for the data).
// d3 gives the scales, the axis and the zoom; the drawing culls to the
// time in view, so that a run of tens of thousands of RPCs stays fluid.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const KINDS = ["start", "crash", "net", "submit", "apply", "snapshot", "note"];
  const FATES = ["no answer seen (lost, or the server crashed)", "answered",
    "unreachable (end disconnected)", "dropped by the test's faults", "held by the test's faults",
    "answered, but the network lost the reply (or delayed it past a crash)"];
  const LIMIT = 3000;         // RPC arrows drawn at most; beyond, a density strip
  const MARK_LIMIT = 4000;
  const LOG_LIMIT = 500;      // lines listed under the chart
  const SLOW_US = 200000;     // an answer later than this is marked slow
  const laneH = 54, top = 26, left = 110, right = 12;
  const ms = (us) => (us / 1000).toFixed(3) + " ms";
  const txt = (i) => D.texts[i];

  // Rows, sorted by time once.
  const byT = (a, b) => a[0] - b[0];
  const rpcs = D.rpcs.map((r, i) => ({ i, sent: r[0], from: r[1], to: r[2], m: r[3], args: r[4], ans: r[5], fate: r[6], reply: r[7], back: r[8] }))
    .sort((a, b) => a.sent - b.sent);
  const marks = D.marks.slice().sort(byT);
  const logs = D.logs.slice().sort(byT);
  const isHeartbeat = (r) => /AppendEntries/.test(D.methods[r.m]) && /\[\]/.test(txt(r.args));
  rpcs.forEach((r) => { r.hb = isHeartbeat(r); });
  let maxDur = 0;
  rpcs.forEach((r) => { if (r.ans >= 0) maxDur = Math.max(maxDur, r.ans - r.sent); });

  // Lanes: the tester's, each server's, the clerks' if anyone used it.
  const used = new Set([0]);
  rpcs.forEach((r) => { used.add(r.from); used.add(r.to); });
  marks.forEach((m) => used.add(m[1]));
  logs.forEach((l) => used.add(l[1]));
  D.roles.forEach((r) => used.add(r[1]));
  const ops = (D.ops || []).slice().sort(byT);
  ops.forEach((o) => used.add(o[2]));
  let maxOp = 0;
  ops.forEach((o) => { maxOp = Math.max(maxOp, o[1] - o[0]); });
  const OPS = ["get", "put", "append"];
  for (let i = 2; i < D.lanes.length; i++) used.add(i);
  const lanes = D.lanes.map((name, i) => ({ i, name })).filter((l) => used.has(l.i));

  // What the controls hide.
  const hidden = { lanes: new Set(), methods: new Set(), topics: new Set() };
  const opts = { collapse: true, logticks: true };

  // Header.
  document.getElementById("title").textContent = D.title;
  document.getElementById("meta").textContent =
    (D.sim ? "simulated run, LAB_SIM=1 " + D.env : "real-time run, " + D.env) +
    " · " + ms(D.end) + " · " + D.rpcs.length + " RPCs · " + D.logs.length + " log lines";
  const failEl = document.getElementById("failure");
  if (D.failure) {
    failEl.textContent = "FAILED at " + ms(D.failure[0]) + ": " + D.failure[1];
    failEl.title = "click: zoom to the failure";
  }
  const linksEl = document.getElementById("links");
  D.links.forEach((href) => {
    const a = document.createElement("a");
    a.href = href; a.textContent = "linearizability check: " + href;
    linksEl.appendChild(a); linksEl.appendChild(document.createTextNode(" "));
  });

  // Controls.
  const controls = document.getElementById("controls");
  function group(legend, items, set, name) {
    const fs = document.createElement("fieldset");
    const lg = document.createElement("legend"); lg.textContent = legend; fs.appendChild(lg);
    items.forEach(([key, label]) => {
      const l = document.createElement("label");
      const c = document.createElement("input");
      c.type = "checkbox"; c.checked = true; c.dataset[name] = key;
      c.onchange = () => { if (c.checked) set.delete(key); else set.add(key); redraw(); };
      l.appendChild(c); l.appendChild(document.createTextNode(label)); fs.appendChild(l);
    });
    controls.appendChild(fs);
  }
  function toggle(label, key) {
    const l = document.createElement("label");
    const c = document.createElement("input");
    c.type = "checkbox"; c.checked = opts[key];
    c.onchange = () => { opts[key] = c.checked; redraw(); };
    l.appendChild(c); l.appendChild(document.createTextNode(label)); controls.appendChild(l);
  }
  group("lanes", lanes.map((l) => [l.i, l.name]), hidden.lanes, "lane");
  group("RPCs", D.methods.map((m, i) => [i, m.replace(/^.*\./, "")]), hidden.methods, "method");
  group("dlog topics", D.topics.map((t, i) => [i, t]), hidden.topics, "topic");
  toggle("collapse heartbeats", "collapse");
  toggle("log ticks", "logticks");
  const reset = document.createElement("button");
  reset.textContent = "whole run"; controls.appendChild(reset);
  const status = document.getElementById("status");

  // Chart.
  const chart = d3.select("#chart");
  const svg = chart.append("svg");
  const defs = svg.append("defs");
  const color = d3.scaleOrdinal(d3.schemeCategory10).domain(D.methods.map((_, i) => i));
  D.methods.forEach((_, i) => {
    defs.append("marker").attr("id", "arrow" + i).attr("viewBox", "0 0 10 10").attr("refX", 9).attr("refY", 5)
      .attr("markerWidth", 6).attr("markerHeight", 6).attr("orient", "auto-start-reverse")
      .append("path").attr("d", "M 0 0 L 10 5 L 0 10 z").attr("fill", color(i));
  });
  const termColor = (t) => d3.schemeTableau10[t % 10];
  const x = d3.scaleLinear().domain([0, Math.max(D.end, 1)]);
  let xz = x;
  const gAxis = svg.append("g").attr("class", "axis");
  const gLanes = svg.append("g");
  const gBands = svg.append("g");
  const gMarks = svg.append("g");
  const gLogs = svg.append("g");
  const gOps = svg.append("g");
  const gRpcs = svg.append("g");
  const gFail = svg.append("g");
  const gLabels = svg.append("g");
  let width = 800, laneY = new Map(), laneHt = new Map();
  // Clerks' lanes are thin: lab 3 makes dozens of clerks.
  const isClerk = (name) => /^C\d+$/.test(name) || name === "clerks";
  const heightOf = (l) => (isClerk(l.name) ? 20 : laneH);

  function layout() {
    width = Math.max(400, document.body.clientWidth);
    const shown = lanes.filter((l) => !hidden.lanes.has(l.i));
    laneY = new Map(); laneHt = new Map();
    let y = top;
    shown.forEach((l) => { laneY.set(l.i, y); laneHt.set(l.i, heightOf(l)); y += heightOf(l); });
    svg.attr("width", width).attr("height", y + 4);
    x.range([left, width - right]);
    xz = currentTransform.rescaleX(x);
    gLanes.selectAll("*").remove();
    gLabels.selectAll("*").remove();
    shown.forEach((l, k) => {
      const g = gLanes.append("g").attr("class", "lane").attr("data-lane", l.name);
      const h = laneHt.get(l.i);
      g.append("rect").attr("x", 0).attr("y", laneY.get(l.i)).attr("width", width).attr("height", h)
        .attr("fill", k % 2 ? "#fafafa" : "#fff");
      g.append("line").attr("x1", left).attr("x2", width - right)
        .attr("y1", laneY.get(l.i) + h / 2).attr("y2", laneY.get(l.i) + h / 2).attr("stroke", "#ddd");
      gLabels.append("rect").attr("x", 0).attr("y", laneY.get(l.i)).attr("width", left - 4).attr("height", h)
        .attr("fill", k % 2 ? "#fafafa" : "#fff");
      gLabels.append("text").attr("class", "lane-label").attr("x", 6).attr("y", laneY.get(l.i) + h / 2 + 4).text(l.name);
    });
  }

  // Role bands: per lane, from each report to the next.
  const bands = [];
  {
    const last = new Map();
    D.roles.slice().sort(byT).forEach(([t, lane, term, leader]) => {
      const prev = last.get(lane);
      if (prev) prev.end = t;
      const band = term < 0 ? null : { start: t, end: D.end, lane, term, leader };
      if (band) bands.push(band);
      last.set(lane, band);
    });
  }

  // The rows of `rows` (sorted on key) with key in [t0, t1].
  function window_(rows, key, t0, t1) {
    const lo = d3.bisector(key).left(rows, t0);
    const hi = d3.bisector(key).right(rows, t1);
    return rows.slice(lo, hi);
  }

  function draw() {
    const [t0, t1] = xz.domain();
    const ly = (lane) => laneY.get(lane);
    const on = (lane) => laneY.has(lane);
    gAxis.attr("transform", "translate(0," + (top - 2) + ")")
      .call(d3.axisTop(xz).ticks(Math.max(2, width / 120)).tickFormat((us) => (us / 1000) + " ms"));

    // bands
    const b = bands.filter((d) => on(d.lane) && d.end >= t0 && d.start <= t1);
    gBands.selectAll("rect").data(b).join("rect")
      .attr("class", (d) => "band" + (d.leader ? " leader" : ""))
      .attr("x", (d) => Math.max(left, xz(d.start))).attr("y", (d) => ly(d.lane) + 2)
      .attr("width", (d) => Math.max(1, Math.min(width - right, xz(d.end)) - Math.max(left, xz(d.start))))
      .attr("height", 10).attr("fill", (d) => termColor(d.term)).attr("opacity", (d) => (d.leader ? 0.95 : 0.3))
      .selectAll("title").data((d) => [d]).join("title")
      .text((d) => "term " + d.term + (d.leader ? ", leader" : ", not leader") + " from " + ms(d.start) + " to " + ms(d.end));
    gBands.selectAll("text").data(b.filter((d) => xz(d.end) - xz(d.start) > 40)).join("text")
      .attr("x", (d) => Math.max(left, xz(d.start)) + 2).attr("y", (d) => ly(d.lane) + 10.5)
      .attr("font-size", 9).attr("pointer-events", "none")
      .text((d) => "T" + d.term + (d.leader ? " leader" : ""));

    // marks
    let mk = window_(marks, (m) => m[0], t0, t1).filter((m) => on(m[1]));
    const tooManyMarks = mk.length > MARK_LIMIT;
    if (tooManyMarks) mk = mk.filter((m) => m[2] !== 4);
    const kindY = [14, 14, 14, 44, 48, 44, 44];
    // the tester's words only where they fit.
    const sayTester = mk.filter((m) => m[1] === 0).length <= 40;
    gMarks.selectAll("g.mark").data(mk.slice(0, MARK_LIMIT)).join((en) => {
      const g = en.append("g").attr("class", "mark");
      g.append("line"); g.append("text"); g.append("title");
      return g;
    })
      .attr("data-kind", (m) => KINDS[m[2]])
      .each(function (m) {
        const g = d3.select(this), X = xz(m[0]), y = ly(m[1]);
        const big = m[2] <= 1;
        g.select("line").attr("x1", X).attr("x2", X)
          .attr("y1", big ? y : y + kindY[m[2]] - 6).attr("y2", big ? y + laneH : y + kindY[m[2]] + 4)
          .attr("stroke", ["#2a2", "#c00", "#e80", "#06c", "#393", "#84c", "#888"][m[2]])
          .attr("stroke-width", big ? 3 : 1.5);
        g.select("text").attr("x", X + 2).attr("y", y + (m[1] === 0 ? 24 + (m[0] % 3) * 9 : 24)).attr("font-size", 9)
          .text((m[1] === 0 && sayTester) || big ? txt(m[3]) : "");
        g.select("title").text(ms(m[0]) + " " + KINDS[m[2]] + ": " + txt(m[3]));
      });

    // clerk operations: a span per Get/Put/Append from call to return.
    const op = window_(ops, (o) => o[0], t0 - maxOp, t1).filter((o) => on(o[2]) && o[1] >= t0).slice(0, MARK_LIMIT);
    gOps.selectAll("rect").data(op).join((en) => { const r = en.append("rect").attr("class", "op"); r.append("title"); return r; })
      .attr("data-op", (o) => OPS[o[3]])
      .attr("x", (o) => Math.max(left, xz(o[0]))).attr("y", (o) => ly(o[2]) + 2)
      .attr("width", (o) => Math.max(2, Math.min(width - right, xz(o[1])) - Math.max(left, xz(o[0]))))
      .attr("height", 5).attr("fill", (o) => ["#06c", "#393", "#8a3"][o[3]]).attr("opacity", 0.6)
      .select("title").text((o) => txt(o[4]) + "\n" + D.lanes[o[2]] + ", called " + ms(o[0]) +
        ", returned after " + ms(o[1] - o[0]));

    // dlog ticks and lines
    const lg = window_(logs, (l) => l[0], t0, t1).filter((l) => on(l[1]) && !hidden.topics.has(l[2]));
    const ticks = opts.logticks && lg.length <= MARK_LIMIT ? lg : [];
    gLogs.selectAll("line").data(ticks).join((en) => { const l = en.append("line").attr("class", "logtick"); l.append("title"); return l; })
      .attr("x1", (l) => xz(l[0])).attr("x2", (l) => xz(l[0]))
      .attr("y1", (l) => ly(l[1]) + laneH - 8).attr("y2", (l) => ly(l[1]) + laneH - 1)
      .attr("stroke", (l) => d3.schemeSet2[l[2] % 8]).attr("stroke-width", 1.5)
      .select("title").text((l) => ms(l[0]) + " " + D.topics[l[2]] + " " + D.lanes[l[1]] + " " + txt(l[3]));
    const logsEl = document.getElementById("logs");
    logsEl.textContent = "";
    lg.slice(0, LOG_LIMIT).forEach((l) => {
      const div = document.createElement("div");
      div.className = "log"; div.dataset.lane = D.lanes[l[1]]; div.dataset.topic = D.topics[l[2]];
      div.textContent = ms(l[0]).padStart(13) + " " + D.topics[l[2]] + " " + D.lanes[l[1]] + " " + txt(l[3]);
      logsEl.appendChild(div);
    });
    if (lg.length > LOG_LIMIT) {
      const div = document.createElement("div");
      div.textContent = "... " + (lg.length - LOG_LIMIT) + " more lines in view: zoom in";
      logsEl.appendChild(div);
    }

    // RPCs
    let rs = window_(rpcs, (r) => r.sent, t0 - maxDur, t1)
      .filter((r) => on(r.from) && on(r.to) && !hidden.methods.has(r.m) && (r.ans < 0 ? r.sent >= t0 : r.ans >= t0));
    const hbs = opts.collapse ? rs.filter((r) => r.hb) : [];
    if (opts.collapse) rs = rs.filter((r) => !r.hb);
    const dense = rs.length > LIMIT;
    const arrows = dense ? [] : rs;
    const mid = (lane) => ly(lane) + laneHt.get(lane) / 2;
    gRpcs.selectAll("path.rpc").data(arrows, (r) => r.i).join("path")
      .attr("class", (r) => "rpc fate" + r.fate + (r.ans >= 0 && r.ans - r.sent > SLOW_US ? " slow" : ""))
      .attr("data-id", (r) => r.i).attr("data-method", (r) => D.methods[r.m])
      .attr("data-from", (r) => D.lanes[r.from]).attr("data-to", (r) => D.lanes[r.to])
      .attr("stroke", (r) => color(r.m)).attr("marker-end", (r) => (r.ans >= 0 ? "url(#arrow" + r.m + ")" : null))
      .attr("d", (r) => {
        const x1 = xz(r.sent), y1 = mid(r.from), y2 = mid(r.to);
        if (r.ans >= 0) return "M" + x1 + "," + y1 + "L" + xz(r.ans) + "," + y2;
        return "M" + x1 + "," + y1 + "L" + (x1 + 8) + "," + (y1 + (y2 - y1) / 2);
      })
      .selectAll("title").data((r) => [r]).join("title")
      .text((r) => "#" + r.i + " " + D.methods[r.m] + " " + D.lanes[r.from] + " → " + D.lanes[r.to] +
        "\nsent " + ms(r.sent) + (r.ans >= 0 ? ", answered after " + ms(r.ans - r.sent) : "") +
        (r.back >= 0 ? ", reply back after " + ms(r.back - r.sent) : "") +
        "\n" + FATES[r.fate] + "\nargs: " + txt(r.args) + (r.reply >= 0 ? "\nreply: " + txt(r.reply) : ""));
    gRpcs.selectAll("path.lost").data(arrows.filter((r) => r.ans < 0), (r) => r.i).join("path").attr("class", "lost")
      .attr("d", (r) => {
        const X = xz(r.sent) + 8, Y = mid(r.from) + (mid(r.to) - mid(r.from)) / 2;
        return "M" + (X - 3) + "," + (Y - 3) + "L" + (X + 3) + "," + (Y + 3) + "M" + (X - 3) + "," + (Y + 3) + "L" + (X + 3) + "," + (Y - 3);
      });
    // collapsed heartbeats: a tick per heartbeat on its sender's lane.
    const hbTicks = hbs.length <= LIMIT * 2 ? hbs : [];
    gRpcs.selectAll("line.hb").data(hbTicks, (r) => r.i).join("line").attr("class", "hb")
      .attr("x1", (r) => xz(r.sent)).attr("x2", (r) => xz(r.sent))
      .attr("y1", (r) => mid(r.from) - 3).attr("y2", (r) => mid(r.from) + 3)
      .attr("stroke", (r) => (r.fate === 1 ? "#bbb" : "#c00"));
    // too many to draw: sends per pixel column, as a strip on each lane.
    let density = [];
    if (dense) {
      const bins = new Map();
      rs.forEach((r) => {
        const k = r.from + ":" + Math.floor(xz(r.sent) / 3);
        bins.set(k, (bins.get(k) || 0) + 1);
      });
      density = Array.from(bins, ([k, n]) => { const [lane, col] = k.split(":").map(Number); return { lane, col, n }; });
    }
    const dmax = d3.max(density, (d) => d.n) || 1;
    gRpcs.selectAll("rect.density").data(density).join("rect").attr("class", "density")
      .attr("x", (d) => d.col * 3).attr("width", 3)
      .attr("y", (d) => mid(d.lane) - 12 * d.n / dmax).attr("height", (d) => 1 + 12 * d.n / dmax).attr("fill", "#48c");

    // failure
    const f = D.failure && D.failure[0] >= t0 && D.failure[0] <= t1 ? [D.failure] : [];
    gFail.selectAll("line").data(f).join("line").attr("class", "failure-line")
      .attr("x1", (d) => xz(d[0])).attr("x2", (d) => xz(d[0])).attr("y1", top).attr("y2", +svg.attr("height"))
      .selectAll("title").data((d) => [d]).join("title").text((d) => "FAILED: " + d[1]);

    status.textContent = ms(t0) + " – " + ms(t1) + ": " + rs.length + " RPCs" +
      (dense ? " (too many to draw: a strip shows where; zoom in, or hide methods)" : " drawn") +
      (opts.collapse ? ", " + hbs.length + " heartbeats collapsed to ticks" : "") +
      ", " + lg.length + " log lines. Drag to pan, wheel to zoom, hover for details.";
    document.body.dataset.status = "ok";
    document.body.dataset.arrows = arrows.length;
  }

  // Zoom and pan; redrawn at most once a frame.
  let currentTransform = d3.zoomIdentity, pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; layout(); draw(); });
  }
  const zoom = d3.zoom().scaleExtent([1, Math.max(2, D.end / 100)])
    .on("zoom", (ev) => { currentTransform = ev.transform; xz = ev.transform.rescaleX(x); redraw(); });
  function zoomTo(a, b) {
    const k = (x.range()[1] - x.range()[0]) / Math.max(1, x(b) - x(a));
    svg.call(zoom.transform, d3.zoomIdentity.translate(left - k * x(a), 0).scale(k));
  }
  svg.call(zoom);
  reset.onclick = () => svg.call(zoom.transform, d3.zoomIdentity);
  failEl.onclick = () => { if (D.failure) zoomTo(D.failure[0] - 500000, D.failure[0] + 100000); };
  window.addEventListener("resize", redraw);
  layout();
  draw();
})();
