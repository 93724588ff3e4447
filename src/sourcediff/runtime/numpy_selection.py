"""Helpers for the NumPy rule table (rules/numpy.py): selection (clip, where, sort, take,
indexing helpers, extrema, np.select and np.piecewise). Conventions as in `numpy_helpers`.
"""

from __future__ import annotations

import numpy as np

from .core import NoRule, _float, _is_zero, unbroadcast
from .numpy_helpers import _ftype, _no_flow, _zeros_for
from .numpy_shapes import _like_container


# ---- selection ----------------------------------------------------------------------------------
def clip_partials(a, a_min, a_max, lo_kw=None, hi_kw=None):
    """(dy/da, dy/dlo, dy/dhi) for y = min(max(a, lo), hi); at a bound `a` gets the derivative."""
    lo = a_min if a_min is not None else lo_kw
    hi = a_max if a_max is not None else hi_kw
    a = np.asarray(a)
    if lo is None:
        m, p_a, p_lo = a, np.ones(a.shape, dtype=bool), np.zeros(a.shape, dtype=bool)
    else:
        m = np.maximum(a, lo)
        p_a, p_lo = a >= lo, a < lo
    if hi is None:
        inside, p_hi = np.ones(np.shape(m), dtype=bool), np.zeros(np.shape(m), dtype=bool)
    else:
        inside, p_hi = m <= hi, m > hi
    return p_a & inside, p_lo & inside, p_hi


