"""Graph passes. Each takes a Graph, rewrites it in place, and returns how many nodes it changed.

Every rewrite is exact: the optimized graph computes bit for bit what the traced one did (no
reassociation, no `x + 0 -> x`, which would turn -0.0 into +0.0). Buffer reuse is not a pass
over the IR but part of code generation (codegen.plan_buffers), since it is about memory.
"""
from __future__ import annotations

import numpy as np

from .ir import IMPURE_OPS, Graph, Node
from .kernels import OPS

OPAQUE_OPS = {"call", "inplace_call", "call_grad", "call_grad_backward"}
_NOT_FOLDABLE = {"input", "const", "random", "guard"} | OPAQUE_OPS | IMPURE_OPS


def _is_literal(v, number):
    return type(v) in (int, float) and v == number


def simplify(graph: Graph) -> int:
    """Algebraic simplification of trivial ops: x*1, x/1, x-0, x**1, -(-x), no-op views/casts."""
    mapping = {}

    def arg(n, i):
        a = n.args[i]
        return mapping.get(a, a) if isinstance(a, Node) else a

    for n in graph.nodes:
        op, target = n.op, None
        if op == "multiply":
            for i in (0, 1):
                if _is_literal(arg(n, 1 - i), 1) and isinstance(arg(n, i), Node):
                    target = arg(n, i)
                    break
        elif op in ("true_divide", "subtract", "power", "ndarray_pow") and len(n.args) == 2:
            neutral = 0 if op == "subtract" else 1
            if _is_literal(arg(n, 1), neutral) and isinstance(arg(n, 0), Node):
                target = arg(n, 0)
        elif op == "negative":
            inner = arg(n, 0)
            if isinstance(inner, Node) and inner.op == "negative" and isinstance(inner.args[0],
                                                                                 Node):
                target = mapping.get(inner.args[0], inner.args[0])
        elif op in ("reshape", "expand", "cast", "m.cast") or \
                (op == "permute" and tuple(n.attrs["dims"]) == tuple(range(len(n.attrs["dims"])))):
            target = arg(n, 0)
        elif op == "transpose":
            inner = arg(n, 0)
            if n.attrs["dim0"] == n.attrs["dim1"]:
                target = inner
            elif isinstance(inner, Node) and inner.op == "transpose" and \
                    {inner.attrs["dim0"], inner.attrs["dim1"]} == {n.attrs["dim0"], n.attrs["dim1"]}:
                target = mapping.get(inner.args[0], inner.args[0])
        # A replacement must hold exactly the same array type: same shape and dtype.
        if isinstance(target, Node) and target.shape == n.shape and target.dtype == n.dtype:
            mapping[n] = target
    graph.replace_all_uses(mapping)
    return len(mapping)


def fold_constants(graph: Graph) -> int:
    """Nodes whose inputs are all constants become constants (their traced value)."""
    folded = 0
    for i, n in enumerate(graph.nodes):
        if n.op in _NOT_FOLDABLE or not OPS[n.op].pure or not isinstance(n.value, np.ndarray):
            continue
        inputs = n.inputs()
        if inputs and all(x.op == "const" for x in inputs):
            n.op, n.args, n.attrs = "const", (), {}
            n.value = np.array(n.value, copy=True)
            folded += 1
    return folded


def _key(v):
    if isinstance(v, Node):
        return ("node", v.id)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__,) + tuple(_key(x) for x in v)
    if isinstance(v, slice):
        return ("slice", _key(v.start), _key(v.stop), _key(v.step))
    if isinstance(v, dict):
        return ("dict",) + tuple((k, _key(x)) for k, x in sorted(v.items()))
    if isinstance(v, np.dtype):
        return ("dtype", v.str)
    if isinstance(v, (int, float, bool, str, type(None))) or v is Ellipsis:
        return (type(v).__name__, v)
    return ("id", id(v))


