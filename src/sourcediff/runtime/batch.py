"""Vector (multi-directional) forward mode: every tangent carries a leading axis of `k`
directions, `x_dot.shape == (k,) + np.shape(x)`, so one run of the generated code gives `k`
columns of a Jacobian.

The generated code keeps that invariant with these helpers: a tangent of lower rank than
the value it meets in an elementwise operation is lifted (`lift`: its axes moved right of
the direction axis, where NumPy's broadcasting lines them up), indexes shift by one axis
(`batch_index`), rules with no batched form run once per direction (`batch_empty` then one
row at a time, `direction`), and the output tangent is spread to its full shape
(`batch_out`). The Python float `0.0` still stands for a zero tangent of any shape.

A value the vector mode cannot follow (a tangent that is not an array of directions, a
container where an array was expected) raises `Unbatchable`: `jacobian` then runs one
pass per column instead.
"""

from __future__ import annotations

import os

import numpy as np

from .core import (
    _is_basic_index,
    _is_zero,
    _normalize_axes,
    add,
    gradient_like,
    record_fields,
    sum_back,
    unbroadcast,
    unbroadcast_to,
    unsubscript,
)
from .inplace import _back_dtype, _getrefcount, _sole, add_at

__all__ = ["Unbatchable", "vector_failed", "batch_sum", "batch_zero", "batch_owned", "lift",
           "batch_broadcast",
           "batch_index", "batch_item", "batch_getitem", "batch_empty", "batch_stack",
           "direction", "batch_out", "batch_unpack", "batch_unbroadcast",
           "batch_unbroadcast_to", "batch_sum_back", "batch_unsubscript", "batch_add",
           "batch_gradient_like", "batch_add_at", "TANGENTS", "vector_columns",
           "vector_pays"]


# With SOURCEDIFF_VECTOR_STRICT=1, any failure of the vector mode is raised instead of
# answered by one pass per direction (for testing the vector mode itself: tests, fuzzing)
STRICT = os.environ.get("SOURCEDIFF_VECTOR_STRICT") == "1"


def vector_failed(exc):
    """Whether a failure of a vector-mode pass falls back to one pass per direction: always
    for code it says it cannot carry; for any other error too (the per-direction pass then
    raises it again if it is the user's, else gives the result) unless STRICT."""
    return isinstance(exc, Unbatchable) or not STRICT


class Unbatchable(Exception):
    """A value the vector forward mode cannot carry (the caller falls back to one pass per
    direction)."""


_NUMBERS = (float, np.float64, np.float32, int)


def _tangent_dtype(x):
    dtype = np.result_type(x)
    return dtype if dtype.kind in "fc" else np.dtype(float)


def batch_zero(x, k):
    """Zero tangents of `x` in `k` directions (containers of them for containers)."""
    if isinstance(x, (list, tuple)):
        items = [batch_zero(v, k) for v in x]
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    if isinstance(x, dict):
        return {key: batch_zero(v, k) for key, v in x.items()}
    if isinstance(x, np.ndarray):
        return np.zeros((k,) + x.shape, dtype=_tangent_dtype(x))
    if _numeric(x):
        return 0.0   # a number's zero tangent: the zero of any shape
    if isinstance(x, (bool, np.bool_, str)) or x is None or record_fields(x) is None:
        return 0.0
    raise Unbatchable(f"no vector tangent for a {type(x).__name__}")


def batch_owned(t, x, k):
    """A tangent of `x` in `k` directions that may be written in place: a fresh array of the
    full shape (k,) + x.shape (containers copied item by item)."""
    if isinstance(x, np.ndarray):
        if _is_zero(t):
            return batch_zero(x, k)
        return np.array(np.broadcast_to(t, (k,) + x.shape), dtype=np.result_type(t, x.dtype))
    if isinstance(x, list):
        if _is_zero(t):
            return batch_zero(x, k)
        return [batch_owned(ti, xi, k) for ti, xi in zip(t, x, strict=True)]
    if isinstance(x, dict):
        if _is_zero(t):
            return batch_zero(x, k)
        return {key: batch_owned(t.get(key, 0.0), v, k) for key, v in x.items()}
    if _is_zero(t):
        return batch_zero(x, k)
    if isinstance(t, np.ndarray):
        # the tangents of a number (in vector mode an array, often a view of the
        # tangent of the array it came from)
        return np.array(np.broadcast_to(t, (k,) + np.shape(x)), dtype=t.dtype)
    return t


