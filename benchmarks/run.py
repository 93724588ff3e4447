#!/usr/bin/env python
"""Benchmark suite for sourcediff.

Usage::

    python benchmarks/run.py            # full run: markdown table + benchmarks/results.json
    python benchmarks/run.py --quick    # few repetitions, for smoke testing
    python benchmarks/run.py --check    # verify hand-written gradients against finite differences

See benchmarks/README.md for what the columns mean.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One thread per library by default: the tools are timed interleaved in one process, and
# idle-spinning BLAS/OpenMP/XLA worker pools of one tool would otherwise slow down the next
# one.  Set these variables yourself to override (they must be set before numpy loads).
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
for _k, _v in THREAD_ENV.items():
    os.environ.setdefault(_k, _v)

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Benchmark the working tree, not whatever sourcediff happens to be installed.
for _p in (str(ROOT / "src"), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

W = importlib.import_module("workloads")

SD_HAND_TARGET = 1.15  # sourcediff reverse / hand-written gradient time
COMPILE_TARGET_MS = 20.0  # first grad(f) + first call
FWD_TARGET = 3.0  # forward-mode gradient / f, for a scalar function of one scalar input
HVP_TARGET = 5.0  # hvp / grad
HVP_RTOL = 1e-5  # agreement of hvp with finite differences of the hand-written gradient
GRAD_RTOL = 1e-6  # agreement of a tool's gradient with the hand-written one
PEERS = ("autograd", "torch", "jax", "jax-jit")

COLUMNS = [
    "workload",
    "size",
    "f time",
    "sd grad/f",
    "hand grad/f",
    "sd/hand",
    "fwd/f",
    "autograd/f",
    "torch/f",
    "jax/f",
    "jax-jit/f",
    "compile ms",
    "tape",
    "hand tape",
]

FWD_COLUMNS = [
    "workload",
    "size",
    "inputs",
    "f time",
    "fwd/f",
    "jvp code/f",
    "sd grad/f",
    "hand grad/f",
    f"target fwd/f ≤ {FWD_TARGET:g}",
]

HVP_COLUMNS = [
    "workload",
    "size",
    "f time",
    "grad/f",
    "hvp/f",
    "hvp/grad",
    f"target hvp/grad ≤ {HVP_TARGET:g}",
]


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def describe_exc(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cell_text(text: str, limit: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(r: float) -> str:
    if r < 10:
        return f"{r:.2f}"
    if r < 100:
        return f"{r:.1f}"
    return f"{r:.0f}"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def as_grad_tuple(g: Any, nwrt: int, is_tuple: bool) -> tuple[np.ndarray, ...]:
    if is_tuple:
        if not isinstance(g, (tuple, list)) or len(g) != nwrt:
            raise ValueError(f"expected a tuple of {nwrt} gradients, got {type(g).__name__}")
        return tuple(to_numpy(x) for x in g)
    if isinstance(g, (tuple, list)) and len(g) == 1:
        g = g[0]
    return (to_numpy(g),)


def grad_error(g: Any, ref: Any, wl: Any) -> float:
    """Largest per-component error of ``g`` relative to the reference gradient's scale."""
    is_tuple = isinstance(wl.wrt, tuple)
    n = len(wl.wrt_tuple())
    gs = as_grad_tuple(g, n, is_tuple)
    rs = as_grad_tuple(ref, n, is_tuple)
    worst = 0.0
    for a, b in zip(gs, rs, strict=True):
        if a.shape != b.shape:
            raise ValueError(f"gradient shape {a.shape} != expected {b.shape}")
        if not np.all(np.isfinite(a)):
            return math.inf
        scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-12)
        err = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
        worst = max(worst, err)
    return worst


def fresh_function(f: Callable) -> Callable:
    """A new function object with the same code/globals, so identity-keyed caches miss."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__module__ = f.__module__
    g.__qualname__ = f.__qualname__
    g.__doc__ = f.__doc__
    return g


def rebind(f: Callable, np_mod: Any, math_mod: Any) -> Callable:
    """Copy of ``f`` whose globals ``np`` and ``math`` point at another backend."""
    glb = dict(f.__globals__)
    glb["np"] = np_mod
    glb["math"] = math_mod
    return types.FunctionType(f.__code__, glb, f.__name__, f.__defaults__, f.__closure__)


def math_shim(backend: Any, lift: Callable | None = None) -> types.SimpleNamespace:
    """A stand-in for the math module whose functions are the backend's elementwise ops."""
    ns = {k: v for k, v in vars(math).items() if not k.startswith("_")}
    for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sinh", "cosh"):
        fn = getattr(backend, name, None)
        if fn is not None:
            ns[name] = lift(fn, getattr(math, name)) if lift else fn
    return types.SimpleNamespace(**ns)


def import_sourcediff() -> tuple[Any, str | None]:
    try:
        sd = importlib.import_module("sourcediff")
    except Exception as exc:
        return None, describe_exc(exc)
    if not hasattr(sd, "grad"):
        return sd, "AttributeError: module 'sourcediff' has no attribute 'grad'"
    return sd, None


class PeerUnavailable(Exception):
    pass


_PEER_CACHE: dict[str, Any] = {}


