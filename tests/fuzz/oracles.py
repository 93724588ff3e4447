"""The oracles: run one generated program through sourcediff and judge every answer.

Per program (``run_program``):

1. the primal must run and return a finite float (else the generator is at fault:
   ``invalid``); central finite differences with two stencils (2nd order, step 1e-6; 4th order,
   step 1e-3) must agree, else the point is not smooth: new inputs are drawn twice, then the
   program is ``skipped`` (never a pass); a wrong number must show at a nearby point too
   (``CONFIRMS`` tries), else the drawn point is special, a comparison that rounding decides
   there differently than at its neighbours, and the program is ``skipped`` with a note;
2. ``grad`` in reverse and forward mode, each with ``optimize=True`` and ``False``: the
   gradient has the argument's type/shape/structure and agrees with FD (and, where FD cannot
   be used, the four agree with each other);
3. ``value_and_grad``'s value is the primal's value;
4. no derivative call mutates its arguments;
5. (every ``second_order``-th program) ``jvp`` against the FD directional derivative,
   ``hessian`` and ``hvp`` against FD of the reverse-mode gradient;
6. (optional) autograd, when installed, on programs without in-place writes: a cross-check
   reported as notes.

Outcomes, worst first: ``wrong`` (a number or a structure differs), ``crash`` (an exception
other than ``SourceDiffError`` escaped), ``bad-error`` (a refusal that does not name the
generated file and a line in it), ``timeout``, ``invalid``, ``refused`` (a clean
``SourceDiffError``), ``skipped``, ``ok``.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import random
import re
import signal
import sys
import time
import traceback
import types
import warnings
from dataclasses import dataclass, field

import numpy as np

from .typesys import random_value
from .values import (
    as_scalar,
    deep_copy,
    flatten,
    mismatch,
    same,
    scale_of,
    structure_error,
    unflatten,
)

OUTCOMES = ("wrong", "crash", "bad-error", "timeout", "invalid", "refused", "skipped", "ok")
FAILURES = ("wrong", "crash", "bad-error", "timeout")
SEVERITY = {name: rank for rank, name in enumerate(OUTCOMES)}

GRAD_VARIANTS = (("reverse", True), ("reverse", False), ("forward", True), ("forward", False))
# the checks that need the second-order oracles (and a right reverse-mode gradient)
SECOND_ORDER = ("hessian", "hvp", "jvp", "jacobian")
RTOL, ATOL = 1e-5, 1e-6          # gradients vs FD (atol is relative to the scale)
RTOL2, ATOL2 = 1e-4, 1e-5        # second derivatives vs FD of the gradient
SMOOTH_RTOL, SMOOTH_ATOL = 1e-5, 1e-6
REDRAWS = 2
GAP_TOL = 1e-8                   # |f(x) - (f(x+h) + f(x-h)) / 2|, relative to |f(x)|
CONFIRMS = 2                     # nearby points a wrong number is checked at
NEARBY = 1e-4                    # how far (relative) they are

_counter = itertools.count()


class FuzzTimeout(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` swallows it."""


