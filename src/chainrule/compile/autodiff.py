"""The backward pass, traced: the engine's walk, run on the graph the traced forward built.

Every node's `backward(m, *grads)` is written once against a math namespace (Note [Two math
modes] in autograd/graph.py). Here it runs with `TracingMath`: gradients are `_BwTensor`s whose
operators record NumPy ufunc nodes, and `m.sum`, `m.expand`... record nodes whose implementation
is ARRAY_MATH's own function. So the traced backward performs the very NumPy calls a plain eager
`backward()` performs, in the same order and with the same dtype promotions: compiled gradients
equal eager ones bit for bit, not just within a tolerance.

The walk mirrors autograd/engine.py `execute`: nodes in decreasing sequence number, gradients
summed at forks, each gradient reduced to its input's shape and dtype (`_validate`). Nodes made
before the trace started (the graph of a non-leaf input) and leaves' AccumulateGrad nodes are
the sinks where the traced walk stops.
"""
from __future__ import annotations

import numpy as np

from .. import _errors
from ..autograd.graph import AccumulateGrad, SavedOutput, edge, grad_accumulator
from ..tensor import Tensor
from .ir import Source
from .tracer import CompileError, active


class _BwTensor(Tensor):
    """A gradient while tracing the backward: operators record NumPy ufuncs (array semantics)."""

    __slots__ = ()
    __hash__ = Tensor.__hash__


def _bw_binary(ufunc, reflected=False):
    def op(self, other):
        tr = active()
        a, b = tr.val(self), tr.val(other)
        return bw_tensor(tr, tr.op(ufunc, b, a) if reflected else tr.op(ufunc, a, b))

    return op


def _bw_unary(ufunc):
    def op(self):
        tr = active()
        return bw_tensor(tr, tr.op(ufunc, tr.val(self)))

    return op


for _name, _ufunc in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                      ("truediv", "true_divide"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                      ("matmul", "matmul")]:
    setattr(_BwTensor, f"__{_name}__", _bw_binary(_ufunc))
    setattr(_BwTensor, f"__r{_name}__", _bw_binary(_ufunc, reflected=True))
for _name, _ufunc in [("eq", "equal"), ("ne", "not_equal"), ("lt", "less"), ("le", "less_equal"),
                      ("gt", "greater"), ("ge", "greater_equal")]:
    setattr(_BwTensor, f"__{_name}__", _bw_binary(_ufunc))
_BwTensor.__pow__ = _bw_binary("ndarray_pow")
_BwTensor.__rpow__ = _bw_binary("ndarray_pow", reflected=True)
_BwTensor.__neg__ = _bw_unary("negative")
_BwTensor.__abs__ = _bw_unary("absolute")
_BwTensor.__invert__ = _bw_unary("invert")


def _saved_array(saved):
    data = getattr(saved, "_data", None)
    return saved.data if data is None else data


def bw_tensor(tr, node):
    t = _BwTensor._make(node.value)
    tr.env[id(node.value)] = node
    tr.arrays[id(node.value)] = node.value
    return t


def _as_bw(tr, value):
    """A saved value or number as backward formulas see it."""
    if isinstance(value, _BwTensor) or value is None:
        return value
    if isinstance(value, SavedOutput):
        arr = _saved_array(value)
        if id(arr) not in tr.env:
            raise CompileError("internal: a value saved for backward was not traced")
        t = _BwTensor._make(arr)
        return t
    if isinstance(value, Tensor):
        tr.tensor_node(value)
        return _BwTensor._make(value._data)
    return value


