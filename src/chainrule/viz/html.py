"""`to_html`: one self-contained web page that draws a graph and steps through its backward pass.

    chainrule.viz.to_html(f, "backward.html")    # open it in any browser, no network needed

The page shows the graph as the slides draw it (inputs on the left, the loss on the right). The
Next / Previous buttons (or the arrow keys) run backward one node at a time: the current node is
highlighted and a panel shows its upstream, local and downstream gradients, as the explainer
prints them. Layout is done in the browser by dagre (MIT licence, shipped in viz/assets), so the
Graphviz `dot` program is not needed.
"""
from __future__ import annotations

import html
import json
import os
from importlib import resources

import numpy as np

from ..autograd.explain import Summary, format_number, format_value, run_recorded, shape_str
from ..autograd.graph import AccumulateGrad

# Boxes in the drawing show tensors of up to this many elements in full (the panel shows more).
GRAPH_ITEMS = 4
NEEDS_GRAPH = ("to_html needs the graph's saved values, which backward frees: call it before "
               "loss.backward(), or after loss.backward(retain_graph=True).")


def short_value(value):
    """A value in a graph box: in full up to GRAPH_ITEMS elements, else its shape and mean."""
    if value is None or (not isinstance(value, Summary) and np.size(value) <= GRAPH_ITEMS):
        return format_value(value, GRAPH_ITEMS)
    summary = value if isinstance(value, Summary) else Summary.of(value)
    return f"{shape_str(summary.shape)} mean {format_number(summary.mean)}"


def _asset(name):
    return resources.files("chainrule.viz").joinpath("assets", name).read_text(encoding="utf-8")


def graph_data(loss, names=None):
    """The graph and the backward steps of `loss` as plain data (what the page embeds).

    Runs a backward that touches no `.grad` and keeps the graph (retain_graph=True).
    """
    if not getattr(loss, "_requires_grad", False):
        raise RuntimeError("to_html: the loss has no graph (it does not require grad).")
    try:
        record = run_recorded(loss, names=names, retain_graph=True, accumulate=False)
    except RuntimeError as e:
        if "second time" in str(e):
            raise RuntimeError(NEEDS_GRAPH) from e
        raise
    book = record.book
    ids = {node: f"n{i}" for i, node in enumerate(book.nodes)}
    broadcast = {}
    for step in record.steps:
        edges = [e for e in step.node.next_functions if e[0] is not None]
        for (fn, _), flow in zip(edges, step.inputs):
            if flow.broadcast_from is not None:
                broadcast[(ids[fn], ids[step.node])] = (list(flow.broadcast_from),
                                                         list(flow.shape))
    nodes, edges = [], []
    for node in book.nodes:
        leaf = type(node) is AccumulateGrad
        nodes.append({
            "id": ids[node], "kind": "leaf" if leaf else "op", "op": type(node).__name__,
            "name": book.name(node, 0), "shape": list(book.shape(node, 0)),
            "expression": None if leaf else book.expression(node),
            "value": short_value(book.value(node, 0)),
            "is_output": bool(book.roots) and book.key_of(book.roots[0]) == (node, 0),
        })
        for fn, _ in node.next_functions:
            if fn is None:
                continue
            shapes = broadcast.get((ids[fn], ids[node]))
            edges.append({"source": ids[fn], "target": ids[node],
                          "broadcast": shapes})
    steps = record.to_dicts()
    leaf_totals = {}
    for step, s in zip(steps, record.steps):
        step["node"] = ids[s.node]
        # What this step teaches the graph: its output's gradient, and what each leaf holds now.
        updates = {ids[s.node]: short_value(s.upstream)}
        step_edges = [e for e in s.node.next_functions if e[0] is not None]
        for entry, (fn, _), flow in zip(step["inputs"], step_edges, s.inputs):
            entry["node"] = ids[fn]
            if type(fn) is AccumulateGrad and isinstance(flow.downstream, np.ndarray):
                total = leaf_totals.get(fn)
                leaf_totals[fn] = flow.downstream if total is None else total + flow.downstream
                updates[ids[fn]] = short_value(leaf_totals[fn])
        step["grad_updates"] = updates
    leaf_grads = {k: format_value(v, 16) for k, v in record.leaf_grads.items()}
    return {"root": record.root_name, "nodes": nodes, "edges": edges, "steps": steps,
            "leaf_grads": leaf_grads}


def to_html(loss, path=None, *, names=None, title=None):
    """Write the stepper page for `loss` to `path` (returns the path), or return the HTML text
    when `path` is None. The page is one file: data, layout library and code are inlined."""
    data = graph_data(loss, names)
    page = render_page(data, title or f"Backward pass of {data['root']}")
    if path is None:
        return page
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def render_page(data, title):
    payload = json.dumps(data).replace("</", "<\\/")  # keep "</script>" out of the JSON
    return (_TEMPLATE
            .replace("%TITLE%", html.escape(title))
            .replace("%STYLE%", _asset("stepper.css"))
            .replace("%DAGRE%", _asset("dagre.min.js"))
            .replace("%APP%", _asset("stepper.js"))
            .replace("%DATA%", payload))


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%TITLE%</title>
<style>%STYLE%</style>
</head>
<body>
<header>
  <h1>%TITLE%</h1>
  <div id="controls">
    <button id="first" title="Back to the forward pass (Home)">&laquo; Forward</button>
    <button id="prev" title="Previous step (Left arrow)">&#x25C0; Previous</button>
    <button id="next" title="Next backward step (Right arrow)">Next &#x25B6;</button>
    <button id="last" title="Run backward to the end (End)">End &raquo;</button>
    <label><input type="checkbox" id="toggle-values" checked> values</label>
    <label><input type="checkbox" id="toggle-grads" checked> gradients</label>
    <span id="position"></span>
  </div>
</header>
<main>
  <section id="graph-pane"><svg id="graph" xmlns="http://www.w3.org/2000/svg"></svg></section>
  <section id="panel" aria-live="polite"></section>
</main>
<script>%DAGRE%</script>
<script id="graph-data" type="application/json">%DATA%</script>
<script>%APP%</script>
</body>
</html>
"""

__all__ = ["to_html", "graph_data", "render_page"]
