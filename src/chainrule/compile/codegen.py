"""Code generation: an optimized Graph becomes one Python function over NumPy arrays.

The generated function has no Tensors and no Nodes in it: one line per op, ufuncs called with
`out=` buffers. Buffers come from a workspace that is allocated once per compiled graph and
reused on every call (`plan_buffers`): a value that dies at the op reading it lends its buffer
to that op's result (a fused chain runs in place in one buffer), and freed buffers are reused by
later values of the same shape and dtype. Values that leave the call (outputs, values saved for
backward, new `.grad` tensors) are never workspace buffers: they are fresh arrays.

`source` keeps the generated text, so it can be printed and read.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .ir import Graph, Node
from .kernels import OPS, guard

RETRACE = type("Retrace", (), {"__repr__": lambda self: "RETRACE"})()


class Kernel:
    """A generated function plus the workspace shapes it needs."""

    def __init__(self, fn, source, workspace):
        self.fn, self.source, self.workspace = fn, source, workspace
        self._pool = []

    def new_workspace(self):
        return tuple(np.empty(shape, dtype) for shape, dtype in self.workspace)

    def __call__(self, *args):
        pool = self._pool
        ws = pool.pop() if pool else self.new_workspace()
        try:
            return self.fn(ws, *args)
        finally:
            pool.append(ws)  # reentrant: a nested call simply takes another workspace


def _linear(graph):
    """Execution sequence with fused groups flattened; alias maps a fused node to its root."""
    seq, alias = [], {}
    for n in graph.nodes:
        if n.members:
            seq.extend(n.members)
            alias[n] = n.members[-1]
        else:
            seq.append(n)
    return seq, alias


def plan_buffers(seq, alias, escaping_nodes, live_to_end=()):
    """Assign workspace buffers. Returns ({node: buffer index}, [(shape, dtype)], foreign).

    escaping_nodes leave the call (never in the workspace); live_to_end are read by the
    effects after the last op (they may be in the workspace, but must survive to the end).

    `roots[n]` is the set of storages n's array may live in (views share their input's).
    """
    position = {n: i for i, n in enumerate(seq)}
    roots, foreign = {}, set()
    for n in seq:
        ins = [alias.get(x, x) for x in n.inputs()]
        if n.op in ("input", "const", "optim_step"):  # memory the call does not own
            roots[n] = {n}
            foreign.add(n)
        elif OPS[n.op].view or n.op in ("call", "inplace_call", "random", "call_grad",
                                                 "call_grad_backward"):
            roots[n] = set().union(*(roots[x] for x in ins)) | {n} if ins else {n}
        else:
            roots[n] = {n}
    end = len(seq) + 1
    last_use = {n: position[n] for n in seq}
    for n in seq:
        for x in n.inputs():
            x = alias.get(x, x)
            last_use[x] = max(last_use[x], position[n])
    for x in list(escaping_nodes) + list(live_to_end):
        last_use[alias.get(x, x)] = end
    storage_end = {}
    for n in seq:
        for r in roots[n]:
            storage_end[r] = max(storage_end.get(r, 0), last_use[n])
    escapes = {r for x in escaping_nodes for r in roots[alias.get(x, x)]}

    buffer_of, shapes, free = {}, [], {}
    releases = {}
    for r, e in storage_end.items():
        releases.setdefault(e, []).append(r)
    for n in seq:
        i = position[n]
        if OPS.get(n.op) is not None and OPS[n.op].out and n not in escapes \
                and n.shape is not None and n.dtype is not None:
            chosen = None
            if n.op != "matmul":  # an elementwise op may write over an input that dies here
                for x in n.inputs():
                    x = alias.get(x, x)
                    if x in buffer_of and roots[x] == {x} and storage_end[x] == i \
                            and x.shape == n.shape and x.dtype == n.dtype:
                        chosen = buffer_of[x]
                        storage_end[x] = -1  # handed over, not released
                        break
            if chosen is None:
                pool = free.get((n.shape, n.dtype))
                if pool:
                    chosen = pool.pop()
                else:
                    chosen = len(shapes)
                    shapes.append((n.shape, n.dtype))
            buffer_of[n] = chosen
        for r in releases.get(i, ()):
            if r in buffer_of and storage_end.get(r) == i:
                free.setdefault((r.shape, r.dtype), []).append(buffer_of[r])
    return buffer_of, shapes, foreign, roots


class _Writer:
    def __init__(self):
        self.lines, self.globals, self.names = [], {"_np": np, "_RETRACE": RETRACE,
                                                    "_guard": guard, "_make": Tensor._make}, {}
        self._bound = {}

    def bind(self, obj, prefix="_g"):
        key = id(obj)
        name = self._bound.get(key)
        if name is None:
            name = f"{prefix}{len(self._bound)}"
            self._bound[key] = name
            self.globals[name] = obj
        return name

    def lit(self, v):
        if isinstance(v, Node):
            return self.names[v]
        if v is None or isinstance(v, (bool, str)) or v is Ellipsis:
            return repr(v) if v is not Ellipsis else "Ellipsis"
        if isinstance(v, int):
            return repr(v)
        if isinstance(v, float):
            return repr(v) if math.isfinite(v) else self.bind(v, "_k")
        if isinstance(v, tuple):
            inner = ", ".join(self.lit(x) for x in v)
            return f"({inner}{',' if len(v) == 1 else ''})"
        if isinstance(v, list):
            return "[" + ", ".join(self.lit(x) for x in v) + "]"
        if isinstance(v, slice):
            return f"slice({self.lit(v.start)}, {self.lit(v.stop)}, {self.lit(v.step)})"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k!r}: {self.lit(x)}" for k, x in v.items()) + "}"
        return self.bind(v)

    def emit(self, line):
        self.lines.append("    " + line)


def _impl_name(w, op):
    impl = OPS[op].impl
    name = "_" + op.replace(".", "_")
    w.globals[name] = impl
    return name


class Context:
    """What effect and return writers need: node names, and which arrays are foreign."""

    def __init__(self, writer, roots, foreign, alias):
        self.w, self.roots, self.foreign, self.alias = writer, roots, foreign, alias

    def name(self, node):
        return self.w.names[self.alias.get(node, node)]

    def storage(self, node):
        return self.roots[self.alias.get(node, node)]

    def fresh(self, node):
        """An expression for `node` that owns its memory (copies inputs and constants)."""
        if self.storage(node) & self.foreign:
            return f"_np.array({self.name(node)}, copy=True)"
        if node.shape == ():  # ufuncs on 0-d arrays give NumPy scalars: tensors hold arrays
            return f"_np.asarray({self.name(node)})"
        return self.name(node)


def _updates_in_place(seq, alias, buffer_of, roots, escaping, write_targets, effect_nodes):
    """Note [Updates written in place]: an effect `param <- value` whose value is computed by an
    elementwise op into the workspace can write straight into the parameter's array (and skip
    the copy at the end) when nothing reads the parameter's old value after that op, and no
    output or other effect holds it. This is the optimizer step `w -= lr * g`: one pass less."""
    position = {n: i for i, n in enumerate(seq)}
    chosen = {}
    for value, old, target in write_targets:
        v, o = alias.get(value, value), alias.get(old, old)
        if v not in buffer_of or not OPS[v.op].elementwise or v in chosen:
            continue
        if v.shape != o.shape or v.dtype != o.dtype or o not in position:
            continue
        at = position[v]
        readers_after = [n for n in seq[at + 1:]
                         if any(o in roots[alias.get(x, x)] or alias.get(x, x) is v
                                for x in n.inputs())]
        held = [x for x in list(escaping) + [e for e in effect_nodes if e is not value]
                if x is not None and o in roots[alias.get(x, x)]]
        if not readers_after and not held:
            chosen[v] = target
    return chosen


def generate(graph: Graph, params, escaping, input_reads, prologue, effects, returns, name,
             live_to_end=(), write_targets=()):
    """Write and compile `def name(W, *params)`.

    escaping: nodes whose arrays leave the call; input_reads(w, node): the expression reading an
    input; prologue(w): guard lines run first; effects(ctx): lines run after every op;
    returns(ctx): the return expression; write_targets(w): (value, old input node, target array
    expression) for effects that may be written in place (Note [Updates written in place]).
    """
    seq, alias = _linear(graph)
    w = _Writer()
    buffer_of, shapes, foreign, roots = plan_buffers(seq, alias, escaping, live_to_end)
    in_place = _updates_in_place(seq, alias, buffer_of, roots, escaping,
                                 write_targets(w) if write_targets else (), live_to_end)
    for line in prologue(w):
        w.emit(line)
    if shapes:
        w.emit(", ".join(f"w{i}" for i in range(len(shapes))) + ("," if len(shapes) == 1 else "")
               + " = W")
    for n in seq:
        if n.op == "input":
            w.names[n] = f"v{n.id}"
            w.emit(f"v{n.id} = {input_reads(w, n)}")
            continue
        if n.op == "const":
            w.names[n] = w.bind(n.value, "_c")
            continue
    for n in graph.nodes:
        if n.members:
            w.names[n] = None  # set when its root is written
    members_root = {n.members[-1]: n for n in graph.nodes if n.members}
    members_first = {n.members[0]: n for n in graph.nodes if n.members}
    for n in seq:
        if n.op in ("input", "const"):
            continue
        if n in members_first:
            fused = members_first[n]
            w.emit(f"# fused kernel %{fused.id}: " + " -> ".join(m.op for m in fused.members))
        for x in n.inputs():
            if x in alias:
                w.names[x] = w.names[alias[x]]
        var = f"v{n.id}"
        w.names[n] = var
        args = [w.lit(a) for a in n.args]
        args += [f"{k}={w.lit(v)}" for k, v in n.attrs.items()]
        if n.op == "guard":
            w.emit(f"if not _guard({', '.join(args)}): return _RETRACE")
            continue
        if n.op == "tuple_get":
            w.emit(f"{var} = {w.lit(n.args[0])}[{n.attrs['index']}]")
            continue
        if n in in_place:
            args.append(f"out={in_place[n]}")
        elif n in buffer_of:
            args.append(f"out=w{buffer_of[n]}")
        w.emit(f"{var} = {_impl_name(w, n.op)}({', '.join(args)})")
        if n in members_root:
            w.names[members_root[n]] = var
    ctx = Context(w, roots, foreign, alias)
    ctx.in_place = in_place
    for line in effects(ctx):
        w.emit(line)
    w.emit("return " + returns(ctx))
    header = f"def {name}(W{''.join(', ' + p for p in params)}):"
    source = "\n".join([header] + w.lines) + "\n"
    namespace = dict(w.globals)
    exec(compile(source, f"<chainrule.compile {name}>", "exec"), namespace)
    return Kernel(namespace[name], source, shapes)
