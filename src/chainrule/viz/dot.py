"""`make_dot`: torchviz's drawing of an autograd graph, plus the values and gradients of the slides.

    from chainrule.viz import make_dot
    make_dot(r).render("torchviz_1", format="png")            # as in the seed, with torchviz
    make_dot(f, params=dict(x=x, y=y, z=z), show_values=True, show_grads=True)

Node ids, labels, colours and edges follow torchviz 0.0.3: grey boxes are backward nodes, light
blue the leaves that require grad, orange saved tensors, green the output. Rendering needs the
Graphviz `dot` program; without it `.source` still works and the error says what to install.
"""
from __future__ import annotations

import numpy as np

from ..autograd.explain import GraphBook, format_value, run_recorded
from ..autograd.graph import AccumulateGrad, SavedOutput

INSTALL_GRAPHVIZ_PACKAGE = (
    "make_dot needs the `graphviz` Python package: pip install \"chainrule[viz]\" "
    "(or pip install graphviz).")
INSTALL_DOT = (
    "Rendering needs the Graphviz `dot` program, which is not installed or not on PATH. Install "
    "it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install graphviz`. Without it, `.source` still gives the DOT text, and "
    "chainrule.viz.to_html(loss, 'graph.html') draws the graph in a browser.")

# Element-wise ops: an input of a smaller shape than the output was broadcast in forward, and
# backward sums its gradient back down (Note [Broadcasting in backward] in ops/_core.py).
_BROADCASTING_OPS = {
    "AddBackward0", "SubBackward0", "MulBackward0", "DivBackward0", "PowBackward1",
    "MaximumBackward0", "MinimumBackward0", "WhereBackward0", "RemainderBackward0",
    "AtanBackward0", "Atan2Backward0", "LerpBackward0", "MaskedFillBackward0",
}


def _graphviz():
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(INSTALL_GRAPHVIZ_PACKAGE) from e
    return graphviz


