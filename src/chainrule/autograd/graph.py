"""The recorded graph: `Node` (a tensor's grad_fn), `AccumulateGrad` (a leaf's sink), and `record`,
the one function every primitive calls to attach a node to its output.

Note [Two math modes]
A node's `backward(m, *grads)` is written once against the namespace `m`. The engine passes
`ARRAY_MATH` (NumPy arrays in, arrays out) for a plain backward, which is fast, and `TENSOR_MATH`
(chainrule ops, recorded in the graph) under `create_graph=True`, which makes the backward itself
differentiable. Saved values are unpacked in the same mode (`self.saved(m)`).
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from . import grad_mode

_grad_state = grad_mode.state
# The Tensor class, set by chainrule.tensor once it exists: the engine makes `.grad` tensors,
# and tensor.py imports this package, so it cannot be imported here.
Tensor = None
_next_seq = itertools.count().__next__

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class Node:
    """A step of the backward pass: the `grad_fn` of a tensor made by a differentiable op.

    Subclasses give `backward(self, m, *grad_outputs)` returning one gradient per input
    (None where an input needs none), computed with the math namespace `m`.
    See Note [Two math modes].
    """

    __slots__ = ("next_functions", "_saved", "_versions", "_meta", "_seq", "_hooks",
                 "_pre_hooks", "_tensor_hooks", "_metadata", "__weakref__")
    n_outputs = 1
    # PyTorch's names for what this node keeps, read as `grad_fn._saved_<name>`: one per slot of
    # `_saved`, in order, and {torch's name: the node attribute holding it, or a function of the
    # node} for what is kept outside `_saved` (`exponent`, `dim`...).
    saved_fields = ()
    saved_attrs = {}
    pack_order = None  # the order PyTorch packs the saved tensors in, if not `_saved`'s
    # forward AD (forward_ad.py): PyTorch's JVP is 0 where the output is 0 (std, norm), where
    # the backward differentiated once more meets 0/0
    zero_tangent_where_zero = False

    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    # -- inspection, as PyTorch exposes it ------------------------------------------------
    @property
    def needs_input_grad(self):
        return tuple(fn is not None for fn, _ in self.next_functions)

    @property
    def metadata(self):
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    @property
    def output_shapes(self):
        return [shape for shape, _ in self._meta]

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) runs after this node's backward; may return new grad_inputs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) runs before this node's backward; may return new grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(fn)
        return _RemovableHandle(self._pre_hooks, fn)

    def __getattr__(self, name):  # only reached when normal lookup fails
        if name.startswith("_saved_"):
            return _saved_field(self, name[7:])
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- saved values ----------------------------------------------------------------------
    def save(self, *values):
        """Keep tensors (or None/numbers) for backward; their versions are checked on use."""
        self._saved = values
        versions = []
        for v in values:
            vc = getattr(v, "_vc", None)
            versions.append(None if vc is None else vc[0])
        self._versions = versions
        if _saved_tensors_hooks:
            _pack(self, *_saved_tensors_hooks[-1])

    def saved(self, m):
        """The saved values as arrays (array mode) or tensors (tensor mode)."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        versions = self._versions
        if versions is PACKED:
            return _unpack(self, m.tensor_mode)
        if m.tensor_mode:
            return [m.unpack(v, self) if _check_version(v, e, self) else v
                    for v, e in zip(saved, versions)]
        if len(saved) == 1:  # the common case, unrolled
            v, expected = saved[0], versions[0]
            if expected is None:
                return saved
            if v._vc[0] != expected:
                _raise_modified(v, expected, self)
            return (v._data,)
        out = []
        for v, expected in zip(saved, versions):
            if expected is None:
                out.append(v)
                continue
            if v._vc[0] != expected:
                _raise_modified(v, expected, self)
            out.append(v._data)  # Tensors and SavedOutputs both keep their array in `_data`
        return out

    def release(self):
        """Free saved values (after a backward without retain_graph)."""
        self._saved = None

    @property
    def _saved_tensors_released(self):
        return self._saved is None

    def backward(self, m, *grads):  # pragma: no cover - every primitive overrides it
        raise NotImplementedError


