"""The compiled function at run time: signature -> cached trace -> generated kernels.

A call computes its signature (shapes, dtypes and requires_grad of the tensor arguments, the
values of Python scalars, the grad mode), finds the traces made for it, and runs the first whose
guards pass. No trace: `build` traces the function (that call runs eagerly, so it returns eager's
results), splits the traced graph into a forward and a backward graph, optimizes both and
generates their kernels. A compiled forward returns plain tensors; when they need a gradient
they share one `CompiledFunctionBackward` node, whose backward runs the backward kernel, so
`loss.backward()` fills `.grad` through the ordinary engine.
"""
from __future__ import annotations

import collections
import functools
import time

import numpy as np

from ..autograd import grad_mode
from ..autograd.graph import FREED_MESSAGE, Node, _next_seq, edge
from ..autograd.math import ARRAY_MATH
from ..tensor import Tensor
from . import passes, tracer
from .autodiff import trace_compiled_backward
from .codegen import RETRACE, generate
from .ir import Effect, Graph, Node as IRNode, Source, format_type
from .tracer import CompileError, Tracer

_grad_state = grad_mode.state
_make = Tensor._make


# -- signatures ---------------------------------------------------------------------------------
def _sig(x, tensors):
    if isinstance(x, Tensor):
        tensors.append(x)
        d = x._data
        return (d.shape, d.dtype, x._requires_grad)
    t = type(x)
    if t in (int, float, bool, str, type(None)):
        return (t, x)
    if isinstance(x, (tuple, list)):
        return (t,) + tuple(_sig(i, tensors) for i in x)
    if isinstance(x, dict):
        return (dict,) + tuple((k, _sig(v, tensors)) for k, v in x.items())
    return ("object", id(x))  # modules, functions...: the same object, by identity


def signature(args, kwargs):
    """(cache key, tensor arguments in order)."""
    tensors = []
    key = tuple(_sig(a, tensors) for a in args)
    if kwargs:
        key += (("kwargs",) + tuple((k, _sig(v, tensors)) for k, v in kwargs.items()),)
    return key + (_grad_state.enabled,), tensors


# -- output trees -------------------------------------------------------------------------------
def _flatten(obj, leaves):
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return ("T", len(leaves) - 1)
    if isinstance(obj, tuple):
        spec = tuple(_flatten(o, leaves) for o in obj)
        return ("tuple", type(obj), spec)
    if isinstance(obj, list):
        return ("list", [_flatten(o, leaves) for o in obj])
    if isinstance(obj, dict):
        return ("dict", [(k, _flatten(v, leaves)) for k, v in obj.items()])
    return ("value", obj)


def _unflatten(spec, values):
    kind = spec[0]
    if kind == "T":
        return values[spec[1]]
    if kind == "tuple":
        items = [_unflatten(s, values) for s in spec[2]]
        cls = spec[1]
        return tuple(items) if cls is tuple else (cls(*items) if hasattr(cls, "_fields")
                                                 else cls(items))
    if kind == "list":
        return [_unflatten(s, values) for s in spec[1]]
    if kind == "dict":
        return {k: _unflatten(s, values) for k, s in spec[1]}
    return spec[1]


# -- the backward node --------------------------------------------------------------------------
class CompiledFunctionBackward(Node):
    """The backward of one compiled call: runs the compiled backward graph for all outputs."""

    def backward(self, m, *grads):
        if m is not ARRAY_MATH:
            raise RuntimeError("double backward (create_graph=True) through a compiled function "
                               "is not supported; call the function uncompiled for that")
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for t, version in self._checks:
            if t._vc[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: a tensor of shape {list(t._data.shape)} read by a "
                    f"compiled function is at version {t._vc[0]}; expected version {version} "
                    "instead.")
        return self._kernel(saved, grads)


