"""Tracing: run the function once, eagerly, while every chainrule op is also written to the IR.

Note [How tracing intercepts ops]
While a trace runs (and only then), every public function of the op modules, the creation and
random functions, and the Tensor methods and operators installed from them are replaced by
wrappers (`patched_ops`). Eager mode pays nothing: outside a trace the originals are in place.
A wrapper always runs the real op first, so the traced call computes exactly what eager does
and builds the usual autograd graph; then it records the op:

  lowered    a recorder writes the op as IR nodes (a few NumPy calls each); every node is also
             evaluated at once and compared with the eager result, so a wrong lowering is caught
             here (the op then falls back to an opaque call) and never runs silently;
  composite  ops written only in terms of other ops (square, outer, flatten...): not recorded,
             the inner ops are;
  opaque     anything else: one 'call' node that runs the chainrule op at run time (correct for
             any pure op, just slower). An opaque op whose result needs a gradient is an error;
  inplace    recorded in functional form (a new value for the tensor) and written back to the
             tensor's memory at the end of the compiled call (`Effect`).

Values are tracked by the identity of their NumPy array (`env`), so tensors that share an array
(`t.data`, `t.detach()`) share an IR value. A tensor never seen before is captured by reference:
an 'input' node that reads its array on every call (parameters, globals, closures).

Note [Python values in a trace]
What the trace sees of Python is frozen: loops unroll, Python numbers become constants (numbers
passed as arguments are part of the cache key). A tensor's *value* turned into Python is caught:
`bool(t)` / `if t:` and `.item()` of an integer or bool tensor add a guard (the compiled call
checks the value and retraces on a mismatch); `.item()` of a float tensor, `float(t)`,
`.tolist()`, `.numpy()` raise CompileError, since no finite set of traces could cover them.
"""
from __future__ import annotations

import builtins
import gc
import os
import sys
import threading
import types
import weakref

import numpy as np

from ..autograd import composite as _composite
from .. import _dtype
from ..autograd.graph import _next_seq
from ..tensor import Tensor
from .ir import Graph, Node, Source
from .kernels import OPS


class CompileError(RuntimeError):
    """The function cannot be compiled as written (the message says why and what to do)."""


class _Mismatch(Exception):
    """A lowering disagreed with eager: the op falls back to an opaque call."""


_local = threading.local()


def active():
    """The tracer recording on this thread, or None."""
    return getattr(_local, "tracer", None)


def _tracing():
    return getattr(_local, "tracer", None) is not None


_composite.passthrough = _tracing  # composites show their ops to the trace


class Touched:
    """A tensor from outside the function that the trace read: how to reach it, what it was."""

    __slots__ = ("tensor", "source", "data0", "grad0", "node", "grad_source", "grad_node",
                 "version", "guard_grad")

    def __init__(self, tensor, source):
        self.tensor, self.source = tensor, source
        self.data0, self.grad0 = tensor._data, tensor._grad
        self.node = self.grad_source = self.grad_node = None
        self.version = tensor._vc[0]
        self.guard_grad = False  # guard whether .grad is None even if the trace never read it