def _saved_field(node, field):
    """`grad_fn._saved_<field>` as PyTorch shows it: the saved input itself, a tensor over the
    saved output (whose grad_fn is the node), numbers saved in a tensor's place wrapped as
    tensors; after backward has freed them, PyTorch's error."""
    cls = type(node)
    getter = cls.saved_attrs.get(field)
    if getter is not None:
        return getattr(node, getter) if isinstance(getter, str) else getter(node)
    if field not in cls.saved_fields:
        raise AttributeError(f"'{cls.__name__}' object has no attribute '_saved_{field}'")
    saved = node._saved
    if saved is None:
        raise RuntimeError(FREED_MESSAGE)
    if node._versions is PACKED:
        saved = _unpack(node, True)
    value = saved[cls.saved_fields.index(field)]
    if isinstance(value, SavedOutput):
        t = Tensor._make(value._data, True, vc=value._vc)
        t._grad_fn, t._nr = node, value.nr
        return t
    if isinstance(value, (bool, int, float)):
        from ..creation import tensor

        return tensor(value, dtype="float64" if isinstance(value, float) else None)
    return value


# -- saved tensor hooks (torch.autograd.graph.saved_tensors_hooks) ------------------------------
# The (pack, unpack) pairs in force, innermost last. A node saved while one is in force keeps
# `pack(tensor)` in place of each tensor (`_versions` is then PACKED: what the hooks return is
# theirs to keep consistent, so versions are not checked) and calls `unpack` on every read.
_saved_tensors_hooks = []
_hooks_disabled = []
PACKED = ("packed by saved_tensors_hooks",)


class _Packed:
    __slots__ = ("value", "unpack_hook")

    def __init__(self, value, unpack_hook):
        self.value, self.unpack_hook = value, unpack_hook


def _as_tensor(value, node):
    if isinstance(value, SavedOutput):  # the hook sees the output itself, grad_fn and all
        t = Tensor._make(value._data, True, vc=value._vc)
        t._grad_fn, t._nr = node, value.nr
        return t
    return value


def _pack(node, pack_hook, unpack_hook):
    saved = node._saved
    order = type(node).pack_order or range(len(saved))
    packed = list(saved)
    for i in order:
        value = saved[i]
        if isinstance(value, (SavedOutput, Tensor)):
            packed[i] = _Packed(pack_hook(_as_tensor(value, node)), unpack_hook)
    node._saved, node._versions = tuple(packed), PACKED


def _unpack(node, tensor_mode):
    saved = node._saved
    order = type(node).pack_order or range(len(saved))
    out = list(saved)
    for i in order:
        value = saved[i]
        if isinstance(value, _Packed):
            t = value.unpack_hook(value.value)
            if not isinstance(t, Tensor):
                raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but "
                                f"got result of type {type(t).__name__}")
            out[i] = t if tensor_mode else t._data
    return out


class saved_tensors_hooks:
    """Within this context, every tensor saved for backward is passed through
    `pack_hook(tensor) -> anything` and read back through `unpack_hook(that) -> tensor`."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if _hooks_disabled:
            raise RuntimeError(_hooks_disabled[-1])
        _saved_tensors_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _saved_tensors_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors in CPU memory: where every tensor already lives, so they are kept as
    they are (the hooks still run, as PyTorch's do)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        super().__init__(lambda t: t, lambda t: t)


class disable_saved_tensors_hooks:
    """Within this context, entering saved_tensors_hooks raises RuntimeError(error_message)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        _hooks_disabled.append(self.error_message)
        return self

    def __exit__(self, *exc):
        _hooks_disabled.pop()


class _RemovableHandle:
    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class SavedOutput:
    """An op's own output saved for its backward (exp, tanh, sigmoid...).

    It keeps the array and version counter but not the tensor, so no cycle
    output -> grad_fn -> output is formed; tensor mode rebuilds a tensor whose grad_fn is the node.
    """

    __slots__ = ("_data", "_vc", "nr")

    def __init__(self, tensor):
        self._data, self._vc, self.nr = tensor._data, tensor._vc, tensor._nr


