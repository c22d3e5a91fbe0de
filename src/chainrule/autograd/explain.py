"""Explain a backward pass one node at a time, the way the lecture slides draw it.

    x, y, z = (torch.tensor(v, requires_grad=True) for v in (-2., 5., -4.))
    q = x + y
    f = q * z
    print(torch.autograd.explain(f))      # runs f.backward() and prints every step

Each step shows the node, its forward inputs and output, the upstream gradient arriving at it,
the local gradient (the Jacobian, in full when small) and the downstream gradient it sends to each
input. Tensors are named after the caller's variables (`q`, `z`...), as on the slides.

The explainer watches the engine through `engine._observers`; it never changes a gradient.
`GraphBook` (what the graph of a tensor holds: nodes, names, forward values) is shared with the
drawings and the HTML stepper in `chainrule.viz`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from . import engine, graph
from .function import BackwardCFunction
from .graph import AccumulateGrad, SavedOutput
from .math import ARRAY_MATH

# Jacobians are computed (one backward call per output element) and shown only when both the
# output and the input have at most this many elements; larger ones are described.
JACOBIAN_MAX_ELEMENTS = 16
# Values and gradients with more elements than this are kept as a summary only.
KEEP_MAX_ELEMENTS = 100_000

# How each node is written as an expression of its inputs' names.
_EXPRESSIONS = {
    "AddBackward0": "{0} + {1}", "SubBackward0": "{0} - {1}", "MulBackward0": "{0} * {1}",
    "DivBackward0": "{0} / {1}", "RsubBackward1": "c - {0}", "NegBackward0": "-{0}",
    "PowBackward0": "{0} ** p", "PowBackward1": "{0} ** {1}", "PowBackward2": "c ** {0}",
    "MmBackward0": "{0} @ {1}", "MatmulBackward0": "{0} @ {1}", "BmmBackward0": "{0} @ {1}",
    "MvBackward0": "{0} @ {1}", "DotBackward0": "{0} . {1}",
    "MaximumBackward0": "max({0}, {1})", "MinimumBackward0": "min({0}, {1})",
    "SumBackward0": "sum({0})", "SumBackward1": "sum({0}, dim)", "MeanBackward0": "mean({0})",
    "MeanBackward1": "mean({0}, dim)", "ClampBackward1": "clamp({0})",
}

# The gate patterns of the lecture: how a node's local gradient changes the upstream gradient.
GATE_PATTERNS = {
    "AddBackward0": "add gate: gradient distributor, every input gets the upstream gradient",
    "SubBackward0": "sub gate: a gets the upstream gradient, b gets it negated",
    "MulBackward0": "mul gate: gradient switcher, each input gets upstream x the other input",
    "MaximumBackward0": "max gate: gradient router, only the larger input gets the gradient",
    "MinimumBackward0": "min gate: gradient router, only the smaller input gets the gradient",
    "MaxBackward1": "max gate: gradient router, only the largest element gets the gradient",
    "MinBackward1": "min gate: gradient router, only the smallest element gets the gradient",
    "MaxBackward0": "max gate: gradient router, only the selected elements get the gradient",
    "AmaxBackward0": "max gate: gradient router, only the largest elements get the gradient",
    "ReluBackward0": "relu: passes the gradient where the input was positive, blocks it elsewhere",
    "ClampBackward1": "clamp: passes the gradient where the input was inside the bounds",
    "SumBackward0": "sum: copies the upstream gradient to every element",
    "SumBackward1": "sum: copies the upstream gradient along the summed dims",
    "MeanBackward0": "mean: every element gets upstream / N",
    "MeanBackward1": "mean: every element gets upstream / N along the reduced dims",
    "MmBackward0": "matmul: dA = G @ B^T, dB = A^T @ G",
    "SigmoidBackward0": "sigmoid: local gradient s * (1 - s)",
    "TanhBackward0": "tanh: local gradient 1 - t^2",
    "ExpBackward0": "exp: the local gradient is the output itself",
}


# -- formatting -------------------------------------------------------------------------------
def format_number(v) -> str:
    """3.0 -> '3', -0.33333 -> '-0.3333', 4517.29 -> '4517.2969' (as a learner writes them)."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if not np.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
        return f"{v:.4g}"
    return np.format_float_positional(v, precision=4, trim="-")