def batch_item(t, y):
    """The tangent `t` of `y = x[i]` taken as a view of x's tangent: a copy of its own when
    `y` is a number (x[i] copied it), a view when `y` is one too."""
    if isinstance(t, np.ndarray) and not isinstance(y, np.ndarray):
        return t.copy()
    return t


def lift(t, x, y):
    """The tangent `t` of `x` (shape (k,) + x.shape) with unit axes after the direction
    axis, so that it broadcasts against a value of `y`'s rank as `x` does against `y`."""
    if type(y) in _NUMBERS:
        return t
    if _is_zero(t):
        # a zero with a direction axis (of one), so that its products keep one too
        return np.zeros((1,) * (np.ndim(y) + 1))
    missing = np.ndim(y) - np.ndim(x)
    if missing <= 0:
        return t
    if not isinstance(t, np.ndarray) or t.ndim != np.ndim(x) + 1:
        raise Unbatchable("a tangent without its direction axis")
    return _lift_to(t, t.ndim + missing)


def _lift_to(t, ndim):
    """The tangent array `t` with unit axes after the direction axis, to `ndim` axes."""
    missing = ndim - t.ndim
    if missing <= 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])


def batch_broadcast(t, y, k):
    """`t` spread over the full tangent shape of `y`, (k,) + y.shape."""
    if type(t) is np.ndarray and type(y) in _NUMBERS and (t.shape == (k,) or _is_zero(y)):
        return t   # (a `y` that is the zero 0.0 stands for zeros of any shape: t's own)
    shape = (k,) + np.shape(y)
    if np.shape(t) == shape:
        return t
    return np.array(np.broadcast_to(t, shape), dtype=np.result_type(t, _tangent_dtype(y)))


def batch_sum(y, *terms):
    """The sum of an elementwise operation's tangent terms (the last argument is k), spread
    over (k,) + y.shape; terms of different ranks line up after the direction axis."""
    *terms, k = terms
    arrays = [t for t in terms if type(t) is np.ndarray]
    if len(arrays) > 1:
        ndim = max(t.ndim for t in arrays)
        terms = [_lift_to(t, ndim) if type(t) is np.ndarray else t for t in terms]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return batch_broadcast(total, y, k)


def batch_index(x, index):
    """The index of a tangent in `k` directions for `x[index]`: shifted by the direction
    axis for an array, unchanged for a container."""
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple, dict)):
            return index
        raise Unbatchable(f"indexing a {type(x).__name__}")
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [j for j, p in enumerate(parts) if isinstance(p, (list, np.ndarray))]
    if arrays:
        # NumPy puts the axes of advanced indices that are not next to each other (an
        # integer counts as one then) first: before the direction axis too
        advanced = [j for j, p in enumerate(parts)
                    if j in arrays or isinstance(p, (int, np.integer))]
        if advanced[-1] - advanced[0] + 1 != len(advanced):
            raise Unbatchable("advanced indices apart from each other")
    return (slice(None),) + parts


def batch_getitem(t, x, index):
    """The tangent of `x[index]` from the tangent `t` of `x` (an array's item: a view where
    the item is a view, a copy where it is a number)."""
    if _is_zero(t):
        return 0.0
    if isinstance(x, dict):
        return t.get(index, 0.0)
    if isinstance(x, np.ndarray):
        return batch_item(t[batch_index(x, index)], x[index])
    return t[index]


def _numeric(y):
    return isinstance(y, (np.ndarray, np.generic, float, int, complex)) and \
        not isinstance(y, (bool, np.bool_))


def batch_empty(y, k):
    """Room for the tangent of `y` in `k` directions, filled one direction at a time (for a
    container, a list of the `k` tangents that `batch_stack` stacks)."""
    if _numeric(y) and not _is_zero(y):
        return np.zeros((k,) + np.shape(y), dtype=_tangent_dtype(y))
    return _Rows([0.0] * k)   # (a zero 0.0 stands for any shape: the rows' own)