def cse(graph: Graph) -> int:
    """Common-subexpression elimination: one node per (op, arguments) among pure ops."""
    seen, mapping = {}, {}
    for n in graph.nodes:
        if n.op == "input" or n.op in OPAQUE_OPS or n.op in IMPURE_OPS:
            continue
        n.replace_inputs(mapping)
        if n.op == "const":
            if n.value.size > 64:
                continue
            key = ("const", n.value.dtype.str, n.value.shape, n.value.tobytes())
        else:
            key = (n.op, _key(n.args), _key(n.attrs))
        first = seen.get(key)
        if first is None:
            seen[key] = n
        else:
            mapping[n] = first
    graph.replace_all_uses(mapping)
    return len(mapping)


def dce(graph: Graph) -> int:
    """Dead-code elimination: keep what outputs, effects and guards need."""
    live = set()
    stack = graph.roots()
    while stack:
        n = stack.pop()
        if n in live:
            continue
        live.add(n)
        stack.extend(n.inputs())
        if n.members:
            for m in n.members:
                stack.extend(m.inputs())
    before = len(graph.nodes)
    graph.nodes = [n for n in graph.nodes if n in live]
    graph.inputs = [n for n in graph.inputs if n in live]
    return before - len(graph.nodes)


def _fusable(n):
    opdef = OPS.get(n.op)
    return opdef is not None and opdef.elementwise and n.shape is not None and not n.members


def fuse_elementwise(graph: Graph) -> int:
    """Group chains (trees) of elementwise ops into 'fused' nodes.

    A node joins the group of the op that reads it when it is elementwise, has that op as its
    only user, has the same shape, and is not needed outside (not an output). A group has one
    result; its intermediates never leave it, so code generation can run the whole group in one
    buffer, in place: the NumPy form of a fused kernel.
    """
    users = graph.users()
    needed_outside = set(graph.roots())
    group_of: dict[Node, list] = {}
    for n in graph.nodes:
        if not _fusable(n):
            continue
        group = group_of.setdefault(n, [n])
        for p in n.inputs():
            if p in group_of and group_of[p] is group:
                continue
            if _fusable(p) and len(users.get(p, ())) == 1 and p not in needed_outside \
                    and p.shape == n.shape:
                other = group_of.setdefault(p, [p])
                merged = other + [m for m in group if m not in other]
                for m in merged:
                    group_of[m] = merged
                group = merged
    position = {n: i for i, n in enumerate(graph.nodes)}
    groups = {id(g): g for g in group_of.values() if len(g) > 1}
    if not groups:
        return 0
    replaced, mapping = {}, {}
    for g in groups.values():
        members = sorted(g, key=position.__getitem__)
        root = members[-1]
        inside = set(members)
        external = []
        for m in members:
            for x in m.inputs():
                if x not in inside and x not in external:
                    external.append(x)
        fused = Node("fused", tuple(external), {}, root.shape, root.dtype, root.value)
        fused.members = members
        replaced[root] = fused
        mapping[root] = fused
        for m in members[:-1]:
            replaced[m] = None
    graph.nodes = [replaced.get(n, n) for n in graph.nodes if replaced.get(n, n) is not None]
    # Uses outside the group now read the fused node; members keep reading each other.
    for n in graph.nodes:
        n.replace_inputs(mapping)
    graph.outputs = [mapping.get(n, n) for n in graph.outputs]
    for e in graph.effects:
        if e.node is not None:
            e.node = mapping.get(e.node, e.node)
    return sum(len(g) for g in groups.values())


def optimize(graph: Graph, fuse=True) -> dict:
    """Run the passes to a fixed point (fusion last). Returns the count per pass."""
    stats = {"simplify": 0, "fold_constants": 0, "cse": 0, "dce": 0, "fuse": 0}
    for _ in range(4):
        changed = 0
        for name, fn in (("simplify", simplify), ("fold_constants", fold_constants),
                         ("cse", cse), ("dce", dce)):
            count = fn(graph)
            stats[name] += count
            changed += count
        if not changed:
            break
    if fuse:
        stats["fuse"] = fuse_elementwise(graph)
    return stats