class Tracer:
    """Records IR nodes while the function runs eagerly. See Note [How tracing intercepts ops]."""

    def __init__(self):
        self.graph = Graph("traced")
        self.env: dict[int, Node] = {}     # id(array) -> the node holding that array's value
        self.arrays: dict[int, np.ndarray] = {}  # keeps traced arrays alive (ids stay unique)
        self.touched: dict[int, Touched] = {}    # id(tensor) -> outside tensor
        self.stale: set[int] = set()
        self.depth = 0                     # > 0 while inside a recorded op (inner ops not recorded)
        self.ran_backward = False
        self.guard_count = 0
        self.start_seq = 0                 # autograd nodes numbered from here were made by the trace
        # Note [Tensors the trace did not record]: every tensor created while the trace runs,
        # id -> (weak reference, where it was made). A tensor in here whose array has no node
        # was made by code the tracer does not see: its value cannot be replayed.
        self.created: dict[int, tuple] = {}
        self.internal = 0                  # > 0 while the tracer evaluates nodes (not user code)
        self.versions: dict[int, tuple] = {}  # id(version counter) -> (counter, value seen)
        self.single_use = None             # why this trace may not be replayed (run once, eagerly)
        self.opaque_grads: dict = {}       # autograd node -> OpaqueGroup (opaque ops with grads)

    # -- building nodes --------------------------------------------------------------------
    def op(self, name, *args, origin=None, **attrs):
        """Append a node `name(*args, **attrs)`, evaluated now on the traced values."""
        impl = OPS[name].impl
        self.depth += 1
        self.internal += 1
        try:
            value = impl(*_values(args), **_values(attrs))
        except CompileError:
            raise
        except Exception as err:  # a lowering that cannot evaluate: let the op fall back
            raise _Mismatch(str(err)) from err
        finally:
            self.depth -= 1
            self.internal -= 1
        if isinstance(value, np.generic):
            value = np.asarray(value)
        shape = dtype = None
        if isinstance(value, np.ndarray):
            shape, dtype = value.shape, value.dtype
        node = Node(name, args, attrs, shape, dtype, value, origin)
        self.graph.nodes.append(node)
        return node

    def const(self, array):
        array = np.asarray(array)
        snapshot = np.array(array, copy=True)  # later in-place writes must not leak in
        node = Node("const", (), {}, array.shape, array.dtype, snapshot)
        self.graph.nodes.append(node)
        self.env[id(array)] = node
        self.arrays[id(array)] = array
        return node

    def input(self, array, source):
        # A snapshot: a later write to the array that the trace did not record shows up as a
        # difference at the end of the trace (runtime._check_untraced_write).
        node = Node("input", (), {"source": source}, array.shape, array.dtype,
                    np.array(array, copy=True))
        self.graph.nodes.append(node)
        self.graph.inputs.append(node)
        self.env[id(array)] = node
        self.arrays[id(array)] = array
        return node

    def bind(self, tensor, node):
        """Say that `tensor` (an eager result) holds `node`'s value, after checking it does."""
        arr = tensor._data
        value = node.value
        if not isinstance(value, np.ndarray) or value.shape != arr.shape \
                or value.dtype != arr.dtype or not _same_values(value, arr):
            raise _Mismatch(f"{node.op}: traced value differs from eager")
        self.env[id(arr)] = node
        self.arrays[id(arr)] = arr
        self.stale.discard(id(arr))
        self.versions[id(tensor._vc)] = (tensor._vc, tensor._vc[0])
        return node

    def tensor_of(self, node):
        """A chainrule tensor carrying `node`'s value (for backward formulas run in tensor mode)."""
        t = Tensor._make(node.value)
        self.env[id(node.value)] = node
        self.arrays[id(node.value)] = node.value
        return t

    # -- resolving arguments ---------------------------------------------------------------
    def val(self, x):
        """The IR form of an op argument: nodes for tensors and arrays, literals otherwise."""
        if isinstance(x, Tensor):
            return self.tensor_node(x)
        if isinstance(x, np.ndarray):
            node = self.env.get(id(x))
            return node if node is not None else self.const(x)
        if isinstance(x, tuple):
            return tuple(self.val(i) for i in x)
        if isinstance(x, list):
            return [self.val(i) for i in x]
        if isinstance(x, slice):
            return slice(self.val(x.start), self.val(x.stop), self.val(x.step))
        if isinstance(x, np.generic):
            return x.item()
        return x

    def tensor_node(self, t):
        key = id(t._data)
        if key in self.stale:
            raise CompileError(
                "a tensor was read after the memory it views was written in place inside the "
                "compiled function; chainrule.compile does not track writes through views. "
                "Write to the tensor itself, or use out-of-place ops.")
        node = self.env.get(key)
        if node is None:
            node = self.touch(t)
        else:
            self.check_version(t)
        return node

    def check_version(self, t):
        """Refuse a tensor written in place by code the trace did not record."""
        seen = self.versions.get(id(t._vc))
        if seen is not None and seen[0] is t._vc and seen[1] != t._vc[0]:
            raise CompileError(
                "a tensor was modified in place inside the compiled function by code that "
                "chainrule.compile does not trace (its version counter moved without a traced "
                "in-place op), so a replay would miss the write. Use chainrule's in-place ops "
                "(t.add_(...), t[i] = v...) or compute out of place.")

    def unrecorded(self, t):
        """CompileError for a tensor made during the trace by code the tracer did not record."""
        entry = self.created.get(id(t))
        origin = entry[1] if entry is not None else None
        where = f" by {origin}" if origin else ""
        grad_fn = t._grad_fn
        made = f" (grad_fn {type(grad_fn).__name__})" if grad_fn is not None else ""
        return CompileError(
            f"a tensor{made} was created inside the compiled function{where}, which "
            "chainrule.compile does not trace: a replay would reuse its trace-time value. "
            "Call chainrule ops through their public names at call time (not a reference "
            "saved before compiling, not NumPy on tensor internals), or compute the tensor "
            "outside the compiled function and pass it as an argument.")

    def touch(self, t, source=None):
        """Register a tensor from outside the function (captured by reference)."""
        if source is None and id(t) in self.created:
            raise self.unrecorded(t)
        info = self.touched.get(id(t))
        if info is None:
            info = self.touched[id(t)] = Touched(t, source or Source("tensor", obj=t))
        node = self.env.get(id(t._data))
        if node is None:
            node = self.input(t._data, info.source)
        if info.node is None:
            info.node = node
            info.version = t._vc[0]
        self.versions.setdefault(id(t._vc), (t._vc, t._vc[0]))
        self.check_version(t)
        return node

    def touch_grad(self, owner, grad):
        """Register `owner.grad` (read at run time through `owner`, never by identity)."""
        if id(grad._data) in self.env:
            return self.env[id(grad._data)]
        if id(owner) not in self.touched:
            if owner._grad_fn is not None and id(owner._data) in self.env:
                raise CompileError("reading .grad of a tensor computed inside the compiled "
                                   "function is not supported (retain_grad does not compile)")
            self.touch(owner)
        info = self.touched[id(owner)]
        if info.grad0 is not grad:
            raise CompileError("a .grad tensor replaced inside the compiled function was read "
                               "again; this pattern is not supported")
        src = info.source
        info.grad_source = Source(src.kind, src.index, src.obj, "grad")
        info.grad_node = self.input(grad._data, info.grad_source)
        self.versions.setdefault(id(grad._vc), (grad._vc, grad._vc[0]))
        return info.grad_node

    # -- in-place writes -------------------------------------------------------------------
    def assign(self, tensor, node):
        """`tensor` was just written in place and now holds `node`'s value."""
        arr = tensor._data
        if id(arr) not in self.env:
            self.tensor_node(tensor)
        self.bind(tensor, node)
        for key, other in self.arrays.items():
            if key != id(arr) and np.may_share_memory(other, arr):
                self.stale.add(key)  # views of the written memory now hold old values

    # -- guards on Python values -----------------------------------------------------------
    def guard(self, tensor, expected, kind):
        node = self.tensor_node(tensor)
        self.op("guard", node, expected=expected, kind=kind)
        self.guard_count += 1


