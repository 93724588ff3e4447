"""Helpers for the NumPy rule table (rules/numpy.py): shapes, layouts and constructors
(reshape and its relatives, concatenation and splitting, padding, np.full, np.linspace).
Conventions as in `numpy_helpers`.
"""

from __future__ import annotations

import numpy as np

from .core import NoRule, unbroadcast
from .numpy_helpers import _dense, _ftype, _no_flow


# ---- shapes -------------------------------------------------------------------------------------
def _layout_order(x, order):
    if order == "A":
        return "F" if np.isfortran(np.asarray(x)) else "C"
    return order


def _memory_positions(x, order):
    """For each element of `np.ravel(x, order)`, its index in the C-order ravel of `x`."""
    x = np.asarray(x)
    idx = np.empty_like(x, dtype=np.intp)      # keeps x's memory layout
    idx[...] = np.arange(x.size).reshape(x.shape)
    return np.ravel(idx, order=order)


def reshape_back(g, x, order="C"):
    if _no_flow(g):
        return 0.0
    order = _layout_order(x, order or "C")
    return np.reshape(g, np.shape(x), order=order)


def reshape_tangent(dx, x, y, order="C"):
    order = _layout_order(x, order or "C")
    return np.reshape(np.broadcast_to(dx, np.shape(x)), np.shape(y), order=order)


def ravel_back(g, x, order="C"):
    if _no_flow(g):
        return 0.0
    if order in ("C", None):
        return np.reshape(g, np.shape(x))
    out = np.empty(np.size(x), dtype=_ftype(g))
    out[_memory_positions(x, order)] = np.ravel(g)
    return out.reshape(np.shape(x))


def ravel_tangent(dx, x, order="C"):
    dx = np.broadcast_to(dx, np.shape(x))
    if order in ("C", None):
        return np.ravel(dx)
    return np.ravel(dx)[_memory_positions(x, order)]


def reshape_method(a, *shape, order="C", copy=None):
    """`a.reshape(*shape)`: the rule for the method form (any number of dimensions)."""
    return a.reshape(*shape, order=order)


def transpose_axes(axes, ndim):
    """`axes` of np.transpose with negative axes made positive (None stays None, and so do
    the axes of a 0-d array: the zero adjoint 0.0)."""
    if axes is None or ndim == 0:
        return None
    return tuple(int(a) % ndim for a in axes)


def transpose_back(g, axes):
    """The adjoint of np.transpose(x, axes), negative axes included."""
    if _no_flow(g):
        return 0.0
    axes = transpose_axes(axes, np.ndim(g))
    return np.transpose(g, None if axes is None else np.argsort(axes))


def method_axes(*parts):
    """The `axes` of `x.transpose(*parts)`: none, one sequence, or several ints."""
    given = [p for p in parts if p is not None]
    if not given:
        return None
    if len(given) == 1 and not isinstance(given[0], (int, np.integer)):
        return given[0]
    return tuple(given)


def transpose_method(a, *axes):
    return a.transpose(*axes)


def swapaxes_back(g, axis1, axis2):
    if _no_flow(g):
        return 0.0
    return np.swapaxes(g, axis1, axis2)


def matrix_transpose(g):
    if _no_flow(g):
        return 0.0
    return np.swapaxes(g, -1, -2)


def moveaxis_back(g, source, destination):
    if _no_flow(g):
        return 0.0
    return np.moveaxis(g, destination, source)


def rollaxis_perm(ndim, axis, start=0):
    axis = int(axis) % ndim
    start = int(start) + ndim if start < 0 else int(start)
    perm = list(range(ndim))
    if axis < start:
        start -= 1
    if axis == start:
        return perm
    perm.remove(axis)
    perm.insert(start, axis)
    return perm


def rollaxis_back(g, x, axis, start=0):
    if _no_flow(g):
        return 0.0
    return np.transpose(g, np.argsort(rollaxis_perm(np.ndim(x), axis, start)))


def broadcast_back(g, x):
    """The adjoint of broadcasting `x` to the shape of `g`."""
    if _no_flow(g):
        return 0.0
    return unbroadcast(g, x)


def _parts(x):
    return list(x) if isinstance(x, (list, tuple)) else list(np.asarray(x))


def _like_container(pieces, arrays):
    """Per-element adjoints `pieces` in the structure of `arrays` (a sequence or an array)."""
    if isinstance(arrays, np.ndarray):
        return np.stack([np.broadcast_to(p, arrays.shape[1:]) for p in pieces])
    return tuple(pieces) if isinstance(arrays, tuple) else list(pieces)