# -- one trace ----------------------------------------------------------------------------------
class CompiledTrace:
    """One traced variant: kernels, how to rebuild the outputs, and what it shows of itself."""

    def __init__(self):
        self.forward = self.backward = None
        self.out_tree = None
        self.out_specs = []         # ('node', k) | ('same', Source)
        self.diff_outputs = []      # positions (in out_specs) that get the backward node
        self.sinks = []             # Sources of the tensors that receive gradients
        self.version_sources = []   # Sources of inputs saved for backward by reference
        self.text = {}
        self.stats = {}
        self.trace_seconds = 0.0
        self.single_use = None      # why this trace is not replayed (then it is not cached)

    def _tensor(self, source, tensors):
        return tensors[source.index] if source.kind == "arg" else source.obj

    def run(self, tensors):
        make_node = self.backward is not None and _grad_state.enabled
        checks = None
        if make_node and self.version_sources:
            checks = [(t, t._vc[0]) for t in (self._tensor(s, tensors)
                                              for s in self.version_sources)]
        result = self.forward(*tensors)
        if result is RETRACE:
            return RETRACE
        outs, saved = result
        values = []
        for spec in self.out_specs:
            if spec[0] == "node":
                values.append(_make(outs[spec[1]]))
            else:
                values.append(self._tensor(spec[1], tensors))
        if make_node:
            node = CompiledFunctionBackward.__new__(CompiledFunctionBackward)
            node.next_functions = tuple(edge(self._tensor(s, tensors)) for s in self.sinks)
            node._saved = saved
            node._versions = None
            node._meta = tuple((values[k]._data.shape, values[k]._data.dtype)
                               for k in self.diff_outputs)
            node.n_outputs = len(self.diff_outputs)
            node._seq = _next_seq()
            node._hooks = node._pre_hooks = node._tensor_hooks = node._metadata = None
            node._checks = checks or ()
            node._kernel = self.backward
            for nr, k in enumerate(self.diff_outputs):
                t = values[k]
                t._grad_fn, t._requires_grad, t._nr = node, True, nr
        return _unflatten(self.out_tree, values)

    def report(self, source=False):
        """The graphs before and after optimization (and the generated code, if asked)."""
        parts = []
        for name in ("forward", "backward"):
            if name + " traced" not in self.text:
                continue
            parts.append(f"== {name}: traced ==\n{self.text[name + ' traced']}")
            stats = self.stats.get(name, {})
            done = ", ".join(f"{k} {v}" for k, v in stats.items() if v)
            parts.append(f"== {name}: optimized ({done or 'nothing to do'}) ==\n"
                         f"{self.text[name + ' optimized']}")
            if source:
                kernel = getattr(self, name)
                parts.append(f"== {name}: generated code ==\n{kernel.source}")
        return "\n\n".join(parts)


