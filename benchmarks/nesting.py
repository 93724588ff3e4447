#!/usr/bin/env python
"""Nesting benchmark: the time of each combination of derivatives relative to the gradient.

Usage::

    python benchmarks/nesting.py            # 7 interleaved rounds
    python benchmarks/nesting.py --rounds 3

Two workloads: a scalar function of one float (a short loop of smooth operations), for the
towers grad(grad(f)) and grad(grad(grad(f))); and `meta`, the loss after four gradient steps
of an inner objective of 50 weights as a function of the step size (a function that calls a
gradient, differentiated in reverse mode, i.e. reverse over reverse, and in forward mode); and
`newton_cg`, a step along a Hessian-vector product at a point that depends on the argument. Each
derivative is compiled before timing; all candidates run interleaved in this one process and
a time is the median over the rounds. `x f` is the time over the function's own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")
_SRC = str(Path(__file__).resolve().parent.parent / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)

import numpy as np  # noqa: E402

import sourcediff as sd  # noqa: E402


def wave(x):
    s = 0.0
    for k in range(10):
        s = s + np.sin(k * 0.1 * x) * np.exp(-0.05 * k * x * x)
    return s


def inner(w, data):
    return np.sum((w * data - 1.0) ** 2) + 0.1 * np.sum(w ** 4)


d_inner = sd.grad(inner)
hvp_inner = sd.hvp(inner)
DATA = np.linspace(-1.0, 1.0, 50)


def meta(rate):
    w = np.ones(50)
    for _ in range(4):
        w = w - rate * d_inner(w, DATA)
    return inner(w, DATA)


def newton_cg(scale):
    """The loss after a step w - 0.1 H g from w = scale * ones (a Hessian-vector product at a
    point that depends on the argument, so its derivative is a third derivative of inner)."""
    w = scale * np.ones(50)
    g = d_inner(w, DATA)
    return inner(w - 0.1 * hvp_inner(w, DATA, g), DATA)


def candidates():
    g = sd.grad(wave)
    gg = sd.grad(g)
    return [
        ("wave", "f", wave, (0.7,)),
        ("wave", "grad f", g, (0.7,)),
        ("wave", "grad grad f (forward over the gradient's code)", gg, (0.7,)),
        ("wave", "grad(grad f, mode=forward)", sd.grad(g, mode="forward"),
         (0.7,)),
        ("wave", "grad grad grad f", sd.grad(gg), (0.7,)),
        ("meta", "f (calls grad of inner)", meta, (0.05,)),
        ("meta", "grad f (reverse over reverse)", sd.grad(meta), (0.05,)),
        ("meta", "grad f, forward (forward over reverse)", sd.grad(meta, mode="forward"),
         (0.05,)),
        ("newton_cg", "f (calls grad and hvp of inner)", newton_cg, (0.05,)),
        ("newton_cg", "grad f (reverse over forward over reverse)", sd.grad(newton_cg),
         (0.05,)),
    ]


def best_time(fn, args, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    opts = parser.parse_args(argv)
    rows = candidates()
    for _, _, fn, args in rows:   # compile everything first
        fn(*args)
    times = {k: [] for k in range(len(rows))}
    for r in range(opts.rounds):
        order = list(range(len(rows)))
        order = order[r % len(order):] + order[:r % len(order)]
        for k in order:
            _, _, fn, args = rows[k]
            times[k].append(best_time(fn, args, 20))
    base = {}
    print(f"{'workload':10} {'derivative':48} {'time':>10} {'x f':>7}")
    for k, (work, label, _, _) in enumerate(rows):
        t = statistics.median(times[k])
        base.setdefault(work, t)
        print(f"{work:10} {label:48} {t * 1e6:8.1f}us {t / base[work]:7.1f}")


if __name__ == "__main__":
    main()