class _Rows(list):
    """The tangents of a container value, one direction at a time."""


def batch_stack(t, y):
    """The tangent filled by `batch_empty`, as one value (containers of stacked leaves)."""
    if not isinstance(t, _Rows):
        return t
    return _stack(list(t), y)


def _stack(rows, y):
    if all(_is_zero(r) for r in rows):
        return 0.0
    if isinstance(y, (list, tuple)):
        if any(not _is_zero(r) and (not isinstance(r, (list, tuple)) or len(r) != len(y))
               for r in rows):
            raise Unbatchable("a container tangent of another structure")
        items = [_stack([0.0 if _is_zero(r) else r[j] for r in rows], v)
                 for j, v in enumerate(y)]
        return type(y)(*items) if hasattr(y, "_fields") else type(y)(items)
    if isinstance(y, dict):
        if any(not _is_zero(r) and not isinstance(r, dict) for r in rows):
            raise Unbatchable("a container tangent of another structure")
        return {key: _stack([0.0 if _is_zero(r) else r.get(key, 0.0) for r in rows], v)
                for key, v in y.items()}
    if _numeric(y):
        # the leaf's shape: the value's, or (a zero 0.0 standing for any shape) the rows'
        given = [np.shape(r) for r in rows if not _is_zero(r)]
        shape = np.broadcast_shapes(*given, *(() if _is_zero(y) else (np.shape(y),)))
        out = np.zeros((len(rows),) + shape, dtype=np.result_type(
            _tangent_dtype(y), *[r for r in rows if not _is_zero(r)]))
        for i, r in enumerate(rows):
            if not _is_zero(r):
                out[i] = r
        return out
    raise Unbatchable(f"a tangent for a {type(y).__name__}")


def direction(t, i):
    """Direction `i` of the tangent `t` (the zero 0.0 for every direction)."""
    if _is_zero(t):
        return 0.0
    if isinstance(t, np.ndarray):
        return t[i]
    if isinstance(t, (list, tuple)):
        items = [direction(v, i) for v in t]
        return type(t)(*items) if hasattr(t, "_fields") else type(t)(items)
    if isinstance(t, dict):
        return {key: direction(v, i) for key, v in t.items()}
    raise Unbatchable(f"a tangent of type {type(t).__name__}")


def batch_out(t, y, k):
    """The tangent of the output `y` in full: shape (k,) + y.shape (for a container, a
    container of those)."""
    if _numeric(y):
        return batch_broadcast(t, y, k)
    if _is_zero(t):
        return batch_zero(y, k)
    if isinstance(y, (list, tuple)) and isinstance(t, (list, tuple)) and len(t) == len(y):
        items = [batch_out(ti, yi, k) for ti, yi in zip(t, y, strict=True)]
        return type(y)(*items) if hasattr(y, "_fields") else type(y)(items)
    if isinstance(y, dict) and isinstance(t, dict):
        return {key: batch_out(t.get(key, 0.0), v, k) for key, v in y.items()}
    if isinstance(y, (bool, np.bool_, str)) or y is None:
        return 0.0
    raise Unbatchable(f"a {type(y).__name__} output")


def batch_unpack(t, x):
    """The tangents of `a, b = x` from the tangent `t` of `x` (rows of an array)."""
    if _is_zero(t):
        return [0.0] * len(x)
    if isinstance(x, np.ndarray):
        return [t[:, j] if x.ndim > 1 else t[:, j].copy() for j in range(len(x))]
    return t


# ---- batched forms of the adjoint helpers' tangents (forward mode over reverse-mode code);
# each is linear in its tangent `t`, takes the other arguments of the helper, then k
def _rowwise(fn, t, k, *args):
    """`fn(t_i, *args)` for each direction, stacked (the form for containers)."""
    rows = [fn(direction(t, i), *args) for i in range(k)]
    template = next((r for r in rows if not _is_zero(r)), None)
    return 0.0 if template is None else _stack(rows, template)


