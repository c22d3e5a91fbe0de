"""Seeing the graph: `make_dot` (torchviz's drawing, with values and gradients) and `to_html` (a
self-contained web page that steps through backward one node at a time).

Importing this package needs only NumPy; `make_dot` needs the `graphviz` Python package
(pip install "chainrule[viz]") and, to render PNG/SVG, the Graphviz `dot` program.
"""
from __future__ import annotations


def make_dot(var, params=None, show_attrs=False, show_saved=False, max_attr_chars=50, **extra):
    from .dot import make_dot as _make_dot

    return _make_dot(var, params, show_attrs, show_saved, max_attr_chars, **extra)


make_dot.__doc__ = """Draw the autograd graph of `var` as a graphviz.Digraph (torchviz's make_dot,
plus show_values=True / show_grads=True). See chainrule.viz.dot.make_dot."""


def to_html(loss, path=None, **kwargs):
    """Write a self-contained web page that draws the graph of `loss` and steps through backward.
    See chainrule.viz.html.to_html."""
    from .html import to_html as _to_html
    from ..autograd.explain import caller_tensors

    kwargs.setdefault("names", caller_tensors(1))
    return _to_html(loss, path, **kwargs)


__all__ = ["make_dot", "to_html"]