# -- building a trace ---------------------------------------------------------------------------
def build(fn, args, kwargs, tensors, fuse=True):
    """Trace `fn` on these arguments (an eager call) and compile it. Returns (result, trace)."""
    started = time.perf_counter()
    tr = Tracer()
    tr.start_seq = _next_seq()
    for i, t in enumerate(tensors):
        tr.touch(t, Source("arg", i))
    trace = CompiledTrace()
    marker = seed_nodes = grad_nodes = None
    with tracer.patched_ops():
        tracer.start(tr)
        try:
            result = fn(*args, **kwargs)
            leaves = []
            trace.out_tree = _flatten(result, leaves)
            out_nodes = []
            for t in leaves:
                info = tr.touched.get(id(t))
                if info is not None and tr.env.get(id(t._data)) is info.node:
                    trace.out_specs.append(("same", info.source))  # handed back unchanged
                else:
                    trace.out_specs.append(("node", len(out_nodes)))
                    out_nodes.append(tr.tensor_node(t))
            if _grad_state.enabled and not tr.ran_backward:
                diff = [k for k, (t, spec) in enumerate(zip(leaves, trace.out_specs))
                        if spec[0] == "node" and t._requires_grad]
                sinks = [info for info in tr.touched.values() if info.tensor._requires_grad
                         and info.source.field == "data"]
                if diff and sinks:
                    marker = len(tr.graph.nodes)
                    trace.diff_outputs = diff
                    trace.sinks = [info.source for info in sinks]
                    seed_nodes, grad_nodes = trace_compiled_backward(
                        tr, [leaves[k] for k in diff], [info.tensor for info in sinks])
        finally:
            tracer.stop()
    tr.opaque_grads.clear()  # (it holds tensors made by the trace)
    if tr.single_use is None:
        escaped = tracer.escaped_tensors(tr, leaves + [i.tensor for i in tr.touched.values()])
        if escaped:
            tr.single_use = (f"{len(escaped)} tensor(s) made during the call are kept outside "
                             "it (optimizer state, a cache...)")
    if tr.single_use is not None:
        # The call ran eagerly and is correct; its trace is not a faithful replay: not cached.
        trace.single_use = tr.single_use
        trace.trace_seconds = time.perf_counter() - started
        return result, trace
    effects, prologue = _effects_and_guards(tr)
    nodes = tr.graph.nodes
    forward = Graph("forward")
    forward.nodes = list(nodes if marker is None else nodes[:marker])
    forward.inputs = [n for n in forward.nodes if n.op == "input"]
    forward.effects = effects
    n_user = len(out_nodes)
    saved = []
    if marker is not None:
        backward, saved = _backward_graph(forward, nodes[marker:], seed_nodes, grad_nodes)
        trace.text["backward traced"] = backward.format()
        trace.stats["backward"] = passes.optimize(backward, fuse)
        saved = _prune_saved(backward, saved)
        trace.text["backward optimized"] = backward.format()
    forward.outputs = out_nodes + saved
    trace.text["forward traced"] = forward.format()
    trace.stats["forward"] = passes.optimize(forward, fuse)
    trace.text["forward optimized"] = forward.format()
    for n in forward.nodes + ([] if marker is None else backward.nodes):
        if n.op != "const":
            n.value = None  # traced values are no longer needed; keep memory low
    trace.forward = _forward_kernel(forward, len(tensors), n_user, prologue)
    if marker is not None:
        trace.backward = _backward_kernel(backward, len(seed_nodes), grad_nodes)
        trace.version_sources = [n.attrs["source"] for n in forward.outputs[n_user:]
                                 if n.op == "input" and n.attrs["source"].kind in ("arg", "tensor")]
    trace.trace_seconds = time.perf_counter() - started
    return result, trace


def _effects_and_guards(tr):
    """What the function did to outside tensors (effects), and what the trace assumed (guards)."""
    effects, guards = [], []
    for info in tr.touched.values():
        t, src = info.tensor, info.source
        if t._data is not info.data0:
            raise CompileError("a tensor's .data was rebound inside the compiled function; use "
                               "tensor.copy_(...) under no_grad() instead")
        final = tr.env.get(id(t._data))
        _check_untraced_write(tr, t, final)
        stepped = final is not None and final.op == "tuple_get" and \
            final.args[0].op == "optim_step"  # the optimizer wrote it in place itself
        if final is not None and final is not info.node and not stepped:
            effects.append(Effect("copy", src, final))
        g1, checks_grad = t._grad, info.grad_node is not None or info.guard_grad
        if g1 is info.grad0:
            if g1 is not None and info.grad_node is not None:
                final_g = tr.env.get(id(g1._data))
                _check_untraced_write(tr, g1, final_g)
                if final_g is not info.grad_node:
                    effects.append(Effect("copy", info.grad_source, final_g))
        else:
            checks_grad = True
            if g1 is None:
                effects.append(Effect("clear_grad", src))
            else:
                effects.append(Effect("set_grad", src, tr.tensor_node(g1)))
        if src.kind == "tensor":
            d = t._data
            guards.append(("tensor", src.obj, d.shape, d.dtype, t._requires_grad))
        if checks_grad:
            guards.append(("grad", src, info.grad0 is None))
    return effects, guards


def _check_untraced_write(tr, t, node):
    """An outside tensor must end the trace holding what the IR says it holds."""
    tr.check_version(t)
    if node is not None and isinstance(node.value, np.ndarray) and \
            not tracer._same_values(node.value, t._data):
        raise CompileError(
            "a tensor from outside the compiled function was modified by code that "
            "chainrule.compile does not trace, so a replay would not repeat the write. Use "
            "chainrule's in-place ops under no_grad() for updates (p.sub_(lr * p.grad)), or "
            "call that code outside the compiled function.")


