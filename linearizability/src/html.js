// The HTML visualization's script (see html.rs for the data it reads).
// It draws each partition's time line when the partition is opened, and
// resolves what it shows on demand: the texts (descriptions and states)
// are stored as changes of earlier ones, and each prefix as its part after
// the prefix before it, so the page grows with the history, not with its
// square.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const tip = document.getElementById("tip");
  const lane = 30;
  let step = 26;

  // Text `id`, either stored whole or as [base, head, tail, middle]: the
  // base text's first `head` and last `tail` UTF-16 units around `middle`.
  // Chains can be thousands long (a key's value through a long history),
  // so they are walked in a loop, and every text met is kept.
  const texts = [];
  function text(id) {
    const chain = [];
    let at = id;
    while (texts[at] === undefined && typeof data.texts[at] !== "string") {
      chain.push(at);
      at = data.texts[at][0];
    }
    let s = texts[at] !== undefined ? texts[at] : (texts[at] = data.texts[at]);
    for (let i = chain.length - 1; i >= 0; i--) {
      const d = data.texts[chain[i]];
      s = texts[chain[i]] = s.slice(0, d[1]) + d[3] + s.slice(s.length - d[2]);
    }
    return s;
  }

  // `s` cut in the middle to about `max` characters, as the text summary does.
  function short(s, max) {
    if (s.length <= max) return s;
    const head = s.slice(0, Math.floor(max / 3)), tail = s.slice(s.length - Math.floor(max * 2 / 3));
    return head + "…[" + (s.length - head.length - tail.length) + " characters]…" + tail;
  }

  // Field `f` ("t": operations, "s": states) of prefix k: the first `l` of
  // its base prefix's, then its own.
  function flat(part, k, f) {
    const pieces = [];
    let p = part.pre[k], need = p.l;
    pieces.push(p[f]);
    while (need > 0) {
      const b = part.pre[p.b];
      if (need > b.l) pieces.push(b[f].slice(0, need - b.l));
      need = Math.min(need, b.l);
      p = b;
    }
    return pieces.reverse().flat();
  }

  const parts = {};
  document.querySelectorAll("details.part").forEach(function (section, i) {
    parts[+section.dataset.p] = { data: data.parts[i], section: section };
  });

  function render(p) {
    const part = parts[p];
    if (part.els) return;
    const d = part.data;
    const lanes = [...new Set(d.ops.map(function (o) { return o[0]; }))].sort(function (a, b) { return a - b; });
    part.lanes = lanes;
    const chart = part.section.querySelector(".chart");
    chart.style.setProperty("--lanes", lanes.length);
    chart.style.setProperty("--events", 2 * d.ops.length);
    const labels = document.createElement("div");
    labels.className = "labels";
    lanes.forEach(function (c) {
      const label = document.createElement("div");
      label.textContent = "client " + c;
      labels.appendChild(label);
    });
    const scroll = document.createElement("div");
    scroll.className = "scroll";
    const track = document.createElement("div");
    track.className = "track";
    part.els = d.ops.map(function (o, i) {
      const el = document.createElement("div");
      el.dataset.op = i;
      el.style.cssText = "--l:" + lanes.indexOf(o[0]) + ";--s:" + o[1] + ";--w:" + (o[2] - o[1] + 1);
      el.appendChild(document.createElement("i"));
      const label = document.createElement("span");
      label.textContent = short(text(o[3]), data.max);
      el.appendChild(label);
      track.appendChild(el);
      return el;
    });
    track.insertAdjacentHTML("beforeend", '<svg class="path"></svg>');
    part.svg = track.lastChild;
    scroll.appendChild(track);
    chart.replaceChildren(labels, scroll);
    show(p, d.best);
  }

  function show(p, k, selected) {
    const part = parts[p], d = part.data, pre = d.pre[k];
    part.shown = { k: k, o: flat(d, k, "t"), s: [d.init].concat(flat(d, k, "s")) };
    const o = part.shown.o, els = part.els;
    els.forEach(function (el, i) {
      el.className = "op out" + (d.ops[i][5] === null ? " noreply" : "");
      el.firstChild.textContent = "";
    });
    o.forEach(function (op, i) { els[op].classList.replace("out", "in"); els[op].firstChild.textContent = i + 1; });
    pre.n.forEach(function (n) { els[n[0]].classList.replace("out", n[1] ? "next" : "bad"); });
    if (pre.c >= 0) els[pre.c].classList.add("culprit");
    if (selected !== undefined) els[selected].classList.add("sel");
    const status = part.section.querySelector(".status");
    const bad = pre.n.filter(function (n) { return !n[1]; }).length;
    let line = "Showing " + (k === d.best ? "the longest" : "a") + " linearizable prefix: " + o.length + " of " +
      d.ops.length + " operations, leaving state " + short(text(part.shown.s[o.length]), data.max) + ".";
    if (pre.n.length > 0) line += " Could come next: " + pre.n.length + " operation" + (pre.n.length === 1 ? "" : "s") +
      ", " + bad + " of them illegal after it (red).";
    status.textContent = line;
    if (k !== d.best) {
      const back = document.createElement("button");
      back.type = "button";
      back.textContent = "show the longest";
      back.onclick = function () { show(p, d.best); };
      status.appendChild(back);
    }
    draw(p);
  }

  // The path through the linearization points of the shown prefix.
  function draw(p) {
    const part = parts[p], ops = part.data.ops;
    let at = -1, points = [], dots = "";
    part.shown.o.forEach(function (op) {
      const o = ops[op];
      at = Math.min(Math.max(at + 0.3, o[1] + 0.5), o[2] + 0.5);
      // Along the boxes' lower edge, clear of their labels.
      const x = (at * step).toFixed(1), y = part.lanes.indexOf(o[0]) * lane + lane - 6;
      points.push(x + "," + y);
      dots += '<circle class="dot" r="2.5" cx="' + x + '" cy="' + y + '"/>';
    });
    part.svg.innerHTML = '<polyline class="line" points="' + points.join(" ") + '"/>' + dots;
  }

  function tipFor(p, op) {
    const part = parts[p], d = part.data, o = d.ops[op], pre = d.pre[part.shown.k];
    const lines = [];
    const place = part.shown.o.indexOf(op);
    const state = function (i) { return short(text(part.shown.s[i]), 3 * data.max); };
    if (place >= 0) {
      lines.push("#" + (place + 1) + " in the shown prefix; state after it: " + state(place + 1));
    } else {
      const next = pre.n.find(function (n) { return n[0] === op; });
      const after = state(part.shown.o.length);
      if (next && !next[1]) lines.push("Illegal after the shown prefix (state " + after + ")" + (pre.c === op ? "; the first operation that cannot follow it." : "."));
      else if (next) lines.push("Legal after the shown prefix (state " + after + ")" + (d.v === "illegal" ? ", but every continuation fails later." : "."));
      else lines.push("Outside the shown prefix.");
    }
    const k = d.lo[op];
    lines.push(k >= 0 ? "Longest linearizable prefix through it: " + flat(d, k, "t").length + " operations (click to show)."
      : "Not part of any linearizable prefix the search kept.");
    tip.replaceChildren();
    const title = document.createElement("b");
    title.textContent = short(text(o[3]), 3 * data.max);
    tip.appendChild(title);
    const when = "client " + o[0] + " · called " + o[4] + " · " + (o[5] === null ? "no reply" : "returned " + o[5]);
    [when].concat(lines).forEach(function (line) {
      const div = document.createElement("div");
      div.textContent = line;
      tip.appendChild(div);
    });
  }

  document.addEventListener("toggle", function (e) {
    if (e.target.matches("details.part") && e.target.open) render(+e.target.dataset.p);
  }, true);
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
      Object.keys(parts).forEach(function (p) { if (parts[p].els) draw(+p); });
      return;
    }
    const el = e.target.closest(".op");
    if (!el) return;
    const p = +el.closest("details.part").dataset.p, op = +el.dataset.op, k = parts[p].data.lo[op];
    show(p, k >= 0 ? k : parts[p].shown.k, op);
    tipFor(p, op);
  });
  Object.keys(parts).forEach(function (p) { if (parts[p].section.open) render(+p); });
})();
