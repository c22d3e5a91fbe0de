"""Answers to the two questions learners ask most: "why is my .grad None (or zero)?" and "why
does memory grow while I train?".

    print(torch.autograd.why_no_grad(w, loss))

`why_no_grad` inspects the tensor and the loss's graph and says which of the usual causes
applies. The leak warning fires (once) on the classic `total_loss += loss` across iterations.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from . import engine, graph
from .graph import AccumulateGrad

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

UPDATE_HINT = ("If you updated a parameter with `w = w - lr * w.grad`, that makes a new "
               "non-leaf tensor; update it in place instead: `with torch.no_grad(): "
               "w -= lr * w.grad`.")


class GradDiagnosis:
    """Why a tensor's `.grad` is None or zero. `reason` is a short code, `str()` the explanation.

    Codes: not_a_tensor, non_leaf, no_requires_grad, detached, no_graph, not_reached,
    backward_not_run, zero_local_gradient, zeroed_after_backward, has_grad.
    """

    def __init__(self, reason, message, blocking=()):
        self.reason = reason
        self.message = message
        self.blocking = list(blocking)  # BackwardSteps whose local gradient cut the path

    def __str__(self):
        return self.message

    __repr__ = __str__


def _graph_nodes(loss):
    fn = loss._grad_fn if loss._grad_fn is not None else (
        graph.grad_accumulator(loss) if loss._requires_grad else None)
    return engine._collect([fn]) if fn is not None else []


def _node_of(t):
    if t._grad_fn is not None:
        return t._grad_fn
    return t._acc() if t._acc is not None else None


def _shares_memory_with(t, nodes):
    """A tensor of the graph whose memory `t` shares (then `t` is a detached copy of it)."""
    for node in nodes:
        candidates = [node.variable] if type(node) is AccumulateGrad else [
            v for v in (node._saved or ()) if hasattr(v, "_grad_fn")]
        for v in candidates:
            if v is not t and v._requires_grad and np.shares_memory(v._data, t._data):
                return v
    return None


def _ancestors_of(target, nodes):
    """Nodes from which the backward walk reaches `target` (those on a loss->target path)."""
    on_path = {target}
    for node in reversed(nodes):  # leaves-first, so inputs are decided before their users
        if any(fn in on_path for fn, _ in node.next_functions):
            on_path.add(node)
    return on_path


def _blocking_steps(t, loss, target, names):
    """Run a side-effect-free backward and find the nodes whose local gradient toward `t` is 0."""
    from .explain import run_recorded

    record = run_recorded(loss, retain_graph=True, accumulate=False, names=names)
    on_path = _ancestors_of(target, record.book.nodes)
    blocking = []
    for step in record.steps:
        if step.node not in on_path or not isinstance(step.upstream, np.ndarray):
            continue
        if not np.any(step.upstream):
            continue  # already zero upstream: the block is further up
        for (fn, nr), flow in zip([e for e in step.node.next_functions if e[0] is not None],
                                  step.inputs):
            if fn in on_path and isinstance(flow.downstream, np.ndarray) and \
                    not np.any(flow.downstream):
                blocking.append(step)
                break
    return record, blocking


def _explain_block(step):
    op = step.op
    if op in ("ReluBackward0",) or (op == "ClampBackward1" and getattr(step.node, "lo", None)
                                    == 0 and getattr(step.node, "hi", None) is None):
        return (f"{op} ({step.output_name} = {step.expression}): its input was <= 0 everywhere, "
                "so the ReLU passes no gradient (a dead ReLU)")
    if op in ("MaximumBackward0", "MinimumBackward0", "MaxBackward0", "MaxBackward1",
              "MinBackward0", "MinBackward1", "AmaxBackward0", "AminBackward0"):
        return (f"{op} ({step.output_name} = {step.expression}): the max/min routed the "
                "gradient to another input, so this path gets 0")
    if op == "ClampBackward1":
        return (f"{op} ({step.output_name} = {step.expression}): the input was outside the "
                "clamp bounds, where the local gradient is 0")
    if op == "MulBackward0":
        return (f"{op} ({step.output_name} = {step.expression}): the other factor is 0, and a "
                "mul gate sends upstream x the other input")
    return f"{op} ({step.output_name} = {step.expression}): its local gradient is 0 ({step.rule})"


def why_no_grad(t, loss=None) -> GradDiagnosis:
    """Say why `t.grad` is None or zero: non-leaf, no requires_grad, detached, not on the path to
    `loss`, or blocked by an op whose local gradient is zero (dead ReLU, max routed elsewhere).

    Pass the `loss` you call backward on for a precise answer (call it before `loss.backward()`,
    or after `loss.backward(retain_graph=True)`, to locate a zero gradient).
    """
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        return GradDiagnosis("not_a_tensor", (
            f"This is a {type(t).__name__}, not a tensor: it has no graph and no .grad. Numbers "
            "made by .item(), float() or .tolist() are cut off from autograd; keep the tensor."))
    if t._grad_fn is not None and not t.retains_grad:
        return GradDiagnosis("non_leaf", (
            f"This tensor is not a leaf: it was computed by {t._grad_fn.name()}. Backward only "
            "fills .grad of leaves (tensors you created with requires_grad=True). Call "
            ".retain_grad() on it before backward to keep its gradient. " + UPDATE_HINT))
    nodes = _graph_nodes(loss) if loss is not None else []
    if not t._requires_grad:
        source = _shares_memory_with(t, nodes) if nodes else None
        if source is not None:
            return GradDiagnosis("detached", (
                "This tensor shares memory with a tensor that is in the loss's graph, but not "
                "its history: it is a copy cut off by .detach() or .data. Gradients go to the "
                "original; use it (or read the original's .grad)."))
        return GradDiagnosis("no_requires_grad", (
            "This tensor does not require grad, so autograd does not track it. Either it was "
            "created without requires_grad=True (call .requires_grad_() on it), computed inside "
            "torch.no_grad() / inference_mode(), or cut off from its history by .detach() or "
            ".data."))
    if loss is None:
        if t._grad is None:
            return GradDiagnosis("backward_not_run", (
                "This leaf requires grad but backward has not reached it yet. Call "
                "loss.backward(); if .grad stays None, pass the loss for a precise answer: "
                "why_no_grad(t, loss)."))
        return _grad_value_diagnosis(t)
    if not loss._requires_grad:
        return GradDiagnosis("no_graph", (
            "The loss has no graph at all (loss.grad_fn is None and it does not require grad): "
            "it was computed under torch.no_grad() / inference_mode(), from tensors that do not "
            "require grad, or through .detach(), .data or .item() somewhere."))
    target = _node_of(t)
    if target is None or target not in set(nodes):
        return GradDiagnosis("not_reached", (
            "The loss does not depend on this tensor through the graph: no recorded path leads "
            "from the loss back to it. Somewhere between them the value left autograd: an op "
            "ran under torch.no_grad(), or went through .detach(), .data, .item()/float(), "
            ".numpy(), or a new torch.tensor(...) copy; or the tensor is not used at all."))
    if any(n._saved is None for n in nodes if type(n) is not AccumulateGrad):
        if t._grad is None:
            return GradDiagnosis("backward_not_run", (
                "The loss's graph was used by a backward that did not reach this tensor "
                "(e.g. backward(inputs=...) without it)."))
        return _grad_value_diagnosis(t, graph_freed=True)
    from .explain import caller_tensors

    record, blocking = _blocking_steps(t, loss, target, caller_tensors(1))
    if blocking:
        lines = ["The gradient reaching this tensor is zero: on every path from the loss, an "
                 "op's local gradient is 0:"]
        lines += [f"  - {_explain_block(s)}" for s in blocking]
        return GradDiagnosis("zero_local_gradient", "\n".join(lines), blocking)
    if t._grad is None:
        return GradDiagnosis("backward_not_run", (
            "This leaf is on the loss's graph and would get a nonzero gradient: call "
            "loss.backward() (then read .grad)."))
    return _grad_value_diagnosis(t)


def _grad_value_diagnosis(t, graph_freed=False):
    g = t._grad._data
    if np.any(g):
        return GradDiagnosis("has_grad", "This tensor's .grad is set and not zero.")
    if graph_freed:
        return GradDiagnosis("zeroed_after_backward", (
            ".grad is all zeros. Either it was zeroed after backward (optimizer.zero_grad(), "
            ".grad.zero_()) or an op on the way had a zero local gradient; ask before "
            "backward (or after backward(retain_graph=True)) to see which op blocks it."))
    return GradDiagnosis("zeroed_after_backward", (
        ".grad is all zeros although the graph would send a nonzero gradient: it was zeroed "
        "after backward (optimizer.zero_grad(), .grad.zero_()), or backward has not run since."))


# -- the training-loop leak -----------------------------------------------------------------------
class GraphLeakWarning(UserWarning):
    """A tensor keeps growing by adding losses whose graphs backward already used."""


LEAK_MESSAGE = (
    "This `+` adds a loss to a running total that still holds the graphs of earlier iterations "
    "(the classic `total_loss += loss`): every iteration's graph stays in memory, so memory "
    "grows as training runs. Accumulate a number instead: `total_loss += loss.item()` (or "
    "`loss.detach()`). Silence with chainrule.autograd.diagnose.set_leak_warning(False).")

_leak_warning_on = True
_leak_warned = False


def set_leak_warning(enabled: bool):
    """Turn the `total_loss += loss` warning on or off (on by default, shown once)."""
    from ..ops import arith  # ops sit above autograd; imported when first switched

    global _leak_warning_on
    _leak_warning_on = bool(enabled)
    arith.sum_observer = _watch_for_leak if _leak_warning_on and not _leak_warned else None


def _holds_used_graph(fn):
    """True when `fn`, or a node right under it, was already run (and freed) by a backward."""
    if fn._saved is None and type(fn) is not AccumulateGrad:
        return True
    for sub, _ in fn.next_functions:
        if sub is not None and sub._saved is None and type(sub) is not AccumulateGrad:
            return True
    return False


def _watch_for_leak(a, b):
    """Called by every recorded add/sub: warn when an operand holds a graph already used."""
    if a is None or b is None or a._grad_fn is None or b._grad_fn is None:
        return
    if _holds_used_graph(a._grad_fn) or _holds_used_graph(b._grad_fn):
        _warn_leak()


def _warn_leak():
    global _leak_warned
    _leak_warned = True
    set_leak_warning(_leak_warning_on)  # shown once: stop watching
    import traceback

    frames = traceback.extract_stack()[:-3]
    user = [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    where = user[-1] if user else frames[-1]
    warnings.warn_explicit(LEAK_MESSAGE, GraphLeakWarning, where.filename, where.lineno or 0,
                           module="chainrule")


def _reset_leak_warning_for_tests():
    global _leak_warned
    _leak_warned = False
    set_leak_warning(_leak_warning_on)

__all__ = ["why_no_grad", "GradDiagnosis", "GraphLeakWarning", "set_leak_warning"]
