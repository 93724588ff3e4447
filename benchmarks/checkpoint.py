#!/usr/bin/env python
"""Checkpointing benchmark: tape bytes and time of the ODE workload's gradient with K snapshots.

Usage::

    python benchmarks/checkpoint.py             # 10^5 steps, 5 interleaved rounds
    python benchmarks/checkpoint.py --quick     # 10^4 steps, 3 rounds
    python benchmarks/checkpoint.py --steps 200000 --snapshots 10,30,100 --rounds 7

`pendulum_ode` from workloads.py (gradient with respect to k and c; a state of two floats) is
differentiated without checkpoints and with `grad(f, checkpoint=K)`, which checkpoints its loop
with K snapshots; then `logistic_field` below, whose state is an array of 1,000 floats
(gradient with respect to the initial state; `--no-array` skips it, `--array-steps` sets its
steps, by default a tenth of `--steps`: its plain gradient keeps a state a step). All
candidates run in this one process, interleaved (each round calls each once, in rotating
order); a time is the median over the rounds. The columns: `tape` is `df.tape_bytes(...)`, the
peak of what the derivative keeps for its adjoint (snapshots included); `time` one gradient
call; `time / none` that over the un-checkpointed gradient; `recompute` the plain forward steps
per loop step (the sweep and every recomputed step; 1 means no recomputation) and `Revolve` the
optimum for that many steps and snapshots (Griewank and Walther's closed form). Every gradient
is checked against the un-checkpointed one.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path

for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent / "src"), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402

import sourcediff  # noqa: E402
from sourcediff import runtime  # noqa: E402

W = importlib.import_module("workloads")


def logistic_field(u, a, n):
    """n steps of an elementwise logistic map on an array (the state the loop carries)."""
    for _ in range(n):
        u = u * (a - 0.1 * u)
    return float(np.sum(u))


def fmt_bytes(n):
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def fmt_time(t):
    return f"{t * 1e3:.0f} ms" if t >= 0.1 else f"{t * 1e3:.1f} ms"


def measure(title, func, wrt, args, steps, ks, rounds):
    """Print one table: `func`'s gradient without checkpoints and with each K."""
    names = ["none"] + [str(k) for k in ks]
    derivs = {"none": sourcediff.grad(func, wrt=wrt)}
    for k in ks:
        derivs[str(k)] = sourcediff.grad(func, wrt=wrt, checkpoint=k)
    want = np.asarray(derivs["none"](*args), dtype=float)
    rows = {}
    for name in names:
        got = np.asarray(derivs[name](*args), dtype=float)
        error = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-300))
        rows[name] = {"error": error, "tape": derivs[name].tape_bytes(*args), "times": []}
        stats = runtime.checkpoint_statistics() if name != "none" else None
        rows[name]["recompute"] = stats["forward_steps"] / steps if stats else 1.0
        rows[name]["optimum"] = stats["optimal_forward_steps"] / steps if stats else None
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            start = time.perf_counter()
            derivs[name](*args)
            rows[name]["times"].append(time.perf_counter() - start)
        print(f"{title}: round {r + 1}/{rounds} done", file=sys.stderr)
    base = statistics.median(rows["none"]["times"])
    print(f"{title}, {steps:,} steps; median of {rounds} rounds\n")
    print("| K | tape | time | time / none | recompute | Revolve | rel. error |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        row = rows[name]
        t = statistics.median(row["times"])
        optimum = f"{row['optimum']:.2f}" if row["optimum"] is not None else "-"
        print(f"| {name} | {fmt_bytes(row['tape'])} | {fmt_time(t)} | {t / base:.2f} | "
              f"{row['recompute']:.2f} | {optimum} | {row['error']:.1e} |")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="loop steps (default 10^5)")
    parser.add_argument("--array-steps", type=int, default=None,
                        help="steps of the array workload (default: a tenth of --steps)")
    parser.add_argument("--no-array", action="store_true", help="skip the array workload")
    parser.add_argument("--snapshots", default="10,30,100", help="values of K")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="10^4 steps, 3 rounds")
    opts = parser.parse_args(argv)
    steps = opts.steps or (10_000 if opts.quick else 100_000)
    rounds = opts.rounds or (3 if opts.quick else 5)
    ks = [int(k) for k in opts.snapshots.split(",")]
    measure("pendulum_ode (state: 2 floats), gradient w.r.t. (k, c)", W.pendulum_ode, (0, 1),
            (4.0, 0.3, 1.0, 0.0, 10.0 / steps, steps), steps, ks, rounds)
    if not opts.no_array:
        n = opts.array_steps or max(steps // 10, 1)
        u = np.linspace(0.5, 1.5, 1000)
        measure("logistic_field (state: 1,000 floats), gradient w.r.t. u", logistic_field, 0,
                (u, 1.0, n), n, ks, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
