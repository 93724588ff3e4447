"""Values: deep copies, exact comparison, flattening to vectors, structure checks.

Arguments and gradients are floats, float arrays and (nested) lists, tuples and dicts of
them.  ``flatten`` lists every float in a fixed order, ``unflatten`` rebuilds a structure
like a template from a vector; finite differences and comparisons work on the vectors.
"""

from __future__ import annotations

import math

import numpy as np


def deep_copy(x):
    """A copy of ``x`` sharing no array or container with it."""
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, list):
        return [deep_copy(v) for v in x]
    if isinstance(x, tuple):
        return _same_tuple_type(x, [deep_copy(v) for v in x])
    if isinstance(x, dict):
        return {k: deep_copy(v) for k, v in x.items()}
    return x


def _same_tuple_type(like, items):
    """A tuple of ``items`` of the type of ``like`` (a named tuple stays one)."""
    return type(like)(*items) if hasattr(like, "_fields") else tuple(items)


def same(a, b):
    """Exact equality of two values, including their structure and dtypes."""
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and bool(np.array_equal(a, b)))
    if isinstance(b, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b)))
    if isinstance(b, dict):
        return (isinstance(a, dict) and list(a) == list(b)
                and all(same(a[k], b[k]) for k in b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def flatten(x):
    """Every float inside ``x``, in order, as a 1-D float64 array."""
    out = []
    _flatten_into(x, out)
    return np.array(out, dtype=np.float64)


def _flatten_into(x, out):
    if isinstance(x, np.ndarray):
        out.extend(np.asarray(x, dtype=np.float64).ravel().tolist())
    elif isinstance(x, (list, tuple)):
        for v in x:
            _flatten_into(v, out)
    elif isinstance(x, dict):
        for v in x.values():
            _flatten_into(v, out)
    else:
        out.append(float(x))


def unflatten(like, vec):
    """A value shaped like ``like`` holding the numbers of ``vec``."""
    value, used = _unflatten(like, np.asarray(vec, dtype=np.float64), 0)
    assert used == len(vec), "vector length does not match the structure"
    return value


def _unflatten(like, vec, pos):
    if isinstance(like, np.ndarray):
        n = like.size
        return vec[pos:pos + n].reshape(like.shape).copy(), pos + n
    if isinstance(like, (list, tuple)):
        items = []
        for v in like:
            item, pos = _unflatten(v, vec, pos)
            items.append(item)
        return (items if isinstance(like, list) else _same_tuple_type(like, items)), pos
    if isinstance(like, dict):
        out = {}
        for k, v in like.items():
            out[k], pos = _unflatten(v, vec, pos)
        return out, pos
    return float(vec[pos]), pos + 1


def structure_error(actual, like, path="grad"):
    """Why ``actual`` does not have the type/shape/structure of ``like`` (None if it does).

    A float argument needs a Python float (np.float64 is one), an array argument an array of
    the same shape with a floating dtype, a list/tuple/dict the same container with the same
    length or keys."""
    if isinstance(like, np.ndarray):
        if not isinstance(actual, np.ndarray):
            return f"{path}: expected an ndarray of shape {like.shape}, got {describe(actual)}"
        if actual.shape != like.shape:
            return f"{path}: expected shape {like.shape}, got {actual.shape}"
        if not np.issubdtype(actual.dtype, np.floating):
            return f"{path}: expected a float dtype, got {actual.dtype}"
        return None
    if isinstance(like, (list, tuple)):
        if type(actual) is not type(like) or len(actual) != len(like):
            return f"{path}: expected a {type(like).__name__} of {len(like)}, got " \
                   f"{describe(actual)}"
        for k, (a, b) in enumerate(zip(actual, like)):
            err = structure_error(a, b, f"{path}[{k}]")
            if err:
                return err
        return None
    if isinstance(like, dict):
        if not isinstance(actual, dict) or set(actual) != set(like):
            return f"{path}: expected a dict with keys {list(like)}, got {describe(actual)}"
        for k in like:
            err = structure_error(actual[k], like[k], f"{path}[{k!r}]")
            if err:
                return err
        return None
    if not isinstance(actual, float) or isinstance(actual, bool):
        return f"{path}: expected a Python float, got {describe(actual)}"
    return None


def describe(x):
    if isinstance(x, np.ndarray):
        return f"ndarray(shape={x.shape}, dtype={x.dtype})"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of {len(x)}"
    return f"{type(x).__name__}({x!r})"


def as_scalar(value):
    """``value`` as a Python float if it is a real scalar (float, np.floating, 0-d array),
    else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f":
        return float(value)
    return None


def mismatch(actual, expected, rtol, atol):
    """None if the vectors agree (|a - e| <= atol + rtol |e| everywhere, all finite), else a
    short description of the worst element."""
    if actual.shape != expected.shape:
        return f"{actual.size} numbers, expected {expected.size}"
    if not np.all(np.isfinite(actual)):
        k = int(np.argmin(np.isfinite(actual)))
        return f"non-finite entry {k}: {actual[k]!r} (expected {expected[k]!r})"
    err = np.abs(actual - expected)
    tol = atol + rtol * np.abs(expected)
    if np.all(err <= tol):
        return None
    k = int(np.argmax(err - tol))
    return f"entry {k}: got {actual[k]!r}, expected {expected[k]!r} (abs err {err[k]:.3g})"


def scale_of(*vectors):
    """max(1, largest magnitude) over the vectors: the absolute tolerance's unit."""
    m = 1.0
    for v in vectors:
        if v.size:
            finite = v[np.isfinite(v)]
            if finite.size:
                m = max(m, float(np.max(np.abs(finite))))
    return m


def is_finite(x):
    return all(math.isfinite(v) for v in flatten(x))