def clip_da(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[0]


def clip_dlo(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[1]


def clip_dhi(a, a_min, a_max, lo=None, hi=None):
    return clip_partials(a, a_min, a_max, lo, hi)[2]


def _take_index(x, indices, axis, mode):
    n = np.size(x) if axis is None else np.shape(x)[axis]
    indices = np.asarray(indices)
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    return indices


def take_back(g, x, indices, axis=None, mode="raise"):
    if _no_flow(g):
        return 0.0
    shape = np.shape(x)
    idx = _take_index(x, indices, axis, mode)
    if axis is None:
        out = np.zeros(int(np.prod(shape)), dtype=_ftype(g))
        np.add.at(out, np.ravel(idx), np.ravel(np.broadcast_to(g, idx.shape)))
        return out.reshape(shape)
    axis = int(axis) % len(shape)
    out = np.zeros(shape, dtype=_ftype(g))
    np.add.at(out, (slice(None),) * axis + (idx,), g)
    return out


def take_tangent(dx, x, indices, axis=None, mode="raise"):
    return np.take(np.broadcast_to(dx, np.shape(x)), indices, axis=axis, mode=mode)


def _along_index(x, indices, axis):
    shape = np.shape(x)
    indices = np.asarray(indices)
    out_shape = np.broadcast_shapes(
        tuple(1 if i == axis else n for i, n in enumerate(shape)),
        tuple(1 if i == axis else n for i, n in enumerate(indices.shape)))
    index = []
    for i in range(len(shape)):
        if i == axis:
            index.append(indices)
            continue
        view = [1] * len(shape)
        view[i] = out_shape[i]
        ar = np.arange(out_shape[i]) if shape[i] != 1 else np.zeros(out_shape[i], dtype=int)
        index.append(ar.reshape(view))
    return tuple(index)


def take_along_back(g, x, indices, axis=-1):
    if _no_flow(g):
        return 0.0
    if axis is None:
        out = np.zeros(np.size(x), dtype=_ftype(g))
        np.add.at(out, indices, g)
        return out.reshape(np.shape(x))
    axis = int(axis) % np.ndim(x)
    out = np.zeros(np.shape(x), dtype=_ftype(g))
    np.add.at(out, _along_index(x, indices, axis), g)
    return out


def sort_perm(x, axis=-1):
    return np.argsort(x, axis=axis, kind="stable")


def sort_back(g, x, axis=-1):
    """The adjoint of np.sort: `g` sent back through the sorting permutation."""
    if _no_flow(g):
        return 0.0
    perm = sort_perm(x, axis)
    if axis is None:
        out = np.empty(np.size(x), dtype=_ftype(g))
        out[perm] = np.ravel(g)
        return out.reshape(np.shape(x))
    out = np.empty(np.shape(x), dtype=_ftype(g))
    np.put_along_axis(out, perm, np.broadcast_to(g, np.shape(x)), axis=axis)
    return out


def sort_tangent(dx, x, axis=-1):
    perm = sort_perm(x, axis)
    dx = np.broadcast_to(dx, np.shape(x))
    if axis is None:
        return np.ravel(dx)[perm]
    return np.take_along_axis(dx, perm, axis=axis)


def _flat_or(x, axis):
    """`x` as np.append / np.delete / np.insert read it: raveled when `axis` is None."""
    x = np.asarray(x)
    return x.ravel() if axis is None else x


def append_back(g, arr, values, axis=None, which=0):
    """The adjoint of `np.append(arr, values, axis)` for `arr` (which=0) or `values` (1)."""
    if _no_flow(g):
        return 0.0
    n = _flat_or(arr, axis).shape[0 if axis is None else axis]
    g = np.asarray(g)
    ax = 0 if axis is None else axis
    part = np.take(g, np.arange(n) if which == 0 else np.arange(n, g.shape[ax]), axis=ax)
    target = arr if which == 0 else values
    if axis is None:
        return np.reshape(part, np.shape(target))
    return unbroadcast(part, target)


def np_append_tangent(d, arr, values, axis=None, which=0):
    """The tangent term of `np.append(arr, values, axis)` for `arr` (which=0) or `values`."""
    if which == 0:
        return np.append(np.broadcast_to(d, np.shape(arr)),
                         np.zeros(np.shape(values), dtype=_ftype(np.asarray(d))), axis=axis)
    return np.append(np.zeros(np.shape(arr), dtype=_ftype(np.asarray(d))),
                     np.broadcast_to(d, np.shape(values)), axis=axis)


def delete_back(g, arr, obj, axis=None):
    """The adjoint of `np.delete(arr, obj, axis)`: `g` at the kept positions, 0 elsewhere."""
    if _no_flow(g):
        return 0.0
    flat = _flat_or(arr, axis)
    ax = 0 if axis is None else axis
    kept = np.delete(np.arange(flat.shape[ax]), obj)
    out = np.zeros(flat.shape, dtype=_ftype(np.asarray(g)))
    index = [slice(None)] * flat.ndim
    index[ax] = kept
    out[tuple(index)] = g
    return out.reshape(np.shape(arr))


def _insert_sources(arr, obj, values, axis):
    """For each element of `np.insert(arr, obj, values, axis)`: the flat index of the element
    of `arr` it is (-1 for inserted ones), and of the value it came from (-1 for arr's)."""
    shape_a, shape_v = np.shape(arr), np.shape(values)
    from_arr = np.insert(np.arange(int(np.prod(shape_a)), dtype=np.intp).reshape(shape_a), obj,
                         -1, axis=axis)
    from_values = np.insert(np.full(shape_a, -1, dtype=np.intp), obj,
                            np.arange(int(np.prod(shape_v)), dtype=np.intp).reshape(shape_v),
                            axis=axis)
    return from_arr, from_values


def insert_back(g, arr, obj, values, axis=None, which=0):
    """The adjoint of `np.insert(arr, obj, values, axis)` for `arr` (which=0) or `values`
    (1; a value broadcast to several places gets the sum)."""
    if _no_flow(g):
        return 0.0
    sources = _insert_sources(arr, obj, values, axis)[which]
    target = arr if which == 0 else values
    g = np.broadcast_to(g, sources.shape)
    taken = sources >= 0
    out = np.zeros(int(np.prod(np.shape(target))), dtype=_ftype(g))
    np.add.at(out, sources[taken], g[taken])
    return out.reshape(np.shape(target)) if np.ndim(target) else _float(out[0])


def insert_tangent(d, arr, obj, values, axis=None, which=0):
    dtype = _ftype(np.asarray(d))
    if which == 0:
        return np.insert(np.broadcast_to(d, np.shape(arr)).astype(dtype), obj, 0.0, axis=axis)
    return np.insert(np.zeros(np.shape(arr), dtype=dtype), obj,
                     np.broadcast_to(d, np.shape(values)), axis=axis)


def _gradient_axes(f, axis):
    ndim = np.ndim(f)
    if axis is None:
        return list(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return [int(axis) % ndim]
    return [int(a) % ndim for a in axis]


def _gradient_spacing(axes, spacing):
    """np.gradient's varargs: one spacing for every axis, or one per axis."""
    spacing = [s for s in spacing if s is not None]
    if not spacing:
        return [1.0] * len(axes)
    if len(spacing) == 1 and np.ndim(spacing[0]) == 0:
        return spacing * len(axes)
    if len(spacing) != len(axes):
        raise NoRule("np.gradient: give one spacing, or one per axis")
    return spacing


def _gradient_matrix(n, h, edge_order):
    """The n x n matrix of np.gradient along one axis of length n with spacing h."""
    return np.gradient(np.eye(n), h, axis=0, edge_order=edge_order)


def np_gradient_back(g, f, s0=None, s1=None, s2=None, s3=None, axis=None, edge_order=1):
    """The adjoint of `np.gradient(f, *spacing, axis=axis, edge_order=edge_order)` with
    respect to `f` (linear in f: the transpose of the difference matrix of each axis). `g` is
    one array for one axis, a sequence of them (zeros allowed) for several."""
    axes = _gradient_axes(f, axis)
    parts = [g] if len(axes) == 1 and not isinstance(g, (list, tuple)) else g
    if _no_flow(parts):
        return 0.0
    spacing = _gradient_spacing(axes, (s0, s1, s2, s3))
    out = np.zeros(np.shape(f), dtype=_ftype(np.asarray(f)))
    for ax, h, gi in zip(axes, spacing, parts, strict=True):
        if _no_flow(gi):
            continue
        m = _gradient_matrix(np.shape(f)[ax], h, edge_order)
        gi = np.moveaxis(np.broadcast_to(gi, np.shape(f)), ax, 0)
        out += np.moveaxis(np.tensordot(m.T, gi, axes=(1, 0)), 0, ax)
    return out


def np_gradient_apply(d, f, s0=None, s1=None, s2=None, s3=None, axis=None, edge_order=1):
    """`np.gradient` of `d` (shaped like f; a zero allowed), with the spacing of the call."""
    axes = _gradient_axes(f, axis)
    spacing = _gradient_spacing(axes, (s0, s1, s2, s3))
    d = np.broadcast_to(d, np.shape(f)).astype(_ftype(np.asarray(d), np.asarray(f)))
    parts = [np.gradient(d, h, axis=ax, edge_order=edge_order)
             for ax, h in zip(axes, spacing, strict=True)]
    return parts[0] if len(axes) == 1 else tuple(parts)


def _interp_segments(x, xp, period):
    if period is not None:
        raise NoRule("np.interp with period= has no derivative rule")
    xp = np.asarray(xp)
    x = np.asarray(x)
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, len(xp) - 2)
    inside = (x >= xp[0]) & (x < xp[-1])
    return i, inside


def interp_slope(x, xp, fp, period=None):
    """d np.interp(x, xp, fp) / dx: the slope of the segment xp[i] <= x < xp[i+1], 0 outside
    [xp[0], xp[-1]) (at a knot the segment to its right; linear in fp)."""
    i, inside = _interp_segments(x, xp, period)
    xp, fp = np.asarray(xp), np.asarray(fp)
    slope = (fp[i + 1] - fp[i]) / (xp[i + 1] - xp[i])
    out = np.where(inside, slope, 0.0)
    return out if np.ndim(out) else out[()]


def interp_slope_back(h, x, xp, fp, period=None):
    """The transpose of `interp_slope(x, xp, fp)` in fp: each h goes to its segment's ends
    with the signs -1 / +1, divided by the segment's length."""
    i, inside = _interp_segments(x, xp, period)
    xp = np.asarray(xp, dtype=float)
    out = np.zeros(np.shape(fp), dtype=_ftype(np.asarray(h)))
    if _no_flow(h):
        return out
    w = np.where(inside, np.broadcast_to(h, np.shape(i)) / (xp[i + 1] - xp[i]), 0.0)
    np.add.at(out, np.ravel(i), -np.ravel(w))
    np.add.at(out, np.ravel(i) + 1, np.ravel(w))
    return out


def _interp_weights(x, xp, left, right, period):
    """(i, w_i, w_i+1): y = w_i fp[i] + w_i+1 fp[i+1] for the fp part of np.interp."""
    i, inside = _interp_segments(x, xp, period)
    xp = np.asarray(xp, dtype=float)
    x = np.asarray(x, dtype=float)
    t = np.where(inside, (x - xp[i]) / (xp[i + 1] - xp[i]), 0.0)
    lo, hi = x < xp[0], x >= xp[-1]
    w0 = np.where(inside, 1.0 - t, 0.0)
    w1 = np.where(inside, t, 0.0)
    w0 = np.where(lo & (left is None), 1.0, w0)              # fp[0] extends to the left
    w1 = np.where(hi & ((right is None) | (x == xp[-1])), 1.0, w1)  # and fp[-1] to the right
    i = np.where(lo, 0, np.where(hi, len(xp) - 2, i))
    return i, w0, w1


def interp_fp_back(g, x, xp, fp, left=None, right=None, period=None):
    """The adjoint of np.interp(x, xp, fp, left, right) with respect to fp (linear in g)."""
    if _no_flow(g):
        return 0.0
    i, w0, w1 = _interp_weights(x, xp, left, right, period)
    g = np.broadcast_to(g, np.shape(x))
    out = np.zeros(np.shape(fp), dtype=_ftype(np.asarray(g)))
    np.add.at(out, np.ravel(i), np.ravel(g * w0))
    np.add.at(out, np.ravel(i) + 1, np.ravel(g * w1))
    return out


def interp_fp_tangent(dfp, x, xp, fp, left=None, right=None, period=None):
    i, w0, w1 = _interp_weights(x, xp, left, right, period)
    dfp = np.broadcast_to(dfp, np.shape(fp))
    out = w0 * dfp[i] + w1 * dfp[i + 1]
    return out if np.ndim(out) else out[()]


def interp_outside(x, xp, side, value, period=None):
    """Where np.interp returns `left` (side 'left': x < xp[0]) or `right` (x > xp[-1]), as
    floats; zero everywhere when that bound is not given."""
    if period is not None:
        raise NoRule("np.interp with period= has no derivative rule")
    x, xp = np.asarray(x), np.asarray(xp)
    mask = x < xp[0] if side == "left" else x > xp[-1]
    out = mask.astype(float) if value is not None else np.zeros(np.shape(x))
    return out if np.ndim(out) else out[()]


def partition_perm(x, out, axis=-1):
    """The permutation `np.partition` applied: out == take_along_axis(x, perm, axis) (found by
    matching the sorted orders of x and out; ties follow the stable order)."""
    if axis is None:
        x, out, axis = np.ravel(x), np.ravel(out), 0
    sx = np.argsort(x, axis=axis, kind="stable")
    so = np.argsort(out, axis=axis, kind="stable")
    perm = np.empty_like(sx)
    np.put_along_axis(perm, so, sx, axis=axis)
    return perm


def partition_back(g, x, out, axis=-1):
    """The adjoint of np.partition: `g` sent back through the permutation it applied."""
    if _no_flow(g):
        return 0.0
    perm = partition_perm(x, out, axis)
    result = np.zeros(np.size(x) if axis is None else np.shape(x), dtype=_ftype(np.asarray(g)))
    np.put_along_axis(result, perm, np.broadcast_to(g, perm.shape), axis=0 if axis is None
                      else axis)
    return result.reshape(np.shape(x))


def partition_tangent(dx, x, out, axis=-1):
    perm = partition_perm(x, out, axis)
    dx = np.broadcast_to(dx, np.shape(x))
    if axis is None:
        return np.ravel(dx)[perm]
    return np.take_along_axis(dx, perm, axis=axis)


def _sorted_order(xs, key, reverse):
    if key is not None:
        raise NoRule("sorted(..., key=...) has no derivative rule: sort the values themselves "
                     "(sorted(xs) or np.sort), or sort indices with np.argsort and index")
    values = [float(np.asarray(v)) for v in xs]
    order = sorted(range(len(values)), key=values.__getitem__, reverse=bool(reverse))
    return order


def _like_sequence(parts, xs):
    if isinstance(xs, np.ndarray):
        return np.array(parts, dtype=_ftype(xs))
    return tuple(parts) if isinstance(xs, tuple) else list(parts)


def sorted_back(g, xs, key=None, reverse=False):
    """The adjoint of the builtin `sorted(xs, reverse=...)`: element k of the sorted list
    goes back to the position it came from (Python's sort is stable)."""
    order = _sorted_order(xs, key, reverse)
    if _no_flow(g):
        return 0.0
    out = [0.0] * len(order)
    for k, i in enumerate(order):
        out[i] = g[k]
    return _like_sequence(out, xs)


def sorted_tangent(t, xs, key=None, reverse=False):
    order = _sorted_order(xs, key, reverse)
    if _no_flow(t):
        return [0.0] * len(order)
    return [t[i] for i in order]


def _selected(condlist):
    """For each condition of np.select, where it is the first true one."""
    taken = None
    out = []
    for cond in condlist:
        cond = np.asarray(cond, dtype=bool)
        out.append(cond if taken is None else cond & ~taken)
        taken = cond if taken is None else taken | cond
    return out, taken


def select_back_choices(g, condlist, choicelist):
    if _no_flow(g):
        return [0.0] * len(choicelist)
    picks, _ = _selected(condlist)
    pieces = [unbroadcast(np.where(p, g, 0).astype(_ftype(g), copy=False), c)
              for p, c in zip(picks, choicelist, strict=True)]
    return _like_container(pieces, choicelist)


def select_back_default(g, condlist, default):
    if _no_flow(g):
        return 0.0
    _, taken = _selected(condlist)
    return unbroadcast(np.where(taken, 0, g).astype(_ftype(g), copy=False), default)


def select_tangent_choices(dchoices, condlist, choicelist, y):
    parts = [np.broadcast_to(d, np.shape(c)) for d, c in zip(dchoices, choicelist, strict=True)]
    return np.select(condlist, parts, 0.0) + _zeros_for(y)


def select_tangent_default(ddefault, condlist, y):
    _, taken = _selected(condlist)
    return np.where(taken, 0, ddefault) + _zeros_for(y)


# ---- np.add.at / np.subtract.at (the mutations pass makes them `a[...] = scatter_add(...)`)
def scatter_add(a, index, v):
    """`a` with `v` added at `index`, repeated indices adding once per occurrence (what
    `np.add.at(a, index, v)` writes into `a`), as a new array."""
    out = np.array(a, dtype=np.result_type(a, v), copy=True)
    np.add.at(out, index, v)
    return out


def scatter_add_back_v(g, index, v):
    """The adjoint of `v` in `scatter_add(a, index, v)`: each occurrence reads `g` there."""
    if _is_zero(g):
        return 0.0
    return unbroadcast(np.asarray(g)[index], v)


def scatter_add_tangent(ta, tv, a, index):
    """The tangent of `scatter_add(a, index, v)`."""
    if _is_zero(ta) and _is_zero(tv):
        return 0.0
    base = np.zeros(np.shape(a), dtype=_ftype(a, tv)) if _is_zero(ta) else ta
    return base if _is_zero(tv) else scatter_add(base, index, tv)