def _backward_graph(forward, bw_nodes, seed_nodes, grad_nodes):
    """The nodes traced for backward, with the forward values they read turned into inputs."""
    backward = Graph("backward")
    in_forward = set(forward.nodes)
    mapping, saved, head = {}, [], []

    def bring(x):
        if x in mapping:
            return
        if x.op == "const":
            mapping[x] = IRNode("const", (), {}, x.shape, x.dtype, x.value)
        else:
            mapping[x] = IRNode("input", (), {"source": Source("saved", len(saved))}, x.shape,
                                x.dtype, x.value)
            saved.append(x)
        head.append(mapping[x])

    for n in bw_nodes:
        for x in n.inputs():
            if x in in_forward:
                bring(x)
    for g in grad_nodes:
        if g is not None and g in in_forward:
            bring(g)
    for n in bw_nodes:
        n.replace_inputs(mapping)
    backward.nodes = head + list(bw_nodes)
    backward.inputs = [n for n in backward.nodes if n.op == "input"]
    backward.outputs = [mapping.get(g, g) for g in grad_nodes if g is not None]
    backward.seed_nodes = seed_nodes
    return backward, saved


def _prune_saved(backward, saved):
    """Forward values the optimized backward still reads, renumbered in order."""
    kept = []
    for n in backward.inputs:
        src = n.attrs["source"]
        if src.kind == "saved":
            n.attrs["source"] = Source("saved", len(kept))
            kept.append(saved[src.index])
    return kept


def _read(w, node):
    src = node.attrs["source"]
    if src.kind == "arg":
        base = f"t{src.index}"
    elif src.kind == "tensor":
        base = w.bind(src.obj, "_o")
    elif src.kind == "saved":
        return f"S[{src.index}]"
    else:
        return f"G[{src.index}]"
    return base + ("._grad._data" if src.field == "grad" else "._data")


def _target(w, src):
    return f"t{src.index}" if src.kind == "arg" else w.bind(src.obj, "_o")


def _forward_kernel(graph, n_args, n_user, guards):
    def prologue(w):
        for guard in guards:
            if guard[0] == "tensor":
                _, obj, shape, dtype, rg = guard
                o = w.bind(obj, "_o")
                yield (f"if {o}._data.shape != {shape!r} or {o}._data.dtype != {w.bind(dtype)} "
                       f"or {o}._requires_grad is not {rg}: return _RETRACE")
            else:
                _, src, was_none = guard
                test = "is not None" if was_none else "is None"
                yield f"if {_target(w, src)}._grad {test}: return _RETRACE"

    def effects(ctx):
        written = {e.source.obj if e.source.kind == "tensor" else e.source.index
                   for e in graph.effects if e.kind == "copy"}
        written_inputs = {n for n in graph.inputs
                          if (n.attrs["source"].obj if n.attrs["source"].kind == "tensor"
                              else n.attrs["source"].index) in written}
        names = {}
        for e in graph.effects:
            if e.node is not None and ctx.storage(e.node) & written_inputs:
                var = f"e{len(names)}"
                names[e] = var
                yield f"{var} = _np.array({ctx.name(e.node)}, copy=True)"
        for e in graph.effects:
            target = _target(ctx.w, e.source)
            if e.kind == "clear_grad":
                yield f"{target}._grad = None"
            elif e.kind == "set_grad":
                value = names.get(e) or ctx.fresh(e.node)
                yield f"{target}._grad = _make({value})"
            else:
                value = names.get(e) or ctx.name(e.node)
                holder = target + ("._grad" if e.source.field == "grad" else "")
                if ctx.alias.get(e.node, e.node) not in ctx.in_place or e in names:
                    yield f"_np.copyto({holder}._data, {value})"
                yield f"{holder}._vc[0] += 1"

    def returns(ctx):
        outs = [ctx.fresh(n) for n in graph.outputs[:n_user]]
        saved = [ctx.name(n) for n in graph.outputs[n_user:]]
        return f"({''.join(o + ', ' for o in outs)}), ({''.join(s + ', ' for s in saved)})"

    escaping = list(graph.outputs) + [e.node for e in graph.effects if e.kind == "set_grad"]
    params = [f"t{i}" for i in range(n_args)]
    effect_values = [e.node for e in graph.effects if e.node is not None]
    def write_targets(w):
        """Effects `tensor.data <- value` with the input node that read the old data."""
        old_of = {}
        for n in graph.inputs:
            src = n.attrs["source"]
            if src.kind in ("arg", "tensor") and src.field == "data":
                old_of[(src.kind, src.index, id(src.obj))] = n
        for e in graph.effects:
            src = e.source
            if e.kind == "copy" and src.field == "data" and e.node is not None:
                old = old_of.get((src.kind, src.index, id(src.obj)))
                if old is not None:
                    yield e.node, old, f"{_target(w, src)}._data"

    return generate(graph, params, escaping, _read, prologue, effects, returns, "forward",
                    live_to_end=effect_values, write_targets=lambda w: list(write_targets(w)))


