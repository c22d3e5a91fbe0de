"""chainrule.compile against eager chainrule, PyTorch eager, torch.compile and jax.jit.

    python bench/bench_compile.py            # every library that imports, one process each
    python bench/bench_compile.py --quick    # fewer repetitions

Each library runs in its own process (so one's threads and caches do not disturb another's);
each workload reports the median time of a call after warm-up and the time of the first call
(tracing / compiling). Ratios are to PyTorch eager from the same run. No assertions: this
prints numbers.

Workloads (float32 unless said):
  chain200   200 chained elementwise ops on a 16x16 tensor (mul, add, tanh, sin), sum, backward
  micrograd  micrograd's demo MLP 2-16-16-1 on 100 points, max-margin loss + L2, float64,
             one full-batch step (forward, loss, backward, SGD)
  seed       the seeds' two-layer net step: N=64, D_in=1000, H=100, D_out=10,
             x.mm(w1).clamp(min=0).mm(w2), squared error sum, backward, SGD
  mlp784     784-1024-1024-10 ReLU MLP, batch 512, log_softmax + NLL, backward, SGD
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

WORKLOADS = ["chain200", "micrograd", "seed", "mlp784"]
LIBS = ["chainrule eager", "chainrule compiled", "torch eager", "torch.compile", "jax.jit"]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    mg_x = rng.standard_normal((100, 2))
    mg = dict(X=mg_x, y=np.where(mg_x[:, 0] * mg_x[:, 1] > 0, 1.0, -1.0)[:, None],
              W=[rng.uniform(-1, 1, s) for s in [(2, 16), (16, 16), (16, 1)]],
              b=[np.zeros(s) for s in (16, 16, 1)])
    seed_net = dict(x=rng.standard_normal((64, 1000)), y=rng.standard_normal((64, 10)),
                    w1=rng.standard_normal((1000, 100)), w2=rng.standard_normal((100, 10)))
    big = dict(x=rng.standard_normal((512, 784)), y=rng.integers(0, 10, 512),
               W=[rng.standard_normal(s) * np.sqrt(2 / s[0]) for s in
                  [(784, 1024), (1024, 1024), (1024, 10)]],
               b=[np.zeros(s) for s in (1024, 1024, 10)])
    chain = dict(x=rng.standard_normal((16, 16)))
    return dict(chain200=chain, micrograd=mg, seed=seed_net, mlp784=big)


# -- torch-like libraries (chainrule and torch share the code) ----------------------------------
def torchlike_workloads(lib):
    d = _data()
    f32, f64 = lib.float32, lib.float64
    T = lambda a, dt=f32, rg=False: lib.tensor(np.asarray(a), dtype=dt, requires_grad=rg)  # noqa

    def chain_fn(x):
        for i in range(200):
            k = i % 4
            x = x * 0.99 if k == 0 else x + 0.01 if k == 1 else x.tanh() if k == 2 else x.sin()
        return x.sum()

    cx = T(d["chain200"]["x"], rg=True)

    def chain_step(x):
        x.grad = None
        loss = chain_fn(x)
        loss.backward()
        return loss

    mg = d["micrograd"]
    mgX, mgy = T(mg["X"], f64), T(mg["y"], f64)
    mgp = [T(w, f64, True) for w in mg["W"]] + [T(b, f64, True) for b in mg["b"]]

    def mg_step(X, y):
        W, b = mgp[:3], mgp[3:]
        h = (X.mm(W[0]) + b[0]).relu()
        h = (h.mm(W[1]) + b[1]).relu()
        scores = h.mm(W[2]) + b[2]
        loss = (1 + -y * scores).relu().mean() + 1e-4 * sum((p * p).sum() for p in mgp)
        for p in mgp:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in mgp:
                p -= 0.05 * p.grad
        return loss

    s = d["seed"]
    sx, sy, w1, w2 = T(s["x"]), T(s["y"]), T(s["w1"], rg=True), T(s["w2"], rg=True)

    def seed_step(x, y):
        w1.grad = w2.grad = None
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            w1.sub_(1e-6 * w1.grad)
            w2.sub_(1e-6 * w2.grad)
        return loss

    b = d["mlp784"]
    bx, by = T(b["x"]), lib.tensor(b["y"], dtype=lib.int64)
    bp = [T(w, rg=True) for w in b["W"]] + [T(v, rg=True) for v in b["b"]]

    def big_step(x, y):
        W, bias = bp[:3], bp[3:]
        h = (x.mm(W[0]) + bias[0]).relu()
        h = (h.mm(W[1]) + bias[1]).relu()
        logp = (h.mm(W[2]) + bias[2]).log_softmax(1)
        loss = -logp.gather(1, y.unsqueeze(1)).mean()
        for p in bp:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in bp:
                p -= 0.01 * p.grad
        return loss

    return {"chain200": (chain_step, (cx,)), "micrograd": (mg_step, (mgX, mgy)),
            "seed": (seed_step, (sx, sy)), "mlp784": (big_step, (bx, by))}


# -- jax -------------------------------------------------------------------------------------
def jax_workloads():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    d = _data()
    f32 = jnp.float32

    def chain_loss(x):
        for i in range(200):
            k = i % 4
            x = x * 0.99 if k == 0 else x + 0.01 if k == 1 else jnp.tanh(x) if k == 2 \
                else jnp.sin(x)
        return x.sum()

    chain = jax.jit(jax.value_and_grad(chain_loss))
    mg = d["micrograd"]
    mg_params = [jnp.asarray(w) for w in mg["W"]] + [jnp.asarray(b) for b in mg["b"]]

    def mg_loss(params, X, y):
        W, b = params[:3], params[3:]
        h = jax.nn.relu(X @ W[0] + b[0])
        h = jax.nn.relu(h @ W[1] + b[1])
        scores = h @ W[2] + b[2]
        return jax.nn.relu(1 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in params)

    @jax.jit
    def mg_step(params, X, y):
        loss, grads = jax.value_and_grad(mg_loss)(params, X, y)
        return [p - 0.05 * g for p, g in zip(params, grads)], loss

    s = d["seed"]
    seed_params = [jnp.asarray(s["w1"], f32), jnp.asarray(s["w2"], f32)]

    def seed_loss(params, x, y):
        w1, w2 = params
        return ((jnp.maximum(x @ w1, 0) @ w2 - y) ** 2).sum()

    @jax.jit
    def seed_step(params, x, y):
        loss, grads = jax.value_and_grad(seed_loss)(params, x, y)
        return [p - 1e-6 * g for p, g in zip(params, grads)], loss

    b = d["mlp784"]
    big_params = [jnp.asarray(w, f32) for w in b["W"]] + [jnp.asarray(v, f32) for v in b["b"]]

    def big_loss(params, x, y):
        W, bias = params[:3], params[3:]
        h = jax.nn.relu(x @ W[0] + bias[0])
        h = jax.nn.relu(h @ W[1] + bias[1])
        logp = jax.nn.log_softmax(h @ W[2] + bias[2], axis=1)
        return -jnp.take_along_axis(logp, y[:, None], 1).mean()

    @jax.jit
    def big_step(params, x, y):
        loss, grads = jax.value_and_grad(big_loss)(params, x, y)
        return [p - 0.01 * g for p, g in zip(params, grads)], loss

    state = {"mg": mg_params, "seed": seed_params, "big": big_params}
    cx = jnp.asarray(d["chain200"]["x"], f32)
    mgX, mgy = jnp.asarray(mg["X"]), jnp.asarray(mg["y"])
    sx, sy = jnp.asarray(s["x"], f32), jnp.asarray(s["y"], f32)
    bx, by = jnp.asarray(b["x"], f32), jnp.asarray(b["y"])

    def run(name, fn, *args):
        def call():
            state[name], loss = fn(state[name], *args)
            loss.block_until_ready()
        return call

    def chain_call():
        loss, g = chain(cx)
        g.block_until_ready()

    return {"chain200": chain_call, "micrograd": run("mg", mg_step, mgX, mgy),
            "seed": run("seed", seed_step, sx, sy), "mlp784": run("big", big_step, bx, by)}


# -- timing ----------------------------------------------------------------------------------
def _time(call, reps, min_seconds):
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    call()  # e.g. a second trace (.grad None -> set), not counted as steady state
    times, start = [], time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if len(times) >= 20 * reps:
            break
    return first, statistics.median(times)


def run_library(name, quick):
    reps = {"chain200": 30, "micrograd": 50, "seed": 30, "mlp784": 5}
    if quick:
        reps = {k: max(3, v // 5) for k, v in reps.items()}
    results = {}
    if name == "jax.jit":
        calls = jax_workloads()
    else:
        if name.startswith("chainrule"):
            import chainrule as lib
        else:
            import torch as lib

            lib.manual_seed(0)
        workloads = torchlike_workloads(lib)
        calls = {}
        for key, (fn, args) in workloads.items():
            if name == "chainrule compiled":
                fn = lib.compile(fn)
            elif name == "torch.compile":
                fn = lib.compile(fn)
            calls[key] = (lambda fn=fn, args=args: fn(*args))
    for key in WORKLOADS:
        first, median = _time(calls[key], reps[key], 0.5 if quick else 2.0)
        results[key] = {"first": first, "median": median}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", help="run one library in this process (internal)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", action="append", default=[], help="a library to leave out")
    args = parser.parse_args()
    if args.lib:
        print(json.dumps(run_library(args.lib, args.quick)))
        return
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src")
               + os.pathsep + os.environ.get("PYTHONPATH", ""))
    table = {}
    for lib in LIBS:
        if lib in args.skip:
            continue
        cmd = [sys.executable, __file__, "--lib", lib] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            print(f"# {lib}: not measured ({reason[:100]})", file=sys.stderr)
            continue
        table[lib] = json.loads(proc.stdout.strip().splitlines()[-1])
    base = table.get("torch eager")
    print(f"{'workload':<11}" + "".join(f"{lib:>24}" for lib in table))
    for key in WORKLOADS:
        row = f"{key:<11}"
        for lib, res in table.items():
            ms = res[key]["median"] * 1e3
            ratio = f" ({res[key]['median'] / base[key]['median']:.2f}x)" if base else ""
            row += f"{ms:>14.3f} ms{ratio:>8}"
        print(row)
    print("\nfirst call (tracing / compiling), seconds:")
    for key in WORKLOADS:
        print(f"{key:<11}" + "".join(f"{res[key]['first']:>24.3f}" for res in table.values()))
    if "chainrule eager" in table and "chainrule compiled" in table:
        print("\ncompiled chainrule speed-up over eager chainrule:")
        for key in WORKLOADS:
            e, c = table["chainrule eager"][key]["median"], table["chainrule compiled"][key]["median"]
            print(f"{key:<11}{e / c:>8.2f}x")


if __name__ == "__main__":
    main()