def _values(obj):
    """Replace nodes by their traced values (nested)."""
    if isinstance(obj, Node):
        return obj.value
    if isinstance(obj, tuple):
        return tuple(_values(o) for o in obj)
    if isinstance(obj, list):
        return [_values(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _values(v) for k, v in obj.items()}
    if isinstance(obj, slice):
        return slice(_values(obj.start), _values(obj.stop), _values(obj.step))
    return obj


def _same_values(a, b):
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def _tensors_in(obj, found):
    if isinstance(obj, Tensor):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _tensors_in(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, found)
    return found


# -- the wrappers -------------------------------------------------------------------------------
def _lowered(fn, recorder):
    """Run `fn`; record it with `recorder(tr, out, *args, **kwargs)`, or opaquely if that fails."""

    def wrapper(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(*args, **kwargs)
        first_seq = _next_seq()  # nodes numbered from here on were made by this op
        out = _call_inside(tr, fn, args, kwargs)
        mark = len(tr.graph.nodes)
        tr.depth += 1  # helpers the recorder calls (normalize_index...) are not ops to record
        try:
            if recorder(tr, out, *args, **kwargs) is not NotImplemented \
                    and _saved_known(tr, _tensors_in(out, []), first_seq):
                return out
        except _Mismatch:
            pass
        finally:
            tr.depth -= 1
        del tr.graph.nodes[mark:]
        _record_opaque(tr, fn, args, kwargs, out)
        return out

    return _named(wrapper, fn)


def _call_inside(tr, fn, args, kwargs):
    """Run `fn` as one recorded step: the ops it calls itself are not recorded again."""
    tr.depth += 1
    try:
        return fn(*args, **kwargs)
    finally:
        tr.depth -= 1


def _opaque(fn, op="call"):
    def wrapper(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(*args, **kwargs)
        out = _call_inside(tr, fn, args, kwargs)
        _record_opaque(tr, fn, args, kwargs, out, op)
        return out

    return _named(wrapper, fn)


def _record_opaque(tr, fn, args, kwargs, out, op="call"):
    from ..autograd import grad_mode

    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "op"))
    results = _tensors_in(out, [])
    if grad_mode.state.enabled and op == "call" and any(
            t._grad_fn is not None and t._grad_fn._seq >= tr.start_seq for t in results):
        _record_opaque_grad(tr, fn, args, kwargs, out, name)
        return
    if not results:
        if isinstance(out, (builtins.bool, np.bool_)):
            node = tr.op(op, *tr.val(args), fn=fn, kwargs=tr.val(kwargs))
            tr.op("guard", node, expected=builtins.bool(out), kind="bool")
            tr.guard_count += 1
            return
        return  # a helper returning plain Python (shapes, normalized keys): nothing to record
    if op == "random" and isinstance(out, Tensor):
        # Drawing again to evaluate the node would move the generator: take eager's draw.
        node = Node("random", tuple(tr.val(args)), {"fn": fn, "kwargs": tr.val(kwargs)},
                    out._data.shape, out._data.dtype, out._data, name)
        tr.graph.nodes.append(node)
        tr.env[id(out._data)] = node
        tr.arrays[id(out._data)] = out._data
        return
    try:
        node = tr.op(op, *tr.val(args), fn=fn, kwargs=tr.val(kwargs), origin=name)
    except _Mismatch as err:
        raise CompileError(f"'{name}' could not be replayed inside a compiled function: "
                           f"{err}") from None
    if isinstance(out, Tensor):
        _bind_or_fail(tr, out, node, name)
        return
    flat = _flatten_tensors(out)
    for path, t in flat:
        item = node
        for index in path:
            item = tr.op("tuple_get", item, index=index)
        _bind_or_fail(tr, t, item, name)


class OpaqueGroup:
    """An opaque op with a gradient: its IR context node, its outputs' autograd edges (in the
    order `call_grad` lists them) and its differentiable inputs. The traced backward runs
    `call_grad_backward` for it where the engine would run the op's own nodes."""

    __slots__ = ("ctx", "outputs", "inputs", "done")

    def __init__(self, ctx, outputs, inputs):
        self.ctx, self.outputs, self.inputs, self.done = ctx, outputs, inputs, False


def _record_opaque_grad(tr, fn, args, kwargs, out, name):
    from .kernels import leaves

    flat = leaves((args, kwargs), [])
    grad_leaves = []
    inputs = []
    for i, x in enumerate(flat):
        if isinstance(x, Tensor) and x._requires_grad and all(x is not y for y in inputs):
            grad_leaves.append(i)
            inputs.append(x)
    try:
        both = tr.op("call_grad", *tr.val(args), fn=fn, kwargs=tr.val(kwargs),
                     grad_leaves=tuple(grad_leaves), origin=name)
    except _Mismatch as err:
        raise CompileError(f"'{name}' could not be replayed inside a compiled function: "
                           f"{err}") from None
    node = tr.op("tuple_get", both, index=0, origin=name)
    ctx = tr.op("tuple_get", both, index=1, origin=name)
    if isinstance(out, Tensor):
        _bind_or_fail(tr, out, node, name)
    else:
        for path, t in _flatten_tensors(out):
            item = node
            for index in path:
                item = tr.op("tuple_get", item, index=index)
            _bind_or_fail(tr, t, item, name)
    outputs = [t for t in leaves(out, []) if isinstance(t, Tensor)]
    group = OpaqueGroup(ctx, [(t._grad_fn, t._nr) if t._grad_fn is not None else None
                              for t in outputs], inputs)
    for edge_ in group.outputs:
        if edge_ is not None:
            tr.opaque_grads[edge_[0]] = group


def _saved_known(tr, results, first_seq):
    """True when every tensor the new autograd nodes of `results` saved has an IR value (a
    lowering leaves side values such as an index it reshaped unknown: then it is opaque)."""
    stack = [t._grad_fn for t in results if t._grad_fn is not None]
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen or node._seq < first_seq:
            continue
        seen.add(node)
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
        for v in node._saved or ():
            arr = getattr(v, "_data", None)
            if arr is None or not isinstance(arr, np.ndarray) or id(arr) in tr.env:
                continue
            base = arr.base
            if isinstance(base, np.ndarray) and id(base) in tr.env and base.size == arr.size \
                    and arr.flags.c_contiguous and base.flags.c_contiguous:
                view = tr.op("reshape", tr.env[id(base)], shape=arr.shape)
                tr.env[id(arr)] = view
                tr.arrays[id(arr)] = arr
                continue
            return False
    return True


def _bind_or_fail(tr, t, node, name):
    try:
        tr.bind(t, node)
    except _Mismatch:
        if node.op == "random":
            tr.env[id(t._data)] = node  # a random draw is replayed, not compared
            tr.arrays[id(t._data)] = t._data
            return
        raise CompileError(f"'{name}' gave different results when replayed: it is not a pure "
                           "function of its inputs, which chainrule.compile requires") from None


def _flatten_tensors(obj, path=()):
    if isinstance(obj, Tensor):
        return [(path, obj)]
    found = []
    if isinstance(obj, (tuple, list)):
        for i, o in enumerate(obj):
            found += _flatten_tensors(o, path + (i,))
    return found


def _creation(fn):
    """Creation functions make constants (unless they copy a traced tensor: then opaque)."""

    def wrapper(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(*args, **kwargs)
        out = _call_inside(tr, fn, args, kwargs)
        if fn.__name__.endswith("_like") or not _tensors_in((args, kwargs), []):
            if isinstance(out, Tensor):
                tr.const(out._data)
            return out
        if isinstance(out, Tensor) and any(out._data is t._data for t in _tensors_in(args, [])):
            return out  # as_tensor(t) returns t's own memory
        _record_opaque(tr, fn, args, kwargs, out)
        return out

    return _named(wrapper, fn)


def _inplace(fn, functional):
    """`t.op_(...)`: record `functional(t, ...)` as t's new value, then write it like eager."""

    def wrapper(t, *args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(t, *args, **kwargs)
        _check_inplace_allowed(t, args, fn)
        before = tr.tensor_node(t)
        mark = len(tr.graph.nodes)
        node = None
        if functional is not None:
            try:
                node = functional(tr, t, before, *args, **kwargs)
            except _Mismatch:
                node = None
            if node is None:
                del tr.graph.nodes[mark:]
        if node is None:
            node = tr.op("inplace_call", before, *tr.val(args), fn=fn, kwargs=tr.val(kwargs),
                         origin=fn.__name__)
        tr.depth += 1
        try:
            result = fn(t, *args, **kwargs)
        finally:
            tr.depth -= 1
        try:
            tr.assign(t, node)
        except _Mismatch:
            raise CompileError(f"in-place '{fn.__name__}' could not be traced") from None
        return result

    return _named(wrapper, fn)


def _check_inplace_allowed(t, args, fn):
    from ..autograd import grad_mode

    # A non-leaf written in place gets its new grad_fn from the eager op (CopySlices...), which
    # the traced backward runs like any node; a saved value it overwrote fails the version
    # check there, as in eager. Leaves requiring grad cannot be written (eager refuses too).
    if grad_mode.state.enabled and t._requires_grad and t._grad_fn is None:
        raise CompileError(
            f"in-place '{fn.__name__}' on a tensor that requires grad is not supported inside a "
            "compiled function; write it out of place (y = x + 1 instead of x.add_(1)), or do "
            "the update under no_grad().")


def _named(wrapper, fn):
    wrapper.__name__ = getattr(fn, "__name__", "op")
    wrapper.__qualname__ = getattr(fn, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    wrapper.__wrapped__ = fn
    return wrapper


# -- protocol: where tensor values turn into Python values ---------------------------------------
def _protocol_wrappers():
    orig_bool, orig_item = Tensor.__bool__, Tensor.item

    def traced_bool(self):
        tr = active()
        result = orig_bool(self)
        if tr is not None and not tr.depth:
            tr.guard(self, result, "bool")
        return result

    def traced_item(self):
        tr = active()
        result = orig_item(self)
        if tr is not None and not tr.depth:
            if self._data.dtype.kind in "fc":
                raise CompileError(
                    "float(tensor) / tensor.item() inside a compiled function turns a tensor "
                    "value into a Python number that the compiled graph would freeze. Return "
                    "the tensor and call .item() outside, or keep computing with tensors.")
            tr.guard(self, result, "item")
        return result

    def refuse(name, hint):
        orig = getattr(Tensor, name)

        def refused(self, *args, **kwargs):
            tr = active()
            if tr is not None and not tr.depth:
                raise CompileError(f"tensor.{name}() inside a compiled function leaves the "
                                   f"graph: its result would be frozen at trace time. {hint}")
            return orig(self, *args, **kwargs)

        return _named(refused, orig)

    def converter(name):
        orig = getattr(Tensor, name)

        def convert(self):
            tr = active()
            if tr is not None and not tr.depth:
                traced_item(self)  # guards an integer value, refuses a float one
            return orig(self)

        return _named(convert, orig)

    hint = "Return the tensor from the compiled function and convert it outside."
    return {
        "__bool__": _named(traced_bool, orig_bool), "item": _named(traced_item, orig_item),
        "__float__": converter("__float__"), "__int__": converter("__int__"),
        "__index__": converter("__index__"),
        "numpy": refuse("numpy", hint), "tolist": refuse("tolist", hint),
        "__array__": refuse("__array__", hint),
        "register_hook": refuse("register_hook", "Hooks do not compile."),
        "retain_grad": refuse("retain_grad", "retain_grad does not compile."),
    }


def _property_wrappers():
    grad_prop, data_prop = Tensor.grad, Tensor.data
    orig_detach = Tensor.detach

    def get_grad(self):
        g = grad_prop.fget(self)
        tr = active()
        if tr is not None and not tr.depth and g is not None:
            tr.touch_grad(self, g)
        return g

    def set_grad(self, value):
        tr = active()
        if tr is not None and not tr.depth:
            _touch_outside(tr, self)
            if value is not None:
                tr.val(value)
        grad_prop.fset(self, value)

    def get_data(self):
        tr = active()
        if tr is not None and not tr.depth:
            tr.tensor_node(self)
        return data_prop.fget(self)

    def set_data(self, value):
        tr = active()
        if tr is not None and not tr.depth:
            raise CompileError("assigning `tensor.data = ...` inside a compiled function is not "
                               "supported; use tensor.copy_(...) under no_grad().")
        data_prop.fset(self, value)

    def detach(self):
        tr = active()
        if tr is not None and not tr.depth:
            tr.tensor_node(self)
        return orig_detach(self)

    return {"grad": property(get_grad, set_grad, grad_prop.fdel),
            "data": property(get_data, set_data), "detach": _named(detach, orig_detach)}


def _touch_outside(tr, t):
    if id(t) not in tr.touched and id(t._data) not in tr.env:
        tr.touch(t)


# -- installing the wrappers --------------------------------------------------------------------
_PATCH_LOCK = threading.RLock()
_patch_depth = 0
_saved_attrs: list = []
_restore_optim = None


def _namespaces():
    import chainrule
    from .. import creation, random, ops, autograd
    from ..autograd import api
    from ..nn import functional
    from ..ops import arith, pointwise, reduce, linalg, shape, inplace
    from ..autograd import engine
    from ..nn import _ops as nn_ops

    return [arith, pointwise, reduce, linalg, shape, inplace, ops, chainrule, functional,
            creation, random, autograd, api, engine, nn_ops]


_WRAPPERS = None


def _build_wrappers():
    """original function -> wrapper, for every op the tracer knows how to treat."""
    from .. import creation, random
    from ..ops import arith, pointwise, reduce, linalg, shape, inplace
    from ..nn import _ops as nn_ops
    from . import autodiff, lowering

    wrappers = {}
    for module in (arith, pointwise, reduce, linalg, shape, nn_ops):
        for name, fn in vars(module).items():
            if name.startswith("_") or not callable(fn) or isinstance(fn, type) \
                    or getattr(fn, "__module__", None) != module.__name__ or fn in wrappers:
                continue
            short = module.__name__.rsplit(".", 1)[-1]
            key = f"{short}.{getattr(fn, '__name__', name)}"
            if key in lowering.COMPOSITE or f"{short}.{name}" in lowering.COMPOSITE:
                continue
            recorder = lowering.RECORDERS.get(f"{short}.{name}") or lowering.RECORDERS.get(key)
            wrappers[fn] = _lowered(fn, recorder) if recorder else _opaque(fn)
    for name, fn in vars(inplace).items():
        if callable(fn) and not isinstance(fn, type) and name.endswith("_") \
                and getattr(fn, "__module__", None) == inplace.__name__ \
                and name not in lowering.COMPOSITE_INPLACE:
            wrappers[fn] = _inplace(fn, lowering.functional_form(name))
    wrappers[inplace.setitem] = _inplace(inplace.setitem, lowering.functional_form("setitem"))
    for name, fn in vars(creation).items():
        if callable(fn) and not name.startswith("_") and not isinstance(fn, type) \
                and getattr(fn, "__module__", None) == creation.__name__:
            wrappers[fn] = _creation(fn)
    for name in ["rand", "randn", "randint", "randperm", "rand_like", "randn_like",
                 "randint_like", "normal", "bernoulli", "multinomial"]:
        fn = getattr(random, name, None)
        if fn is not None:
            wrappers[fn] = _opaque(fn, op="random")
    for name in ["normal_", "uniform_", "random_", "bernoulli_", "exponential_"]:
        fn = getattr(random, name, None)
        if fn is not None:
            wrappers[fn] = _random_inplace(fn)
    wrappers.update(autodiff.backward_wrappers())
    return wrappers


def _random_inplace(fn):
    def wrapper(t, *args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(t, *args, **kwargs)
        _check_inplace_allowed(t, args, fn)
        before = tr.tensor_node(t)
        from .kernels import _run_then_return_self

        tr.depth += 1
        try:
            result = fn(t, *args, **kwargs)
        finally:
            tr.depth -= 1
        node = Node("random", (before,) + tuple(tr.val(args)),
                    {"fn": _copy_then(_run_then_return_self(fn)), "kwargs": tr.val(kwargs)},
                    t._data.shape, t._data.dtype, t._data.copy(), fn.__name__)
        tr.graph.nodes.append(node)
        tr.env[id(t._data)] = node
        tr.versions[id(t._vc)] = (t._vc, t._vc[0])
        return result

    return _named(wrapper, fn)


def _copy_then(fn):
    def run(t, *args, **kwargs):
        return fn(t.clone(), *args, **kwargs)

    run.__name__ = fn.__name__
    return run


# -- seeing every tensor the trace creates (Note [Tensors the trace did not record]) -------------
# Every chainrule tensor is made by `Tensor._make` (ops, creation, the engine; modules keep their
# own references to it, e.g. `_make = Tensor._make`) or by the legacy constructor
# `Tensor.__init__`. While a trace runs, and only then, the code of `_make`'s function object is
# swapped for a template that calls `_on_make`, so every reference to it, saved anywhere, is
# covered; eager mode runs the original code object untouched (no hook, no check).
_MAKE_FN = Tensor.__dict__["_make"].__func__
_MAKE_CODE = _MAKE_FN.__code__
_make_original = type(_MAKE_FN)(_MAKE_CODE, _MAKE_FN.__globals__, "_make",
                                _MAKE_FN.__defaults__, _MAKE_FN.__closure__)


def _make_template(cls, data, requires_grad=False, vc=None, *, _chainrule_compile_hook):
    return _chainrule_compile_hook(cls, data, requires_grad, vc)


def _on_make(cls, data, requires_grad=False, vc=None):
    t = _make_original(cls, data, requires_grad, vc)
    tr = active()
    if tr is not None and not tr.internal:
        _note_created(tr, t)
    return t


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _note_created(tr, t):
    origin = None
    if not tr.depth:  # outside every recorded op: say which code made it (for the error)
        frame, inside = sys._getframe(2), None
        while frame is not None:
            filename = frame.f_code.co_filename
            if not filename.startswith(_PACKAGE_DIR):
                break
            if os.sep + "compile" + os.sep not in filename:
                inside = frame
            frame = frame.f_back
        if inside is not None:
            origin = (f"'{inside.f_code.co_name}' "
                      f"({os.path.relpath(inside.f_code.co_filename, _PACKAGE_DIR)})")
            if frame is not None:
                origin += f" called from {frame.f_code.co_filename}:{frame.f_lineno}"
        elif frame is not None:
            origin = f"code at {frame.f_code.co_filename}:{frame.f_lineno}"
    tr.created[id(t)] = (weakref.ref(t), origin)


def _traced_init(orig_init):
    def __init__(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        tr = active()
        if tr is not None and not tr.internal:
            _note_created(tr, self)
            if not tr.depth and id(self._data) not in tr.env and not _tensors_in(args, []):
                tr.const(self._data)  # Tensor([1., 2.]), Tensor(2, 3): a constant

    return __init__


def _install_creation_hooks():
    _MAKE_FN.__code__ = _make_template.__code__
    _MAKE_FN.__kwdefaults__ = {"_chainrule_compile_hook": _on_make}
    orig_init = Tensor.__dict__["__init__"]
    _saved_attrs.append((Tensor, "__init__", orig_init))
    Tensor.__init__ = _named(_traced_init(orig_init), orig_init)


def _remove_creation_hooks():
    _MAKE_FN.__code__ = _MAKE_CODE
    _MAKE_FN.__kwdefaults__ = None


def escaped_tensors(tr, kept):
    """Tensors made by the trace that are still alive but not reachable from `kept` (the
    outputs, `.grad` of touched tensors) through values the trace knows about: something
    outside the function holds them (optimizer state, a cache, a global list), so a replay,
    which would not make them again, is not the same as a call."""
    def alive():
        return [t for t in (ref() for ref, _ in tr.created.values()) if t is not None]

    candidates = alive()
    if not candidates:
        return []
    reach = _reachable(kept, tr.start_seq)
    found = [t for t in candidates if id(t) not in reach]
    if found:  # reference cycles may keep dead tensors: collect them, then look again
        del found
        gc.collect()
        found = [t for t in alive() if id(t) not in reach]
    return found


def _reachable(kept, start_seq):
    seen, nodes = set(), set()
    stack = list(kept)
    while stack:
        obj = stack.pop()
        if isinstance(obj, Tensor):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj._grad is not None:
                stack.append(obj._grad)
            extra = obj._extra
            if extra is not None and extra.base is not None:
                stack.append(extra.base)
            if obj._grad_fn is not None:
                stack.append(obj._grad_fn)
        elif obj is not None and not isinstance(obj, (tuple, list)):
            variable = getattr(obj, "variable", None)  # AccumulateGrad: a leaf made inside
            if variable is not None:
                stack.append(variable)
            if id(obj) in nodes or getattr(obj, "_seq", -1) < start_seq:
                continue
            nodes.add(id(obj))
            stack.extend(v for v in (getattr(obj, "_saved", None) or ()) if isinstance(v, Tensor))
            stack.extend(fn for fn, _ in obj.next_functions if fn is not None)
        else:
            stack.extend(obj)
    return seen


class patched_ops:
    """Context manager: install the tracing wrappers (re-entrant; restored on exit)."""

    def __enter__(self):
        global _patch_depth, _WRAPPERS
        _PATCH_LOCK.acquire()
        if _patch_depth == 0:
            if _WRAPPERS is None:
                _WRAPPERS = _build_wrappers()
            _install(_WRAPPERS)
            _install_creation_hooks()
            from .optim import install

            global _restore_optim
            _restore_optim = install()
        _patch_depth += 1
        return self

    def __exit__(self, *exc):
        global _patch_depth
        _patch_depth -= 1
        if _patch_depth == 0:
            _remove_creation_hooks()
            _restore_optim()
            while _saved_attrs:
                owner, name, value = _saved_attrs.pop()
                setattr(owner, name, value)
        _PATCH_LOCK.release()
        return False


def _install(wrappers):
    for module in _namespaces():
        for name, value in list(vars(module).items()):
            try:
                wrapped = wrappers.get(value)
            except TypeError:  # unhashable module attribute
                continue
            if wrapped is not None:
                _saved_attrs.append((module, name, value))
                setattr(module, name, wrapped)
    special = {**_protocol_wrappers(), **_property_wrappers()}
    for name, value in list(vars(Tensor).items()):
        replacement = special.get(name)
        if replacement is None:
            if isinstance(value, property) and value.fget in wrappers:
                replacement = property(wrappers[value.fget])
            elif name.startswith("new_"):
                replacement = _new_method(value)
            else:
                try:
                    replacement = wrappers.get(value) or _rebound(value, wrappers)
                except TypeError:
                    continue
        if replacement is not None:
            _saved_attrs.append((Tensor, name, value))
            setattr(Tensor, name, replacement)


def _rebound(fn, wrappers):
    """A method made by a factory around an op (`__rpow__ = _swap(pow)`, `float =
    _cast_method(...)`) holds the original op in its closure: the same function with the
    wrapper in that cell instead, so the op is recorded (else its result would be unrecorded)."""
    cells = getattr(fn, "__closure__", None)
    if not cells or not isinstance(fn, types.FunctionType):
        return None
    contents = []
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:
            return None
        try:
            contents.append(wrappers.get(value, value))
        except TypeError:
            contents.append(value)
    if all(c is cell.cell_contents for c, cell in zip(contents, cells)):
        return None
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                             tuple(types.CellType(c) for c in contents))
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__qualname__ = fn.__qualname__
    return new


def _new_method(fn):
    """`t.new_zeros(...)`, `t.new_tensor(data)`...: constants (opaque if data holds tensors)."""
    def wrapper(self, *args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return fn(self, *args, **kwargs)
        tr.depth += 1
        try:
            out = fn(self, *args, **kwargs)
        finally:
            tr.depth -= 1
        if _tensors_in((args, kwargs), []):
            _record_opaque(tr, fn, (self,) + args, kwargs, out)
        elif isinstance(out, Tensor):
            tr.const(out._data)
        return out

    return _named(wrapper, fn)


def start(tracer):
    _local.tracer = tracer


def stop():
    _local.tracer = None


def default_float():
    return _dtype.get_default_dtype().np
