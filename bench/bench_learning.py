"""Learning-stack benchmark: chainrule against PyTorch on two training workloads.

  digits_epoch  one epoch of examples/digits_mlp.py's model (64-128-128-10, ReLU) on the
                scikit-learn digits training split: DataLoader(batch 64, shuffle),
                CrossEntropyLoss, Adam. Reported in ms per epoch.
  mlp_step      one training step of a 784-1024-1024-10 ReLU MLP at batch 512, float32:
                forward, CrossEntropyLoss, backward, Adam step, zero_grad. ms per step.

Each library runs in its own process (`--worker NAME`), one after the other, over several
rounds (the machines are shared and noisy); the parent prints the median of the per-round
medians and the ratio chainrule / torch.

    python bench/bench_learning.py [--rounds 3] [--repeat 5] [--threads N]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _median_time(fn, repeat, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def digits_epoch(lib_name, repeat):
    sys.path.insert(0, str(ROOT / "examples"))
    import digits_mlp

    torch = importlib.import_module(lib_name)
    data = importlib.import_module(lib_name + ".utils.data")
    x_train, _, y_train, _ = digits_mlp.load_split(0)
    torch.manual_seed(0)
    loader = data.DataLoader(data.TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
                             batch_size=64, shuffle=True)
    model = digits_mlp.build_model(torch.nn)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch():
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()

    return _median_time(epoch, repeat)


def mlp_step(lib_name, repeat):
    torch = importlib.import_module(lib_name)
    nn = torch.nn
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((512, 784)).astype(np.float32))
    y = torch.tensor(rng.integers(0, 10, 512))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return _median_time(step, repeat, warmup=2)


WORKLOADS = {"digits_epoch": digits_epoch, "mlp_step": mlp_step}


def worker(lib_name, repeat, threads):
    if lib_name == "torch" and threads:
        import torch

        torch.set_num_threads(threads)
    results = {name: fn(lib_name, repeat) for name, fn in WORKLOADS.items()}
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="BLAS/torch threads for both libraries (0: their defaults)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeat, args.threads)
        return

    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    per_round = {lib: {name: [] for name in WORKLOADS} for lib in ("chainrule", "torch")}
    for _ in range(args.rounds):
        for lib in ("chainrule", "torch"):
            out = subprocess.run([sys.executable, __file__, "--worker", lib, "--repeat",
                                  str(args.repeat), "--threads", str(args.threads)],
                                 capture_output=True, text=True, env=env, check=True)
            for name, seconds in json.loads(out.stdout.strip().splitlines()[-1]).items():
                per_round[lib][name].append(seconds)

    print(f"learning-stack benchmark: median of {args.rounds} rounds x {args.repeat} repeats"
          f"{f', {args.threads} thread(s)' if args.threads else ''}")
    print(f"{'workload':<14}{'chainrule ms':>14}{'torch ms':>12}{'ratio':>9}")
    for name in WORKLOADS:
        ours = statistics.median(per_round["chainrule"][name]) * 1e3
        theirs = statistics.median(per_round["torch"][name]) * 1e3
        print(f"{name:<14}{ours:>14.2f}{theirs:>12.2f}{ours / theirs:>8.2f}x")


if __name__ == "__main__":
    main()
