"""`check_grads`: sourcediff's gradients against central finite differences, for users'
own tests."""

from __future__ import annotations

import numpy as np

from . import runtime
from .api import _normalize_wrt, _params, grad


def check_grads(f, args, wrt=0, modes=("reverse", "forward"), *, eps=1e-6, rtol=1e-5,
                atol=1e-7):
    """Compare sourcediff's gradients of the scalar function `f` at `args` with central finite
    differences; raise AssertionError with a readable report on mismatch. Arguments may be
    floats, arrays, or lists/tuples/dicts of them."""
    params = _params(f)[0]
    names, is_tuple = _normalize_wrt(f, params, wrt)
    index = [params.index(n) for n in names]
    expected = [_central_difference(f, args, i, eps) for i in index]
    problems = []
    for mode in modes:
        got = grad(f, wrt, mode=mode)(*args)
        got = got if is_tuple else (got,)
        for name, g, e in zip(names, got, expected, strict=True):
            for (path, gl), (_, el) in zip(runtime.leaves(g), runtime.leaves(e), strict=True):
                gl = np.asarray(gl, dtype=float)
                el = np.asarray(el, dtype=float)
                if gl.shape != el.shape or not np.allclose(gl, el, rtol=rtol, atol=atol):
                    err = np.max(np.abs(gl - el)) if gl.shape == el.shape else float("nan")
                    where = "".join(f"[{k!r}]" for k in path)
                    problems.append(
                        f"  {mode} mode, d/d{name}{where}: max abs error {err:.3g}\n"
                        f"    sourcediff:        {np.array2string(gl, precision=8)}\n"
                        f"    finite difference: {np.array2string(el, precision=8)}")
    if problems:
        raise AssertionError(f"gradients of {f.__name__} disagree with finite differences:\n"
                             + "\n".join(problems))


def _central_difference(f, args, i, eps):
    """Central differences of `f` in every element of argument `i` (structure kept)."""
    x = args[i]
    grad = runtime.gradient_like(0.0, x)
    for path, leaf in runtime.leaves(x):
        base = np.asarray(leaf, dtype=float)
        out = np.zeros(base.shape)
        for j in range(max(base.size, 1)):
            value = float(base.reshape(-1)[j]) if base.shape else float(base)
            step = eps * max(1.0, abs(value))
            values = []
            for sign in (1.0, -1.0):
                moved = base.copy()
                if base.shape:
                    moved.reshape(-1)[j] += sign * step
                    new_leaf = moved
                else:
                    new_leaf = value + sign * step
                new = list(args)
                new[i] = runtime.set_path(x, path, new_leaf)
                values.append(float(f(*new)))
            out.reshape(-1)[j] = (values[0] - values[1]) / (2 * step)
        grad = runtime.set_path(grad, path, out if base.shape else float(out))
    return grad


__all__ = ["check_grads"]