def _rows_to_shape(t, shape):
    """The tangent `t` (k,) + s summed over the axes broadcasting added to `shape`."""
    k = t.shape[0]
    if t.shape[1:] == shape:
        return t
    if not shape:
        return t.reshape(k, -1).sum(axis=1)
    extra = t.ndim - 1 - len(shape)
    if extra > 0:
        t = t.sum(axis=tuple(range(1, 1 + extra)))
    elif extra < 0:
        t = t.reshape((k,) + (1,) * -extra + t.shape[1:])
    axes = tuple(1 + i for i, n in enumerate(shape) if n == 1 and t.shape[1 + i] != 1)
    if axes:
        t = t.sum(axis=axes, keepdims=True)
    if t.shape[1:] != shape:
        t = np.broadcast_to(t, (k,) + shape)
    return t


def batch_unbroadcast(t, x, k):
    if _is_zero(t):
        return t
    if isinstance(t, np.ndarray) and _numeric(x):
        return _rows_to_shape(t, np.shape(x))
    return _rowwise(unbroadcast, t, k, x)


def batch_unbroadcast_to(t, shape, k):
    if _is_zero(t):
        return t
    if isinstance(t, np.ndarray) and isinstance(shape, tuple):
        return _rows_to_shape(t, shape)
    return _rowwise(unbroadcast_to, t, k, shape)


def batch_sum_back(t, x, axis, keepdims, k):
    if _is_zero(t):
        return t
    if not isinstance(t, np.ndarray) or not _numeric(x):
        return _rowwise(sum_back, t, k, x, axis, keepdims)
    shape = np.shape(x)
    if axis is None:
        t = t.reshape((k,) + (1,) * len(shape))
    elif keepdims:
        t = _lift_to(t, 1 + len(shape))
    else:
        axes = sorted(_normalize_axes(axis, len(shape)))
        t = _lift_to(t, 1 + len(shape) - len(axes))   # (k,): a number, over the kept axes
        for a in axes:
            t = np.expand_dims(t, a + 1)
    return np.broadcast_to(t, (k,) + shape)


def batch_unsubscript(t, x, index, k):
    if not isinstance(x, np.ndarray) or not (_is_zero(t) or isinstance(t, np.ndarray)):
        return _rowwise(unsubscript, t, k, x, index)
    out = np.zeros((k,) + x.shape, dtype=np.result_type(x.dtype, np.float64)
                   if x.dtype.kind in "biu" else x.dtype)
    if _is_zero(t):
        return out
    shifted = batch_index(x, index)
    t = _lift_to(t, np.ndim(x[index]) + 1)   # a number spread over a slice
    if _is_basic_index(index):
        out[shifted] = t
    else:
        np.add.at(out, shifted, t)
    return out


def batch_add(a, b):
    if _is_zero(a):
        return b
    if _is_zero(b):
        return a
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return _lift_to(a, b.ndim) + _lift_to(b, a.ndim)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        items = [batch_add(u, v) for u, v in zip(a, b, strict=True)]
        return type(a)(*items) if hasattr(a, "_fields") else type(a)(items)
    if isinstance(a, (list, tuple)) != isinstance(b, (list, tuple)):
        seq, other = (a, b) if isinstance(a, (list, tuple)) else (b, a)
        items = [batch_add(u, other) for u in seq]   # a number's tangent added to each
        return type(seq)(*items) if hasattr(seq, "_fields") else type(seq)(items)
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, v in b.items():
            out[key] = batch_add(out[key], v) if key in out else v
        return out
    return add(a, b)


def batch_gradient_like(t, x, k):
    if isinstance(x, np.ndarray):
        dtype = x.dtype if x.dtype.kind in "fc" else np.float64
        if isinstance(t, np.ndarray) and t.shape == (k,) + x.shape:
            return t if t.dtype == dtype else t.astype(dtype)
        out = np.zeros((k,) + x.shape, dtype=dtype)
        if not _is_zero(t):
            out += _lift_to(t, out.ndim)
        return out
    if isinstance(x, (float, np.floating)) and isinstance(t, np.ndarray):
        return _rows_to_shape(t, ()).astype(float)
    if _is_zero(t) and isinstance(x, (float, np.floating)):
        return np.zeros(k)
    return _rowwise(gradient_like, t, k, x)


