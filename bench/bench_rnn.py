"""Recurrent-layer benchmark: chainrule's nn.LSTM / nn.GRU / nn.RNN (and the cells stepped by
hand) against PyTorch's.

Workloads (float32, training step without the optimizer):
  lstm, gru, rnn  a 2-layer layer, input 32, hidden 64, sequence 50, batch 16: forward, the
                  mean of the output squared, backward, parameter grads set to None.
  lstm_cell,      the same single-layer sizes stepped by hand over the 50 steps with the cell
  gru_cell        (as char-rnn style code does), then the same loss and backward.
Reported in ms per step.

Each library runs in its own process (`--worker NAME`); the parent alternates the libraries
over several rounds (the machines are shared and noisy) and prints the median of the
per-round medians, with the ratio to PyTorch from the same run.

    python bench/bench_rnn.py [--threads 1] [--rounds 3] [--repeat 30]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench_core import _median_time  # noqa: E402 - the same timing rule as the core benchmark

LAYERS, INPUT, HIDDEN, SEQ, BATCH = 2, 32, 64, 50, 16
WORKLOADS = ["lstm", "gru", "rnn", "lstm_cell", "gru_cell"]


def workloads(lib):
    torch = __import__(lib)
    nn = torch.nn
    torch.manual_seed(0)
    x = torch.randn(SEQ, BATCH, INPUT)
    out = {}

    def layer_step(mod):
        params = list(mod.parameters())

        def step():
            y, _ = mod(x)
            (y * y).mean().backward()
            for p in params:
                p.grad = None
        return step

    out["lstm"] = layer_step(nn.LSTM(INPUT, HIDDEN, LAYERS))
    out["gru"] = layer_step(nn.GRU(INPUT, HIDDEN, LAYERS))
    out["rnn"] = layer_step(nn.RNN(INPUT, HIDDEN, LAYERS))

    def cell_step(cell, lstm):
        params = list(cell.parameters())

        def step():
            h = torch.zeros(BATCH, HIDDEN)
            c = torch.zeros(BATCH, HIDDEN)
            hs = []
            for t in range(SEQ):
                if lstm:
                    h, c = cell(x[t], (h, c))
                else:
                    h = cell(x[t], h)
                hs.append(h)
            y = torch.stack(hs)
            (y * y).mean().backward()
            for p in params:
                p.grad = None
        return step

    out["lstm_cell"] = cell_step(nn.LSTMCell(INPUT, HIDDEN), True)
    out["gru_cell"] = cell_step(nn.GRUCell(INPUT, HIDDEN), False)
    return out


def worker(name, repeat, only):
    fns = workloads(name)
    result = {}
    for key in only:
        result[key] = _median_time(fns[key], repeat, warmup=3) * 1e3
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--libs", default="chainrule,torch")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads per worker (default: the machine's default). "
                             "--threads 1 gives steadier numbers on a loaded machine.")
    args = parser.parse_args()
    only = args.only.split(",")
    if args.worker:
        if args.worker == "torch" and args.threads:
            import torch
            torch.set_num_threads(args.threads)
        worker(args.worker, args.repeat, only)
        return
    env = dict(os.environ)
    extra = []
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.threads)
        extra = ["--threads", str(args.threads)]
    results = {name: [] for name in args.libs.split(",")}
    for _ in range(args.rounds):
        for name in results:
            if results[name] is None:
                continue
            proc = subprocess.run([sys.executable, __file__, "--worker", name, "--repeat",
                                   str(args.repeat), "--only", args.only] + extra,
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                results[name] = None
                print(f"{name}: unavailable ({proc.stderr.strip().splitlines()[-1:]})",
                      file=sys.stderr)
                continue
            results[name].append(json.loads(proc.stdout))
    table = {name: {k: statistics.median(r[k] for r in runs) for k in only}
             for name, runs in results.items() if runs}
    ref = table.get("torch")
    print(f"{LAYERS} layers (cells: 1), input {INPUT}, hidden {HIDDEN}, seq {SEQ}, batch {BATCH}, "
          f"float32, forward+backward; ms per step, median of {args.rounds} rounds")
    print(f"{'workload':<11}" + "".join(f"{name:>12}" for name in table)
          + ("   chainrule/torch" if ref and "chainrule" in table else ""))
    for key in only:
        row = f"{key:<11}" + "".join(f"{table[name][key]:>9.2f} ms" for name in table)
        if ref and "chainrule" in table:
            row += f"{table['chainrule'][key] / ref[key]:>17.2f}x"
        print(row)


if __name__ == "__main__":
    main()