def format_value(value, max_items=8) -> str:
    """A tensor value in one line: in full when small, as shape plus summary when large."""
    if value is None:
        return "?"
    if isinstance(value, Summary):
        return str(value)
    a = np.asarray(value)
    if a.ndim == 0:
        return format_number(a.item())
    if a.size <= max_items:
        return _nested(a)
    return str(Summary.of(a))


def _nested(a):
    if a.ndim == 0:
        return format_number(a.item())
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


@dataclass
class Summary:
    """What is kept of a large tensor: its shape and a few statistics."""

    shape: tuple
    mean: float
    min: float
    max: float

    @classmethod
    def of(cls, a):
        a = np.asarray(a)
        if a.size == 0:
            return cls(a.shape, float("nan"), float("nan"), float("nan"))
        af = a.astype(np.float64)
        return cls(a.shape, float(af.mean()), float(af.min()), float(af.max()))

    def __str__(self):
        return (f"{shape_str(self.shape)} mean {format_number(self.mean)}, "
                f"min {format_number(self.min)}, max {format_number(self.max)}")


def keep(value):
    """A private copy of a value (an engine buffer may be reused), or a summary if large."""
    if value is None:
        return None
    a = np.asarray(getattr(value, "_data", value))
    if a.size > KEEP_MAX_ELEMENTS:
        return Summary.of(a)
    return np.array(a, copy=True)


def shape_of(value):
    if value is None:
        return None
    if isinstance(value, Summary):
        return tuple(value.shape)
    return tuple(np.shape(value))


# -- what a graph holds ---------------------------------------------------------------------------
def op_name(node) -> str:
    """'MulBackward0' -> 'mul', the short name used for unnamed results."""
    name = type(node).__name__
    cut = name.find("Backward")
    return (name[:cut] if cut > 0 else name).lower()


def rule_of(node) -> str:
    """The node's derivative rule: the first line of its class docstring."""
    doc = type(node).__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def caller_tensors(depth):
    """name -> Tensor for the tensors in the local variables of the frame `depth` levels up."""
    from ..tensor import Tensor

    frame = sys._getframe(depth + 1)
    found = {}
    for name, value in list(frame.f_locals.items()):
        if isinstance(value, Tensor) and not name.startswith("_"):
            found.setdefault(name, value)
    return found


