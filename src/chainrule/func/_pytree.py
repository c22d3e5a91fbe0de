"""Nested containers of tensors ("pytrees"): tuples, lists, dicts, namedtuples; anything else
(a tensor, a number, None) is a leaf. A spec records the containers so a flat list of leaves can
be put back into the same shape."""
from __future__ import annotations

LEAF = "*"


def _is_node(x):
    return isinstance(x, (tuple, list, dict))


def tree_flatten(tree):
    """(leaves in order, spec). A spec is LEAF or (container type, dict keys or None, children)."""
    leaves = []

    def walk(node):
        if isinstance(node, dict):
            keys = list(node)
            return (dict, tuple(keys), tuple(walk(node[k]) for k in keys))
        if isinstance(node, (tuple, list)):
            return (type(node), None, tuple(walk(c) for c in node))
        leaves.append(node)
        return LEAF

    return leaves, walk(tree)


def tree_unflatten(leaves, spec):
    it = iter(leaves)

    def build(s):
        if s == LEAF:
            return next(it)
        cls, keys, children = s
        values = [build(c) for c in children]
        if cls is dict:
            return dict(zip(keys, values))
        if hasattr(cls, "_fields"):  # a namedtuple rebuilds from positional fields
            return cls(*values)
        return cls(values)

    return build(spec)


def num_leaves(spec):
    return 1 if spec == LEAF else sum(num_leaves(c) for c in spec[2])


def broadcast_prefix(prefix, spec):
    """Flatten `prefix` against `spec`: a leaf of `prefix` (an int or None) stands for every leaf
    beneath that place in `spec`. None when the structures do not fit."""
    out = []

    def walk(p, s):
        if not _is_node(p):
            out.extend([p] * num_leaves(s))
            return True
        if s == LEAF or type(p) is not s[0] or len(p) != len(s[2]):
            return False
        if s[0] is dict:
            if set(p) != set(s[1]):
                return False
            return all(walk(p[k], c) for k, c in zip(s[1], s[2]))
        return all(walk(pc, c) for pc, c in zip(p, s[2]))

    return out if walk(prefix, spec) else None


def spec_str(spec):
    """A short picture of a structure for error messages: (*, [*, *], {'a': *})."""
    if spec == LEAF:
        return LEAF
    cls, keys, children = spec
    inner = [spec_str(c) for c in children]
    if cls is dict:
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, inner)) + "}"
    if cls is list:
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