def import_peer(name: str) -> Any:
    """Import a peer tool; raise PeerUnavailable('not installed') if it is absent."""
    if name in _PEER_CACHE:
        mod = _PEER_CACHE[name]
        if isinstance(mod, BaseException):
            raise mod
        return mod
    try:
        mod = importlib.import_module(name)
        if name == "jax":
            mod.config.update("jax_enable_x64", True)
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        err: BaseException
        if exc.name is not None and exc.name.split(".")[0] == top:
            err = PeerUnavailable("not installed")
        else:
            err = PeerUnavailable(f"failed: import: {describe_exc(exc)}")
        _PEER_CACHE[name] = err
        raise err from None
    except Exception as exc:
        err = PeerUnavailable(f"failed: import: {describe_exc(exc)}")
        _PEER_CACHE[name] = err
        raise err from None
    _PEER_CACHE[name] = mod
    return mod


# ---------------------------------------------------------------------------
# Peer tools: each builder returns (zero-arg callable computing the gradient, info dict)
# ---------------------------------------------------------------------------


def build_autograd(wl: Any, args: tuple) -> tuple[Callable, dict]:
    ag = import_peer("autograd")
    anp = import_peer("autograd.numpy")
    fa = rebind(wl.f, anp, math_shim(anp))
    g = ag.grad(fa, argnum=wl.wrt)
    return (lambda: g(*args)), {}


def _torch_np_shim(torch: Any) -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    def t(x: Any) -> Any:
        return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64)

    def unary(fn: Callable) -> Callable:
        return lambda x: fn(t(x))

    def reduce(fn: Callable) -> Callable:
        return lambda x, axis=None: fn(t(x)) if axis is None else fn(t(x), dim=axis)

    def dot(a: Any, b: Any) -> Any:
        a, b = t(a), t(b)
        return torch.dot(a, b) if a.dim() == 1 and b.dim() == 1 else torch.matmul(a, b)

    np_ns = types.SimpleNamespace(
        sin=unary(torch.sin),
        cos=unary(torch.cos),
        exp=unary(torch.exp),
        log=unary(torch.log),
        sqrt=unary(torch.sqrt),
        tanh=unary(torch.tanh),
        sum=reduce(torch.sum),
        mean=reduce(torch.mean),
        dot=dot,
        matmul=lambda a, b: torch.matmul(t(a), t(b)),
        maximum=lambda a, b: torch.maximum(t(a), t(b)),
        where=lambda c, a, b: torch.where(t(c).bool(), t(a), t(b)),
        pi=math.pi,
        e=math.e,
    )

    def lift(tfn: Callable, mfn: Callable) -> Callable:
        return lambda x: tfn(x) if isinstance(x, torch.Tensor) else mfn(x)

    return np_ns, math_shim(torch, lift)


def build_torch(wl: Any, args: tuple) -> tuple[Callable, dict]:
    torch = import_peer("torch")
    np_ns, math_ns = _torch_np_shim(torch)
    ft = rebind(wl.f, np_ns, math_ns)
    wrt = wl.wrt_tuple()
    targs: list[Any] = []
    for i, a in enumerate(args):
        if i in wrt:
            targs.append(torch.tensor(a, dtype=torch.float64, requires_grad=True))
        elif isinstance(a, np.ndarray):
            targs.append(torch.from_numpy(a))
        else:
            targs.append(a)
    leaves = [targs[i] for i in wrt]
    single = not isinstance(wl.wrt, tuple)

    def run() -> Any:
        gs = torch.autograd.grad(ft(*targs), leaves)
        return gs[0] if single else gs

    return run, {}


def build_jax(wl: Any, args: tuple, jit: bool) -> tuple[Callable, dict]:
    jax = import_peer("jax")
    jnp = import_peer("jax.numpy")
    fj = rebind(wl.f, jnp, math_shim(jnp))
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    g = jax.grad(fj, argnums=wl.wrt)
    info: dict = {}
    if jit:
        static = tuple(
            i for i, a in enumerate(args) if isinstance(a, int) and not isinstance(a, bool)
        )
        g = jax.jit(g, static_argnums=static)

    def run() -> Any:
        return jax.block_until_ready(g(*jargs))

    if jit:
        t0 = time.perf_counter()
        run()  # trace + XLA compile
        info["compile_ms"] = (time.perf_counter() - t0) * 1e3
    return run, info


