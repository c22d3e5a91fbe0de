// The backward stepper of chainrule.viz.to_html: draws the graph (layout by dagre) and walks
// the recorded backward steps. Step 0 is the forward pass; step k is "after k backward nodes".
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const svg = document.getElementById("graph");
  const panel = document.getElementById("panel");
  const NS = "http://www.w3.org/2000/svg";
  const CHAR_W = 7.3, LINE_H = 15, PAD = 8;
  const nodesById = {};
  data.nodes.forEach(n => { nodesById[n.id] = n; });
  let step = 0;

  function esc(text) {
    return String(text).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                                                 '"': "&quot;"}[c]));
  }

  // The lines of a node's box; the value and gradient lines are filled in per step.
  function nodeLines(n) {
    const lines = [];
    if (n.kind === "leaf") {
      lines.push({cls: "name-line", text: n.name});
      lines.push({cls: "op-line", text: "(" + n.shape.join(", ") + ")"});
    } else {
      lines.push({cls: "name-line", text: n.name + " = " + n.expression});
      lines.push({cls: "op-line", text: n.op});
    }
    if (n.value !== "?") lines.push({cls: "value-line", text: "= " + n.value});
    lines.push({cls: "grad-line", text: ""});
    return lines;
  }

  function longestGrad(id) {
    let longest = 0;
    data.steps.forEach(s => {
      const g = s.grad_updates[id];
      if (g !== undefined) longest = Math.max(longest, ("grad " + g).length);
    });
    return longest;
  }

  function layout() {
    const g = new dagre.graphlib.Graph();
    g.setGraph({rankdir: "LR", nodesep: 24, ranksep: 60, marginx: 12, marginy: 12});
    g.setDefaultEdgeLabel(() => ({}));
    data.nodes.forEach(n => {
      const lines = nodeLines(n);
      const chars = Math.max(longestGrad(n.id), ...lines.map(l => l.text.length));
      g.setNode(n.id, {width: chars * CHAR_W + 2 * PAD, height: lines.length * LINE_H + PAD,
                       lines: lines});
    });
    data.edges.forEach(e => {
      const label = e.broadcast ? "sum (" + e.broadcast[0].join(",") + ")\u2192(" +
                                  e.broadcast[1].join(",") + ")" : "";
      g.setEdge(e.source, e.target, {label: label, width: label.length * 6, height: 12,
                                     labelpos: "c"});
    });
    dagre.layout(g);
    return g;
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function draw(g) {
    const defs = el("defs", {}, svg);
    const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
                                 markerWidth: 7, markerHeight: 7, orient: "auto"}, defs);
    el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#777"}, marker);
    g.edges().forEach(ref => {
      const e = g.edge(ref);
      const group = el("g", {class: "edge", "data-source": ref.v, "data-target": ref.w,
                             id: "edge-" + ref.v + "-" + ref.w}, svg);
      const d = e.points.map((p, i) => (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1));
      el("path", {d: d.join(" "), "marker-end": "url(#arrow)"}, group);
      const mid = e.points[Math.floor(e.points.length / 2)];
      if (e.label) {
        const t = el("text", {x: e.x, y: e.y - 2, "text-anchor": "middle"}, group);
        t.textContent = e.label;
      }
      const flow = el("text", {x: mid.x, y: mid.y + 13, "text-anchor": "middle",
                               class: "flow-grad"}, group);
      flow.textContent = "";
    });
    g.nodes().forEach(id => {
      const n = g.node(id);
      const info = nodesById[id];
      const classes = ["node", info.kind];
      if (info.is_output) classes.push("output");
      const group = el("g", {class: classes.join(" "), id: "node-" + id, "data-name": info.name,
                             transform: "translate(" + (n.x - n.width / 2) + "," +
                                        (n.y - n.height / 2) + ")"}, svg);
      el("rect", {width: n.width, height: n.height}, group);
      n.lines.forEach((line, i) => {
        const t = el("text", {x: PAD, y: PAD / 2 + LINE_H * (i + 1) - 3, class: line.cls},
                     group);
        t.textContent = line.text;
      });
    });
    const box = g.graph();  // wide graphs shrink to the pane's width, small ones keep their size
    svg.setAttribute("width", box.width);
    svg.setAttribute("height", box.height);
    svg.style.maxWidth = "100%";
    svg.style.height = "auto";
    svg.setAttribute("viewBox", "0 0 " + box.width + " " + box.height);
  }

  function shorten(text) {  // the gradient written on an edge: small tensors only
    return text.length > 28 ? text.split(" mean")[0].split("],")[0] + (text.startsWith("[") ? ", ...]" : "") : text;
  }

  function forwardText(s) {
    const ins = s.inputs.map(i => i.name + " = " + i.value).join(", ");
    return ins + " \u2192 " + s.output + " = " + s.output_value;
  }

  function renderPanel() {
    const n = data.steps.length;
    document.getElementById("position").textContent = "step " + step + " / " + n;
    if (step === 0) {
      panel.innerHTML = "<h2 id='step-title'>Forward pass</h2>" +
        "<p>Values flow left to right, from the inputs to <b>" + esc(data.root) + "</b>. " +
        "Press <b>Next</b> (or \u2192) to run backward one node at a time, in the order the " +
        "engine runs them (" + n + " steps).</p>";
      return;
    }
    const s = data.steps[step - 1];
    let rows = "";
    s.inputs.forEach(i => {
      const broadcast = i.broadcast_from ? " <small>(summed from (" +
        i.broadcast_from.join(", ") + ") to (" + i.shape.join(", ") + "))</small>" : "";
      rows += "<tr data-input='" + esc(i.name) + "'><td class='name'>" + esc(i.name) +
        "</td><td class='value'>" + esc(i.value) + "</td><td class='local'>" +
        esc(i.local_label) + " = " + esc(i.local) + "</td><td class='downstream'>" +
        esc(i.downstream_label) + " = " + esc(i.downstream) + broadcast + "</td></tr>";
    });
    let html = "<h2 id='step-title'>Step " + step + " of " + n + ": " + esc(s.op) + "</h2>" +
      "<p class='expr'>" + esc(s.output) + " = " + esc(s.expression) + "</p>" +
      (s.gate ? "<p class='gate'>" + esc(s.gate) + "</p>" : "") +
      (s.rule ? "<p class='rule'>rule: " + esc(s.rule) + "</p>" : "") +
      "<p id='forward'>forward: " + esc(forwardText(s)) + "</p>" +
      "<p id='upstream'>upstream " + esc(s.upstream_label) + " = <span class='upstream-value'>" +
      esc(s.upstream) + "</span></p>" +
      "<table id='flows'><tr><th>input</th><th>value</th><th>local gradient</th>" +
      "<th>downstream = upstream \u00d7 local</th></tr>" + rows + "</table>";
    if (step === n) {
      const leaves = Object.entries(data.leaf_grads).map(([k, v]) =>
        "<li data-leaf='" + esc(k) + "'>" + esc(k) + ".grad = " + esc(v) + "</li>").join("");
      html += "<h3>Backward done: gradients in the leaves</h3><ul id='leaf-grads'>" + leaves +
        "</ul>";
    }
    panel.innerHTML = html;
  }

  function renderGraph() {
    const grads = {};
    for (let j = 0; j < step; j++) Object.assign(grads, data.steps[j].grad_updates);
    const current = step > 0 ? data.steps[step - 1] : null;
    const receiving = new Set(current ? current.inputs.map(i => i.node) : []);
    const done = new Set(data.steps.slice(0, step).map(s => s.node));
    data.nodes.forEach(n => {
      const group = document.getElementById("node-" + n.id);
      group.classList.toggle("current", !!current && current.node === n.id);
      group.classList.toggle("receiving", receiving.has(n.id));
      group.classList.toggle("done", done.has(n.id));
      group.querySelector(".grad-line").textContent =
        grads[n.id] !== undefined ? "grad " + grads[n.id] : "";
    });
    svg.querySelectorAll("g.edge").forEach(edge => {
      const flowing = !!current && edge.dataset.target === current.node;
      edge.classList.toggle("flow", flowing);
      const input = flowing ? current.inputs.find(i => i.node === edge.dataset.source) : null;
      edge.querySelector(".flow-grad").textContent = input ? shorten(input.downstream) : "";
    });
  }

  function go(k) {
    step = Math.max(0, Math.min(data.steps.length, k));
    renderGraph();
    renderPanel();
  }

  document.getElementById("next").addEventListener("click", () => go(step + 1));
  document.getElementById("prev").addEventListener("click", () => go(step - 1));
  document.getElementById("first").addEventListener("click", () => go(0));
  document.getElementById("last").addEventListener("click", () => go(data.steps.length));
  document.getElementById("toggle-values").addEventListener("change", e =>
    document.body.classList.toggle("values-off", !e.target.checked));
  document.getElementById("toggle-grads").addEventListener("change", e =>
    document.body.classList.toggle("grads-off", !e.target.checked));
  document.addEventListener("keydown", e => {
    if (e.key === "ArrowRight" || e.key === "ArrowDown") go(step + 1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") go(step - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(data.steps.length);
    else return;
    e.preventDefault();
  });

  draw(layout());
  go(0);
  window.chainruleStepper = {go: go, step: () => step, data: data};
})();