def concatenate_back(g, arrays, axis=0):
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    if axis is None:
        sizes = [np.size(p) for p in parts]
        pieces = np.split(np.ravel(g), np.cumsum(sizes)[:-1])
        pieces = [np.reshape(q, np.shape(p)) for q, p in zip(pieces, parts, strict=True)]
    else:
        sizes = [np.shape(p)[axis] for p in parts]
        pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return _like_container(pieces, arrays)


def stack_back(g, arrays, axis=0):
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    return _like_container([np.take(g, i, axis=axis) for i in range(len(parts))], arrays)


def _joined(kind, p):
    p = np.asarray(p)
    if kind == "h":
        return np.atleast_1d(p)
    if kind == "v":
        return np.atleast_2d(p)
    if kind == "d":
        return np.atleast_3d(p)
    return p.reshape(-1, 1) if p.ndim < 2 else p     # column_stack


def stacked_back(g, arrays, kind):
    """The adjoint of np.hstack / vstack / dstack / column_stack (kind h v d c)."""
    parts = _parts(arrays)
    if _no_flow(g):
        return _like_container([0.0] * len(parts), arrays)
    joined = [_joined(kind, p) for p in parts]
    axis = {"h": 0 if joined[0].ndim == 1 else 1, "v": 0, "d": 2, "c": 1}[kind]
    sizes = [j.shape[axis] for j in joined]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    pieces = [np.reshape(q, np.shape(p)) for q, p in zip(pieces, parts, strict=True)]
    return _like_container(pieces, arrays)


def split_back(g, x, y, axis=0):
    """The adjoint of the list `y = np.split(x, ..., axis)` (and array_split, hsplit...)."""
    if _no_flow(g):
        return 0.0
    pieces = [_dense(gi, yi) for gi, yi in zip(g, y, strict=True)]
    return np.concatenate(pieces, axis=axis)


def split_axis(kind, x):
    if kind == "h":
        return 1 if np.ndim(x) > 1 else 0
    return {"v": 0, "d": 2}[kind]


def flip_back(g, axis=None):
    if _no_flow(g):
        return 0.0
    return np.flip(g, axis)


def rot90_axes(axes):
    return (0, 1) if axes is None else axes


def rot90_back(g, k=1, axes=None):
    if _no_flow(g):
        return 0.0
    return np.rot90(g, -k, rot90_axes(axes))


def _negated(shift):
    if isinstance(shift, (tuple, list)):
        return type(shift)(-s for s in shift)
    return -np.asarray(shift) if np.ndim(shift) else -shift


def roll_back(g, shift, axis=None):
    if _no_flow(g):
        return 0.0
    return np.roll(g, _negated(shift), axis)


def tile_back(g, x, reps):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    n = max(len(shape), len(reps))
    s = (1,) * (n - len(shape)) + tuple(shape)
    r = (1,) * (n - len(reps)) + reps
    g = np.reshape(g, [v for pair in zip(r, s, strict=True) for v in pair])
    return np.reshape(np.sum(g, axis=tuple(range(0, 2 * n, 2))), shape)


def repeat_back(g, x, repeats, axis=None):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    if axis is None:
        n = int(np.prod(shape))
        out = np.zeros(n, dtype=_ftype(g))
        np.add.at(out, np.repeat(np.arange(n), repeats), np.ravel(g))
        return out.reshape(shape)
    axis = int(axis) % len(shape)
    gm = np.moveaxis(g, axis, 0)
    out = np.zeros((shape[axis],) + gm.shape[1:], dtype=_ftype(g))
    np.add.at(out, np.repeat(np.arange(shape[axis]), repeats), gm)
    return np.moveaxis(out, 0, axis)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_positions(x, pad_width, mode):
    """For each element of np.pad(x, pad_width, mode), the C-order index of the element of `x`
    it copies, or -1 for a constant."""
    if mode not in _PAD_MODES:
        raise NoRule(f"np.pad(mode={mode!r}) has no derivative rule (the modes that "
                              f"have one: {', '.join(_PAD_MODES)})")
    idx = np.arange(np.size(x)).reshape(np.shape(x))
    if mode == "constant":
        return np.pad(idx, pad_width, mode="constant", constant_values=-1)
    return np.pad(idx, pad_width, mode=mode)