class TracingMath:
    """The math namespace of a traced backward. See the module docstring."""

    tensor_mode = True
    records_graph = False  # a compiled backward is not differentiated again
    _ELEMENTWISE = {"exp": "exp", "log": "log", "sign": "sign", "cos": "cos", "sin": "sin",
                    "abs": "absolute", "floor": "floor"}

    def __init__(self, tr):
        self.tr = tr

    def unpack(self, value, node):
        return _as_bw(self.tr, value)

    @staticmethod
    def to_tensor(g):
        return g

    @staticmethod
    def from_tensor(g):
        return g

    def zeros(self, shape, dtype):
        tr = self.tr
        return bw_tensor(tr, tr.const(np.zeros(shape, dtype)))

    def all(self, x):
        raise CompileError("this op's backward branches on tensor values (prod with zeros); it "
                           "cannot be compiled. Compute it outside the compiled function.")

    def _record(self, op, *args, **attrs):
        tr = self.tr
        return bw_tensor(tr, tr.op(op, *tr.val(args), **attrs))

    def __getattr__(self, name):
        if name in self._ELEMENTWISE:
            return lambda x: self._record(self._ELEMENTWISE[name], x)
        raise AttributeError(name)

    def where(self, cond, a, b):
        return self._record("where", cond, a, b)

    def matmul(self, a, b):
        return self._record("matmul", a, b)

    def mT(self, x):
        return self._record("transpose", x, dim0=-1, dim1=-2)

    def reshape(self, g, shape):
        return self._record("reshape", g, shape=tuple(shape))

    def transpose(self, g, d0, d1):
        if g._data.ndim == 0:
            return g
        return self._record("transpose", g, dim0=d0, dim1=d1)

    def permute(self, g, dims):
        return self._record("permute", g, dims=tuple(dims))

    def unsqueeze(self, g, dim):
        return self._record("expand_dims", g, axis=dim)

    def expand(self, g, shape):
        return self._record("expand", g, shape=tuple(shape))

    def sum(self, x, dims=None, keepdim=False):
        return self._record("accurate_sum", x, axis=dims, keepdims=keepdim)

    def mean(self, x, dims=None, keepdim=False):
        return self._record("m.mean", x, dims, keepdim)

    def prod(self, x, dim):
        return self._record("m.prod", x, dim)

    def getitem(self, g, key):
        return self._record("m.getitem", g, key)

    def index_zeros(self, shape, key, g, accumulate):
        return self._record("m.index_zeros", tuple(shape), key, g, accumulate)

    def scatter_zeros(self, shape, dim, index, g):
        return self._record("m.scatter_zeros", tuple(shape), dim, index, g)

    def gather(self, g, dim, index):
        return self._record("m.gather", g, dim, index)

    def cat(self, gs, dim):
        return self._record("m.cat", list(gs), dim)

    def stack(self, gs, dim):
        return self._record("m.stack", list(gs), dim)

    def flip(self, g, dims):
        return self._record("m.flip", g, dims)

    def cumsum(self, g, dim):
        return self._record("m.cumsum", g, dim)

    def clone(self, g):
        return g  # values are immutable in the IR

    def sum_to(self, g, shape):
        if g._data.shape == tuple(shape):
            return g
        return self._record("m.sum_to", g, tuple(shape))

    def cast(self, g, dtype):
        return self._record("cast", g, dtype=dtype)