class AccumulateGrad(Node):
    """The sink of a leaf tensor: adds the incoming gradient into `variable.grad`."""

    __slots__ = ("variable",)
    n_outputs = 1

    def name(self):
        return "torch::autograd::AccumulateGrad"  # PyTorch's C++ name for this node

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()
        self._saved = ()
        self._versions = None
        self._meta = ((variable._data.shape, variable._data.dtype),)
        self._seq = -1  # leaves run last
        self._hooks = self._pre_hooks = self._tensor_hooks = self._metadata = None

    def release(self):
        pass


def _check_version(value, expected, node):
    """True for a saved tensor (after checking it was not modified), False for other values."""
    if expected is None:
        return False
    if value._vc[0] != expected:
        _raise_modified(value, expected, node)
    return True


def _raise_modified(value, expected, node):
    from .._dtype import from_numpy_dtype

    data = value._data
    kind = from_numpy_dtype(data.dtype)._torch_name
    shape = ", ".join(str(s) for s in data.shape)
    if isinstance(value, SavedOutput):
        source = f"output {value.nr} of {_op_name(node)}"
    elif value._grad_fn is not None:
        source = f"output {value._nr} of {_op_name(value._grad_fn)}"
    else:
        source = None  # PyTorch names no source for a leaf
    source = f", which is {source}," if source else ""
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [torch.{kind} [{shape}]]{source} is at version {value._vc[0]}; "
        f"expected version {expected} instead. Hint: enable anomaly detection to find the "
        "operation that failed to compute its gradient, with "
        "torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


def _op_name(node):
    name = node.name()
    cut = name.find("Backward")
    return name[:cut] if cut > 0 else name


DERIVED = "a view of an output of split/unbind"  # its `multi_output` flag: named by its own op


def multi_output_of(t):
    """(op name or None, output number) by which PyTorch's refusal names a view of split/unbind
    (or of one of their outputs), or None when `t` is not one."""
    flag = t._extra.__dict__.get("multi_output") if t._extra is not None else None
    if flag is not DERIVED:
        return flag
    return (_op_name(t._grad_fn) if t._grad_fn is not None else None), t._nr


def multi_output_view_error(name, nr, base_modified):
    """PyTorch's refusal of an in-place write to (or after one on) an output of split/unbind;
    `name` None: the output of a base that did not require grad (it has no grad_fn)."""
    what = ("its base or another view of its base has been modified inplace" if base_modified
            else "is being modified inplace")
    head = (f"Output {nr} of {name} is a view and {what}" if name is not None else
            f"A view was created in no_grad mode and {what} with grad mode enabled")
    return RuntimeError(
        f"{head}. This view is the output of a function that returns multiple views. Such "
        "functions do not allow the output views to be modified inplace. You should replace "
        "the inplace operation by an out-of-place one.")


NO_GRAD_VIEW_STALE = (
    "A view was created in no_grad mode and its base or another view of its base has been "
    "modified inplace with grad mode enabled. Given that this use case is ambiguous and "
    "error-prone, it is forbidden. You can clarify your code by moving both the view and the "
    "inplace either both inside the no_grad block (if you don't want the inplace to be "
    "tracked) or both outside (if you want the inplace to be tracked).")


def stale_view_error(extra, version=None):
    """Raise PyTorch's error for a view that may not be used after its base was written in
    place (an output of split/unbind, or a view made under no_grad: written in place since,
    in any grad mode, it has no history PyTorch could give it). `version`: the view's own."""
    flags = extra.__dict__
    if flags.get("stale_multi_output"):
        raise multi_output_view_error(*extra.stale_multi_output, True)
    if flags.get("stale_no_grad_view") or (
            version is not None and flags.get("no_grad_view")
            and version != flags.get("no_grad_view_version", version)):
        raise RuntimeError(NO_GRAD_VIEW_STALE)