@contextlib.contextmanager
def time_limit(seconds):
    """Raise FuzzTimeout after ``seconds`` of wall time (main thread, Unix)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise FuzzTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """One check that did not pass."""

    check: str           # "grad[reverse,opt]", "value_and_grad", "hessian", ...
    outcome: str         # wrong / crash / bad-error / refused / timeout / invalid
    detail: str
    expected: object = None
    actual: object = None
    exc_type: str = ""
    where: str = ""      # for crashes: the innermost sourcediff frame

    def signature(self):
        """What two occurrences of the same bug have in common."""
        if self.outcome == "crash":
            return f"crash {self.exc_type} at {self.where}: {normalize(self.detail)}"
        if self.outcome in ("refused", "bad-error"):
            return f"{self.outcome}: {normalize(self.detail)}"
        return f"{self.outcome} {self.check}"


@dataclass
class Result:
    outcome: str
    problems: list = field(default_factory=list)
    smooth: bool = True
    args: list | None = None       # the inputs the checks used
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict = field(default_factory=dict)       # CPU seconds per check

    @property
    def failure(self):
        """The worst problem (the one the outcome comes from), or None."""
        ranked = sorted(self.problems, key=lambda p: SEVERITY[p.outcome])
        return ranked[0] if ranked else None


def normalize(message):
    """A message with names, numbers and paths replaced, to count kinds of messages."""
    text = message.splitlines()[0] if message else ""
    text = re.sub(r"^\S+\.py:\d+: ", "", text)
    text = re.sub(r"`[^`]*`", "`_`", text)
    text = re.sub(r"'[^']*'", "'_'", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "N", text)
    text = re.sub(r"\(shape [^)]*\)", "(shape _)", text)
    return text[:160]


# --------------------------------------------------------------------------------------------
# Loading and calling the primal
# --------------------------------------------------------------------------------------------


def load(prog, workdir):
    """Write the program to a fresh .py file in ``workdir`` and import it."""
    text = prog.render()
    label = re.sub(r"\W", "_", prog.label or "prog")
    name = f"sdfuzz_{label}_{os.getpid()}_{next(_counter)}"
    path = os.path.join(workdir, name + ".py")
    with open(path, "w") as fh:
        fh.write(text)
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(text, path, "exec"), module.__dict__)
    return module, path


def unload(module):
    sys.modules.pop(module.__name__, None)


def primal(f, args):
    """f(*copies of args) as a float; raises on anything but a finite real scalar."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        value = f(*deep_copy(args))
    scalar = as_scalar(value)
    if scalar is None or not math.isfinite(scalar) or abs(scalar) > 1e8:
        raise ValueError(f"the program returned {value!r}, not a finite float")
    return scalar


def _with_vector(args, indices, vec):
    """A copy of ``args`` with the wrt arguments' numbers replaced by those of ``vec``."""
    new = deep_copy(list(args))
    pos = 0
    for i in indices:
        n = len(flatten(args[i]))
        new[i] = unflatten(args[i], vec[pos:pos + n])
        pos += n
    return new


def _call_flat(f, args, indices, vec):
    """f with the wrt arguments replaced by the numbers of ``vec`` (everything copied)."""
    new = _with_vector(args, indices, vec)
    with np.errstate(all="ignore"):
        return float(np.asarray(f(*new), dtype=float).reshape(()))


def fd_vector(f, args, indices, step, order, middle=None, gaps=None):
    """Central finite differences of scalar f over every float of the wrt arguments. Given f
    at the point (``middle``) and a list ``gaps``, the 2nd-order stencil also appends, per
    float, how far ``middle`` is from the mean of its two neighbours (O(h^2) where f is
    continuous)."""
    base = np.concatenate([flatten(args[i]) for i in indices])
    out = np.empty_like(base)
    for j, xj in enumerate(base):
        h = step * max(1.0, abs(xj))
        h = (xj + h) - xj
        at = _stencil_point(f, args, indices, base, j)
        if order == 2:
            right, left = at(h), at(-h)
            out[j] = (right - left) / (2.0 * h)
            if middle is not None:
                gaps.append(abs(0.5 * (right + left) - middle))
        else:
            out[j] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12.0 * h)
    return out


def _stencil_point(f, args, indices, base, j):
    def at(delta):
        vec = base.copy()
        vec[j] += delta
        return _call_flat(f, args, indices, vec)
    return at


def smooth_fd(f, args, indices):
    """(fd vector, smooth?): two stencils that must agree where f is smooth, and f at the
    point must be the mean of its neighbours up to O(h^2): a comparison that rounding decides
    differently at the point than on both sides of it (`np.mean(x * np.ones(3)) <= x`) makes a
    jump there that both stencils step over."""
    middle = _call_flat(f, args, indices, np.concatenate([flatten(args[i]) for i in indices]))
    gaps = []
    fine = fd_vector(f, args, indices, 1e-6, 2, middle, gaps)
    coarse = fd_vector(f, args, indices, 1e-3, 4)
    scale = scale_of(fine, coarse)
    bad = mismatch(fine, coarse, SMOOTH_RTOL, SMOOTH_ATOL * scale)
    continuous = all(gap <= GAP_TOL * max(1.0, abs(middle)) for gap in gaps)
    return fine, bad is None and continuous


# --------------------------------------------------------------------------------------------
# One program
# --------------------------------------------------------------------------------------------