# -- the walk -----------------------------------------------------------------------------------
def _collect(roots, start_seq):
    """Trace-made nodes reachable from `roots`, and the sinks below them, in execution order."""
    seen, order = set(), []
    stack = [fn for fn, _ in roots if fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        if _is_sink(node, start_seq):
            continue
        for fn, _ in node.next_functions:
            if fn is not None and fn not in seen:
                stack.append(fn)
    order.sort(key=lambda n: n._seq, reverse=True)
    return order


def _is_sink(node, start_seq):
    return type(node) is AccumulateGrad or node._seq < start_seq


def run_backward(tr, roots, root_grads, start_seq, *, release):
    """Trace the backward from `roots` (edges) seeded with `root_grads` (_BwTensors).

    Returns {sink node: [gradient per output]}; sinks are AccumulateGrad nodes and nodes made
    before the trace started.
    """
    m = TracingMath(tr)
    buffers, sinks = {}, {}
    for (fn, nr), g in zip(roots, root_grads):
        _add(buffers, fn, nr, g)
    for node in _collect(roots, start_seq):
        group = tr.opaque_grads.get(node)
        if group is not None:
            if not group.done:
                _opaque_backward(tr, m, group, buffers)
            continue
        grads = buffers.pop(node, None)
        if grads is None:
            continue
        if _is_sink(node, start_seq):
            sinks[node] = grads
            continue
        if node._tensor_hooks is not None or node._pre_hooks is not None \
                or node._hooks is not None:
            raise CompileError("backward hooks do not compile; remove the hook or call the "
                               "function uncompiled")
        if node.n_outputs > 1:
            grads = [g if g is not None else m.zeros(*node._meta[i])
                     for i, g in enumerate(grads)]
        grad_inputs = node.backward(m, *grads)
        if type(grad_inputs) is not tuple:
            grad_inputs = (grad_inputs,) if len(node.next_functions) == 1 else tuple(grad_inputs)
        if release:
            node.release()
        for (fn, nr), g in zip(node.next_functions, grad_inputs):
            if fn is None or g is None:
                continue
            _add(buffers, fn, nr, _validate(tr, m, node, _as_bw(tr, g), fn._meta[nr]))
    return sinks


def _opaque_backward(tr, m, group, buffers):
    """An opaque op's nodes, run as one `call_grad_backward` (see tracer.OpaqueGroup).

    Every consumer of its outputs was made after it, so their gradients are complete when the
    walk (decreasing sequence numbers) meets the first of its output nodes."""
    group.done = True
    taken = {}
    for edge_ in group.outputs:
        if edge_ is not None and edge_[0] not in taken:
            taken[edge_[0]] = buffers.pop(edge_[0], None)
    grads = []
    for edge_ in group.outputs:
        buf = taken.get(edge_[0]) if edge_ is not None else None
        grads.append(buf[edge_[1]] if buf is not None else None)
    if all(g is None for g in grads):
        return
    present = [edge(t)[0] is not None for t in group.inputs]
    node = tr.op("call_grad_backward", group.ctx, [tr.val(g) for g in grads],
                 present=tuple(present), origin="opaque backward")
    for i, (t, wanted) in enumerate(zip(group.inputs, present)):
        if not wanted:
            continue
        g = bw_tensor(tr, tr.op("tuple_get", node, index=i))
        fn, nr = edge(t)
        _add(buffers, fn, nr, _validate(tr, m, None, g, fn._meta[nr]))


def _add(buffers, fn, nr, g):
    buf = buffers.get(fn)
    if buf is None:
        buf = buffers[fn] = [None] * fn.n_outputs
    buf[nr] = g if buf[nr] is None else buf[nr] + g


def _validate(tr, m, node, g, meta):
    """engine._validate: reduce a broadcast gradient to the input's shape, cast to its dtype."""
    shape, dtype = meta
    if g._data.shape != shape:
        if not _errors.broadcastable_to(shape, g._data.shape):
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient - got "
                               f"{list(g._data.shape)} but expected shape compatible with "
                               f"{list(shape)}")
        g = m.sum_to(g, shape)
    if g._data.dtype != dtype:
        g = m.cast(g, dtype)
    return g


# -- backward() and autograd.grad() called inside a traced function ---------------------------
def _seeds(tr, outputs, grad_tensors):
    from ..autograd.api import _roots

    roots = _roots(outputs)
    seeds = []
    for out, g in zip(outputs, grad_tensors):
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(_errors.SCALAR_GRAD)
            seeds.append(bw_tensor(tr, tr.const(np.ones(out._data.shape, out._data.dtype))))
        else:
            node = tr.val(g)
            if node.dtype != out._data.dtype:
                node = tr.op("cast", node, dtype=out._data.dtype)
            seeds.append(bw_tensor(tr, node))
    return roots, seeds


def traced_backward(tr, tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                    grad_variables=None, inputs=None):
    """`loss.backward()` inside a compiled function: accumulate into `.grad` as eager does."""
    if create_graph:
        raise CompileError("backward(create_graph=True) inside a compiled function is not "
                           "supported (higher-order gradients do not compile)")
    if inputs:
        raise CompileError("backward(inputs=...) inside a compiled function is not supported")
    outputs = tuple(tensors) if isinstance(tensors, (tuple, list)) else (tensors,)
    grad_tensors = grad_tensors if grad_tensors is not None else grad_variables
    if grad_tensors is None:
        grad_tensors = (None,) * len(outputs)
    elif not isinstance(grad_tensors, (tuple, list)):
        grad_tensors = (grad_tensors,)
    roots, seeds = _seeds(tr, outputs, grad_tensors)
    sinks = run_backward(tr, roots, seeds, tr.start_seq, release=not retain_graph)
    for node, grads in sinks.items():
        if type(node) is not AccumulateGrad:
            raise CompileError("backward() inside a compiled function reached a graph built "
                               "outside it; detach the inputs or call backward outside")
        _accumulate(tr, node.variable, grads[0])
    tr.ran_backward = True


