"""Core-engine benchmark: chainrule against PyTorch and the NumPy-based peers.

Workloads (issue: core engine, section Speed):
  two_layer  the seeds' two-layer net step: N=64, D_in=1000, H=100, D_out=10,
             x.mm(w1).clamp(min=0).mm(w2), squared-error sum, backward, SGD under no_grad,
             zero grads. Reported in ms per step.
  chain      200 chained elementwise ops (add, mul, tanh, sigmoid) on a 16-element tensor,
             then sum and backward. Reported in microseconds per op (total / 200).

Each library runs in its own process (`--worker NAME`); the parent alternates the libraries
over several rounds (the machines are shared and noisy) and prints the median of the
per-round medians, with the ratio to PyTorch from the same run.

    python bench/bench_core.py [--rounds 3] [--libs chainrule,torch,numpy,autograd,mygrad]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

N, D_IN, H, D_OUT = 64, 1000, 100, 10
CHAIN_OPS = 200
LR = 1e-6


def _median_time(fn, repeat, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- torch-like libraries (chainrule, torch) ------------------------------------------------------
def torch_like(lib):
    torch = __import__(lib)
    torch.manual_seed(0)
    x = torch.randn(N, D_IN)
    y = torch.randn(N, D_OUT)
    w1 = torch.randn(D_IN, H, requires_grad=True)
    w2 = torch.randn(H, D_OUT, requires_grad=True)

    def two_layer():
        nonlocal w1, w2
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()

    v = torch.randn(16, requires_grad=True)

    def chain():
        h = v
        for _ in range(CHAIN_OPS // 4):
            h = h + 0.5
            h = h * 0.9
            h = torch.tanh(h)
            h = torch.sigmoid(h)
        h.sum().backward()

    return two_layer, chain


# -- hand-written NumPy forward and backward ---------------------------------------------------------
def numpy_manual():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_IN), dtype=np.float32)
    y = rng.standard_normal((N, D_OUT), dtype=np.float32)
    w1 = rng.standard_normal((D_IN, H), dtype=np.float32)
    w2 = rng.standard_normal((H, D_OUT), dtype=np.float32)

    def two_layer():
        nonlocal w1, w2
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T @ grad_y_pred
        grad_h = grad_y_pred @ w2.T
        grad_h[h < 0] = 0
        grad_w1 = x.T @ grad_h
        w1 -= LR * grad_w1
        w2 -= LR * grad_w2

    v = rng.standard_normal(16, dtype=np.float32)

    def chain():
        h, tapes = v, []
        for _ in range(CHAIN_OPS // 4):
            h = (h + 0.5) * 0.9
            t = np.tanh(h)
            s = 1.0 / (1.0 + np.exp(-t))
            tapes.append((t, s))
            h = s
        g = np.ones_like(h)
        for t, s in reversed(tapes):
            g = g * s * (1 - s)
            g = g * (1 - t * t)
            g = g * 0.9
        return g

    return two_layer, chain


# -- HIPS autograd -------------------------------------------------------------------------------------
def hips_autograd():
    import autograd.numpy as anp
    from autograd import grad

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_IN)).astype(np.float32)
    y = rng.standard_normal((N, D_OUT)).astype(np.float32)
    params = [rng.standard_normal((D_IN, H)).astype(np.float32),
              rng.standard_normal((H, D_OUT)).astype(np.float32)]

    def loss_fn(ws):
        y_pred = anp.dot(anp.maximum(anp.dot(x, ws[0]), 0), ws[1])
        return anp.sum((y_pred - y) ** 2)

    loss_grad = grad(loss_fn)

    def two_layer():
        g = loss_grad(params)
        params[0] -= LR * g[0]
        params[1] -= LR * g[1]

    v = rng.standard_normal(16).astype(np.float32)

    def chain_fn(h):
        for _ in range(CHAIN_OPS // 4):
            h = anp.tanh((h + 0.5) * 0.9)
            h = 1.0 / (1.0 + anp.exp(-h))
        return anp.sum(h)

    chain_grad = grad(chain_fn)
    return two_layer, lambda: chain_grad(v)


# -- MyGrad ---------------------------------------------------------------------------------------------
def mygrad_lib():
    import mygrad as mg

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_IN)).astype(np.float32)
    y = rng.standard_normal((N, D_OUT)).astype(np.float32)
    w1 = mg.tensor(rng.standard_normal((D_IN, H)).astype(np.float32))
    w2 = mg.tensor(rng.standard_normal((H, D_OUT)).astype(np.float32))

    def two_layer():
        y_pred = mg.matmul(mg.maximum(mg.matmul(x, w1), 0), w2)
        loss = mg.sum((y_pred - y) ** 2)
        loss.backward()
        w1.data -= LR * w1.grad
        w2.data -= LR * w2.grad

    v = mg.tensor(rng.standard_normal(16).astype(np.float32))

    def chain():
        h = v
        for _ in range(CHAIN_OPS // 4):
            h = h + 0.5
            h = h * 0.9
            h = mg.tanh(h)
            h = 1 / (1 + mg.exp(-h))  # MyGrad has no sigmoid primitive
        mg.sum(h).backward()

    return two_layer, chain


LIBRARIES = {
    "chainrule": lambda: torch_like("chainrule"),
    "torch": lambda: torch_like("torch"),
    "numpy": numpy_manual,
    "autograd": hips_autograd,
    "mygrad": mygrad_lib,
}


def worker(name, repeat):
    two_layer, chain = LIBRARIES[name]()
    step = _median_time(two_layer, repeat, warmup=100)
    per_op = _median_time(chain, repeat, warmup=100) / CHAIN_OPS
    print(json.dumps({"two_layer_ms": step * 1e3, "chain_us_per_op": per_op * 1e6}))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--libs", default=",".join(LIBRARIES))
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads per worker (default: the machine's default). "
                             "On a loaded machine multithreaded OpenBLAS can stall badly; "
                             "--threads 1 gives steadier numbers for every library alike.")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeat)
        return
    env = dict(os.environ)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
    results = {name: [] for name in args.libs.split(",")}
    for _ in range(args.rounds):
        for name in results:
            proc = subprocess.run([sys.executable, __file__, "--worker", name, "--repeat",
                                   str(args.repeat)], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                results[name] = None
                print(f"{name}: unavailable ({proc.stderr.strip().splitlines()[-1:]})",
                      file=sys.stderr)
                continue
            if results[name] is not None:
                results[name].append(json.loads(proc.stdout))
    table = {}
    for name, runs in results.items():
        if runs:
            table[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ref = table.get("torch")
    print(f"{'library':<11}{'two-layer step':>16}{'vs torch':>10}{'chain, per op':>16}"
          f"{'vs torch':>10}")
    for name, row in table.items():
        r1 = f"{row['two_layer_ms'] / ref['two_layer_ms']:.2f}x" if ref else "-"
        r2 = f"{row['chain_us_per_op'] / ref['chain_us_per_op']:.2f}x" if ref else "-"
        print(f"{name:<11}{row['two_layer_ms']:>13.3f} ms{r1:>10}"
              f"{row['chain_us_per_op']:>13.2f} us{r2:>10}")


if __name__ == "__main__":
    main()