def pad_back(g, x, pad_width, mode="constant"):
    pos = _pad_positions(x, pad_width, mode)
    if _no_flow(g):
        return 0.0
    keep = pos >= 0
    out = np.bincount(pos[keep], weights=np.broadcast_to(g, pos.shape)[keep],
                      minlength=np.size(x))
    return out.astype(_ftype(g), copy=False).reshape(np.shape(x))


def pad_tangent(dx, x, pad_width, mode="constant"):
    pos = _pad_positions(x, pad_width, mode)
    flat = np.ravel(np.broadcast_to(dx, np.shape(x)))
    if flat.size == 0:
        return np.zeros(pos.shape, dtype=_ftype(flat))
    return np.where(pos >= 0, flat[np.maximum(pos, 0)], 0).astype(_ftype(flat), copy=False)


def atleast_back(g, x):
    if _no_flow(g):
        return 0.0
    return np.reshape(g, np.shape(x))


def copy_tangent(dx):
    if isinstance(dx, (list, tuple, dict)):
        return type(dx)(dx) if not isinstance(dx, dict) else dict(dx)
    return np.copy(dx) if isinstance(dx, np.ndarray) else dx


def astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """`a.astype(dtype)`: the rule for the method (derivatives only to floating types)."""
    return a.astype(dtype, order=order, casting=casting, subok=subok, copy=copy)


def _floating(dtype):
    return np.dtype(dtype).kind in "fc"


def astype_back(g, dtype):
    return g if _floating(dtype) else 0.0


def astype_tangent(dx, x, dtype):
    if _floating(dtype):
        return np.asarray(np.broadcast_to(dx, np.shape(x))).astype(dtype)
    return np.zeros(np.shape(x), dtype=np.float64)


def item(a, *args):
    """`a.item(*args)`."""
    return a.item(*args)


def item_back(g, x, *index):
    if _no_flow(g):
        return 0.0
    out = np.zeros(np.shape(x), dtype=_ftype(np.asarray(x)))
    index = tuple(i for i in index if i is not None)
    if len(index) == 1 and isinstance(index[0], tuple):
        index = index[0]
    if len(index) <= 1:
        out.reshape(-1)[index[0] if index else 0] = g
    else:
        out[index] = g
    return out


def item_tangent(dx, x, *index):
    index = tuple(i for i in index if i is not None)
    return np.asarray(np.broadcast_to(dx, np.shape(x))).item(*index)


def array_back(g, x):
    """The adjoint of np.array(x) / np.asarray(x): `g` in the structure of `x`."""
    if isinstance(x, (list, tuple)) and not _no_flow(g):
        return _like_container([g[i] for i in range(len(x))], x)
    return g


def array_tangent(dx, dtype=None):
    return np.array(dx, dtype=dtype if dtype is None or _floating(dtype) else None)




# ---- constructors -------------------------------------------------------------------------------
def fill_tangent(dfill, y):
    """The tangent of np.full / np.full_like: the fill value's tangent everywhere."""
    if not _floating(np.asarray(y).dtype):
        return np.zeros(np.shape(y), dtype=np.float64)
    return np.broadcast_to(dfill, np.shape(y)).astype(np.asarray(y).dtype)


def fill_back(g, y, fill):
    if _no_flow(g) or not _floating(np.asarray(y).dtype):
        return 0.0
    return unbroadcast(g, fill)


def _linspace_t(y, num, endpoint, axis):
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=_ftype(y))
    shape = [1] * np.ndim(y)
    shape[axis] = num
    return t.reshape(shape)


def _no_retstep(retstep):
    if retstep:
        raise NoRule("np.linspace(..., retstep=True) has no derivative rule; compute "
                              "the step from start and stop")


def linspace_back(g, y, x, which, num=50, endpoint=True, retstep=False, axis=0):
    _no_retstep(retstep)
    if _no_flow(g):
        return 0.0
    axis = int(axis) % np.ndim(y)
    t = _linspace_t(y, num, endpoint, axis)
    w = t if which == "stop" else 1 - t
    return unbroadcast(np.sum(g * w, axis=axis), x)


def linspace_tangent(dx, y, which, num=50, endpoint=True, retstep=False, axis=0):
    _no_retstep(retstep)
    axis = int(axis) % np.ndim(y)
    t = _linspace_t(y, num, endpoint, axis)
    w = t if which == "stop" else 1 - t
    return np.broadcast_to(np.expand_dims(dx, axis) * w, np.shape(y)).copy()
