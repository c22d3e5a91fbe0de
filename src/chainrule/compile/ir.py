"""The intermediate representation: a flat list of SSA nodes over NumPy arrays.

A `Node` is one value: the op that computes it, its arguments (other nodes or Python literals,
possibly nested in tuples, e.g. an index key), and the shape and dtype it has. A `Graph` is the
nodes in execution order plus what leaves the graph: outputs, write-backs into tensors the
function mutated (`Effect`), and guards that check what the trace assumed about values.

Printing a graph gives one line per node, so a student can read what was traced:

    %4 = matmul(%0, %1)              f32[64, 100]
    %5 = fused[clip -> multiply](%4) f32[64, 100]
"""
from __future__ import annotations

import itertools

import numpy as np

_ids = itertools.count()


class Source:
    """Where an input node's array comes from when the compiled function runs.

    kind 'arg': the tensor at position `index` of the flattened arguments; 'tensor': a tensor
    the function captured (closure, global, module attribute), held by reference in `obj`;
    'saved' / 'grad_out': inputs of a backward graph. field 'data' reads `t._data`, 'grad'
    reads `t._grad._data`.
    """

    __slots__ = ("kind", "index", "obj", "field")

    def __init__(self, kind, index=None, obj=None, field="data"):
        self.kind, self.index, self.obj, self.field = kind, index, obj, field

    def describe(self):
        where = {"arg": f"arg{self.index}", "saved": f"saved{self.index}",
                 "grad_out": f"grad_out{self.index}"}.get(self.kind)
        if where is None:
            name = getattr(getattr(self.obj, "_extra", None), "name", None)
            where = f"captured tensor {name or hex(id(self.obj))}"
        return where + (".grad" if self.field == "grad" else "")


class Node:
    """One SSA value. `args` hold Nodes and literals; `attrs` hold literals only."""

    __slots__ = ("id", "op", "args", "attrs", "shape", "dtype", "value", "origin", "members")

    def __init__(self, op, args=(), attrs=None, shape=None, dtype=None, value=None, origin=None):
        self.id = next(_ids)
        self.op, self.args, self.attrs = op, tuple(args), attrs or {}
        self.shape, self.dtype = shape, dtype
        self.value = value      # the array, for constants (and while tracing, for every node)
        self.origin = origin    # the user-level op this node came from (sigmoid -> 9 nodes)
        self.members = None     # for 'fused' nodes: the elementwise nodes they run, in order

    def inputs(self):
        """The nodes this node reads, in argument order (nested keys included)."""
        found = []
        _collect_nodes(self.args, found)
        return found

    def replace_inputs(self, mapping):
        if mapping:
            self.args = _substitute(self.args, mapping)

    def __repr__(self):
        return f"%{self.id}"


def _collect_nodes(obj, found):
    if isinstance(obj, Node):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            _collect_nodes(item, found)
    elif isinstance(obj, slice):
        _collect_nodes((obj.start, obj.stop, obj.step), found)


def _substitute(obj, mapping):
    if isinstance(obj, Node):
        return mapping.get(obj, obj)
    if isinstance(obj, tuple):
        return tuple(_substitute(item, mapping) for item in obj)
    if isinstance(obj, list):
        return [_substitute(item, mapping) for item in obj]
    return obj


class Effect:
    """A write the compiled function performs on a tensor outside it, after all guards pass.

    kind 'copy': copy `node` into the tensor's data (or, field 'grad', into its existing grad),
    in place, and bump its version counter; 'set_grad': bind a new `.grad` tensor made from
    `node`; 'clear_grad': set `.grad` to None.
    """

    __slots__ = ("kind", "source", "node")

    def __init__(self, kind, source, node=None):
        self.kind, self.source, self.node = kind, source, node