class GraphBook:
    """The recorded graph behind some root tensors, with names and known forward values.

    Every tensor in the graph is identified by the edge that receives its gradient: (grad_fn,
    output nr) for results, (AccumulateGrad, 0) for leaves. `values` holds the forward values
    still recoverable: roots, leaves, tensors named by the caller, tensors saved for backward,
    and everything a `explain()` recording block saw being created.
    """

    def __init__(self, roots, names=None, recorded_values=None):
        self.roots = [r for r in roots]
        self.nodes = engine._collect([r._grad_fn if r._grad_fn is not None else
                                      graph.grad_accumulator(r) for r in self.roots
                                      if r._requires_grad])  # execution order
        self.values = {}
        self.names = {}
        if recorded_values:
            self.values.update({k: v for k, v in recorded_values.items()})
        for node in self.nodes:
            if type(node) is AccumulateGrad:
                self.values[(node, 0)] = keep(node.variable)
                extra = node.variable._extra
                if extra is not None and extra.name:
                    self.names.setdefault((node, 0), extra.name)
            self._saved_values(node)
        for r in self.roots:
            key = self.key_of(r)
            if key is not None:
                self.values[key] = keep(r)
        for name, t in (names or {}).items():
            key = self.key_of(t)
            if key is not None and key not in self.names:
                self.names[key] = name
                if t._grad_fn is not None:
                    self.values.setdefault(key, keep(t))
        self._name_the_rest()

    def _saved_values(self, node):
        saved = node._saved
        if not saved:
            return
        versions = node._versions or [None] * len(saved)
        for value, version in zip(saved, versions):
            if isinstance(value, SavedOutput):
                if version is None or value._vc[0] == version:
                    data = getattr(value, "_data", None)
                    if data is None:
                        data = getattr(value, "data", None)
                    self.values.setdefault((node, value.nr), keep(data))
            elif getattr(value, "_grad_fn", None) is not None:
                if version is None or value._vc[0] == version:
                    self.values.setdefault((value._grad_fn, value._nr), keep(value))

    def key_of(self, t):
        """The edge of tensor `t` in this graph, or None when `t` is not in it."""
        if t._grad_fn is not None:
            return (t._grad_fn, t._nr)
        acc = t._acc() if t._acc is not None else None
        return (acc, 0) if acc is not None else None

    def _name_the_rest(self):
        used = set(self.names.values())
        counts = {}
        for node in reversed(self.nodes):  # forward order: results are numbered as computed
            for nr in range(node.n_outputs):
                if (node, nr) in self.names:
                    continue
                base = "leaf" if type(node) is AccumulateGrad else op_name(node)
                counts[base] = counts.get(base, 0) + 1
                name = f"{base}{counts[base]}"
                while name in used:
                    counts[base] += 1
                    name = f"{base}{counts[base]}"
                used.add(name)
                self.names[(node, nr)] = name

    def name(self, node, nr=0):
        return self.names.get((node, nr), "?")

    def value(self, node, nr=0):
        return self.values.get((node, nr))

    def shape(self, node, nr=0):
        return tuple(node._meta[nr][0])

    def expression(self, node):
        """'q * z' for the node that computed f = q * z."""
        args = [self.name(fn, nr) if fn is not None else "c" for fn, nr in node.next_functions]
        template = _EXPRESSIONS.get(type(node).__name__)
        if template is not None and template.count("{") <= len(args):
            try:
                return template.format(*args)
            except IndexError:
                pass
        return f"{op_name(node)}({', '.join(args)})"


# -- the steps ------------------------------------------------------------------------------------
@dataclass
class InputFlow:
    """What one input of a node gives and gets in a backward step."""

    name: str
    value: object            # forward value (array, Summary, or None when not kept)
    shape: tuple
    local: object            # Jacobian d(output)/d(input), shape (out numel, in numel), or None
    local_text: str
    downstream: object       # gradient sent to the input, in the input's shape
    broadcast_from: tuple | None  # shape before backward summed it to the input's shape
    is_leaf: bool


@dataclass
class BackwardStep:
    """One node run by the engine: upstream gradient in, downstream gradients out."""

    index: int
    node: object
    op: str
    output_name: str
    output_value: object
    output_shape: tuple
    upstream: object
    expression: str
    rule: str
    gate: str
    inputs: list = field(default_factory=list)

    def to_dict(self, root_name):
        """Plain data for the HTML stepper (values as nested lists or text)."""
        return {
            "index": self.index, "op": self.op, "node": id(self.node),
            "output": self.output_name, "expression": self.expression, "rule": self.rule,
            "gate": self.gate, "output_value": format_value(self.output_value, 16),
            "output_shape": list(self.output_shape),
            "upstream": format_value(self.upstream, 16),
            "upstream_label": f"d{root_name}/d{self.output_name}",
            "inputs": [{
                "name": i.name, "value": format_value(i.value, 16), "shape": list(i.shape),
                "local": i.local_text, "local_label": f"d{self.output_name}/d{i.name}",
                "downstream": format_value(i.downstream, 16),
                "downstream_label": f"d{root_name}/d{i.name}",
                "broadcast_from": list(i.broadcast_from) if i.broadcast_from else None,
                "is_leaf": i.is_leaf,
            } for i in self.inputs],
        }