def _digraph_class():
    graphviz = _graphviz()

    class Digraph(graphviz.Digraph):
        """A graphviz.Digraph whose rendering errors say how to install `dot`."""

        def _explain(self, method, *args, **kwargs):
            try:
                return method(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise RuntimeError(INSTALL_DOT) from e

        def render(self, *args, **kwargs):
            return self._explain(super().render, *args, **kwargs)

        def pipe(self, *args, **kwargs):
            return self._explain(super().pipe, *args, **kwargs)

        def view(self, *args, **kwargs):
            return self._explain(super().view, *args, **kwargs)

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except RuntimeError as e:  # a notebook shows the advice and the DOT text instead
                if not isinstance(e.__cause__, graphviz.ExecutableNotFound):
                    raise
                return {"text/plain": INSTALL_DOT + "\n\n" + self.source}

    return Digraph


def size_to_str(size):
    return "(" + (", ").join(["%d" % v for v in size]) + ")"


def _saved_entries(fn):
    """(name, tensor-like) for each tensor the node saved, in torchviz's (alphabetical) order."""
    saved = fn._saved or ()
    names = type(fn).saved_fields
    entries = []
    for i, v in enumerate(saved):
        if isinstance(v, SavedOutput):
            name = "result"
        elif hasattr(v, "_grad_fn"):
            name = names[i] if names and i < len(names) else ("self" if len(saved) == 1 else
                                                             f"saved{i}")
        else:
            continue
        entries.append((name, v))
    return sorted(entries, key=lambda e: e[0])


def _attributes(fn):
    """The node's non-tensor attributes (torchviz's show_attrs) and its saved tensors."""
    attrs = {}
    if type(fn) is AccumulateGrad:
        return attrs
    for cls in type(fn).__mro__:
        if cls.__name__ in ("Node", "object"):
            break
        for slot in cls.__dict__.get("__slots__", ()):
            if slot.startswith("_") or slot in attrs:
                continue
            try:
                attrs[slot] = str(getattr(fn, slot))
            except AttributeError:
                continue
    for name, _ in _saved_entries(fn):
        attrs[name] = "[saved tensor]"
    names = type(fn).saved_fields
    for i, v in enumerate(fn._saved or ()):
        if isinstance(v, (int, float, bool)):
            attrs.setdefault(names[i] if names and i < len(names) else f"saved{i}", str(v))
    return dict(sorted(attrs.items()))


def get_fn_name(fn, show_attrs, max_attr_chars):
    name = str(type(fn).__name__)
    if not show_attrs:
        return name
    attrs = _attributes(fn)
    if not attrs:
        return name
    max_attr_chars = max(max_attr_chars, 3)
    col1width = max(len(k) for k in attrs.keys())
    col2width = min(max(len(str(v)) for v in attrs.values()), max_attr_chars)
    sep = "-" * max(col1width + col2width + 2, len(name))
    attrstr = "%-" + str(col1width) + "s: %" + str(col2width) + "s"

    def truncate(s):
        return s[:col2width - 3] + "..." if len(s) > col2width else s

    params = "\n".join(attrstr % (k, truncate(str(v))) for (k, v) in attrs.items())
    return name + "\n" + sep + "\n" + params


def make_dot(var, params=None, show_attrs=False, show_saved=False, max_attr_chars=50, *,
             show_values=False, show_grads=False):
    """Draw the autograd graph of `var` (a tensor or a tuple of tensors) as a graphviz.Digraph.

    Same signature and picture as torchviz.make_dot. chainrule adds:
      show_values: label tensors (and each backward node, with its forward output) with values;
                   small tensors in full, large ones as shape and summary.
      show_grads:  label them with gradients: leaves with `.grad`; if the graph has not been
                   backwarded yet, every node with the gradient backward would bring it (computed
                   without touching any `.grad`).
    Edges into an element-wise op from a smaller (broadcast) input say how backward sums the
    gradient back: "sum (2, 4) -> (4)".
    """
    from ..tensor import Tensor

    if params is not None:
        assert all(isinstance(p, Tensor) for p in params.values())
        param_map = {id(v): k for k, v in params.items()}
    else:
        param_map = {}

    node_attr = dict(style="filled", shape="box", align="left", fontsize="10", ranksep="0.1",
                     height="0.2", fontname="monospace")
    dot = _digraph_class()(node_attr=node_attr, graph_attr=dict(size="12,12"))
    outputs = list(var) if isinstance(var, tuple) else [var]
    book = GraphBook(outputs, params) if (show_values or show_grads) else None
    grads_by_edge = _gradients(outputs, book) if show_grads else {}
    seen = set()

    def get_var_name(v, name=None, key=None):
        if not name:
            name = param_map[id(v)] if id(v) in param_map else ""
        label = "%s\n %s" % (name, size_to_str(v.size()))
        if show_values:
            label += "\n= " + format_value(v._data)
        if show_grads:
            g = v._grad if v._grad is not None else None
            if g is not None:
                label += "\ngrad " + format_value(g._data)
            elif key is not None and key in grads_by_edge:
                label += "\ngrad " + format_value(grads_by_edge[key])
        return label

    def fn_label(fn):
        label = get_fn_name(fn, show_attrs, max_attr_chars)
        if type(fn) is AccumulateGrad:
            return label
        if show_values and book.value(fn, 0) is not None:
            label += "\n= " + format_value(book.value(fn, 0))
        if show_grads and (fn, 0) in grads_by_edge:
            label += "\ngrad " + format_value(grads_by_edge[(fn, 0)])
        return label

    def emit_saved(fn):
        for attr, val in _saved_entries(fn):
            ident = id(val)
            seen.add(ident)
            shaped = val if isinstance(val, Tensor) else Tensor._make(_saved_data(val))
            dot.edge(str(id(fn)), str(ident), dir="none")
            dot.node(str(ident), get_var_name(shaped, attr), fillcolor="orange")

    def emit(fn):
        """Emit fn and everything under it, in torchviz's depth-first order (without recursion,
        so that a graph of thousands of ops draws)."""
        stack = [(fn, None)]
        while stack:
            node, children = stack.pop()
            if children is None:
                if node in seen:
                    continue
                seen.add(node)
                if show_saved:
                    emit_saved(node)
                if type(node) is AccumulateGrad:
                    v = node.variable
                    seen.add(id(v))
                    dot.node(str(id(v)), get_var_name(v, key=(node, 0)), fillcolor="lightblue")
                    dot.edge(str(id(v)), str(id(node)))
                dot.node(str(id(node)), fn_label(node))
                children = iter(node.next_functions)
            for u in children:
                if u[0] is not None:
                    attrs = _broadcast_edge(node, u)
                    dot.edge(str(id(u[0])), str(id(node)), **attrs)
                    stack.append((node, children))
                    stack.append((u[0], None))
                    break

    def add_base_tensor(v, color="darkolivegreen1"):
        if id(v) in seen:
            return
        seen.add(id(v))
        key = (v._grad_fn, v._nr) if v._grad_fn is not None else None
        dot.node(str(id(v)), get_var_name(v, key=key), fillcolor=color)
        if v._grad_fn is not None:
            emit(v._grad_fn)
            dot.edge(str(id(v._grad_fn)), str(id(v)))
        base = v._extra.base if v._extra is not None else None
        if base is not None:
            add_base_tensor(base, color="darkolivegreen3")
            dot.edge(str(id(base)), str(id(v)), style="dotted")

    for v in outputs:
        add_base_tensor(v)
    resize_graph(dot)
    return dot


def _saved_data(val):
    data = getattr(val, "_data", None)
    return data if data is not None else val.data


def _broadcast_edge(node, edge):
    """Edge attributes showing a broadcast input's gradient being summed back to its shape."""
    fn, nr = edge
    if type(node).__name__ not in _BROADCASTING_OPS:
        return {}
    out_shape, in_shape = tuple(node._meta[0][0]), tuple(fn._meta[nr][0])
    if out_shape == in_shape:
        return {}
    return {"label": f"sum {size_to_str(out_shape)} -> {size_to_str(in_shape)}",
            "fontsize": "8", "fontname": "monospace", "color": "darkorange"}


def _gradients(outputs, book):
    """(node, nr) -> gradient arriving there, from a backward that touches no `.grad`.

    Empty when the graph was already freed by a backward (then only `.grad` fields are shown).
    """
    roots = [o for o in outputs if o._requires_grad and o._data.size == 1]
    if not roots or any(n._saved is None for n in book.nodes if type(n) is not AccumulateGrad):
        return {}
    try:
        record = run_recorded(roots, names=None, retain_graph=True, accumulate=False)
    except RuntimeError:
        return {}
    grads = {}
    for step in record.steps:
        if isinstance(step.upstream, np.ndarray):
            grads[(step.node, 0)] = step.upstream
        edges = [e for e in step.node.next_functions if e[0] is not None]
        for (fn, nr), flow in zip(edges, step.inputs):
            if isinstance(flow.downstream, np.ndarray):
                prev = grads.get((fn, nr))
                grads[(fn, nr)] = flow.downstream if prev is None else prev + flow.downstream
    return grads


def resize_graph(dot, size_per_element=0.15, min_size=12):
    """Resize the graph according to how much content it contains (as torchviz does)."""
    num_rows = len(dot.body)
    content_size = num_rows * size_per_element
    size = max(min_size, content_size)
    size_str = str(size) + "," + str(size)
    dot.graph_attr.update(size=size_str)