def batch_add_at(t_dx, t_g, x, index, k):
    """The tangent of `add_at(dx, g, x, index)`: in place in `t_dx` when only the caller's
    variable holds it (as add_at does), so that a loop over elements stays O(k) each."""
    count = _getrefcount(t_dx)   # (first: as in add_at)
    if _is_zero(t_g):
        return t_dx
    if type(x) is not np.ndarray or not isinstance(t_g, np.ndarray):
        return batch_add(t_dx, _rowwise(unsubscript, t_g, k, x, index))
    shape = (k,) + x.shape
    dtype = np.result_type(_back_dtype(x), t_g.dtype, *(
        () if _is_zero(t_dx) else (t_dx,)))
    if type(t_dx) is np.ndarray and t_dx.shape == shape and _sole(t_dx, count, dtype):
        out = t_dx
    else:
        out = np.zeros(shape, dtype=dtype)
        if not _is_zero(t_dx):
            out += _lift_to(t_dx, out.ndim)   # (k,): the tangent of a number, spread
    shifted = batch_index(x, index)
    t_g = _lift_to(t_g, np.ndim(x[index]) + 1)   # a number spread over a slice
    if type(index) is int or _is_basic_index(index):
        out[shifted] += t_g
    else:
        np.add.at(out, shifted, t_g)
    return out


# {helper: the template of its batched tangent}, for the helpers above
TANGENTS = {unbroadcast: "_sd.batch_unbroadcast(d[g], x, n_directions)",
            unbroadcast_to: "_sd.batch_unbroadcast_to(d[g], shape, n_directions)",
            sum_back: "_sd.batch_sum_back(d[g], x, axis, keepdims, n_directions)",
            unsubscript: "_sd.batch_unsubscript(d[g], x, index, n_directions)",
            add: "_sd.batch_add(d[a], d[b])",
            add_at: "_sd.batch_add_at(d[dx], d[g], x, index, n_directions)",
            gradient_like: "_sd.batch_gradient_like(d[g], x, n_directions)"}


def vector_columns(jvp, args, wrt_index, chunk=None):
    """Run the vector-mode `jvp(*args, *tangents, k)` with the unit directions of the inputs
    `args[i]` (i in `wrt_index`, numbers or arrays) stacked, `chunk` (default: all) per pass.
    Returns (value, columns of shape (directions, output size), the inputs as arrays, the
    first direction of each input)."""
    inputs = [np.asarray(args[i]) for i in wrt_index]
    if any(x.dtype.kind not in "fc" for x in inputs):
        raise Unbatchable("an input that is not floating point")
    sizes = [x.size for x in inputs]
    total = sum(sizes)
    if total == 0:
        raise Unbatchable("no input elements")
    chunk = chunk or total
    starts = [int(s) for s in np.cumsum([0] + sizes)[:-1]]
    pieces, value = [], None
    for lo in range(0, total, chunk):
        k = min(chunk, total - lo)
        tangents = []
        for x, start, size in zip(inputs, starts, sizes, strict=True):
            t = np.zeros((k, size), dtype=x.dtype)
            rows = np.arange(max(lo, start), min(lo + k, start + size))
            t[rows - lo, rows - start] = 1.0
            tangents.append(t.reshape((k,) + x.shape))
        value, out_dot = jvp(*args, *tangents, k)
        if not _numeric(value):
            raise Unbatchable(f"a {type(value).__name__} output")
        pieces.append(np.asarray(out_dot).reshape(k, -1))
    return value, np.concatenate(pieces), inputs, starts


def vector_pays(args, wrt_index):
    """Whether one vector-mode pass beats one pass per direction: with an array among the
    inputs and two directions or more. (Scalar code on Python floats runs each operation
    some twenty times faster than on a small array of directions.)"""
    arrays = [args[i] for i in wrt_index if type(args[i]) is np.ndarray]
    return bool(arrays) and sum(np.size(args[i]) for i in wrt_index) >= 2