class Run:
    """The checks of one program; ``checks`` limits which run (the shrinker uses that)."""

    def __init__(self, prog, api, checks=None, second_order=False, use_autograd=False,
                 redraws=REDRAWS, confirms=CONFIRMS, start=None):
        self.prog = prog
        self.redraws = redraws
        self.confirms = confirms
        self.start = start             # inputs to use instead of the program's own
        self.api = api
        self.checks = checks
        self.second_order = second_order
        self.use_autograd = use_autograd
        self.result = Result("ok")
        self.path = None
        self.current = "load"

    def wants(self, name):
        return self.checks is None or name in self.checks

    def problem(self, check, outcome, detail, **kw):
        self.result.problems.append(Problem(check, outcome, detail, **kw))

    # ---- driving
    def execute(self, workdir, timeout):
        start = time.perf_counter()
        module = None
        try:
            with time_limit(timeout):
                module, self.path = load(self.prog, workdir)
                self._all_checks(module.f)
        except FuzzTimeout as exc:
            self.problem(self.current, "timeout", str(exc))
        finally:
            if module is not None:
                unload(module)
        self.result.seconds = time.perf_counter() - start
        self._classify()
        return self.result

    def _classify(self):
        r = self.result
        worst = r.failure
        if worst is not None:
            r.outcome = worst.outcome
        elif not r.smooth:
            r.outcome = "skipped"
        else:
            r.outcome = "ok"

    def _all_checks(self, f):
        self.current = "primal"
        if not self._inputs(f):
            return
        grads = self._grad_checks(f)
        self._value_and_grad(f)
        if self.second_order or (self.checks and set(SECOND_ORDER) & self.checks):
            self._jvp(f)
            self._jacobian(f)
            trusted = not any(p.check == "grad[reverse,opt]" for p in self.result.problems)
            self._second_order(f, grads.get(("reverse", True)) if trusted else None)
        if self.use_autograd and self.result.smooth:
            self._autograd(f, grads)
        if self.confirms and self._only_wrong_numbers():
            self._confirm(f)

    def _only_wrong_numbers(self):
        failure = self.result.failure
        return (failure is not None and failure.outcome == "wrong"
                and not any("mutated" in p.detail for p in self.result.problems))

    def _confirm(self, f):
        """Check the program again at nearby points: a wrong number that none of them shows
        belongs to the drawn point alone (`np.mean(x * np.ones(3)) <= x` is false there by
        rounding and true on both sides of it, so central differences see the other branch),
        and no derivative tool can agree with FD there: the program is skipped."""
        rng = np.random.default_rng(self.prog.redraw_seed + 1)
        for k in range(self.confirms):
            base = np.concatenate([flatten(self.args[i]) for i in self.indices])
            vec = base * (1.0 + NEARBY * rng.standard_normal(base.size)) \
                + NEARBY * rng.standard_normal(base.size)
            other = Run(self.prog, self.api, checks=self.checks,
                        second_order=self.second_order, redraws=0, confirms=0,
                        start=_with_vector(self.args, self.indices, vec))
            other.path = self.path
            other._all_checks(f)
            if other.result.smooth and other.result.failure is None:
                wrong = sorted({p.check for p in self.result.problems if p.outcome == "wrong"})
                self.result.notes.append(
                    f"wrong only at the drawn point ({', '.join(wrong)}); nearby point {k + 1} "
                    f"passes every check: a comparison rounding decides there")
                self.result.problems = [p for p in self.result.problems if p.outcome != "wrong"]
                self.result.smooth = False
                return

    def _inputs(self, f):
        """Pick inputs where f is smooth (the given ones, else up to REDRAWS new draws)."""
        prog = self.prog
        self.indices = prog.wrt_indices()
        rng = random.Random(prog.redraw_seed)
        first = prog.args if self.start is None else self.start
        candidates = [first] + [[random_value(ty, rng) for _, ty in prog.params]
                                    for _ in range(self.redraws)]
        for k, args in enumerate(candidates):
            args = deep_copy(args)     # the program's own values are never touched
            try:
                value = primal(f, args)
            except Exception as exc:   # the generator made an invalid program
                if k == 0:
                    self.problem("primal", "invalid", f"{type(exc).__name__}: {exc}")
                    return False
                continue
            try:
                fd, smooth = smooth_fd(f, args, self.indices)
            except Exception as exc:   # f fails next to the point: invalid there too
                if k == 0:
                    self.problem("primal", "invalid",
                                 f"near the point: {type(exc).__name__}: {exc}")
                    return False
                continue
            self.singular = smooth and self._singular(f, args)
            if self.singular:
                smooth = False
            self.args, self.value, self.fd = args, value, fd
            self.result.args, self.result.smooth = deep_copy(args), smooth
            if smooth:
                break
        return True

    def _singular(self, f, args):
        """Whether an elementary operation's derivative is infinite at this point although f
        is smooth there, so that the chain rule, and any AD tool, gives nan or inf: both modes
        give a non-finite derivative (`sqrt(x) * sqrt(x)` at x = 0). Such a point is not smooth
        for AD: new inputs are drawn. A zero that does not move (an element never written,
        clipped or masked) is not singular: its derivative is 0 through `sqrt` at 0 too, and
        a mode that gives nan there is wrong (the other mode then gives the finite number)."""
        finite = []
        for mode in ("reverse", "forward"):
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = self.api.grad(f, wrt=self.prog.wrt_arg(), mode=mode,
                                        optimize=False)(*deep_copy(args))
            except Exception:   # judged by the checks proper
                continue
            finite.append(bool(np.all(np.isfinite(flatten(out)))))
        return bool(finite) and not any(finite)

    # ---- calling sourcediff
    def call(self, check, make, *call_args):
        """Build and call one derivative on a fresh copy of the arguments; returns (ok,
        value).  Classifies exceptions and checks that the arguments were not mutated."""
        self.current = check
        args = deep_copy(self.args)     # each call gets its own copy, compared afterwards
        start = time.process_time()
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = make()(*args, *call_args)
        except self.api.SourceDiffError as exc:
            self._refusal(check, exc)
            return False, None
        except Exception as exc:
            self.problem(check, "crash", f"{type(exc).__name__}: {exc}",
                         exc_type=type(exc).__name__, where=_where(exc))
            return False, None
        finally:
            self.result.cpu[check] = time.process_time() - start
        if not same(args, self.args):
            self.problem(check, "wrong", "the derivative call mutated its arguments",
                         expected="arguments unchanged", actual="arguments changed")
        return True, out

    def _refusal(self, check, exc):
        message = str(exc)
        filename, lineno = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        n_lines = self.prog.render().count("\n") + 1
        located = (filename is not None and lineno is not None
                   and os.path.abspath(filename) == os.path.abspath(self.path)
                   and 1 <= lineno <= n_lines and f"{filename}:{lineno}" in message)
        if located:
            self.problem(check, "refused", getattr(exc, "reason", message), actual=lineno)
        else:
            self.problem(check, "bad-error", f"{type(exc).__name__}: {message}",
                         exc_type=type(exc).__name__)

    def compare(self, check, got_vec, want_vec, rtol=RTOL, atol=ATOL, what="gradient",
                scale=None):
        """`scale` (default: the size of `want_vec`) is what `atol` is relative to."""
        bad = mismatch(got_vec, want_vec, rtol, atol * (scale_of(want_vec) if scale is None
                                                        else scale))
        if bad:
            self.problem(check, "wrong", f"{what} differs: {bad}",
                         expected=want_vec.tolist(), actual=got_vec.tolist())
        return bad is None

    def gradient_vector(self, check, g):
        """The flattened gradient, after checking its structure (None if it is wrong)."""
        like = [self.args[i] for i in self.indices]
        want = tuple(like) if isinstance(self.prog.wrt_arg(), tuple) else like[0]
        err = structure_error(g, want)
        if err:
            self.problem(check, "wrong", f"gradient structure: {err}",
                         expected=_shape_text(want), actual=_shape_text(g))
            return None
        return flatten(g)

    # ---- the checks
    def _grad_checks(self, f):
        wrt = self.prog.wrt_arg()
        vectors, grads = {}, {}
        for mode, opt in GRAD_VARIANTS:
            check = f"grad[{mode},{'opt' if opt else 'noopt'}]"
            if not self.wants(check) and not self.wants("modes-agree"):
                continue
            ok, g = self.call(check, lambda m=mode, o=opt: self.api.grad(
                f, wrt=wrt, mode=m, optimize=o))
            if not ok:
                continue
            vec = self.gradient_vector(check, g)
            if vec is None:
                continue
            grads[(mode, opt)] = g
            if not self.result.smooth or self.compare(check, vec, self.fd):
                vectors[check] = vec
        if self.wants("modes-agree") and not getattr(self, "singular", False):
            self._modes_agree(vectors)   # (at an AD-singular point the modes may differ too)
        return grads

    def _modes_agree(self, vectors):
        """The gradients must agree with each other (closer than FD can tell, and also where
        FD cannot judge at all)."""
        items = list(vectors.items())
        for name, vec in items[1:]:
            base_name, base = items[0]
            bad = mismatch(vec, base, RTOL, ATOL * scale_of(base))
            if bad:
                self.problem("modes-agree", "wrong",
                             f"{name} and {base_name} disagree (non-smooth point): {bad}",
                             expected=base.tolist(), actual=vec.tolist())
                return

    def _value_and_grad(self, f):
        if not self.wants("value_and_grad"):
            return
        ok, out = self.call("value_and_grad", lambda: self.api.value_and_grad(
            f, wrt=self.prog.wrt_arg()))
        if not ok:
            return
        value, g = out
        scalar = as_scalar(value)
        if scalar is None or abs(scalar - self.value) > 1e-9 * max(1.0, abs(self.value)):
            self.problem("value_and_grad", "wrong", "value differs from the primal's",
                         expected=self.value, actual=repr(value))
        vec = self.gradient_vector("value_and_grad", g)
        if vec is not None and self.result.smooth:
            self.compare("value_and_grad", vec, self.fd)

    def _jvp(self, f):
        if not self.wants("jvp") or not self.result.smooth:
            return
        rng = np.random.default_rng(len(self.fd))
        t_vec = rng.uniform(-1.0, 1.0, size=len(self.fd))
        tangents, pos = [], 0
        for i in self.indices:
            n = len(flatten(self.args[i]))
            tangents.append(unflatten(self.args[i], t_vec[pos:pos + n]))
            pos += n
        ok, out = self.call("jvp", lambda: self.api.jvp(f, wrt=self.prog.wrt_arg()),
                            *tangents)
        if not ok:
            return
        value, tangent = out
        scalar, t_scalar = as_scalar(value), as_scalar(tangent)
        if scalar is None or abs(scalar - self.value) > 1e-9 * max(1.0, abs(self.value)):
            self.problem("jvp", "wrong", "jvp value differs from the primal's",
                         expected=self.value, actual=repr(value))
        want = np.array([float(self.fd @ t_vec)])
        got = np.array([t_scalar if t_scalar is not None else np.nan])
        self.compare("jvp", got, want, what="directional derivative")

    def _jacobian(self, f):
        """The forward-mode jacobian (the vector forward mode: all directions in one pass,
        and two per pass) of the scalar program: its gradient, as arrays."""
        if not self.wants("jacobian") or not self.result.smooth:
            return
        if not all(isinstance(self.args[i], (float, np.ndarray)) for i in self.indices):
            return
        wrt = self.prog.wrt_arg()
        for chunk in (None, 2):
            ok, jac = self.call("jacobian", lambda c=chunk: self.api.jacobian(
                f, wrt=wrt, mode="forward", chunk_size=c))
            if not ok:
                return
            blocks = jac if isinstance(wrt, tuple) else (jac,)
            got = np.concatenate([np.asarray(b, dtype=float).reshape(-1) for b in blocks])
            if got.size != len(self.fd):
                self.problem("jacobian", "wrong", f"jacobian has {got.size} entries, expected "
                             f"{len(self.fd)}", expected=len(self.fd), actual=got.size)
                return
            if not self.compare("jacobian", got, self.fd, what=f"jacobian (chunk_size={chunk})"):
                return

    def _second_order(self, f, reverse_grad):
        """hessian and hvp w.r.t. one float/array argument, against FD of the reverse-mode
        gradient (only once that gradient has been found right)."""
        if not self.result.smooth or reverse_grad is None:
            return
        candidates = [i for i in self.indices if isinstance(self.args[i], (float, np.ndarray))]
        if not candidates:
            return
        i = candidates[0]
        reference = self._fd_hessian(f, i)
        if reference is None:
            return
        n = reference.shape[0]
        if self.wants("hessian"):
            ok, h = self.call("hessian", lambda: self.api.hessian(f, wrt=i))
            if ok:
                got = np.asarray(h, dtype=float).reshape(-1)
                if got.size != n * n:
                    self.problem("hessian", "wrong", f"hessian has {got.size} entries, "
                                 f"expected {n * n}", expected=n * n, actual=got.size)
                else:
                    self.compare("hessian", got, reference.reshape(-1), RTOL2, ATOL2,
                                 "hessian")
        if self.wants("hvp"):
            v_vec = np.linspace(-1.0, 1.0, n) if n > 1 else np.array([0.7])
            v = unflatten(self.args[i], v_vec)
            ok, hv = self.call("hvp", lambda: self.api.hvp(f, wrt=i), v)
            if ok:
                got = np.asarray(hv, dtype=float).reshape(-1)
                want = reference @ v_vec
                if got.size != n:
                    self.problem("hvp", "wrong", f"hvp has {got.size} entries, expected {n}")
                else:
                    # relative to the size of the terms: with v = linspace(-1, 1, n) they
                    # may cancel (a hessian of equal rows gives 0), and FD of the gradient
                    # is accurate to the terms, not to their sum
                    terms = float(np.max(np.abs(reference) @ np.abs(v_vec)))
                    self.compare("hvp", got, want, RTOL2, ATOL2, "hessian-vector product",
                                 scale=max(scale_of(want), terms))

    def _fd_hessian(self, f, i):
        """FD (two stencils) of the reverse-mode gradient w.r.t. argument i; None where
        the gradient is not smooth or cannot be computed."""
        try:
            g = self.api.grad(f, wrt=i)

            def gvec(vec):
                new = deep_copy(list(self.args))
                new[i] = unflatten(self.args[i], vec)
                with np.errstate(all="ignore"):
                    return flatten(g(*new))
            base = flatten(self.args[i])
            fine = _jacobian_fd(gvec, base, 1e-5, 2)
            coarse = _jacobian_fd(gvec, base, 1e-3, 4)
        except Exception:   # the gradient itself failed: reported by the grad checks
            return None
        if mismatch(fine.ravel(), coarse.ravel(), 1e-4, 1e-5 * scale_of(coarse.ravel())):
            self.result.notes.append("hessian not checked: the gradient is not smooth here")
            return None
        return coarse

    def _autograd(self, f, grads):
        from .autograd_check import autograd_gradient
        tags = self.prog.tags()
        if any(t.split(":")[0] in ("inplace", "alias", "npextra") for t in tags):
            return
        try:
            vec = autograd_gradient(self.prog, self.args, self.indices)
        except Exception as exc:   # autograd cannot run this program
            self.result.notes.append(f"autograd: {type(exc).__name__}")
            return
        if vec is None:
            return
        bad = mismatch(vec, self.fd, RTOL, ATOL * scale_of(self.fd))
        if bad:
            self.result.notes.append(f"autograd disagrees with FD: {bad}")


