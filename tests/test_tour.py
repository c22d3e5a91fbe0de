"""`chainrule tour` end to end, as a newcomer runs it (subprocess), checked against seed figures."""
import os
import re
import shutil
import subprocess
import sys

import pytest

HAS_DOT = shutil.which("dot") is not None or bool(os.environ.get("CI"))


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=240)


@pytest.fixture(scope="module")
def full_tour(tmp_path_factory):
    out = tmp_path_factory.mktemp("tour") / "out"
    return run("tour", "--out", str(out)), out


def test_list_names_the_chapters():
    result = run("tour", "--list")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["backprop", "gates", "draw", "linear", "temperature", "check"]


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot is not installed (CI installs it)")
def test_whole_tour_reproduces_the_seeds(full_tour):
    result, out = full_tour
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # seed 002 / 004: f = (x + y) z at x=-2, y=5, z=-4
    assert "q = x + y = 3,  f = q * z = -12" in text
    assert "df/dx = -4, df/dy = -4, df/dz = 3" in text
    # seed 003: the thermometer model after 5000 epochs (PyTorch's printed result)
    assert "tensor([  5.3671, -17.3012], requires_grad=True)" in text
    assert re.search(r"Epoch 5000, Loss 2\.92764\d", text)
    # seed 001: the linear model learns w = 2
    assert re.search(r"predict \(after training\) 4 7\.99\d+", text)
    assert "gradcheck of (relu(x @ w)^2).sum() in float64: passed" in text
    for name in ("backprop_xyz.html", "two_layer_net.html", "backprop_xyz.svg", "backprop_xyz.png",
                 "torchviz_1.png", "torchviz_2.png", "linear_loss.png", "temperature_loss.png"):
        path = out / name
        assert path.exists() and path.stat().st_size > 500, name
        assert str(path) in text.split("== Summary ==")[1]
    assert open(out / "temperature_loss.png", "rb").read(4) == b"\x89PNG"
    assert "temperature model" in result.stderr  # the tqdm progress bar


def test_one_chapter_and_unknown_names(tmp_path):
    result = run("tour", "backprop", "--out", str(tmp_path / "o"))
    assert result.returncode == 0 and "[1] MulBackward0" in result.stdout
    assert "linear" not in result.stdout.split("== Summary ==")[0].split("==")[1]
    bad = run("tour", "nosuch")
    assert bad.returncode == 2 and "the chapters are: backprop" in bad.stderr


def test_missing_dependency_exits_nonzero_with_a_clear_message(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "tqdm.py").write_text("raise ImportError('tqdm is not installed')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(blocker)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    result = run("tour", "linear", "--out", str(tmp_path / "o"), env=env)
    assert result.returncode == 1
    assert "chapter 'linear' could not run" in result.stderr
    assert 'pip install "chainrule[viz]"' in result.stderr


def test_console_script_is_declared():
    import tomllib

    with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts["chainrule"] == "chainrule.cli:main"