class Graph:
    """Nodes in execution order, plus outputs, effects and guards (guards are nodes too)."""

    def __init__(self, name="graph"):
        self.name = name
        self.nodes: list[Node] = []
        self.inputs: list[Node] = []      # op 'input' nodes, in the order the kernel receives them
        self.outputs: list[Node] = []
        self.effects: list[Effect] = []

    # -- queries ---------------------------------------------------------------------------
    def roots(self):
        """Nodes that must run: outputs, effect sources, guards and impure ops."""
        roots = list(self.outputs)
        roots += [e.node for e in self.effects if e.node is not None]
        roots += [n for n in self.nodes if n.op in IMPURE_OPS]
        return roots

    def users(self):
        users = {n: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs():
                users.setdefault(i, []).append(n)
        return users

    def replace_all_uses(self, mapping):
        """Point every use of a key node at its value node (outputs and effects included)."""
        if not mapping:
            return
        # Resolve chains a -> b -> c once, so each use is rewritten to the final node.
        def final(n):
            while n in mapping:
                n = mapping[n]
            return n

        flat = {k: final(k) for k in mapping}
        for n in self.nodes:
            n.replace_inputs(flat)
            if n.members:
                for m in n.members:
                    m.replace_inputs(flat)
        self.outputs = [flat.get(n, n) for n in self.outputs]
        for e in self.effects:
            if e.node is not None:
                e.node = flat.get(e.node, e.node)

    def op_counts(self):
        counts = {}
        for n in self.nodes:
            counts[n.op] = counts.get(n.op, 0) + 1
        return counts

    # -- printing --------------------------------------------------------------------------
    def format(self):
        lines = [f"graph {self.name}: {len(self.nodes)} nodes"]
        for n in self.nodes:
            lines.append(format_node(n))
            if n.members:
                for m in n.members:
                    lines.append("    | " + format_node(m))
        if self.outputs:
            lines.append("return " + ", ".join(repr(o) for o in self.outputs))
        for e in self.effects:
            target = e.source.describe()
            if e.kind == "clear_grad":
                lines.append(f"effect {target}.grad = None")
            elif e.kind == "set_grad":
                lines.append(f"effect {target}.grad = new tensor({e.node!r})")
            else:
                lines.append(f"effect {target} <- {e.node!r} (in place)")
        return "\n".join(lines)

    __str__ = format

    def __repr__(self):
        return f"<Graph {self.name}: {len(self.nodes)} nodes>"


IMPURE_OPS = {"guard", "random", "check_version", "optim_step"}


def format_type(shape, dtype):
    if shape is None:
        return "tuple"
    name = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64", np.dtype(np.int64): "i64",
            np.dtype(np.int32): "i32", np.dtype(np.bool_): "bool",
            np.dtype(np.float16): "f16"}.get(np.dtype(dtype) if dtype is not None else None,
                                              str(dtype))
    return f"{name}[{', '.join(str(s) for s in shape)}]"


def format_arg(a):
    if isinstance(a, Node):
        return repr(a)
    if isinstance(a, tuple):
        inner = ", ".join(format_arg(x) for x in a)
        return f"({inner}{',' if len(a) == 1 else ''})"
    if isinstance(a, list):
        return "[" + ", ".join(format_arg(x) for x in a) + "]"
    if isinstance(a, slice):
        parts = ["" if v is None else format_arg(v) for v in (a.start, a.stop)]
        text = ":".join(parts)
        return text + (f":{format_arg(a.step)}" if a.step is not None else "")
    if a is Ellipsis:
        return "..."
    if isinstance(a, np.ndarray):
        return f"array{format_type(a.shape, a.dtype)}"
    if callable(a):
        return getattr(a, "__name__", repr(a))
    return repr(a)


def format_node(n):
    if n.op == "input":
        text = f"%{n.id} = input {n.attrs['source'].describe()}"
    elif n.op == "const":
        v = n.value
        shown = repr(v.item()) if v.size == 1 else f"array{format_type(v.shape, v.dtype)}"
        text = f"%{n.id} = const {shown}"
    else:
        op = n.op
        if n.members:
            op = "fused[" + " -> ".join(m.op for m in n.members) + "]"
        elif n.op == "call":
            op = "call " + format_arg(n.attrs.get("fn"))
        args = [format_arg(a) for a in n.args]
        args += [f"{k}={format_arg(v)}" for k, v in n.attrs.items() if k not in ("fn", "impl")]
        text = f"%{n.id} = {op}({', '.join(args)})"
    text = text.ljust(44) + " " + format_type(n.shape, n.dtype)
    if n.origin and n.origin != n.op:
        text += f"   # {n.origin}"
    return text