def _backward_kernel(graph, n_seeds, grad_nodes):
    present = [g is not None for g in grad_nodes]

    def returns(ctx):
        it = iter(graph.outputs)
        return "(" + "".join((ctx.fresh(next(it)) if p else "None") + ", " for p in present) + ")"

    return generate(graph, ["S", "G"], list(graph.outputs), _read, lambda w: (),
                    lambda ctx: (), returns, "backward")


# -- the user-facing object ---------------------------------------------------------------------
class CompiledFunction:
    """`chainrule.compile(fn)`: calls `fn` through traced, optimized, generated code.

    compiled.graph(*args)   the IR of the trace for these arguments, before/after optimization
    compiled.cache_info()   the cached signatures and their traces
    compiled.cache_clear()  forget every trace
    """

    def __init__(self, fn, *, cache_size=8, max_variants=8, fuse=True):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.cache_size, self.max_variants, self.fuse = cache_size, max_variants, fuse
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self.trace_count = 0
        self.single_use_count = 0   # traces that ran once and were not kept (see build)

    def __call__(self, *args, **kwargs):
        if tracer.active() is not None:  # inside another trace: inline, the outer one records
            return self.fn(*args, **kwargs)
        key, tensors = signature(args, kwargs)
        variants = self._cache.get(key)
        if variants is not None:
            for trace in variants:
                result = trace.run(tensors)
                if result is not RETRACE:
                    return result
        return self._trace(key, args, kwargs, tensors)

    def _trace(self, key, args, kwargs, tensors):
        result, trace = build(self.fn, args, kwargs, tensors, self.fuse)
        self.trace_count += 1
        if trace.single_use is not None:
            self.single_use_count += 1
            return result
        variants = self._cache.get(key)
        if variants is None:
            variants = self._cache[key] = []
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        variants.append(trace)
        if len(variants) > self.max_variants:
            variants.pop(0)
        return result

    def __get__(self, obj, objtype=None):
        """As a method decorator: bind like a function (one cache per compiled function)."""
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    # -- inspection ------------------------------------------------------------------------
    def traces(self, *args, **kwargs):
        """The traces cached for these arguments' signature (tracing them by a call if none)."""
        key, _ = signature(args, kwargs)
        if key not in self._cache:
            self(*args, **kwargs)
        return list(self._cache.get(key, ()))

    def graph(self, *args, source=False, **kwargs):
        """Printable IR of the trace for these arguments: before and after optimization.

        If the function was never called with this signature, this calls it once (which runs
        it, with its side effects, like any first call).
        """
        traces = self.traces(*args, **kwargs)
        return GraphReport(traces[-1].report(source) if traces else "(no trace)")

    def cache_info(self):
        entries = []
        for key, variants in self._cache.items():
            entries.append({"signature": _describe_key(key), "variants": len(variants),
                            "trace_seconds": [round(v.trace_seconds, 4) for v in variants]})
        return {"size": len(self._cache), "max_size": self.cache_size,
                "traces_made": self.trace_count, "entries": entries}

    def cache_clear(self):
        self._cache.clear()


class GraphReport(str):
    """A string that prints as the IR listing (so the REPL shows it readably)."""

    def __repr__(self):
        return str(self)


def _describe_key(key):
    *parts, grad_enabled = key
    shown = []
    for p in parts:
        if isinstance(p, tuple) and len(p) == 3 and isinstance(p[1], np.dtype):
            shown.append(format_type(p[0], p[1]) + (" requires_grad" if p[2] else ""))
        else:
            shown.append(repr(p))
    return f"({', '.join(shown)}) grad_mode={'on' if grad_enabled else 'off'}"