PEER_BUILDERS: dict[str, Callable[[Any, tuple], tuple[Callable, dict]]] = {
    "autograd": build_autograd,
    "torch": build_torch,
    "jax": lambda wl, args: build_jax(wl, args, jit=False),
    "jax-jit": lambda wl, args: build_jax(wl, args, jit=True),
}


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def run_batch(fn: Callable, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def warm_up(fn: Callable, seconds: float) -> None:
    """Call ``fn`` for about ``seconds`` (at least once): some tools (torch) need many calls
    before they reach steady-state speed."""
    t_end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < t_end:
        fn()


def calibrate(fn: Callable, target: float) -> tuple[int, float]:
    """Inner loop count so that one batch of calls takes at least ``target`` seconds, and
    the duration of that batch."""
    n = 1
    while True:
        dt = run_batch(fn, n)
        if dt >= target or n >= 1_000_000:
            return n, dt
        grow = target * 1.2 / dt if dt > 0 else 100.0
        n = min(1_000_000, max(n * 2, int(math.ceil(n * min(grow, 100.0)))))


def time_interleaved(
    cands: dict[str, Callable], rounds: int, target: float, warmup: float, budget: float
) -> tuple[dict[str, float], dict[str, str]]:
    """Median per-call time of each candidate, rounds interleaved (rotating order).

    A candidate whose batches would take more than ``budget`` seconds in total gets fewer
    rounds (at least 3): JAX eager on a 1000-step loop takes seconds per call."""
    loops: dict[str, int] = {}
    allowed: dict[str, int] = {}
    errors: dict[str, str] = {}
    for key, fn in cands.items():
        try:
            warm_up(fn, warmup)
            loops[key], batch_s = calibrate(fn, target)
            allowed[key] = rounds
            if batch_s * rounds > budget:
                allowed[key] = min(rounds, max(3, int(budget / batch_s)))
        except Exception as exc:
            errors[key] = describe_exc(exc)
    samples: dict[str, list[float]] = {k: [] for k in loops}
    keys = list(loops)
    for r in range(rounds):
        shift = r % len(keys) if keys else 0
        gc.collect()
        for key in keys[shift:] + keys[:shift]:
            if key in errors or r >= allowed[key]:
                continue
            try:
                samples[key].append(run_batch(cands[key], loops[key]) / loops[key])
            except Exception as exc:
                errors[key] = describe_exc(exc)
    times = {k: statistics.median(v) for k, v in samples.items() if v and k not in errors}
    return times, errors


# ---------------------------------------------------------------------------
# Benchmark one (workload, size)
# ---------------------------------------------------------------------------


def ok_cell(**extra: Any) -> dict:
    return {"status": "ok", **extra}


def bad_cell(status: str, message: str = "") -> dict:
    return {"status": status, "message": message}


def setup_candidate(
    name: str, build: Callable[[], tuple[Callable, dict]], ref: Any, wl: Any
) -> tuple[Callable | None, dict]:
    """Build a gradient callable, run it once and compare against the hand-written one."""
    try:
        fn, info = build()
        g = fn()
    except PeerUnavailable as exc:
        msg = str(exc)
        return None, bad_cell("not installed" if msg == "not installed" else "failed", msg)
    except Exception as exc:
        status = "error" if name.startswith("sd") else "failed"
        return None, bad_cell(status, describe_exc(exc))
    cell = ok_cell(**info)
    try:
        err = grad_error(g, ref, wl)
        cell["rel_err"] = err
        cell["correct"] = bool(err <= GRAD_RTOL)
    except Exception as exc:
        cell["rel_err"] = None
        cell["correct"] = False
        cell["message"] = f"bad result: {describe_exc(exc)}"
    return fn, cell


def setup_jvp_code(dfw: Any, args: tuple, ref: Any, wl: Any) -> tuple[Callable | None, dict]:
    """The generated forward-mode (jvp) function itself, one tangent pass (d/d first wrt
    input), called directly without the ``Derivative`` call wrapper.  Diagnostic: it
    separates the cost of the generated code from the per-call overhead of the wrapper
    (argument-type dispatch, staleness check, one pass per input, result packing).  Uses
    sourcediff internals (``Derivative.by_types``, ``Compiled.fn``); ``n/a`` without them."""
    try:
        spec, _ = dfw.by_types[tuple(map(type, args))]
        raw = spec.fn
        tangents = tuple(1.0 if k == 0 else 0.0 for k in range(len(wl.wrt_tuple())))
    except Exception as exc:
        return None, bad_cell("n/a", f"sourcediff internals changed: {describe_exc(exc)}")

    def run() -> Any:
        return raw(*args, *tangents)

    try:
        _, out_dot = run()
    except Exception as exc:
        return None, bad_cell("error", describe_exc(exc))
    cell = ok_cell()
    expected = as_grad_tuple(ref, len(wl.wrt_tuple()), isinstance(wl.wrt, tuple))[0]
    err = abs(float(out_dot) - float(expected)) / max(abs(float(expected)), 1e-12)
    cell["rel_err"] = err
    cell["correct"] = bool(err <= GRAD_RTOL)
    return run, cell


def measure_compile(sd: Any, wl: Any, args: tuple, reps: int) -> dict:
    has_clear = hasattr(sd, "clear_cache")
    grad_ms, total_ms = [], []
    try:
        for _ in range(reps):
            if has_clear:
                sd.clear_cache()
            f = fresh_function(wl.f)
            t0 = time.perf_counter()
            df = sd.grad(f, wrt=wl.wrt)
            t1 = time.perf_counter()
            df(*args)
            t2 = time.perf_counter()
            grad_ms.append((t1 - t0) * 1e3)
            total_ms.append((t2 - t0) * 1e3)
    except Exception as exc:
        return bad_cell("error", describe_exc(exc))
    note = "clear_cache() + fresh function" if has_clear else "fresh function (no clear_cache)"
    total = statistics.median(total_ms)
    return ok_cell(
        ms=total,
        total_ms=total,
        grad_call_ms=statistics.median(grad_ms),
        all_total_ms=total_ms,
        note=note,
    )


def measure_tape(df: Any, args: tuple) -> dict:
    tb = getattr(df, "tape_bytes", None)
    if not callable(tb):
        return bad_cell("n/a")
    try:
        return ok_cell(bytes=int(tb(*args)))
    except Exception as exc:
        return bad_cell("error", describe_exc(exc))


def saved_bytes(value: Any) -> int:
    """Bytes of data a saved value holds: 8 per float (or int), nbytes per array, containers
    summed.  The same convention as sourcediff's ``tape_bytes``."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(saved_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(saved_bytes(v) for v in value.values())
    if isinstance(value, (float, int, np.generic)) and not isinstance(value, bool):
        return 8
    return 0


def measure_hand_tape(hand: Callable, args: tuple) -> dict:
    """What the hand-written gradient keeps for its backward sweep: the bytes held by its
    list-valued local variables (not parameters) when it returns.

    The lists are read from the returning frame by a profile hook that is installed for
    this one untimed call only, so the timed gradient carries no instrumentation.  The
    hand-written gradients only append to these lists, so their size at return is their
    peak."""
    code = hand.__code__
    nparams = code.co_argcount + code.co_kwonlyargcount
    nparams += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
    params = set(code.co_varnames[:nparams])
    lists: dict[str, int] = {}
    seen = [False]

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is code and not seen[0]:
            seen[0] = True
            for name, value in frame.f_locals.items():
                if name not in params and isinstance(value, list):
                    lists[name] = saved_bytes(value)

    old = sys.getprofile()
    sys.setprofile(hook)
    try:
        hand(*args)
    except Exception as exc:
        return bad_cell("error", describe_exc(exc))
    finally:
        sys.setprofile(old)
    if not seen[0]:
        return bad_cell("error", "the hand-written gradient's frame was not seen")
    return ok_cell(bytes=sum(lists.values()), lists=lists)


def bench_one(wl: Any, size: str, sd: Any, sd_err: str | None, opts: argparse.Namespace) -> dict:
    args = wl.make_args(size, np.random.default_rng(opts.seed))
    ref = wl.hand(*args)
    cells: dict[str, dict] = {}
    cands: dict[str, Callable] = {
        "f": lambda: wl.f(*args),
        "hand": lambda: wl.hand(*args),
    }
    cells["f"] = ok_cell()
    cells["hand"] = ok_cell(correct=True, rel_err=0.0)

    # sourcediff reverse
    df = None
    if sd_err is not None:
        cells["sd"] = bad_cell("error", sd_err)
    else:

        def build_sd() -> tuple[Callable, dict]:
            nonlocal df
            df = sd.grad(wl.f, wrt=wl.wrt)
            d = df
            return (lambda: d(*args)), {}

        fn, cells["sd"] = setup_candidate("sd", build_sd, ref, wl)
        if fn is not None:
            cands["sd"] = fn

    # sourcediff forward (scalar-input workloads only)
    cells["sd_jvp_code"] = bad_cell("skipped", "not a scalar-input workload")
    if not wl.scalar_input:
        cells["sd_fwd"] = bad_cell("skipped", "not a scalar-input workload")
    elif sd_err is not None:
        cells["sd_fwd"] = bad_cell("error", sd_err)
        cells["sd_jvp_code"] = bad_cell("error", sd_err)
    else:
        dfw = None

        def build_fwd() -> tuple[Callable, dict]:
            nonlocal dfw
            dfw = sd.grad(wl.f, wrt=wl.wrt, mode="forward")
            d = dfw
            return (lambda: d(*args)), {}

        fn, cells["sd_fwd"] = setup_candidate("sd_fwd", build_fwd, ref, wl)
        if fn is not None:
            cands["sd_fwd"] = fn
            fn, cells["sd_jvp_code"] = setup_jvp_code(dfw, args, ref, wl)
            if fn is not None:
                cands["sd_jvp_code"] = fn
        else:
            cells["sd_jvp_code"] = bad_cell("error", "forward-mode gradient failed")

    # peers
    for peer in PEERS:
        if peer not in opts.peer_list:
            cells[peer] = bad_cell("skipped", "not selected (--peers/--no-peers)")
            continue
        builder = PEER_BUILDERS[peer]
        fn, cells[peer] = setup_candidate(peer, lambda b=builder: b(wl, args), ref, wl)
        if fn is not None:
            cands[peer] = fn

    # compile time and tape memory
    if sd_err is not None:
        compile_cell = bad_cell("error", sd_err)
    else:
        compile_cell = measure_compile(sd, wl, args, opts.compile_reps)
    tape_cell = measure_tape(df, args) if df is not None else bad_cell("n/a")

    times, errors = time_interleaved(cands, opts.rounds, opts.target, opts.warmup, opts.budget)
    # after the timing: the measurement installs a profile hook for one call
    hand_tape_cell = measure_hand_tape(wl.hand, args)
    for key, msg in errors.items():
        status = "error" if key.startswith("sd") else "failed"
        cells[key] = bad_cell(status, f"during timing: {msg}")
    for key, t in times.items():
        cells[key]["time_s"] = t
    t_f = times.get("f")
    for cell in cells.values():
        if cell["status"] == "ok" and cell.get("time_s") is not None and t_f:
            cell["ratio_f"] = cell["time_s"] / t_f
    t_sd, t_hand = times.get("sd"), times.get("hand")
    if compile_cell["status"] == "ok":
        # Reported: grad(f) + first call, minus one steady-state gradient call, i.e. the
        # one-time cost (for large sizes the first call is mostly ordinary work).
        steady_ms = t_sd * 1e3 if t_sd else 0.0
        compile_cell["steady_call_ms"] = steady_ms if t_sd else None
        compile_cell["ms"] = max(compile_cell["total_ms"] - steady_ms, 0.0)
    return {
        "workload": wl.name,
        "size": size,
        "description": wl.description,
        "f_time_s": t_f,
        "sd_over_hand": (t_sd / t_hand) if (t_sd and t_hand) else None,
        "compile": compile_cell,
        "tape": tape_cell,
        "hand_tape": hand_tape_cell,
        "inputs": len(wl.wrt_tuple()),
        "scalar_input": wl.scalar_input,
        "cells": cells,
    }


def hvp_direction(x: Any, rng: np.random.Generator) -> Any:
    """A direction v shaped like the wrt argument (a float for a float argument)."""
    if isinstance(x, np.ndarray):
        return rng.standard_normal(x.shape)
    return 1.0


def hand_grad0(wl: Any, args: tuple) -> np.ndarray:
    """The hand-written gradient with respect to argument 0 only."""
    g = wl.hand(*args)
    return to_numpy(g[0] if isinstance(wl.wrt, tuple) else g)


def hvp_reference(wl: Any, args: tuple, v: Any) -> np.ndarray:
    """H v by central differences of the hand-written gradient along v."""
    x = args[0]
    scale = max(1.0, float(np.max(np.abs(x))))
    h = 1e-5 * scale / max(float(np.max(np.abs(v))), 1e-300)
    plus, minus = x + h * v, x - h * v
    gp = hand_grad0(wl, (plus, *args[1:]))
    gm = hand_grad0(wl, (minus, *args[1:]))
    return (gp - gm) / (2 * h)


def rel_error(got: Any, expected: np.ndarray) -> float:
    a = to_numpy(got)
    if a.shape != expected.shape:
        raise ValueError(f"shape {a.shape} != expected {expected.shape}")
    if not np.all(np.isfinite(a)):
        return math.inf
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-12)
    return float(np.max(np.abs(a - expected))) / scale if a.size else 0.0


def bench_hvp(wl: Any, size: str, sd: Any, sd_err: str | None, opts: argparse.Namespace) -> dict:
    """``sourcediff.hvp(f)(*args, v)`` against ``sourcediff.grad(f)(*args)``, both with
    respect to argument 0 only."""
    args = wl.make_args(size, np.random.default_rng(opts.seed))
    v = hvp_direction(args[0], np.random.default_rng(opts.seed + 2))
    cells: dict[str, dict] = {"f": ok_cell()}
    cands: dict[str, Callable] = {"f": lambda: wl.f(*args)}
    checks = {
        "grad": (lambda: sd.grad(wl.f), lambda d: lambda: d(*args), GRAD_RTOL),
        "hvp": (lambda: sd.hvp(wl.f), lambda d: lambda: d(*args, v), HVP_RTOL),
    }
    refs = {"grad": lambda: hand_grad0(wl, args), "hvp": lambda: hvp_reference(wl, args, v)}
    for key, (make, bind, rtol) in checks.items():
        if sd_err is not None:
            cells[key] = bad_cell("error", sd_err)
            continue
        try:
            fn = bind(make())
            out = fn()
        except Exception as exc:
            cells[key] = bad_cell("error", describe_exc(exc))
            continue
        cell = ok_cell()
        try:
            cell["rel_err"] = rel_error(out, refs[key]())
            cell["correct"] = bool(cell["rel_err"] <= rtol)
        except Exception as exc:
            cell["rel_err"] = None
            cell["correct"] = False
            cell["message"] = f"bad result: {describe_exc(exc)}"
        cells[key] = cell
        cands[key] = fn
    times, errors = time_interleaved(cands, opts.rounds, opts.target, opts.warmup, opts.budget)
    for key, msg in errors.items():
        cells[key] = bad_cell("error", f"during timing: {msg}")
    for key, t in times.items():
        cells[key]["time_s"] = t
    t_f = times.get("f")
    for cell in cells.values():
        if cell["status"] == "ok" and cell.get("time_s") is not None and t_f:
            cell["ratio_f"] = cell["time_s"] / t_f
    t_grad, t_hvp = times.get("grad"), times.get("hvp")
    return {
        "workload": wl.name,
        "size": size,
        "wrt": 0,
        "f_time_s": t_f,
        "hvp_over_grad": (t_hvp / t_grad) if (t_grad and t_hvp) else None,
        "cells": cells,
    }


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def render_cell(cell: dict) -> str:
    status = cell["status"]
    if status == "ok":
        if cell.get("ratio_f") is None:
            return "?"
        text = fmt_ratio(cell["ratio_f"])
        if "compile_ms" in cell:
            text += f" (jit {cell['compile_ms']:.0f} ms)"
        if cell.get("correct") is False:
            text += " (wrong)"
        return text
    if status == "skipped":
        return "-"
    if status == "not installed":
        return "not installed"
    if status == "n/a":
        return "n/a"
    prefix = "error" if status == "error" else "failed"
    msg = cell.get("message", "")
    if msg.startswith("failed: "):
        msg = msg[len("failed: ") :]
    return cell_text(f"{prefix}: {msg}")


def render_bytes(cell: dict) -> str:
    return fmt_bytes(cell["bytes"]) if cell["status"] == "ok" else render_cell(cell)


def render_row(row: dict) -> list[str]:
    c = row["cells"]
    sd_cell = c["sd"]
    if row["sd_over_hand"] is not None:
        sd_hand = fmt_ratio(row["sd_over_hand"])
    else:
        sd_hand = "-"
    comp = row["compile"]
    if comp["status"] == "ok":
        compile_txt = f"{comp['ms']:.1f}"
    elif sd_cell["status"] == "error" and comp.get("message") == sd_cell.get("message"):
        compile_txt = "error"
    else:
        compile_txt = render_cell(comp)
    f_time = fmt_time(row["f_time_s"]) if row["f_time_s"] else "?"
    return [
        row["workload"],
        row["size"],
        f_time,
        render_cell(sd_cell),
        render_cell(c["hand"]),
        sd_hand,
        render_cell(c["sd_fwd"]),
        render_cell(c["autograd"]),
        render_cell(c["torch"]),
        render_cell(c["jax"]),
        render_cell(c["jax-jit"]),
        compile_txt,
        render_bytes(row["tape"]),
        render_bytes(row["hand_tape"]),
    ]


def table(columns: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def markdown_table(rows: list[dict]) -> str:
    return table(COLUMNS, [render_row(row) for row in rows])


def verdict(ratio: float | None, target: float) -> str:
    if ratio is None:
        return "-"
    return "met" if ratio <= target else f"**missed** ({fmt_ratio(ratio)})"


def forward_rows(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row.get("scalar_input")]


def fwd_ratio(row: dict) -> float | None:
    cell = row["cells"]["sd_fwd"]
    return cell.get("ratio_f") if cell["status"] == "ok" else None


def forward_table(rows: list[dict]) -> str:
    body = []
    for row in forward_rows(rows):
        c = row["cells"]
        n = row["inputs"]
        target = verdict(fwd_ratio(row), FWD_TARGET) if n == 1 else f"n/a ({n} inputs)"
        body.append(
            [
                row["workload"],
                row["size"],
                str(n),
                fmt_time(row["f_time_s"]) if row["f_time_s"] else "?",
                render_cell(c["sd_fwd"]),
                render_cell(c["sd_jvp_code"]),
                render_cell(c["sd"]),
                render_cell(c["hand"]),
                target,
            ]
        )
    return table(FWD_COLUMNS, body)


def hvp_table(hrows: list[dict]) -> str:
    body = []
    for row in hrows:
        c = row["cells"]
        r = row["hvp_over_grad"]
        body.append(
            [
                row["workload"],
                row["size"],
                fmt_time(row["f_time_s"]) if row["f_time_s"] else "?",
                render_cell(c["grad"]),
                render_cell(c["hvp"]),
                fmt_ratio(r) if r is not None else "-",
                verdict(r, HVP_TARGET),
            ]
        )
    return table(HVP_COLUMNS, body)


def cell_problem(cell: dict) -> str | None:
    """'error'/'wrong (...)' for a sourcediff cell that failed or disagrees, else None."""
    if cell["status"] in ("error", "failed"):
        return f"error ({cell_text(cell.get('message', ''), 60)})"
    if cell["status"] == "ok" and cell.get("correct") is False:
        rel = cell.get("rel_err")
        rel_txt = f"{rel:.3g}" if isinstance(rel, float) else "n/a"
        return f"wrong (rel err {rel_txt})"
    return None


def targets_missed(rows: list[dict], hrows: list[dict]) -> list[str]:
    missed = []
    for row in rows:
        tag = f"{row['workload']}/{row['size']}"
        sd_cell = row["cells"]["sd"]
        if sd_cell["status"] != "ok":
            missed.append(f"{tag} sourcediff {sd_cell['status']}")
        elif sd_cell.get("correct") is False:
            rel = sd_cell.get("rel_err")
            rel_txt = f"{rel:.3g}" if isinstance(rel, float) else "n/a"
            missed.append(f"{tag} sourcediff gradient wrong (rel err {rel_txt})")
        r = row["sd_over_hand"]
        if r is not None and r > SD_HAND_TARGET:
            missed.append(f"{tag} sd/hand={r:.2f}")
        comp = row["compile"]
        if comp["status"] == "ok" and comp["ms"] > COMPILE_TARGET_MS:
            missed.append(f"{tag} compile={comp['ms']:.1f}ms")
        tape, hand_tape = row["tape"], row["hand_tape"]
        if tape["status"] == "ok" and hand_tape["status"] == "ok":
            if tape["bytes"] > hand_tape["bytes"]:
                missed.append(
                    f"{tag} tape={fmt_bytes(tape['bytes'])} > hand {fmt_bytes(hand_tape['bytes'])}"
                )
        elif tape["status"] == "error":
            missed.append(f"{tag} tape_bytes error")
        if row.get("scalar_input"):
            problem = cell_problem(row["cells"]["sd_fwd"])
            if problem:
                missed.append(f"{tag} forward mode {problem}")
            r = fwd_ratio(row)
            if row["inputs"] == 1 and r is not None and r > FWD_TARGET:
                missed.append(f"{tag} fwd/f={r:.2f}")
    for row in hrows:
        tag = f"{row['workload']}/{row['size']}"
        for key in ("grad", "hvp"):
            problem = cell_problem(row["cells"][key])
            if problem:
                missed.append(f"{tag} {key} (wrt 0) {problem}")
        r = row["hvp_over_grad"]
        if r is not None and r > HVP_TARGET:
            missed.append(f"{tag} hvp/grad={r:.2f}")
    return missed


def wrong_gradients(rows: list[dict], hrows: list[dict]) -> list[str]:
    out = []
    for section, group in (("", rows), (" (hvp section)", hrows)):
        for row in group:
            for key, cell in row["cells"].items():
                if cell["status"] == "ok" and cell.get("correct") is False:
                    rel = cell.get("rel_err")
                    detail = cell.get("message") or f"rel err {rel:.3g}"
                    out.append(f"{row['workload']}/{row['size']}{section} {key}: {detail}")
    return out


def environment(sd: Any, sd_err: str | None) -> dict:
    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sourcediff": getattr(sd, "__version__", None) if sd is not None else None,
        "sourcediff_error": sd_err,
        "threads": {k: os.environ.get(k) for k in THREAD_ENV},
    }
    for peer in ("autograd", "torch", "jax"):
        try:
            mod = import_peer(peer)
        except PeerUnavailable as exc:
            env[peer] = str(exc)
            continue
        try:
            env[peer] = importlib.metadata.version(peer)
        except Exception:
            env[peer] = getattr(mod, "__version__", "?")
    return env


# ---------------------------------------------------------------------------
# --check: hand-written gradients vs central finite differences
# ---------------------------------------------------------------------------


def fd_indices(a: np.ndarray, rng: np.random.Generator, max_entries: int) -> list[int]:
    if a.size <= max_entries:
        return list(range(a.size))
    picks = rng.choice(a.size, size=max_entries - 2, replace=False).tolist()
    return sorted({0, a.size - 1, *picks})


def finite_difference(
    f: Callable, args: tuple, i: int, rng: np.random.Generator, max_entries: int
) -> tuple[np.ndarray, list[int]]:
    a = args[i]

    def at(value: Any) -> float:
        new = list(args)
        new[i] = value
        return float(f(*new))

    if isinstance(a, float):
        h = 1e-6 * max(1.0, abs(a))
        return np.array([(at(a + h) - at(a - h)) / (2 * h)]), [0]
    idx = fd_indices(a, rng, max_entries)
    out = np.empty(len(idx))
    for k, j in enumerate(idx):
        flat = a.ravel()
        h = 1e-6 * max(1.0, abs(flat[j]))
        plus, minus = a.copy(), a.copy()
        plus.flat[j] += h
        minus.flat[j] -= h
        out[k] = (at(plus) - at(minus)) / (2 * h)
    return out, idx


def compare_fd(
    grads: tuple[np.ndarray, ...], fds: list[tuple[np.ndarray, list[int]]], fval: float
) -> tuple[bool, float]:
    """Do the selected gradient entries match the finite differences?  (ok, max abs err)"""
    atol = 1e-7 * max(1.0, abs(fval))
    ok, worst = True, 0.0
    for g, (fd, idx) in zip(grads, fds, strict=True):
        err = np.abs(np.asarray(g, dtype=float).ravel()[idx] - fd)
        ok = ok and bool(np.all(err <= atol + 1e-5 * np.abs(fd)))
        worst = max(worst, float(np.max(err)))
    return ok, worst


def run_check(opts: argparse.Namespace, workloads: list, sizes: list[str]) -> int:
    sd, sd_err = import_sourcediff()
    failures = tape_failures = 0
    for wl in workloads:
        for size in sizes:
            if size not in wl.sizes:
                continue
            args = wl.make_args(size, np.random.default_rng(opts.seed))
            rng = np.random.default_rng(opts.seed + 1)
            fval = float(wl.f(*args))
            wrt = wl.wrt_tuple()
            is_tuple = isinstance(wl.wrt, tuple)
            fds = [finite_difference(wl.f, args, i, rng, opts.fd_entries) for i in wrt]
            checked = sum(len(idx) for _, idx in fds)
            hand = as_grad_tuple(wl.hand(*args), len(wrt), is_tuple)
            ok, worst = compare_fd(hand, fds, fval)
            failures += not ok
            line = (
                f"{'ok  ' if ok else 'FAIL'} {wl.name:14s} {size:5s} hand vs FD: "
                f"max abs err {worst:.2e} ({checked} entries)"
            )
            # The measured hand tape must equal the analytic count from the loop structure.
            tape = measure_hand_tape(wl.hand, args)
            expected = wl.hand_saved(*args)
            if tape["status"] != "ok" or tape["bytes"] != expected:
                tape_failures += 1
                got = tape["bytes"] if tape["status"] == "ok" else render_cell(tape)
                line += f"; hand tape MEASURED {got} != expected {expected} B"
            else:
                line += f"; hand tape {expected} B as expected"
            # Informational only (does not affect the exit code): sourcediff vs FD.
            if sd_err is not None:
                line += f"; sourcediff: error: {sd_err}"
            else:
                try:
                    g = as_grad_tuple(sd.grad(wl.f, wrt=wl.wrt)(*args), len(wrt), is_tuple)
                    sd_ok, sd_worst = compare_fd(g, fds, fval)
                    verdict = "matches FD" if sd_ok else "DISAGREES with FD"
                    line += f"; sourcediff {verdict} (max abs err {sd_worst:.2e})"
                except Exception as exc:
                    line += f"; sourcediff: error: {describe_exc(exc)}"
            print(line, flush=True)
    if failures:
        print(f"FAILED: {failures} hand-written gradient(s) disagree with finite differences")
    if tape_failures:
        print(f"FAILED: {tape_failures} hand tape measurement(s) differ from the expected bytes")
    if not failures and not tape_failures:
        print(
            "passed: all hand-written gradients match finite differences and their measured "
            "tapes match the expected bytes"
        )
    return 1 if failures or tape_failures else 0


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    p.add_argument(
        "--check",
        action="store_true",
        help="verify hand-written gradients against finite differences and exit",
    )
    p.add_argument(
        "--json",
        default=str(HERE / "results.json"),
        help="where to write JSON results (default: benchmarks/results.json)",
    )
    p.add_argument("--only", default="", help="comma-separated workload names (default: all)")
    p.add_argument("--sizes", default="small,large", help="comma-separated sizes")
    p.add_argument(
        "--peers",
        default=",".join(PEERS),
        help=f"comma-separated peer tools to time (default: {','.join(PEERS)}; 'none' = skip)",
    )
    p.add_argument("--no-peers", action="store_true", help="same as --peers none")
    p.add_argument("--rounds", type=int, default=None, help="interleaved timing rounds")
    p.add_argument(
        "--target",
        type=float,
        default=None,
        help="seconds per timed batch (the inner loop count adapts to it)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds of untimed calls per candidate before calibration",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--fd-entries",
        type=int,
        default=120,
        help="max array entries checked by finite differences per argument",
    )
    opts = p.parse_args(argv)
    if opts.rounds is None:
        opts.rounds = 3 if opts.quick else 9
    if opts.target is None:
        opts.target = 0.005 if opts.quick else 0.05
    opts.budget = 2.0 if opts.quick else 10.0
    if opts.warmup is None:
        opts.warmup = 0.2 if opts.quick else 0.5
    opts.compile_reps = 1 if opts.quick else 3
    peers = [x.strip() for x in opts.peers.split(",") if x.strip() and x.strip() != "none"]
    unknown = [x for x in peers if x not in PEERS]
    if unknown:
        p.error(f"unknown peer(s): {', '.join(unknown)}; known: {', '.join(PEERS)}")
    opts.peer_list = [] if opts.no_peers else peers
    return opts


def select(opts: argparse.Namespace) -> tuple[list, list[str]]:
    names = [n.strip() for n in opts.only.split(",") if n.strip()]
    known = {wl.name: wl for wl in W.WORKLOADS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(known)}")
    workloads = [known[n] for n in names] if names else list(W.WORKLOADS)
    sizes = [s.strip() for s in opts.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in W.SIZES]
    if bad:
        raise SystemExit(f"unknown size(s): {', '.join(bad)}; known: {', '.join(W.SIZES)}")
    return workloads, sizes


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    workloads, sizes = select(opts)
    if opts.check:
        return run_check(opts, workloads, sizes)

    sd, sd_err = import_sourcediff()
    env = environment(sd, sd_err)
    warmup_ms = None
    if sd_err is None:
        # Pay one-time import/initialisation costs before measuring compile times.
        try:
            t0 = time.perf_counter()
            sd.grad(fresh_function(W.poly_loop))(0.5, 2)
            warmup_ms = (time.perf_counter() - t0) * 1e3
        except Exception as exc:
            log(f"warm-up compile failed: {describe_exc(exc)}")
    rows = []
    for wl in workloads:
        for size in sizes:
            if size not in wl.sizes:
                continue
            log(f"benchmarking {wl.name}/{size} ...")
            rows.append(bench_one(wl, size, sd, sd_err, opts))
    hrows = []
    for wl in workloads:
        if not wl.hvp:
            continue
        for size in sizes:
            if size not in wl.sizes:
                continue
            log(f"benchmarking hvp {wl.name}/{size} ...")
            hrows.append(bench_hvp(wl, size, sd, sd_err, opts))

    print(
        f"sourcediff benchmarks: python {env['python']}, numpy {env['numpy']}, "
        f"{env['machine']}; {'quick' if opts.quick else 'full'} run, "
        f"{opts.rounds} interleaved rounds. Ratios are gradient time / function time."
    )
    print()
    print(markdown_table(rows))
    if forward_rows(rows):
        print()
        print(
            f"Forward mode (scalar inputs). Target: fwd/f ≤ {FWD_TARGET:g} for a scalar "
            "function of one scalar input. `jvp code/f` times the generated forward code "
            "alone (one tangent pass, no call wrapper)."
        )
        print()
        print(forward_table(rows))
    if hrows:
        print()
        print(
            f"Hessian-vector products, wrt argument 0. Target: hvp/grad ≤ {HVP_TARGET:g} "
            "(`sourcediff.hvp(f)(*args, v)` / `sourcediff.grad(f)(*args)`)."
        )
        print()
        print(hvp_table(hrows))
    print()
    missed = targets_missed(rows, hrows)
    print(
        f"Targets missed (sourcediff/hand > {SD_HAND_TARGET}, compile > "
        f"{COMPILE_TARGET_MS:.0f} ms, tape > hand tape, fwd/f > {FWD_TARGET:g} for one "
        f"scalar input, hvp/grad > {HVP_TARGET:g}): " + ("; ".join(missed) if missed else "none")
    )
    wrong = wrong_gradients(rows, hrows)
    if wrong:
        print(
            "Gradients disagreeing with the hand-written one (hvp: with central differences "
            "of it): " + "; ".join(wrong)
        )

    result = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "quick": opts.quick,
            "rounds": opts.rounds,
            "target_batch_s": opts.target,
            "compile_reps": opts.compile_reps,
            "seed": opts.seed,
            "warmup_compile_ms": warmup_ms,
            "targets": {
                "sd_over_hand": SD_HAND_TARGET,
                "compile_ms": COMPILE_TARGET_MS,
                "tape_over_hand_tape": 1.0,
                "fwd_over_f_one_scalar_input": FWD_TARGET,
                "hvp_over_grad": HVP_TARGET,
            },
            "env": env,
        },
        "results": rows,
        "forward": [
            {
                "workload": row["workload"],
                "size": row["size"],
                "inputs": row["inputs"],
                "f_time_s": row["f_time_s"],
                "fwd_over_f": fwd_ratio(row),
                "jvp_code_over_f": row["cells"]["sd_jvp_code"].get("ratio_f"),
                "target_applies": row["inputs"] == 1,
            }
            for row in forward_rows(rows)
        ],
        "hvp": hrows,
        "targets_missed": missed,
        "wrong_gradients": wrong,
    }
    path = Path(opts.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