def grad_accumulator(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, made once and held weakly by the tensor (as in PyTorch).

    None for a view made under no_grad (it requires grad but its gradient goes nowhere, as in
    PyTorch); an error for an output of split/unbind whose base was written in place."""
    ref = tensor._acc
    node = ref() if ref is not None else None
    if node is None:
        extra = tensor._extra
        if extra is not None and extra.__dict__:
            stale_view_error(extra, tensor._vc[0])
            if extra.__dict__.get("no_grad_view"):
                return None
        node = AccumulateGrad(tensor)
        tensor._acc = weakref.ref(node)
    return node


def edge(tensor):
    """Where the gradient for `tensor` goes: (its grad_fn, output index), a leaf's sink, or None."""
    fn = tensor._grad_fn
    if fn is not None:
        return (fn, tensor._nr)
    if tensor._requires_grad:
        return (grad_accumulator(tensor), 0)
    return (None, 0)


def needs_grad(*tensors) -> bool:
    """True when grad mode is on and some input requires grad: only then is a node recorded."""
    if _grad_state.enabled:
        for t in tensors:
            if t is not None and t._requires_grad:
                return True
    if forward_ad_record is not None:  # a dual level is open: an input may carry a tangent
        from .forward_ad import is_dual_input

        return is_dual_input(tensors)
    return False


def record(node_cls, out, inputs):
    """Make `out` the result of a differentiable op on `inputs`, if a gradient is needed.

    Returns the node (so the op can save what its backward needs) or None. This runs for every
    op, so it is written for speed: one pass builds the edges and notices whether any input
    requires grad.
    """
    if forward_ad_record is not None:
        node = forward_ad_record(node_cls, out, inputs)
        if node is not NOT_DUAL:
            return node
    if not _grad_state.enabled:
        return None
    edges = []
    wanted = False
    for t in inputs:
        if t is None:
            edges.append(_NO_EDGE)
            continue
        fn = t._grad_fn
        if fn is not None:
            edges.append((fn, t._nr))
            wanted = True
        elif t._requires_grad:
            edges.append((grad_accumulator(t), 0))
            wanted = True
        else:
            edges.append(_NO_EDGE)
    if not wanted:
        return None
    node = node_cls.__new__(node_cls)
    node.next_functions = tuple(edges)
    node._saved = ()
    node._versions = None
    data = out._data
    node._meta = ((data.shape, data.dtype),)
    node._seq = _next_seq()
    node._hooks = node._pre_hooks = node._tensor_hooks = node._metadata = None
    out._grad_fn = node
    out._requires_grad = True
    if _tracer is not None:
        _tracer(node, out, inputs)
    return node


_NO_EDGE = (None, 0)


def record_multi(node_cls, outs, inputs):
    """`record` for ops with several differentiable outputs (split, unbind)."""
    if forward_ad_record is not None:
        node = forward_ad_record(node_cls, outs[0], inputs, outs)
        if node is not NOT_DUAL:
            return node
    if not needs_grad(*inputs):
        return None
    node = new_node(node_cls, [edge(t) if t is not None else (None, 0) for t in inputs], outs)
    for i, o in enumerate(outs):
        o._grad_fn, o._requires_grad, o._nr = node, True, i
    return node


def new_node(node_cls, edges, outs):
    """A node of `node_cls` with these input edges, for these outputs (not yet attached)."""
    node = node_cls.__new__(node_cls)
    node.next_functions = tuple(edges)
    node._saved = ()
    node._versions = None
    node._meta = tuple((o._data.shape, o._data.dtype) for o in outs)
    if len(outs) != 1 or not isinstance(node_cls.n_outputs, int):  # multi-output classes
        node.n_outputs = len(outs)                                    # hold it in a slot
    node._seq = _next_seq()
    node._hooks = node._pre_hooks = node._tensor_hooks = node._metadata = None
    return node


# forward_ad.record while a dual level is open (see autograd/forward_ad.py), else None.
forward_ad_record = None
NOT_DUAL = object()  # what forward_ad_record returns for an op with no dual input


# Set by the anomaly detector (autograd.anomaly) to capture where each node was created.
_tracer = None


def set_tracer(fn):
    global _tracer
    prev, _tracer = _tracer, fn
    return prev


def zeros_for(node, nr, m):
    """A zero gradient for output `nr` of `node`, used when some outputs got no gradient."""
    shape, dtype = node._meta[nr]
    return m.zeros(shape, dtype)


__all__ = ["Node", "AccumulateGrad", "SavedOutput", "record", "record_multi", "edge",
           "needs_grad", "grad_accumulator", "FREED_MESSAGE", "np"]
