"""Reference gradients by central finite differences, and a structure-aware closeness check.

``central_fd`` returns the same structure sourcediff.grad promises: a Python float for a float
argument, a float64 ndarray of the argument's shape for an ndarray argument, and a tuple of
those when ``wrt`` is a tuple.  ``assert_close`` checks that structure (types and shapes) as
well as the values.
"""

import inspect
import math

import numpy as np


def resolve_wrt(f, args, wrt):
    """Return (indices, is_tuple) for ``wrt`` given as an index, a name, or a tuple of them."""
    params = list(inspect.signature(f).parameters)

    def one(w):
        if isinstance(w, str):
            if w not in params:
                raise ValueError(f"{f.__name__} has no parameter {w!r} (has {params})")
            index = params.index(w)
        elif isinstance(w, (int, np.integer)) and not isinstance(w, bool):
            index = int(w)
            if index < 0:
                index += len(args)
        else:
            raise TypeError(f"wrt entries must be int or str, got {w!r}")
        if not 0 <= index < len(args):
            raise ValueError(f"wrt {w!r} does not refer to a passed argument of {f.__name__}")
        return index

    if isinstance(wrt, tuple):
        return tuple(one(w) for w in wrt), True
    return (one(wrt),), False


def _fresh(args):
    """A copy of ``args`` with every ndarray copied, so a mutating f cannot corrupt FD."""
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _scalar(value):
    out = float(np.asarray(value).reshape(()))
    return out


def _stencil(f, args, i, index, h, order):
    """Derivative of f w.r.t. args[i] (at element ``index`` if an array) with step h."""

    def at(delta):
        a = _fresh(args)
        if index is None:
            a[i] = float(args[i]) + delta
        else:
            a[i][index] = args[i][index] + delta
        return _scalar(f(*a))

    if order == 2:
        return (at(h) - at(-h)) / (2.0 * h)
    if order == 4:
        return (-at(2.0 * h) + 8.0 * at(h) - 8.0 * at(-h) + at(-2.0 * h)) / (12.0 * h)
    raise ValueError("order must be 2 or 4")


def _partial(f, args, i, step, order):
    x = args[i]
    if isinstance(x, np.ndarray):
        x64 = np.asarray(x, dtype=np.float64)
        g = np.zeros(x64.shape, dtype=np.float64)
        for index in np.ndindex(x64.shape):
            xi = float(x64[index])
            # Use an exactly representable step: (x + h) - x.
            h = step * max(1.0, abs(xi))
            h = (xi + h) - xi
            g[index] = _stencil(f, args, i, index, h, order)
        return g
    if isinstance(x, (bool, int, np.integer)):
        raise TypeError(f"argument {i} is an int ({x!r}); ints are not differentiated")
    xf = float(x)
    h = step * max(1.0, abs(xf))
    h = (xf + h) - xf
    return float(_stencil(f, args, i, None, h, order))


def central_fd(f, args, wrt=0, step=1e-6, order=2):
    """Central finite-difference gradient of scalar ``f(*args)`` w.r.t. ``wrt``.

    ``step`` is relative: the actual step is ``step * max(1, |x|)`` per element.
    ``order=2`` is the usual two-point formula; ``order=4`` the five-point one (use it with a
    larger step, e.g. 1e-3).
    """
    args = tuple(args)
    indices, is_tuple = resolve_wrt(f, args, wrt)
    grads = tuple(_partial(f, args, i, step, order) for i in indices)
    return grads if is_tuple else grads[0]


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"ndarray(shape={x.shape}, dtype={x.dtype})"
    return f"{type(x).__name__}({x!r})"


def assert_close(actual, expected, rtol=1e-6, atol=1e-6, path="grad"):
    """Assert ``actual`` matches ``expected`` in structure, type/shape, and value.

    The structure is taken from ``expected``: a tuple must be matched by a tuple of the same
    length; an ndarray by an ndarray of the same shape with a floating dtype; a float by a
    Python float (``isinstance(g, float)``, which np.float64 also satisfies, but not 0-d
    arrays, ints or np.float32).  Values must satisfy |a - e| <= atol + rtol * |e|.
    """
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple), (
            f"{path}: expected a tuple of {len(expected)} gradients, got {_describe(actual)}"
        )
        assert len(actual) == len(expected), (
            f"{path}: expected {len(expected)} gradients, got {len(actual)}"
        )
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, path=f"{path}[{k}]")
        return

    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), (
            f"{path}: expected ndarray of shape {expected.shape}, got {_describe(actual)}"
        )
        assert actual.shape == expected.shape, (
            f"{path}: expected shape {expected.shape}, got {actual.shape}"
        )
        assert np.issubdtype(actual.dtype, np.floating), (
            f"{path}: expected a floating dtype, got {actual.dtype}"
        )
        assert np.all(np.isfinite(actual)), f"{path}: non-finite entries in {actual!r}"
        err = np.abs(actual - expected)
        tol = atol + rtol * np.abs(expected)
        if not np.all(err <= tol):
            worst = np.unravel_index(int(np.argmax(err - tol)), err.shape) if err.ndim else ()
            raise AssertionError(
                f"{path}: mismatch (max abs err {err.max():.3e}; worst at {worst}: "
                f"got {actual[worst]!r}, expected {expected[worst]!r})\n"
                f"actual=\n{actual!r}\nexpected=\n{expected!r}"
            )
        return

    assert isinstance(expected, (float, int)), f"{path}: bad expected value {expected!r}"
    assert isinstance(actual, float) and not isinstance(actual, bool), (
        f"{path}: expected a Python float, got {_describe(actual)}"
    )
    assert math.isfinite(actual), f"{path}: non-finite value {actual!r}"
    err = abs(actual - expected)
    assert err <= atol + rtol * abs(expected), (
        f"{path}: got {actual!r}, expected {expected!r} (abs err {err:.3e})"
    )
