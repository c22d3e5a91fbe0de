"""make_dot draws what torchviz draws (checked against torchviz on the same PyTorch graph)."""
import os
import re
import shutil

import numpy as np
import pytest
import torch
import torchviz

import chainrule
from chainrule.viz import make_dot


def structure(dot):
    """The graph up to node ids: sorted (label, fill) of nodes and (label -> label) of edges."""
    labels, edges = {}, []
    for line in dot.body:
        node = re.match(r'\s*(\d+) \[label=(".*?"|[^\s\]]+)(?: fillcolor=(\w+))?', line, re.S)
        edge = re.match(r"\s*(\d+) -> (\d+)", line)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
        elif node:
            labels[node.group(1)] = (node.group(2).strip('"'), node.group(3))
    named = sorted(labels.values(), key=str)
    linked = sorted((labels[a][0], labels[b][0]) for a, b in edges)
    return named, linked


def seed_graphs(lib):
    x = lib.ones(3, requires_grad=True)
    r1 = (2 * x + (3 + x)).sum()
    x2 = lib.ones(3, requires_grad=True)
    r2 = (2 * x2 + (3 + x2.detach())).sum()
    a = lib.randn(2, 2, requires_grad=True)
    b = a * 2
    w1 = lib.randn(3, 4, requires_grad=True)
    w2 = lib.randn(4, 2, requires_grad=True)
    net = (lib.randn(5, 3).mm(w1).clamp(min=0).mm(w2) - lib.randn(5, 2)).pow(2).sum()
    return [r1, r2, b, net], {"w1": w1, "w2": w2}


def test_same_picture_as_torchviz_on_the_seed_listings():
    ours, our_params = seed_graphs(chainrule)
    theirs, their_params = seed_graphs(torch)
    for mine, ref in zip(ours, theirs):
        assert structure(make_dot(mine)) == structure(torchviz.make_dot(ref))
    assert structure(make_dot(ours[-1], params=our_params)) == \
        structure(torchviz.make_dot(theirs[-1], params=their_params))
    # the detached input drops out: one AccumulateGrad in the second picture, two uses in the first
    assert [lbl for lbl, _ in structure(make_dot(ours[1]))[0]].count("AccumulateGrad") == 1


def test_output_shape_is_torchviz_s():
    x = chainrule.ones(3, requires_grad=True)
    y = x * 2
    dot = make_dot(y.sum(), params={"x": x})
    assert dot.node_attr["fontname"] == "monospace" and dot.node_attr["shape"] == "box"
    assert dot.graph_attr["size"] == "12,12"
    assert f'{id(x)} [label="x\n (3)" fillcolor=lightblue]' in dot.source
    assert f"{id(y.grad_fn)} [label=MulBackward0]" in dot.source


def test_values_and_grads_on_the_xyz_graph():
    x, y, z = (chainrule.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    source = make_dot(f, params=dict(x=x, y=y, z=z), show_values=True, show_grads=True).source
    assert 'label="x\n ()\n= -2\ngrad -4"' in source
    assert 'label="z\n ()\n= -4\ngrad 3"' in source
    assert "MulBackward0\n= -12\ngrad 1" in source
    assert x.grad is None  # drawing ran a backward that touched no .grad
    f.backward()
    source = make_dot(f, params=dict(x=x), show_grads=True).source
    assert 'label="x\n ()\ngrad -4"' in source  # after backward: leaves' .grad


def test_broadcast_edge_names_both_shapes():
    a = chainrule.ones(2, 4, requires_grad=True)
    b = chainrule.ones(4, requires_grad=True)
    source = make_dot((a + b).sum()).source
    assert 'label="sum (2, 4) -> (4)"' in source


def test_show_attrs_and_saved_like_torchviz():
    a = chainrule.ones(2, requires_grad=True)
    b = chainrule.ones(2, requires_grad=True)
    dot = make_dot(a * b, show_saved=True, show_attrs=True)
    ta, tb = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    ref = torchviz.make_dot(ta * tb, show_saved=True, show_attrs=True)
    assert structure(dot) == structure(ref)


@pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                    reason="Graphviz dot is not installed (CI installs it)")
def test_renders_png_and_svg_like_the_seed(tmp_path):
    x = chainrule.ones(3, requires_grad=True)
    r = (2 * x + (3 + x)).sum()
    png = make_dot(r).render(str(tmp_path / "torchviz_1"), format="png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    svg = make_dot(r).render(str(tmp_path / "torchviz_1"), format="svg")
    assert "SumBackward0" in open(svg).read()


def test_missing_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on PATH
    x = chainrule.ones(3, requires_grad=True)
    dot = make_dot((x * 2).sum())
    assert "MulBackward0" in dot.source
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        dot.render(str(tmp_path / "g"), format="png")
    assert "apt-get install graphviz" in dot._repr_mimebundle_()["text/plain"]


def test_deep_graph_draws_without_recursion_error():
    x = chainrule.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert make_dot(y).source.count("MulBackward0") == 3000


def test_core_imports_without_graphviz():
    import subprocess
    import sys

    code = ("import sys; sys.modules['graphviz'] = None; import chainrule, chainrule.viz\n"
            "try:\n    chainrule.viz.make_dot(chainrule.ones(1, requires_grad=True) * 2)\n"
            "except ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "chainrule[viz]"' in out.stdout
    _ = np
