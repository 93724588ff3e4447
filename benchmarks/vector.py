#!/usr/bin/env python
"""Vector forward mode benchmark: Jacobians and Hessians in one pass against one pass per
column.

Usage::

    python benchmarks/vector.py             # 5 interleaved rounds
    python benchmarks/vector.py --rounds 3 --sizes 10,100

Workloads:

* `jacobian`: a dense n -> n function (elementwise operations and a short loop); the
  forward-mode Jacobian (the vector mode: every direction in one pass, and in chunks of 32)
  against one tangent pass per column, as a multiple of the function's time.
* `hessian`: a scalar loop over n variables (`x[i]` one at a time); the Hessian (the vector
  mode over the reverse-mode gradient) against one pass per column, as a multiple of the
  gradient's time.

Each derivative is compiled before timing, all candidates run interleaved in this one
process, a time is the median over the rounds. Every result is checked against the
one-pass-per-column result (to 1e-12) before timing. The targets of issue 15 are a Jacobian
of a 100 -> 100 function at most 20 x the function and a Hessian of a 100-variable scalar
loop at most 50 x the gradient.
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
from sourcediff.jacobians import Jacobian  # noqa: E402


def dense(x):
    y = np.tanh(x) * 0.5 + x
    for _ in range(3):
        y = np.sin(y) * x + 0.1 * y * y
    return y


PER_COLUMN_MAX = 300   # the largest Hessian timed with one pass per column


def scalar_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(x[i]) * x[i - 1] + 0.5 * x[i] * x[i]
    return s


def _per_column(jac):
    """The same Jacobian with one tangent pass per column."""
    per = Jacobian(jac.func, jac.wrt, "forward")
    per.vector = None
    return per


def _best(fn, args, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat


def _time(candidates, args, rounds):
    """{name: median seconds per call}, candidates interleaved in rotating order."""
    repeat = {}
    for name, fn in candidates.items():
        fn(*args)
        once = _best(fn, args, 1)
        repeat[name] = max(1, min(200, int(0.05 / max(once, 1e-7))))
    times = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(_best(candidates[name], args, repeat[name]))
    return {name: statistics.median(t) for name, t in times.items()}


def _check(got, expected, what):
    scale = 1.0 + np.max(np.abs(expected))
    if not np.allclose(got, expected, rtol=1e-12, atol=1e-12 * scale):
        raise SystemExit(f"{what}: the vector mode differs from one pass per column")


def run(sizes, rounds):
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        x = rng.normal(size=n)
        jac = sd.jacobian(dense, mode="forward")
        chunked = sd.jacobian(dense, mode="forward", chunk_size=32)
        per = _per_column(jac)
        _check(jac(x), per(x), f"jacobian n={n}")
        _check(chunked(x), per(x), f"jacobian chunk 32 n={n}")
        t = _time({"f": dense, "vector": jac, "chunk 32": chunked, "per column": per},
                  (x,), rounds)
        rows.append(("jacobian", n, "x f", t["vector"] / t["f"], t["chunk 32"] / t["f"],
                     t["per column"] / t["f"]))
        hess = sd.hessian(scalar_loop)
        per = _per_column(hess)
        g = sd.grad(scalar_loop)
        chunked = sd.hessian(scalar_loop, chunk_size=32)
        candidates = {"grad": g, "vector": hess, "chunk 32": chunked, "per column": per}
        if n > PER_COLUMN_MAX:   # n passes over a loop of n steps: minutes; not timed
            del candidates["per column"]
        else:
            _check(hess(x), per(x), f"hessian n={n}")
        t = _time(candidates, (x,), rounds)
        rows.append(("hessian", n, "x grad", t["vector"] / t["grad"],
                     t["chunk 32"] / t["grad"], t.get("per column", np.nan) / t["grad"]))
    print(f"{'workload':<10}{'n':>6}{'unit':>8}{'vector':>10}{'chunk 32':>10}"
          f"{'per column':>12}{'speedup':>9}")
    for name, n, unit, vec, chunk, per in rows:
        per_text = "not run" if np.isnan(per) else f"{per:.1f}"
        speedup = "" if np.isnan(per) else f"{per / vec:.1f}x"
        print(f"{name:<10}{n:>6}{unit:>8}{vec:>10.1f}{chunk:>10.1f}{per_text:>12}"
              f"{speedup:>9}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000",
                        help="comma-separated n (default 10,100,1000)")
    args = parser.parse_args()
    run([int(s) for s in args.sizes.split(",")], args.rounds)


if __name__ == "__main__":
    main()