def _jacobian_fd(gvec, base, step, order):
    cols = []
    for j, xj in enumerate(base):
        h = step * max(1.0, abs(xj))
        h = (xj + h) - xj

        def at(delta, j=j):
            vec = base.copy()
            vec[j] += delta
            return gvec(vec)
        if order == 2:
            cols.append((at(h) - at(-h)) / (2 * h))
        else:
            cols.append((-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h))
    return np.stack(cols, axis=1)


def _where(exc):
    """The innermost traceback frame inside sourcediff (``module:function``) or inside the
    code it generated (``generated:function``)."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        name = frame.filename
        if name.startswith("<sourcediff"):
            where = f"generated:{frame.name}"
        elif f"{os.sep}sourcediff{os.sep}" in name:
            module = name.split(f"{os.sep}sourcediff{os.sep}")[-1]
            where = f"{module}:{frame.name}"
    return where or "?"


def _shape_text(x):
    if isinstance(x, np.ndarray):
        return f"ndarray{x.shape}"
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_shape_text(v) for v in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_shape_text(v)}" for k, v in x.items()) + "}"
    return type(x).__name__


def run_program(prog, api=None, *, workdir, timeout=60.0, checks=None, second_order=False,
                use_autograd=False, redraws=REDRAWS, confirms=CONFIRMS):
    """Run every (or the named) check on ``prog``; returns a Result."""
    if api is None:
        import sourcediff as api
    run = Run(prog, api, checks=checks, second_order=second_order, use_autograd=use_autograd,
              redraws=redraws, confirms=confirms)
    return run.execute(workdir, timeout)