def _accumulate(tr, variable, g):
    """engine._store_grad in array mode: a new `.grad`, or an in-place add into the old one."""
    extra = variable._extra
    if extra is not None and (extra.hooks or extra.post_acc_hooks):
        raise CompileError("gradient hooks on leaves do not compile")
    node = tr.tensor_node(g)
    current = variable._grad
    if current is None:
        fresh = np.array(g._data, copy=True)
        variable._grad = Tensor._make(fresh)
        tr.env[id(fresh)] = node
        tr.arrays[id(fresh)] = fresh
        return
    before = tr.touch_grad(variable, current) if id(current._data) not in tr.env \
        else tr.env[id(current._data)]
    new = tr.op("add", before, node, origin="accumulate grad")
    if new.dtype != current._data.dtype:
        new = tr.op("cast", new, dtype=current._data.dtype)
    np.add(current._data, g._data, out=current._data, casting="unsafe")
    current._vc[0] += 1
    tr.assign(current, new)


def traced_grad(tr, outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                only_inputs=True, allow_unused=None, is_grads_batched=False,
                materialize_grads=False):
    """`autograd.grad(...)` inside a compiled function: the gradients, as traced tensors."""
    if create_graph:
        raise CompileError("autograd.grad(create_graph=True) does not compile")
    single = isinstance(inputs, Tensor)
    outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
    inputs = (inputs,) if single else tuple(inputs)
    grad_outputs = grad_outputs if grad_outputs is not None else (None,) * len(outputs)
    if not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = (grad_outputs,)
    roots, seeds = _seeds(tr, outputs, grad_outputs)
    start = tr.start_seq
    sinks = run_backward(tr, roots, seeds, start, release=not retain_graph)
    results = []
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        key, nr = (grad_accumulator(t), 0) if t._grad_fn is None else (t._grad_fn, t._nr)
        if t._grad_fn is not None and t._grad_fn._seq >= start:
            raise CompileError("autograd.grad with respect to a tensor computed inside the "
                               "compiled function is not supported")
        g = sinks.get(key, [None] * (nr + 1))[nr]
        if g is None:
            if materialize_grads:
                g = bw_tensor(tr, tr.const(np.zeros_like(t._data)))
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        results.append(None if g is None else _plain(tr, g))
    return tuple(results)


def _plain(tr, g):
    t = Tensor._make(np.array(g._data, copy=True))
    tr.env[id(t._data)] = tr.tensor_node(g)
    tr.arrays[id(t._data)] = t._data
    return t


def trace_compiled_backward(tr, outputs, sink_tensors):
    """For a compiled forward: trace d(outputs)/d(sinks) with one placeholder seed per output.

    Returns (seed input nodes, [gradient node or None per sink]).
    """
    roots = [edge(t) for t in outputs]
    seeds, seed_nodes = [], []
    for k, t in enumerate(outputs):
        node = tr.input(np.ones(t._data.shape, t._data.dtype), Source("grad_out", k))
        seed_nodes.append(node)
        seeds.append(bw_tensor(tr, node))
    sinks = run_backward(tr, roots, seeds, tr.start_seq, release=False)
    grads = []
    for t in sink_tensors:
        key, nr = (grad_accumulator(t), 0) if t._grad_fn is None else (t._grad_fn, t._nr)
        g = sinks.get(key, [None] * (nr + 1))[nr]
        grads.append(None if g is None else tr.tensor_node(g))
    return seed_nodes, grads


def backward_wrappers():
    """Wrappers for autograd.backward / autograd.grad, installed while tracing."""
    from ..autograd import api
    from .tracer import _named

    orig_backward, orig_grad = api.backward, api.grad

    def backward(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return orig_backward(*args, **kwargs)
        return traced_backward(tr, *args, **kwargs)

    def grad(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return orig_grad(*args, **kwargs)
        return traced_grad(tr, *args, **kwargs)

    orig_method = Tensor.__dict__["backward"]

    def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        tr = active()
        if tr is None or tr.depth:
            return orig_method(self, gradient, retain_graph, create_graph, inputs)
        return traced_backward(tr, self, gradient, retain_graph, create_graph, inputs=inputs)

    from ..autograd import engine

    orig_execute = engine.execute

    def execute(*args, **kwargs):
        tr = active()
        if tr is None or tr.depth:
            return orig_execute(*args, **kwargs)
        raise CompileError("a backward pass was started inside the compiled function by code "
                           "that chainrule.compile does not trace (a direct engine call); use "
                           "loss.backward(), autograd.backward or autograd.grad")

    return {orig_backward: _named(backward, orig_backward), orig_grad: _named(grad, orig_grad),
            orig_method: _named(tensor_backward, orig_method),
            orig_execute: _named(execute, orig_execute)}
