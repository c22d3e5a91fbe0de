"""The examples run as scripts and print the seed slides' figures; where the slides are silent,
the same script run under real PyTorch is the oracle."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_script(path, *args, timeout=120):
    # One BLAS thread: the test machines are shared, and thread contention only adds waiting.
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=path.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_example(name, *args, backend="chainrule", tmp_path=None):
    """Run examples/<name>; with backend='torch', the same text with `import torch` instead."""
    path = EXAMPLES / name
    if backend == "torch":
        source = path.read_text()
        source = source.replace("import chainrule as torch", "import torch")
        source = source.replace("from chainrule", "from torch")
        assert "chainrule" not in re.sub(r'""".*?"""|#.*', "", source, flags=re.S)
        path = tmp_path / name
        path.write_text(source)
    return run_script(path, *args)


def test_seed_000_linear_model_prints_the_slide():
    out = run_example("linear_model.py").splitlines()
    assert out[0] == "predict (before training) 4 4.0"
    assert out[1] == "\tgrad: 1.0 2.0 -2.0"
    assert out[2].startswith("\tgrad: 2.0 4.0 -7.84")
    assert out[4].startswith("progress: 0 7.315")
    assert out[-1].startswith("predict (after training) 4 7.999")


def test_seed_001_lab_graph_and_fnn(tmp_path):
    out = run_example("seed001_lab_graph.py", "--epochs", 5)
    # Task 1 by hand: y_hat = 2, s = 1, loss = 1, dloss/dw = 2 s x = 8.
    assert "y_hat: 2.0 s: 1.0 loss: 1.0" in out
    assert "dloss/dw by hand: 8.0 autograd: 8.0" in out
    # Task 2: m1 = 2, r = 2, m2 = 0.4, y_hat = sigmoid(0.4), loss = (y_hat - 1)^2.
    assert ("m1 = 2.000000, r = 2.000000, m2 = 0.400000, y_hat = 0.598688, s = -0.401312, "
            "loss = 0.161052") in out
    assert "dloss/dw2 by hand = -0.385678, autograd = -0.385678" in out
    assert "dloss/dw1 by hand = -0.154271, autograd = -0.154271" in out
    assert out == run_example("seed001_lab_graph.py", "--epochs", 5, backend="torch",
                              tmp_path=tmp_path)


def test_seed_002_two_layer_net_clamp_and_myrelu_agree_with_torch(tmp_path):
    args = ("--steps", 40, "--every", 13)
    out = run_example("seed002_two_layer_net.py", *args)
    clamp, custom = out.split("== my_relu")
    losses = [float(line.split()[1]) for line in clamp.splitlines()[1:]]
    assert losses[-1] < losses[0] / 100  # it learns
    assert clamp.splitlines()[1:] == custom.splitlines()[1:]  # MyReLU == clamp(min=0)
    theirs = run_example("seed002_two_layer_net.py", *args, backend="torch", tmp_path=tmp_path)
    their_losses = [float(line.split()[1]) for line in theirs.split("== my_relu")[0].splitlines()[1:]]
    assert losses == pytest.approx(their_losses, rel=1e-4)  # same randn stream, float32 sums


SEED_003_SLIDE = [7.860116, 3.828538, 3.092191, 2.957697, 2.933134, 2.928648, 2.927830,
                  2.927679, 2.927652, 2.927647]


def test_seed_003_temperature_model_prints_the_slide():
    out = run_example("seed003_temperature.py").splitlines()
    # tensor([4517.2969, 82.6000]) on the slide; float32 summation order moves the last digit.
    grad = [float(v) for v in re.findall(r"[-\d.]+", out[0].replace("tensor", ""))]
    assert grad == pytest.approx([4517.2969, 82.6000], rel=2e-7)
    epochs = [line for line in out if line.startswith("Epoch")]
    assert [int(line.split()[1].rstrip(",")) for line in epochs] == list(range(500, 5001, 500))
    assert [float(line.split()[-1]) for line in epochs] == pytest.approx(SEED_003_SLIDE,
                                                                        rel=1e-6)
    assert out[-1] == "tensor([  5.3671, -17.3012], requires_grad=True)"


def test_seed_004_sigmoid_neuron_prints_the_slide_and_matches_torch(tmp_path):
    out = run_example("seed004_sigmoid_neuron.py", "--epochs", 201)
    lines = out.splitlines()
    assert lines[0] == ("Data Size: 12, Input Shape: torch.Size([12, 2]), "
                        "Target Shape: torch.Size([12])")
    assert lines[1] == "torch.Size([12])"
    assert lines[2] + "\n" + lines[3] == (
        "tensor([0.8022, 1.0000, 1.0000, 1.0000, 1.0000, 1.0000, 0.9973, 0.0198, 1.0000,\n"
        "        1.0000, 1.0000, 0.6225])")
    assert "tensor(2673.9028)" in lines and "tensor(0.2254)" in lines
    # The three ways of computing the gradient print the same training log.
    manual, autograd, optim = out.split("== learning with")[1:]
    strip = [part.split("\n", 1)[1] for part in (manual, autograd, optim)]
    assert strip[0] == strip[1] == strip[2]
    assert "[Epoch:   200] loss:" in manual and "RMSE" in manual
    assert out == run_example("seed004_sigmoid_neuron.py", "--epochs", 201, backend="torch",
                              tmp_path=tmp_path)


def test_digits_mlp_runs_and_saves_its_plot(tmp_path):
    plot = tmp_path / "digits.png"
    out = run_example("digits_mlp.py", "--epochs", 2, "--plot", plot)
    assert "backend: chainrule" in out and "wall time:" in out
    assert plot.exists() and plot.stat().st_size > 1000


def test_digits_mlp_reaches_95_percent_and_matches_torch():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import digits_mlp
    finally:
        sys.path.remove(str(EXAMPLES))
    ours = digits_mlp.train("chainrule", epochs=15, progress=False)
    assert ours["test_accuracy"] >= 0.95
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        theirs = digits_mlp.train("torch", epochs=2, progress=False)
    finally:
        torch.set_num_threads(threads)
    # Same split, same seed: chainrule's RNG, init and arithmetic track PyTorch's.
    assert ours["history"]["loss"][:2] == pytest.approx(theirs["history"]["loss"], rel=1e-4)
