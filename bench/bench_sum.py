"""Benchmark of ops/_cascade_sum.py (torch-order float32 sums) against np.sum and torch.

One process; each case is timed as the median over rounds that run every implementation in
turn (microseconds per call).
`--baseline REV` also times the module as it was at git revision REV (loaded from
`git show REV:src/chainrule/ops/_cascade_sum.py`), so before/after come from the same run.

    python bench/bench_sum.py [--baseline a70c4d1] [--repeat 15]   # a70c4d1: before the plans
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import types

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from chainrule.ops import _cascade_sum as current  # noqa: E402

CASES = [  # (label, shape, axes)
    ("3 1-D", (3,), None),
    ("12 1-D", (12,), None),
    ("16 1-D", (16,), None),
    ("640 1-D", (640,), None),
    ("(64,10) full", (64, 10), None),
    ("(64,10) axis 0", (64, 10), (0,)),
    ("(64,10) axis 1", (64, 10), (1,)),
    ("(512,1024) axis 0", (512, 1024), (0,)),
    ("(512,1024) axis 1", (512, 1024), (1,)),
    ("1M full", (1 << 20,), None),
]


def load_revision(rev):
    src = subprocess.run(["git", "show", f"{rev}:src/chainrule/ops/_cascade_sum.py"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    mod = types.ModuleType(f"_cascade_sum_{rev}")
    exec(compile(src, mod.__name__, "exec"), mod.__dict__)
    return mod


def median_us(fns, repeat):
    """Per-call microseconds of each of fns: median over `repeat` rounds, each round timing a
    batch (sized to ~10 ms) of every function in turn, so that load drifts hit all alike."""
    numbers = []
    for fn in fns:
        fn()
        t0 = time.perf_counter()
        fn()
        numbers.append(max(1, int(0.01 / max(time.perf_counter() - t0, 1e-7))))
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, number, out in zip(fns, numbers, times):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            out.append((time.perf_counter() - t0) / number)
    return [statistics.median(t) * 1e6 for t in times]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default=None, help="git revision to compare with")
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    impls = []
    if args.baseline:
        impls.append((f"before({args.baseline})", load_revision(args.baseline).cascade_sum))
    impls.append(("now", current.cascade_sum))
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    header = f"{'case':20s}" + "".join(f"{name:>16s}" for name, _ in impls)
    header += f"{'np.sum':>10s}" + (f"{'torch':>10s}" if torch else "") + "  bits"
    print(header)
    for label, shape, axes in CASES:
        x = rng.standard_normal(shape).astype(np.float32)
        fns = [lambda fn=fn: fn(x, axes) for _, fn in impls]
        fns.append(lambda: np.sum(x, axis=axes))
        same = ""
        if torch is not None:
            t = torch.from_numpy(x)
            tfn = (lambda: t.sum()) if axes is None else (lambda: t.sum(dim=axes))
            fns.append(tfn)
            want = tfn().numpy()
            got = current.cascade_sum(x, axes)
            same = "  ok" if np.array_equal(np.asarray(got).view(np.uint32),
                                            want.view(np.uint32)) else "  DIFF"
        us = median_us(fns, args.repeat)
        row = f"{label:20s}" + "".join(f"{u:14.1f}us" for u in us[:len(impls)])
        row += "".join(f"{u:8.1f}us" for u in us[len(impls):])
        print(row + same)


if __name__ == "__main__":
    main()