def local_jacobians(node):
    """d(output)/d(input) for each input of `node`, by one backward call per output element.

    Returns a list (one per input: an array of shape (out numel, in numel), or None), or None
    when the node is too large or is a user's custom Function (whose backward may have effects).
    """
    if isinstance(node, BackwardCFunction) or node._saved is None:
        return None
    outs = [node._meta[k] for k in range(node.n_outputs)]
    out_numel = sum(int(np.prod(shape)) for shape, _ in outs)
    ins = [fn._meta[nr] if fn is not None else None for fn, nr in node.next_functions]
    if out_numel > JACOBIAN_MAX_ELEMENTS or any(
            m is not None and int(np.prod(m[0])) > JACOBIAN_MAX_ELEMENTS for m in ins):
        return None
    rows = []
    try:
        for k, (shape, dtype) in enumerate(outs):
            for j in range(int(np.prod(shape))):
                grads = [np.zeros(s, d if d is not None else np.float64) for s, d in outs]
                grads[k].reshape(-1)[j] = 1
                result = node.backward(ARRAY_MATH, *grads)
                if type(result) is not tuple:
                    result = (result,) if len(node.next_functions) == 1 else tuple(result)
                row = []
                for g, meta in zip(result, ins):
                    if g is None or meta is None:
                        row.append(None)
                        continue
                    g = np.asarray(g)
                    if g.shape != tuple(meta[0]):
                        g = ARRAY_MATH.sum_to(np.broadcast_to(g, np.broadcast_shapes(
                            g.shape, meta[0])), tuple(meta[0]))
                    row.append(np.asarray(g, dtype=np.float64).reshape(-1))
                rows.append(row)
    except Exception:  # a rule that needs more than the saved values: describe instead
        return None
    jacobians = []
    for i in range(len(ins)):
        column = [r[i] for r in rows]
        jacobians.append(None if any(c is None for c in column) else np.stack(column))
    return jacobians


def describe_jacobian(jac, out_shape, in_shape, rule):
    """The local gradient in words a learner reads: a number, diag(...), or the matrix."""
    if jac is None:
        out_n, in_n = int(np.prod(out_shape)), int(np.prod(in_shape))
        return f"Jacobian {out_n}x{in_n}, not shown; rule: {rule}" if rule else \
            f"Jacobian {out_n}x{in_n}, not shown"
    if jac.size == 1:
        return format_number(jac.item())
    if jac.shape[0] == jac.shape[1] and np.count_nonzero(jac - np.diag(np.diag(jac))) == 0:
        diagonal = np.diag(jac).reshape(in_shape) if int(np.prod(in_shape)) == jac.shape[0] \
            else np.diag(jac)
        return f"diag({format_value(diagonal, 16)})"
    if np.all(jac == jac.flat[0]):
        return f"{format_number(jac.flat[0])} everywhere ({jac.shape[0]}x{jac.shape[1]})"
    if jac.size <= JACOBIAN_MAX_ELEMENTS:
        return format_value(jac, JACOBIAN_MAX_ELEMENTS)
    text = f"Jacobian {jac.shape[0]}x{jac.shape[1]} (.local has it)"
    return f"{text}; rule: {rule}" if rule else text


class _StepRecorder:
    """The engine observer: turns each executed node into a BackwardStep."""

    def __init__(self, book_factory):
        self.book_factory = book_factory  # called lazily: names may come after the forward
        self.raw = []

    def __call__(self, node, grads, grad_inputs):
        jacobians = local_jacobians(node)
        self.raw.append((node, [keep(g) for g in grads],
                         [keep(g) if g is not None else None for g in grad_inputs], jacobians))

    def steps(self, book):
        steps = []
        for index, (node, grads, grad_inputs, jacobians) in enumerate(self.raw, start=1):
            rule = rule_of(node)
            upstream = grads[0] if len(grads) == 1 else grads
            step = BackwardStep(
                index=index, node=node, op=type(node).__name__, output_name=book.name(node, 0),
                output_value=book.value(node, 0), output_shape=book.shape(node, 0),
                upstream=upstream, expression=book.expression(node), rule=rule,
                gate=GATE_PATTERNS.get(type(node).__name__, ""))
            for i, (fn, nr) in enumerate(node.next_functions):
                if fn is None:
                    continue  # an input that needs no gradient (a constant)
                in_shape = tuple(fn._meta[nr][0])
                g = grad_inputs[i] if i < len(grad_inputs) else None
                broadcast_from = None
                if isinstance(g, np.ndarray) and g.shape != in_shape:
                    broadcast_from = g.shape
                    g = ARRAY_MATH.sum_to(g, in_shape)
                elif isinstance(g, Summary) and tuple(g.shape) != in_shape:
                    broadcast_from = tuple(g.shape)
                    g = None
                jac = jacobians[i] if jacobians is not None else None
                step.inputs.append(InputFlow(
                    name=book.name(fn, nr), value=book.value(fn, nr), shape=in_shape, local=jac,
                    local_text=describe_jacobian(jac, step.output_shape, in_shape, rule),
                    downstream=g, broadcast_from=broadcast_from,
                    is_leaf=type(fn) is AccumulateGrad))
            steps.append(step)
        return steps


# -- the record -------------------------------------------------------------------------------
class BackwardExplanation:
    """Every backward step in execution order; `print()` it for the table.

    steps: list of BackwardStep. leaf_grads: name -> gradient this backward sent to each leaf.
    """

    def __init__(self, steps, book, root_name):
        self.steps = steps
        self.book = book
        self.root_name = root_name

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    def __getitem__(self, i):
        return self.steps[i]

    def step(self, output_name):
        """The step whose node computed the tensor named `output_name`."""
        for s in self.steps:
            if s.output_name == output_name:
                return s
        raise KeyError(f"no backward step computes {output_name!r}; steps compute: "
                       f"{', '.join(s.output_name for s in self.steps)}")

    @property
    def leaf_grads(self):
        """name -> the gradient this backward pass sent to each leaf (summed over paths)."""
        total = {}
        for s in self.steps:
            for i in s.inputs:
                if i.is_leaf and isinstance(i.downstream, np.ndarray):
                    total[i.name] = i.downstream if i.name not in total else total[i.name] + \
                        i.downstream
        return total

    def to_dicts(self):
        return [s.to_dict(self.root_name) for s in self.steps]

    def __repr__(self):
        return f"<BackwardExplanation of {self.root_name}: {len(self.steps)} steps>"

    def __str__(self):
        return self.table()

    def table(self) -> str:
        """The readable table: one block per node, in the order backward ran them."""
        L = self.root_name
        lines = []
        root_value = self.book.value(*self._root_key()) if self._root_key() else None
        head = f"Backward pass of {L}"
        if root_value is not None:
            head += f" = {format_value(root_value)}"
        lines.append(f"{head}: {len(self.steps)} steps, in the order backward runs them")
        lines.append("  upstream = gradient arriving from the output side, d" + L + "/d(output)")
        lines.append("  local = d(output)/d(input), downstream = upstream x local, sent to "
                     "the input")
        for s in self.steps:
            lines.append("")
            title = f"[{s.index}] {s.op}   {s.output_name} = {s.expression}"
            lines.append(title)
            if s.gate:
                lines.append(f"    {s.gate}")
            if s.rule:
                lines.append(f"    rule:     {s.rule}")
            forward = ", ".join(f"{i.name} = {format_value(i.value)}" for i in s.inputs)
            lines.append(f"    forward:  {forward}  ->  {s.output_name} = "
                         f"{format_value(s.output_value)}")
            lines.append(f"    upstream: d{L}/d{s.output_name} = {format_value(s.upstream)}")
            rows = [("input", "value", "local", "downstream")]
            for i in s.inputs:
                down = f"d{L}/d{i.name} = {format_value(i.downstream)}"
                if i.broadcast_from is not None:
                    down += (f"  (summed from {shape_str(i.broadcast_from)} to "
                             f"{shape_str(i.shape)}: broadcast in forward)")
                rows.append((i.name, format_value(i.value),
                             f"d{s.output_name}/d{i.name} = {i.local_text}", down))
            widths = [max(len(r[c]) for r in rows) for c in range(3)]
            for r in rows:
                lines.append("      " + "  ".join(r[c].ljust(widths[c]) for c in range(3))
                             + "  " + r[3])
        if any(i.value is None for s in self.steps for i in s.inputs) or any(
                s.output_value is None for s in self.steps):
            lines.append("")
            lines.append("? = a value the graph did not keep; run the forward inside "
                         "`with torch.autograd.explain() as record:` to see every value")
        grads = self.leaf_grads
        if grads:
            lines.append("")
            lines.append("Gradients sent to the leaves: " + ", ".join(
                f"{name}.grad += {format_value(g)}" for name, g in grads.items()))
        return "\n".join(lines)

    def _root_key(self):
        roots = self.book.roots
        if roots:
            return self.book.key_of(roots[0])
        if self.steps:
            return (self.steps[0].node, 0)
        return None


def run_recorded(roots, gradients=None, *, names=None, retain_graph=False, accumulate=True,
                 recorded_values=None, inputs=None):
    """Run backward from `roots` with the step recorder on; returns a BackwardExplanation.

    accumulate=False leaves every `.grad` untouched (the drawings use this).
    """
    from . import api

    roots = list(roots) if isinstance(roots, (list, tuple)) else [roots]
    book = GraphBook(roots, names, recorded_values)
    recorder = _StepRecorder(None)
    engine._observers.append(recorder)
    try:
        if accumulate:
            api.backward(roots, gradients, retain_graph=retain_graph, inputs=inputs)
        else:
            seeds = api._root_grads(roots, api._as_tuple(gradients) or (None,) * len(roots),
                                    False)
            engine.execute(api._roots(roots), seeds, retain_graph=retain_graph,
                           create_graph=False, accumulate=False)
    finally:
        engine._observers.remove(recorder)
    root_name = book.name(*book.key_of(roots[0])) if book.key_of(roots[0]) else "L"
    return BackwardExplanation(recorder.steps(book), book, root_name)


class ExplainRecorder:
    """`with explain() as record:` records forward values and every backward run in the block."""

    def __init__(self, names=None):
        self.names = names
        self.values = {}
        self.explanation = None
        self._recorder = _StepRecorder(None)
        self._prev_tracer = None
        self._roots = []

    def _trace(self, node, out, inputs):
        if self._prev_tracer is not None:
            self._prev_tracer(node, out, inputs)
        self.values[(node, out._nr)] = keep(out)
        self._roots.append(out)  # the last result created is the usual root

    def __enter__(self):
        self._prev_tracer = graph.set_tracer(self._trace)
        engine._observers.append(self._recorder)
        return self

    def __exit__(self, *exc):
        graph.set_tracer(self._prev_tracer)
        engine._observers.remove(self._recorder)
        names = self.names if self.names is not None else caller_tensors(1)
        roots = [self._roots[-1]] if self._roots else []
        if self._recorder.raw:
            first = self._recorder.raw[0][0]
            for t in reversed(self._roots):
                if t._grad_fn is first:
                    roots = [t]
                    break
        book = GraphBook(roots, names, self.values)
        root_name = book.name(*book.key_of(roots[0])) if roots and book.key_of(roots[0]) else "L"
        self.explanation = BackwardExplanation(self._recorder.steps(book), book, root_name)
        self._roots = []
        return False

    def __getattr__(self, name):  # record.steps, record.table()... once the block has ended
        if name.startswith("_") or self.__dict__.get("explanation") is None:
            raise AttributeError(name)
        return getattr(self.explanation, name)

    def __str__(self):
        return str(self.explanation) if self.explanation is not None else \
            "<explain() recording: still inside the with block>"

    def __len__(self):
        return len(self.explanation.steps) if self.explanation is not None else 0


def explain(loss=None, gradient=None, *, names=None, retain_graph=False, inputs=None):
    """Run `loss.backward()` and return a record of every step; `print()` it for the table.

    Gradients accumulate into `.grad` exactly as `loss.backward()` does. Tensors are named after
    the caller's local variables unless `names` (name -> tensor) is given.

    Without `loss`, returns a context manager that also records forward values of everything
    created inside the block, and every backward run in it:

        with torch.autograd.explain() as record:
            f = (x + y) * z
            f.backward()
        print(record)
    """
    if loss is None:
        return ExplainRecorder(names if names is not None else None)
    if names is None:
        names = caller_tensors(1)
    return run_recorded(loss, gradient, names=names, retain_graph=retain_graph, inputs=inputs)


__all__ = ["explain", "BackwardExplanation", "BackwardStep", "InputFlow", "GraphBook",
           "format_value", "format_number", "GATE_PATTERNS"]
